/* SPDX-License-Identifier: MIT */
#include "engine/replay.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Whitepaper §6.1: Reject-After-Messages = 2^64 - 2^13 - 1. */
#define LIMIT (UINT64_MAX - (UINT64_C(1) << 13))
#define W ((uint64_t)WM_REPLAY_WINDOW)
#define RING_BITS ((uint64_t)WM_REPLAY_BITS_TOTAL)

struct step {
	uint64_t counter;
	bool fresh;
};

static void run_steps(struct wm_replay *r, const struct step *steps, size_t n, uint64_t limit)
{
	for (size_t i = 0; i < n; i++) {
		bool got = wm_replay_check_and_update(r, steps[i].counter, limit);

		ck_assert_msg(got == steps[i].fresh, "step %zu: counter %llu: got %d, want %d",
			      i + 1, (unsigned long long)steps[i].counter, got, steps[i].fresh);
	}
}

/* Expect without Check's per-assertion bookkeeping, for long loops. */
static void expect(struct wm_replay *r, uint64_t counter, bool fresh)
{
	if (wm_replay_check_and_update(r, counter, LIMIT) != fresh)
		ck_abort_msg("counter %llu: want %s", (unsigned long long)counter,
			     fresh ? "fresh" : "rejected");
}

START_TEST(test_table)
{
	const uint64_t g = 4 * (W + 1);     /* a greatest far past the first window */
	const uint64_t far = g + 10 * RING_BITS; /* a jump that wraps the ring ten times */
	const struct step steps[] = {
		/*  1 */ { 0, true },		/* counter 0 counts once */
		/*  2 */ { 0, false },
		/*  3 */ { 1, true },
		/*  4 */ { 1, false },
		/*  5 */ { 9, true },		/* skip ahead within a word */
		/*  6 */ { 8, true },		/* then fill in out of order */
		/*  7 */ { 7, true },
		/*  8 */ { 7, false },
		/*  9 */ { W + 1, true },	/* greatest = W + 1 */
		/* 10 */ { W, true },
		/* 11 */ { W, false },
		/* 12 */ { W - 1, true },
		/* 13 */ { 2, true },		/* W - 1 behind: inside */
		/* 14 */ { 2, false },
		/* 15 */ { 1, false },		/* exactly W behind and already seen */
		/* 16 */ { 0, false },		/* W + 1 behind: too old */
		/* 17 */ { W + 17, true },
		/* 18 */ { 3, false },		/* now W + 14 behind */
		/* 19 */ { W + 17, false },
		/* 20 */ { g, true },
		/* 21 */ { g - W, true },	/* the trailing edge itself */
		/* 22 */ { g - W, false },
		/* 23 */ { g - W - 1, false },	/* one before the edge */
		/* 24 */ { 10, false },
		/* 25 */ { g - W + 1, true },
		/* 26 */ { g - 1, true },
		/* 27 */ { g - 1, false },
		/* 28 */ { far, true },		/* wipes the whole ring */
		/* 29 */ { g, false },		/* far behind now */
		/* 30 */ { far - W, true },
		/* 31 */ { far - W - 1, false },
		/* 32 */ { far - 1, true },
		/* 33 */ { far + RING_BITS, true }, /* same ring slot and bit as far: cleared */
		/* 34 */ { far + RING_BITS, false },
		/* 35 */ { far + RING_BITS - 1, true },
		/* 36 */ { far, false },
		/* 37 */ { LIMIT, false },	/* at the limit */
		/* 38 */ { LIMIT - 1, true },
		/* 39 */ { LIMIT, false },
		/* 40 */ { LIMIT - 1, false },
		/* 41 */ { LIMIT - 2, true },
		/* 42 */ { LIMIT + 1, false },
		/* 43 */ { UINT64_MAX, false },
		/* 44 */ { LIMIT - 2, false },
		/* 45 */ { LIMIT - 3, true },
		/* 46 */ { LIMIT - 1 - W, true },
		/* 47 */ { LIMIT - 2 - W, false },
		/* 48 */ { 0, false },
	};
	struct wm_replay r;

	wm_replay_init(&r);
	run_steps(&r, steps, sizeof(steps) / sizeof(steps[0]), LIMIT);
}
END_TEST

