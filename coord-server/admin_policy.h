/* SPDX-License-Identifier: MIT */
/*
 * A policy file against the database, for `policy check`, `set` and `explain`: parsed, compiled
 * against the stored nodes and the tags of the auth keys, its tests run.
 */
#ifndef WM_COORD_ADMIN_POLICY_H
#define WM_COORD_ADMIN_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "coord-server/policy.h"
#include "coord-server/store.h"

struct wm_coord_policy_job {
	const char *text;		/* the file */
	size_t len;
	bool strict, tests;		/* names checked (wm_policy_compile()); tests run */
	struct wm_policy *pol;		/* the result, compiled */
	size_t n_nodes;
	char err[WM_POLICY_ERR_LEN];	/* why it failed */
};

/* Parses, compiles against s, runs the tests if asked (ctx is the job). 0, -EBADMSG or -EFBIG
 * or -ENOMEM (job->err says why), or -EIO (the store's error). */
int wm_coord_policy_compile(void *job, struct wm_store *s);

/* As wm_store_policy_set()'s check after wm_coord_policy_compile() succeeded: 0 at once if the
 * nodes did not change since, else compiles again (inside the transaction). */
int wm_coord_policy_recheck(void *job, struct wm_store *s);

#endif
