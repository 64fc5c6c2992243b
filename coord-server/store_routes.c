/* SPDX-License-Identifier: MIT */
/*
 * Subnet routes in SQLite (docs/routes.md): one row per (node, prefix) a node advertises or an
 * administrator approved, and which node is each prefix's primary router. Prefixes are stored
 * as wm_netmap_prefix_format() writes them, so one prefix has one text.
 *
 * The default routes (0.0.0.0/0, ::/0: exit nodes, docs/exit-nodes.md) have no single
 * primary: every eligible exit node is marked as serving them, and a client picks one.
 */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- reading ---------------------------------------------------------------------------- */

static int cmp_route(const void *a, const void *b)
{
	const struct wm_store_route *x = a, *y = b;

	if (x->node_id != y->node_id)
		return x->node_id < y->node_id ? -1 : 1;
	return wm_netmap_prefix_cmp(&x->prefix, &y->prefix);
}

/* Rows of a statement (node_id, prefix, advertised, approved, is_primary) into *out. */
static int load_rows(struct wm_store *s, sqlite3_stmt *st, struct wm_store_route **out,
		     size_t *n)
{
	struct wm_store_route *v = NULL, *grown;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 1);
		struct wm_store_route r = { .node_id = sqlite3_column_int64(st, 0) };

		/* A hand-edited row that is no prefix is left out. */
		if (!text || !wm_netmap_prefix_parse(&r.prefix, text))
			continue;
		r.advertised = sqlite3_column_int(st, 2);
		r.approved = sqlite3_column_int(st, 3);
		r.primary = sqlite3_column_int(st, 4);
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = grown;
		}
		v[count++] = r;
	}
	if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	if (count)
		qsort(v, count, sizeof(*v), cmp_route);
	*out = v;
	*n = count;
	return 0;
}

int wm_store_routes_load(struct wm_store *s, struct wm_store_route **out, size_t *n)
{
	return load_rows(s, wm_store_prepare(s, "SELECT node_id, prefix, advertised, approved, "
					     "is_primary FROM routes"), out, n);
}

int wm_store_node_routes(struct wm_store *s, int64_t node_id, struct wm_store_route **out,
			 size_t *n)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT node_id, prefix, advertised, approved, "
					       "is_primary FROM routes WHERE node_id = ?");

	if (st)
		sqlite3_bind_int64(st, 1, node_id);
	return load_rows(s, st, out, n);
}

int wm_store_node_approved_routes(struct wm_store *s, int64_t node_id,
				  struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES], size_t *n)
{
	struct wm_store_route *rows;
	size_t count;
	int ret = wm_store_node_routes(s, node_id, &rows, &count);

	*n = 0;
	if (ret)
		return ret;
	for (size_t i = 0; i < count && *n < WM_NETMAP_MAX_ROUTES; i++)
		if (rows[i].advertised && rows[i].approved)
			out[(*n)++] = rows[i].prefix;
	free(rows);
	return 0;
}

/* --- primaries -------------------------------------------------------------------------- */

/* The default routes as stored (wm_netmap_prefix_format's text), for SQL. */
#define EXIT_PREFIXES "('0.0.0.0/0', '::/0')"

/* Every eligible exit node serves the default routes (marked primary); no other does. */
static int mark_exit_nodes(struct wm_store *s, int64_t now, int *changes)
{
	sqlite3_stmt *st = wm_store_prepare(s,
		"UPDATE routes SET is_primary = 1 - is_primary "
		"WHERE prefix IN " EXIT_PREFIXES " AND is_primary != ("
		"  advertised = 1 AND approved = 1 AND (SELECT n.key_expiry = 0 OR n.key_expiry > ?"
		"  FROM nodes n WHERE n.id = routes.node_id) IS 1)");
	int ret;

	if (st)
		sqlite3_bind_int64(st, 1, now);
	ret = wm_store_step_done(s, st);
	if (!ret && changes)
		*changes += sqlite3_changes(s->db);
	return ret;
}

/* One prefix's routers as the election walks them (by node id). */
struct group {
	char prefix[WM_NETMAP_PREFIX_TEXT_MAX];
	int64_t primary;		/* the row marked primary (the last, if several) */
	int n_primary;
	bool primary_eligible, primary_online;
	int64_t lowest_online, lowest;	/* eligible routers; 0: none */
};

/* A prefix whose primary must change to winner (0: none). */
struct verdict {
	char prefix[WM_NETMAP_PREFIX_TEXT_MAX];
	int64_t winner;
};

