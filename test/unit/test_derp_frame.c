/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_frame.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint8_t key_a[32], key_b[32];

static void setup(void)
{
	for (int i = 0; i < 32; i++) {
		key_a[i] = (uint8_t)(i + 1);
		key_b[i] = (uint8_t)(0xf0 - i);
	}
}

/* Encodes m, checks the header, and decodes the payload as role. */
static int round_trip(const struct wm_derp_msg *m, enum wm_derp_role role, struct wm_derp_msg *out,
		      uint8_t *buf, size_t cap)
{
	ssize_t n = wm_derp_frame_encode(buf, cap, m);
	uint32_t plen;
	uint8_t type;

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(wm_derp_frame_header_decode(buf, (size_t)n, &type, &plen), 0);
	ck_assert_uint_eq(type, m->type);
	ck_assert_uint_eq(plen + WM_DERP_FRAME_HEADER_LEN, (size_t)n);
	ck_assert_int_eq(wm_derp_frame_payload_len(m), (ssize_t)plen);
	return wm_derp_frame_decode(out, role, type, buf + WM_DERP_FRAME_HEADER_LEN, plen);
}

START_TEST(test_header)
{
	uint8_t h[5], type;
	uint32_t len;

	wm_derp_frame_header_encode(h, 0x04, 0x01020304);
	ck_assert_mem_eq(h, "\x04\x01\x02\x03\x04", 5);
	for (size_t n = 0; n < 5; n++)
		ck_assert_int_eq(wm_derp_frame_header_decode(h, n, &type, &len), -EAGAIN);
	ck_assert_int_eq(wm_derp_frame_header_decode(h, 5, &type, &len), 0);
	ck_assert_uint_eq(type, 4);
	ck_assert_uint_eq(len, 0x01020304);
	wm_derp_frame_header_encode(h, 0xff, UINT32_MAX);
	ck_assert_int_eq(wm_derp_frame_header_decode(h, 5, &type, &len), 0);
	ck_assert_uint_eq(len, UINT32_MAX);
}
END_TEST

START_TEST(test_server_key_bytes)
{
	/* derp.go: 0x01, length 40, "DERP" + U+1F511, then the key. */
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_SERVER_KEY }, out;
	uint8_t buf[64];

	memcpy(m.key, key_a, 32);
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), 45);
	ck_assert_mem_eq(buf, "\x01\x00\x00\x00\x28" "DERP\xf0\x9f\x94\x91", 13);
	ck_assert_mem_eq(buf + 13, key_a, 32);
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.key, key_a, 32);
}
END_TEST

