/* SPDX-License-Identifier: MIT */
/*
 * The data-path AEAD: RFC 8439 known answers under WireGuard's nonce layout,
 * and byte-for-byte agreement with libsodium (the oracle; the backend under
 * test is OpenSSL's EVP when built with it) on random input.
 */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/aead.h"

#ifdef WM_WITH_OPENSSL
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define HAVE_EVP 1
#include <openssl/crypto.h>
#endif
#endif

enum { MAX_LEN = 1 << 17 };

static void unhex(uint8_t *out, const char *hex)
{
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void random_bytes(uint64_t *state, uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)next_random(state);
}

/* The 96-bit nonce WireGuard builds from a counter, written out the long way. */
static void wireguard_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static void sodium_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			size_t adlen, uint64_t counter, const uint8_t *key)
{
	uint8_t nonce[12];

	wireguard_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce, key);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* RFC 8439 §2.8.2. */
static const char rfc_2_8_2_plaintext[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
	"future, sunscreen would be it.";
static const char rfc_2_8_2_aad[] = "50515253c0c1c2c3c4c5c6c7";
static const char rfc_2_8_2_nonce[] = "070000004041424344454647";
static const char rfc_2_8_2_sealed[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	"3ff4def08e4b7a9de576d26586cec64b6116"
	"1ae10b594f09e26a7e902ecbd0600691";

static void rfc_2_8_2_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
}

START_TEST(rfc8439_2_8_2_oracle)
{
	/* The oracle itself must reproduce the RFC before it may judge anything. */
	uint8_t key[32], ad[12], nonce[12], want[130], got[130];
	size_t len = strlen(rfc_2_8_2_plaintext);

	ck_assert_uint_eq(len, 114);
	rfc_2_8_2_key(key);
	unhex(ad, rfc_2_8_2_aad);
	unhex(nonce, rfc_2_8_2_nonce);
	unhex(want, rfc_2_8_2_sealed);
	crypto_aead_chacha20poly1305_ietf_encrypt(got, NULL, (const uint8_t *)rfc_2_8_2_plaintext,
						  len, ad, sizeof(ad), NULL, nonce, key);
	ck_assert_mem_eq(got, want, len + 16);
}
END_TEST

START_TEST(rfc8439_2_8_2_with_wireguard_nonce)
{
	/*
	 * The RFC's nonce starts with the constant 07 00 00 00, which WireGuard's
	 * layout (32 zero bits, then the counter) cannot express. Adapted: the same
	 * key, AAD and text under 00 00 00 00 40 41 .. 47, i.e. the counter
	 * 0x4746454443424140 written little-endian.
	 */
	uint8_t key[32], ad[12], nonce[12], want[130], got[130], opened[114], rfc[130];
	const uint8_t *text = (const uint8_t *)rfc_2_8_2_plaintext;
	uint64_t counter = 0x4746454443424140ULL;
	size_t len = 114;

	rfc_2_8_2_key(key);
	unhex(ad, rfc_2_8_2_aad);
	unhex(nonce, "000000004041424344454647");
	unhex(rfc, rfc_2_8_2_sealed);
	crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, text, len, ad, sizeof(ad), NULL,
						  nonce, key);
	ck_assert(wm_aead_seal(got, text, len, ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(got, want, len + 16);
	ck_assert_mem_ne(got, rfc, len);	/* the constant word does reach the keystream */
	ck_assert(wm_aead_open(opened, got, len + 16, ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(opened, text, len);
	/* The counter's byte order matters: big-endian would be another nonce. */
	ck_assert(!wm_aead_open(opened, got, len + 16, ad, sizeof(ad), __builtin_bswap64(counter),
				key));
}
END_TEST

/*
 * RFC 8439 appendix A.5: its nonce 00 00 00 00 01 02 .. 08 already has
 * WireGuard's layout (counter 0x0807060504030201), so it is a direct known answer.
 */
static const char a5_key[] = "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0";
static const char a5_aad[] = "f33388860000000000004e91";
static const char a5_sealed[] =
	"64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	"4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	"332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	"9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	"b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	"af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	"0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	"49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	"a6ad5cb4022b02709b"
	"eead9d67890cbb22392336fea1851f38";
static const char a5_plaintext[] =
	"Internet-Drafts are draft documents valid for a maximum of six months and may be "
	"updated, replaced, or obsoleted by other documents at any time. It is inappropriate to "
	"use Internet-Drafts as reference material or to cite them other than as "
	"/\xe2\x80\x9cwork in progress./\xe2\x80\x9d";

START_TEST(rfc8439_a5_known_answer)
{
	uint8_t key[32], ad[12], sealed[281], buf[281];
	uint64_t counter = 0x0807060504030201ULL;
	size_t len = strlen(a5_plaintext);

	ck_assert_uint_eq(len, 265);
	unhex(key, a5_key);
	unhex(ad, a5_aad);
	unhex(sealed, a5_sealed);
	ck_assert(wm_aead_open(buf, sealed, len + 16, ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(buf, a5_plaintext, len);
	ck_assert(wm_aead_seal(buf, (const uint8_t *)a5_plaintext, len, ad, sizeof(ad), counter,
			       key));
	ck_assert_mem_eq(buf, sealed, len + 16);
	/* The same in place, both ways. */
	ck_assert(wm_aead_open(buf, buf, len + 16, ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(buf, a5_plaintext, len);
	ck_assert(wm_aead_seal(buf, buf, len, ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(buf, sealed, len + 16);
}
END_TEST

START_TEST(random_round_trips_match_libsodium)
{
	static const size_t fixed[] = { 0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1419, 1420, 1440,
					1500, 4096, 65535, 65536, MAX_LEN };
	uint8_t *plain = malloc(MAX_LEN), *want = malloc(MAX_LEN + 16), *got = malloc(MAX_LEN + 16);
	uint8_t *opened = malloc(MAX_LEN), key[32], ad[64];
	uint64_t rng = 0x5eed0001, counter;
	size_t i, len, adlen;

	for (i = 0; i < 2000; i++) {
		len = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : next_random(&rng) % 1601;
		adlen = next_random(&rng) % 3 == 0 ? 0 : next_random(&rng) % (sizeof(ad) + 1);
		switch (i % 4) {
		case 0: counter = 0; break;
		case 1: counter = UINT64_MAX - next_random(&rng) % 16; break;
		default: counter = next_random(&rng);
		}
		random_bytes(&rng, key, sizeof(key));
		random_bytes(&rng, ad, adlen);
		random_bytes(&rng, plain, len);

		sodium_seal(want, plain, len, adlen ? ad : NULL, adlen, counter, key);
		ck_assert(wm_aead_seal(got, plain, len, adlen ? ad : NULL, adlen, counter, key));
		ck_assert_msg(!memcmp(got, want, len + 16),
			      "sealed bytes differ: len %zu adlen %zu", len, adlen);
		ck_assert(wm_aead_open(opened, got, len + 16, adlen ? ad : NULL, adlen, counter,
				       key));
		ck_assert(!memcmp(opened, plain, len));
	}
	free(plain);
	free(want);
	free(got);
	free(opened);
}
END_TEST

START_TEST(any_change_is_detected_and_output_wiped)
{
	uint8_t key[32], ad[20], plain[64], sealed[80], bad[80], out[64];
	uint64_t rng = 0x5eed0002, counter = 12345;
	size_t i;
	int bit;

	random_bytes(&rng, key, sizeof(key));
	random_bytes(&rng, ad, sizeof(ad));
	random_bytes(&rng, plain, sizeof(plain));
	ck_assert(wm_aead_seal(sealed, plain, sizeof(plain), ad, sizeof(ad), counter, key));

	for (i = 0; i < sizeof(sealed); i++) {
		bit = (int)(i % 8);
		memcpy(bad, sealed, sizeof(bad));
		bad[i] ^= (uint8_t)(1 << bit);
		memset(out, 0xaa, sizeof(out));
		ck_assert_msg(!wm_aead_open(out, bad, sizeof(bad), ad, sizeof(ad), counter, key),
			      "flipped bit %d of byte %zu went unnoticed", bit, i);
		ck_assert(all_zero(out, sizeof(out)));
	}
	ad[3] ^= 0x40;
	ck_assert(!wm_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));
	ad[3] ^= 0x40;
	ck_assert(!wm_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad) - 1, counter, key));
	ck_assert(!wm_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), counter + 1, key));
	key[31] ^= 1;
	ck_assert(!wm_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));
	key[31] ^= 1;
	/* Truncated: shorter than a tag, or a valid tag over fewer bytes. */
	ck_assert(!wm_aead_open(out, sealed, 15, ad, sizeof(ad), counter, key));
	ck_assert(!wm_aead_open(out, sealed, sizeof(sealed) - 1, ad, sizeof(ad), counter, key));
	/* Tampered in place: the buffer's plaintext part is wiped, not left half-decrypted. */
	memcpy(bad, sealed, sizeof(bad));
	bad[79] ^= 1;
	ck_assert(!wm_aead_open(bad, bad, sizeof(bad), ad, sizeof(ad), counter, key));
	ck_assert(all_zero(bad, sizeof(plain)));
	/* And the untouched message still opens after all those failures (no state left over). */
	ck_assert(wm_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), counter, key));
	ck_assert_mem_eq(out, plain, sizeof(plain));
}
END_TEST

START_TEST(in_place_equals_out_of_place)
{
	uint8_t key[32], plain[1420], sealed[1436], buf[1436];
	uint64_t rng = 0x5eed0003;
	size_t len;

	random_bytes(&rng, key, sizeof(key));
	random_bytes(&rng, plain, sizeof(plain));
	for (len = 0; len <= sizeof(plain); len += 71) {
		ck_assert(wm_aead_seal(sealed, plain, len, NULL, 0, len, key));
		memcpy(buf, plain, len);
		ck_assert(wm_aead_seal(buf, buf, len, NULL, 0, len, key));
		ck_assert_mem_eq(buf, sealed, len + 16);
		ck_assert(wm_aead_open(buf, buf, len + 16, NULL, 0, len, key));
		ck_assert(!memcmp(buf, plain, len));
	}
}
END_TEST

START_TEST(empty_plaintext_is_a_tag)
{
	uint8_t key[32], ad[32], want[16], got[16];
	uint64_t rng = 0x5eed0004;

	random_bytes(&rng, key, sizeof(key));
	random_bytes(&rng, ad, sizeof(ad));
	/* A keepalive: no AAD, nothing to seal. */
	sodium_seal(want, NULL, 0, NULL, 0, 7, key);
	ck_assert(wm_aead_seal(got, NULL, 0, NULL, 0, 7, key));
	ck_assert_mem_eq(got, want, 16);
	ck_assert(wm_aead_open(NULL, got, 16, NULL, 0, 7, key));
	/* The handshake's "encrypted nothing": AAD only (this once went wrong with EVP). */
	sodium_seal(want, NULL, 0, ad, sizeof(ad), 0, key);
	ck_assert(wm_aead_seal(got, NULL, 0, ad, sizeof(ad), 0, key));
	ck_assert_mem_eq(got, want, 16);
	ck_assert(wm_aead_open(NULL, got, 16, ad, sizeof(ad), 0, key));
	got[0] ^= 1;
	ck_assert(!wm_aead_open(NULL, got, 16, ad, sizeof(ad), 0, key));
	ck_assert(!wm_aead_open(NULL, got, 0, NULL, 0, 0, key));
}
END_TEST

START_TEST(implementation_is_named)
{
	const char *name = wm_aead_implementation();

	ck_assert_ptr_nonnull(name);
#if defined(WM_WITH_OPENSSL) && OPENSSL_VERSION_NUMBER >= 0x30000000L
	ck_assert_msg(!strncmp(name, "openssl-", 8), "built with OpenSSL but runs %s", name);
	ck_assert(strstr(name, "chacha20-poly1305") != NULL);
#else
	ck_assert_msg(!strncmp(name, "libsodium ", 10), "runs %s", name);
#endif
	ck_assert_str_eq(name, wm_aead_implementation());
}
END_TEST

#ifdef HAVE_EVP
/* Every allocation libcrypto makes, counted (installed first thing in main). */
static long openssl_allocations;
static bool counting;

static void *count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	openssl_allocations++;
	return malloc(n);
}

static void *count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	openssl_allocations++;
	return realloc(p, n);
}

