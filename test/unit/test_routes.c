/* SPDX-License-Identifier: MIT */
/*
 * daemon/routes: --advertise-routes lists (good ones, and each way one is refused, with the
 * entry named), the prefixes a peer is configured with with and without --accept-routes and
 * as the exit node in use, an exit node's advertised default routes, and the forwarding
 * warning.
 */
#include "daemon/routes.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool refused_saying(const char *list, const char *words)
{
	struct wm_netmap_prefix v[WM_NETMAP_MAX_ROUTES];
	char err[512] = "";
	size_t n = 99;

	if (wm_routes_parse_list(list, v, &n, err, sizeof(err)) == 0)
		return false;
	ck_assert_msg(strstr(err, words), "'%s': '%s' does not say '%s'", list, err, words);
	return true;
}

START_TEST(lists_of_prefixes_parse)
{
	struct wm_netmap_prefix v[WM_NETMAP_MAX_ROUTES];
	char err[256], text[WM_NETMAP_PREFIX_TEXT_MAX];
	size_t n;

	ck_assert_int_eq(wm_routes_parse_list("192.168.50.0/24,10.20.0.0/16,2001:db8:50::/48", v,
					      &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].family, AF_INET);
	ck_assert_uint_eq(v[1].cidr, 16);
	ck_assert_int_eq(v[2].family, AF_INET6);
	wm_netmap_prefix_format(&v[2], text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:50::/48");
	ck_assert_int_eq(wm_routes_parse_list("10.1.2.3/32", v, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(bad_lists_are_refused_naming_the_entry)
{
	char many[1024] = "";

	ck_assert(refused_saying("", "no routes"));
	ck_assert(refused_saying("192.168.50.0/24,", "trailing comma"));
	ck_assert(refused_saying(",192.168.50.0/24", "empty"));
	ck_assert(refused_saying("192.168.50.0/24,,10.0.0.0/8", "empty"));
	ck_assert(refused_saying("192.168.50.1/24", "'192.168.50.1/24' is not a prefix"));
	ck_assert(refused_saying("192.168.50.0", "not a prefix"));
	ck_assert(refused_saying("lan", "'lan'"));
	ck_assert(refused_saying("10.0.0.0/8,10.0.0.0/8", "twice"));
	ck_assert(refused_saying("0.0.0.0/0", "exit node"));
	ck_assert(refused_saying("10.0.0.0/8,::/0", "'::/0' is a default route"));
	ck_assert(refused_saying("0.0.0.0/0", "use --advertise-exit-node"));
	ck_assert(refused_saying("0.0.0.0/1", "overlaps"));	/* not a default: a subnet */
	ck_assert(refused_saying("100.64.0.0/24", "'100.64.0.0/24'"));
	ck_assert(refused_saying("fd77:6d65:7368::/64", "fd77"));
	for (int i = 0; i <= WM_NETMAP_MAX_ROUTES; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.%d.0.0/16",
			 i ? "," : "", i);
	ck_assert(refused_saying(many, "at most"));
}
END_TEST

START_TEST(accepted_routes_join_a_peers_prefixes)
{
	struct wm_routes_options opt = { 0 };
	struct wm_netmap_prefix out[WM_ROUTES_PEER_PREFIXES_MAX];
	struct wm_netmap_peer p;
	struct wm_routes r;
	char err[256];

	memset(&p, 0, sizeof(p));
	ck_assert(wm_netmap_prefix_parse(&p.allowed_ips[0], "100.64.0.2/32"));
	ck_assert(wm_netmap_prefix_parse(&p.allowed_ips[1], "fd77:6d65:7368::6440:2/128"));
	p.n_allowed_ips = 2;
	ck_assert(wm_netmap_prefix_parse(&p.routes[0], "192.168.50.0/24"));
	p.n_routes = 1;

	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), 0);
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 2);
	opt.accept = true;
	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), 0);
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 3);
	ck_assert_uint_eq(out[2].cidr, 24);
	/* Not a router: no NAT, nothing to warn about, whatever the host's sysctls. */
	ck_assert(!r.snat);
	wm_routes_warning(&r, err, sizeof(err));
	ck_assert_str_eq(err, "");
	wm_routes_stop(&r);
}
END_TEST

/* A peer's default routes join its prefixes only while it is the exit node in use; its subnet
 * routes only with --accept-routes, as before. */
