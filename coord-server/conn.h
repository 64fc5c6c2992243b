/* SPDX-License-Identifier: MIT */
/*
 * One client connection of wiremesh-coord: TLS (or plain), one request read with bounded head
 * and body and a deadline, then either an answer or a held poll, the answer written with a
 * deadline, leftover input drained, and close. What a request means is the caller's, through
 * struct wm_coord_sconn_ops (the server wires in api.c); conn.c includes neither. The held
 * poll's fields below are the API's, kept in the connection they belong to.
 */
#ifndef WM_COORD_CONN_SERVER_H
#define WM_COORD_CONN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "coord-client/coord_http.h"
#include "coord-client/coord_seal.h"

/* Timings (docs/coord-protocol.md, "Server limits"). */
#define WM_COORD_READ_TIMEOUT_S 10.0	/* the whole request, TLS handshake included */
#define WM_COORD_WRITE_TIMEOUT_S 30.0
#define WM_COORD_DRAIN_S 2.0		/* after the answer, unread input is discarded */

struct wm_tls;
struct wm_tls_config;
struct wm_coord_sconn;

enum wm_coord_sconn_state {
	WM_SCONN_TLS,		/* handshake */
	WM_SCONN_READ,		/* reading the request */
	WM_SCONN_BUSY,		/* handled on the spot (no I/O wanted) */
	WM_SCONN_HELD,		/* a poll waiting for a change */
	WM_SCONN_WRITE,		/* writing the answer */
	WM_SCONN_DRAIN,		/* answer sent; discarding input until EOF or the deadline */
};

/* Called from the loop with the connection; each answers it (wm_coord_sconn_respond()), holds
 * it, or closes it. */
struct wm_coord_sconn_ops {
	/* A whole request was read (c->req). */
	void (*request)(struct wm_coord_sconn *c);
	/* The request could not be read: answer status (400, 413, 431) with code and message. */
	void (*refuse)(struct wm_coord_sconn *c, int status, const char *code, const char *msg);
	/* A held poll's time is up. */
	void (*hold_expired)(struct wm_coord_sconn *c);
	/* A held poll is closing without an answer (the client left, or shutdown). */
	void (*held_closed)(struct wm_coord_sconn *c);
	/* A connection was freed: the accept watcher may resume. */
	void (*gone)(void *ctx);
};

/* What every connection shares; the server embeds it. */
struct wm_coord_sconns {
	struct ev_loop *loop;
	struct wm_tls_config *tls;		/* NULL: plain HTTP */
	const struct wm_coord_sconn_ops *ops;
	void *ctx;				/* the ops' context: the server */
	struct wm_coord_sconn *list;		/* every open connection */
	size_t count, held;
	uint64_t requests, answered_4xx, answered_5xx;
};

struct wm_coord_sconn {
	struct wm_coord_sconns *set;
	struct wm_coord_sconn *prev, *next;
	enum wm_coord_sconn_state state;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer timer;
	char peer[64];			/* address:port, for logs */
	struct wm_coord_http_msg req;
	uint8_t *out;
	size_t out_len, out_off;
	size_t drained;			/* input discarded after the answer */

	/* A held poll: whose it is and how to answer it. */
	int64_t node_id;
	uint8_t node_key[WM_KEY_LEN];
	uint8_t req_id[16];
	uint64_t have_version;
	struct wm_coord_box box;
};

/* Takes over an accepted socket. */
void wm_coord_sconn_accept(struct wm_coord_sconns *set, int fd, const char *peer);

/* Sends status with body (taken over, freed later) and closes after it. */
void wm_coord_sconn_respond(struct wm_coord_sconn *c, int status, const char *content_type,
			    char *body, size_t len);

/* Holds the poll until wm_coord_sconn_respond(), the hold deadline, or the client leaving. */
void wm_coord_sconn_hold(struct wm_coord_sconn *c, double seconds);

/* Closes and frees at once (a held poll's ops->held_closed first). */
void wm_coord_sconn_close(struct wm_coord_sconn *c);

#endif
