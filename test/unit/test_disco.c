/* SPDX-License-Identifier: MIT */
/* Disco messages: hand-written wire bytes, round trips, the parse rules of §3.2, and sealing. */
#include "nat/disco.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32];
static uint8_t ab_shared[32], ba_shared[32];
static const uint8_t nonce[24] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
	0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
};

static void setup(void)
{
	/* Fixed keys: deterministic runs. */
	for (int i = 0; i < 32; i++) {
		a_priv[i] = (uint8_t)(i + 1);
		b_priv[i] = (uint8_t)(0x80 + i);
	}
	crypto_scalarmult_base(a_pub, a_priv);
	crypto_scalarmult_base(b_pub, b_priv);
	ck_assert(wm_disco_shared_key(ab_shared, b_pub, a_priv));
	ck_assert(wm_disco_shared_key(ba_shared, a_pub, b_priv));
}

static struct wm_endpoint endpoint(const char *text)
{
	struct wm_endpoint ep;

	ck_assert_int_eq(wm_endpoint_parse(&ep, text), 0);
	return ep;
}

static void check_same(const struct wm_disco_msg *a, const struct wm_disco_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	ck_assert_uint_eq(a->n_endpoints, b->n_endpoints);
	ck_assert_uint_eq(a->padding, b->padding);
	ck_assert(!memcmp(a, b, sizeof(*a)));
}

static struct wm_disco_msg ping(bool node_key, size_t padding)
{
	struct wm_disco_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WM_DISCO_PING;
	for (int i = 0; i < WM_DISCO_TXID_LEN; i++)
		m.txid[i] = (uint8_t)(i + 1);
	m.has_node_key = node_key;
	if (node_key)
		for (int i = 0; i < WM_DISCO_KEY_LEN; i++)
			m.node_key[i] = (uint8_t)(0x20 + i);
	m.padding = padding;
	return m;
}

static struct wm_disco_msg pong(const char *src)
{
	struct wm_disco_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WM_DISCO_PONG;
	for (int i = 0; i < WM_DISCO_TXID_LEN; i++)
		m.txid[i] = (uint8_t)(0xa0 + i);
	m.src = endpoint(src);
	return m;
}

static struct wm_disco_msg call_me_maybe(const char *const *eps, size_t n)
{
	struct wm_disco_msg m;

	memset(&m, 0, sizeof(m));
	m.type = WM_DISCO_CALL_ME_MAYBE;
	for (size_t i = 0; i < n; i++)
		m.endpoints[i] = endpoint(eps[i]);
	m.n_endpoints = n;
	return m;
}

/* Seals m from a to b, checks the length, opens it as b would and compares. */
static void sealed_round_trip(const struct wm_disco_msg *m, ssize_t wire_len)
{
	uint8_t pkt[2048];
	struct wm_disco_msg got;
	ssize_t n;

	n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ab_shared, nonce, m);
	ck_assert_int_eq(n, wire_len);
	ck_assert(wm_disco_looks_like(pkt, (size_t)n));
	ck_assert_ptr_eq(wm_disco_sender(pkt, (size_t)n), pkt + 6);
	ck_assert_int_eq(wm_disco_open(pkt, (size_t)n, a_pub, ba_shared, &got), 0);
	check_same(&got, m);
}

/* Encodes m, parses it back, compares, and returns the inner length. */
static ssize_t inner_round_trip(const struct wm_disco_msg *m)
{
	uint8_t buf[2048];
	struct wm_disco_msg got;
	ssize_t n = wm_disco_msg_encode(buf, sizeof(buf), m);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(wm_disco_msg_parse(buf, (size_t)n, &got), 0);
	check_same(&got, m);
	return n;
}

