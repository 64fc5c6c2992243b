/* SPDX-License-Identifier: MIT */
#include "common/encoding.h"

#include <check.h>
#include <sodium.h>
#include <string.h>

#define B64_ZERO "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define B64_COUNT "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define B64_FF "//////////////////////////////////////////8="
#define HEX_COUNT "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* The private key in the wg(8) manual's example configuration. */
#define B64_WG "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define HEX_WG "c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void random_key(uint8_t key[WM_KEY_LEN], uint64_t *state)
{
	for (int i = 0; i < WM_KEY_LEN; i += 8) {
		uint64_t r = next_random(state);

		memcpy(key + i, &r, 8);
	}
}

/* The acceptance rule written out plainly, with lookups and branches. */
static bool naive_b64_valid(const char *text)
{
	const char *p;

	if (strlen(text) != 44 || text[43] != '=')
		return false;
	for (int i = 0; i < 43; i++)
		if (!text[i] || !strchr(alphabet, text[i]))
			return false;
	p = strchr(alphabet, text[42]);
	return (p - alphabet) % 4 == 0;
}

static bool naive_hex_valid(const char *text)
{
	if (strlen(text) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!text[i] || !strchr("0123456789abcdefABCDEF", text[i]))
			return false;
	return true;
}

static void check_vector(const uint8_t key[WM_KEY_LEN], const char *b64, const char *hex)
{
	char b64_out[WM_KEY_B64_LEN], hex_out[WM_KEY_HEX_LEN];
	uint8_t back[WM_KEY_LEN];

	wm_key_to_base64(b64_out, key);
	ck_assert_str_eq(b64_out, b64);
	wm_key_to_hex(hex_out, key);
	ck_assert_str_eq(hex_out, hex);
	memset(back, 0x5a, sizeof(back));
	ck_assert(wm_key_from_base64(back, b64));
	ck_assert_mem_eq(back, key, WM_KEY_LEN);
	memset(back, 0x5a, sizeof(back));
	ck_assert(wm_key_from_hex(back, hex));
	ck_assert_mem_eq(back, key, WM_KEY_LEN);
}

