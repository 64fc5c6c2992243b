/* SPDX-License-Identifier: MIT */
/*
 * One client connection of the relay, shared by conn.c (sockets, TLS, HTTP, buffers, timers)
 * and session.c (the DERP protocol once upgraded: handshake, frames, forwarding, peer-gone).
 */
#ifndef WM_RELAY_CONN_H
#define WM_RELAY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "relay-client/derp_frame.h"
#include "relay-server/pktq.h"
#include "relay-server/registry.h"
#include "relay-server/relay.h"

#define WM_RELAY_WIRE_BATCH 16384	/* bytes gathered per write */
#define WM_RELAY_GONE_MAX 32		/* peer-gone frames waiting per connection */

enum wm_relay_phase {
	WM_RELAY_PH_TLS,		/* TLS handshake */
	WM_RELAY_PH_HTTP,		/* reading the request head */
	WM_RELAY_PH_CLIENT_INFO,	/* upgraded, server key sent, waiting for the client's */
	WM_RELAY_PH_RUN,		/* registered: packets flow */
	WM_RELAY_PH_CLOSING,		/* writing what is left, then closing */
};

struct wm_relay_conn {
	struct wm_relay *r;
	struct wm_relay_conn *next, *prev;
	enum wm_relay_phase phase;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer timer;
	char peer[64];

	uint8_t *rbuf;
	size_t rcap, rlen, skip;	/* skip: bytes of an ignored frame still to discard */
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

/* conn.c: appends output; false when it does not fit in the write buffer. */
bool wm_relay_conn_append(struct wm_relay_conn *c, const void *data, size_t len);

/* conn.c: how many bytes wm_relay_conn_append() takes now. */
size_t wm_relay_conn_room(const struct wm_relay_conn *c);

/* conn.c: writes what is pending now. 0, or -1 when that closed the connection. */
int wm_relay_conn_flush(struct wm_relay_conn *c);

/* conn.c: makes sure queued output gets written on the next loop iteration. */
void wm_relay_conn_kick(struct wm_relay_conn *c);

/* conn.c: stops reading; writes what is pending, then closes (after a grace period at most). */
void wm_relay_conn_finish(struct wm_relay_conn *c);

/* conn.c: reschedules the connection's timer after its deadlines changed. */
void wm_relay_conn_rearm(struct wm_relay_conn *c);

/* session.c: parses frames in rbuf (after the upgrade). -1 when the connection was closed. */
int wm_relay_session_input(struct wm_relay_conn *c);

/* session.c: moves queued frames into the write buffer, up to a batch. */
void wm_relay_session_fill(struct wm_relay_conn *c);

/* session.c: called while closing: unregisters the key (peer-gone to those it sent to) and
 * returns queued packets to the pool. */
void wm_relay_session_end(struct wm_relay_conn *c);

/* session.c: writes the 101 reply (unless fast start) and the server key frame. */
bool wm_relay_session_greet(struct wm_relay_conn *c, bool fast_start);

#endif