START_TEST(ping_known_answer)
{
	/* §3.2: type 1, version 0, txid(12), node key(32), no padding. */
	static const uint8_t want[46] = {
		0x01, 0x00,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
		0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
		0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
		0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
	};
	struct wm_disco_msg m = ping(true, 0), got;
	uint8_t buf[64];

	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(wm_disco_msg_parse(want, sizeof(want), &got), 0);
	check_same(&got, &m);
	/* Padding is zeros after the key. */
	m.padding = 5;
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), sizeof(want) + 5);
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_mem_eq(buf + sizeof(want), "\0\0\0\0\0", 5);
	ck_assert_uint_eq(buf[sizeof(want) + 5], 0xee);
	/* An old client's ping: just the txid. */
	m = ping(false, 0);
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), 14);
	ck_assert_mem_eq(buf, want, 14);
}
END_TEST

START_TEST(pong_known_answer)
{
	/* §3.2: type 2, version 0, txid(12), src ip(16, IPv4 mapped), src port(2, big-endian). */
	static const uint8_t want4[32] = {
		0x02, 0x00,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
		0xc0, 0x00, 0x02, 0x01,
		0xa2, 0xa9,
	};
	static const uint8_t want6[32] = {
		0x02, 0x00,
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01,
		0x30, 0x39,
	};
	struct wm_disco_msg m = pong("192.0.2.1:41641"), got;
	uint8_t buf[64];

	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), sizeof(want4));
	ck_assert_mem_eq(buf, want4, sizeof(want4));
	ck_assert_int_eq(wm_disco_msg_parse(want4, sizeof(want4), &got), 0);
	ck_assert_int_eq(got.src.addr.sa.sa_family, AF_INET);
	check_same(&got, &m);

	m = pong("[2001:db8::1]:12345");
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), sizeof(want6));
	ck_assert_mem_eq(buf, want6, sizeof(want6));
	ck_assert_int_eq(wm_disco_msg_parse(want6, sizeof(want6), &got), 0);
	ck_assert_int_eq(got.src.addr.sa.sa_family, AF_INET6);
	check_same(&got, &m);
}
END_TEST

START_TEST(call_me_maybe_known_answer)
{
	static const uint8_t want[2 + 36] = {
		0x03, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
		0xc6, 0x33, 0x64, 0x07, 0xca, 0x6c,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x02, 0x01, 0x02,
	};
	static const char *const eps[] = { "198.51.100.7:51820", "[2001:db8::2]:258" };
	struct wm_disco_msg m = call_me_maybe(eps, 2);
	uint8_t buf[64];

	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	inner_round_trip(&m);
}
END_TEST

START_TEST(wire_sizes_and_round_trips)
{
	static const char *const eps[] = {
		"198.51.100.7:51820", "[2001:db8::2]:258", "10.0.0.1:1", "[fd00::1]:65535",
	};
	struct wm_disco_msg m;

	/* §3.2 sizes: ping 124 unpadded, pong 110, call-me-maybe 80 + 18·N. */
	m = ping(true, 0);
	sealed_round_trip(&m, 124);
	m = ping(true, 1000);
	sealed_round_trip(&m, 124 + 1000);
	m = ping(false, 0);
	sealed_round_trip(&m, 124 - 32);
	m = pong("192.0.2.1:41641");
	sealed_round_trip(&m, 110);
	m = pong("[2001:db8::1]:12345");
	sealed_round_trip(&m, 110);
	/* The relay's magic address for a ping that came over DERP (§3.3). */
	m = pong("127.3.3.40:1");
	sealed_round_trip(&m, 110);
	for (size_t n = 0; n <= 4; n++) {
		m = call_me_maybe(eps, n);
		sealed_round_trip(&m, 80 + 18 * (ssize_t)n);
		ck_assert_int_eq(inner_round_trip(&m), 2 + 18 * (ssize_t)n);
	}
}
END_TEST

