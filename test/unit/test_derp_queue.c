/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_queue.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Without Check's per-assertion bookkeeping, for the long loop. */
#define expect(cond) do { if (!(cond)) ck_abort_msg("failed: %s", #cond); } while (0)

static void put(struct wm_derp_queue *q, uint32_t id, size_t len, size_t *dropped)
{
	uint8_t *p = wm_derp_queue_reserve(q, len, dropped);

	expect(p != NULL);
	memset(p, (int)(id & 0xff), len);
	memcpy(p, &id, len < 4 ? len : 4);
}

static uint32_t take(struct wm_derp_queue *q, size_t *len)
{
	const uint8_t *p = wm_derp_queue_peek(q, len);
	uint32_t id = 0;

	expect(p != NULL);
	memcpy(&id, p, *len < 4 ? *len : 4);
	for (size_t i = 4; i < *len; i++)
		expect(p[i] == (id & 0xff));
	wm_derp_queue_pop(q);
	return id;
}

START_TEST(test_fifo_and_drop_oldest)
{
	struct wm_derp_queue q;
	size_t dropped, len;

	ck_assert_int_eq(wm_derp_queue_init(&q, 100, 8), 0);
	ck_assert_ptr_null(wm_derp_queue_peek(&q, &len));
	put(&q, 1, 40, &dropped);
	put(&q, 2, 40, &dropped);
	ck_assert_uint_eq(dropped, 0);
	put(&q, 3, 40, &dropped);	/* 120 > 100: the oldest goes */
	ck_assert_uint_eq(dropped, 1);
	ck_assert_uint_eq(q.dropped_frames, 1);
	ck_assert_uint_eq(q.dropped_bytes, 40);
	ck_assert_uint_eq(take(&q, &len), 2);
	ck_assert_uint_eq(take(&q, &len), 3);
	ck_assert_ptr_null(wm_derp_queue_peek(&q, &len));
	/* A frame as large as the queue empties it; a larger one is refused. */
	put(&q, 4, 10, &dropped);
	put(&q, 5, 100, &dropped);
	ck_assert_uint_eq(dropped, 1);
	ck_assert_ptr_null(wm_derp_queue_reserve(&q, 101, &dropped));
	ck_assert_ptr_null(wm_derp_queue_reserve(&q, 0, &dropped));
	ck_assert_uint_eq(take(&q, &len), 5);
	/* The frame count is a limit too. */
	for (uint32_t i = 0; i < 9; i++)
		put(&q, 10 + i, 4, &dropped);
	ck_assert_uint_eq(q.count, 8);
	ck_assert_uint_eq(take(&q, &len), 11);
	wm_derp_queue_trim_last(&q, 2);
	ck_assert_uint_eq(q.bytes, 6 * 4 + 2);
	wm_derp_queue_clear(&q);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.bytes, 0);
	wm_derp_queue_free(&q);
	ck_assert_int_eq(wm_derp_queue_init(&q, 0, 8), -EINVAL);
}
END_TEST

/* Random pushes and pops against a plain model: same order, same drops, bytes accounted. */
START_TEST(test_against_model)
{
	enum { CAP = 1000, FRAMES = 16, OPS = 100000 };
	struct { uint32_t id; size_t len; } model[4096];
	size_t head = 0, count = 0, model_bytes = 0, dropped, len;
	uint64_t seed = 42, model_drops = 0;
	struct wm_derp_queue q;
	uint32_t next_id = 1;

	ck_assert_int_eq(wm_derp_queue_init(&q, CAP, FRAMES), 0);
	for (int op = 0; op < OPS; op++) {
		uint64_t r = next_random(&seed);

		if (r % 3) {
			size_t flen = 4 + (size_t)(r >> 8) % 300;
			size_t before = count;

			put(&q, next_id, flen, &dropped);
			expect(dropped <= before);
			/* The model drops exactly as many oldest frames as the queue did. */
			for (size_t i = 0; i < dropped; i++) {
				model_bytes -= model[head % 4096].len;
				head++;
				count--;
				model_drops++;
			}
			model[(head + count) % 4096].id = next_id++;
			model[(head + count) % 4096].len = flen;
			count++;
			model_bytes += flen;
			/* It only drops when it had to: not enough frames or bytes left. */
			if (dropped)
				expect(before - dropped + 1 <= FRAMES);
		} else if (count) {
			expect(take(&q, &len) == model[head % 4096].id);
			expect(len == model[head % 4096].len);
			model_bytes -= len;
			head++;
			count--;
		}
		expect(q.count == count && q.bytes == model_bytes && model_bytes <= CAP);
	}
	ck_assert_uint_eq(q.dropped_frames, model_drops);
	ck_assert_uint_gt(model_drops, 1000);
	wm_derp_queue_free(&q);
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("derp_queue");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fifo_and_drop_oldest);
	tcase_add_test(tc, test_against_model);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