START_TEST(test_word_boundaries)
{
	const struct step steps[] = {
		{ 63, true },		/* last bit of word 0 */
		{ 64, true },		/* first bit of word 1 */
		{ 0, true },
		{ 63, false },
		{ 64, false },
		{ 64 + W, true },	/* greatest's word is 127 ahead of word 1 */
		{ 64, false },		/* exactly at the edge, seen */
		{ 65, true },		/* inside, not seen: its word survived */
		{ 63, false },		/* behind */
		{ 128 + W, true },	/* advancing one word clears word 1's slot */
		{ 128, true },		/* the trailing edge, in the slot just reused */
		{ 127, false },
	};
	struct wm_replay r;

	wm_replay_init(&r);
	run_steps(&r, steps, sizeof(steps) / sizeof(steps[0]), LIMIT);
}
END_TEST

START_TEST(test_limit)
{
	struct wm_replay r;

	wm_replay_init(&r);
	ck_assert(!wm_replay_check_and_update(&r, 0, 0));
	ck_assert(wm_replay_check_and_update(&r, 0, 1));
	ck_assert(!wm_replay_check_and_update(&r, 1, 1));

	/* A counter at or past the limit must not move the window. */
	wm_replay_init(&r);
	ck_assert(wm_replay_check_and_update(&r, 5, 1000));
	ck_assert(!wm_replay_check_and_update(&r, 1000000, 1000));
	ck_assert(!wm_replay_check_and_update(&r, 1000, 1000));
	ck_assert(wm_replay_check_and_update(&r, 4, 1000));
	ck_assert(wm_replay_check_and_update(&r, 999, 1000));
	ck_assert(!wm_replay_check_and_update(&r, 999, 1000));
	ck_assert_uint_eq(r.greatest, 999);
}
END_TEST

START_TEST(test_ring_wraps)
{
	struct wm_replay r;

	/* One counter per word, around the ring fifty times. */
	wm_replay_init(&r);
	for (uint64_t c = 0; c < 50 * RING_BITS; c += WM_REPLAY_WORD_BITS) {
		expect(&r, c, true);
		expect(&r, c, false);
		if (c >= W) {
			expect(&r, c - W, false);	/* seen, still at the edge */
			expect(&r, c - W + 1, true);	/* never seen, inside */
		}
		if (c >= W + 1)
			expect(&r, c - W - 1, false);
	}
}
END_TEST

/* For every greatest across a few words, the window ends exactly W behind it. */
START_TEST(test_edge_sweep)
{
	static const uint64_t bases[] = { W - 70, 3 * RING_BITS, LIMIT - 3 * RING_BITS };
	struct wm_replay r;

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (uint64_t g = bases[b]; g < bases[b] + 200; g++) {
			wm_replay_init(&r);
			expect(&r, g, true);
			if (g >= W + 1)
				expect(&r, g - W - 1, false);
			if (g >= W) {
				expect(&r, g - W, true);
				expect(&r, g - W, false);
			}
			expect(&r, g - 1, true);
			expect(&r, g, false);
		}
	}
}
END_TEST

START_TEST(test_sweeps)
{
	struct wm_replay r;
	uint64_t i;

	/* Ascending to W, then 0 sits exactly on the edge. */
	wm_replay_init(&r);
	for (i = 1; i <= W; i++)
		expect(&r, i, true);
	expect(&r, 0, true);
	expect(&r, 0, false);

	/* Ascending to W + 1: 1 is on the edge, 0 is out. */
	wm_replay_init(&r);
	for (i = 2; i <= W + 1; i++)
		expect(&r, i, true);
	expect(&r, 1, true);
	expect(&r, 0, false);

	/* Descending from W down to 0: every one inside. */
	wm_replay_init(&r);
	for (i = W + 1; i-- > 0;)
		expect(&r, i, true);
	for (i = 0; i <= W; i++)
		expect(&r, i, false);

	/* Descending from W + 1 to 1, then 0 is one past the edge. */
	wm_replay_init(&r);
	for (i = W + 2; i-- > 1;)
		expect(&r, i, true);
	expect(&r, 0, false);

	/* Descending from W to 1, then W + 1 pushes 0 out. */
	wm_replay_init(&r);
	for (i = W + 1; i-- > 1;)
		expect(&r, i, true);
	expect(&r, W + 1, true);
	expect(&r, 0, false);

	/* Same, but 0 arrives before W + 1. */
	wm_replay_init(&r);
	for (i = W + 1; i-- > 1;)
		expect(&r, i, true);
	expect(&r, 0, true);
	expect(&r, W + 1, true);
	expect(&r, 0, false);
}
END_TEST

