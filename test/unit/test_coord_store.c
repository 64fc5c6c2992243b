/* SPDX-License-Identifier: MIT */
/* wiremesh-coord's SQLite store, on a temporary database file per test; subnet routes with
 * their primaries and how the netmap cache serves them. */
#include "coord-server/store.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sodium.h>

#include "coord-server/netmap_cache.h"

#define NOW 1700000000

static char dir[64], path[96];
static struct wm_store *s;

static void setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/wm-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/coord.db", dir);
	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	wm_store_close(s);
	s = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void reopen(void)
{
	char err[256];

	wm_store_close(s);
	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
}

static struct wm_coord_register_req reg(const char *key, const char *host)
{
	struct wm_coord_register_req r = { 0 };

	snprintf(r.auth_key, sizeof(r.auth_key), "%s", key ? key : "");
	memset(r.disco_key, 9, sizeof(r.disco_key));
	snprintf(r.hostname, sizeof(r.hostname), "%s", host);
	strcpy(r.os, "linux");
	strcpy(r.version, "1");
	return r;
}

static void node_key(uint8_t k[WM_KEY_LEN], int n)
{
	memset(k, 0, WM_KEY_LEN);
	k[0] = (uint8_t)n;
	k[31] = 0x40;
}

static char *new_authkey_tagged(bool reusable, bool ephemeral, int64_t expires, const char *tag)
{
	struct wm_store_authkey_opts o = { .reusable = reusable, .ephemeral = ephemeral,
					   .expires = expires, .tag = tag };
	static char key[WM_STORE_AUTHKEY_LEN + 1];

	ck_assert_int_eq(wm_store_authkey_create(s, &o, NOW, key, NULL), 0);
	ck_assert_uint_eq(strlen(key), WM_STORE_AUTHKEY_LEN);
	return key;
}

static char *new_authkey(bool reusable, bool ephemeral, int64_t expires)
{
	return new_authkey_tagged(reusable, ephemeral, expires, "tag:t");
}

/* Registers node n; returns 0 (node filled), or the refusal code's first letter. */
static int join(int n, const char *authkey, const char *host, struct wm_store_node *node,
		struct wm_store_refusal *why)
{
	uint8_t k[WM_KEY_LEN];
	struct wm_coord_register_req r = reg(authkey, host);

	node_key(k, n);
	return wm_store_node_register(s, k, &r, NOW, node, why);
}