START_TEST(test_round_trips)
{
	static const uint8_t data[] = "a packet", sealed[48] = "nonce and box";
	static uint8_t buf[WM_DERP_FRAME_HEADER_LEN + 2 * 32 + WM_DERP_MAX_PACKET_SIZE];
	struct wm_derp_msg m, out;

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_CLIENT_INFO;
	memcpy(m.client_info.key, key_a, 32);
	m.client_info.sealed = sealed;
	m.client_info.sealed_len = sizeof(sealed);
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.client_info.key, key_a, 32);
	ck_assert_uint_eq(out.client_info.sealed_len, 48);
	ck_assert_mem_eq(out.client_info.sealed, sealed, 48);

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_SERVER_INFO;
	m.server_info.sealed = buf + 1000;	/* any 40 bytes */
	m.server_info.sealed_len = 40;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, 512), 0);
	ck_assert_uint_eq(out.server_info.sealed_len, 40);

	for (int t = 0; t < 2; t++) {
		memset(&m, 0, sizeof(m));
		m.type = t ? WM_DERP_FRAME_RECV_PACKET : WM_DERP_FRAME_SEND_PACKET;
		memcpy(m.packet.key, key_b, 32);
		m.packet.data = data;
		m.packet.len = sizeof(data);
		ck_assert_int_eq(round_trip(&m, t ? WM_DERP_ROLE_CLIENT : WM_DERP_ROLE_SERVER, &out,
					    buf, sizeof(buf)), 0);
		ck_assert_mem_eq(out.packet.key, key_b, 32);
		ck_assert_uint_eq(out.packet.len, sizeof(data));
		ck_assert_mem_eq(out.packet.data, data, sizeof(data));
		m.packet.len = 0;	/* an empty packet is a packet */
		ck_assert_int_eq(round_trip(&m, t ? WM_DERP_ROLE_CLIENT : WM_DERP_ROLE_SERVER, &out,
					    buf, sizeof(buf)), 0);
		ck_assert_uint_eq(out.packet.len, 0);
	}

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_FORWARD_PACKET;
	memcpy(m.forward.src, key_a, 32);
	memcpy(m.forward.dst, key_b, 32);
	m.forward.data = data;
	m.forward.len = 3;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.forward.src, key_a, 32);
	ck_assert_mem_eq(out.forward.dst, key_b, 32);
	ck_assert_uint_eq(out.forward.len, 3);

	for (int v = 0; v < 2; v++) {
		memset(&m, 0, sizeof(m));
		m.type = WM_DERP_FRAME_NOTE_PREFERRED;
		m.preferred = v;
		ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
		ck_assert_int_eq(out.preferred, v);
		ck_assert_uint_eq(buf[5], v);
	}

	for (int reason = 0; reason < 2; reason++) {
		memset(&m, 0, sizeof(m));
		m.type = WM_DERP_FRAME_PEER_GONE;
		memcpy(m.peer_gone.key, key_a, 32);
		m.peer_gone.reason = (uint8_t)reason;
		ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
		ck_assert_mem_eq(out.peer_gone.key, key_a, 32);
		ck_assert_uint_eq(out.peer_gone.reason, reason);
	}

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_PEER_PRESENT;
	memcpy(m.peer_present.key, key_b, 32);
	memcpy(m.peer_present.ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x01", 16);
	m.peer_present.port = 41641;
	m.peer_present.flags = WM_DERP_PRESENT_REGULAR | WM_DERP_PRESENT_NOT_IDEAL;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.peer_present.key, key_b, 32);
	ck_assert(out.peer_present.has_endpoint);
	ck_assert_mem_eq(out.peer_present.ip, m.peer_present.ip, 16);
	ck_assert_uint_eq(out.peer_present.port, 41641);
	ck_assert_uint_eq(out.peer_present.flags, 0x09);
	ck_assert_mem_eq(buf + 5 + 48, "\xa2\xa9\x09", 3);	/* port big-endian, then flags */

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_CLOSE_PEER;
	memcpy(m.key, key_b, 32);
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.key, key_b, 32);

	for (int t = WM_DERP_FRAME_PING; t <= WM_DERP_FRAME_PONG; t++) {
		memset(&m, 0, sizeof(m));
		m.type = (uint8_t)t;
		memcpy(m.ping, "12345678", 8);
		ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
		ck_assert_mem_eq(out.ping, "12345678", 8);
	}
	m.type = WM_DERP_FRAME_PING;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
	ck_assert_mem_eq(out.ping, "12345678", 8);

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_HEALTH;
	m.health.text = "duplicate key";
	m.health.len = 13;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(out.health.len, 13);
	ck_assert_mem_eq(out.health.text, "duplicate key", 13);
	m.health.len = 0;	/* healthy again */
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(out.health.len, 0);

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_RESTARTING;
	m.restarting.reconnect_in_ms = 1500;
	m.restarting.try_for_ms = 0x01020304;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(out.restarting.reconnect_in_ms, 1500);
	ck_assert_uint_eq(out.restarting.try_for_ms, 0x01020304);

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_KEEP_ALIVE;
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), 5);
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_CLIENT, &out, buf, sizeof(buf)), 0);
	m.type = WM_DERP_FRAME_WATCH_CONNS;
	ck_assert_int_eq(round_trip(&m, WM_DERP_ROLE_SERVER, &out, buf, sizeof(buf)), 0);
}
END_TEST

/* The length rules of derp_client.go / derpserver.go, written out per type as a reference. */
static int expected(enum wm_derp_role role, uint8_t type, size_t len)
{
	if (role == WM_DERP_ROLE_SERVER) {
		switch (type) {
		case 0x02: return len >= 56 && len <= 256 * 1024 ? 0 : -EBADMSG;
		case 0x04: return len >= 32 && len <= 32 + 65536 ? 0 : -EBADMSG;
		case 0x0a: return len >= 64 && len <= 64 + 65536 ? 0 : -EBADMSG;
		case 0x07: return len == 1 ? 0 : -EBADMSG;
		case 0x10: return len == 0 ? 0 : -EBADMSG;
		case 0x11: return len == 32 ? 0 : -EBADMSG;
		case 0x12: return len >= 8 && len <= 1000 ? 0 : -EBADMSG;
		default: return -ENOMSG;
		}
	}
	if (len > (1u << 20))
		return -EBADMSG;
	switch (type) {
	case 0x01: return len >= 40 && len <= 1024 ? 0 : -EBADMSG;
	case 0x03: return len >= 24 ? 0 : -EBADMSG;
	case 0x05: return len >= 32 && len <= 32 + 65536 ? 0 : -EBADMSG;
	case 0x06: return 0;
	case 0x08: return len >= 32 ? 0 : -EBADMSG;
	case 0x09: return len >= 32 ? 0 : -EBADMSG;
	case 0x12: case 0x13: return len >= 8 ? 0 : -EBADMSG;
	case 0x14: return 0;
	case 0x15: return len >= 8 ? 0 : -EBADMSG;
	default: return -ENOMSG;
	}
}

