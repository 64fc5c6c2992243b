/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord's admin commands for the identity lifecycle, run as main() runs them on a
 * temporary database: `authkey create --tags` (lists stored as given, bad lists refused with
 * exit 2), `nodes delete` (Headscale's name for remove) and `nodes expire`; and the test-only
 * clock offset (WIREMESH_COORD_TEST_TIME_OFFSET), which moves expiry but not request
 * timestamps. Check runs each test in its own child, so each reads the variable afresh.
 */
#include "coord-server/admin.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coord-server/api.h"
#include "coord-server/store.h"

static char dir[64], path[96];

static void setup(void)
{
	strcpy(dir, "/tmp/wm-admin-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/coord.db", dir);
	unsetenv(WM_COORD_TEST_TIME_OFFSET_ENV);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs `wiremesh-coord GROUP SUB --db PATH ARGS…` (NULL-terminated); its exit status. */
static int admin(int (*group)(int, char **), const char *sub, ...)
{
	char *argv[16] = { "group", (char *)sub, "--db", path };
	int argc = 4;
	va_list ap;

	va_start(ap, sub);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	return group(argc, argv);
}

static struct wm_store *open_db(void)
{
	struct wm_store *s;
	char err[256];

	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
	return s;
}

static void last_tag(void *ctx, const struct wm_store_authkey *k)
{
	snprintf(ctx, WM_STORE_TAGS_LEN + 1, "%s", k->tag);
}

START_TEST(authkey_tags)
{
	static const char *const bad[] = {
		"tag:a,tag:a", "tag:a,,tag:b", ",tag:a", "tag:a,", "tag:a,b c", "",
		"a,b,c,d,e",
	};
	char tag[WM_STORE_TAGS_LEN + 1] = "", long_tag[WM_STORE_TAG_MAX + 2];
	struct wm_store *s;

	ck_assert_int_eq(admin(wm_coord_admin_authkey, "create", "--tags", "tag:ci,server,db",
			       NULL), 0);
	s = open_db();
	ck_assert_int_eq(wm_store_authkey_list(s, last_tag, tag), 0);
	wm_store_close(s);
	ck_assert_str_eq(tag, "tag:ci,server,db");
	/* --tag is the same option: one tag, as before. */
	ck_assert_int_eq(admin(wm_coord_admin_authkey, "create", "--tag", "web", NULL), 0);
	s = open_db();
	ck_assert_int_eq(wm_store_authkey_list(s, last_tag, tag), 0);
	wm_store_close(s);
	ck_assert_str_eq(tag, "web");
	ck_assert_int_eq(admin(wm_coord_admin_authkey, "create", "--tags", "a,b,c,d", NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(admin(wm_coord_admin_authkey, "create", "--tags", bad[i], NULL) == 2,
			      "accepted --tags '%s'", bad[i]);
	memset(long_tag, 'x', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';	/* 65 characters */
	ck_assert_int_eq(admin(wm_coord_admin_authkey, "create", "--tags", long_tag, NULL), 2);
	long_tag[WM_STORE_TAG_MAX] = '\0';
	ck_assert_int_eq(admin(wm_coord_admin_authkey, "create", "--tags", long_tag, NULL), 0);
}
END_TEST

/* Registers a node named host with a fresh auth key; its id. */
static int64_t join(const char *host, int n)
{
	struct wm_store_authkey_opts o = { .reusable = true };
	struct wm_coord_register_req r = { 0 };
	struct wm_store_refusal why;
	struct wm_store_node node;
	uint8_t key[WM_KEY_LEN] = { (uint8_t)n, [31] = 0x40 };
	struct wm_store *s = open_db();

	ck_assert_int_eq(wm_store_authkey_create(s, &o, wm_coord_api_now(), r.auth_key, NULL), 0);
	snprintf(r.hostname, sizeof(r.hostname), "%s", host);
	strcpy(r.os, "linux");
	strcpy(r.version, "1");
	ck_assert_int_eq(wm_store_node_register(s, key, &r, wm_coord_api_now(), &node, &why), 0);
	wm_store_close(s);
	return node.id;
}

START_TEST(nodes_delete_and_expire)
{
	struct wm_store_node node;
	struct wm_store *s;

	join("alpha", 1);
	join("beta", 2);
	ck_assert_int_eq(admin(wm_coord_admin_nodes, "delete", "alpha", NULL), 0);
	ck_assert_int_eq(admin(wm_coord_admin_nodes, "delete", "alpha", NULL), 1);	/* gone */
	ck_assert_int_eq(admin(wm_coord_admin_nodes, "delete", NULL), 2);	/* NODE missing */
	ck_assert_int_eq(admin(wm_coord_admin_nodes, "expire", "beta", NULL), 0);
	s = open_db();
	ck_assert_int_eq(wm_store_node_find(s, "alpha", &node), -ENOENT);
	ck_assert_int_eq(wm_store_node_find(s, "beta", &node), 0);
	ck_assert_int_le(node.key_expiry, wm_coord_api_now());
	ck_assert_int_gt(node.key_expiry, 0);
	wm_store_close(s);
}
END_TEST

START_TEST(clock_offset_moves_expiry_only)
{
	struct wm_store_node node;
	struct wm_store *s;
	int64_t now;

	ck_assert_int_eq(setenv(WM_COORD_TEST_TIME_OFFSET_ENV, "-15292800", 1), 0);
	now = wm_coord_api_now();
	ck_assert_int_le(llabs(now + 15292800 - (int64_t)time(NULL)), 1);
	ck_assert_int_le(llabs(wm_coord_api_real_now() - (int64_t)time(NULL)), 1);
	/* A node joining now gets 180 days from the moved clock: 3 days from the real one. */
	join("gamma", 3);
	s = open_db();
	ck_assert_int_eq(wm_store_node_find(s, "gamma", &node), 0);
	wm_store_close(s);
	ck_assert_int_le(llabs(node.key_expiry - ((int64_t)time(NULL) + 3 * 86400)), 2);
}
END_TEST

START_TEST(clock_offset_refuses_garbage)
{
	static const char *const bad[] = { "12x", "1e6", "99999999999", "-99999999999", "5 " };

	/* One value per iteration: Check forks each, and the server reads the variable once. */
	ck_assert_int_eq(setenv(WM_COORD_TEST_TIME_OFFSET_ENV, bad[_i], 1), 0);
	ck_assert_int_le(llabs(wm_coord_api_now() - (int64_t)time(NULL)), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("coord_admin");
	TCase *tc = tcase_create("admin");
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, authkey_tags);
	tcase_add_test(tc, nodes_delete_and_expire);
	tcase_add_test(tc, clock_offset_moves_expiry_only);
	tcase_add_loop_test(tc, clock_offset_refuses_garbage, 0, 5);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
