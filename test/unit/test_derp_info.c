/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_info.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

static int parse_client(const char *json, struct wm_derp_client_info *info)
{
	return wm_derp_client_info_parse(info, json, strlen(json));
}

START_TEST(test_client_info_format)
{
	struct wm_derp_client_info info = { .version = 2, .can_ack_pings = true };
	char buf[128];

	/* What Go's json.Marshal writes for derp_client.go clientInfo (fields in order). */
	ck_assert_int_eq(wm_derp_client_info_format(buf, sizeof(buf), &info), 32);
	ck_assert_str_eq(buf, "{\"version\":2,\"CanAckPings\":true}");
	info = (struct wm_derp_client_info){ 0 };
	wm_derp_client_info_format(buf, sizeof(buf), &info);
	ck_assert_str_eq(buf, "{\"CanAckPings\":false}");	/* no omitempty on CanAckPings */
	info.is_prober = true;
	wm_derp_client_info_format(buf, sizeof(buf), &info);
	ck_assert_str_eq(buf, "{\"CanAckPings\":false,\"IsProber\":true}");
	ck_assert_int_eq(wm_derp_client_info_format(buf, 10, &info), -ENOSPC);
}
END_TEST

START_TEST(test_server_info_format)
{
	struct wm_derp_server_info info = { .version = 2 };
	char buf[128];

	wm_derp_server_info_format(buf, sizeof(buf), &info);
	ck_assert_str_eq(buf, "{\"version\":2}");
	info.token_bucket_bytes_per_second = 1000;
	info.token_bucket_bytes_burst = 20;
	wm_derp_server_info_format(buf, sizeof(buf), &info);
	ck_assert_str_eq(buf, "{\"version\":2,\"TokenBucketBytesPerSecond\":1000,"
			      "\"TokenBucketBytesBurst\":20}");
	info = (struct wm_derp_server_info){ .token_bucket_bytes_burst = 5 };
	wm_derp_server_info_format(buf, sizeof(buf), &info);
	ck_assert_str_eq(buf, "{\"TokenBucketBytesBurst\":5}");
	ck_assert_int_eq(wm_derp_server_info_parse(&info, buf, strlen(buf)), 0);
	ck_assert_int_eq(info.token_bucket_bytes_burst, 5);
}
END_TEST

START_TEST(test_client_info_parse_like_go)
{
	struct wm_derp_client_info info;

	ck_assert_int_eq(parse_client("{\"version\":2,\"CanAckPings\":true}", &info), 0);
	ck_assert_int_eq(info.version, 2);
	ck_assert(info.can_ack_pings);
	/* encoding/json: case-insensitive keys, unknown keys and nulls ignored, last one wins. */
	ck_assert_int_eq(parse_client(" {\"VERSION\" : 7 , \"canackpings\":true,\"isprober\":true,"
				      "\"meshKey\":\"00ff\",\"AppName\":null,\"x\":{\"y\":[1,2,"
				      "{\"z\":null}]},\"version\":3} \n", &info), 0);
	ck_assert_int_eq(info.version, 3);
	ck_assert(info.can_ack_pings && info.is_prober);
	ck_assert_int_eq(parse_client("{\"version\":null,\"CanAckPings\":null}", &info), 0);
	ck_assert_int_eq(info.version, 0);
	ck_assert_int_eq(parse_client("{}", &info), 0);
	/* An escaped key still names the field. */
	ck_assert_int_eq(parse_client("{\"\\u0076ersion\":9}", &info), 0);
	ck_assert_int_eq(info.version, 9);

	/* A value of the wrong type fails the whole decode, as in Go. */
	ck_assert_int_eq(parse_client("{\"version\":\"2\"}", &info), -EBADMSG);
	ck_assert_int_eq(parse_client("{\"version\":2.5}", &info), -EBADMSG);
	ck_assert_int_eq(parse_client("{\"version\":1e2}", &info), -EBADMSG);
	ck_assert_int_eq(parse_client("{\"version\":99999999999999999999}", &info), -EBADMSG);
	ck_assert_int_eq(parse_client("{\"CanAckPings\":1}", &info), -EBADMSG);
	ck_assert_int_eq(parse_client("{\"meshKey\":5}", &info), -EBADMSG);
}
END_TEST

START_TEST(test_json_rejects)
{
	static const char *const bad[] = {
		"", " ", "[]", "null", "2", "\"s\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{,}", "{\"a\":1}}", "{\"a\":1} x", "{'a':1}", "{a:1}", "{\"a\":01}", "{\"a\":-}",
		"{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":nul}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\x01\"}", "{\"a\":\"open}",
		"{\"a\":[1,]}", "{\"a\":[1 2]}", "{\"a\":{\"b\"}}", "{\"a\":1 \"b\":2}",
		"{\"a\":+1}", "{\"a\":Infinity}", "{\"a\":NaN}",
	};
	struct wm_derp_client_info info;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_client(bad[i], &info) == -EBADMSG, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_json_depth)
{
	static char text[4 * 4096];
	struct wm_derp_client_info info;
	size_t n = 0;