START_TEST(call_me_maybe_full)
{
	struct wm_disco_msg m;
	char text[64];

	memset(&m, 0, sizeof(m));
	m.type = WM_DISCO_CALL_ME_MAYBE;
	for (size_t i = 0; i < WM_DISCO_MAX_ENDPOINTS; i++) {
		snprintf(text, sizeof(text), i & 1 ? "[2001:db8::%zx]:%zu" : "203.0.113.%zu:%zu",
			 i + 1, 1000 + i);
		m.endpoints[i] = endpoint(text);
	}
	m.n_endpoints = WM_DISCO_MAX_ENDPOINTS;
	sealed_round_trip(&m, 80 + 18 * WM_DISCO_MAX_ENDPOINTS);
	m.n_endpoints++;
	ck_assert_int_eq(wm_disco_msg_encode((uint8_t[1024]){ 0 }, 1024, &m), -EINVAL);
}
END_TEST

/* Appends one entry ip(16) || port(2) to a hand-built call-me-maybe. */
static size_t put_entry(uint8_t *buf, size_t len, const char *ip, uint16_t port)
{
	struct in6_addr a;

	ck_assert_int_eq(inet_pton(AF_INET6, ip, &a), 1);
	memcpy(buf + len, &a, 16);
	buf[len + 16] = (uint8_t)(port >> 8);
	buf[len + 17] = (uint8_t)port;
	return len + 18;
}

START_TEST(call_me_maybe_rules)
{
	uint8_t buf[2 + 18 * 50];
	struct wm_disco_msg m;
	size_t len = 2;
	char text[WM_ENDPOINT_STR_LEN];

	buf[0] = WM_DISCO_CALL_ME_MAYBE;
	buf[1] = 0;
	len = put_entry(buf, len, "fe80::1", 1000);		/* link-local: dropped */
	len = put_entry(buf, len, "febf::1", 1000);		/* still fe80::/10 */
	len = put_entry(buf, len, "fec0::1", 1000);		/* site-local: kept */
	len = put_entry(buf, len, "2001:db8::1", 0);		/* port 0: dropped */
	len = put_entry(buf, len, "::", 1000);			/* unspecified: dropped */
	len = put_entry(buf, len, "::ffff:0.0.0.0", 1000);	/* unspecified IPv4: dropped */
	len = put_entry(buf, len, "::ffff:192.0.2.9", 0);	/* port 0: dropped */
	len = put_entry(buf, len, "::ffff:192.0.2.9", 7);	/* kept, as IPv4 */
	ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 2);
	wm_endpoint_format(&m.endpoints[0], text);
	ck_assert_str_eq(text, "[fec0::1]:1000");
	ck_assert_int_eq(m.endpoints[1].addr.sa.sa_family, AF_INET);
	wm_endpoint_format(&m.endpoints[1], text);
	ck_assert_str_eq(text, "192.0.2.9:7");
	ck_assert_uint_eq(m.endpoints[2].addr.sa.sa_family, 0);

	/* Not a multiple of 18, version 1, or no entries: an empty list, not an error. */
	ck_assert_int_eq(wm_disco_msg_parse(buf, len - 1, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 0);
	ck_assert_int_eq(m.type, WM_DISCO_CALL_ME_MAYBE);
	ck_assert_int_eq(wm_disco_msg_parse(buf, len + 1, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 0);
	ck_assert_int_eq(wm_disco_msg_parse(buf, 2, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 0);
	buf[1] = 1;
	ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 0);
	buf[1] = 0;

	/* 2 dropped + 48 usable entries: the first 32 usable ones are kept. */
	len = 2;
	len = put_entry(buf, len, "fe80::1", 1000);
	len = put_entry(buf, len, "::", 1000);
	for (int i = 0; i < 48; i++) {
		snprintf(text, sizeof(text), "2001:db8::%x", i + 1);
		len = put_entry(buf, len, text, (uint16_t)(i + 1));
	}
	ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, WM_DISCO_MAX_ENDPOINTS);
	wm_endpoint_format(&m.endpoints[0], text);
	ck_assert_str_eq(text, "[2001:db8::1]:1");
	wm_endpoint_format(&m.endpoints[WM_DISCO_MAX_ENDPOINTS - 1], text);
	ck_assert_str_eq(text, "[2001:db8::20]:32");
}
END_TEST

