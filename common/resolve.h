/* SPDX-License-Identifier: MIT */
/*
 * Name lookup that does not block a libev loop: getaddrinfo() runs on a short-lived thread and
 * the answer comes back through an eventfd watched by the loop. Numeric addresses are answered
 * on the spot, still through the callback, never from inside wm_resolve_start().
 */
#ifndef WM_RESOLVE_H
#define WM_RESOLVE_H

#include <stdint.h>

struct ev_loop;
struct addrinfo;
struct wm_resolve;

/* res (TCP addresses, to be freed with freeaddrinfo) or NULL with err, an EAI_* code. */
typedef void (*wm_resolve_cb)(void *ctx, struct addrinfo *res, int err);

/* Starts looking up host:port for TCP. NULL when no thread or memory is available. */
struct wm_resolve *wm_resolve_start(struct ev_loop *loop, const char *host, uint16_t port,
				    wm_resolve_cb cb, void *ctx);

/* Abandons a lookup: its callback will not run. The thread finishes on its own. Not to be
 * called once the callback has run (the handle is gone then). */
void wm_resolve_cancel(struct wm_resolve *r);

#endif
