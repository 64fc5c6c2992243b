/* SPDX-License-Identifier: MIT */
/* Retry delays: the doubling steps, their cap, the 50-100 % jitter, the reset. */
#include "common/backoff.h"

#include <check.h>
#include <string.h>

/* A random source that hands out the same 32-bit word every time. */
static void fixed_fill(void *ctx, void *buf, size_t len)
{
	memset(buf, *(const unsigned char *)ctx, len);
}

START_TEST(steps_double_to_the_cap)
{
	static const uint32_t coord[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	static const uint32_t relay[] = { 250, 500, 1000, 2000, 4000, 8000, 10000, 10000 };
	unsigned char high = 0xff, low = 0;
	const struct wm_rng top = { fixed_fill, &high }, bottom = { fixed_fill, &low };
	struct wm_backoff b;

	/* The largest random word gives the whole step, the smallest half of it. */
	wm_backoff_init(&b, 500, 30000);
	for (size_t i = 0; i < sizeof(coord) / sizeof(coord[0]); i++)
		ck_assert_uint_eq(wm_backoff_next(&b, &top), coord[i]);
	wm_backoff_reset(&b);
	ck_assert_uint_eq(wm_backoff_next(&b, &bottom), 250);
	wm_backoff_init(&b, 250, 10000);
	for (size_t i = 0; i < sizeof(relay) / sizeof(relay[0]); i++)
		ck_assert_uint_eq(wm_backoff_next(&b, &bottom), relay[i] / 2);
}
END_TEST

START_TEST(jitter_stays_within_half_and_whole)
{
	struct wm_backoff b;

	wm_backoff_init(&b, 500, 30000);
	for (int i = 0; i < 10000; i++) {
		uint32_t step = b.step_ms, d = wm_backoff_next(&b, &wm_rng_system);

		ck_assert_uint_ge(d, step / 2);
		ck_assert_uint_le(d, step);
		if (i % 10 == 9)
			wm_backoff_reset(&b);
	}
}
END_TEST

START_TEST(degenerate_bounds)
{
	unsigned char high = 0xff;
	const struct wm_rng top = { fixed_fill, &high };
	struct wm_backoff b;

	wm_backoff_init(&b, 0, 0);	/* at least 1 ms, and the cap is never below the floor */
	ck_assert_uint_eq(wm_backoff_next(&b, &top), 1);
	ck_assert_uint_eq(wm_backoff_next(&b, &top), 1);
	wm_backoff_init(&b, UINT32_MAX / 2 + 1, UINT32_MAX);	/* no overflow at the top */
	wm_backoff_next(&b, &top);
	ck_assert_uint_eq(wm_backoff_next(&b, &top), UINT32_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("backoff");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, steps_double_to_the_cap);
	tcase_add_test(tc, jitter_stays_within_half_and_whole);
	tcase_add_test(tc, degenerate_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
