/* SPDX-License-Identifier: MIT */
/*
 * The protocol's endpoints (docs/coord-protocol.md): GET /v1/key, and the sealed POSTs
 * register, poll, rotate and logout. Each request is checked in order — route, content type,
 * sender key, rate, seal, JSON, replay — and refused with the first reason that applies. The
 * server (server.c) owns the state below and calls these from its connection ops.
 */
#ifndef WM_COORD_API_H
#define WM_COORD_API_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "coord-server/conn.h"
#include "coord-server/netmap_cache.h"
#include "coord-server/ratelimit.h"
#include "coord-server/replay.h"
#include "coord-server/store.h"

/* Polls and fan-out (docs/coord-protocol.md, "Server limits"). */
#define WM_COORD_MAX_HELD 8192		/* polls held at once */
#define WM_COORD_HOLD_S 50.0		/* a poll is answered "unchanged" after this... */
#define WM_COORD_HOLD_JITTER_S 5.0	/* ...minus up to this, so clients spread out */
#define WM_COORD_WAKE_URGENT_S 0.05	/* changes are batched this long before fan-out */
#define WM_COORD_WAKE_LAZY_S 5.0	/* ...and online/offline flips this long */

/* What the endpoints work with. */
struct wm_coord_api {
	struct ev_loop *loop;
	struct wm_store *store;
	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN];	/* the server key */
	struct wm_coord_replay replay;
	struct wm_coord_ratelimit rl;
	struct wm_coord_cache cache;
	const struct wm_coord_sconns *conns;		/* for the number of held polls */
	uint64_t netmaps_sent;
	/* Schedules the fan-out to held polls within delay seconds (a change is in the store). */
	void (*wake)(void *ctx, double delay);
	void *ctx;
};

/* Test-only: signed seconds added to the server's clock for key expiry (docs/identity.md). */
#define WM_COORD_TEST_TIME_OFFSET_ENV "WIREMESH_COORD_TEST_TIME_OFFSET"
#define WM_COORD_TEST_TIME_OFFSET_MAX (20LL * 365 * 86400)

/* Unix time now for expiry and presence: the real clock plus the test-only offset. */
int64_t wm_coord_api_now(void);
/* Unix time now, never moved: request timestamps and replay windows. */
int64_t wm_coord_api_real_now(void);

/* The store's auto-approver (wm_store_set_auto_approver, ctx the api): the policy in force's
 * autoApprovers, as compiled for the netmaps. */
bool wm_coord_api_auto_approves(void *ctx, int64_t node_id, const struct wm_netmap_prefix *prefix);

/* A complete request on c: answers it or holds it (a poll). */
void wm_coord_api_handle(struct wm_coord_api *a, struct wm_coord_sconn *c);

/* Answers a held poll now: the current netmap if it moved on, else "unchanged"; an error if
 * the node is gone. Returns the node id answered (for presence), or 0. */
long long wm_coord_api_answer_held(struct wm_coord_api *a, struct wm_coord_sconn *c);

/* A JSON error answer {"error": …, "code": …}. */
void wm_coord_api_error(struct wm_coord_sconn *c, int status, const char *code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
