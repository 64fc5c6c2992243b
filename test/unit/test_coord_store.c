/* SPDX-License-Identifier: MIT */
/* wiremesh-coord's SQLite store, on a temporary database file per test. */
#include "coord-server/store.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sodium.h>

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

static char *new_authkey(bool reusable, bool ephemeral, int64_t expires)
{
	struct wm_store_authkey_opts o = { .reusable = reusable, .ephemeral = ephemeral,
					   .expires = expires, .tag = "tag:t" };
	static char key[WM_STORE_AUTHKEY_LEN + 1];

	ck_assert_int_eq(wm_store_authkey_create(s, &o, NOW, key, NULL), 0);
	ck_assert_uint_eq(strlen(key), WM_STORE_AUTHKEY_LEN);
	return key;
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
	ck_assert_int_eq(wm_store_node_delete(s, 3), 0);
	ck_assert_int_eq(wm_store_node_delete(s, 3), -ENOENT);
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
	struct wm_endpoint ep;
	char err[256], *k = new_authkey(true, false, 0);
	uint64_t v0 = wm_store_netmap_version(s), v;
	bool urgent, lazy;

	ck_assert_uint_eq(v0, 1);
	ck_assert_int_eq(join(1, k, "a", &node, &why), 0);
	v = wm_store_netmap_version(s);
	ck_assert_uint_gt(v, v0);
	/* The same registration again changes nothing. */
	ck_assert_int_eq(join(1, NULL, "a", &node, &why), 0);
	ck_assert_uint_eq(wm_store_netmap_version(s), v);
	ck_assert_int_eq(wm_endpoint_parse(&ep, "192.0.2.1:5"), 0);
	ck_assert_int_eq(wm_store_node_polled(s, 1, &ep, 1, 2, NOW, &urgent, &lazy), 0);
	ck_assert(urgent && lazy);	/* moved, and came online */
	ck_assert_int_eq(wm_store_node_polled(s, 1, &ep, 1, 2, NOW + 1, &urgent, &lazy), 0);
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

START_TEST(sweep)
{
	struct wm_store_node node;
	struct wm_store_refusal why;
	char eph[WM_STORE_AUTHKEY_LEN + 1], perm[WM_STORE_AUTHKEY_LEN + 1];
	int64_t held[1] = { 2 };
	bool urgent, lazy;

	strcpy(eph, new_authkey(true, true, 0));
	strcpy(perm, new_authkey(true, false, 0));
	ck_assert_int_eq(join(1, eph, "e1", &node, &why), 0);
	ck_assert(node.ephemeral);
	ck_assert_int_eq(join(2, eph, "e2", &node, &why), 0);
	ck_assert_int_eq(join(3, perm, "p", &node, &why), 0);
	for (int id = 1; id <= 3; id++)
		ck_assert_int_eq(wm_store_node_polled(s, id, NULL, 0, 0, NOW, &urgent, &lazy), 0);
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

int main(void)
{
	Suite *su = suite_create("coord_store");
	TCase *tc = tcase_create("store");
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
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, sweep);
	tcase_add_test(tc, touch_and_relays);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
