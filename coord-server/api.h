/* SPDX-License-Identifier: MIT */
/*
 * The protocol's endpoints (docs/coord-protocol.md): GET /v1/key, and the sealed POSTs
 * register, poll, rotate and logout. Each request is checked in order — route, content type,
 * sender key, rate, seal, JSON, replay — and refused with the first reason that applies.
 */
#ifndef WM_COORD_API_H
#define WM_COORD_API_H

#include <stdbool.h>

struct wm_coord_sconn;
struct wm_coord_server;

/* A complete request on c: answers it or holds it (a poll). */
void wm_coord_api_handle(struct wm_coord_sconn *c);

/* Answers a held poll now: the current netmap if it moved on, else "unchanged"; an error if
 * the node is gone. Returns the node id answered (for presence), or 0. */
long long wm_coord_api_answer_held(struct wm_coord_sconn *c);

/* A JSON error answer {"error": …, "code": …}. */
void wm_coord_api_error(struct wm_coord_sconn *c, int status, const char *code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