START_TEST(create_and_reopen)
{
	uint8_t priv[32], pub[32], priv2[32], pub2[32];
	struct wm_store_node node;
	struct wm_store_refusal why;
	struct stat st;
	char *key;

	ck_assert_int_eq(wm_store_schema_version(s), WM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);	/* the server key is in it */
	ck_assert_int_eq(wm_store_server_key(s, priv, pub), 0);
	key = new_authkey(true, false, 0);
	ck_assert_int_eq(join(1, key, "alpha", &node, &why), 0);
	ck_assert_int_eq(node.id, 1);
	ck_assert_uint_eq(node.ipv4, 0x64400001);
	ck_assert_str_eq(node.name, "alpha");
	ck_assert_str_eq(node.tag, "tag:t");
	ck_assert_int_eq(wm_store_relays_set(s, "{\"regions\":[]}", NOW), 0);
	reopen();
	ck_assert_int_eq(wm_store_schema_version(s), WM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(wm_store_server_key(s, priv2, pub2), 0);
	ck_assert_mem_eq(priv, priv2, 32);
	ck_assert_mem_eq(pub, pub2, 32);
	ck_assert_int_eq(wm_store_node_find(s, "alpha", &node), 0);
	ck_assert_uint_eq(node.ipv4, 0x64400001);
	/* A known node registers again without a key and keeps everything. */
	ck_assert_int_eq(join(1, NULL, "alpha", &node, &why), 0);
	ck_assert_int_eq(node.id, 1);
	ck_assert_uint_eq(node.ipv4, 0x64400001);
}
END_TEST

START_TEST(newer_schema_refused)
{
	sqlite3 *db;
	char err[256];

	wm_store_close(s);
	s = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(wm_store_open(&s, path, 1000, err, sizeof(err)), -EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	ck_assert_ptr_null(s);
	/* An empty file is migrated from scratch. */
	unlink(path);
	ck_assert_int_eq(wm_store_open(&s, path, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(wm_store_schema_version(s), WM_STORE_SCHEMA_VERSION);
}
END_TEST

START_TEST(auth_keys)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char once[WM_STORE_AUTHKEY_LEN + 1], *k;

	ck_assert_int_eq(join(1, "wmauth-nonsense", "a", &node, &why), 1);
	ck_assert_str_eq(why.code, "auth_key_invalid");
	ck_assert_int_eq(join(1, NULL, "a", &node, &why), 1);
	ck_assert_str_eq(why.code, "auth_key_required");
	strcpy(once, new_authkey(false, false, 0));
	ck_assert_int_eq(join(1, once, "a", &node, &why), 0);
	ck_assert_int_eq(join(2, once, "b", &node, &why), 1);
	ck_assert_ptr_nonnull(strstr(why.message, "single-use"));
	k = new_authkey(true, false, NOW - 1);
	ck_assert_int_eq(join(3, k, "c", &node, &why), 1);
	ck_assert_ptr_nonnull(strstr(why.message, "expired"));
	k = new_authkey(true, false, 0);
	ck_assert_int_eq(wm_store_authkey_revoke(s, k), 0);
	ck_assert_int_eq(join(4, k, "d", &node, &why), 1);
	ck_assert_ptr_nonnull(strstr(why.message, "revoked"));
	ck_assert_int_eq(wm_store_authkey_revoke(s, "999"), -ENOENT);
	ck_assert_int_eq(wm_store_authkey_revoke(s, "1"), 0);
	/* A refused registration leaves nothing behind. */
	ck_assert_int_eq(wm_store_node_find(s, "b", &node), -ENOENT);
}
END_TEST

START_TEST(addresses_and_names)
{
	struct wm_store_node node, *all;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0);
	size_t n;

	for (int i = 1; i <= 3; i++)
		ck_assert_int_eq(join(i, k, "Web Server.example.com", &node, &why), 0);
	ck_assert_str_eq(node.name, "web-server-3");
	ck_assert_uint_eq(node.ipv4, 0x64400003);
	ck_assert_int_eq(wm_store_node_delete(s, 3, NOW), 0);
	ck_assert_int_eq(wm_store_node_delete(s, 3, NOW), -ENOENT);
	/* A removed node's address and id are never handed out again. */
	ck_assert_int_eq(join(3, k, "web-server", &node, &why), 0);
	ck_assert_uint_eq(node.ipv4, 0x64400004);
	ck_assert_int_eq(node.id, 4);
	ck_assert_str_eq(node.name, "web-server-3");	/* the name is free again */
	ck_assert_int_eq(wm_store_node_rename(s, 4, "web-server"), -EEXIST);
	ck_assert_int_eq(wm_store_node_rename(s, 4, "Bad Name"), -EINVAL);
	ck_assert_int_eq(wm_store_node_rename(s, 4, "db"), 0);
	ck_assert_int_eq(wm_store_node_find(s, "db", &node), 0);
	ck_assert_int_eq(wm_store_nodes_load(s, &all, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_lt(all[0].id, all[1].id);
	free(all);
}
END_TEST

START_TEST(versions_and_changes)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	struct wm_store *other;
	struct wm_coord_poll_req poll = { 0 };
	char err[256], *k = new_authkey_tagged(true, false, 0, NULL);
	uint64_t v0 = wm_store_netmap_version(s), v;
	bool urgent, lazy;

	ck_assert_uint_eq(v0, 1);
	ck_assert_int_eq(join(1, k, "a", &node, &why), 0);
	v = wm_store_netmap_version(s);
	ck_assert_uint_gt(v, v0);
	/* The same registration again changes nothing. */
	ck_assert_int_eq(join(1, NULL, "a", &node, &why), 0);
	ck_assert_uint_eq(wm_store_netmap_version(s), v);
	ck_assert_int_eq(wm_endpoint_parse(&poll.endpoints[0], "192.0.2.1:5"), 0);
	poll.n_endpoints = 1;
	poll.home_relay = 2;
	ck_assert_int_eq(wm_store_node_polled(s, 1, &poll, NOW, &urgent, &lazy), 0);
	ck_assert(urgent && lazy);	/* moved, and came online */
	ck_assert_int_eq(wm_store_node_polled(s, 1, &poll, NOW + 1, &urgent, &lazy), 0);
	ck_assert(!urgent && !lazy);
	ck_assert_int_eq(wm_store_node_by_key(s, node.node_key, &node), 0);
	ck_assert_uint_eq(node.n_endpoints, 1);
	ck_assert_int_eq(node.home_relay, 2);
	ck_assert(node.online);
	/* Another connection (an admin command) changes something: this one notices. */
	ck_assert(!wm_store_changed(s));
	ck_assert_int_eq(wm_store_open(&other, path, 1000, err, sizeof(err)), 0);
	v = wm_store_netmap_version(s);
	ck_assert_int_eq(wm_store_node_expire(other, 1, NOW), 0);
	wm_store_close(other);
	ck_assert(wm_store_changed(s));
	ck_assert_uint_gt(wm_store_netmap_version(s), v);
	/* Expired: a key-less registration is refused, an auth key renews it. */
	ck_assert_int_eq(join(1, NULL, "a", &node, &why), 1);
	ck_assert_str_eq(why.code, "auth_key_required");
	ck_assert_int_eq(join(1, k, "a", &node, &why), 0);
	ck_assert_int_eq(node.id, 1);
	ck_assert_int_gt(node.key_expiry, NOW);
}
END_TEST

START_TEST(rotation)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	uint8_t k1[32], k2[32], k9[32];
	char *k = new_authkey(true, false, 0);

	ck_assert_int_eq(join(1, k, "a", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "b", &node, &why), 0);
	node_key(k1, 1);
	node_key(k2, 2);
	node_key(k9, 9);
	ck_assert_int_eq(wm_store_node_rotate(s, k1, k2, NOW, &node, &why), 1);
	ck_assert_str_eq(why.code, "key_in_use");
	ck_assert_int_eq(wm_store_node_rotate(s, k9, k1, NOW, &node, &why), 1);
	ck_assert_str_eq(why.code, "unknown_node");
	ck_assert_int_eq(wm_store_node_rotate(s, k1, k9, NOW, &node, &why), 0);
	ck_assert_int_eq(node.id, 1);
	ck_assert_uint_eq(node.ipv4, 0x64400001);
	ck_assert_int_eq(wm_store_node_by_key(s, k1, &node), -ENOENT);
	ck_assert_int_eq(wm_store_node_by_key(s, k9, &node), 0);
	ck_assert_int_eq(node.id, 1);
}
END_TEST

/* Untagged keys expire after the lifetime and rotate to a fresh one; tagged ones never do. */
START_TEST(tagged_nodes_never_expire)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	uint8_t k1[32], k3[32], k8[32], k9[32];
	char untagged[WM_STORE_AUTHKEY_LEN + 1], tagged[WM_STORE_AUTHKEY_LEN + 1];

	strcpy(untagged, new_authkey_tagged(true, false, 0, ""));
	strcpy(tagged, new_authkey_tagged(true, false, 0, "tag:server"));
	ck_assert_int_eq(join(1, untagged, "laptop", &node, &why), 0);
	ck_assert_int_eq(node.key_expiry, NOW + WM_STORE_NODE_KEY_LIFETIME);
	ck_assert_int_eq(join(3, tagged, "server", &node, &why), 0);
	ck_assert_str_eq(node.tag, "tag:server");
	ck_assert_int_eq(node.key_expiry, 0);
	/* Years later the tagged node registers again without a key; the other one cannot. */
	node_key(k1, 1);
	node_key(k3, 3);
	node_key(k8, 8);
	node_key(k9, 9);
	{
		struct wm_coord_register_req r = reg(NULL, "server");

		ck_assert_int_eq(wm_store_node_register(s, k3, &r, NOW + 10 * WM_STORE_NODE_KEY_LIFETIME,
							&node, &why), 0);
		ck_assert_int_eq(node.key_expiry, 0);
		r = reg(NULL, "laptop");
		ck_assert_int_eq(wm_store_node_register(s, k1, &r, NOW + WM_STORE_NODE_KEY_LIFETIME,
							&node, &why), 1);
		ck_assert_str_eq(why.code, "auth_key_required");
	}
	/* A rotation keeps the tagged node's "never" and gives the other a fresh lifetime. */
	ck_assert_int_eq(wm_store_node_rotate(s, k3, k9, NOW + 5, &node, &why), 0);
	ck_assert_int_eq(node.key_expiry, 0);
	ck_assert_int_eq(wm_store_node_rotate(s, k1, k8, NOW + 7, &node, &why), 0);
	ck_assert_int_eq(node.key_expiry, NOW + 7 + WM_STORE_NODE_KEY_LIFETIME);
	/* The admin can still end a tagged node's key; an auth key renews it to "never". */
	ck_assert_int_eq(wm_store_node_expire(s, 2, NOW + 8), 0);
	{
		struct wm_coord_register_req r = reg(NULL, "server");

		ck_assert_int_eq(wm_store_node_register(s, k9, &r, NOW + 9, &node, &why), 1);
		ck_assert_str_eq(why.code, "auth_key_required");
		r = reg(tagged, "server");
		ck_assert_int_eq(wm_store_node_register(s, k9, &r, NOW + 9, &node, &why), 0);
		ck_assert_int_eq(node.key_expiry, 0);
	}
}
END_TEST

START_TEST(sweep)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char eph[WM_STORE_AUTHKEY_LEN + 1], perm[WM_STORE_AUTHKEY_LEN + 1];
	int64_t held[1] = { 2 };
	struct wm_coord_poll_req poll = { 0 };
	bool urgent, lazy;

	strcpy(eph, new_authkey(true, true, 0));
	strcpy(perm, new_authkey(true, false, 0));
	ck_assert_int_eq(join(1, eph, "e1", &node, &why), 0);
	ck_assert(node.ephemeral);
	ck_assert_int_eq(join(2, eph, "e2", &node, &why), 0);
	ck_assert_int_eq(join(3, perm, "p", &node, &why), 0);
	for (int id = 1; id <= 3; id++)
		ck_assert_int_eq(wm_store_node_polled(s, id, &poll, NOW, &urgent, &lazy), 0);
	/* Within the grace nothing changes. */
	ck_assert_int_eq(wm_store_sweep(s, NULL, 0, NOW + 10, NOW, 15, 120), 0);
	/* After it, 1 and 3 go offline; 2 has a poll held. */
	ck_assert_int_eq(wm_store_sweep(s, held, 1, NOW + 20, NOW + 10, 15, 120), 2);
	ck_assert_int_eq(wm_store_node_find(s, "p", &node), 0);
	ck_assert(!node.online);
	ck_assert_int_eq(wm_store_node_find(s, "e2", &node), 0);
	ck_assert(node.online);
	/* Two minutes on, ephemeral 1 is gone; 2 (held) and the permanent node stay. */
	ck_assert_int_eq(wm_store_sweep(s, held, 1, NOW + 130, NOW + 20, 15, 120), 1);
	ck_assert_int_eq(wm_store_node_find(s, "e1", &node), -ENOENT);
	ck_assert_int_eq(wm_store_node_find(s, "e2", &node), 0);
	ck_assert_int_eq(wm_store_node_find(s, "p", &node), 0);
	/* A key expiring is a change too. */
	ck_assert_int_eq(wm_store_node_expire(s, 3, NOW + 135), 0);
	ck_assert_int_eq(wm_store_sweep(s, held, 1, NOW + 140, NOW + 130, 15, 120), 1);
}
END_TEST

