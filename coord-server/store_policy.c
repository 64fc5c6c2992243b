/* SPDX-License-Identifier: MIT */
/* The access policy in SQLite: one row per `policy set` (or clear), the current one marked. */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fetch(struct wm_store *s, sqlite3_stmt *st, struct wm_store_policy *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->created = sqlite3_column_int64(st, 1);
		out->current = sqlite3_column_int(st, 2);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    !(out->text = strdup((const char *)sqlite3_column_text(st, 3)))) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
	} else if (rc != SQLITE_DONE) {
		wm_store_fail(s, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int wm_store_policy_current(struct wm_store *s, struct wm_store_policy *out)
{
	int ret = fetch(s, wm_store_prepare(s, "SELECT id, created, current, text FROM policy "
					     "WHERE current = 1"), out);

	return ret == -ENOENT ? 0 : ret;
}

int wm_store_policy_get(struct wm_store *s, int64_t id, struct wm_store_policy *out)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT id, created, current, text FROM policy "
					       "WHERE id = ?");

	if (st)
		sqlite3_bind_int64(st, 1, id);
	return fetch(s, st, out);
}

void wm_store_policy_free(struct wm_store_policy *p)
{
	free(p->text);
	p->text = NULL;
}

static int set_locked(struct wm_store *s, const char *text, int64_t now, int64_t *id)
{
	sqlite3_stmt *st;
	int ret;

	if ((ret = wm_store_exec(s, "UPDATE policy SET current = 0 WHERE current = 1")))
		return ret;
	st = wm_store_prepare(s, "INSERT INTO policy (text, created, current) VALUES (?, ?, 1)");
	if (!st)
		return -EIO;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, now);
	if ((ret = wm_store_step_done(s, st)))
		return ret;
	*id = sqlite3_last_insert_rowid(s->db);
	st = wm_store_prepare(s, "DELETE FROM policy WHERE id <= ? - ?");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, *id);
	sqlite3_bind_int64(st, 2, WM_STORE_POLICY_HISTORY);
	return wm_store_step_done(s, st) ?: wm_store_bump(s);
}

int wm_store_policy_set(struct wm_store *s, const char *text, int64_t now,
			int (*check)(void *ctx, struct wm_store *s), void *ctx, int64_t *id)
{
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	ret = check ? check(ctx, s) : 0;
	if (!ret)
		ret = set_locked(s, text, now, id);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

int wm_store_policy_history(struct wm_store *s,
			    void (*fn)(void *ctx, const struct wm_store_policy *p, size_t size),
			    void *ctx)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT id, created, current, text IS NULL, "
					       "length(CAST(text AS BLOB)) FROM policy ORDER BY id DESC");
	int rc;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct wm_store_policy p = {
			.id = sqlite3_column_int64(st, 0),
			.created = sqlite3_column_int64(st, 1),
			.current = sqlite3_column_int(st, 2),
		};

		/* A cleared entry has no text; size 0 and text NULL say so. */
		fn(ctx, &p, sqlite3_column_int(st, 3) ? 0 : (size_t)sqlite3_column_int64(st, 4));
	}
	if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}
