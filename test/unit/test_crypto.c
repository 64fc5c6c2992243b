/* SPDX-License-Identifier: MIT */
/* Known answers for the primitives under Noise: BLAKE2s, keyed MAC, MAC1/MAC2, HMAC/KDF, X25519, the AEADs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cookie.h"
#include "engine/crypto.h"
#include "engine/noise.h"

static void unhex(uint8_t *out, const char *hex)
{
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void assert_hex(const uint8_t *got, const char *hex)
{
	uint8_t want[64];
	size_t n = strlen(hex) / 2;

	unhex(want, hex);
	ck_assert_mem_eq(got, want, n);
}

START_TEST(blake2s_known_answers)
{
	uint8_t out[WM_HASH_LEN];

	/* BLAKE2s-256 of "" and "abc" (RFC 7693, appendix B and the reference test vectors). */
	wm_crypto_hash(out, "", 0, NULL, 0);
	assert_hex(out, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	wm_crypto_hash(out, "abc", 3, NULL, 0);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* HASH(a || b) is the hash of the concatenation. */
	wm_crypto_hash(out, "a", 1, "bc", 2);
	assert_hex(out, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}
END_TEST

/*
 * Keyed BLAKE2s with a 16-byte output (§5.4's MAC), computed with Python 3's hashlib, an
 * implementation independent of libb2:
 *   python3 -c 'from hashlib import blake2s as b; print(b(b"", key=bytes(range(32)), digest_size=16).hexdigest())'
 * and likewise for bytes(range(64)) under the same key, and b"abc" under key=bytes(range(16)).
 */
START_TEST(keyed_blake2s_known_answer)
{
	uint8_t key[32], in[64], mac[WM_MAC_LEN];
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	wm_crypto_mac(mac, key, 32, "", 0);
	assert_hex(mac, "9536f9b267655743dee97b8a670f9f53");
	wm_crypto_mac(mac, key, 32, in, sizeof(in));
	assert_hex(mac, "f1efa90d2547036841ecd3627fafbc36");
	/* A 16-byte key, as a cookie is when it keys MAC2. */
	wm_crypto_mac(mac, key, 16, "abc", 3);
	assert_hex(mac, "75296c2d2c0f51210b383f386bc8b1ff");
}
END_TEST

/*
 * MAC1 and MAC2 of handshake messages (§5.4.4): MAC1 = MAC(HASH("mac1----" || Spub_responder),
 * msg up to mac1), MAC2 = MAC(cookie, msg up to mac2). Computed with Python 3's hashlib:
 *
 *   from hashlib import blake2s as b
 *   pub = bytes.fromhex(RESPONDER_PUBLIC)                      # RFC 7748's Bob
 *   k1 = b(b"mac1----" + pub).digest()                         # MAC1_KEY
 *   m = bytes([1, 0, 0, 0]) + bytes(range(4, 116))             # initiation up to mac1
 *   mac1 = b(m, key=k1, digest_size=16).digest()               # INIT_MAC1
 *   b(m + mac1, key=bytes(range(0xa0, 0xb0)), digest_size=16)  # INIT_MAC2, under that cookie
 *   b(bytes([2, 0, 0, 0]) + bytes(range(4, 60)), key=k1, digest_size=16)  # RESP_MAC1
 *   b(b"cookie--" + pub).digest()                              # COOKIE_KEY
 *   tau = b(bytes([198, 51, 100, 1]) + (51820).to_bytes(2, "big"),
 *           key=bytes(range(0x40, 0x60)), digest_size=16)      # the responder's cookie (§5.4.7)
 *   b(m + mac1, key=tau.digest(), digest_size=16)              # CHECKER_MAC2
 */
#define RESPONDER_PUBLIC "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define MAC1_KEY "52c0a95717f46ba7941f80cec1ead35984c9f023a996170d9e47e314d260dc96"
#define COOKIE_KEY "da2c25a7f8182d2a7a58b0978d9dcd7e5f76c3fcf138fd6e5754404304cacba0"
#define INIT_MAC1 "aeabcb4cc85ea2d826536bafc85b8e02"
#define INIT_MAC2 "898ab247db95622a4561c2c7d6725012"
#define RESP_MAC1 "e0b844b1f055b53eebb81028c6cb0eb7"
#define CHECKER_MAC2 "f68b01a14013f106e16a7ed15723aa48"

enum { INIT_MAC1_AT = WM_MSG_INITIATION_LEN - 2 * WM_MAC_LEN, INIT_MAC2_AT = INIT_MAC1_AT + WM_MAC_LEN };

/* The initiation the vectors were computed over, MACs not yet filled in. */
static void make_initiation(uint8_t msg[WM_MSG_INITIATION_LEN])
{
	size_t i;

	memset(msg, 0, WM_MSG_INITIATION_LEN);
	msg[0] = WM_MSG_HANDSHAKE_INITIATION;
	for (i = 4; i < INIT_MAC1_AT; i++)
		msg[i] = (uint8_t)i;
}

START_TEST(mac1_and_mac2_known_answers)
{
	const uint64_t now = 1000 * WM_NSEC_PER_SEC;
	uint8_t pub[WM_KEY_LEN], msg[WM_MSG_INITIATION_LEN], resp[WM_MSG_RESPONSE_LEN] = { 0 };
	uint8_t cookie[WM_COOKIE_LEN], zero[WM_MAC_LEN] = { 0 };
	struct wm_msg_cookie reply = { 0 };
	struct wm_cookie state;
	size_t i;

	unhex(pub, RESPONDER_PUBLIC);
	wm_cookie_init(&state, pub);
	assert_hex(state.mac1_key, MAC1_KEY);
	assert_hex(state.cookie_key, COOKIE_KEY);

	/* No cookie yet: MAC1 only, MAC2 all zeros. */
	make_initiation(msg);
	wm_cookie_add_macs(&state, msg, sizeof(msg), now);
	assert_hex(msg + INIT_MAC1_AT, INIT_MAC1);
	ck_assert_mem_eq(msg + INIT_MAC2_AT, zero, WM_MAC_LEN);

	/* The responder's cookie reply, sealed to the MAC1 just sent; then MAC2 covers MAC1 too. */
	for (i = 0; i < sizeof(cookie); i++)
		cookie[i] = (uint8_t)(0xa0 + i);
	memset(reply.nonce, 0x24, sizeof(reply.nonce));
	wm_crypto_xaead_seal(reply.encrypted_cookie, cookie, sizeof(cookie), msg + INIT_MAC1_AT,
			     WM_MAC_LEN, reply.nonce, state.cookie_key);
	ck_assert(wm_cookie_consume_reply(&state, &reply, now));
	make_initiation(msg);
	wm_cookie_add_macs(&state, msg, sizeof(msg), now);
	assert_hex(msg + INIT_MAC1_AT, INIT_MAC1);
	assert_hex(msg + INIT_MAC2_AT, INIT_MAC2);

	/* A response's MACs close it the same way, at its own offsets. */
	resp[0] = WM_MSG_HANDSHAKE_RESPONSE;
	for (i = 4; i < WM_MSG_RESPONSE_LEN - 2 * WM_MAC_LEN; i++)
		resp[i] = (uint8_t)i;
	wm_cookie_add_macs(&state, resp, sizeof(resp), now);
	assert_hex(resp + WM_MSG_RESPONSE_LEN - 2 * WM_MAC_LEN, RESP_MAC1);
}
END_TEST

/* The checker's cookie secret: bytes 0x40, 0x41, ... as in the Python above. */
static void counting_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	(void)ctx;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(0x40 + i);
}

