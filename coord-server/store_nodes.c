/* SPDX-License-Identifier: MIT */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/encoding.h"

#define NAME_TRIES 1000		/* name, name-2, … name-1000 */
#define NAME_BASE_MAX 56	/* leaves room for "-1000" */

#define NODE_COLUMNS "id, node_key, disco_key, name, hostname, os, version, ipv4, auth_key_id, " \
	"ephemeral, tag, created, key_expiry, last_seen, online, endpoints, home_relay"

static void text_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void blob_col(sqlite3_stmt *st, int i, uint8_t out[WM_KEY_LEN])
{
	memset(out, 0, WM_KEY_LEN);
	if (sqlite3_column_bytes(st, i) == WM_KEY_LEN)
		memcpy(out, sqlite3_column_blob(st, i), WM_KEY_LEN);
}

/* "1.2.3.4:5,[::1]:6": what the node last reported (already checked by the codec). */
static void endpoints_col(sqlite3_stmt *st, int i, struct wm_store_node *n)
{
	char text[WM_NETMAP_MAX_ENDPOINTS * WM_ENDPOINT_STR_LEN], *save = NULL, *tok;

	text_col(st, i, text, sizeof(text));
	n->n_endpoints = 0;
	for (tok = strtok_r(text, ",", &save); tok && n->n_endpoints < WM_NETMAP_MAX_ENDPOINTS;
	     tok = strtok_r(NULL, ",", &save))
		if (!wm_endpoint_parse(&n->endpoints[n->n_endpoints], tok))
			n->n_endpoints++;
}

static void row_to_node(sqlite3_stmt *st, struct wm_store_node *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	blob_col(st, 1, n->node_key);
	blob_col(st, 2, n->disco_key);
	text_col(st, 3, n->name, sizeof(n->name));
	text_col(st, 4, n->hostname, sizeof(n->hostname));
	text_col(st, 5, n->os, sizeof(n->os));
	text_col(st, 6, n->version, sizeof(n->version));
	n->ipv4 = (uint32_t)sqlite3_column_int64(st, 7);
	n->auth_key_id = sqlite3_column_int64(st, 8);
	n->ephemeral = sqlite3_column_int(st, 9);
	text_col(st, 10, n->tag, sizeof(n->tag));
	n->created = sqlite3_column_int64(st, 11);
	n->key_expiry = sqlite3_column_int64(st, 12);
	n->last_seen = sqlite3_column_int64(st, 13);
	n->online = sqlite3_column_int(st, 14);
	endpoints_col(st, 15, n);
	n->home_relay = sqlite3_column_int(st, 16);
}

/* One node by a prepared statement with its parameter bound. 0, -ENOENT, -EIO. */
static int fetch_one(struct wm_store *s, sqlite3_stmt *st, struct wm_store_node *n)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_to_node(st, n);
	else if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int wm_store_node_by_key(struct wm_store *s, const uint8_t key[WM_KEY_LEN],
			 struct wm_store_node *node)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT " NODE_COLUMNS " FROM nodes WHERE node_key = ?");

	if (st)
		sqlite3_bind_blob(st, 1, key, WM_KEY_LEN, SQLITE_TRANSIENT);
	return fetch_one(s, st, node);
}

static int node_by_id(struct wm_store *s, int64_t id, struct wm_store_node *node)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT " NODE_COLUMNS " FROM nodes WHERE id = ?");

	if (st)
		sqlite3_bind_int64(st, 1, id);
	return fetch_one(s, st, node);
}

int wm_store_node_find(struct wm_store *s, const char *which, struct wm_store_node *node)
{
	uint8_t key[WM_KEY_LEN];
	sqlite3_stmt *st;
	char *end;
	long long id = strtoll(which, &end, 10);

	if (*which && !*end)
		return node_by_id(s, id, node);
	if (wm_key_from_base64(key, which))
		return wm_store_node_by_key(s, key, node);
	st = wm_store_prepare(s, "SELECT " NODE_COLUMNS " FROM nodes WHERE name = ?");
	if (st)
		sqlite3_bind_text(st, 1, which, -1, SQLITE_TRANSIENT);
	return fetch_one(s, st, node);
}

int wm_store_nodes_load(struct wm_store *s, struct wm_store_node **out, size_t *n)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY id");
	struct wm_store_node *v = NULL, *grown;
	size_t cap = 0, count = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = grown;
		}
		row_to_node(st, &v[count++]);
	}
	if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	*out = v;
	*n = count;
	return 0;
}

/* --- registration ----------------------------------------------------------------------- */

/* A DNS label from a hostname: lowercase, other characters to '-', no '-' at the ends. */
static void name_base(char out[NAME_BASE_MAX + 1], const char *hostname)
{
	size_t len = 0;

	for (const char *p = hostname; *p && *p != '.' && len < NAME_BASE_MAX; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		if (c == '-' && (len == 0 || out[len - 1] == '-'))
			continue;
		out[len++] = c;
	}
	while (len && out[len - 1] == '-')
		len--;
	out[len] = '\0';
	if (!len)
		strcpy(out, "node");
}