START_TEST(encode_rejects)
{
	static const char *const bad[] = {
		"[fe80::1]:1", "[2001:db8::1]:0", "[::]:1", "0.0.0.0:1", "192.0.2.1:0",
	};
	struct wm_disco_msg m;
	uint8_t buf[256];
	ssize_t need;

	/* Entries a receiver would drop are a bug of the sender. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = call_me_maybe(&bad[i], 1);
		ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);
		ck_assert_int_eq(wm_disco_seal(buf, sizeof(buf), a_pub, ab_shared, nonce, &m),
				 -EINVAL);
	}
	/* An IPv4-mapped IPv6 endpoint is the same bytes as IPv4 on the wire. */
	m = call_me_maybe((const char *const[]){ "[::ffff:192.0.2.1]:9" }, 1);
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), 20);
	m = call_me_maybe((const char *const[]){ "[::ffff:0.0.0.0]:9" }, 1);
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);

	m = ping(false, 3);	/* padding would read as a node key */
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);
	memset(&m, 0, sizeof(m));
	m.type = WM_DISCO_PONG;	/* no src */
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);
	m.type = (enum wm_disco_type)4;
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);
	m.type = (enum wm_disco_type)0;
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -EINVAL);

	/* Every capacity short of the need is -ENOSPC, for the inner message and the packet. */
	m = ping(true, 7);
	need = wm_disco_msg_encode(buf, sizeof(buf), &m);
	ck_assert_int_eq(need, 46 + 7);
	for (size_t cap = 0; cap < (size_t)need; cap++) {
		ck_assert_int_eq(wm_disco_msg_encode(buf, cap, &m), -ENOSPC);
		ck_assert_int_eq(wm_disco_seal(buf, cap + 78, a_pub, ab_shared, nonce, &m), -ENOSPC);
	}
	for (size_t cap = 0; cap < 78; cap++)
		ck_assert_int_eq(wm_disco_seal(buf, cap, a_pub, ab_shared, nonce, &m), -ENOSPC);
	m.padding = SIZE_MAX - 10;
	ck_assert_int_eq(wm_disco_msg_encode(buf, sizeof(buf), &m), -ENOSPC);
	ck_assert_int_eq(wm_disco_seal(buf, sizeof(buf), a_pub, ab_shared, nonce, &m), -ENOSPC);
}
END_TEST

START_TEST(parse_rules)
{
	uint8_t buf[80];
	struct wm_disco_msg m;

	memset(buf, 0x5a, sizeof(buf));
	/* Ping: < 12 body bytes is malformed, 12..43 has no node key, from 44 the rest is padding. */
	buf[0] = WM_DISCO_PING;
	buf[1] = 7;		/* the ping version is not checked */
	for (size_t len = 0; len < 2 + 12; len++)
		ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), -EBADMSG);
	for (size_t len = 2 + 12; len < 2 + 44; len++) {
		ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
		ck_assert(!m.has_node_key);
		ck_assert_uint_eq(m.padding, 0);
	}
	for (size_t len = 2 + 44; len <= sizeof(buf); len++) {
		ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
		ck_assert(m.has_node_key);
		ck_assert_uint_eq(m.padding, len - 46);
		ck_assert_uint_eq(m.node_key[31], 0x5a);
	}
	/* Pong: < 30 body bytes is malformed; trailing bytes and the version are ignored. */
	buf[0] = WM_DISCO_PONG;
	for (size_t len = 0; len < 2 + 30; len++)
		ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), -EBADMSG);
	for (size_t len = 2 + 30; len <= sizeof(buf); len++) {
		ck_assert_int_eq(wm_disco_msg_parse(buf, len, &m), 0);
		ck_assert_int_eq(m.src.addr.sa.sa_family, AF_INET6);
		ck_assert_uint_eq(ntohs(m.src.addr.in6.sin6_port), 0x5a5a);
	}
	/* Other types, including the peer-relay ones (§3.2 0x04-0x09). */
	for (int t = 0; t < 256; t++) {
		if (t >= WM_DISCO_PING && t <= WM_DISCO_CALL_ME_MAYBE)
			continue;
		buf[0] = (uint8_t)t;
		ck_assert_int_eq(wm_disco_msg_parse(buf, sizeof(buf), &m), -ENOMSG);
		ck_assert_int_eq(m.type, t);
		ck_assert_int_eq(wm_disco_msg_parse(buf, 2, &m), -ENOMSG);
	}
	ck_assert_int_eq(wm_disco_msg_parse(buf, 1, &m), -EBADMSG);
	ck_assert_int_eq(wm_disco_msg_parse(buf, 0, &m), -EBADMSG);
}
END_TEST

