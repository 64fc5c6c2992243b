/* SPDX-License-Identifier: MIT */
/*
 * The relay's plain HTTP replies: the probe and captive-portal endpoints Tailscale clients use
 * (derp/derpserver/handler.go ProbeHandler, ServeNoContent), the counters as JSON at
 * /debug/vars and /status, and small fixed pages. Every reply closes the connection.
 */
#ifndef WM_RELAY_PAGES_H
#define WM_RELAY_PAGES_H

#include <stddef.h>

#include "relay-client/derp_http.h"
#include "relay-server/state.h"

/* The reply (head and body) to a request that is not a DERP upgrade. Its length. */
size_t wm_relay_page(struct wm_relay *r, const struct wm_derp_http_request *req, char *out,
		     size_t cap);

/* The counters as JSON. Its length (0 when it does not fit). */
size_t wm_relay_status_json(const struct wm_relay *r, char *out, size_t cap);

#endif