START_TEST(mac_checks_known_answers)
{
	const struct wm_rng rng = { .fill = counting_fill };
	struct wm_cookie_checker checker = { 0 };
	struct wm_endpoint src, other_port;
	uint8_t pub[WM_KEY_LEN], msg[WM_MSG_INITIATION_LEN];

	unhex(pub, RESPONDER_PUBLIC);
	wm_cookie_checker_init(&checker, pub);
	assert_hex(checker.mac1_key, MAC1_KEY);
	make_initiation(msg);
	unhex(msg + INIT_MAC1_AT, INIT_MAC1);
	unhex(msg + INIT_MAC2_AT, CHECKER_MAC2);
	ck_assert_int_eq(wm_endpoint_parse(&src, "198.51.100.1:51820"), 0);
	ck_assert_int_eq(wm_endpoint_parse(&other_port, "198.51.100.1:51821"), 0);

	ck_assert_int_eq(wm_cookie_validate(&checker, msg, sizeof(msg), &src, false, 0, &rng),
			 WM_COOKIE_VALID_MAC1);
	/* Under load: MAC2 under the cookie for exactly this source address and port. */
	ck_assert_int_eq(wm_cookie_validate(&checker, msg, sizeof(msg), &src, true, 0, &rng),
			 WM_COOKIE_VALID_MAC1_AND_MAC2);
	ck_assert_int_eq(wm_cookie_validate(&checker, msg, sizeof(msg), &other_port, true, 0, &rng),
			 WM_COOKIE_VALID_MAC1);
	msg[INIT_MAC1_AT] ^= 1;
	ck_assert_int_eq(wm_cookie_validate(&checker, msg, sizeof(msg), &src, true, 0, &rng),
			 WM_COOKIE_INVALID_MAC);
}
END_TEST

