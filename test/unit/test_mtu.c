/* SPDX-License-Identifier: MIT */
/*
 * filter/mtu and the "fragmentation needed" answer (filter/reject.h): SYNs over IPv4 and IPv6
 * get their MSS lowered to fit and keep a valid checksum (checked from scratch here, for the
 * option at an even and an odd offset and for random option layouts), what must not be touched
 * is not, and too big IPv4 packets with Don't Fragment get an ICMP type 3 code 4 carrying the
 * MTU.
 */
#include "common/bytes.h"
#include "common/checksum.h"
#include "filter/mtu.h"
#include "filter/pkt.h"
#include "filter/reject.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t SRC4[4] = { 100, 64, 0, 1 }, DST4[4] = { 100, 64, 0, 2 };
static const uint8_t SRC6[16] = { 0xfd, 0x77, [15] = 1 }, DST6[16] = { 0xfd, 0x77, [15] = 2 };

/*
 * A TCP segment with flags, the options opts[0..optlen) (a multiple of 4) and payload bytes of
 * zeros, in IPv4 (v 4) or IPv6 (v 6), with valid checksums. Returns the packet's length.
 */
static size_t tcp_packet(uint8_t *b, int v, uint8_t flags, const uint8_t *opts, size_t optlen,
			 size_t payload)
{
	size_t hl = v == 4 ? 20 : 40, tl = 20 + optlen, len = hl + tl + payload;
	uint8_t *t = b + hl;
	uint32_t sum;

	memset(b, 0, len);
	if (v == 4) {
		b[0] = 0x45;
		wm_put_be16(b + 2, (uint16_t)len);
		b[6] = 0x40;	/* DF, as Linux sends TCP */
		b[8] = 64;
		b[9] = WM_IPPROTO_TCP;
		memcpy(b + 12, SRC4, 4);
		memcpy(b + 16, DST4, 4);
		wm_put_be16(b + 10, (uint16_t)~wm_checksum_sum(b, 20));
	} else {
		b[0] = 0x60;
		wm_put_be16(b + 4, (uint16_t)(tl + payload));
		b[6] = WM_IPPROTO_TCP;
		b[7] = 64;
		memcpy(b + 8, SRC6, 16);
		memcpy(b + 24, DST6, 16);
	}
	wm_put_be16(t, 40000);
	wm_put_be16(t + 2, 443);
	wm_put_be32(t + 4, 0x01020304);
	t[12] = (uint8_t)((tl / 4) << 4);
	t[13] = flags;
	wm_put_be16(t + 14, 64240);
	if (optlen)
		memcpy(t + 20, opts, optlen);
	sum = v == 4 ? wm_checksum_pseudo(SRC4, DST4, 4, WM_IPPROTO_TCP, tl + payload)
		     : wm_checksum_pseudo(SRC6, DST6, 16, WM_IPPROTO_TCP, tl + payload);
	wm_put_be16(t + 16, (uint16_t)~wm_checksum_fold((uint64_t)sum +
							wm_checksum_sum(t, tl + payload)));
	return len;
}

/* The TCP checksum over pseudo-header and segment verifies (sums to 0xffff). */
static bool tcp_checksum_ok(const uint8_t *b, size_t len, int v)
{
	size_t hl = v == 4 ? 20 : 40;
	uint32_t sum = v == 4 ? wm_checksum_pseudo(SRC4, DST4, 4, WM_IPPROTO_TCP, len - hl)
			      : wm_checksum_pseudo(SRC6, DST6, 16, WM_IPPROTO_TCP, len - hl);

	return wm_checksum_fold((uint64_t)sum + wm_checksum_sum(b + hl, len - hl)) == 0xffff;
}