	/*
	 * Nesting is bounded by jansson (2048 levels, its JSON_PARSER_MAX_DEPTH): 32 levels (the
	 * object counts) are fine, thousands are refused without exhausting the stack.
	 */
	for (int depth = 32; depth <= 4000; depth += 4000 - 32) {
		n = (size_t)sprintf(text, "{\"a\":");
		for (int i = 1; i < depth; i++)
			text[n++] = '[';
		text[n++] = '1';
		for (int i = 1; i < depth; i++)
			text[n++] = ']';
		text[n++] = '}';
		text[n] = '\0';
		ck_assert_int_eq(parse_client(text, &info), depth == 32 ? 0 : -EBADMSG);
	}
}
END_TEST

/* Fixed keys: client and server, as X25519 scalars. */
static void keys(uint8_t c_priv[32], uint8_t c_pub[32], uint8_t s_priv[32], uint8_t s_pub[32])
{
	for (int i = 0; i < 32; i++) {
		c_priv[i] = (uint8_t)(i * 7 + 1);
		s_priv[i] = (uint8_t)(0xa0 ^ i);
	}
	crypto_scalarmult_base(c_pub, c_priv);
	crypto_scalarmult_base(s_pub, s_priv);
}

START_TEST(test_seal_layout)
{
	uint8_t c_priv[32], c_pub[32], s_priv[32], s_pub[32], nonce[24];
	uint8_t sealed[200], opened[200], nacl_in[32 + 40], nacl_out[32 + 40];
	const char *json = "{\"version\":2,\"CanAckPings\":true}";
	size_t len = strlen(json);
	ssize_t n;

	keys(c_priv, c_pub, s_priv, s_pub);
	memset(nonce, 0x42, sizeof(nonce));
	n = wm_derp_seal(sealed, sizeof(sealed), (const uint8_t *)json, len, s_pub, c_priv, nonce);
	ck_assert_int_eq(n, 24 + 16 + 32);	/* the 104-byte frame of the spec, less the key */
	ck_assert_mem_eq(sealed, nonce, 24);
	/* Classic NaCl: 32 zero bytes in, 16 zero bytes out, then MAC || ciphertext. */
	memset(nacl_in, 0, 32);
	memcpy(nacl_in + 32, json, len);
	ck_assert_int_eq(crypto_box(nacl_out, nacl_in, 32 + len, nonce, s_pub, c_priv), 0);
	ck_assert_mem_eq(sealed + 24, nacl_out + 16, 16 + len);

	ck_assert_int_eq(wm_derp_open(opened, sizeof(opened), sealed, (size_t)n, c_pub, s_priv),
			 (ssize_t)len);
	ck_assert_mem_eq(opened, json, len);
	/* Any flipped bit, any truncation, the wrong key: refused. */
	for (ssize_t i = 0; i < n; i++) {
		sealed[i] ^= 0x01;
		ck_assert_int_eq(wm_derp_open(opened, sizeof(opened), sealed, (size_t)n, c_pub,
					      s_priv), -EBADMSG);
		sealed[i] ^= 0x01;
	}
	for (ssize_t l = 0; l < n; l++)
		ck_assert_int_lt(wm_derp_open(opened, sizeof(opened), sealed, (size_t)l, c_pub,
					      s_priv), 0);
	ck_assert_int_eq(wm_derp_open(opened, sizeof(opened), sealed, (size_t)n, s_pub, s_priv),
			 -EBADMSG);
	ck_assert_int_eq(wm_derp_open(opened, 3, sealed, (size_t)n, c_pub, s_priv), -ENOSPC);
	ck_assert_int_eq(wm_derp_seal(sealed, 40 + len - 1, (const uint8_t *)json, len, s_pub,
				      c_priv, nonce), -ENOSPC);
}
END_TEST

START_TEST(test_seal_low_order_key)
{
	uint8_t c_priv[32], c_pub[32], s_priv[32], s_pub[32], nonce[24] = { 0 }, sealed[64];
	uint8_t zero[32] = { 0 };

	keys(c_priv, c_pub, s_priv, s_pub);
	/* The all-zero point gives an all-zero shared secret: libsodium refuses it. */
	ck_assert_int_eq(wm_derp_seal(sealed, sizeof(sealed), (const uint8_t *)"{}", 2, zero,
				      c_priv, nonce), -EINVAL);
}
END_TEST

static Suite *info_suite(void)
{
	Suite *s = suite_create("derp_info");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_client_info_format);
	tcase_add_test(tc, test_server_info_format);
	tcase_add_test(tc, test_client_info_parse_like_go);
	tcase_add_test(tc, test_json_rejects);
	tcase_add_test(tc, test_json_depth);
	tcase_add_test(tc, test_seal_layout);
	tcase_add_test(tc, test_seal_low_order_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(info_suite());
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
