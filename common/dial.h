/* SPDX-License-Identifier: MIT */
/*
 * Opening a TCP connection on a libev loop, for the relay and coordination clients: the name
 * is looked up off the loop (common/resolve.h), each address is tried in turn (the next one
 * after a refusal, or after address_timeout_s while others remain), then TLS runs
 * (common/tls_stream.h) when the caller gives a config. It never blocks. The callback runs
 * exactly once, from the loop, unless the dial is cancelled first; on success it hands over the
 * socket and the TLS session.
 */
#ifndef WM_DIAL_H
#define WM_DIAL_H

#include <stdint.h>

struct ev_loop;
struct wm_tls_config;
struct wm_tls;
struct wm_dial;

#define WM_DIAL_HOST_MAX 255

struct wm_dial_config {
	const char *host;		/* a name or an address, at most WM_DIAL_HOST_MAX (copied) */
	uint16_t port;
	struct wm_tls_config *tls;	/* NULL: plain TCP; else TLS, SNI and checks for host */
	double timeout_s;		/* the whole dial, TLS included; 0: none */
	double address_timeout_s;	/* one address while others remain; 0: none */
	int user_timeout_ms;		/* TCP_USER_TIMEOUT; 0: the kernel's */
};

/*
 * err 0: fd (non-blocking, TCP_NODELAY) and tls (NULL for plain TCP) belong to the callee now.
 * Else a negative errno with a sentence naming the host: -EHOSTUNREACH (lookup failed),
 * -ECONNREFUSED (no address took the connection; why has the last error), -ETIMEDOUT, -ENOMEM,
 * or the TLS handshake's error.
 */
typedef void (*wm_dial_cb)(void *ctx, int err, int fd, struct wm_tls *tls, const char *why);

/* Starts dialing. NULL when out of memory or no lookup thread could start. */
struct wm_dial *wm_dial_start(struct ev_loop *loop, const struct wm_dial_config *cfg,
			      wm_dial_cb cb, void *ctx);

/* Stops and frees the dial; the callback will not run. Not for use from inside it. */
void wm_dial_cancel(struct wm_dial *d);

#endif