START_TEST(plain_crypto_box_interop)
{
	/* The sealed box is what plain crypto_box (Go's nacl/box) makes: open it without afternm. */
	struct wm_disco_msg m = ping(true, 0);
	uint8_t pkt[256], plain[64], inner[64];
	ssize_t n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ab_shared, nonce, &m);

	ck_assert_int_eq(n, 124);
	ck_assert_mem_eq(pkt, "\x54\x53\xf0\x9f\x92\xac", 6);
	ck_assert_mem_eq(pkt + 6, a_pub, 32);
	ck_assert_mem_eq(pkt + 38, nonce, 24);
	ck_assert_int_eq(crypto_box_open_easy(plain, pkt + 62, (size_t)n - 62, pkt + 38, a_pub,
					      b_priv), 0);
	ck_assert_int_eq(wm_disco_msg_encode(inner, sizeof(inner), &m), 46);
	ck_assert_mem_eq(plain, inner, 46);
	/* And the other way: a packet sealed with plain crypto_box by b opens as from b. */
	memcpy(pkt, WM_DISCO_MAGIC, 6);
	memcpy(pkt + 6, b_pub, 32);
	memcpy(pkt + 38, nonce, 24);
	ck_assert_int_eq(crypto_box_easy(pkt + 62, inner, 46, nonce, a_pub, b_priv), 0);
	ck_assert_int_eq(wm_disco_open(pkt, 124, b_pub, ab_shared, &m), 0);
	ck_assert(m.has_node_key);
}
END_TEST

START_TEST(wrong_key)
{
	uint8_t c_priv[32], c_pub[32], ac_shared[32], cb_shared[32], pkt[256], copy[256];
	struct wm_disco_msg m = pong("192.0.2.1:41641"), got;
	ssize_t n;

	for (int i = 0; i < 32; i++)
		c_priv[i] = (uint8_t)(0x40 + i);
	crypto_scalarmult_base(c_pub, c_priv);
	ck_assert(wm_disco_shared_key(ac_shared, c_pub, a_priv));
	ck_assert(wm_disco_shared_key(cb_shared, b_pub, c_priv));
	ck_assert_mem_eq(ab_shared, ba_shared, 32);
	n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ab_shared, nonce, &m);
	ck_assert_int_eq(n, 110);
	memcpy(copy, pkt, (size_t)n);
	/* A packet for b opened with a's key to c, or claiming to come from c. */
	ck_assert_int_eq(wm_disco_open(copy, (size_t)n, a_pub, ac_shared, &got), -EBADMSG);
	ck_assert_int_eq(wm_disco_open(copy, (size_t)n, c_pub, ba_shared, &got), -EBADMSG);
	memcpy(copy + 6, c_pub, 32);
	ck_assert_int_eq(wm_disco_open(copy, (size_t)n, c_pub, cb_shared, &got), -EBADMSG);
	/* Sealed to c instead of b. */
	n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ac_shared, nonce, &m);
	ck_assert_int_eq(wm_disco_open(pkt, (size_t)n, a_pub, ba_shared, &got), -EBADMSG);
	ck_assert_uint_eq(got.type, 0);
}
END_TEST

