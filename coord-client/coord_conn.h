/* SPDX-License-Identifier: MIT */
/*
 * One HTTP exchange with the coordination server on a libev loop: the connection opened by
 * common/dial.h (TLS when the URL says https), the request written, the response read and
 * framed by common/http.h. Never blocks; everything is bounded by one deadline. The callback
 * runs exactly once unless the exchange is cancelled first; the connection is closed and freed
 * right after it returns.
 */
#ifndef WM_COORD_CONN_H
#define WM_COORD_CONN_H

#include <stddef.h>

#include "coord-client/coord_http.h"

struct ev_loop;
struct wm_tls_config;
struct wm_coord_conn;

/* err 0: resp is the whole response (valid during the call). Else a negative errno and why. */
typedef void (*wm_coord_conn_cb)(void *ctx, int err, const struct wm_coord_http_msg *resp,
				 const char *why);

/*
 * Sends req (head and body, copied) to u's host and port and reads one response with a body of
 * at most resp_max bytes, within timeout_s. tls is needed for https URLs (not owned). NULL when
 * out of memory or no lookup thread could start.
 */
struct wm_coord_conn *wm_coord_conn_start(struct ev_loop *loop, const struct wm_coord_url *u,
					  struct wm_tls_config *tls, const void *req,
					  size_t req_len, size_t resp_max, double timeout_s,
					  wm_coord_conn_cb cb, void *ctx);

/* Closes the exchange; the callback will not run. Not for use from inside the callback. */
void wm_coord_conn_cancel(struct wm_coord_conn *c);

#endif