START_TEST(default_routes_only_from_the_exit_node_in_use)
{
	struct wm_routes_options opt = { 0 };
	struct wm_netmap_prefix out[WM_ROUTES_PEER_PREFIXES_MAX];
	struct wm_netmap_peer p;
	struct wm_routes r;
	char err[256], text[WM_NETMAP_PREFIX_TEXT_MAX];

	memset(&p, 0, sizeof(p));
	p.id = 7;
	ck_assert(wm_netmap_prefix_parse(&p.allowed_ips[0], "100.64.0.7/32"));
	p.n_allowed_ips = 1;
	ck_assert(wm_netmap_prefix_parse(&p.routes[0], "192.168.50.0/24"));
	ck_assert(wm_netmap_prefix_parse(&p.routes[1], "0.0.0.0/0"));
	ck_assert(wm_netmap_prefix_parse(&p.routes[2], "::/0"));
	p.n_routes = 3;
	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), 0);
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 1);
	r.exit_peer = 8;	/* another node is the exit node */
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 1);
	r.exit_peer = 7;
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 3);
	wm_netmap_prefix_format(&out[1], text, sizeof(text));
	ck_assert_str_eq(text, "0.0.0.0/0");
	wm_netmap_prefix_format(&out[2], text, sizeof(text));
	ck_assert_str_eq(text, "::/0");
	r.accept = true;
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 4);
	r.exit_peer = 0;	/* accepting subnet routes takes no default route */
	ck_assert_uint_eq(wm_routes_peer_prefixes(&r, &p, out), 2);
	ck_assert_uint_eq(out[1].cidr, 24);
	wm_routes_stop(&r);
}
END_TEST

/* --advertise-exit-node: both default routes advertised, shown as an exit node in status. */
START_TEST(an_exit_node_advertises_both_default_routes)
{
	struct wm_netmap_prefix subnets[WM_NETMAP_MAX_ROUTES];
	struct wm_routes_options opt = { .advertise_exit = true, .no_snat = true };
	struct wm_netmap_self self;
	struct wm_routes r;
	char err[256], text[WM_NETMAP_PREFIX_TEXT_MAX];
	json_t *o;

	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.n_advertise, 2);
	wm_netmap_prefix_format(&r.advertise[0], text, sizeof(text));
	ck_assert_str_eq(text, "0.0.0.0/0");
	wm_netmap_prefix_format(&r.advertise[1], text, sizeof(text));
	ck_assert_str_eq(text, "::/0");
	ck_assert(wm_routes_is_exit_node(&r));
	memset(&self, 0, sizeof(self));
	o = wm_routes_json(&r, &self);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "advertised")), 0);
	ck_assert(json_is_false(json_object_get(json_object_get(o, "exit_node"), "approved")));
	json_decref(o);
	self.approved_routes[0] = r.advertise[1];
	self.n_approved_routes = 1;
	o = wm_routes_json(&r, &self);
	ck_assert(json_is_true(json_object_get(json_object_get(o, "exit_node"), "approved")));
	json_decref(o);
	wm_routes_stop(&r);

	/* With subnet routes: at most 14 of them, the two defaults taking the rest. */
	for (int i = 0; i < WM_NETMAP_MAX_ROUTES; i++) {
		snprintf(text, sizeof(text), "10.%d.0.0/16", i);
		ck_assert(wm_netmap_prefix_parse(&subnets[i], text));
	}
	opt.advertise = subnets;
	opt.n_advertise = WM_NETMAP_MAX_ROUTES - 2;
	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.n_advertise, WM_NETMAP_MAX_ROUTES);
	wm_routes_stop(&r);
	opt.n_advertise = WM_NETMAP_MAX_ROUTES - 1;
	ck_assert_int_eq(wm_routes_start(&r, "wmt0", &opt, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "at most 14 advertised routes with --advertise-exit-node"), "%s",
		      err);
}
END_TEST

START_TEST(the_forwarding_warning_says_what_to_run)
{
	struct wm_routes r;
	char out[256];

	memset(&r, 0, sizeof(r));
	r.forwarding_v4 = false;
	r.forwarding_v6 = true;
	wm_routes_warning(&r, out, sizeof(out));
	ck_assert(strstr(out, "IP forwarding is off"));
	ck_assert(strstr(out, "net.ipv4.ip_forward=1"));
	ck_assert(!strstr(out, "ipv6"));
	r.forwarding_v6 = false;
	wm_routes_warning(&r, out, sizeof(out));
	ck_assert(strstr(out, "net.ipv4.ip_forward=1; sysctl -w net.ipv6.conf.all.forwarding=1"));
}
END_TEST

static Suite *routes_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, lists_of_prefixes_parse);
	tcase_add_test(tc, bad_lists_are_refused_naming_the_entry);
	tcase_add_test(tc, accepted_routes_join_a_peers_prefixes);
	tcase_add_test(tc, default_routes_only_from_the_exit_node_in_use);
	tcase_add_test(tc, an_exit_node_advertises_both_default_routes);
	tcase_add_test(tc, the_forwarding_warning_says_what_to_run);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(routes_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