/* splitmix64: a fixed, portable sequence for the randomized test. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The rule stated plainly: every counter ever seen is remembered. */
struct oracle {
	uint64_t base, greatest;
	uint8_t *seen; /* bit per counter - base */
};

static bool oracle_check(struct oracle *o, uint64_t counter, uint64_t limit)
{
	uint64_t x = counter - o->base;

	if (counter >= limit)
		return false;
	if (o->greatest > counter && o->greatest - counter > W)
		return false;
	if (o->seen[x / 8] & (1u << (x % 8)))
		return false;
	o->seen[x / 8] |= (uint8_t)(1u << (x % 8));
	if (counter > o->greatest)
		o->greatest = counter;
	return true;
}

#define ORACLE_SPAN (UINT64_C(1) << 26)

static void run_random(uint64_t seed, uint64_t base, uint64_t limit)
{
	struct oracle o = { .base = base, .seen = calloc(ORACLE_SPAN / 8, 1) };
	uint64_t recent[16] = { 0 }, rng = seed, fresh = 0, ops = 300000;
	struct wm_replay r;

	ck_assert_ptr_nonnull(o.seen);
	wm_replay_init(&r);
	for (uint64_t n = 0; n < ops; n++) {
		uint64_t g = o.greatest > base ? o.greatest - base : 0;
		uint64_t roll = next_random(&rng) % 100, v = next_random(&rng), x;
		bool want, got;

		if (roll < 50)		/* in order, with small gaps */
			x = g + 1 + v % 4;
		else if (roll < 70)	/* out of order, inside or just behind the window */
			x = g - v % (g < W + 64 ? g + 1 : W + 64);
		else if (roll < 80)	/* the trailing edge */
			x = g >= W + 3 ? g - W - 3 + v % 7 : v % 7;
		else if (roll < 88)	/* a replay of something recent */
			x = recent[v % 16];
		else if (roll < 92 && limit - base - g < 2 * RING_BITS)	/* the limit */
			x = limit - base - 100 + v % 200;
		else if (roll < 95)	/* far behind */
			x = g - v % (g < 4 * RING_BITS ? g + 1 : 4 * RING_BITS);
		else if (roll < 96)	/* forward jumps of up to two rings */
			x = g + v % (2 * RING_BITS);
		else
			x = g + v % 64;
		if (x >= ORACLE_SPAN)
			x = v % ORACLE_SPAN;

		want = oracle_check(&o, base + x, limit);
		got = wm_replay_check_and_update(&r, base + x, limit);
		if (got != want)
			ck_abort_msg("seed %llu op %llu: counter %llu (greatest %llu): %d, want %d",
				     (unsigned long long)seed, (unsigned long long)n,
				     (unsigned long long)(base + x), (unsigned long long)o.greatest,
				     got, want);
		if (got)
			fresh++;
		recent[v % 16] = x;
	}
	/* Both outcomes must have been exercised plenty for the comparison to mean much. */
	ck_assert_uint_gt(fresh, ops / 100);
	ck_assert_uint_lt(fresh, ops - ops / 100);
	free(o.seen);
}

START_TEST(test_random_oracle)
{
	run_random(1, 0, LIMIT);
	run_random(2, 0, (UINT64_C(1) << 20) + 12345);
	run_random(3, LIMIT - (ORACLE_SPAN / 8), LIMIT);
	run_random(4, UINT64_C(1) << 40, (UINT64_C(1) << 40) + 77777);
}
END_TEST

static Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_word_boundaries);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_ring_wraps);
	tcase_add_test(tc, test_edge_sweep);
	tcase_add_test(tc, test_sweeps);
	tcase_add_test(tc, test_random_oracle);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(replay_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