START_TEST(touch_and_relays)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0), *text;
	int64_t ids[2] = { 1, 2 };

	ck_assert_int_eq(join(1, k, "a", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "b", &node, &why), 0);
	ck_assert_int_eq(wm_store_nodes_touch(s, ids, 2, NOW + 50), 0);
	ck_assert_int_eq(wm_store_node_find(s, "2", &node), 0);
	ck_assert_int_eq(node.last_seen, NOW + 50);
	text = wm_store_relays_get(s);
	ck_assert_str_eq(text, "{\"regions\":[]}");
	free(text);
	ck_assert_int_eq(wm_store_relays_set(s, "{\"regions\":[{\"id\":1}]}", NOW), 0);
	text = wm_store_relays_get(s);
	ck_assert_str_eq(text, "{\"regions\":[{\"id\":1}]}");
	free(text);
}
END_TEST

/* --- subnet routes ------------------------------------------------------------------------- */

/* Node id polls at now advertising the prefixes in the NULL-terminated list. */
static void poll_routes(int64_t id, int64_t now, bool *urgent, bool *lazy, ...)
{
	struct wm_coord_poll_req p = { .wait = true };
	bool u, l;
	va_list ap;

	va_start(ap, lazy);
	for (const char *t; (t = va_arg(ap, const char *));)
		ck_assert(wm_netmap_prefix_parse(&p.routes[p.n_routes++], t));
	va_end(ap);
	ck_assert_int_eq(wm_store_node_polled(s, id, &p, now, urgent ? urgent : &u,
					      lazy ? lazy : &l), 0);
}

