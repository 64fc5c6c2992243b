/* SPDX-License-Identifier: MIT */
#include "common/stun.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

/* RFC 5769 §2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MI, FINGERPRINT). */
static const uint8_t rfc_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2 and §2.3: sample responses mapping to 192.0.2.1 and 2001:db8:1234:5678:11:2233:
 * 4455:6677, port 32853. */
static const uint8_t rfc_response4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};
static const uint8_t rfc_response6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
	0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
	0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* A table-driven CRC-32, a different algorithm from the bitwise one under test. */
static uint32_t table_crc32(const uint8_t *p, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static struct wm_endpoint endpoint(const char *text)
{
	struct wm_endpoint ep;

	ck_assert_int_eq(wm_endpoint_parse(&ep, text), 0);
	return ep;
}

START_TEST(test_tailscale_request)
{
	uint8_t req[WM_STUN_REQUEST_LEN];
	struct wm_stun_request parsed;
	uint32_t fp;

	ck_assert_uint_eq(table_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
	wm_stun_request_encode(req, txid);
	/* net/stun/stun.go Request: type, length 20, cookie, txid, SOFTWARE, FINGERPRINT. */
	ck_assert_mem_eq(req, "\x00\x01\x00\x14\x21\x12\xa4\x42", 8);
	ck_assert_mem_eq(req + 8, txid, 12);
	ck_assert_mem_eq(req + 20, "\x80\x22\x00\x08tailnode\x80\x28\x00\x04", 16);
	fp = table_crc32(req, 32) ^ 0x5354554eu;
	ck_assert_uint_eq(req[36], fp >> 24);
	ck_assert_uint_eq(req[37], (fp >> 16) & 0xff);
	ck_assert_uint_eq(req[38], (fp >> 8) & 0xff);
	ck_assert_uint_eq(req[39], fp & 0xff);
	ck_assert(wm_stun_is(req, sizeof(req)));
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, sizeof(req)), 0);
	ck_assert(parsed.software_tailnode && parsed.has_fingerprint);
	ck_assert_mem_eq(parsed.txid, txid, 12);
}
END_TEST

START_TEST(test_rfc5769_request)
{
	uint8_t copy[sizeof(rfc_request)];
	struct wm_stun_request parsed;

	ck_assert_int_eq(wm_stun_request_parse(&parsed, rfc_request, sizeof(rfc_request)), 0);
	ck_assert(parsed.has_fingerprint && !parsed.software_tailnode);
	/* The fingerprint covers every byte: any flipped bit is caught, except in FINGERPRINT's
	 * own type, which turns it into an unknown attribute of a message without one. */
	for (size_t i = 0; i < sizeof(copy); i++) {
		bool type_byte = i == sizeof(copy) - 8 || i == sizeof(copy) - 7;

		memcpy(copy, rfc_request, sizeof(copy));
		copy[i] ^= 0x04;
		ck_assert_msg(wm_stun_request_parse(&parsed, copy, sizeof(copy)) ==
				      (type_byte ? 0 : -EBADMSG), "byte %zu", i);
		ck_assert(!type_byte || !parsed.has_fingerprint);
	}
	for (size_t n = 0; n < sizeof(rfc_request); n++)
		ck_assert_int_eq(wm_stun_request_parse(&parsed, rfc_request, n), -EBADMSG);
}
END_TEST

START_TEST(test_request_rejects)
{
	uint8_t req[WM_STUN_REQUEST_LEN + 8];
	struct wm_stun_request parsed;

	/* A bare binding request (no attributes) is fine; so is one without FINGERPRINT. */
	memcpy(req, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	memcpy(req + 8, txid, 12);
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 20), 0);
	ck_assert(!parsed.has_fingerprint && !parsed.software_tailnode);
	req[3] = 12;
	memcpy(req + 20, "\x80\x22\x00\x08tailnode", 12);
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 32), 0);
	ck_assert(parsed.software_tailnode && !parsed.has_fingerprint);

	wm_stun_request_encode(req, txid);
	req[1] = 0x11;	/* not a Binding request */
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 40), -EBADMSG);
	wm_stun_request_encode(req, txid);
	req[0] = 0x41;	/* top bits set */
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 40), -EBADMSG);
	wm_stun_request_encode(req, txid);
	req[4] = 0;	/* no magic cookie (RFC 3489) */
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 40), -EBADMSG);
	wm_stun_request_encode(req, txid);
	memset(req + 40, 0, 8);	/* trailing bytes the length does not cover */
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 48), -EBADMSG);
	/* Something after FINGERPRINT. */
	req[3] = 28;
	memcpy(req + 40, "\x80\x22\x00\x04" "abcd", 8);
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 48), -EBADMSG);
	/* An attribute longer than the message. */
	memcpy(req, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
	memcpy(req + 20, "\x80\x22\x00\x09tail", 8);
	ck_assert_int_eq(wm_stun_request_parse(&parsed, req, 28), -EBADMSG);
}
END_TEST