/* Keeps the primary while it is online; else the lowest online id; with none online, the
 * primary while it is eligible, else the lowest eligible id. */
static int64_t winner(const struct group *g)
{
	if (g->n_primary && g->primary_eligible && g->primary_online)
		return g->primary;
	if (g->lowest_online)
		return g->lowest_online;
	if (g->n_primary && g->primary_eligible)
		return g->primary;
	return g->lowest;
}

/* Appends g's verdict to *v when its primary changes. */
static int judge(const struct group *g, struct verdict **v, size_t *n, size_t *cap)
{
	int64_t w = winner(g);
	struct verdict *grown;

	if ((g->n_primary == 1 && g->primary == w) || (g->n_primary == 0 && w == 0))
		return 0;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		grown = realloc(*v, *cap * sizeof(**v));
		if (!grown)
			return -ENOMEM;
		*v = grown;
	}
	memcpy((*v)[*n].prefix, g->prefix, sizeof(g->prefix));
	(*v)[(*n)++].winner = w;
	return 0;
}

/* Every prefix that has a router or a primary, and who should be its primary. */
static int elect_verdicts(struct wm_store *s, int64_t now, struct verdict **v, size_t *n)
{
	sqlite3_stmt *st = wm_store_prepare(s,
		"SELECT r.prefix, r.node_id, r.is_primary, n.online, "
		"  r.advertised = 1 AND r.approved = 1 AND (n.key_expiry = 0 OR n.key_expiry > ?) "
		"FROM routes r JOIN nodes n ON n.id = r.node_id "
		"WHERE ((r.advertised = 1 AND r.approved = 1) OR r.is_primary = 1) "
		"  AND r.prefix NOT IN " EXIT_PREFIXES " "
		"ORDER BY r.prefix, r.node_id");
	struct group g = { .prefix = "" };
	size_t cap = 0;
	int rc, ret = 0;

	*v = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *prefix = (const char *)sqlite3_column_text(st, 0);
		int64_t id = sqlite3_column_int64(st, 1);
		bool online = sqlite3_column_int(st, 3), eligible = sqlite3_column_int(st, 4);

		if (!prefix || strlen(prefix) >= sizeof(g.prefix))
			continue;
		if (strcmp(prefix, g.prefix)) {
			if (g.prefix[0])
				ret = judge(&g, v, n, &cap);
			memset(&g, 0, sizeof(g));
			strcpy(g.prefix, prefix);
		}
		if (sqlite3_column_int(st, 2)) {
			g.primary = id;
			g.n_primary++;
			g.primary_eligible = eligible;
			g.primary_online = online;
		}
		if (eligible && online && !g.lowest_online)
			g.lowest_online = id;
		if (eligible && !g.lowest)
			g.lowest = id;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = wm_store_fail(s, -EIO);
	if (!ret && g.prefix[0])
		ret = judge(&g, v, n, &cap);
	sqlite3_finalize(st);
	return ret;
}

int wm_store_routes_elect(struct wm_store *s, int64_t now, int *changes)
{
	struct verdict *v = NULL;
	size_t n;
	sqlite3_stmt *st;
	int ret = mark_exit_nodes(s, now, changes) ?: elect_verdicts(s, now, &v, &n);

	if (ret || !n) {
		free(v);
		return ret;
	}
	/* Applied once the walk is over: the winner marked, every other row of the prefix not. */
	st = wm_store_prepare(s, "UPDATE routes SET is_primary = (node_id = ?2) "
			      "WHERE prefix = ?1 AND (is_primary = 1 OR node_id = ?2)");
	for (size_t i = 0; st && !ret && i < n; i++) {
		sqlite3_bind_text(st, 1, v[i].prefix, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, v[i].winner);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = wm_store_fail(s, -EIO);
		sqlite3_reset(st);
	}
	if (!st)
		ret = -EIO;
	sqlite3_finalize(st);
	free(v);
	if (!ret && changes)
		*changes += (int)n;
	return ret;
}

/* --- what nodes advertise --------------------------------------------------------------- */

/* Whether text is one of the n prefixes (as texts). */
static bool listed(const char (*texts)[WM_NETMAP_PREFIX_TEXT_MAX], size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(texts[i], text))
			return true;
	return false;
}

static int run(struct wm_store *s, const char *sql, int64_t id, const char *prefix)
{
	sqlite3_stmt *st = wm_store_prepare(s, sql);

	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
	}
	return wm_store_step_done(s, st);
}