static struct wm_netmap_prefix prefix(const char *text)
{
	struct wm_netmap_prefix p;

	ck_assert(wm_netmap_prefix_parse(&p, text));
	return p;
}

static int approve(int64_t id, const char *text, bool yes)
{
	struct wm_netmap_prefix p = prefix(text);

	return wm_store_route_approve(s, id, &p, yes, NOW);
}

/* Node id's rows as "prefix:flags" words ("a" advertised, "A" approved, "P" primary). */
static const char *rows_of(int64_t id)
{
	static char out[512];
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	struct wm_store_route *r;
	size_t n, len = 0;

	ck_assert_int_eq(wm_store_node_routes(s, id, &r, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(r[i].node_id, id);
		wm_netmap_prefix_format(&r[i].prefix, text, sizeof(text));
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s:%s%s%s", i ? " " : "",
					text, r[i].advertised ? "a" : "", r[i].approved ? "A" : "",
					r[i].primary ? "P" : "");
	}
	free(r);
	return out;
}

static const char *routes_text(const struct wm_netmap_prefix *p, size_t n)
{
	static char out[256];
	char one[WM_NETMAP_PREFIX_TEXT_MAX];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		wm_netmap_prefix_format(&p[i], one, sizeof(one));
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "", one);
	}
	return out;
}

