/* SPDX-License-Identifier: MIT */
/*
 * Prefixes in coord-client/netmap.c: parsing (strict: host bits, lengths, junk), formatting,
 * ordering, which prefixes may be subnet routes, and the diff noticing a peer's routes change.
 */
#include "coord-client/netmap.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wm_netmap_prefix P(const char *text)
{
	struct wm_netmap_prefix p;

	ck_assert_msg(wm_netmap_prefix_parse(&p, text), "'%s' should parse", text);
	return p;
}

/* Text that parses, and the text it formats back to. */
static const struct {
	const char *in, *out;
} good[] = {
	{ "192.168.50.0/24", "192.168.50.0/24" },
	{ "10.0.0.0/8", "10.0.0.0/8" },
	{ "0.0.0.0/0", "0.0.0.0/0" },
	{ "192.0.2.7/32", "192.0.2.7/32" },
	{ "172.16.0.0/12", "172.16.0.0/12" },
	{ "2001:db8::/32", "2001:db8::/32" },
	{ "2001:DB8:0:0::/64", "2001:db8::/64" },	/* canonical: lowercase, :: */
	{ "2001:db8:0:1:0:0:0:0/64", "2001:db8:0:1::/64" },
	{ "::/0", "::/0" },
	{ "2001:db8::1/128", "2001:db8::1/128" },
	{ "::ffff:192.0.2.0/120", "::ffff:192.0.2.0/120" },
};

START_TEST(parse_and_format)
{
	struct wm_netmap_prefix p = P(good[_i].in), q;
	char text[WM_NETMAP_PREFIX_TEXT_MAX];

	wm_netmap_prefix_format(&p, text, sizeof(text));
	ck_assert_str_eq(text, good[_i].out);
	/* What it writes parses to the same prefix. */
	q = P(text);
	ck_assert_int_eq(wm_netmap_prefix_cmp(&p, &q), 0);
	ck_assert_mem_eq(&p, &q, sizeof(p));
}
END_TEST

static const char *const bad[] = {
	"192.168.50.1/24",		/* host bits */
	"192.168.51.0/23",		/* .51 has the /23's last bit set */
	"2001:db8::1/64",
	"10.0.0.0/33",			/* too long */
	"2001:db8::/129",
	"10.0.0.0/024",			/* leading zero */
	"10.0.0.0/8 ",
	" 10.0.0.0/8",
	"10.0.0.0/+8",
	"10.0.0.0/-8",
	"10.0.0.0/",
	"10.0.0.0",
	"/8",
	"10.0.0.0/8/8",
	"10.0.0/8",
	"10.0.0.256/32",
	"010.0.0.0/8",
	"fe80::%eth0/64",
	"[2001:db8::]/32",
	"2001:db8::/0x20",
	"2001:db8::/1000",
	"example.com/24",
	"",
};

START_TEST(parse_refuses)
{
	struct wm_netmap_prefix p;

	ck_assert_msg(!wm_netmap_prefix_parse(&p, bad[_i]), "'%s' should not parse", bad[_i]);
}
END_TEST

START_TEST(order)
{
	struct wm_netmap_prefix a = P("10.0.0.0/8"), b = P("10.0.0.0/16"), c = P("192.168.0.0/16"),
				d = P("2001:db8::/32");

	ck_assert_int_lt(wm_netmap_prefix_cmp(&a, &b), 0);	/* same address: shorter first */
	ck_assert_int_lt(wm_netmap_prefix_cmp(&b, &c), 0);	/* numeric, not text: 10 < 192 */
	ck_assert_int_lt(wm_netmap_prefix_cmp(&c, &d), 0);	/* IPv4 first */
	ck_assert_int_gt(wm_netmap_prefix_cmp(&d, &a), 0);
	ck_assert_int_eq(wm_netmap_prefix_cmp(&d, &d), 0);
}
END_TEST

/* Subnet routes: allowed ones, and refused ones with a word of the reason. */
static const struct {
	const char *prefix, *why;	/* why NULL: allowed */
} routes[] = {
	{ "192.168.50.0/24", NULL },
	{ "10.0.0.0/8", NULL },
	{ "100.63.255.0/24", NULL },		/* just below the mesh's range */
	{ "100.128.0.0/9", NULL },		/* just above it */
	{ "169.253.0.0/16", NULL },
	{ "2001:db8:1::/48", NULL },
	{ "fd77:6d65:7369::/48", NULL },	/* the next ULA /48 */
	{ "fc00::/8", NULL },
	{ "::2/128", NULL },
	{ "0.0.0.0/0", NULL },			/* an exit node (docs/exit-nodes.md) */
	{ "::/0", NULL },
	{ "0.0.0.0/1", "mesh's own addresses" },	/* only the default itself is exempt */
	{ "::/1", "loopback" },
	{ "100.64.0.0/10", "mesh's own addresses" },
	{ "100.64.5.0/24", "mesh's own addresses" },		/* inside it */
	{ "100.0.0.0/8", "mesh's own addresses" },		/* contains it */
	{ "64.0.0.0/2", "mesh's own addresses" },
	{ "fd77:6d65:7368::/48", "mesh's own IPv6 prefix" },
	{ "fd77:6d65:7368:1::/64", "mesh's own IPv6 prefix" },
	{ "fd00::/8", "mesh's own IPv6 prefix" },
	{ "127.0.0.0/8", "loopback" },
	{ "127.0.0.1/32", "loopback" },
	{ "::1/128", "loopback" },
	{ "::/127", "loopback" },
	{ "169.254.0.0/16", "link-local" },
	{ "169.254.169.254/32", "link-local" },
	{ "fe80::/10", "link-local" },
	{ "fe80::/64", "link-local" },
	{ "224.0.0.0/4", "multicast" },
	{ "239.1.2.0/24", "multicast" },
	{ "192.0.0.0/2", "multicast" },				/* 192-255 holds 224/4 */
	{ "ff02::/16", "multicast" },
	{ "128.0.0.0/1", "link-local" },			/* the first reason found */
};

