/* SPDX-License-Identifier: MIT */
/*
 * common/checksum and common/bytes: the RFC 1071 example, a naive word-by-word sum as the
 * oracle on random buffers of every length and alignment, and byte order round trips.
 */
#include "common/bytes.h"
#include "common/checksum.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2. */
START_TEST(rfc1071_example)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	ck_assert_uint_eq(wm_checksum_sum(b, sizeof(b)), 0xddf2);
	/* Split in two, summed and folded: the same. */
	ck_assert_uint_eq(wm_checksum_fold((uint64_t)wm_checksum_sum(b, 4) + wm_checksum_sum(b + 4, 4)),
			  0xddf2);
}
END_TEST

static uint16_t naive_sum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < n)
		s += (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

START_TEST(random_buffers_match_the_naive_sum)
{
	uint8_t buf[1600 + 8];
	unsigned seed = 12345;

	for (size_t len = 0; len <= 1600; len += (len < 80 ? 1 : 37)) {
		for (size_t align = 0; align < 8; align++) {
			for (size_t i = 0; i < len; i++)
				buf[align + i] = (uint8_t)rand_r(&seed);
			ck_assert_msg(wm_checksum_sum(buf + align, len) == naive_sum(buf + align, len),
				      "length %zu at offset %zu", len, align);
		}
	}
	/* All ones: the sum of 0xffff words stays 0xffff (never folds to 0). */
	memset(buf, 0xff, 64);
	ck_assert_uint_eq(wm_checksum_sum(buf, 64), 0xffff);
}
END_TEST

/* The pseudo-header of UDP from 192.0.2.1 to 192.0.2.2, 28 bytes: by hand. */
START_TEST(pseudo_header)
{
	static const uint8_t src[4] = { 192, 0, 2, 1 }, dst[4] = { 192, 0, 2, 2 };
	uint32_t want = 0xc000 + 0x0201 + 0xc000 + 0x0202 + 17 + 28;

	want = (want & 0xffff) + (want >> 16);
	ck_assert_uint_eq(wm_checksum_pseudo(src, dst, 4, 17, 28), want);
}
END_TEST

START_TEST(byte_order)
{
	uint8_t b[8];

	wm_put_be16(b, 0x1234);
	ck_assert(b[0] == 0x12 && b[1] == 0x34);
	ck_assert_uint_eq(wm_get_be16(b), 0x1234);
	wm_put_be32(b, 0x89abcdef);
	ck_assert(b[0] == 0x89 && b[3] == 0xef);
	ck_assert_uint_eq(wm_get_be32(b), 0x89abcdef);
	wm_put_be64(b, 0x0102030405060708ULL);
	ck_assert(b[0] == 1 && b[7] == 8);
	ck_assert_uint_eq(wm_get_be64(b), 0x0102030405060708ULL);
}
END_TEST

static Suite *checksum_suite(void)
{
	Suite *s = suite_create("checksum");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc1071_example);
	tcase_add_test(tc, random_buffers_match_the_naive_sum);
	tcase_add_test(tc, pseudo_header);
	tcase_add_test(tc, byte_order);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(checksum_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