/* Seals arbitrary inner bytes from a to b, as a peer with another codec might. */
static size_t seal_raw(uint8_t *pkt, const uint8_t *inner, size_t len)
{
	memcpy(pkt, WM_DISCO_MAGIC, 6);
	memcpy(pkt + 6, a_pub, 32);
	memcpy(pkt + 38, nonce, 24);
	ck_assert_int_eq(crypto_box_easy_afternm(pkt + 62, inner, len, nonce, ab_shared), 0);
	return 78 + len;
}

START_TEST(open_results)
{
	static const uint8_t relay_bind[2 + 72] = { 0x04, 0x00 };
	static const uint8_t short_ping[2 + 11] = { 0x01, 0x00 };
	static const uint8_t cmm_v1[2 + 18] = { 0x03, 0x01, [12] = 0xff, 0xff, 1, 2, 3, 4, 0, 1 };
	uint8_t pkt[256];
	struct wm_disco_msg m;
	size_t n;

	n = seal_raw(pkt, relay_bind, sizeof(relay_bind));
	ck_assert_int_eq(wm_disco_open(pkt, n, a_pub, ba_shared, &m), -ENOMSG);
	ck_assert_int_eq(m.type, 4);
	n = seal_raw(pkt, short_ping, sizeof(short_ping));
	ck_assert_int_eq(wm_disco_open(pkt, n, a_pub, ba_shared, &m), -EBADMSG);
	n = seal_raw(pkt, short_ping, 1);
	ck_assert_int_eq(wm_disco_open(pkt, n, a_pub, ba_shared, &m), -EBADMSG);
	n = seal_raw(pkt, short_ping, 0);
	ck_assert_int_eq(n, 78);
	ck_assert_int_eq(wm_disco_open(pkt, n, a_pub, ba_shared, &m), -EBADMSG);
	n = seal_raw(pkt, cmm_v1, sizeof(cmm_v1));
	ck_assert_int_eq(wm_disco_open(pkt, n, a_pub, ba_shared, &m), 0);
	ck_assert_int_eq(m.type, WM_DISCO_CALL_ME_MAYBE);
	ck_assert_uint_eq(m.n_endpoints, 0);
	/* The same entry at version 0 is 1.2.3.4:1. */
	memcpy(pkt, cmm_v1, sizeof(cmm_v1));
	pkt[1] = 0;
	n = seal_raw(pkt + 64, pkt, sizeof(cmm_v1));
	ck_assert_int_eq(wm_disco_open(pkt + 64, n, a_pub, ba_shared, &m), 0);
	ck_assert_uint_eq(m.n_endpoints, 1);
	ck_assert_uint_eq(ntohl(m.endpoints[0].addr.in4.sin_addr.s_addr), 0x01020304);
}
END_TEST

START_TEST(low_order_keys)
{
	uint8_t shared[32], key[32];

	/* 0 and 1 are points of small order: the X25519 result is all zero. */
	memset(key, 0, sizeof(key));
	ck_assert(!wm_disco_shared_key(shared, key, a_priv));
	key[0] = 1;
	ck_assert(!wm_disco_shared_key(shared, key, a_priv));
}
END_TEST

START_TEST(bit_flips)
{
	struct wm_disco_msg m = ping(true, 3), got;
	uint8_t pkt[256], copy[256];
	ssize_t n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ab_shared, nonce, &m);

	ck_assert_int_eq(n, 127);
	memcpy(copy, pkt, (size_t)n);
	ck_assert_int_eq(wm_disco_open(copy, (size_t)n, a_pub, ba_shared, &got), 0);
	for (size_t bit = 0; bit < (size_t)n * 8; bit++) {
		memcpy(copy, pkt, (size_t)n);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(wm_disco_open(copy, (size_t)n, a_pub, ba_shared, &got) == -EBADMSG,
			      "bit %zu", bit);
	}
}
END_TEST