START_TEST(routes_advertised_and_approved)
{
	struct wm_netmap_prefix got[WM_NETMAP_MAX_ROUTES];
	struct wm_store_node node;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0);
	bool urgent, lazy;
	uint64_t v;
	size_t n;

	ck_assert_int_eq(join(1, k, "gw", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "other", &node, &why), 0);
	poll_routes(1, NOW, &urgent, &lazy, "192.168.50.0/24", "10.1.0.0/16", NULL);
	ck_assert(!urgent && lazy);	/* unapproved prefixes are in no netmap */
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a 192.168.50.0/24:a");
	/* The advertised set replaces the last; unapproved rows that are withdrawn go. */
	v = wm_store_netmap_version(s);
	poll_routes(1, NOW + 1, &urgent, &lazy, "10.2.0.0/16", "10.1.0.0/16", NULL);
	ck_assert(!urgent && !lazy);
	ck_assert_uint_eq(wm_store_netmap_version(s), v);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a 10.2.0.0/16:a");
	/* Approving: what it does not advertise is refused; the rest bumps the version. */
	ck_assert_int_eq(approve(1, "192.168.50.0/24", true), -ENOENT);
	ck_assert_int_eq(approve(2, "10.1.0.0/16", true), -ENOENT);
	ck_assert_uint_eq(wm_store_netmap_version(s), v);
	ck_assert_int_eq(approve(1, "10.1.0.0/16", true), 0);
	ck_assert_uint_gt(wm_store_netmap_version(s), v);
	ck_assert_int_eq(approve(1, "10.1.0.0/16", true), -EALREADY);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:aAP 10.2.0.0/16:a");	/* the lone router */
	ck_assert_int_eq(wm_store_node_approved_routes(s, 1, got, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(routes_text(got, n), "10.1.0.0/16");
	/* Withdrawn, the approval stays (and counts nowhere); advertised again, it serves again. */
	v = wm_store_netmap_version(s);
	poll_routes(1, NOW + 2, &urgent, NULL, "10.2.0.0/16", NULL);
	ck_assert(urgent);
	ck_assert_uint_gt(wm_store_netmap_version(s), v);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:A 10.2.0.0/16:a");
	ck_assert_int_eq(wm_store_node_approved_routes(s, 1, got, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(approve(1, "10.1.0.0/16", true), -ENOENT);	/* not advertised now */
	poll_routes(1, NOW + 3, &urgent, NULL, "10.2.0.0/16", "10.1.0.0/16", NULL);
	ck_assert(urgent);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:aAP 10.2.0.0/16:a");
	/* Unapproving: only what is approved; an unadvertised one goes entirely. */
	ck_assert_int_eq(approve(1, "10.2.0.0/16", false), -ENOENT);
	ck_assert_int_eq(approve(1, "10.1.0.0/16", false), 0);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a 10.2.0.0/16:a");
	ck_assert_int_eq(approve(1, "10.2.0.0/16", true), 0);
	poll_routes(1, NOW + 4, NULL, NULL, "10.1.0.0/16", NULL);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a 10.2.0.0/16:A");
	ck_assert_int_eq(approve(1, "10.2.0.0/16", false), 0);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a");
	/* A removed node's routes go with it. */
	ck_assert_int_eq(approve(1, "10.1.0.0/16", true), 0);
	ck_assert_int_eq(wm_store_node_delete(s, 1, NOW), 0);
	ck_assert_str_eq(rows_of(1), "");
	ck_assert_int_eq(approve(1, "10.1.0.0/16", false), -ENOENT);
}
END_TEST

/* An approver standing for autoApprovers {"routes": {"10.0.0.0/8": ["gw"]}} with gw node 1. */
static bool approve_tens_of_one(void *ctx, int64_t id, const struct wm_netmap_prefix *p)
{
	(*(int *)ctx)++;
	return id == 1 && p->family == AF_INET && p->addr[0] == 10 && p->cidr >= 8;
}

START_TEST(routes_auto_approved)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0);
	bool urgent;
	int asked = 0;

	ck_assert_int_eq(join(1, k, "gw", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "other", &node, &why), 0);
	/* Advertised before the policy said so: waits, then approved by the next poll. */
	poll_routes(1, NOW, &urgent, NULL, "10.1.0.0/16", NULL);
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:a");
	wm_store_set_auto_approver(s, approve_tens_of_one, &asked);
	poll_routes(1, NOW + 1, &urgent, NULL, "10.1.0.0/16", "10.2.0.0/16", "192.168.9.0/24", NULL);
	ck_assert(urgent);	/* served routes changed: peers must hear of them */
	ck_assert_str_eq(rows_of(1), "10.1.0.0/16:aAP 10.2.0.0/16:aAP 192.168.9.0/24:a");
	/* Once approved it is not asked again; another node's prefix is not approved. */
	asked = 0;
	poll_routes(1, NOW + 2, &urgent, NULL, "10.1.0.0/16", "10.2.0.0/16", "192.168.9.0/24", NULL);
	ck_assert(!urgent);
	ck_assert_int_eq(asked, 1);
	poll_routes(2, NOW + 2, &urgent, NULL, "10.3.0.0/16", NULL);
	ck_assert_str_eq(rows_of(2), "10.3.0.0/16:a");
	wm_store_set_auto_approver(s, NULL, NULL);
}
END_TEST

START_TEST(routes_primary_and_failover)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0);
	int64_t held_a[1] = { 1 }, held_b[1] = { 2 };
	struct wm_coord_register_req r;
	uint8_t key[WM_KEY_LEN];
	bool urgent, lazy;
	uint64_t v;

	ck_assert_int_eq(join(1, k, "gw-a", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "gw-b", &node, &why), 0);
	poll_routes(1, NOW, NULL, NULL, "192.168.50.0/24", NULL);
	poll_routes(2, NOW, NULL, NULL, "192.168.50.0/24", NULL);
	/* The first approved router is primary, and stays so when a lower id joins it. */
	ck_assert_int_eq(approve(2, "192.168.50.0/24", true), 0);
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	ck_assert_int_eq(approve(1, "192.168.50.0/24", true), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aA");
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	/* The primary goes silent: after the grace the other takes over, in the same change. */
	ck_assert_int_eq(wm_store_sweep(s, held_a, 1, NOW + 10, NOW, 15, 120), 0);
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	v = wm_store_netmap_version(s);
	ck_assert_int_eq(wm_store_sweep(s, held_a, 1, NOW + 20, NOW + 10, 15, 120), 1);
	ck_assert_uint_gt(wm_store_netmap_version(s), v);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aA");
	/* It comes back: the new primary keeps the prefix (no flapping back). */
	poll_routes(2, NOW + 21, &urgent, &lazy, "192.168.50.0/24", NULL);
	ck_assert(!urgent && lazy);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");
	/* Now the other way round. */
	ck_assert_int_eq(wm_store_sweep(s, held_b, 1, NOW + 40, NOW + 20, 15, 120), 1);
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	/* Both offline: the last primary keeps it, so peers keep a route to the prefix. */
	ck_assert_int_eq(wm_store_sweep(s, NULL, 0, NOW + 60, NOW + 40, 15, 120), 1);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aA");
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	/* One comes online while the primary is away: it takes over at once (urgent). */
	poll_routes(1, NOW + 61, &urgent, &lazy, "192.168.50.0/24", NULL);
	ck_assert(urgent && lazy);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aA");
	/* Unapproved, or expired, a primary hands over, even to an offline router. */
	ck_assert_int_eq(approve(1, "192.168.50.0/24", false), 0);
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	ck_assert_int_eq(approve(1, "192.168.50.0/24", true), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");	/* online beats offline */
	ck_assert_int_eq(wm_store_node_expire(s, 1, NOW + 62), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aA");
	ck_assert_str_eq(rows_of(2), "192.168.50.0/24:aAP");
	/* The last router removed: nobody serves the prefix. */
	ck_assert_int_eq(wm_store_node_delete(s, 2, NOW + 63), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aA");
	/* The expired one registers again with an auth key: eligible, it serves again. */
	node_key(key, 1);
	r = reg(k, "gw-a");
	ck_assert_int_eq(wm_store_node_register(s, key, &r, NOW + 64, &node, &why), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");
}
END_TEST

START_TEST(routes_lowest_id_without_primary)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char *k = new_authkey(true, false, 0);

	for (int i = 1; i <= 3; i++)
		ck_assert_int_eq(join(i, k, i == 1 ? "a" : i == 2 ? "b" : "c", &node, &why), 0);
	/* 3 and 2 advertise and are approved while offline (never polled for it). */
	poll_routes(3, NOW, NULL, NULL, "10.5.0.0/16", NULL);
	poll_routes(2, NOW, NULL, NULL, "10.5.0.0/16", NULL);
	ck_assert_int_eq(wm_store_sweep(s, NULL, 0, NOW + 20, NOW, 15, 120), 2);
	ck_assert_int_eq(approve(3, "10.5.0.0/16", true), 0);
	ck_assert_int_eq(approve(2, "10.5.0.0/16", true), 0);
	ck_assert_str_eq(rows_of(3), "10.5.0.0/16:aAP");	/* it was alone when approved */
	/* The primary removed: among the offline ones the lowest id. */
	ck_assert_int_eq(wm_store_node_delete(s, 3, NOW + 21), 0);
	ck_assert_str_eq(rows_of(2), "10.5.0.0/16:aAP");
	/* Routers of other prefixes are independent. */
	poll_routes(1, NOW + 22, NULL, NULL, "10.6.0.0/16", "10.5.0.0/16", NULL);
	ck_assert_int_eq(approve(1, "10.6.0.0/16", true), 0);
	ck_assert_int_eq(approve(1, "10.5.0.0/16", true), 0);
	ck_assert_str_eq(rows_of(1), "10.5.0.0/16:aAP 10.6.0.0/16:aAP");	/* online wins */
	ck_assert_str_eq(rows_of(2), "10.5.0.0/16:aA");
}
END_TEST

/* The netmap node (by id) gets from the cache, parsed back as its client does. */
static void netmap_for(struct wm_coord_cache *c, int64_t id, struct wm_coord_poll_resp *r)
{
	uint8_t req[WM_COORD_REQ_ID_LEN] = { 1 };
	const struct wm_store_node *node = wm_coord_cache_node(c, id);
	char err[WM_COORD_ERR_LEN], *text;
	size_t len;

	ck_assert_ptr_nonnull(node);
	text = wm_coord_cache_netmap(c, node, req, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(wm_coord_poll_resp_parse(r, text, len, err, sizeof(err)) == 0, "%s", err);
	free(text);
}

START_TEST(routes_in_netmaps)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	struct wm_coord_cache c = { 0 };
	struct wm_coord_poll_resp r;
	char *k = new_authkey(true, false, 0);
	int64_t policy;

	ck_assert_int_eq(join(1, k, "gw-a", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "gw-b", &node, &why), 0);
	ck_assert_int_eq(join(3, k, "laptop", &node, &why), 0);
	poll_routes(1, NOW, NULL, NULL, "192.168.50.0/24", "2001:db8:50::/48", "10.7.0.0/16", NULL);
	poll_routes(2, NOW, NULL, NULL, "192.168.50.0/24", NULL);
	poll_routes(3, NOW, NULL, NULL, NULL);
	ck_assert_int_eq(approve(2, "192.168.50.0/24", true), 0);
	ck_assert_int_eq(approve(1, "192.168.50.0/24", true), 0);
	ck_assert_int_eq(approve(1, "2001:db8:50::/48", true), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 0), 0);

	/* A peer lists what it is primary for; the backup's entry has none; allowed IPs stay. */
	netmap_for(&c, 3, &r);
	ck_assert_uint_eq(r.netmap.n_peers, 2);
	ck_assert_str_eq(routes_text(r.netmap.peers[0].routes, r.netmap.peers[0].n_routes),
			 "2001:db8:50::/48");
	ck_assert_str_eq(routes_text(r.netmap.peers[1].routes, r.netmap.peers[1].n_routes),
			 "192.168.50.0/24");
	ck_assert_uint_eq(r.netmap.peers[0].n_allowed_ips, 2);
	ck_assert_uint_eq(r.netmap.self.n_approved_routes, 0);
	wm_netmap_free(&r.netmap);
	/* Self: every approved prefix it advertises, primary or not; never the unapproved. */
	netmap_for(&c, 1, &r);
	ck_assert_str_eq(routes_text(r.netmap.self.approved_routes, r.netmap.self.n_approved_routes),
			 "192.168.50.0/24 2001:db8:50::/48");
	ck_assert_str_eq(routes_text(r.netmap.peers[0].routes, r.netmap.peers[0].n_routes),
			 "192.168.50.0/24");
	wm_netmap_free(&r.netmap);

	/* With a policy, peers are as the policy says; a visible router brings its routes. */
	ck_assert_int_eq(wm_store_policy_set(s, "{\"acls\":[{\"action\":\"accept\",\"src\":[\"laptop\"],"
					     "\"proto\":\"tcp\",\"dst\":[\"gw-b:22\"]}]}",
					     NOW, NULL, NULL, &policy), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 1), 0);
	netmap_for(&c, 3, &r);
	ck_assert_uint_eq(r.netmap.n_peers, 1);
	ck_assert_str_eq(r.netmap.peers[0].name, "gw-b");
	ck_assert_str_eq(routes_text(r.netmap.peers[0].routes, r.netmap.peers[0].n_routes),
			 "192.168.50.0/24");
	ck_assert_ptr_nonnull(r.netmap.packet_filter);
	wm_netmap_free(&r.netmap);
	wm_coord_cache_free(&c);
}
END_TEST

/* Exit nodes: every eligible one serves the default routes (no primary), in its own entry. */
START_TEST(exit_nodes_all_serve)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	struct wm_coord_cache c = { 0 };
	struct wm_coord_poll_resp r;
	char *k = new_authkey(true, false, 0);
	bool urgent;

	ck_assert_int_eq(join(1, k, "exit-a", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "exit-b", &node, &why), 0);
	ck_assert_int_eq(join(3, k, "laptop", &node, &why), 0);
	poll_routes(1, NOW, NULL, NULL, "0.0.0.0/0", "::/0", "192.168.50.0/24", NULL);
	poll_routes(2, NOW, NULL, NULL, "0.0.0.0/0", "::/0", NULL);
	poll_routes(3, NOW, NULL, NULL, NULL);
	ck_assert_str_eq(rows_of(1), "0.0.0.0/0:a 192.168.50.0/24:a ::/0:a");
	ck_assert_int_eq(approve(1, "0.0.0.0/0", true), 0);
	ck_assert_int_eq(approve(1, "::/0", true), 0);
	ck_assert_int_eq(approve(2, "0.0.0.0/0", true), 0);
	/* Both serve 0.0.0.0/0: no election between exit nodes. */
	ck_assert_str_eq(rows_of(1), "0.0.0.0/0:aAP 192.168.50.0/24:a ::/0:aAP");
	ck_assert_str_eq(rows_of(2), "0.0.0.0/0:aAP ::/0:a");
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 0), 0);
	netmap_for(&c, 3, &r);
	ck_assert_uint_eq(r.netmap.n_peers, 2);
	ck_assert_str_eq(routes_text(r.netmap.peers[0].routes, r.netmap.peers[0].n_routes),
			 "0.0.0.0/0 ::/0");
	ck_assert_str_eq(routes_text(r.netmap.peers[1].routes, r.netmap.peers[1].n_routes),
			 "0.0.0.0/0");
	wm_netmap_free(&r.netmap);

	/* Unapproved on one, the other still serves; one that stops advertising stops serving
	 * (its approval kept) and serves again when it advertises again. */
	ck_assert_int_eq(approve(1, "0.0.0.0/0", false), 0);
	ck_assert_str_eq(rows_of(1), "0.0.0.0/0:a 192.168.50.0/24:a ::/0:aAP");
	ck_assert_str_eq(rows_of(2), "0.0.0.0/0:aAP ::/0:a");
	poll_routes(2, NOW + 1, &urgent, NULL, NULL);
	ck_assert(urgent);
	ck_assert_str_eq(rows_of(2), "0.0.0.0/0:A");
	poll_routes(2, NOW + 2, &urgent, NULL, "::/0", "0.0.0.0/0", NULL);
	ck_assert(urgent);
	ck_assert_str_eq(rows_of(2), "0.0.0.0/0:aAP ::/0:a");

	/* An expired exit node serves nothing. */
	ck_assert_int_eq(wm_store_node_expire(s, 2, NOW + 3), 0);
	ck_assert_str_eq(rows_of(2), "0.0.0.0/0:aA ::/0:a");
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW + 3, 1), 0);
	netmap_for(&c, 3, &r);
	ck_assert_str_eq(routes_text(r.netmap.peers[0].routes, r.netmap.peers[0].n_routes),
			 "::/0");
	wm_netmap_free(&r.netmap);
	wm_coord_cache_free(&c);
}
END_TEST