START_TEST(route_check)
{
	struct wm_netmap_prefix p = P(routes[_i].prefix);
	char why[160] = "";
	int ret = wm_netmap_route_check(&p, why, sizeof(why));

	if (!routes[_i].why) {
		ck_assert_msg(ret == 0, "%s refused: %s", routes[_i].prefix, why);
		return;
	}
	ck_assert_int_eq(ret, -EINVAL);
	ck_assert_msg(strstr(why, routes[_i].why), "%s: '%s', want '%s'", routes[_i].prefix, why,
		      routes[_i].why);
}
END_TEST

START_TEST(route_check_structs)
{
	struct wm_netmap_prefix p = P("192.168.50.0/24");
	char why[160];

	/* What a caller builds by hand is checked as strictly as text. */
	p.addr[3] = 1;
	ck_assert_int_eq(wm_netmap_route_check(&p, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "bits set past its length"));
	p.addr[3] = 0;
	p.cidr = 33;
	ck_assert_int_eq(wm_netmap_route_check(&p, why, sizeof(why)), -EINVAL);
	p.cidr = 24;
	p.family = 0;
	ck_assert_int_eq(wm_netmap_route_check(&p, NULL, 0), -EINVAL);
	p.family = AF_INET;
	ck_assert_int_eq(wm_netmap_route_check(&p, NULL, 0), 0);
}
END_TEST

static void make_peer(struct wm_netmap_peer *p, uint64_t id)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	strcpy(p->name, "peer");
	memset(p->node_key, (int)id, WM_KEY_LEN);
	p->ipv4.s_addr = htonl(0x64400000u + (uint32_t)id);
}

START_TEST(diff_sees_routes)
{
	struct wm_netmap a = { 0 }, b = { 0 };
	struct wm_netmap_diff d;

	a.peers = calloc(1, sizeof(*a.peers));
	b.peers = calloc(1, sizeof(*b.peers));
	a.n_peers = b.n_peers = 1;
	make_peer(&a.peers[0], 4);
	make_peer(&b.peers[0], 4);
	a.peers[0].routes[0] = P("192.168.50.0/24");
	a.peers[0].routes[1] = P("2001:db8:1::/48");
	a.peers[0].routes[2] = P("10.0.0.0/8");
	a.peers[0].n_routes = 3;
	/* The same set in another order: no change. */
	b.peers[0].routes[0] = P("2001:db8:1::/48");
	b.peers[0].routes[1] = P("10.0.0.0/8");
	b.peers[0].routes[2] = P("192.168.50.0/24");
	b.peers[0].n_routes = 3;
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
	ck_assert_uint_eq(d.n_changed, 0);
	wm_netmap_diff_free(&d);
	/* One moved to another router (gone here), or replaced: changed, and only that. */
	b.peers[0].n_routes = 2;
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
	ck_assert_uint_eq(d.n_changed, 1);
	ck_assert_uint_eq(d.changed[0].what, WM_NETMAP_CHANGED_ROUTES);
	wm_netmap_diff_free(&d);
	b.peers[0].routes[2] = P("192.168.51.0/24");
	b.peers[0].n_routes = 3;
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
	ck_assert_uint_eq(d.n_changed, 1);
	ck_assert_uint_eq(d.changed[0].what, WM_NETMAP_CHANGED_ROUTES);
	wm_netmap_diff_free(&d);
	wm_netmap_free(&a);
	wm_netmap_free(&b);
}
END_TEST

START_TEST(copy_keeps_routes)
{
	struct wm_netmap a = { 0 }, b;

	a.self.approved_routes[0] = P("10.1.0.0/16");
	a.self.n_approved_routes = 1;
	a.peers = calloc(1, sizeof(*a.peers));
	a.n_peers = 1;
	make_peer(&a.peers[0], 2);
	a.peers[0].routes[0] = P("10.2.0.0/16");
	a.peers[0].n_routes = 1;
	ck_assert_int_eq(wm_netmap_copy(&b, &a), 0);
	ck_assert_uint_eq(b.self.n_approved_routes, 1);
	ck_assert_mem_eq(&b.self.approved_routes[0], &a.self.approved_routes[0],
			 sizeof(a.self.approved_routes[0]));
	ck_assert_ptr_ne(b.peers, a.peers);
	ck_assert_uint_eq(b.peers[0].n_routes, 1);
	ck_assert_mem_eq(&b.peers[0].routes[0], &a.peers[0].routes[0], sizeof(a.peers[0].routes[0]));
	wm_netmap_free(&a);
	wm_netmap_free(&b);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("coord_prefix");
	TCase *tc = tcase_create("prefix");
	SRunner *sr;
	int failures;

	tcase_add_loop_test(tc, parse_and_format, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, parse_refuses, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, order);
	tcase_add_loop_test(tc, route_check, 0, sizeof(routes) / sizeof(routes[0]));
	tcase_add_test(tc, route_check_structs);
	tcase_add_test(tc, diff_sees_routes);
	tcase_add_test(tc, copy_keeps_routes);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