/* A prefix the node stopped advertising: an approval stays, anything else goes. */
static int withdraw(struct wm_store *s, int64_t id, const char *prefix, bool approved)
{
	return run(s, approved ? "UPDATE routes SET advertised = 0, is_primary = 0 "
				 "WHERE node_id = ?1 AND prefix = ?2"
			       : "DELETE FROM routes WHERE node_id = ?1 AND prefix = ?2",
		   id, prefix);
}

void wm_store_set_auto_approver(struct wm_store *s, wm_store_auto_approve_fn fn, void *ctx)
{
	s->auto_approve = fn;
	s->auto_ctx = ctx;
}

static bool auto_approved(struct wm_store *s, int64_t id, const struct wm_netmap_prefix *prefix)
{
	return s->auto_approve && s->auto_approve(s->auto_ctx, id, prefix);
}

int wm_store_routes_advertise(struct wm_store *s, int64_t id,
			      const struct wm_netmap_prefix *routes, size_t n, bool *served_changed)
{
	char want[WM_NETMAP_MAX_ROUTES][WM_NETMAP_PREFIX_TEXT_MAX];
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	struct wm_store_route *rows;
	size_t n_rows;
	int ret;

	*served_changed = false;
	if (n > WM_NETMAP_MAX_ROUTES)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		wm_netmap_prefix_format(&routes[i], want[i], sizeof(want[i]));
	if ((ret = wm_store_node_routes(s, id, &rows, &n_rows)))
		return ret;
	for (size_t i = 0; !ret && i < n_rows; i++) {
		bool offered;

		wm_netmap_prefix_format(&rows[i].prefix, text, sizeof(text));
		offered = listed(want, n, text);
		if (offered && !rows[i].approved && auto_approved(s, id, &rows[i].prefix)) {
			*served_changed = true;
			ret = run(s, "UPDATE routes SET advertised = 1, approved = 1 "
				  "WHERE node_id = ?1 AND prefix = ?2", id, text);
			continue;
		}
		if (rows[i].advertised == offered)
			continue;
		*served_changed = *served_changed || rows[i].approved;
		if (rows[i].advertised)
			ret = withdraw(s, id, text, rows[i].approved);
		else
			ret = run(s, "UPDATE routes SET advertised = 1 WHERE node_id = ?1 AND prefix = ?2",
				  id, text);
	}
	for (size_t i = 0; !ret && i < n; i++) {
		bool known = false;

		for (size_t k = 0; k < n_rows && !known; k++)
			known = !wm_netmap_prefix_cmp(&rows[k].prefix, &routes[i]);
		if (known)
			continue;
		if (auto_approved(s, id, &routes[i])) {
			*served_changed = true;
			ret = run(s, "INSERT OR IGNORE INTO routes (node_id, prefix, advertised, approved) "
				  "VALUES (?1, ?2, 1, 1)", id, want[i]);
			continue;
		}
		ret = run(s, "INSERT OR IGNORE INTO routes (node_id, prefix, advertised) "
			  "VALUES (?1, ?2, 1)", id, want[i]);
	}
	free(rows);
	return ret;
}

/* --- approvals -------------------------------------------------------------------------- */

static int approve_locked(struct wm_store *s, int64_t id, const char *prefix, bool approve,
			  int64_t now)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT advertised, approved FROM routes "
					       "WHERE node_id = ? AND prefix = ?");
	bool found, advertised = false, approved = false;
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW;
	if (found) {
		advertised = sqlite3_column_int(st, 0);
		approved = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (!found && rc != SQLITE_DONE)
		return wm_store_fail(s, -EIO);
	if (approve && !advertised)
		return -ENOENT;
	if (!approve && !approved)
		return -ENOENT;
	if (approve && approved)
		return -EALREADY;
	if (approve)
		rc = run(s, "UPDATE routes SET approved = 1 WHERE node_id = ?1 AND prefix = ?2", id,
			 prefix);
	else if (advertised)
		rc = run(s, "UPDATE routes SET approved = 0, is_primary = 0 "
			 "WHERE node_id = ?1 AND prefix = ?2", id, prefix);
	else
		rc = withdraw(s, id, prefix, false);
	return rc ?: wm_store_routes_elect(s, now, NULL) ?: wm_store_bump(s);
}

int wm_store_route_approve(struct wm_store *s, int64_t node_id,
			   const struct wm_netmap_prefix *prefix, bool approve, int64_t now)
{
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	wm_netmap_prefix_format(prefix, text, sizeof(text));
	ret = approve_locked(s, node_id, text, approve, now);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}
