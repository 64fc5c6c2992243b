/* SPDX-License-Identifier: MIT */
/* Internals shared by store.c, store_nodes.c, store_authkeys.c and store_policy.c. */
#ifndef WM_COORD_STORE_INT_H
#define WM_COORD_STORE_INT_H

#include <sqlite3.h>

#include "coord-server/store.h"

struct wm_store {
	sqlite3 *db;
	int64_t data_version;
	char error[256];
	uint64_t errors;			/* SQLite calls that failed (for the metrics) */
	wm_store_auto_approve_fn auto_approve;	/* the policy's autoApprovers; may be NULL */
	void *auto_ctx;
};

/* Prepares sql; NULL with s->error set. */
sqlite3_stmt *wm_store_prepare(struct wm_store *s, const char *sql);

/* Runs SQL without results. 0 or -EIO with s->error set. */
int wm_store_exec(struct wm_store *s, const char *sql);

/* Steps a statement to its end and finalizes it. 0, -EEXIST on a constraint, else -EIO. */
int wm_store_step_done(struct wm_store *s, sqlite3_stmt *st);

/* BEGIN IMMEDIATE (a write transaction from the start, so no upgrade deadlock), COMMIT,
 * ROLLBACK. */
int wm_store_begin(struct wm_store *s);
int wm_store_commit(struct wm_store *s);
void wm_store_rollback(struct wm_store *s);

/* Increments the netmap version (inside the caller's transaction). */
int wm_store_bump(struct wm_store *s);

/* Inside the caller's transaction: checks an auth key and counts one use. 0, 1 when refused
 * (*why filled), or negative errno. */
int wm_store_authkey_use(struct wm_store *s, const char *key, int64_t now,
			 struct wm_store_authkey *out, struct wm_store_refusal *why);

/*
 * Inside the caller's transaction: re-elects every prefix's primary router (docs/routes.md,
 * "The coordination server"): the primary stays while it is online; else the lowest online
 * node id among the eligible routers (advertised, approved, key not expired at now); with none
 * online, the primary while it is eligible, else the lowest eligible id. Adds the number of
 * prefixes whose primary changed to *changes (may be NULL). 0 or negative errno.
 */
int wm_store_routes_elect(struct wm_store *s, int64_t now, int *changes);

/*
 * Inside the caller's transaction: the node now advertises exactly these n prefixes (checked
 * by the codec). Approvals stay on prefixes it stops advertising; other rows of those go.
 * *served_changed: an approved prefix started or stopped being advertised (netmaps change).
 */
int wm_store_routes_advertise(struct wm_store *s, int64_t id,
			      const struct wm_netmap_prefix *routes, size_t n, bool *served_changed);

/* Records the error text of the last failing call. Returns err. */
int wm_store_fail(struct wm_store *s, int err);

#endif
