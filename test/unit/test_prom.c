/* SPDX-License-Identifier: MIT */
/* The Prometheus text writer: families, label escaping, special values, the histogram's
 * cumulative buckets, growth past the first buffer. */
#include "common/prom.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *finish(struct wm_prom *p)
{
	size_t len = 12345;
	char *text = wm_prom_finish(p, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	return text;
}

START_TEST(families_and_samples)
{
	static const struct wm_prom_label path[] = { { "path", "derp" }, { "dir", "in" } };
	struct wm_prom p;
	char *text;

	wm_prom_init(&p);
	wm_prom_counter(&p, "wm_x_total", "Things counted.", 18446744073709551615ULL);
	wm_prom_gauge(&p, "wm_y", "A level.", 0.5);
	wm_prom_family(&p, "wm_z_total", "counter", "Per path.");
	wm_prom_sample_u64(&p, "wm_z_total", path, 2, 7);
	text = finish(&p);
	ck_assert_str_eq(text,
			 "# HELP wm_x_total Things counted.\n"
			 "# TYPE wm_x_total counter\n"
			 "wm_x_total 18446744073709551615\n"
			 "# HELP wm_y A level.\n"
			 "# TYPE wm_y gauge\n"
			 "wm_y 0.5\n"
			 "# HELP wm_z_total Per path.\n"
			 "# TYPE wm_z_total counter\n"
			 "wm_z_total{path=\"derp\",dir=\"in\"} 7\n");
	free(text);
}
END_TEST

START_TEST(escaping)
{
	static const struct wm_prom_label l[] = { { "name", "a\"b\\c\nd" } };
	struct wm_prom p;
	char *text;

	wm_prom_init(&p);
	wm_prom_family(&p, "wm_e", "gauge", "back\\slash \"quoted\"\nnext");
	wm_prom_sample(&p, "wm_e", l, 1, 1);
	text = finish(&p);
	/* HELP escapes backslash and newline only; label values the quote too. */
	ck_assert_str_eq(text,
			 "# HELP wm_e back\\\\slash \"quoted\"\\nnext\n"
			 "# TYPE wm_e gauge\n"
			 "wm_e{name=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(text);
}
END_TEST

START_TEST(special_values)
{
	struct wm_prom p;
	char *text;

	wm_prom_init(&p);
	wm_prom_sample(&p, "a", NULL, 0, NAN);
	wm_prom_sample(&p, "b", NULL, 0, INFINITY);
	wm_prom_sample(&p, "c", NULL, 0, -INFINITY);
	wm_prom_sample(&p, "d", NULL, 0, -2.25);
	wm_prom_sample(&p, "e", NULL, 0, 1e300);
	wm_prom_sample(&p, "f", NULL, 0, 0.1);
	wm_prom_sample(&p, "g", NULL, 0, 1.0 / 3);	/* needs all 17 digits to read back */
	text = finish(&p);
	ck_assert_str_eq(text, "a NaN\nb +Inf\nc -Inf\nd -2.25\ne 1e+300\nf 0.1\n"
			 "g 0.33333333333333331\n");
	free(text);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative)
{
	static const double bounds[] = { 0.25, 0.5, 1 };
	struct wm_prom_histogram h;
	struct wm_prom p;
	char *text;

	wm_prom_histogram_init(&h, bounds, 3);
	wm_prom_histogram_observe(&h, 0.125);
	wm_prom_histogram_observe(&h, 0.25);	/* on the bound: in it (le) */
	wm_prom_histogram_observe(&h, 0.75);
	wm_prom_histogram_observe(&h, 2);
	wm_prom_init(&p);
	wm_prom_histogram_write(&p, "wm_h_seconds", "Latency.", &h);
	text = finish(&p);
	ck_assert_str_eq(text,
			 "# HELP wm_h_seconds Latency.\n"
			 "# TYPE wm_h_seconds histogram\n"
			 "wm_h_seconds_bucket{le=\"0.25\"} 2\n"
			 "wm_h_seconds_bucket{le=\"0.5\"} 2\n"
			 "wm_h_seconds_bucket{le=\"1\"} 3\n"
			 "wm_h_seconds_bucket{le=\"+Inf\"} 4\n"
			 "wm_h_seconds_sum 3.125\n"
			 "wm_h_seconds_count 4\n");
	free(text);
}
END_TEST

START_TEST(grows_past_the_first_buffer)
{
	struct wm_prom_label l = { "i", NULL };
	char value[16], *text, *line;
	struct wm_prom p;
	size_t len, n = 0;

	wm_prom_init(&p);
	wm_prom_family(&p, "wm_many", "gauge", "Many samples.");
	for (int i = 0; i < 5000; i++) {
		snprintf(value, sizeof(value), "%d", i);
		l.value = value;
		wm_prom_sample_u64(&p, "wm_many", &l, 1, (uint64_t)i);
	}
	text = wm_prom_finish(&p, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_gt(len, 4096);
	for (line = text; (line = strchr(line, '\n')); line++)
		n++;
	ck_assert_uint_eq(n, 5002);
	ck_assert_ptr_nonnull(strstr(text, "wm_many{i=\"4999\"} 4999\n"));
	free(text);
}
END_TEST

START_TEST(empty_is_an_empty_string)
{
	struct wm_prom p;
	size_t len = 1;
	char *text;

	wm_prom_init(&p);
	text = wm_prom_finish(&p, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(len, 0);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("prom");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, families_and_samples);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, special_values);
	tcase_add_test(tc, histogram_buckets_are_cumulative);
	tcase_add_test(tc, grows_past_the_first_buffer);
	tcase_add_test(tc, empty_is_an_empty_string);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
