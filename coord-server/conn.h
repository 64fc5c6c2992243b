/* SPDX-License-Identifier: MIT */
/*
 * One client connection of wiremesh-coord: TLS (or plain), one request read with bounded head
 * and body and a deadline, then either an answer or a held poll, the answer written with a
 * deadline, leftover input drained, and close. Each connection is in the server's list.
 */
#ifndef WM_COORD_CONN_SERVER_H
#define WM_COORD_CONN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "coord-client/coord_http.h"
#include "coord-client/coord_seal.h"

struct wm_coord_server;
struct wm_tls;

enum wm_coord_sconn_state {
	WM_SCONN_TLS,		/* handshake */
	WM_SCONN_READ,		/* reading the request */
	WM_SCONN_BUSY,		/* handled on the spot (no I/O wanted) */
	WM_SCONN_HELD,		/* a poll waiting for a change */
	WM_SCONN_WRITE,		/* writing the answer */
	WM_SCONN_DRAIN,		/* answer sent; discarding input until EOF or the deadline */
};

struct wm_coord_sconn {
	struct wm_coord_server *srv;
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
void wm_coord_sconn_accept(struct wm_coord_server *srv, int fd, const char *peer);

/* Sends status with body (taken over, freed later) and closes after it. */
void wm_coord_sconn_respond(struct wm_coord_sconn *c, int status, const char *content_type,
			    char *body, size_t len);

/* Holds the poll until wm_coord_sconn_respond(), the hold deadline, or the client leaving. */
void wm_coord_sconn_hold(struct wm_coord_sconn *c, double seconds);

/* Closes and frees at once. */
void wm_coord_sconn_close(struct wm_coord_sconn *c);

#endif