/* KDF vectors published with wireguard-go (device/kdf_test.go). The HMAC key is zero-padded to
 * the block, so a short key equals the same key padded with zeros to 32 bytes. */
static const struct {
	const char *key, *input, *t0, *t1, *t2;
} kdf_vectors[] = {
	{ "746573742d6b6579", "746573742d696e707574",
	  "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
	  "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
	  "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" },
	{ "776972656775617264", "776972656775617264",
	  "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
	  "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
	  "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" },
	{ "", "",
	  "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
	  "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
	  "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" },
};

START_TEST(kdf_known_answers)
{
	uint8_t key[WM_HASH_LEN] = { 0 }, input[64], t0[32], t1[32], t2[32];
	size_t inlen = strlen(kdf_vectors[_i].input) / 2;

	unhex(key, kdf_vectors[_i].key);
	unhex(input, kdf_vectors[_i].input);
	wm_crypto_kdf(t0, t1, t2, key, input, inlen);
	assert_hex(t0, kdf_vectors[_i].t0);
	assert_hex(t1, kdf_vectors[_i].t1);
	assert_hex(t2, kdf_vectors[_i].t2);
	/* KDF1 and KDF2 are prefixes of KDF3. */
	memset(t1, 0, sizeof(t1));
	wm_crypto_kdf(t0, t1, NULL, key, input, inlen);
	assert_hex(t1, kdf_vectors[_i].t1);
	wm_crypto_kdf(t0, NULL, NULL, key, input, inlen);
	assert_hex(t0, kdf_vectors[_i].t0);
}
END_TEST

START_TEST(hmac_long_key_is_hashed)
{
	uint8_t key[100], hashed[WM_HASH_LEN], a[WM_HASH_LEN], b[WM_HASH_LEN];

	memset(key, 0x42, sizeof(key));
	wm_crypto_hash(hashed, key, sizeof(key), NULL, 0);
	wm_crypto_hmac(a, key, sizeof(key), "msg", 3);
	wm_crypto_hmac(b, hashed, sizeof(hashed), "msg", 3);
	ck_assert_mem_eq(a, b, WM_HASH_LEN);
}
END_TEST

