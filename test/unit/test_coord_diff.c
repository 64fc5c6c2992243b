/* SPDX-License-Identifier: MIT */
/* The netmap diff, against a naive oracle on random netmaps (fixed seed), plus edge cases. */
#include "coord-client/netmap.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void make_peer(struct wm_netmap_peer *p, uint64_t id)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	strcpy(p->name, "peer");
	memset(p->node_key, (int)id, WM_KEY_LEN);
	memset(p->disco_key, (int)id + 1, WM_KEY_LEN);
	p->ipv4.s_addr = htonl(0x64400000u + (uint32_t)id);
	p->allowed_ips[0].family = AF_INET;
	memcpy(p->allowed_ips[0].addr, &p->ipv4, 4);
	p->allowed_ips[0].cidr = 32;
	p->n_allowed_ips = 1;
}

static void make_map(struct wm_netmap *nm, size_t n)
{
	memset(nm, 0, sizeof(*nm));
	nm->peers = calloc(n + 1, sizeof(*nm->peers));
	nm->n_peers = n;
}

START_TEST(first_netmap_and_empty)
{
	struct wm_netmap a;
	struct wm_netmap_diff d;

	make_map(&a, 2);
	make_peer(&a.peers[0], 5);
	make_peer(&a.peers[1], 3);
	ck_assert_int_eq(wm_netmap_diff(&d, NULL, &a), 0);
	ck_assert_uint_eq(d.n_added, 2);
	ck_assert_uint_eq(d.added[0]->id, 3);	/* by id */
	ck_assert_uint_eq(d.n_removed + d.n_changed, 0);
	wm_netmap_diff_free(&d);
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &a), 0);
	ck_assert_uint_eq(d.n_added + d.n_removed + d.n_changed, 0);
	wm_netmap_diff_free(&d);
	wm_netmap_free(&a);
}
END_TEST

START_TEST(each_kind_of_change)
{
	struct wm_netmap a, b;
	struct wm_netmap_diff d;

	make_map(&a, 3);
	make_peer(&a.peers[0], 1);
	make_peer(&a.peers[1], 2);
	make_peer(&a.peers[2], 3);
	ck_assert_int_eq(wm_netmap_copy(&b, &a), 0);
	b.peers[0].node_key[0] ^= 1;				/* rotated */
	wm_endpoint_parse(&b.peers[1].endpoints[0], "192.0.2.9:1");	/* moved */
	b.peers[1].n_endpoints = 1;
	b.peers[1].home_relay = 4;
	b.peers[2].expired = true;				/* expired: gone */
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
	ck_assert_uint_eq(d.n_changed, 2);
	ck_assert_uint_eq(d.changed[0].what, WM_NETMAP_CHANGED_NODE_KEY);
	ck_assert_ptr_eq(d.changed[0].old_peer, &a.peers[0]);
	ck_assert_ptr_eq(d.changed[0].new_peer, &b.peers[0]);
	ck_assert_uint_eq(d.changed[1].what, WM_NETMAP_CHANGED_ENDPOINTS | WM_NETMAP_CHANGED_HOME_RELAY);
	ck_assert_uint_eq(d.n_removed, 1);
	ck_assert_uint_eq(d.removed[0]->id, 3);
	ck_assert_uint_eq(d.n_added, 0);
	wm_netmap_diff_free(&d);
	b.peers[1].allowed_ips[0].cidr = 31;
	b.peers[1].online = true;
	ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
	ck_assert_uint_eq(d.changed[1].what, WM_NETMAP_CHANGED_ENDPOINTS | WM_NETMAP_CHANGED_HOME_RELAY |
				 WM_NETMAP_CHANGED_ALLOWED_IPS | WM_NETMAP_CHANGED_ONLINE);
	wm_netmap_diff_free(&d);
	wm_netmap_free(&a);
	wm_netmap_free(&b);
}
END_TEST

/* The oracle: quadratic, obvious. */
static const struct wm_netmap_peer *find_live(const struct wm_netmap *nm, uint64_t id)
{
	for (size_t i = 0; i < nm->n_peers; i++)
		if (nm->peers[i].id == id && !nm->peers[i].expired)
			return &nm->peers[i];
	return NULL;
}

START_TEST(random_against_oracle)
{
	rng = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 300; round++) {
		struct wm_netmap a, b;
		struct wm_netmap_diff d;
		size_t na = next_random() % 40, nb = next_random() % 40, added = 0, removed = 0,
		       changed = 0;

		make_map(&a, na);
		make_map(&b, nb);
		for (size_t i = 0; i < na; i++) {
			make_peer(&a.peers[i], i * 2 + 1);
			a.peers[i].expired = next_random() % 8 == 0;
		}
		for (size_t i = 0; i < nb; i++) {
			/* ids overlap with a's half the time */
			make_peer(&b.peers[i], next_random() % 2 ? i * 2 + 1 : 1000 + i);
			b.peers[i].home_relay = (int)(next_random() % 3 == 0);
			b.peers[i].expired = next_random() % 8 == 0;
		}
		ck_assert_int_eq(wm_netmap_diff(&d, &a, &b), 0);
		for (size_t i = 0; i < nb; i++) {
			const struct wm_netmap_peer *o = find_live(&a, b.peers[i].id);

			if (b.peers[i].expired)
				continue;
			if (!o)
				added++;
			else if (o->home_relay != b.peers[i].home_relay)
				changed++;
		}
		for (size_t i = 0; i < na; i++)
			removed += !a.peers[i].expired && !find_live(&b, a.peers[i].id);
		ck_assert_uint_eq(d.n_added, added);
		ck_assert_uint_eq(d.n_removed, removed);
		ck_assert_uint_eq(d.n_changed, changed);
		for (size_t i = 1; i < d.n_added; i++)
			ck_assert_uint_lt(d.added[i - 1]->id, d.added[i]->id);
		wm_netmap_diff_free(&d);
		wm_netmap_free(&a);
		wm_netmap_free(&b);
	}
}
END_TEST

START_TEST(copy_is_deep)
{
	struct wm_netmap a, b;

	make_map(&a, 1);
	make_peer(&a.peers[0], 1);
	a.packet_filter = strdup("[]");
	a.relays.regions = calloc(1, sizeof(*a.relays.regions));
	a.relays.n_regions = 1;
	ck_assert_int_eq(wm_netmap_copy(&b, &a), 0);
	ck_assert_ptr_ne(a.peers, b.peers);
	ck_assert_ptr_ne(a.packet_filter, b.packet_filter);
	ck_assert_ptr_ne(a.relays.regions, b.relays.regions);
	ck_assert_ptr_eq(wm_netmap_find_peer(&b, 1), &b.peers[0]);
	ck_assert_ptr_null(wm_netmap_find_peer(&b, 2));
	wm_netmap_free(&a);
	wm_netmap_free(&b);
	ck_assert_ptr_null(b.peers);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coord_diff");
	TCase *tc = tcase_create("diff");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, first_netmap_and_empty);
	tcase_add_test(tc, each_kind_of_change);
	tcase_add_test(tc, random_against_oracle);
	tcase_add_test(tc, copy_is_deep);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