START_TEST(truncations)
{
	static const char *const eps[] = { "198.51.100.7:51820", "[2001:db8::2]:258" };
	struct wm_disco_msg msgs[] = { ping(true, 2), pong("[2001:db8::1]:1"),
				       call_me_maybe(eps, 2) }, got;
	uint8_t pkt[256];

	for (size_t k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
		ssize_t n = wm_disco_seal(pkt, sizeof(pkt), a_pub, ab_shared, nonce, &msgs[k]);

		ck_assert_int_gt(n, 78);
		/* An exact-size heap copy, so the sanitizer run catches any read past the end. */
		for (size_t len = 0; len < (size_t)n; len++) {
			uint8_t *cut = malloc(len ? len : 1);

			memcpy(cut, pkt, len);
			ck_assert_int_eq(wm_disco_open(cut, len, a_pub, ba_shared, &got), -EBADMSG);
			ck_assert_int_eq(wm_disco_looks_like(cut, len), len >= 38);
			memcpy(cut, pkt + 78, len < (size_t)n - 78 ? len : (size_t)n - 78);
			wm_disco_msg_parse(cut, len < (size_t)n - 78 ? len : (size_t)n - 78, &got);
			free(cut);
		}
	}
}
END_TEST

START_TEST(looks_like)
{
	uint8_t buf[160];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, WM_DISCO_MAGIC, 6);
	ck_assert(wm_disco_looks_like(buf, 38));
	ck_assert(wm_disco_looks_like(buf, sizeof(buf)));
	ck_assert(!wm_disco_looks_like(buf, 37));
	ck_assert_ptr_eq(wm_disco_sender(buf, 38), buf + 6);
	ck_assert_ptr_null(wm_disco_sender(buf, 37));
	for (int i = 0; i < 6; i++) {
		buf[i] ^= 0x01;
		ck_assert(!wm_disco_looks_like(buf, sizeof(buf)));
		ck_assert_ptr_null(wm_disco_sender(buf, sizeof(buf)));
		buf[i] ^= 0x01;
	}
	/* WireGuard: type 1..4 then three zero bytes, at every message size. */
	static const size_t wg_sizes[] = { 148, 92, 64, 32, 38, 160 };
	for (int t = 1; t <= 4; t++) {
		memset(buf, 0x54, sizeof(buf));
		buf[0] = (uint8_t)t;
		buf[1] = buf[2] = buf[3] = 0;
		for (size_t i = 0; i < sizeof(wg_sizes) / sizeof(wg_sizes[0]); i++) {
			ck_assert(!wm_disco_looks_like(buf, wg_sizes[i]));
			ck_assert_ptr_null(wm_disco_sender(buf, wg_sizes[i]));
		}
	}
	/* STUN binding request and success response: byte 1 is 0x01, cookie at 4. */
	for (int t = 0; t <= 1; t++) {
		memset(buf, 0x53, sizeof(buf));
		buf[0] = (uint8_t)t;
		buf[1] = 0x01;
		buf[2] = 0x00;
		buf[3] = 0x14;
		memcpy(buf + 4, "\x21\x12\xa4\x42", 4);
		ck_assert(!wm_disco_looks_like(buf, 40));
		ck_assert(!wm_disco_looks_like(buf, 64));
	}
	ck_assert(!wm_disco_looks_like(buf, 0));
}
END_TEST

static Suite *disco_suite(void)
{
	Suite *s = suite_create("disco");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, ping_known_answer);
	tcase_add_test(tc, pong_known_answer);
	tcase_add_test(tc, call_me_maybe_known_answer);
	tcase_add_test(tc, wire_sizes_and_round_trips);
	tcase_add_test(tc, call_me_maybe_full);
	tcase_add_test(tc, call_me_maybe_rules);
	tcase_add_test(tc, encode_rejects);
	tcase_add_test(tc, parse_rules);
	tcase_add_test(tc, plain_crypto_box_interop);
	tcase_add_test(tc, wrong_key);
	tcase_add_test(tc, open_results);
	tcase_add_test(tc, low_order_keys);
	tcase_add_test(tc, bit_flips);
	tcase_add_test(tc, truncations);
	tcase_add_test(tc, looks_like);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	sr = srunner_create(disco_suite());
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
