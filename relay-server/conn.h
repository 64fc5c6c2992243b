/* SPDX-License-Identifier: MIT */
/*
 * One client connection of the relay (conn.c): the socket, TLS, the HTTP request that starts
 * it, the read and write buffers, and the timers (handshake deadline, keepalive, write stall).
 * What comes after a DERP upgrade (session.c) and the reply to any other request (pages.c) are
 * the caller's, through struct wm_relay_conn_ops; conn.c includes neither. The registered
 * state below is the session's, kept in the connection it belongs to.
 */
#ifndef WM_RELAY_CONN_H
#define WM_RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "relay-client/derp_frame.h"
#include "relay-client/derp_http.h"
#include "relay-server/pktq.h"
#include "relay-server/registry.h"

#define WM_RELAY_WIRE_BATCH 16384	/* bytes gathered per write */
#define WM_RELAY_GONE_MAX 32		/* peer-gone frames waiting per connection */
#define WM_RELAY_CLIENT_INFO_MAX 16384	/* ours; Go allows 256 KiB, clients send ~100 B */

enum wm_relay_phase {
	WM_RELAY_PH_TLS,		/* TLS handshake */
	WM_RELAY_PH_HTTP,		/* reading the request head */
	WM_RELAY_PH_CLIENT_INFO,	/* upgraded, server key sent, waiting for the client's */
	WM_RELAY_PH_RUN,		/* registered: packets flow */
	WM_RELAY_PH_CLOSING,		/* writing what is left, then closing */
};

struct wm_relay_conn;
struct wm_tls_config;

/* What the connection hands over, called from the loop with the connection's buffers. */
struct wm_relay_conn_ops {
	/* The request was a DERP upgrade (the rest of rbuf is DERP): write the 101 (unless
	 * fast_start) and the server key. False closes the connection. */
	bool (*greet)(struct wm_relay_conn *c, bool fast_start);
	/* Parses frames in rbuf after the upgrade. -1 when that closed the connection. */
	int (*input)(struct wm_relay_conn *c);
	/* Moves queued frames into the write buffer, up to a batch (RUN phase). */
	void (*fill)(struct wm_relay_conn *c);
	/* The connection is closing: let go of what the session holds. */
	void (*end)(struct wm_relay_conn *c);
	/* The reply (head and body) to a request that is not a DERP upgrade: its length. */
	size_t (*page)(void *ctx, const struct wm_derp_http_request *req, char *out, size_t cap);
};

struct wm_relay_conn_counters {
	uint64_t accepts, http_requests, upgrades;
	uint64_t handshake_timeouts, handshake_failures, write_timeouts;
};

/* What every connection shares; the relay embeds it. */
struct wm_relay_conns {
	struct ev_loop *loop;
	struct wm_tls_config *tls;		/* NULL: plain HTTP */
	unsigned handshake_timeout_ms, write_timeout_ms;
	const struct wm_relay_conn_ops *ops;
	void *ctx;				/* the ops' context: the relay */
	struct wm_relay_conn *list;		/* every connection, any phase */
	size_t count;
	struct wm_relay_conn_counters n;
};

struct wm_relay_conn {
	struct wm_relay_conns *set;
	struct wm_relay_conn *next, *prev;
	enum wm_relay_phase phase;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer timer;
	char peer[64];

	uint8_t *rbuf;
	size_t rcap, rlen;
	struct wm_derp_reader reader;	/* frames after the upgrade */
	uint8_t *wbuf;
	size_t wcap, woff, wlen;	/* pending output is wbuf[woff, wlen) */

	ev_tstamp deadline;		/* handshake or closing deadline; 0 when none */
	ev_tstamp stall_since;		/* output pending and the socket took none since */
	ev_tstamp next_keepalive;

	/* Registered (RUN) state. */
	struct wm_relay_keyent *ke;	/* NULL once replaced or before registering */
	uint8_t key[WM_DERP_KEY_LEN];
	bool preferred;
	struct wm_relay_pktq data, disco;	/* disco packets get their own queue, as in Go */
	struct wm_relay_pkt *cur;	/* being copied out, cur_off bytes of its frame done */
	size_t cur_off;
	bool pong_pending, keepalive_due;
	uint8_t pong[WM_DERP_PING_LEN];
	struct {
		uint8_t key[WM_DERP_KEY_LEN];
		uint8_t reason;
	} gone[WM_RELAY_GONE_MAX];
	uint8_t gone_head, gone_count;
	double not_here_tokens;
	ev_tstamp not_here_last;
};

/* Serves an accepted socket (non-blocking, owned from now on). */
void wm_relay_conn_accept(struct wm_relay_conns *set, int fd, const char *peer);

/* Closes one connection at once (the session ends first); the others go on. */
void wm_relay_conn_close(struct wm_relay_conn *c, const char *why);

/* Appends output; false when it does not fit in the write buffer. */
bool wm_relay_conn_append(struct wm_relay_conn *c, const void *data, size_t len);

/* How many bytes wm_relay_conn_append() takes now. */
size_t wm_relay_conn_room(const struct wm_relay_conn *c);

/* Writes what is pending now. 0, or -1 when that closed the connection. */
int wm_relay_conn_flush(struct wm_relay_conn *c);

/* Makes sure queued output gets written on the next loop iteration. */
void wm_relay_conn_kick(struct wm_relay_conn *c);

/* Stops reading; writes what is pending, then closes (after a grace period at most). */
void wm_relay_conn_finish(struct wm_relay_conn *c);

/* Reschedules the connection's timer after its deadlines changed. */
void wm_relay_conn_rearm(struct wm_relay_conn *c);

#endif