static void count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

START_TEST(no_allocation_per_packet)
{
	uint8_t key[32] = { 1 }, buf[1436] = { 0 };
	long before;
	int i;

	ck_assert_msg(counting, "could not hook libcrypto's allocator");
	ck_assert(wm_aead_seal(buf, buf, 1420, NULL, 0, 0, key));	/* creates the context */
	ck_assert(wm_aead_open(buf, buf, 1436, NULL, 0, 0, key));
	before = openssl_allocations;
	for (i = 1; i <= 100; i++) {
		ck_assert(wm_aead_seal(buf, buf, 1420, NULL, 0, (uint64_t)i, key));
		ck_assert(wm_aead_open(buf, buf, 1436, NULL, 0, (uint64_t)i, key));
		buf[0] ^= 1;	/* and a failed open */
		ck_assert(!wm_aead_open(buf, buf, 1436, NULL, 0, (uint64_t)i, key));
	}
	ck_assert_int_eq(openssl_allocations, before);
}
END_TEST
#endif

/* Threads each seal and open with their own keys at the same time; each checks the oracle. */
struct thread_job {
	uint64_t seed;
	int failures;
};

static void *thread_main(void *arg)
{
	struct thread_job *job = arg;
	uint8_t key[32], plain[1420], want[1436], got[1436];
	uint64_t rng = job->seed;
	int i;

	random_bytes(&rng, key, sizeof(key));
	for (i = 0; i < 500; i++) {
		size_t len = next_random(&rng) % sizeof(plain);

		random_bytes(&rng, plain, len);
		sodium_seal(want, plain, len, NULL, 0, (uint64_t)i, key);
		if (!wm_aead_seal(got, plain, len, NULL, 0, (uint64_t)i, key) ||
		    memcmp(got, want, len + 16) ||
		    !wm_aead_open(got, got, len + 16, NULL, 0, (uint64_t)i, key) ||
		    memcmp(got, plain, len))
			job->failures++;
	}
	return NULL;
}