static int name_taken(struct wm_store *s, const char *name, int64_t except_id)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT 1 FROM nodes WHERE name = ? AND id != ?");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, except_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int unique_name(struct wm_store *s, const char *hostname, char out[WM_NETMAP_NAME_MAX + 1])
{
	char base[NAME_BASE_MAX + 1];
	int taken;

	name_base(base, hostname);
	for (int i = 1; i <= NAME_TRIES; i++) {
		if (i == 1)
			snprintf(out, WM_NETMAP_NAME_MAX + 1, "%s", base);
		else
			snprintf(out, WM_NETMAP_NAME_MAX + 1, "%s-%d", base, i);
		taken = name_taken(s, out, 0);
		if (taken <= 0)
			return taken;
	}
	return -EEXIST;
}

/* The next address, moving the cursor past it. 0, -ENOSPC (space used up), -EIO. */
static int take_address(struct wm_store *s, uint32_t *addr)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT value FROM meta WHERE key = 'next_ipv4'");
	uint32_t cursor = WM_STORE_IPV4_FIRST;

	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		cursor = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	*addr = wm_store_alloc_next(cursor);
	if (!*addr)
		return -ENOSPC;
	st = wm_store_prepare(s, "UPDATE meta SET value = ? WHERE key = 'next_ipv4'");
	if (st)
		sqlite3_bind_int64(st, 1, (int64_t)*addr + 1);
	return wm_store_step_done(s, st);
}

/*
 * The key expiry a node gets when it joins, renews or rotates: tagged nodes are servers owned by
 * the admin, not by a person who logs in again, so their keys do not expire (as in Tailscale);
 * `nodes expire` still ends one at once.
 */
static int64_t fresh_expiry(const char *tag, int64_t now)
{
	return tag[0] ? 0 : now + WM_STORE_NODE_KEY_LIFETIME;
}