START_TEST(routes_migrated_from_v2)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char err[256], *k = new_authkey(true, false, 0);
	sqlite3 *db;

	ck_assert_int_eq(join(1, k, "gw", &node, &why), 0);
	wm_store_close(s);
	s = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE routes; DROP TABLE dns; "
				      "UPDATE schema_version SET version = 2",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wm_store_schema_version(s), WM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(wm_store_node_find(s, "gw", &node), 0);
	poll_routes(1, NOW, NULL, NULL, "192.168.50.0/24", NULL);
	ck_assert_int_eq(approve(1, "192.168.50.0/24", true), 0);
	ck_assert_str_eq(rows_of(1), "192.168.50.0/24:aAP");
}
END_TEST

/* The DNS suffix: the default until set, in every netmap, a change bumping the version. */
START_TEST(dns_suffix_in_netmaps)
{
	char suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1], *k = new_authkey(true, false, 0);
	struct wm_store_node node;
	struct wm_store_refusal why;
	struct wm_coord_cache c = { 0 };
	struct wm_coord_poll_resp r;
	uint64_t version;

	ck_assert_int_eq(join(1, k, "alpha", &node, &why), 0);
	ck_assert_int_eq(join(2, k, "beta", &node, &why), 0);
	ck_assert_int_eq(wm_store_dns_suffix_get(s, suffix), 0);
	ck_assert_str_eq(suffix, WM_STORE_DNS_SUFFIX_DEFAULT);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 0), 0);
	netmap_for(&c, 1, &r);
	ck_assert_str_eq(r.netmap.dns_suffix, "mesh.internal");
	wm_netmap_free(&r.netmap);

	version = wm_store_netmap_version(s);
	ck_assert_int_eq(wm_store_dns_suffix_set(s, "corp.example", NOW), 0);
	ck_assert_uint_gt(wm_store_netmap_version(s), version);
	version = wm_store_netmap_version(s);
	ck_assert_int_eq(wm_store_dns_suffix_set(s, "corp.example", NOW), 0);
	ck_assert_uint_eq(wm_store_netmap_version(s), version);	/* unchanged: no new netmap */
	reopen();
	ck_assert_int_eq(wm_store_dns_suffix_get(s, suffix), 0);
	ck_assert_str_eq(suffix, "corp.example");
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 1), 0);
	netmap_for(&c, 2, &r);
	ck_assert_str_eq(r.netmap.dns_suffix, "corp.example");
	ck_assert_str_eq(r.netmap.peers[0].name, "alpha");
	wm_netmap_free(&r.netmap);
	wm_coord_cache_free(&c);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("coord_store");
	TCase *tc = tcase_create("store"), *tr = tcase_create("routes");
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, create_and_reopen);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, auth_keys);
	tcase_add_test(tc, addresses_and_names);
	tcase_add_test(tc, versions_and_changes);
	tcase_add_test(tc, tagged_nodes_never_expire);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, sweep);
	tcase_add_test(tc, touch_and_relays);
	tcase_add_test(tc, dns_suffix_in_netmaps);
	suite_add_tcase(su, tc);
	tcase_add_checked_fixture(tr, setup, teardown);
	tcase_set_timeout(tr, 30);
	tcase_add_test(tr, routes_advertised_and_approved);
	tcase_add_test(tr, routes_primary_and_failover);
	tcase_add_test(tr, routes_lowest_id_without_primary);
	tcase_add_test(tr, routes_in_netmaps);
	tcase_add_test(tr, routes_migrated_from_v2);
	tcase_add_test(tr, routes_auto_approved);
	tcase_add_test(tr, exit_nodes_all_serve);
	suite_add_tcase(su, tr);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