START_TEST(threads_do_not_share_state)
{
	enum { THREADS = 4 };
	pthread_t tid[THREADS];
	struct thread_job jobs[THREADS];
	int i;

	for (i = 0; i < THREADS; i++) {
		jobs[i] = (struct thread_job){ .seed = 0x5eed0100 + (uint64_t)i };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, thread_main, &jobs[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		ck_assert_int_eq(jobs[i].failures, 0);
	}
}
END_TEST

static Suite *aead_suite(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("chacha20-poly1305");

	tcase_add_test(tc, rfc8439_2_8_2_oracle);
	tcase_add_test(tc, rfc8439_2_8_2_with_wireguard_nonce);
	tcase_add_test(tc, rfc8439_a5_known_answer);
	tcase_add_test(tc, random_round_trips_match_libsodium);
	tcase_add_test(tc, any_change_is_detected_and_output_wiped);
	tcase_add_test(tc, in_place_equals_out_of_place);
	tcase_add_test(tc, empty_plaintext_is_a_tag);
	tcase_add_test(tc, implementation_is_named);
	tcase_add_test(tc, threads_do_not_share_state);
#ifdef HAVE_EVP
	tcase_add_test(tc, no_allocation_per_packet);
#endif
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failures;

#ifdef HAVE_EVP
	counting = CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) == 1;
#endif
	if (sodium_init() < 0)
		return 1;
	printf("aead: %s\n", wm_aead_implementation());
	sr = srunner_create(aead_suite());
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
