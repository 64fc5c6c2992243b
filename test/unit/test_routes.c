/* SPDX-License-Identifier: MIT */
/*
 * daemon/routes: --advertise-routes lists (good ones, and each way one is refused, with the
 * entry named), the prefixes a peer is configured with with and without --accept-routes, and
 * the forwarding warning.
 */
#include "daemon/routes.h"

#include <check.h>
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