/* MSS 1460 first (even offset), as Linux sends it; and after one NOP (odd offset). */
START_TEST(syn_mss_is_lowered_to_fit_with_a_valid_checksum)
{
	static const uint8_t even[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
	static const uint8_t odd[] = { 1, 2, 4, 0x05, 0xb4, 1, 4, 2 };
	uint8_t b[200];

	for (int v = 4; v <= 6; v += 2) {
		size_t hl = v == 4 ? 20 : 40, len;

		len = tcp_packet(b, v, WM_TCP_SYN, even, sizeof(even), 0);
		ck_assert(wm_mtu_clamp_mss(b, len, 1200));
		ck_assert_uint_eq(wm_get_be16(b + hl + 22), 1200 - hl - 20);
		ck_assert(tcp_checksum_ok(b, len, v));

		len = tcp_packet(b, v, WM_TCP_SYN | WM_TCP_ACK, odd, sizeof(odd), 0);
		ck_assert(wm_mtu_clamp_mss(b, len, 1200));
		ck_assert_uint_eq(wm_get_be16(b + hl + 23), 1200 - hl - 20);
		ck_assert(tcp_checksum_ok(b, len, v));
	}
}
END_TEST

START_TEST(what_fits_or_is_not_a_syn_is_left_alone)
{
	static const uint8_t mss1000[] = { 2, 4, 0x03, 0xe8 };
	static const uint8_t mss1460[] = { 2, 4, 0x05, 0xb4 };
	static const uint8_t no_mss[] = { 1, 1, 4, 2 };
	static const uint8_t bad_len[] = { 3, 9, 0, 0 };	/* runs past the header */
	static const uint8_t mss_len_3[] = { 2, 3, 5, 0 };
	uint8_t b[200], copy[200];
	size_t len;

	len = tcp_packet(b, 4, WM_TCP_SYN, mss1000, 4, 0);
	memcpy(copy, b, len);
	ck_assert(!wm_mtu_clamp_mss(b, len, 1200));
	ck_assert(!memcmp(b, copy, len));
	/* Exactly fitting: 1160 + 40 = 1200. */
	ck_assert(!wm_mtu_clamp_mss(b, len, 1040));
	ck_assert(wm_mtu_clamp_mss(b, len, 1039));

	len = tcp_packet(b, 4, WM_TCP_ACK, mss1460, 4, 0);
	ck_assert(!wm_mtu_clamp_mss(b, len, 1200));
	const uint8_t *opts[] = { no_mss, bad_len, mss_len_3 };
	for (size_t i = 0; i < 3; i++) {
		len = tcp_packet(b, 6, WM_TCP_SYN, opts[i], 4, 0);
		memcpy(copy, b, len);
		ck_assert(!wm_mtu_clamp_mss(b, len, 1200));
		ck_assert(!memcmp(b, copy, len));
	}
	/* Truncated packets, UDP: untouched. */
	len = tcp_packet(b, 4, WM_TCP_SYN, mss1460, 4, 0);
	for (size_t cut = 0; cut < len; cut++)
		ck_assert(!wm_mtu_clamp_mss(b, cut, 1200));
	b[9] = WM_IPPROTO_UDP;
	ck_assert(!wm_mtu_clamp_mss(b, len, 1200));
}
END_TEST

/* Random option layouts (NOPs, timestamps, window scale, SACK-permitted around the MSS). */
START_TEST(random_option_layouts_keep_valid_checksums)
{
	unsigned seed = 7;
	uint8_t b[200], opts[40];

	for (int round = 0; round < 20000; round++) {
		size_t n = 0, len, at = 0, target = (size_t)(rand_r(&seed) % 10) * 4 + 4;
		int v = rand_r(&seed) % 2 ? 4 : 6;
		uint16_t mss = (uint16_t)(rand_r(&seed) % 9000), mtu = (uint16_t)(200 + rand_r(&seed) % 1400);
		bool placed = false;

		while (n < target) {
			size_t left = target - n;
			int what = rand_r(&seed) % 4;

			if (!placed && left >= 4 && (what == 0 || left < 8)) {
				opts[n] = 2, opts[n + 1] = 4;
				wm_put_be16(opts + n + 2, mss);
				at = n + 2;
				n += 4;
				placed = true;
			} else if (what == 1 && left >= 3) {
				opts[n] = 3, opts[n + 1] = 3, opts[n + 2] = 7;	/* window scale */
				n += 3;
			} else if (what == 2 && left >= 2) {
				opts[n] = 4, opts[n + 1] = 2;	/* SACK permitted */
				n += 2;
			} else {
				opts[n++] = 1;
			}
		}
		len = tcp_packet(b, v, WM_TCP_SYN, opts, n, (size_t)(rand_r(&seed) % 3));
		bool changed = wm_mtu_clamp_mss(b, len, mtu);
		size_t most = mtu - (v == 4 ? 40 : 60);

		ck_assert(tcp_checksum_ok(b, len, v));
		if (placed) {
			uint16_t now = wm_get_be16(b + (v == 4 ? 20 : 40) + 20 + at);

			ck_assert_uint_eq(changed, mss > most);
			ck_assert_uint_eq(now, mss > most ? most : mss);
		} else {
			ck_assert(!changed);
		}
	}
}
END_TEST

START_TEST(only_ipv4_with_dont_fragment_is_too_big)
{
	uint8_t b[1500];
	size_t len = tcp_packet(b, 4, WM_TCP_ACK, NULL, 0, 1400);

	ck_assert_int_eq(wm_mtu_check(b, len, 1500), WM_MTU_FITS);
	ck_assert_int_eq(wm_mtu_check(b, len, len), WM_MTU_FITS);
	ck_assert_int_eq(wm_mtu_check(b, len, 1200), WM_MTU_TOO_BIG);
	b[6] = 0;
	ck_assert_int_eq(wm_mtu_check(b, len, 1200), WM_MTU_PASS);
	len = tcp_packet(b, 6, WM_TCP_ACK, NULL, 0, 1220);
	ck_assert_int_eq(wm_mtu_check(b, len, 1200), WM_MTU_PASS);
}
END_TEST

START_TEST(too_big_is_answered_with_fragmentation_needed)
{
	uint8_t b[1500], out[WM_FILTER_REJECT_MAX];
	size_t len = tcp_packet(b, 4, WM_TCP_ACK, NULL, 0, 1400), n;

	/* UDP, as `ping -M do -s` or a DNS answer would be: from the destination, quoting it. */
	b[9] = WM_IPPROTO_UDP;
	n = wm_filter_frag_needed(b, len, 1200, out, sizeof(out));
	ck_assert_uint_eq(n, 576);
	ck_assert_uint_eq(wm_get_be16(out + 2), 576);
	ck_assert_uint_eq(wm_checksum_sum(out, 20), 0xffff);
	ck_assert(!memcmp(out + 12, DST4, 4) && !memcmp(out + 16, SRC4, 4));
	ck_assert_uint_eq(out[9], WM_IPPROTO_ICMP);
	ck_assert_uint_eq(out[20], 3);
	ck_assert_uint_eq(out[21], 4);
	ck_assert_uint_eq(wm_get_be16(out + 24), 0);
	ck_assert_uint_eq(wm_get_be16(out + 26), 1200);
	ck_assert_uint_eq(wm_checksum_sum(out + 20, n - 20), 0xffff);
	ck_assert(!memcmp(out + 28, b, n - 28));

	/* Not for IPv6, fragments, ICMP errors, or a buffer too small to quote the headers. */
	ck_assert_uint_eq(wm_filter_frag_needed(b, len, 1200, out, 20 + 8 + 20 + 8 - 1), 0);
	b[7] = 1;	/* fragment offset 8 */
	wm_put_be16(b + 10, 0);
	wm_put_be16(b + 10, (uint16_t)~wm_checksum_sum(b, 20));
	ck_assert_uint_eq(wm_filter_frag_needed(b, len, 1200, out, sizeof(out)), 0);
	len = tcp_packet(b, 6, WM_TCP_ACK, NULL, 0, 1400);
	ck_assert_uint_eq(wm_filter_frag_needed(b, len, 1200, out, sizeof(out)), 0);
}
END_TEST

static Suite *mtu_suite(void)
{
	Suite *s = suite_create("mtu");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, syn_mss_is_lowered_to_fit_with_a_valid_checksum);
	tcase_add_test(tc, what_fits_or_is_not_a_syn_is_left_alone);
	tcase_add_test(tc, random_option_layouts_keep_valid_checksums);
	tcase_add_test(tc, only_ipv4_with_dont_fragment_is_too_big);
	tcase_add_test(tc, too_big_is_answered_with_fragmentation_needed);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mtu_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
