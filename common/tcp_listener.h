/* SPDX-License-Identifier: MIT */
/*
 * Where a server listens, as its --listen option says it: "ADDR:PORT", "[V6ADDR]:PORT", or
 * ":PORT" for every address (IPv6 any with IPv4 mapped in, or IPv4 any on a host without
 * IPv6). Used by the relay (DERP over TCP, STUN over UDP) and the coordination server.
 */
#ifndef WM_TCP_LISTENER_H
#define WM_TCP_LISTENER_H

#include <stddef.h>

#include "common/endpoint.h"

/* The address text names; ":PORT" gives IPv6 any. 0 or -EINVAL. */
int wm_listen_addr_parse(struct wm_endpoint *ep, const char *text);

/*
 * A non-blocking, close-on-exec TCP socket listening on text (address reuse on, dual stack for
 * IPv6 any). The descriptor, or -errno with a sentence in err naming what failed.
 */
int wm_tcp_listen(const char *text, int backlog, char *err, size_t errlen);

#endif