static int insert_node(struct wm_store *s, const uint8_t key[WM_KEY_LEN],
		       const struct wm_coord_register_req *req, const struct wm_store_authkey *ak,
		       int64_t now, int64_t *id)
{
	char name[WM_NETMAP_NAME_MAX + 1];
	uint32_t addr;
	sqlite3_stmt *st;
	int ret;

	if ((ret = unique_name(s, req->hostname, name)) || (ret = take_address(s, &addr)))
		return ret;
	st = wm_store_prepare(s, "INSERT INTO nodes (node_key, disco_key, name, hostname, os, "
			      "version, ipv4, auth_key_id, ephemeral, tag, created, key_expiry, "
			      "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, key, WM_KEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, req->disco_key, WM_KEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, req->hostname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, req->os, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, req->version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, addr);
	sqlite3_bind_int64(st, 8, ak->id);
	sqlite3_bind_int(st, 9, ak->ephemeral);
	sqlite3_bind_text(st, 10, ak->tag, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, now);
	sqlite3_bind_int64(st, 12, fresh_expiry(ak->tag, now));
	sqlite3_bind_int64(st, 13, now);
	ret = wm_store_step_done(s, st);
	*id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

/* A known node registering again: new disco key or host details, maybe a renewed key. */
static int refresh_node(struct wm_store *s, const struct wm_store_node *n,
			const struct wm_coord_register_req *req, int64_t key_expiry)
{
	sqlite3_stmt *st;

	if (!sodium_memcmp(n->disco_key, req->disco_key, WM_KEY_LEN) && !strcmp(n->hostname, req->hostname) &&
	    !strcmp(n->os, req->os) && !strcmp(n->version, req->version) &&
	    n->key_expiry == key_expiry)
		return 0;
	st = wm_store_prepare(s, "UPDATE nodes SET disco_key = ?, hostname = ?, os = ?, version = ?, "
			      "key_expiry = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, req->disco_key, WM_KEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, req->hostname, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, req->os, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, req->version, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, key_expiry);
	sqlite3_bind_int64(st, 6, n->id);
	return wm_store_step_done(s, st) ?: wm_store_bump(s);
}

static int register_locked(struct wm_store *s, const uint8_t key[WM_KEY_LEN],
			   const struct wm_coord_register_req *req, int64_t now,
			   struct wm_store_node *node, struct wm_store_refusal *why)
{
	struct wm_store_authkey ak;
	int64_t id;
	int ret = wm_store_node_by_key(s, key, node);
	bool known = ret == 0, expired = known && node->key_expiry && now >= node->key_expiry;

	if (ret && ret != -ENOENT)
		return ret;
	if (known && !expired)
		return refresh_node(s, node, req, node->key_expiry) ?: node_by_id(s, node->id, node);
	if (!req->auth_key[0]) {
		why->status = 401;
		why->code = "auth_key_required";
		snprintf(why->message, sizeof(why->message), expired
			 ? "this node's key expired: register again with an auth key"
			 : "this node is not registered: an auth key is needed to join");
		return 1;
	}
	ret = wm_store_authkey_use(s, req->auth_key, now, &ak, why);
	if (ret)
		return ret;
	/* An expired router renewed: its approved routes count again. */
	if (known)
		ret = refresh_node(s, node, req, fresh_expiry(node->tag, now)) ?:
		      wm_store_routes_elect(s, now, NULL);
	else
		ret = insert_node(s, key, req, &ak, now, &id) ?: wm_store_bump(s);
	if (ret == -ENOSPC) {
		why->status = 503;
		why->code = "addresses_exhausted";
		snprintf(why->message, sizeof(why->message), "no IPv4 address left in 100.64.0.0/10");
		return 1;
	}
	if (ret)
		return ret;
	return node_by_id(s, known ? node->id : id, node);
}

int wm_store_node_register(struct wm_store *s, const uint8_t node_key[WM_KEY_LEN],
			   const struct wm_coord_register_req *req, int64_t now,
			   struct wm_store_node *node, struct wm_store_refusal *why)
{
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	ret = register_locked(s, node_key, req, now, node, why);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

static int rotate_locked(struct wm_store *s, const uint8_t old_key[WM_KEY_LEN],
			 const uint8_t new_key[WM_KEY_LEN], int64_t now,
			 struct wm_store_node *node, struct wm_store_refusal *why)
{
	struct wm_store_node other;
	sqlite3_stmt *st;
	int ret = wm_store_node_by_key(s, old_key, node);

	if (ret == -ENOENT) {
		*why = (struct wm_store_refusal){ 404, "unknown_node", "this node is not registered" };
		return 1;
	}
	if (ret)
		return ret;
	if (node->key_expiry && now >= node->key_expiry) {
		*why = (struct wm_store_refusal){ 403, "node_expired",
						  "this node's key expired: register again with an auth key" };
		return 1;
	}
	ret = wm_store_node_by_key(s, new_key, &other);
	if (ret == 0) {
		*why = (struct wm_store_refusal){ 409, "key_in_use", "the new key belongs to another node" };
		return 1;
	}
	if (ret != -ENOENT)
		return ret;
	st = wm_store_prepare(s, "UPDATE nodes SET node_key = ?, key_expiry = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, new_key, WM_KEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, fresh_expiry(node->tag, now));
	sqlite3_bind_int64(st, 3, node->id);
	return wm_store_step_done(s, st) ?: wm_store_bump(s) ?: node_by_id(s, node->id, node);
}

int wm_store_node_rotate(struct wm_store *s, const uint8_t old_key[WM_KEY_LEN],
			 const uint8_t new_key[WM_KEY_LEN], int64_t now,
			 struct wm_store_node *node, struct wm_store_refusal *why)
{
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	ret = rotate_locked(s, old_key, new_key, now, node, why);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

/* --- admin changes ---------------------------------------------------------------------- */

/*
 * Runs one UPDATE/DELETE on node id with a version bump, and when the node's eligibility as a
 * router changes, an election of primaries at elect_at (0: none). 0, -ENOENT, -EEXIST, -EIO.
 */
static int change_node(struct wm_store *s, sqlite3_stmt *st, int64_t elect_at)
{
	int ret = wm_store_begin(s);

	if (ret) {
		sqlite3_finalize(st);
		return ret;
	}
	ret = wm_store_step_done(s, st);
	if (!ret && sqlite3_changes(s->db) == 0)
		ret = -ENOENT;
	if (!ret && elect_at)
		ret = wm_store_routes_elect(s, elect_at, NULL);
	if (!ret)
		ret = wm_store_bump(s);
	if (ret) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

int wm_store_node_delete(struct wm_store *s, int64_t id, int64_t now)
{
	/* Its routes go with it (ON DELETE CASCADE). */
	sqlite3_stmt *st = wm_store_prepare(s, "DELETE FROM nodes WHERE id = ?");

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	return change_node(s, st, now);
}

int wm_store_node_rename(struct wm_store *s, int64_t id, const char *name)
{
	sqlite3_stmt *st;
	int taken;

	if (!wm_coord_name_valid(name))
		return -EINVAL;
	taken = name_taken(s, name, id);
	if (taken)
		return taken > 0 ? -EEXIST : taken;
	st = wm_store_prepare(s, "UPDATE nodes SET name = ? WHERE id = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	return change_node(s, st, 0);
}

int wm_store_node_expire(struct wm_store *s, int64_t id, int64_t now)
{
	sqlite3_stmt *st = wm_store_prepare(s, "UPDATE nodes SET key_expiry = ? WHERE id = ?");

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	return change_node(s, st, now);
}