START_TEST(x25519_rfc7748_vector)
{
	/* RFC 7748 §6.1: Alice and Bob agree on the shared secret. */
	uint8_t a_priv[32], b_pub[32], shared[32], a_pub[32];

	unhex(a_priv, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b_pub, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	ck_assert(wm_crypto_public_from_private(a_pub, a_priv));
	assert_hex(a_pub, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	ck_assert(wm_crypto_dh(shared, a_priv, b_pub));
	assert_hex(shared, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}
END_TEST

START_TEST(x25519_rejects_low_order_points)
{
	uint8_t priv[32], zero[32] = { 0 }, out[32];

	memset(priv, 0x55, sizeof(priv));
	ck_assert(!wm_crypto_dh(out, priv, zero));
	ck_assert(wm_crypto_equal(out, zero, 32));
}
END_TEST

START_TEST(aead_round_trip_and_tamper)
{
	uint8_t key[32], msg[100], sealed[116], opened[100];

	memset(key, 7, sizeof(key));
	memset(msg, 0xab, sizeof(msg));
	wm_crypto_aead_seal(sealed, msg, sizeof(msg), (const uint8_t *)"ad", 2, 42, key);
	ck_assert(wm_crypto_aead_open(opened, sealed, sizeof(sealed), (const uint8_t *)"ad", 2, 42, key));
	ck_assert_mem_eq(opened, msg, sizeof(msg));
	ck_assert(!wm_crypto_aead_open(opened, sealed, sizeof(sealed), (const uint8_t *)"ad", 2, 43, key));
	ck_assert(!wm_crypto_aead_open(opened, sealed, sizeof(sealed), (const uint8_t *)"AD", 2, 42, key));
	sealed[3] ^= 1;
	ck_assert(!wm_crypto_aead_open(opened, sealed, sizeof(sealed), (const uint8_t *)"ad", 2, 42, key));
	ck_assert(!wm_crypto_aead_open(opened, sealed, 15, NULL, 0, 42, key));
}
END_TEST

START_TEST(aead_nonce_layout)
{
	/* RFC 8439 §2.8.2 uses a 12-byte nonce; WireGuard's is 4 zero bytes + 64-bit LE counter.
	 * Sealing the empty message under counter 0 and under the RFC's own nonce layout must agree
	 * only when the counter maps to those bytes. */
	uint8_t key[32] = { 1 }, a[16], b[16];

	wm_crypto_aead_seal(a, NULL, 0, NULL, 0, 0x0102030405060708ULL, key);
	wm_crypto_aead_seal(b, NULL, 0, NULL, 0, 0x0807060504030201ULL, key);
	ck_assert_mem_ne(a, b, 16);
}
END_TEST

START_TEST(xaead_round_trip)
{
	uint8_t key[32] = { 9 }, nonce[24] = { 3 }, msg[16] = { 5 }, sealed[32], opened[16];

	wm_crypto_xaead_seal(sealed, msg, 16, (const uint8_t *)"m", 1, nonce, key);
	ck_assert(wm_crypto_xaead_open(opened, sealed, 32, (const uint8_t *)"m", 1, nonce, key));
	ck_assert_mem_eq(opened, msg, 16);
	nonce[0] ^= 1;
	ck_assert(!wm_crypto_xaead_open(opened, sealed, 32, (const uint8_t *)"m", 1, nonce, key));
}
END_TEST

START_TEST(tai64n_layout_and_order)
{
	uint8_t a[12], b[12], c[12];

	/* 2^62 + 10 + seconds, big-endian, then nanoseconds coarsened to 2^24 ns. */
	wm_noise_tai64n(a, 0);
	assert_hex(a, "400000000000000a00000000");
	wm_noise_tai64n(b, 1 * WM_NSEC_PER_SEC + 20000000);
	assert_hex(b, "400000000000000b01000000");
	wm_noise_tai64n(c, 1 * WM_NSEC_PER_SEC + 20000001);
	ck_assert_mem_eq(b, c, 12);	/* within one granule: equal, so a replay check rejects */
	ck_assert_int_lt(memcmp(a, b, 12), 0);
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("known answers");

	/* Check's default of 4 s is no margin for crypto under the sanitizers on a loaded machine. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, blake2s_known_answers);
	tcase_add_test(tc, keyed_blake2s_known_answer);
	tcase_add_test(tc, mac1_and_mac2_known_answers);
	tcase_add_test(tc, mac_checks_known_answers);
	tcase_add_loop_test(tc, kdf_known_answers, 0, sizeof(kdf_vectors) / sizeof(kdf_vectors[0]));
	tcase_add_test(tc, hmac_long_key_is_hashed);
	tcase_add_test(tc, x25519_rfc7748_vector);
	tcase_add_test(tc, x25519_rejects_low_order_points);
	tcase_add_test(tc, aead_round_trip_and_tamper);
	tcase_add_test(tc, aead_nonce_layout);
	tcase_add_test(tc, xaead_round_trip);
	tcase_add_test(tc, tai64n_layout_and_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	int failed;

	wm_crypto_init();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
