/* SPDX-License-Identifier: MIT */
/* wiremesh-coord's pure parts: the address allocator, the replay cache, the rate limiter. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "coord-server/ratelimit.h"
#include "coord-server/replay.h"
#include "coord-server/store.h"

static uint32_t ip(const char *text)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, text, &a), 1);
	return ntohl(a.s_addr);
}

START_TEST(alloc_skips_and_ends)
{
	ck_assert_uint_eq(wm_store_alloc_next(0), ip("100.64.0.1"));
	ck_assert_uint_eq(wm_store_alloc_next(WM_STORE_IPV4_FIRST), ip("100.64.0.1"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.64.0.254")), ip("100.64.0.254"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.64.0.255")), ip("100.64.1.1"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.64.1.0")), ip("100.64.1.1"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.100.100.100")), ip("100.100.100.101"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.127.255.254")), ip("100.127.255.254"));
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.127.255.255")), 0);
	ck_assert_uint_eq(wm_store_alloc_next(ip("100.128.0.1")), 0);
}
END_TEST

/* Walking the whole space hands out each address once, all inside 100.64.0.0/10. */
START_TEST(alloc_walk)
{
	uint32_t cursor = WM_STORE_IPV4_FIRST, a, prev = 0, count = 0;
	bool ordered = true, inside = true, no_edges = true;

	/* Plain checks in the loop: four million ck_asserts would take minutes. */
	while ((a = wm_store_alloc_next(cursor))) {
		ordered &= a > prev;
		inside &= a >> 22 == 0x64400000u >> 22;
		no_edges &= (a & 0xff) != 0 && (a & 0xff) != 255;
		prev = a;
		cursor = a + 1;
		count++;
	}
	ck_assert(ordered && inside && no_edges);
	/* 2^22 addresses, minus .0 and .255 of each /24, minus 100.100.100.100. */
	ck_assert_uint_eq(count, (1u << 22) - 2 * (1u << 14) - 1);
}
END_TEST

static void id_of(uint8_t id[WM_COORD_REQ_ID_LEN], uint32_t n)
{
	memset(id, 0, WM_COORD_REQ_ID_LEN);
	memcpy(id, &n, sizeof(n));
}

START_TEST(replay_window)
{
	struct wm_coord_replay r;
	uint8_t id[WM_COORD_REQ_ID_LEN];
	int64_t now = 1000000;

	ck_assert_int_eq(wm_coord_replay_init(&r, 16, now), 0);
	id_of(id, 1);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now, now), 0);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now, now), -EALREADY);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now, now + 30), -EALREADY);
	id_of(id, 2);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now - 61, now), -ETIME);	/* stale */
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now + 61, now), -ETIME);	/* future */
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now + 60, now), 0);
	/* Before the server started: history is unknown, so refused. */
	id_of(id, 3);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now - 1, now), -ETIME);
	/* Once out of the window an id is forgotten, and its timestamp is refused anyway. */
	id_of(id, 1);
	ck_assert_int_eq(wm_coord_replay_check(&r, id, now, now + 61), -ETIME);
	wm_coord_replay_free(&r);
}
END_TEST

START_TEST(replay_bounded)
{
	struct wm_coord_replay r;
	uint8_t id[WM_COORD_REQ_ID_LEN];
	int64_t base = 5000;

	ck_assert_int_eq(wm_coord_replay_init(&r, 8, base), 0);
	for (uint32_t i = 0; i < 100; i++) {
		id_of(id, i);
		ck_assert_int_eq(wm_coord_replay_check(&r, id, base + i, base + i), 0);
		ck_assert_uint_le(r.count, 8);
	}
	/* The newest 8 are remembered; older ones fall under the raised floor. */
	for (uint32_t i = 0; i < 100; i++) {
		id_of(id, i);
		ck_assert_int_eq(wm_coord_replay_check(&r, id, base + i, base + 99),
				 i >= 92 ? -EALREADY : -ETIME);
	}
	wm_coord_replay_free(&r);
	/* More ids in one second than the table holds: the excess is refused, not forgotten. */
	ck_assert_int_eq(wm_coord_replay_init(&r, 8, base), 0);
	for (uint32_t i = 0; i < 9; i++) {
		id_of(id, i);
		ck_assert_int_eq(wm_coord_replay_check(&r, id, base + 1, base + 1), i < 8 ? 0 : -ETIME);
	}
	wm_coord_replay_free(&r);
}
END_TEST

START_TEST(rate_limit)
{
	struct wm_coord_ratelimit rl;
	uint8_t a[32], b[32];
	uint64_t t = 1000000000ull;
	int allowed = 0;

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	ck_assert_int_eq(wm_coord_ratelimit_init(&rl, 64, 5, 10), 0);
	for (int i = 0; i < 20; i++)
		allowed += wm_coord_ratelimit_allow(&rl, a, t);
	ck_assert_int_eq(allowed, 10);
	ck_assert(wm_coord_ratelimit_allow(&rl, b, t));	/* others are not affected */
	ck_assert(!wm_coord_ratelimit_allow(&rl, a, t + 100000000ull));	/* 0.1 s: half a token */
	ck_assert(wm_coord_ratelimit_allow(&rl, a, t + 300000000ull));	/* 0.3 s: one more */
	/* A flood of other keys evicts, but never grows the table. */
	for (uint32_t i = 0; i < 10000; i++) {
		uint8_t k[32] = { 0 };

		memcpy(k, &i, sizeof(i));
		wm_coord_ratelimit_allow(&rl, k, t + 400000000ull);
	}
	ck_assert_uint_eq(rl.n_slots, 64);
	wm_coord_ratelimit_free(&rl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coord_server");
	TCase *tc = tcase_create("parts");
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, alloc_skips_and_ends);
	tcase_add_test(tc, alloc_walk);
	tcase_add_test(tc, replay_window);
	tcase_add_test(tc, replay_bounded);
	tcase_add_test(tc, rate_limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
