/* SPDX-License-Identifier: MIT */
/* What nodes do over time: polls, presence, ephemeral nodes going away, keys expiring; and
 * with them which router serves a subnet route. */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void endpoints_text(char *out, size_t cap, const struct wm_endpoint *eps, size_t n)
{
	char one[WM_ENDPOINT_STR_LEN];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++) {
		wm_endpoint_format(&eps[i], one);
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", one);
	}
}

static int poll_locked(struct wm_store *s, int64_t id, const struct wm_coord_poll_req *p,
		       const char *eps, int64_t now, bool *urgent, bool *lazy)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT endpoints, home_relay, online FROM nodes "
					       "WHERE id = ?");
	bool moved, came_online, served = false;
	int rc, elected = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? -ENOENT : wm_store_fail(s, -EIO);
	}
	moved = strcmp((const char *)sqlite3_column_text(st, 0), eps) ||
		sqlite3_column_int(st, 1) != p->home_relay;
	came_online = !sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	st = wm_store_prepare(s, "UPDATE nodes SET endpoints = ?, home_relay = ?, online = 1, "
			      "last_seen = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, eps, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, p->home_relay);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, id);
	rc = wm_store_step_done(s, st);
	if (!rc)
		rc = wm_store_routes_advertise(s, id, p->routes, p->n_routes, &served);
	/* Back online, or a route it serves came or went: a prefix may change hands. */
	if (!rc && (came_online || served))
		rc = wm_store_routes_elect(s, now, &elected);
	if (!rc && (moved || came_online || served || elected))
		rc = wm_store_bump(s);
	*urgent = moved || served || elected;
	*lazy = came_online;
	return rc;
}

int wm_store_node_polled(struct wm_store *s, int64_t id, const struct wm_coord_poll_req *p,
			 int64_t now, bool *urgent, bool *lazy)
{
	char text[WM_NETMAP_MAX_ENDPOINTS * WM_ENDPOINT_STR_LEN];
	int ret = wm_store_begin(s);

	*urgent = *lazy = false;
	if (ret)
		return ret;
	endpoints_text(text, sizeof(text), p->endpoints, p->n_endpoints);
	ret = poll_locked(s, id, p, text, now, urgent, lazy);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

int wm_store_nodes_touch(struct wm_store *s, const int64_t *ids, size_t n, int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	if (!n)
		return 0;
	if ((ret = wm_store_begin(s)))
		return ret;
	st = wm_store_prepare(s, "UPDATE nodes SET last_seen = ? WHERE id = ?");
	if (!st) {
		wm_store_rollback(s);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, ids[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			wm_store_fail(s, 0);
			sqlite3_finalize(st);
			wm_store_rollback(s);
			return -EIO;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return wm_store_commit(s);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static bool is_held(const int64_t *held, size_t n, int64_t id)
{
	return n && bsearch(&id, held, n, sizeof(*held), cmp_id);
}

/* Runs a statement that selects node ids and applies action to those not held. */
static int for_silent(struct wm_store *s, const char *select, int64_t before,
		      const int64_t *held, size_t n_held, const char *action, int *changes)
{
	sqlite3_stmt *st = wm_store_prepare(s, select), *act;
	int rc;

	if (!st)
		return -EIO;
	act = wm_store_prepare(s, action);
	if (!act) {
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, before);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (is_held(held, n_held, id))
			continue;
		sqlite3_bind_int64(act, 1, id);
		if (sqlite3_step(act) != SQLITE_DONE) {
			rc = SQLITE_ERROR;
			break;
		}
		sqlite3_reset(act);
		(*changes)++;
	}
	if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(act);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int count_expired(struct wm_store *s, int64_t since, int64_t now, int *changes)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT count(*) FROM nodes WHERE key_expiry > ? "
					       "AND key_expiry <= ?");

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) == SQLITE_ROW)
		*changes += sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

int wm_store_sweep(struct wm_store *s, const int64_t *held, size_t n_held, int64_t now,
		   int64_t since, int64_t grace, int64_t ephemeral_after)
{
	int changes = 0, ret = wm_store_begin(s);

	if (ret)
		return ret;
	ret = for_silent(s, "SELECT id FROM nodes WHERE online = 1 AND last_seen < ?", now - grace,
			 held, n_held, "UPDATE nodes SET online = 0 WHERE id = ?", &changes);
	if (!ret)
		ret = for_silent(s, "SELECT id FROM nodes WHERE ephemeral = 1 AND last_seen < ?",
				 now - ephemeral_after, held, n_held,
				 "DELETE FROM nodes WHERE id = ?", &changes);
	if (!ret)
		ret = count_expired(s, since, now, &changes);
	/* Gone offline, removed or expired: their prefixes may go to another router. */
	if (!ret && changes)
		ret = wm_store_routes_elect(s, now, NULL);
	if (!ret && changes)
		ret = wm_store_bump(s);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	ret = wm_store_commit(s);
	return ret ? ret : changes;
}