START_TEST(test_rfc5769_responses)
{
	struct wm_endpoint mapped, want4 = endpoint("192.0.2.1:32853"),
				   want6 = endpoint("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	uint8_t id[12];

	ck_assert_int_eq(wm_stun_response_parse(rfc_response4, sizeof(rfc_response4), id, &mapped),
			 0);
	ck_assert_mem_eq(id, rfc_response4 + 8, 12);
	ck_assert(wm_endpoint_equal(&mapped, &want4));
	ck_assert_int_eq(wm_stun_response_parse(rfc_response6, sizeof(rfc_response6), id, &mapped),
			 0);
	ck_assert(wm_endpoint_equal(&mapped, &want6));
	for (size_t n = 0; n < sizeof(rfc_response6); n++)
		ck_assert_int_eq(wm_stun_response_parse(rfc_response6, n, id, &mapped), -EBADMSG);
}
END_TEST

START_TEST(test_response_round_trips)
{
	static const char *const addrs[] = { "203.0.113.7:41641", "[2001:db8::7]:1", "0.0.0.0:0",
					     "[::ffff:198.51.100.9]:65535" };
	static const char *const want[] = { "203.0.113.7:41641", "[2001:db8::7]:1", "0.0.0.0:0",
					    "198.51.100.9:65535" };
	uint8_t buf[WM_STUN_RESPONSE_MAX], id[12];
	struct wm_endpoint from, mapped, expect;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		ssize_t n;

		from = endpoint(addrs[i]);
		expect = endpoint(want[i]);
		n = wm_stun_response_encode(buf, sizeof(buf), txid, &from);
		ck_assert_int_eq(n, from.addr.sa.sa_family == AF_INET ? 32 : 44);
		ck_assert_mem_eq(buf, "\x01\x01", 2);
		ck_assert_int_eq(wm_stun_response_parse(buf, (size_t)n, id, &mapped), 0);
		ck_assert_mem_eq(id, txid, 12);
		ck_assert_msg(wm_endpoint_equal(&mapped, &expect), "%s", addrs[i]);
		ck_assert_int_eq(wm_stun_response_encode(buf, (size_t)n - 1, txid, &from), -ENOSPC);
	}
	memset(&from, 0, sizeof(from));
	ck_assert_int_eq(wm_stun_response_encode(buf, sizeof(buf), txid, &from), -EAFNOSUPPORT);
}
END_TEST

/* A success response carrying the given attribute bytes. */
static size_t response(uint8_t *out, const uint8_t *attrs, size_t len)
{
	memcpy(out, "\x01\x01\x00\x00\x21\x12\xa4\x42", 8);
	out[3] = (uint8_t)len;
	memcpy(out + 8, txid, 12);
	memcpy(out + 20, attrs, len);
	return 20 + len;
}

START_TEST(test_response_rules)
{
	/* MAPPED-ADDRESS 10.0.0.1:1234 and XOR-MAPPED-ADDRESS 192.0.2.1:32853 (txid-independent). */
	static const uint8_t plain[] = { 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x04, 0xd2,
					 10, 0, 0, 1 };
	static const uint8_t xored[] = { 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
					 0xe1, 0x12, 0xa6, 0x43 };
	struct wm_endpoint mapped, v4 = endpoint("192.0.2.1:32853"), p4 = endpoint("10.0.0.1:1234");
	uint8_t attrs[64], msg[128], id[12];
	size_t n;

	/* XOR-MAPPED-ADDRESS wins in either order; MAPPED-ADDRESS is the fallback. */
	memcpy(attrs, plain, 12);
	memcpy(attrs + 12, xored, 12);
	n = response(msg, attrs, 24);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), 0);
	ck_assert(wm_endpoint_equal(&mapped, &v4));
	memcpy(attrs, xored, 12);
	memcpy(attrs + 12, plain, 12);
	n = response(msg, attrs, 24);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), 0);
	ck_assert(wm_endpoint_equal(&mapped, &v4));
	n = response(msg, plain, 12);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), 0);
	ck_assert(wm_endpoint_equal(&mapped, &p4));
	/* The comprehension-optional 0x8020 some servers send counts as XOR-MAPPED-ADDRESS. */
	memcpy(attrs, xored, 12);
	attrs[0] = 0x80;
	n = response(msg, attrs, 12);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), 0);
	ck_assert(wm_endpoint_equal(&mapped, &v4));
	/* Bytes past the declared length are ignored. */
	ck_assert_int_eq(wm_stun_response_parse(msg, n + 7, id, &mapped), 0);
	/* No address, a bad family, a short value: errors. */
	n = response(msg, (const uint8_t *)"\x80\x22\x00\x01x\0\0\0", 8);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), -EBADMSG);
	memcpy(attrs, xored, 12);
	attrs[5] = 3;
	n = response(msg, attrs, 12);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), -EBADMSG);
	memcpy(attrs, xored, 12);
	attrs[5] = 2;	/* IPv6 family in an 8-byte value */
	n = response(msg, attrs, 12);
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), -EBADMSG);
	/* STUN, but not a success response (an error response, or a request). */
	n = response(msg, xored, 12);
	msg[0] = 0x01;
	msg[1] = 0x11;
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), -ENOMSG);
	msg[0] = 0x00;
	msg[1] = 0x01;
	ck_assert_int_eq(wm_stun_response_parse(msg, n, id, &mapped), -ENOMSG);
	ck_assert(!wm_stun_is(msg, 19));
}
END_TEST

static Suite *stun_suite(void)
{
	Suite *s = suite_create("stun");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tailscale_request);
	tcase_add_test(tc, test_rfc5769_request);
	tcase_add_test(tc, test_request_rejects);
	tcase_add_test(tc, test_rfc5769_responses);
	tcase_add_test(tc, test_response_round_trips);
	tcase_add_test(tc, test_response_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stun_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