/* Every type, every length up to past the interesting boundaries, both roles. */
START_TEST(test_lengths_against_reference)
{
	static uint8_t payload[70000];
	static const size_t extra[] = { 1000, 1001, 1024, 1025, 65567, 65568, 65569, 65599,
					65600, 65601, 69999 };
	struct wm_derp_msg m;

	memcpy(payload, WM_DERP_MAGIC, 8);	/* so server keys pass the magic check */
	for (int role = 0; role < 2; role++) {
		for (int type = 0; type < 256; type++) {
			for (size_t len = 0; len <= 80 + sizeof(extra) / sizeof(extra[0]); len++) {
				size_t l = len <= 80 ? len : extra[len - 81];
				int got = wm_derp_frame_decode(&m, (enum wm_derp_role)role,
							       (uint8_t)type, payload, l);

				ck_assert_msg(got == expected((enum wm_derp_role)role, (uint8_t)type, l),
					      "role %d type 0x%02x len %zu: got %d", role, type, l,
					      got);
			}
		}
	}
}
END_TEST

START_TEST(test_short_forms)
{
	uint8_t p[WM_DERP_PEER_PRESENT_LEN];
	struct wm_derp_msg m;

	memset(p, 0x11, sizeof(p));
	/* Old servers: peer-gone without a reason means "disconnected". */
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x08, p, 32), 0);
	ck_assert_uint_eq(m.peer_gone.reason, 0);
	/* Peer-present: key only, key + endpoint, key + endpoint + flags. */
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x09, p, 32), 0);
	ck_assert(!m.peer_present.has_endpoint);
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x09, p, 49), 0);
	ck_assert(!m.peer_present.has_endpoint);
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x09, p, 50), 0);
	ck_assert(m.peer_present.has_endpoint);
	ck_assert_uint_eq(m.peer_present.port, 0x1111);
	ck_assert_uint_eq(m.peer_present.flags, 0);
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x09, p, 51), 0);
	ck_assert_uint_eq(m.peer_present.flags, 0x11);
	/* Server key: bytes past the key are ignored, a wrong magic is not. */
	memcpy(p, WM_DERP_MAGIC, 8);
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x01, p, 51), 0);
	ck_assert_mem_eq(m.key, p + 8, 32);
	p[7] ^= 1;
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, 0x01, p, 40), -EBADMSG);
	/* A long server ping echoes its first 8 bytes. */
	ck_assert_int_eq(wm_derp_frame_decode(&m, WM_DERP_ROLE_SERVER, 0x12, p, 51), 0);
	ck_assert_mem_eq(m.ping, p, 8);
}
END_TEST

START_TEST(test_encode_limits)
{
	static uint8_t big[WM_DERP_MAX_PACKET_SIZE + 1];
	static uint8_t buf[WM_DERP_FRAME_HEADER_LEN + 64 + sizeof(big)];
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_SEND_PACKET };
	ssize_t full;

	m.packet.data = big;
	m.packet.len = sizeof(big);
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), -EMSGSIZE);
	m.type = WM_DERP_FRAME_FORWARD_PACKET;
	m.forward.data = big;
	m.forward.len = sizeof(big);
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), -EMSGSIZE);
	m.type = WM_DERP_FRAME_SEND_PACKET;
	m.packet.len = WM_DERP_MAX_PACKET_SIZE;
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), 5 + 32 + 65536);

	/* Every buffer one byte short of a frame is refused without writing past it. */
	m.packet.len = 100;
	full = wm_derp_frame_encode(buf, sizeof(buf), &m);
	for (size_t cap = 0; cap < (size_t)full; cap++)
		ck_assert_int_eq(wm_derp_frame_encode(buf, cap, &m), -ENOSPC);

	memset(&m, 0, sizeof(m));
	m.type = WM_DERP_FRAME_CLIENT_INFO;
	m.client_info.sealed = big;
	m.client_info.sealed_len = 23;	/* shorter than a nonce */
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), -EMSGSIZE);

	/* Types the codec does not know are written raw. */
	memset(&m, 0, sizeof(m));
	m.type = 0x0b;
	m.raw.data = (const uint8_t *)"xyz";
	m.raw.len = 3;
	ck_assert_int_eq(wm_derp_frame_encode(buf, sizeof(buf), &m), 8);
	ck_assert_mem_eq(buf, "\x0b\x00\x00\x00\x03xyz", 8);
}
END_TEST

START_TEST(test_disco_and_names)
{
	uint8_t p[62] = "TS\xf0\x9f\x92\xac";
	char buf[8];

	ck_assert(wm_derp_looks_like_disco(p, 62));
	ck_assert(!wm_derp_looks_like_disco(p, 61));
	p[5] ^= 1;
	ck_assert(!wm_derp_looks_like_disco(p, 62));
	ck_assert_str_eq(wm_derp_frame_name(0x04, buf), "send-packet");
	ck_assert_str_eq(wm_derp_frame_name(0x15, buf), "restarting");
	ck_assert_str_eq(wm_derp_frame_name(0x0b, buf), "0x0b");
	ck_assert_str_eq(wm_derp_frame_name(0xff, buf), "0xff");
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("derp_frame");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_server_key_bytes);
	tcase_add_test(tc, test_round_trips);
	tcase_add_test(tc, test_lengths_against_reference);
	tcase_add_test(tc, test_short_forms);
	tcase_add_test(tc, test_encode_limits);
	tcase_add_test(tc, test_disco_and_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
