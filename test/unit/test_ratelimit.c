/* SPDX-License-Identifier: MIT */
#include "engine/ratelimit.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define COST (SEC / WM_RATELIMIT_PACKETS_PER_SECOND)

/* A monotonic clock that does not start at zero, as a real one would not. */
#define T0 (UINT64_C(12345) * SEC)

static struct wm_endpoint ep(const char *text)
{
	struct wm_endpoint e;

	ck_assert_msg(wm_endpoint_parse(&e, text) == 0, "bad endpoint %s", text);
	return e;
}

/* Sends until denied (at most 100 tries) at now; returns how many were allowed. */
static int drain(struct wm_ratelimit *rl, const char *src, uint64_t now)
{
	struct wm_endpoint e = ep(src);
	int n = 0;

	while (n < 100 && wm_ratelimit_allow(rl, &e, now))
		n++;
	return n;
}

static void setup(struct wm_ratelimit *rl, size_t max_entries)
{
	ck_assert_int_eq(wm_ratelimit_init(rl, max_entries), 0);
}

START_TEST(test_burst_then_deny)
{
	struct wm_ratelimit rl;
	struct wm_endpoint a = ep("192.0.2.1:51820");

	setup(&rl, 64);
	for (int i = 0; i < WM_RATELIMIT_BURST; i++)
		ck_assert_msg(wm_ratelimit_allow(&rl, &a, T0), "packet %d of the burst", i);
	ck_assert(!wm_ratelimit_allow(&rl, &a, T0));
	ck_assert(!wm_ratelimit_allow(&rl, &a, T0));
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_refill)
{
	struct wm_ratelimit rl;
	struct wm_endpoint a = ep("192.0.2.1:51820");

	setup(&rl, 64);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0), WM_RATELIMIT_BURST);

	/* One packet's worth of tokens takes exactly 50 ms, to the nanosecond. */
	ck_assert(!wm_ratelimit_allow(&rl, &a, T0 + 50 * MS - 1));
	ck_assert(wm_ratelimit_allow(&rl, &a, T0 + 50 * MS));
	ck_assert(!wm_ratelimit_allow(&rl, &a, T0 + 50 * MS));

	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 100 * MS), 1);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 200 * MS), 2);

	/* A full bucket never holds more than the burst. */
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 1200 * MS), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 60 * SEC), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_sustained_rate)
{
	struct wm_ratelimit rl;
	struct wm_endpoint a = ep("198.51.100.7:4000");
	int allowed = 0;

	/* A packet every millisecond for ten seconds: the burst plus 20 per second. */
	setup(&rl, 64);
	for (uint64_t t = T0; t <= T0 + 10 * SEC; t += MS)
		allowed += wm_ratelimit_allow(&rl, &a, t);
	ck_assert_int_eq(allowed, WM_RATELIMIT_BURST + 10 * WM_RATELIMIT_PACKETS_PER_SECOND);

	/* Exactly at the rate, nothing is lost. */
	for (uint64_t t = T0 + 10 * SEC + COST; t <= T0 + 20 * SEC; t += COST)
		ck_assert(wm_ratelimit_allow(&rl, &a, t));
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_ipv4_sources_independent)
{
	struct wm_ratelimit rl;

	setup(&rl, 64);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:51820", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.2:51820", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "10.0.0.1:51820", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:51820", T0), 0);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_ports_ignored)
{
	struct wm_ratelimit rl;

	setup(&rl, 64);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1000", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1001", T0), 0);
	ck_assert_int_eq(drain(&rl, "[2001:db8::1]:1000", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[2001:db8::1]:65535", T0), 0);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_ipv6_prefix)
{
	struct wm_ratelimit rl;

	setup(&rl, 64);
	ck_assert_int_eq(drain(&rl, "[2001:db8:1:2::1]:51820", T0), WM_RATELIMIT_BURST);
	/* Same /64, any interface identifier: the same bucket. */
	ck_assert_int_eq(drain(&rl, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:51820", T0), 0);
	ck_assert_int_eq(drain(&rl, "[2001:db8:1:2:1234::9]:7", T0), 0);
	/* Neighbouring /64s, and a difference in the first bit, are separate. */
	ck_assert_int_eq(drain(&rl, "[2001:db8:1:3::1]:51820", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[2001:db8:1:1::1]:51820", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[a001:db8:1:2::1]:51820", T0), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_families_apart)
{
	struct wm_ratelimit rl;

	setup(&rl, 64);
	/* 0.0.0.1 and ::1 have key bytes in common; the family keeps them apart. */
	ck_assert_int_eq(drain(&rl, "0.0.0.0:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[::]:1", T0), WM_RATELIMIT_BURST);
	/* An IPv4-mapped source is its IPv4 address, not the shared ::ffff:0:0/64. */
	ck_assert_int_eq(drain(&rl, "192.0.2.9:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[::ffff:192.0.2.9]:2", T0), 0);
	ck_assert_int_eq(drain(&rl, "[::ffff:192.0.2.10]:2", T0), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_unset_denied)
{
	struct wm_ratelimit rl;
	struct wm_endpoint none, unix_ep;

	memset(&none, 0, sizeof(none));
	memset(&unix_ep, 0, sizeof(unix_ep));
	unix_ep.addr.sa.sa_family = AF_UNIX;
	setup(&rl, 1);
	ck_assert(!wm_ratelimit_allow(&rl, &none, T0));
	ck_assert(!wm_ratelimit_allow(&rl, &unix_ep, T0));
	/* and took no slot: the one entry is still free */
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_table_full)
{
	struct wm_ratelimit rl;

	setup(&rl, 4);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.3:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[2001:db8::1]:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.5:1", T0), 0);

	/* Known sources keep working while new ones are turned away. */
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 600 * MS), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.5:1", T0 + 600 * MS), 0);

	/*
	 * At T0 + 1.2 s the collection runs again: the three idle since T0 go,
	 * 192.0.2.1 (idle 0.6 s) stays, so three new sources fit and a fourth does not.
	 */
	ck_assert_int_eq(drain(&rl, "192.0.2.5:1", T0 + 1200 * MS), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.6:1", T0 + 1200 * MS), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "[2001:db8:0:1::1]:1", T0 + 1200 * MS), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.8:1", T0 + 1200 * MS), 0);
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0 + 1300 * MS), 0);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 1300 * MS), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_gc_idle_boundary)
{
	struct wm_ratelimit rl;

	setup(&rl, 1);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0), WM_RATELIMIT_BURST);
	/* Idle exactly 1 s is not "more than" 1 s: the entry stays. */
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0 + SEC), 0);
	/* The collection just ran, so the next is a second later still. */
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0 + SEC + 1), 0);
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0 + 2 * SEC - 1), 0);
	ck_assert_int_eq(drain(&rl, "192.0.2.2:1", T0 + 2 * SEC), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_many_sources)
{
	struct wm_ratelimit rl;
	enum { N = 1000 };
	char text[64];

	setup(&rl, 2 * N);
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.1:51820", i / 256, i % 256);
		ck_assert_int_eq(drain(&rl, text, T0), WM_RATELIMIT_BURST);
		snprintf(text, sizeof(text), "[2001:db8:%x:%x::1]:51820", i / 7, i);
		ck_assert_int_eq(drain(&rl, text, T0), WM_RATELIMIT_BURST);
	}
	for (int i = 0; i < N; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.1:1", i / 256, i % 256);
		ck_assert_int_eq(drain(&rl, text, T0 + 50 * MS), 1);
		snprintf(text, sizeof(text), "[2001:db8:%x:%x::2]:2", i / 7, i);
		ck_assert_int_eq(drain(&rl, text, T0 + 50 * MS), 1);
	}
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 50 * MS), 0);	/* full */
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 + 2 * SEC), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_clock_backwards)
{
	struct wm_ratelimit rl;

	setup(&rl, 8);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0), WM_RATELIMIT_BURST);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 - SEC), 0);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", T0 - SEC + 50 * MS), 1);
	ck_assert_int_eq(drain(&rl, "192.0.2.1:1", UINT64_MAX), WM_RATELIMIT_BURST);
	wm_ratelimit_free(&rl);
}
END_TEST

START_TEST(test_init_free)
{
	struct wm_ratelimit a, b;

	ck_assert_int_eq(wm_ratelimit_init(&a, 0), -EINVAL);
	wm_ratelimit_free(&a);
	ck_assert_int_eq(wm_ratelimit_init(&a, SIZE_MAX), -EINVAL);
	setup(&a, 3);
	setup(&b, 3);
	/* Each table draws its own SipHash key. */
	ck_assert(memcmp(a.hash_key, b.hash_key, sizeof(a.hash_key)) != 0);
	wm_ratelimit_free(&a);
	wm_ratelimit_free(&a);
	wm_ratelimit_free(&b);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_burst_then_deny);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_sustained_rate);
	tcase_add_test(tc, test_ipv4_sources_independent);
	tcase_add_test(tc, test_ports_ignored);
	tcase_add_test(tc, test_ipv6_prefix);
	tcase_add_test(tc, test_families_apart);
	tcase_add_test(tc, test_unset_denied);
	tcase_add_test(tc, test_table_full);
	tcase_add_test(tc, test_gc_idle_boundary);
	tcase_add_test(tc, test_many_sources);
	tcase_add_test(tc, test_clock_backwards);
	tcase_add_test(tc, test_init_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