START_TEST(test_vectors)
{
	uint8_t key[WM_KEY_LEN];
	char hex[WM_KEY_HEX_LEN];

	memset(key, 0, sizeof(key));
	memset(hex, '0', 64);
	hex[64] = '\0';
	check_vector(key, B64_ZERO, hex);

	for (int i = 0; i < WM_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	check_vector(key, B64_COUNT, HEX_COUNT);

	memset(key, 0xff, sizeof(key));
	memset(hex, 'f', 64);
	check_vector(key, B64_FF, hex);

	ck_assert(wm_key_from_hex(key, HEX_WG));
	check_vector(key, B64_WG, HEX_WG);
}
END_TEST

START_TEST(test_hex_either_case)
{
	uint8_t key[WM_KEY_LEN], want[WM_KEY_LEN];
	char text[WM_KEY_HEX_LEN];

	ck_assert(wm_key_from_hex(want, HEX_WG));
	for (int i = 0; i < 64; i++)
		text[i] = (char)(HEX_WG[i] >= 'a' ? HEX_WG[i] - 'a' + 'A' : HEX_WG[i]);
	text[64] = '\0';
	ck_assert(wm_key_from_hex(key, text));
	ck_assert_mem_eq(key, want, WM_KEY_LEN);
	text[0] = 'c';
	text[6] = 'e';
	ck_assert(wm_key_from_hex(key, text));
	ck_assert_mem_eq(key, want, WM_KEY_LEN);
}
END_TEST

START_TEST(test_random_round_trips)
{
	uint8_t key[WM_KEY_LEN], back[WM_KEY_LEN];
	char b64[WM_KEY_B64_LEN], hex[WM_KEY_HEX_LEN];
	char ref_b64[WM_KEY_B64_LEN], ref_hex[WM_KEY_HEX_LEN];
	uint64_t rng = 42;

	ck_assert_int_ge(sodium_init(), 0);
	for (int n = 0; n < 10000; n++) {
		random_key(key, &rng);
		wm_key_to_base64(b64, key);
		wm_key_to_hex(hex, key);
		/* libsodium's own codecs as an independent reference */
		sodium_bin2base64(ref_b64, sizeof(ref_b64), key, WM_KEY_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		sodium_bin2hex(ref_hex, sizeof(ref_hex), key, WM_KEY_LEN);
		if (strcmp(b64, ref_b64) || strcmp(hex, ref_hex))
			ck_abort_msg("key %d: %s / %s, want %s / %s", n, b64, hex, ref_b64,
				     ref_hex);
		if (!wm_key_from_base64(back, b64) || memcmp(back, key, WM_KEY_LEN))
			ck_abort_msg("key %d: base64 %s does not round-trip", n, b64);
		if (!wm_key_from_hex(back, hex) || memcmp(back, key, WM_KEY_LEN))
			ck_abort_msg("key %d: hex %s does not round-trip", n, hex);
	}
}
END_TEST

/* Every byte value at a few positions: accepted exactly when the plain rule says so. */
START_TEST(test_b64_every_char)
{
	static const int positions[] = { 0, 1, 2, 3, 20, 39, 40, 41, 42, 43 };
	static const char *const bases[] = { B64_ZERO, B64_FF, B64_WG, B64_COUNT };
	char text[WM_KEY_B64_LEN], again[WM_KEY_B64_LEN];
	uint8_t key[WM_KEY_LEN];
	int accepted = 0, rejected = 0;

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
			for (int ch = 0; ch < 256; ch++) {
				bool want, got;

				strcpy(text, bases[b]);
				text[positions[p]] = (char)ch;
				want = naive_b64_valid(text);
				got = wm_key_from_base64(key, text);
				if (got != want)
					ck_abort_msg("%s with 0x%02x at %d: got %d, want %d",
						     bases[b], ch, positions[p], got, want);
				if (!got) {
					rejected++;
					continue;
				}
				/* Only the canonical form is accepted: it re-encodes to itself. */
				wm_key_to_base64(again, key);
				ck_assert_str_eq(again, text);
				accepted++;
			}
		}
	}
	ck_assert_int_gt(accepted, 1000);
	ck_assert_int_gt(rejected, 1000);
}
END_TEST

START_TEST(test_hex_every_char)
{
	static const int positions[] = { 0, 1, 30, 62, 63 };
	char text[WM_KEY_HEX_LEN], again[WM_KEY_HEX_LEN];
	uint8_t key[WM_KEY_LEN];

	for (size_t p = 0; p < sizeof(positions) / sizeof(positions[0]); p++) {
		for (int ch = 0; ch < 256; ch++) {
			bool want, got;

			strcpy(text, HEX_WG);
			text[positions[p]] = (char)ch;
			want = naive_hex_valid(text);
			got = wm_key_from_hex(key, text);
			if (got != want)
				ck_abort_msg("0x%02x at %d: got %d, want %d", ch, positions[p], got,
					     want);
			if (got) {
				wm_key_to_hex(again, key);
				ck_assert_int_eq(strcasecmp(again, text), 0);
			}
		}
	}
}
END_TEST

