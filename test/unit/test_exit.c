/* SPDX-License-Identifier: MIT */
/*
 * daemon/exit: which peer --exit-node names (its name, its first label, either mesh address),
 * the state chosen from a netmap (no such node, not offered, expired, active), and the status
 * JSON. The policy routing itself is tested by test_netlink (rules, the table) and
 * test/e2e/exit.sh (the whole host).
 */
#include "daemon/exit.h"

#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <sys/socket.h>

static struct wm_netmap_peer peers[3];
static struct wm_netmap nm = { .peers = peers, .n_peers = 3 };

/* Three peers: x (id 1) offers both default routes, y (id 2) only subnet routes, z.example
 * (id 3) offers 0.0.0.0/0 alone. */
static void setup(void)
{
	static const char *const names[3] = { "x", "y", "z.mesh.example" };

	memset(peers, 0, sizeof(peers));
	for (int i = 0; i < 3; i++) {
		char v6[64];

		peers[i].id = (uint64_t)i + 1;
		snprintf(peers[i].name, sizeof(peers[i].name), "%s", names[i]);
		peers[i].ipv4.s_addr = htonl(0x64400001u + (uint32_t)i);
		snprintf(v6, sizeof(v6), "fd77:6d65:7368::6440:%d", i + 1);
		ck_assert_int_eq(inet_pton(AF_INET6, v6, &peers[i].ipv6), 1);
	}
	ck_assert(wm_netmap_prefix_parse(&peers[0].routes[0], "0.0.0.0/0"));
	ck_assert(wm_netmap_prefix_parse(&peers[0].routes[1], "::/0"));
	peers[0].n_routes = 2;
	ck_assert(wm_netmap_prefix_parse(&peers[1].routes[0], "192.168.50.0/24"));
	peers[1].n_routes = 1;
	ck_assert(wm_netmap_prefix_parse(&peers[2].routes[0], "0.0.0.0/0"));
	peers[2].n_routes = 1;
}

static struct wm_exit wanting(const char *want)
{
	struct wm_exit e;

	memset(&e, 0, sizeof(e));
	snprintf(e.want, sizeof(e.want), "%s", want);
	return e;
}

static uint64_t found(const char *want)
{
	struct wm_exit e = wanting(want);
	const struct wm_netmap_peer *p = wm_exit_find(&e, &nm);

	return p ? p->id : 0;
}

START_TEST(the_exit_node_is_named_by_name_or_address)
{
	ck_assert_uint_eq(found("x"), 1);
	ck_assert_uint_eq(found("y"), 2);
	ck_assert_uint_eq(found("z.mesh.example"), 3);
	ck_assert_uint_eq(found("z"), 3);		/* its first label */
	ck_assert_uint_eq(found("z.mesh"), 3);
	ck_assert_uint_eq(found("z.mesh.exampl"), 0);	/* a label cut short is no match */
	ck_assert_uint_eq(found("100.64.0.2"), 2);
	ck_assert_uint_eq(found("fd77:6d65:7368::6440:3"), 3);
	ck_assert_uint_eq(found("100.64.0.9"), 0);
	ck_assert_uint_eq(found("w"), 0);
	ck_assert_uint_eq(found("X"), 0);		/* names are as the server wrote them */
}
END_TEST

START_TEST(the_state_follows_the_netmap)
{
	struct wm_exit e = wanting("x");
	bool v4, v6;

	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 1);
	ck_assert_int_eq(e.state, WM_EXIT_ACTIVE);
	ck_assert_str_eq(e.peer_name, "x");
	ck_assert(e.offered[0] && e.offered[1]);

	e = wanting("y");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 0);
	ck_assert_int_eq(e.state, WM_EXIT_NOT_OFFERED);
	ck_assert_str_eq(wm_exit_state_name(e.state), "waiting: not offered");
	ck_assert_str_eq(e.peer_name, "y");

	e = wanting("z");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 3);
	v4 = e.offered[0];
	v6 = e.offered[1];
	ck_assert(v4 && !v6);			/* only the family it offers */

	e = wanting("nobody");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 0);
	ck_assert_int_eq(e.state, WM_EXIT_NO_SUCH_PEER);
	ck_assert_str_eq(e.peer_name, "");

	/* x's key expired: it is not configured, so not used. */
	peers[0].expired = true;
	e = wanting("x");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 0);
	ck_assert_int_eq(e.state, WM_EXIT_NO_SUCH_PEER);
	peers[0].expired = false;

	/* Offline, x stays in use (dropping it would send the traffic out in the clear). */
	peers[0].online = false;
	e = wanting("x");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 1);
	ck_assert_int_eq(e.state, WM_EXIT_ACTIVE);
	ck_assert(!e.peer_online);

	/* x stops offering (unapproved, withdrawn): back to waiting, no peer in use. */
	e = wanting("x");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 1);
	peers[0].n_routes = 0;
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 0);
	ck_assert_int_eq(e.state, WM_EXIT_NOT_OFFERED);
	ck_assert_uint_eq(e.peer, 0);
	ck_assert(!e.offered[0] && !e.offered[1]);

	/* No --exit-node: nothing chosen, ever. */
	e = wanting("");
	ck_assert_uint_eq(wm_exit_choose(&e, &nm), 0);
	ck_assert_int_eq(e.state, WM_EXIT_OFF);
}
END_TEST

START_TEST(offers_means_a_default_route)
{
	ck_assert(wm_exit_offers(&peers[0]));
	ck_assert(!wm_exit_offers(&peers[1]));
	ck_assert(wm_exit_offers(&peers[2]));
}
END_TEST

START_TEST(status_json)
{
	struct wm_exit e = wanting("x");
	json_t *o;

	ck_assert_ptr_null(wm_exit_json(&(struct wm_exit){ .state = WM_EXIT_OFF }));
	e.allow_lan = true;
	peers[0].online = true;
	wm_exit_choose(&e, &nm);
	o = wm_exit_json(&e);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_is_true(json_object_get(o, "peer_online")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "want")), "x");
	ck_assert_str_eq(json_string_value(json_object_get(o, "peer")), "x");
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "active");
	ck_assert(json_is_true(json_object_get(o, "allow_lan_access")));
	ck_assert_ptr_null(json_object_get(o, "why"));
	json_decref(o);

	e.state = WM_EXIT_FAILED;
	snprintf(e.why, sizeof(e.why), "cannot add the rule: Operation not permitted");
	o = wm_exit_json(&e);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(o, "why")), e.why);
	json_decref(o);
}
END_TEST

static Suite *exit_suite(void)
{
	Suite *s = suite_create("exit");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, the_exit_node_is_named_by_name_or_address);
	tcase_add_test(tc, the_state_follows_the_netmap);
	tcase_add_test(tc, offers_means_a_default_route);
	tcase_add_test(tc, status_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(exit_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