START_TEST(test_b64_rejects)
{
	static const char *const bad[] = {
		"",
		"=",
		B64_ZERO "A",					/* 45 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",	/* 43 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* no padding */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",	/* 44, no padding */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",	/* two pads */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",	/* unused bits set */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD=",
		"//////////////////////////////////////////9=",
		"///////////////////////////////////////////=",
		"__________________________________________8=",	/* URL-safe alphabet */
		"-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		B64_ZERO " ",
		B64_ZERO "\n",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"AAAAAAAAAAAAAAAA=AAAAAAAAAAAAAAAAAAAAAAAAAA=",	/* pad in the middle */
		B64_WG B64_WG,
	};
	uint8_t key[WM_KEY_LEN], pattern[WM_KEY_LEN];

	memset(pattern, 0xa5, sizeof(pattern));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(key, pattern, sizeof(key));
		ck_assert_msg(!wm_key_from_base64(key, bad[i]), "accepted \"%s\"", bad[i]);
		ck_assert_msg(!memcmp(key, pattern, sizeof(key)), "\"%s\" changed the key", bad[i]);
	}
	/* The unused bits are the low two of the last character: 'E' = 4 is canonical. */
	ck_assert(wm_key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="));
	ck_assert_uint_eq(key[30], 0);
	ck_assert_uint_eq(key[31], 0x01);
}
END_TEST

START_TEST(test_hex_rejects)
{
	static const char *const bad[] = {
		"",
		HEX_COUNT "0",
		"00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",	/* 63 */
		"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
		" 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1:",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1@",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1`",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1G",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1/",
		B64_WG,
	};
	uint8_t key[WM_KEY_LEN], pattern[WM_KEY_LEN];

	memset(pattern, 0xa5, sizeof(pattern));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(key, pattern, sizeof(key));
		ck_assert_msg(!wm_key_from_hex(key, bad[i]), "accepted \"%s\"", bad[i]);
		ck_assert_msg(!memcmp(key, pattern, sizeof(key)), "\"%s\" changed the key", bad[i]);
	}
}
END_TEST

START_TEST(test_embedded_nul)
{
	char text[2 * WM_KEY_HEX_LEN];
	uint8_t key[WM_KEY_LEN], pattern[WM_KEY_LEN];

	memset(pattern, 0xa5, sizeof(pattern));
	for (int at = 0; at < 44; at++) {
		memcpy(text, B64_WG, sizeof(B64_WG));
		text[at] = '\0';
		memcpy(key, pattern, sizeof(key));
		ck_assert_msg(!wm_key_from_base64(key, text), "NUL at %d accepted", at);
		ck_assert(!memcmp(key, pattern, sizeof(key)));
	}
	for (int at = 0; at < 64; at++) {
		memcpy(text, HEX_WG, sizeof(HEX_WG));
		text[at] = '\0';
		memcpy(key, pattern, sizeof(key));
		ck_assert_msg(!wm_key_from_hex(key, text), "NUL at %d accepted", at);
		ck_assert(!memcmp(key, pattern, sizeof(key)));
	}
	/* Bytes after the terminating NUL are not part of the text. */
	memcpy(text, B64_WG "\0garbage", sizeof(B64_WG "\0garbage"));
	ck_assert(wm_key_from_base64(key, text));
	memcpy(text, HEX_WG "\0ff", sizeof(HEX_WG "\0ff"));
	ck_assert(wm_key_from_hex(key, text));
}
END_TEST

START_TEST(test_is_zero)
{
	uint8_t key[WM_KEY_LEN];

	memset(key, 0, sizeof(key));
	ck_assert(wm_key_is_zero(key));
	for (int i = 0; i < WM_KEY_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			key[i] = (uint8_t)(1u << bit);
			ck_assert_msg(!wm_key_is_zero(key), "byte %d bit %d", i, bit);
			key[i] = 0;
		}
	}
	memset(key, 0xff, sizeof(key));
	ck_assert(!wm_key_is_zero(key));
}
END_TEST

static Suite *encoding_suite(void)
{
	Suite *s = suite_create("encoding");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_hex_either_case);
	tcase_add_test(tc, test_random_round_trips);
	tcase_add_test(tc, test_b64_every_char);
	tcase_add_test(tc, test_hex_every_char);
	tcase_add_test(tc, test_b64_rejects);
	tcase_add_test(tc, test_hex_rejects);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_is_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(encoding_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
