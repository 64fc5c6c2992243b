/* SPDX-License-Identifier: MIT */
/*
 * The access filter: the packet_filter parser (good and bad text, the place named), the matcher
 * against tables and against a naive oracle on random policies, the verdict for fragments,
 * unknown protocols, ICMP errors and malformed packets (each judged from an exact-size heap copy,
 * so a read past the end trips ASan), and the reject answers (checksums recomputed here).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "filter/pkt.h"
#include "filter/reject.h"

#define SEC WM_CT_SECOND

/* ---- Packets --------------------------------------------------------------------------------- */

enum { FRAG_FIRST = 1, FRAG_LATER = 2 };

struct pk {
	int v;			/* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;	/* TCP, UDP */
	uint8_t flags;		/* TCP */
	uint32_t seq, ack;	/* TCP */
	uint8_t type, code;	/* ICMP */
	uint16_t id;		/* ICMP echo */
	size_t payload;		/* bytes after the upper-layer header */
	int frag;		/* 0, FRAG_FIRST, FRAG_LATER */
	uint16_t frag_off;	/* 8-byte units (FRAG_LATER) */
	uint32_t frag_id;
	int ext;		/* IPv6: destination options headers first */
	const uint8_t *inner;	/* ICMP: the quoted packet, as payload */
	size_t inner_len;
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)get16(b) << 16 | get16(b + 2);
}

static void addr(int v, const char *s, uint8_t *out)
{
	ck_assert_msg(inet_pton(v == 4 ? AF_INET : AF_INET6, s, out) == 1, "bad address %s", s);
}

/* Writes the packet k describes into buf (4096 bytes); returns its length. */
static size_t build(uint8_t *buf, const struct pk *k)
{
	size_t hl = k->v == 4 ? 20 : 40, l4 = 0, off;
	uint8_t *h;

	memset(buf, 0, 4096);
	if (k->v == 6) {
		for (int i = 0; i < k->ext; i++) {
			buf[hl] = 60;	/* next: another one, fixed below */
			buf[hl + 1] = 0;
			buf[hl + 2] = 1;	/* PadN of 4 */
			buf[hl + 3] = 4;
			hl += 8;
		}
		if (k->frag)
			hl += 8;
	}
	off = hl;
	h = buf + off;
	if (k->frag != FRAG_LATER) {
		if (k->proto == WM_IPPROTO_TCP) {
			l4 = 20;
			put16(h, k->sport);
			put16(h + 2, k->dport);
			put32(h + 4, k->seq);
			put32(h + 8, k->ack);
			h[12] = 5 << 4;
			h[13] = k->flags;
			put16(h + 14, 65535);
		} else if (k->proto == WM_IPPROTO_UDP) {
			l4 = 8;
			put16(h, k->sport);
			put16(h + 2, k->dport);
			put16(h + 4, (uint16_t)(8 + k->payload));
		} else if (k->proto == WM_IPPROTO_ICMP || k->proto == WM_IPPROTO_ICMPV6) {
			l4 = 8;
			h[0] = k->type;
			h[1] = k->code;
			put16(h + 4, k->id);
		}
	}
	for (size_t i = 0; i < k->payload; i++)
		h[l4 + i] = (uint8_t)(i * 7 + 1);
	if (k->inner)
		memcpy(h + l4, k->inner, k->inner_len);
	off += l4 + (k->inner ? k->inner_len : k->payload);
	if (k->v == 4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)off);
		put16(buf + 4, (uint16_t)k->frag_id);
		if (k->frag == FRAG_FIRST)
			put16(buf + 6, 0x2000);
		else if (k->frag == FRAG_LATER)
			put16(buf + 6, k->frag_off & 0x1fff);
		buf[8] = 64;
		buf[9] = k->proto;
		addr(4, k->src, buf + 12);
		addr(4, k->dst, buf + 16);
	} else {
		size_t x = 40;
		uint8_t *nh = buf + 6;

		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)(off - 40));
		buf[7] = 64;
		addr(6, k->src, buf + 8);
		addr(6, k->dst, buf + 24);
		for (int i = 0; i < k->ext; i++, x += 8) {
			*nh = 60;
			nh = buf + x;
		}
		if (k->frag) {
			*nh = 44;
			nh = buf + x;
			put16(buf + x + 2, k->frag == FRAG_FIRST ? 1 : (uint16_t)(k->frag_off << 3));
			put32(buf + x + 4, k->frag_id);
		}
		*nh = k->proto;
	}
	return off;
}

/* An exact-size heap copy: ASan reports any read past its end. */
static uint8_t *heap(const uint8_t *b, size_t n)
{
	uint8_t *h = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(h);
	memcpy(h, b, n);
	return h;
}

static enum wm_filter_reason judge_raw(const struct wm_filter *f, struct wm_conntrack *ct,
				       const uint8_t *b, size_t n, uint64_t now)
{
	uint8_t *h = heap(b, n);
	enum wm_filter_reason why = WM_FILTER_REASON_COUNT;
	enum wm_filter_verdict v = wm_filter_inbound(f, ct, h, n, now, &why);

	free(h);
	ck_assert_int_lt(why, WM_FILTER_REASON_COUNT);
	ck_assert_int_eq(v, why < WM_FILTER_DROP_NO_RULE ? WM_FILTER_ACCEPT : WM_FILTER_DROP);
	return why;
}

static enum wm_filter_reason judge(const struct wm_filter *f, struct wm_conntrack *ct,
				   const struct pk *k, uint64_t now)
{
	uint8_t buf[4096];

	return judge_raw(f, ct, buf, build(buf, k), now);
}

static void send_out(struct wm_conntrack *ct, const struct pk *k, uint64_t now)
{
	uint8_t buf[4096];
	size_t n = build(buf, k);
	uint8_t *h = heap(buf, n);

	wm_conntrack_outbound(ct, h, n, now);
	free(h);
}

#define expect(f, ct, k, now, want)                                                             \
	ck_assert_str_eq(wm_filter_reason_name(judge(f, ct, k, now)), wm_filter_reason_name(want))

/* ---- Policies -------------------------------------------------------------------------------- */

/* JSON written with ' for " to keep the tables readable. */
static char *unquote(const char *s)
{
	char *t = strdup(s);

	ck_assert_ptr_nonnull(t);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct wm_filter *policy(const char *text)
{
	struct wm_filter *f = NULL;
	char err[256], *t = unquote(text);
	int ret = wm_filter_parse(&f, t, strlen(t), err, sizeof(err));

	ck_assert_msg(ret == 0, "parse failed (%d): %s\n%s", ret, err, t);
	ck_assert_ptr_nonnull(f);
	free(t);
	return f;
}

static const char *const example =
	"{'rules': ["
	" {'src': ['100.64.0.3/32', 'fd77:6d65:7368::6440:3/128'], 'proto': 'tcp',"
	"  'ports': [[80, 80], [443, 443]], 'acl': 0},"
	" {'src': ['10.0.0.0/8'], 'proto': 'tcp', 'ports': [[22, 22]], 'acl': 1},"
	" {'src': ['10.1.0.0/16'], 'proto': 'udp', 'ports': [[53, 53], [5000, 6000]], 'acl': 2},"
	" {'src': ['100.64.0.7/32'], 'proto': 'icmp', 'acl': 3},"
	" {'src': ['fd77::/16'], 'proto': '*', 'acl': 4},"
	" {'src': ['192.168.1.0/24'], 'proto': 'tcp', 'ports': [[0, 65535]]},"
	" {'src': ['*'], 'proto': 'udp', 'ports': [[9999, 9999]], 'acl': 6}"
	"], 'reach': {'2': [{'proto': 'tcp', 'ports': [[5432, 5432]], 'acl': 1}],"
	"             '17': [{'proto': 'icmp', 'acl': 3}, {'proto': '*'}]},"
	" 'future': {'ignored': true}}";

START_TEST(test_parse_null)
{
	struct wm_filter *f = (struct wm_filter *)1;
	struct pk k = { .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 47 };
	char err[64];

	ck_assert_int_eq(wm_filter_parse(&f, "null", 4, err, sizeof(err)), 0);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(wm_filter_parse(&f, " null\n", 6, err, sizeof(err)), 0);
	ck_assert_ptr_null(f);
	/* No policy: everything passes, even what would not parse. */
	expect(NULL, NULL, &k, 0, WM_FILTER_OK_NO_POLICY);
	ck_assert_int_eq(judge_raw(NULL, NULL, (const uint8_t *)"x", 1, 0), WM_FILTER_OK_NO_POLICY);
	ck_assert(wm_filter_allows(NULL, AF_INET, (const uint8_t *)"\1\2\3\4", NULL, 6, 22));
	wm_filter_free(NULL);
}
END_TEST

START_TEST(test_parse_good)
{
	struct wm_filter *f = policy(example);
	const struct wm_filter_rule *r;
	uint8_t a[16], a6[16];
	size_t n, idx[8];

	r = wm_filter_rules(f, &n);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(r[0].proto, WM_FILTER_PROTO_TCP);
	ck_assert_int_eq(r[0].acl, 0);
	ck_assert_uint_eq(r[0].n_src, 2);
	ck_assert_int_eq(r[0].src[0].family, AF_INET);
	ck_assert_uint_eq(r[0].src[0].len, 32);
	ck_assert_int_eq(r[0].src[1].family, AF_INET6);
	ck_assert_uint_eq(r[0].src[1].len, 128);
	ck_assert_uint_eq(r[0].n_ports, 2);
	ck_assert_uint_eq(r[0].ports[1].first, 443);
	ck_assert_int_eq(r[3].proto, WM_FILTER_PROTO_ICMP);
	ck_assert_uint_eq(r[3].n_ports, 0);
	ck_assert_int_eq(r[4].proto, WM_FILTER_PROTO_ANY);
	ck_assert_int_eq(r[5].acl, -1);
	ck_assert_uint_eq(r[6].n_src, 2);	/* "*": 0.0.0.0/0 and ::/0 */
	ck_assert_uint_eq(r[6].src[0].len, 0);
	ck_assert_int_eq(r[6].src[1].family, AF_INET6);

	r = wm_filter_reach(f, 2, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(r[0].proto, WM_FILTER_PROTO_TCP);
	ck_assert_uint_eq(r[0].ports[0].last, 5432);
	ck_assert_int_eq(r[0].acl, 1);
	ck_assert_uint_eq(r[0].n_src, 0);
	r = wm_filter_reach(f, 17, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(r[1].proto, WM_FILTER_PROTO_ANY);
	ck_assert_ptr_null(wm_filter_reach(f, 3, &n));
	ck_assert_uint_eq(n, 0);

	/* What 10.1.2.3 may reach: rule 1 (10/8 tcp 22), rule 2 (10.1/16 udp), rule 6 ("*"). */
	addr(4, "10.1.2.3", a);
	ck_assert_uint_eq(wm_filter_rules_for_source(f, AF_INET, a, idx, 8), 3);
	ck_assert_uint_eq(idx[0], 1);
	ck_assert_uint_eq(idx[1], 2);
	ck_assert_uint_eq(idx[2], 6);
	ck_assert_uint_eq(wm_filter_rules_for_source(f, AF_INET, a, idx, 1), 3);
	addr(6, "fd77:6d65:7368::6440:3", a);
	ck_assert_uint_eq(wm_filter_rules_for_source(f, AF_INET6, a, idx, 8), 3);
	ck_assert_uint_eq(idx[0], 0);
	ck_assert_uint_eq(idx[1], 4);
	addr(6, "2001:db8::1", a);
	ck_assert_uint_eq(wm_filter_rules_for_source(f, AF_INET6, a, idx, 8), 1);

	/* A peer with both addresses: rules 0 and 6 cover both, and are listed once each. */
	addr(4, "100.64.0.3", a);
	addr(6, "fd77:6d65:7368::6440:3", a6);
	ck_assert_uint_eq(wm_filter_rules_for_peer(f, a, a6, idx, 8), 3);
	ck_assert_uint_eq(idx[0], 0);
	ck_assert_uint_eq(idx[1], 4);
	ck_assert_uint_eq(idx[2], 6);
	ck_assert_uint_eq(wm_filter_rules_for_peer(f, a, NULL, idx, 8), 2);
	ck_assert_uint_eq(wm_filter_rules_for_peer(f, NULL, a6, idx, 1), 3);
	ck_assert_uint_eq(idx[0], 0);
	ck_assert_uint_eq(wm_filter_rules_for_peer(f, NULL, NULL, idx, 8), 0);
	wm_filter_free(f);
}
END_TEST

START_TEST(test_parse_lenient)
{
	struct wm_filter *f = policy(
		"{'rules': ["
		" {'src': ['100.64.0.9', 'fd77::9'], 'proto': 'tcp', 'ports': [[1, 1]]},"
		" {'src': [], 'proto': 'tcp', 'ports': [[2, 2]]},"
		" {'src': ['100.64.0.10/32'], 'proto': 'tcp', 'ports': []},"
		" {'src': ['100.64.0.11/32'], 'proto': 'icmp', 'ports': [[0, 65535]]},"
		" {'src': ['100.64.0.12/32'], 'proto': '*', 'ports': [[7, 7]]}"
		"]}");
	const struct wm_filter_rule *r;
	uint8_t a[16];
	size_t n;

	r = wm_filter_rules(f, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(r[0].src[0].len, 32);	/* an address alone is a host prefix */
	ck_assert_uint_eq(r[0].src[1].len, 128);
	ck_assert_uint_eq(r[3].n_ports, 0);	/* ports mean nothing for icmp and "*" */
	addr(4, "100.64.0.9", a);
	ck_assert(wm_filter_allows(f, AF_INET, a, NULL, 6, 1));
	addr(4, "100.64.0.10", a);
	ck_assert(!wm_filter_allows(f, AF_INET, a, NULL, 6, 1));	/* tcp with no ports: nothing */
	addr(4, "100.64.0.11", a);
	ck_assert(wm_filter_allows(f, AF_INET, a, NULL, 1, 0));
	addr(4, "100.64.0.12", a);
	ck_assert(wm_filter_allows(f, AF_INET, a, NULL, 6, 8));	/* "*" ignores ports */
	wm_filter_free(f);

	f = policy("{'rules': []}");	/* a policy allowing nothing */
	addr(4, "100.64.0.9", a);
	ck_assert(!wm_filter_allows(f, AF_INET, a, NULL, 6, 1));
	ck_assert_ptr_null(wm_filter_reach(f, 1, &n));
	wm_filter_free(f);
}
END_TEST

struct bad_case {
	const char *text;
	const char *want;	/* a piece of the error message */
};

static const struct bad_case bad_cases[] = {
	{ "", "line 1" },
	{ "{'rules': []} x", "line 1" },
	{ "[]", "must be an object or null" },
	{ "42", "must be an object or null" },
	{ "{}", "\"rules\" is missing" },
	{ "{'rules': {}}", "rules: must be an array" },
	{ "{'rules': [], 'rules': []}", "duplicate" },
	{ "{'rules': [1]}", "rules[0]: must be an object" },
	{ "{'rules': [{'proto': 'tcp', 'ports': []}]}", "rules[0]: \"src\" is missing" },
	{ "{'rules': [{'src': '10.0.0.1/32', 'proto': '*'}]}", "rules[0].src: must be an array" },
	{ "{'rules': [{'src': [5], 'proto': '*'}]}", "rules[0].src[0]: must be a string" },
	{ "{'rules': [{'src': ['10.0.0.1/33'], 'proto': '*'}]}", "rules[0].src[0]: \"10.0.0.1/33\"" },
	{ "{'rules': [{'src': ['10.0.0/8'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['10.0.0.1/'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['10.0.0.1/a'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['10.0.0.1/08'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['10.0.0.1/-1'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': [' 10.0.0.1/32'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['fd77::/129'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['fd77::g/64'], 'proto': '*'}]}", "rules[0].src[0]" },
	{ "{'rules': [{'src': ['web'], 'proto': '*'}]}", "is not an address or prefix" },
	{ "{'rules': [{'src': ['10.0.0.1/8'], 'proto': '*'}]}", "has bits set past its prefix" },
	{ "{'rules': [{'src': ['fd77::1/64'], 'proto': '*'}]}", "has bits set past its prefix" },
	{ "{'rules': [{'src': []}]}", "rules[0]: \"proto\" is missing" },
	{ "{'rules': [{'src': [], 'proto': 6}]}", "rules[0].proto: must be a string" },
	{ "{'rules': [{'src': [], 'proto': 'sctp'}]}", "rules[0].proto: \"sctp\"" },
	{ "{'rules': [{'src': [], 'proto': 'tcp'}]}", "rules[0]: \"ports\" is missing" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': '53'}]}", "rules[0].ports: must be" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [[53]]}]}", "rules[0].ports[0]" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [53]}]}", "rules[0].ports[0]" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [['53', 53]]}]}", "rules[0].ports[0]" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [[1.5, 2]]}]}", "rules[0].ports[0]" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [[1, 2, 3]]}]}", "rules[0].ports[0]" },
	{ "{'rules': [{'src': [], 'proto': 'udp', 'ports': [[90, 80]]}]}",
	  "rules[0].ports[0]: reversed range [90, 80]" },
	{ "{'rules': [{'src': [], 'proto': 'tcp', 'ports': [[-1, 5]]}]}", "ports are 0-65535" },
	{ "{'rules': [{'src': [], 'proto': 'tcp', 'ports': [[1, 65536]]}]}", "ports are 0-65535" },
	{ "{'rules': [{'src': [], 'proto': 'icmp', 'ports': [[9, 1]]}]}", "reversed range" },
	{ "{'rules': [{'src': [], 'proto': '*', 'acl': 'x'}]}", "rules[0].acl: must be" },
	{ "{'rules': [{'src': [], 'proto': '*', 'acl': -1}]}", "rules[0].acl: must be" },
	{ "{'rules': [{'src': [], 'proto': '*', 'dest': ['x']}]}", "rules[0]: unknown field \"dest\"" },
	{ "{'rules': [{'src': [], 'proto': '*', 'dst': ['x']}]}", "rules[0].dst[0]: \"x\" is not" },
	{ "{'rules': [{'src': [], 'proto': '*', 'dst': []}]}", "rules[0].dst: must name at least" },
	{ "{'rules': [{'src': [], 'proto': '*', 'dst': '10.0.0.0/8'}]}", "rules[0].dst: must be an array" },
	{ "{'rules': [{'src': [], 'proto': '*', 'dst': ['10.0.0.1/8']}]}", "rules[0].dst[0]: \"10.0.0.1/8\" has bits" },
	{ "{'rules': [{'src': [], 'proto': '*'}, {'src': [], 'proto': 'tcp', "
	  "'ports': [[1, 2], [3, 4], [6, 5]]}]}", "rules[1].ports[2]: reversed range [6, 5]" },
	{ "{'rules': [], 'reach': []}", "reach: must be an object" },
	{ "{'rules': [], 'reach': {'2': {}}}", "reach[\"2\"]: must be an array" },
	{ "{'rules': [], 'reach': {'abc': []}}", "reach: key \"abc\" is not a peer id" },
	{ "{'rules': [], 'reach': {'02': []}}", "reach: key \"02\"" },
	{ "{'rules': [], 'reach': {'18446744073709551616': []}}", "is not a peer id" },
	{ "{'rules': [], 'reach': {'2': [{'proto': 'gre'}]}}", "reach[\"2\"][0].proto" },
	{ "{'rules': [], 'reach': {'2': [{'proto': 'tcp'}]}}", "reach[\"2\"][0]: \"ports\"" },
};

static void expect_bad(const char *raw, const char *want)
{
	struct wm_filter *f = (struct wm_filter *)1;
	char err[256];
	int ret = wm_filter_parse(&f, raw, strlen(raw), err, sizeof(err));

	ck_assert_msg(ret == -EBADMSG, "accepted (%d): %s", ret, raw);
	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(err, want), "error \"%s\" does not name \"%s\" (%s)", err, want, raw);
}

START_TEST(test_parse_bad)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *t = unquote(bad_cases[i].text);

		expect_bad(t, bad_cases[i].want);
		free(t);
	}
}
END_TEST

/* A rule list text with n rules of nsrc prefixes and nports ranges each. */
static char *big_policy(size_t n, size_t nsrc, size_t nports)
{
	size_t cap = 64 + n * (32 + nsrc * 24 + nports * 16), len = 0;
	char *t = malloc(cap);

	ck_assert_ptr_nonnull(t);
	len += (size_t)snprintf(t + len, cap - len, "{\"rules\": [");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(t + len, cap - len, "%s{\"src\": [", i ? "," : "");
		for (size_t j = 0; j < nsrc; j++)
			len += (size_t)snprintf(t + len, cap - len, "%s\"10.%zu.%zu.0/24\"",
						j ? "," : "", i % 256, j % 256);
		len += (size_t)snprintf(t + len, cap - len, "], \"proto\": \"tcp\", \"ports\": [");
		for (size_t j = 0; j < nports; j++)
			len += (size_t)snprintf(t + len, cap - len, "%s[%zu, %zu]", j ? "," : "",
						j * 2, j * 2);
		len += (size_t)snprintf(t + len, cap - len, "]}");
	}
	snprintf(t + len, cap - len, "]}");
	return t;
}

START_TEST(test_parse_bounds)
{
	struct wm_filter *f;
	char err[256], *t;
	size_t big = WM_FILTER_TEXT_MAX + 1;

	t = big_policy(WM_FILTER_MAX_RULES, 1, 1);
	ck_assert_int_eq(wm_filter_parse(&f, t, strlen(t), err, sizeof(err)), 0);
	wm_filter_free(f);
	free(t);
	t = big_policy(WM_FILTER_MAX_RULES + 1, 1, 1);
	expect_bad(t, "rules: 4097 rules, at most 4096");
	free(t);
	t = big_policy(1, WM_FILTER_MAX_SRC, WM_FILTER_MAX_PORT_RANGES);
	ck_assert_int_eq(wm_filter_parse(&f, t, strlen(t), err, sizeof(err)), 0);
	wm_filter_free(f);
	free(t);
	t = big_policy(2, WM_FILTER_MAX_SRC + 1, 1);
	expect_bad(t, "rules[0].src: 65 prefixes, at most 64");
	free(t);
	t = big_policy(2, 1, WM_FILTER_MAX_PORT_RANGES + 1);
	expect_bad(t, "rules[0].ports: 65 ranges, at most 64");
	free(t);

	/* Too long to be looked at: refused by length, before parsing. */
	t = malloc(big);
	memset(t, ' ', big);
	memcpy(t, "null", 4);
	ck_assert_int_eq(wm_filter_parse(&f, t, big, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "at most 1048576"));
	ck_assert_int_eq(wm_filter_parse(&f, t, big - 1, err, sizeof(err)), 0);
	ck_assert_ptr_null(f);
	free(t);
	/* No NUL needed, none read: an exact-size copy. */
	t = (char *)heap((const uint8_t *)"{\"rules\": []}", 13);
	ck_assert_int_eq(wm_filter_parse(&f, t, 13, NULL, 0), 0);
	wm_filter_free(f);
	free(t);
}
END_TEST

/* ---- Matching -------------------------------------------------------------------------------- */

struct match_case {
	int v;
	const char *src;
	uint8_t proto;
	uint16_t port;
	bool want;
};

static const struct match_case match_cases[] = {
	{ 4, "100.64.0.3", 6, 80, true },
	{ 4, "100.64.0.3", 6, 443, true },
	{ 4, "100.64.0.3", 6, 79, false },
	{ 4, "100.64.0.3", 6, 81, false },
	{ 4, "100.64.0.3", 6, 444, false },
	{ 4, "100.64.0.3", 17, 80, false },		/* tcp rule, udp packet */
	{ 4, "100.64.0.4", 6, 80, false },		/* /32: the neighbour */
	{ 6, "fd77:6d65:7368::6440:3", 6, 443, true },
	{ 6, "fd77:6d65:7368::6440:4", 6, 443, true },	/* fd77::/16 "*" */
	{ 6, "fd78::1", 6, 443, false },
	{ 4, "10.200.3.4", 6, 22, true },		/* 10/8 */
	{ 4, "10.1.2.3", 6, 22, true },			/* 10/8 under 10.1/16 */
	{ 4, "10.1.2.3", 17, 53, true },
	{ 4, "10.1.2.3", 17, 5000, true },
	{ 4, "10.1.2.3", 17, 6000, true },
	{ 4, "10.1.2.3", 17, 4999, false },
	{ 4, "10.1.2.3", 17, 6001, false },
	{ 4, "10.2.0.1", 17, 53, false },
	{ 4, "11.0.0.1", 6, 22, false },
	{ 4, "9.255.255.255", 6, 22, false },
	{ 4, "100.64.0.7", 1, 0, true },		/* icmp */
	{ 4, "100.64.0.7", 58, 0, false },		/* "icmp" is ICMPv4 in IPv4 */
	{ 4, "100.64.0.7", 6, 80, false },
	{ 4, "100.64.0.3", 1, 0, false },
	{ 6, "fd77::1", 58, 0, true },
	{ 6, "fd77::1", 47, 0, true },			/* "*": any protocol */
	{ 4, "100.64.0.3", 47, 0, false },		/* unknown protocol, no "*" rule */
	{ 4, "192.168.1.0", 6, 0, true },
	{ 4, "192.168.1.255", 6, 65535, true },
	{ 4, "192.168.2.0", 6, 1, false },
	{ 4, "192.168.1.1", 17, 1, false },
	{ 4, "1.2.3.4", 17, 9999, true },		/* "*" src */
	{ 6, "2001:db8::1", 17, 9999, true },
	{ 6, "2001:db8::1", 17, 9998, false },
	{ 4, "1.2.3.4", 6, 9999, false },
};

START_TEST(test_match_table)
{
	struct wm_filter *f = policy(example);

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		uint8_t a[16];

		addr(c->v, c->src, a);
		ck_assert_msg(wm_filter_allows(f, c->v == 4 ? AF_INET : AF_INET6, a, NULL, c->proto,
					       c->port) == c->want,
			      "case %zu: %s proto %u port %u: want %d", i, c->src, c->proto, c->port,
			      c->want);
	}
	wm_filter_free(f);
}
END_TEST

/*
 * Destinations: a router's rules open its own address, one subnet behind it (to another source
 * and port) and, as an exit node, the internet; each rule opens only its own destinations.
 */
static const char *const routed =
	"{'rules': ["
	"{'src': ['100.64.0.2/32'], 'dst': ['100.64.0.1/32', 'fd77::1:1/128'], 'proto': 'tcp',"
	" 'ports': [[22, 22]]},"
	"{'src': ['100.64.0.3/32'], 'dst': ['192.168.50.0/24'], 'proto': 'tcp', 'ports': [[80, 80]]},"
	"{'src': ['100.64.0.2/32'], 'dst': ['192.168.50.0/24'], 'proto': 'icmp', 'ports': []},"
	"{'src': ['100.64.0.4/32'], 'dst': ['8.0.0.0/7', '2000::/3'], 'proto': '*', 'ports': []},"
	"{'src': ['100.64.0.5/32'], 'proto': 'udp', 'ports': [[53, 53]]}]}";

static const struct dst_case {
	const char *src, *dst;
	uint8_t proto;
	uint16_t port;
	bool want;
} dst_cases[] = {
	{ "100.64.0.2", "100.64.0.1", 6, 22, true },
	{ "100.64.0.2", "192.168.50.7", 6, 22, false },	/* port 22 opens the router only */
	{ "100.64.0.3", "192.168.50.7", 6, 80, true },
	{ "100.64.0.3", "192.168.51.7", 6, 80, false },	/* outside the routed prefix */
	{ "100.64.0.3", "100.64.0.1", 6, 80, false },	/* the subnet rule does not open the router */
	{ "100.64.0.2", "192.168.50.7", 1, 0, true },
	{ "100.64.0.3", "192.168.50.7", 1, 0, false },
	{ "100.64.0.4", "9.9.9.9", 17, 443, true },
	{ "100.64.0.4", "10.1.1.1", 17, 443, false },	/* not in its internet prefixes */
	{ "100.64.0.4", "100.64.0.1", 6, 22, false },
	{ "100.64.0.5", "203.0.113.9", 17, 53, true },	/* no dst: any destination */
	{ "100.64.0.5", "100.64.0.1", 17, 54, false },
};

START_TEST(test_match_destinations)
{
	struct wm_filter *f = policy(routed);
	uint8_t a[16], d[16];

	for (size_t i = 0; i < sizeof(dst_cases) / sizeof(dst_cases[0]); i++) {
		const struct dst_case *c = &dst_cases[i];
		struct pk k = {
			.v = 4, .src = c->src, .dst = c->dst, .proto = c->proto, .sport = 40000,
			.dport = c->port, .flags = WM_TCP_SYN, .type = c->proto == 1 ? 8 : 0,
			.payload = 10,
		};
		enum wm_filter_reason got = judge(f, NULL, &k, 0);

		addr(4, c->src, a);
		addr(4, c->dst, d);
		ck_assert_msg((got == WM_FILTER_OK_RULE) == c->want, "case %zu: %s -> %s proto %u port %u: got %s",
			      i, c->src, c->dst, c->proto, c->port, wm_filter_reason_name(got));
		ck_assert_msg(wm_filter_allows(f, AF_INET, a, d, c->proto, c->port) == c->want,
			      "case %zu: wm_filter_allows", i);
		/* Without a destination, what some rule opens somewhere. */
		ck_assert(wm_filter_allows(f, AF_INET, a, NULL, c->proto, c->port) >= c->want);
	}
	addr(6, "2001:db8::5", d);
	addr(6, "fd77::1:1", a);
	ck_assert(!wm_filter_allows(f, AF_INET6, a, d, 6, 22));
	wm_filter_free(f);
}
END_TEST

/* The same table through the verdict, as packets. */
START_TEST(test_match_packets)
{
	struct wm_filter *f = policy(example);

	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		bool icmp = c->proto == 1 || c->proto == 58;
		struct pk k = {
			.v = c->v, .src = c->src, .dst = c->v == 4 ? "100.64.0.1" : "fd77::1:1",
			.proto = c->proto, .sport = 40000, .dport = c->port, .flags = WM_TCP_SYN,
			.type = icmp ? (c->v == 4 ? 8 : 128) : 0, .payload = 10,
		};
		bool known = c->proto == 6 || c->proto == 17 || c->proto == (c->v == 4 ? 1 : 58);
		enum wm_filter_reason want = c->want ? WM_FILTER_OK_RULE
					     : known ? WM_FILTER_DROP_NO_RULE : WM_FILTER_DROP_PROTOCOL;

		ck_assert_msg(judge(f, NULL, &k, 0) == want, "case %zu: %s proto %u port %u", i,
			      c->src, c->proto, c->port);
	}
	wm_filter_free(f);
}
END_TEST

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct orule {
	int proto;		/* 0 "*", 6, 17, 1 (icmp) */
	int n_src;
	int family[4];
	uint8_t a[4][16];
	int len[4];
	int n_ports;
	int first[3], last[3];
};

static bool covers(const struct orule *r, int j, int family, const uint8_t *a)
{
	if (r->family[j] != family)
		return false;
	for (int b = 0; b < r->len[j]; b++)
		if ((r->a[j][b / 8] ^ a[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

static bool oracle(const struct orule *rules, int n, int family, const uint8_t *a, uint8_t proto,
		   uint16_t port)
{
	for (int i = 0; i < n; i++) {
		const struct orule *r = &rules[i];
		bool p, src = false;

		if (r->proto == 0)
			p = true;
		else if (r->proto == 1)
			p = proto == (family == AF_INET ? 1 : 58);
		else
			p = r->proto == proto;
		if (p && (r->proto == 6 || r->proto == 17)) {
			p = false;
			for (int j = 0; j < r->n_ports; j++)
				p |= port >= r->first[j] && port <= r->last[j];
		}
		for (int j = 0; j < r->n_src; j++)
			src |= covers(r, j, family, a);
		if (p && src)
			return true;
	}
	return false;
}

/* Random policies as JSON against a naive loop over the rules; addresses near their prefixes. */
START_TEST(test_match_random_oracle)
{
	enum { RULES = 300, QUERIES = 100000, ROUNDS = 4 };
	static const int protos[] = { 0, 6, 17, 1 };
	static const uint8_t qprotos[] = { 6, 17, 1, 58, 47 };
	struct orule *rules = calloc(RULES, sizeof(*rules));
	size_t cap = RULES * 512, len, idx[RULES];
	char *text = malloc(cap), err[256];
	uint64_t seed = 42;

	for (int round = 0; round < ROUNDS; round++) {
		struct wm_filter *f;
		int n = round == 0 ? 5 : round == 1 ? 40 : RULES;
		size_t hits = 0;

		len = (size_t)snprintf(text, cap, "{\"rules\": [");
		for (int i = 0; i < n; i++) {
			struct orule *r = &rules[i];

			r->proto = protos[rnd(&seed) % 4];
			r->n_src = 1 + (int)(rnd(&seed) % 4);
			r->n_ports = 1 + (int)(rnd(&seed) % 3);
			len += (size_t)snprintf(text + len, cap - len, "%s{\"src\": [", i ? "," : "");
			for (int j = 0; j < r->n_src; j++) {
				bool v4 = rnd(&seed) % 2;
				int max = v4 ? 32 : 128, l;
				char s[INET6_ADDRSTRLEN];

				/* Few distinct lengths, as policies have, and some short ones. */
				l = rnd(&seed) % 32 == 0 ? (int)(rnd(&seed) % (max + 1))
							: max - 8 * (int)(rnd(&seed) % 3);
				r->family[j] = v4 ? AF_INET : AF_INET6;
				r->len[j] = l;
				memset(r->a[j], 0, 16);
				for (int b = 0; b < (v4 ? 4 : 16); b++)
					r->a[j][b] = (uint8_t)rnd(&seed);
				if (rnd(&seed) % 2)	/* share upper bits, so prefixes nest */
					memcpy(r->a[j], v4 ? "\x0a\x01" : "\xfd\x77\x6d\x65", v4 ? 2 : 4);
				for (int b = l; b < max; b++)
					r->a[j][b / 8] &= (uint8_t)~(0x80 >> (b % 8));
				inet_ntop(r->family[j], r->a[j], s, sizeof(s));
				len += (size_t)snprintf(text + len, cap - len, "%s\"%s/%d\"",
							j ? "," : "", s, l);
			}
			len += (size_t)snprintf(text + len, cap - len, "], \"proto\": \"%s\", \"ports\": [",
						r->proto == 0 ? "*" : r->proto == 6 ? "tcp"
								    : r->proto == 17 ? "udp" : "icmp");
			for (int j = 0; j < r->n_ports; j++) {
				r->first[j] = (int)(rnd(&seed) % 65536);
				r->last[j] = r->first[j] + (int)(rnd(&seed) % 3000);
				if (r->last[j] > 65535)
					r->last[j] = 65535;
				if (rnd(&seed) % 8 == 0) {
					r->first[j] = 0;
					r->last[j] = 65535;
				}
				len += (size_t)snprintf(text + len, cap - len, "%s[%d, %d]",
							j ? "," : "", r->first[j], r->last[j]);
			}
			len += (size_t)snprintf(text + len, cap - len, "]}");
		}
		len += (size_t)snprintf(text + len, cap - len, "]}");
		ck_assert_uint_lt(len, cap - 1);
		ck_assert_msg(wm_filter_parse(&f, text, len, err, sizeof(err)) == 0, "%s", err);

		for (int q = 0; q < QUERIES; q++) {
			const struct orule *r = &rules[rnd(&seed) % (uint64_t)n];
			int j = (int)(rnd(&seed) % (uint64_t)r->n_src), family = r->family[j];
			uint8_t a[16], proto = qprotos[rnd(&seed) % 5];
			uint16_t port;
			bool want, got;

			for (int b = 0; b < 16; b++)
				a[b] = (uint8_t)rnd(&seed);
			if (rnd(&seed) % 4) {	/* inside the prefix, mostly */
				for (int b = 0; b < r->len[j]; b++) {
					uint8_t m = (uint8_t)(0x80 >> (b % 8));

					a[b / 8] = (uint8_t)((a[b / 8] & ~m) | (r->a[j][b / 8] & m));
				}
			}
			switch (rnd(&seed) % 4) {
			case 0:
				port = (uint16_t)r->first[0];
				break;
			case 1:
				port = (uint16_t)(r->last[0] + 1);
				break;
			case 2:
				port = (uint16_t)(r->first[0] - 1);
				break;
			default:
				port = (uint16_t)rnd(&seed);
			}
			want = oracle(rules, n, family, a, proto, port);
			got = wm_filter_allows(f, family, a, NULL, proto, port);
			hits += want;
			if (got != want)
				ck_abort_msg("round %d query %d: proto %u port %u: got %d want %d",
					     round, q, proto, port, got, want);
			if (q % 64 == 0) {	/* the status query against the same oracle */
				size_t m = wm_filter_rules_for_source(f, family, a, idx, RULES), k = 0;

				for (int i = 0; i < n; i++) {
					bool c = false;

					for (int s = 0; s < rules[i].n_src; s++)
						c |= covers(&rules[i], s, family, a);
					if (c)
						ck_assert_uint_eq(idx[k++], (size_t)i);
				}
				ck_assert_uint_eq(m, k);
			}
		}
		/* Both answers are well represented. */
		ck_assert_uint_gt(hits, QUERIES / 10);
		ck_assert_uint_lt(hits, QUERIES * 9 / 10);
		wm_filter_free(f);
	}
	free(rules);
	free(text);
}
END_TEST

/* ---- Verdicts: protocols, fragments, ICMP errors, malformed ---------------------------------- */

START_TEST(test_unknown_protocols)
{
	struct wm_filter *f = policy("{'rules': [{'src': ['100.64.0.2/32'], 'proto': '*'},"
				     " {'src': ['100.64.0.3/32'], 'proto': 'tcp', 'ports': [[1, 65535]]}]}");
	struct wm_conntrack ct;
	struct pk gre = { .v = 4, .src = "100.64.0.3", .dst = "100.64.0.1", .proto = 47,
			  .payload = 20 };
	struct pk sctp6 = { .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 132,
			    .payload = 20, .ext = 2 };
	struct pk out = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.3", .proto = 47,
			  .payload = 20 };

	ck_assert_int_eq(wm_conntrack_init(&ct, 64, 1), 0);
	expect(f, &ct, &gre, 0, WM_FILTER_DROP_PROTOCOL);
	/* Not tracked: sending GRE to the peer does not let its GRE in. */
	send_out(&ct, &out, 0);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
	expect(f, &ct, &gre, 1, WM_FILTER_DROP_PROTOCOL);
	expect(f, &ct, &sctp6, 0, WM_FILTER_DROP_PROTOCOL);
	gre.src = "100.64.0.2";		/* a "*" rule lets it in */
	expect(f, &ct, &gre, 0, WM_FILTER_OK_RULE);
	/* IPv6 "no next header" and ESP are upper layers too. */
	sctp6.proto = 59;
	expect(f, &ct, &sctp6, 0, WM_FILTER_DROP_PROTOCOL);
	sctp6.proto = 50;
	expect(f, &ct, &sctp6, 0, WM_FILTER_DROP_PROTOCOL);
	wm_conntrack_free(&ct);
	wm_filter_free(f);
}
END_TEST

START_TEST(test_fragments)
{
	struct wm_filter *f = policy("{'rules': [{'src': ['100.64.0.3/32', 'fd77::3/128'],"
				     " 'proto': 'udp', 'ports': [[53, 53]]}]}");
	struct wm_conntrack ct;

	ck_assert_int_eq(wm_conntrack_init(&ct, 64, 7), 0);
	for (int v = 4; v <= 6; v += 2) {
		const char *peer = v == 4 ? "100.64.0.3" : "fd77::3";
		const char *self = v == 4 ? "100.64.0.1" : "fd77::1";
		const char *other = v == 4 ? "100.64.0.4" : "fd77::4";
		struct pk first = { .v = v, .src = peer, .dst = self, .proto = WM_IPPROTO_UDP,
				    .sport = 5000, .dport = 53, .payload = 1000, .frag = FRAG_FIRST,
				    .frag_id = 0x1234 };
		struct pk later = first;
		uint64_t t = v == 4 ? 0 : 1000 * SEC;

		later.frag = FRAG_LATER;
		later.frag_off = 126;
		later.payload = 500;

		/* Later fragments before any first: dropped, also without a table. */
		expect(f, &ct, &later, t, WM_FILTER_DROP_FRAGMENT);
		expect(f, NULL, &later, t, WM_FILTER_DROP_FRAGMENT);
		/* The first fragment is judged by its ports; then its datagram's rest passes. */
		expect(f, &ct, &first, t, WM_FILTER_OK_RULE);
		expect(f, &ct, &later, t + 1, WM_FILTER_OK_FRAGMENT);
		later.frag_off = 250;
		expect(f, &ct, &later, t + 2, WM_FILTER_OK_FRAGMENT);
		/* Not another datagram: other id, other source, other protocol. */
		later.frag_id = 0x1235;
		expect(f, &ct, &later, t + 3, WM_FILTER_DROP_FRAGMENT);
		later.frag_id = 0x1234;
		later.src = other;
		expect(f, &ct, &later, t + 3, WM_FILTER_DROP_FRAGMENT);
		later.src = peer;
		later.proto = WM_IPPROTO_TCP;
		expect(f, &ct, &later, t + 3, WM_FILTER_DROP_FRAGMENT);
		later.proto = WM_IPPROTO_UDP;
		/* Only for WM_CT_FRAG_TIMEOUT. */
		expect(f, &ct, &later, t + WM_CT_FRAG_TIMEOUT - 1, WM_FILTER_OK_FRAGMENT);
		expect(f, &ct, &later, t + WM_CT_FRAG_TIMEOUT, WM_FILTER_DROP_FRAGMENT);

		/* A first fragment no rule allows: its later fragments stay out. */
		first.dport = 54;
		first.frag_id = 0x99;
		later.frag_id = 0x99;
		expect(f, &ct, &first, t + 100 * SEC, WM_FILTER_DROP_NO_RULE);
		expect(f, &ct, &later, t + 100 * SEC, WM_FILTER_DROP_FRAGMENT);

		/* A first fragment too short for its header, a later one overlapping TCP's. */
		first.dport = 53;
		first.proto = WM_IPPROTO_TCP;
		first.payload = 0;
		{
			uint8_t buf[4096];
			size_t n = build(buf, &first);

			ck_assert_int_eq(judge_raw(f, &ct, buf, n, t), WM_FILTER_DROP_NO_RULE);
			/* cut the TCP header to 16 bytes: malformed, not judged by ports */
			if (v == 4)
				put16(buf + 2, (uint16_t)(n - 4));
			else
				put16(buf + 4, (uint16_t)(n - 44));
			ck_assert_int_eq(judge_raw(f, &ct, buf, n - 4, t), WM_FILTER_DROP_MALFORMED);
		}
		later.proto = WM_IPPROTO_TCP;
		later.frag_off = 1;
		expect(f, &ct, &later, t, WM_FILTER_DROP_MALFORMED);
		later.frag_off = 2;
		expect(f, &ct, &later, t, WM_FILTER_DROP_MALFORMED);
		later.frag_off = 3;
		expect(f, &ct, &later, t, WM_FILTER_DROP_FRAGMENT);
		later.proto = WM_IPPROTO_UDP;
		later.frag_off = 1;	/* UDP's 8-byte header cannot be overlapped at offset 8 */
		expect(f, &ct, &later, t, WM_FILTER_DROP_FRAGMENT);
	}

	/* A reply in fragments to a flow this node started. */
	{
		struct pk q = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.9",
				.proto = WM_IPPROTO_UDP, .sport = 7777, .dport = 4242, .payload = 30 };
		struct pk first = { .v = 4, .src = "100.64.0.9", .dst = "100.64.0.1",
				    .proto = WM_IPPROTO_UDP, .sport = 4242, .dport = 7777,
				    .payload = 1400, .frag = FRAG_FIRST, .frag_id = 77 };
		struct pk later = first;

		later.frag = FRAG_LATER;
		later.frag_off = 176;
		expect(f, &ct, &first, 0, WM_FILTER_DROP_NO_RULE);
		send_out(&ct, &q, 0);
		expect(f, &ct, &first, 1, WM_FILTER_OK_FLOW);
		expect(f, &ct, &later, 2, WM_FILTER_OK_FRAGMENT);
	}

	/* IPv6 atomic fragment (offset 0, no more): a whole packet. */
	{
		struct pk a = { .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = WM_IPPROTO_UDP,
				.sport = 1, .dport = 53, .payload = 8, .frag = FRAG_FIRST };
		uint8_t buf[4096];
		size_t n = build(buf, &a);

		buf[40 + 3] = 0;	/* clear M */
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 0), WM_FILTER_OK_RULE);
	}
	wm_conntrack_free(&ct);
	wm_filter_free(f);
}
END_TEST

/* An ICMP error from `from` to `to` quoting q (cut to quote_len bytes; 0: whole). */
static size_t icmp_error(uint8_t *buf, int v, const char *from, const char *to, uint8_t type,
			 uint8_t code, const struct pk *q, size_t quote_len)
{
	uint8_t inner[4096];
	size_t n = build(inner, q);
	struct pk e = { .v = v, .src = from, .dst = to,
			.proto = v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6, .type = type,
			.code = code, .inner = inner, .inner_len = quote_len ? quote_len : n };

	return build(buf, &e);
}

START_TEST(test_icmp_errors)
{
	struct wm_filter *f = policy("{'rules': [{'src': ['100.64.0.0/10', 'fd77::/16'],"
				     " 'proto': 'tcp', 'ports': [[80, 80]]}]}");
	struct wm_conntrack ct;
	uint8_t buf[4096];
	size_t n;

	ck_assert_int_eq(wm_conntrack_init(&ct, 64, 3), 0);
	for (int v = 4; v <= 6; v += 2) {
		const char *self = v == 4 ? "100.64.0.1" : "fd77::1";
		const char *peer = v == 4 ? "100.64.0.9" : "fd77::9";
		const char *router = v == 4 ? "192.168.7.1" : "2001:db8::1";
		uint8_t unreach = v == 4 ? 3 : 1, too_big = v == 4 ? 3 : 2;
		uint8_t too_big_code = v == 4 ? 4 : 0, exceeded = v == 4 ? 11 : 3;
		/* A UDP flow this node started, a TCP reply from its port 80 (the rules allow the
		 * peer to connect there), and a datagram it sent in no flow it tracks... */
		struct pk udp = { .v = v, .src = self, .dst = peer, .proto = WM_IPPROTO_UDP,
				  .sport = 3333, .dport = 53, .payload = 1200 };
		struct pk web = { .v = v, .src = self, .dst = peer, .proto = WM_IPPROTO_TCP,
				  .sport = 80, .dport = 50000, .flags = WM_TCP_ACK, .payload = 1300 };
		struct pk stray = udp;

		stray.dport = 54;
		send_out(&ct, &udp, 0);
		n = icmp_error(buf, v, peer, self, unreach, 3, &udp, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_OK_RELATED);
		/* ...from a router on the way, quoting only the headers and 8 bytes. */
		n = icmp_error(buf, v, router, self, too_big, too_big_code, &udp,
			       (v == 4 ? 20 : 40) + 8);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_OK_RELATED);
		n = icmp_error(buf, v, router, self, exceeded, 0, &udp, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_OK_RELATED);
		/* Less than 8 bytes past the headers: nothing to match. */
		n = icmp_error(buf, v, router, self, unreach, 0, &udp, (v == 4 ? 20 : 40) + 7);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_DROP_UNRELATED);
		n = icmp_error(buf, v, peer, self, too_big, too_big_code, &web, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_OK_RELATED);
		n = icmp_error(buf, v, peer, self, unreach, 3, &stray, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_DROP_UNRELATED);
		/* Quoting a packet this node did not send (its source is not the addressee). */
		udp.src = v == 4 ? "100.64.0.2" : "fd77::2";
		n = icmp_error(buf, v, peer, self, unreach, 3, &udp, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, 1), WM_FILTER_DROP_UNRELATED);
		udp.src = self;
		/* The flow gone, its errors go too. */
		n = icmp_error(buf, v, peer, self, unreach, 3, &udp, 0);
		ck_assert_int_eq(judge_raw(f, &ct, buf, n, WM_CT_UDP_TIMEOUT + 1),
				 WM_FILTER_DROP_UNRELATED);
		/* No table: only what the rules let the quoted destination open. */
		n = icmp_error(buf, v, peer, self, too_big, too_big_code, &web, 0);
		ck_assert_int_eq(judge_raw(f, NULL, buf, n, 1), WM_FILTER_OK_RELATED);
		/* An echo request is no error: only a rule lets it in. */
		{
			struct pk ping = { .v = v, .src = peer, .dst = self,
					   .proto = v == 4 ? 1 : 58, .type = v == 4 ? 8 : 128,
					   .id = 1, .payload = 56 };

			expect(f, &ct, &ping, 1, WM_FILTER_DROP_NO_RULE);
		}
	}
	wm_conntrack_free(&ct);
	wm_filter_free(f);

	/* An "icmp" rule lets any ICMP from its sources in, errors included. */
	f = policy("{'rules': [{'src': ['100.64.0.9/32'], 'proto': 'icmp'}]}");
	{
		struct pk q = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.77",
				.proto = WM_IPPROTO_UDP, .sport = 1, .dport = 2, .payload = 8 };

		n = icmp_error(buf, 4, "100.64.0.9", "100.64.0.1", 3, 1, &q, 0);
		ck_assert_int_eq(judge_raw(f, NULL, buf, n, 1), WM_FILTER_OK_RULE);
		n = icmp_error(buf, 4, "100.64.0.8", "100.64.0.1", 3, 1, &q, 0);
		ck_assert_int_eq(judge_raw(f, NULL, buf, n, 1), WM_FILTER_DROP_UNRELATED);
	}
	wm_filter_free(f);
}
END_TEST

/* Every prefix of valid packets of every kind: never a read past the end, never an accept. */
START_TEST(test_malformed_truncated)
{
	struct wm_filter *f = policy("{'rules': [{'src': ['*'], 'proto': '*'}]}");
	struct wm_conntrack ct;
	static const struct pk kinds[] = {
		{ .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 6, .sport = 1, .dport = 2,
		  .payload = 30 },
		{ .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 17, .payload = 30 },
		{ .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 1, .type = 8, .payload = 30 },
		{ .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 47, .payload = 30 },
		{ .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 17, .payload = 30,
		  .frag = FRAG_FIRST },
		{ .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 6, .payload = 30, .ext = 3 },
		{ .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 17, .payload = 30,
		  .frag = FRAG_FIRST, .ext = 1 },
		{ .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 17, .payload = 30,
		  .frag = FRAG_LATER, .frag_off = 4 },
		{ .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 58, .type = 128,
		  .payload = 30 },
	};
	uint8_t buf[4096], out[WM_FILTER_REJECT_MAX];

	ck_assert_int_eq(wm_conntrack_init(&ct, 64, 3), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = build(buf, &kinds[i]);

		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *h = heap(buf, cut);
			enum wm_filter_reason why;

			ck_assert_int_eq(wm_filter_inbound(f, &ct, h, cut, 0, &why), WM_FILTER_DROP);
			ck_assert_int_eq(why, WM_FILTER_DROP_MALFORMED);
			wm_conntrack_outbound(&ct, h, cut, 0);
			ck_assert_uint_eq(wm_filter_reject(h, cut, out, sizeof(out)), 0);
			free(h);
		}
		/* Whole, and with trailing bytes past the IP length: fine. */
		ck_assert_int_ne(judge_raw(f, &ct, buf, n, 0), WM_FILTER_DROP_MALFORMED);
		ck_assert_int_ne(judge_raw(f, &ct, buf, n + 5, 0), WM_FILTER_DROP_MALFORMED);
	}
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
	wm_conntrack_free(&ct);
	wm_filter_free(f);
}
END_TEST

static void expect_malformed(const struct wm_filter *f, const uint8_t *b, size_t n, const char *what)
{
	ck_assert_msg(judge_raw(f, NULL, b, n, 0) == WM_FILTER_DROP_MALFORMED, "%s: not malformed",
		      what);
}

START_TEST(test_malformed_headers)
{
	struct wm_filter *f = policy("{'rules': [{'src': ['*'], 'proto': '*'}]}");
	struct pk tcp4 = { .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 6, .payload = 4 };
	struct pk udp4 = { .v = 4, .src = "1.2.3.4", .dst = "100.64.0.1", .proto = 17, .payload = 4 };
	struct pk udp6 = { .v = 6, .src = "fd77::3", .dst = "fd77::1", .proto = 17, .payload = 4 };
	uint8_t b[4096], c[4096];
	size_t n;

	n = build(b, &tcp4);
	memcpy(c, b, n);
	c[0] = 0x55;
	expect_malformed(f, c, n, "version 5");
	c[0] = 0x44;
	expect_malformed(f, c, n, "IHL 4");
	c[0] = 0x4f;
	expect_malformed(f, c, n, "IHL past the end");
	memcpy(c, b, n);
	put16(c + 2, 19);
	expect_malformed(f, c, n, "total length under the header");
	put16(c + 2, (uint16_t)(n + 1));
	expect_malformed(f, c, n, "total length past the buffer");
	memcpy(c, b, n);
	c[20 + 12] = 4 << 4;
	expect_malformed(f, c, n, "TCP data offset 4");
	c[20 + 12] = 7 << 4;
	expect_malformed(f, c, n, "TCP data offset past the end");
	n = build(b, &udp4);
	memcpy(c, b, n);
	put16(c + 24, 7);
	expect_malformed(f, c, n, "UDP length 7");
	put16(c + 24, (uint16_t)(n - 20 + 1));
	expect_malformed(f, c, n, "UDP length past the end");
	n = build(b, &udp6);
	memcpy(c, b, n);
	put16(c + 4, (uint16_t)(n - 40 + 1));
	expect_malformed(f, c, n, "IPv6 payload length past the end");

	/* Extension headers: eight are skipped, a ninth is too many. */
	udp6.ext = WM_PKT_MAX_EXT_HEADERS;
	n = build(b, &udp6);
	ck_assert_int_eq(judge_raw(f, NULL, b, n, 0), WM_FILTER_OK_RULE);
	udp6.ext = WM_PKT_MAX_EXT_HEADERS + 1;
	n = build(b, &udp6);
	expect_malformed(f, b, n, "nine extension headers");
	udp6.ext = 1;
	n = build(b, &udp6);
	memcpy(c, b, n);
	c[41] = 200;		/* header length past the packet */
	expect_malformed(f, c, n, "extension header past the end");
	/* Two fragment headers. */
	memcpy(c, b, n);
	c[6] = 44;
	c[40] = 44;
	c[42] = c[43] = 0;	/* offset 0, no more: atomic, so the walk goes on to the next */
	expect_malformed(f, c, n, "fragment header twice");
	/* Jumbogram (payload length 0): not over WireGuard. */
	memcpy(c, b, n);
	put16(c + 4, 0);
	expect_malformed(f, c, n, "payload length 0");

	/* Random bytes with a plausible first byte, exact-size copies, every length. */
	{
		uint64_t s = 9;

		for (int i = 0; i < 20000; i++) {
			size_t len = rnd(&s) % 120;

			for (size_t j = 0; j < len; j++)
				c[j] = (uint8_t)rnd(&s);
			if (len)
				c[0] = (uint8_t)((i % 2 ? 0x40 : 0x60) | (c[0] & 0x0f));
			judge_raw(f, NULL, c, len, 0);
		}
	}
	wm_filter_free(f);
}
END_TEST

/* ---- Reject answers -------------------------------------------------------------------------- */

/* RFC 1071 checksum, done plainly here: 0 when the data carries a correct one. */
static uint16_t naive_csum(const uint8_t *pseudo, size_t plen, const uint8_t *b, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < plen; i += 2)
		sum += (uint64_t)pseudo[i] << 8 | pseudo[i + 1];
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? b[i] : (uint64_t)b[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checks the IP header and the upper-layer checksum of an answer; returns the L4 offset. */
static size_t check_answer(const uint8_t *a, size_t n, int v, uint8_t proto)
{
	uint8_t pseudo[40];
	size_t hl = v == 4 ? 20 : 40, plen;

	ck_assert_uint_ge(n, hl + 8);
	if (v == 4) {
		ck_assert_uint_eq(a[0], 0x45);
		ck_assert_uint_eq(get16(a + 2), n);
		ck_assert_uint_eq(a[8], 64);
		ck_assert_uint_eq(a[9], proto);
		ck_assert_uint_eq(naive_csum(NULL, 0, a, 20), 0);
		memcpy(pseudo, a + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = proto;
		put16(pseudo + 10, (uint16_t)(n - 20));
		plen = proto == WM_IPPROTO_ICMP ? 0 : 12;	/* ICMPv4 has no pseudo-header */
	} else {
		ck_assert_uint_eq(a[0], 0x60);
		ck_assert_uint_eq(get16(a + 4), n - 40);
		ck_assert_uint_eq(a[6], proto);
		ck_assert_uint_eq(a[7], 64);
		memcpy(pseudo, a + 8, 32);
		put32(pseudo + 32, (uint32_t)(n - 40));
		memset(pseudo + 36, 0, 3);
		pseudo[39] = proto;
		plen = 40;
	}
	ck_assert_uint_eq(naive_csum(pseudo, plen, a + hl, n - hl), 0);
	return hl;
}

static size_t reject(const struct pk *k, uint8_t *out, size_t cap, uint8_t *orig, size_t *olen)
{
	uint8_t buf[4096];
	size_t n = build(buf, k), r;
	uint8_t *h = heap(buf, n), *o = malloc(cap ? cap : 1);

	r = wm_filter_reject(h, n, o, cap);
	ck_assert_uint_le(r, cap);
	memcpy(out, o, r);
	if (orig)
		memcpy(orig, buf, n);
	if (olen)
		*olen = n;
	free(h);
	free(o);
	return r;
}

START_TEST(test_reject_tcp)
{
	uint8_t a[WM_FILTER_REJECT_MAX], self[16], peer[16];
	struct wm_pkt p;
	size_t n, l4;

	for (int v = 4; v <= 6; v += 2) {
		struct pk syn = { .v = v, .src = v == 4 ? "100.64.0.3" : "fd77::3",
				  .dst = v == 4 ? "100.64.0.1" : "fd77::1", .proto = 6,
				  .sport = 40000, .dport = 22, .flags = WM_TCP_SYN, .seq = 1000 };
		struct pk data = syn;
		size_t alen = v == 4 ? 4 : 16;

		addr(v, syn.src, peer);
		addr(v, syn.dst, self);
		n = reject(&syn, a, sizeof(a), NULL, NULL);
		ck_assert_uint_eq(n, v == 4 ? 40 : 60);
		l4 = check_answer(a, n, v, WM_IPPROTO_TCP);
		ck_assert_mem_eq(a + (v == 4 ? 12 : 8), self, alen);	/* from the destination */
		ck_assert_mem_eq(a + (v == 4 ? 16 : 24), peer, alen);
		ck_assert_uint_eq(get16(a + l4), 22);
		ck_assert_uint_eq(get16(a + l4 + 2), 40000);
		ck_assert_uint_eq(get32(a + l4 + 4), 0);
		ck_assert_uint_eq(get32(a + l4 + 8), 1001);	/* SYN counts one */
		ck_assert_uint_eq(a[l4 + 12], 5 << 4);
		ck_assert_uint_eq(a[l4 + 13], WM_TCP_RST | WM_TCP_ACK);
		ck_assert(wm_pkt_parse(&p, a, n, false));

		/* A segment with an ACK: the RST takes its sequence from it. */
		data.flags = WM_TCP_ACK | WM_TCP_FIN;
		data.seq = 5000;
		data.ack = 0xfffffff0;
		data.payload = 100;
		n = reject(&data, a, sizeof(a), NULL, NULL);
		l4 = check_answer(a, n, v, WM_IPPROTO_TCP);
		ck_assert_uint_eq(get32(a + l4 + 4), 0xfffffff0);
		ck_assert_uint_eq(get32(a + l4 + 8), 0);
		ck_assert_uint_eq(a[l4 + 13], WM_TCP_RST);
		/* Without: acknowledge it all (payload and FIN), wrapping. */
		data.flags = WM_TCP_FIN;
		data.seq = 0xffffffff;
		n = reject(&data, a, sizeof(a), NULL, NULL);
		l4 = check_answer(a, n, v, WM_IPPROTO_TCP);
		ck_assert_uint_eq(get32(a + l4 + 8), 100);
		ck_assert_uint_eq(a[l4 + 13], WM_TCP_RST | WM_TCP_ACK);

		/* Never a RST for a RST; not when it does not fit. */
		data.flags = WM_TCP_RST | WM_TCP_ACK;
		ck_assert_uint_eq(reject(&data, a, sizeof(a), NULL, NULL), 0);
		ck_assert_uint_eq(reject(&syn, a, v == 4 ? 40 : 60, NULL, NULL), v == 4 ? 40 : 60);
		ck_assert_uint_eq(reject(&syn, a, v == 4 ? 39 : 59, NULL, NULL), 0);
	}
}
END_TEST

START_TEST(test_reject_icmp)
{
	uint8_t a[WM_FILTER_REJECT_MAX], orig[4096];
	size_t n, olen, l4;

	for (int v = 4; v <= 6; v += 2) {
		struct pk udp = { .v = v, .src = v == 4 ? "100.64.0.3" : "fd77::3",
				  .dst = v == 4 ? "100.64.0.1" : "fd77::1", .proto = 17,
				  .sport = 5353, .dport = 161, .payload = 100 };
		struct pk k = udp;
		size_t max = v == 4 ? 576 : 1280, hl = v == 4 ? 20 : 40;
		uint8_t type = v == 4 ? 3 : 1, code = v == 4 ? 13 : 1;

		n = reject(&udp, a, sizeof(a), orig, &olen);
		ck_assert_uint_eq(n, hl + 8 + olen);
		l4 = check_answer(a, n, v, v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6);
		ck_assert_uint_eq(a[l4], type);
		ck_assert_uint_eq(a[l4 + 1], code);
		ck_assert_uint_eq(get32(a + l4 + 4), 0);
		ck_assert_mem_eq(a + l4 + 8, orig, olen);

		/* A big one is quoted up to 576 / 1280 bytes in all. */
		k.payload = 1400;
		n = reject(&k, a, sizeof(a), orig, &olen);
		ck_assert_uint_eq(n, max);
		l4 = check_answer(a, n, v, v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6);
		ck_assert_mem_eq(a + l4 + 8, orig, max - hl - 8);
		/* A smaller buffer: a shorter quote, down to the headers and 8 bytes. */
		n = reject(&k, a, 100, NULL, NULL);
		ck_assert_uint_eq(n, 100);
		check_answer(a, n, v, v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6);
		ck_assert_uint_eq(reject(&k, a, 2 * hl + 16, NULL, NULL), 2 * hl + 16);
		ck_assert_uint_eq(reject(&k, a, 2 * hl + 15, NULL, NULL), 0);

		/* Echo requests and unknown protocols get one too. */
		k = udp;
		k.proto = v == 4 ? 1 : 58;
		k.type = v == 4 ? 8 : 128;
		ck_assert_uint_gt(reject(&k, a, sizeof(a), NULL, NULL), 0);
		k.proto = 47;
		k.payload = 2;
		n = reject(&k, a, sizeof(a), orig, &olen);
		ck_assert_uint_eq(n, hl + 8 + olen);
		check_answer(a, n, v, v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6);
	}
}
END_TEST

START_TEST(test_reject_never)
{
	uint8_t a[WM_FILTER_REJECT_MAX];
	struct pk base = { .v = 4, .src = "100.64.0.3", .dst = "100.64.0.1", .proto = 17,
			   .sport = 1, .dport = 2, .payload = 20 };
	struct pk k;
	static const uint8_t errors4[] = { 3, 4, 5, 11, 12 }, errors6[] = { 1, 2, 3, 4, 100, 127 };

	ck_assert_uint_gt(reject(&base, a, sizeof(a), NULL, NULL), 0);
	for (size_t i = 0; i < sizeof(errors4); i++) {
		k = base;
		k.proto = 1;
		k.type = errors4[i];
		ck_assert_msg(reject(&k, a, sizeof(a), NULL, NULL) == 0, "icmp type %u", k.type);
	}
	for (size_t i = 0; i < sizeof(errors6); i++) {
		k = base;
		k.v = 6;
		k.src = "fd77::3";
		k.dst = "fd77::1";
		k.proto = 58;
		k.type = errors6[i];
		ck_assert_msg(reject(&k, a, sizeof(a), NULL, NULL) == 0, "icmpv6 type %u", k.type);
	}
	k = base;
	k.frag = FRAG_FIRST;
	ck_assert_uint_eq(reject(&k, a, sizeof(a), NULL, NULL), 0);
	k.frag = FRAG_LATER;
	k.frag_off = 10;
	ck_assert_uint_eq(reject(&k, a, sizeof(a), NULL, NULL), 0);
	{
		static const char *const bad[][2] = {
			{ "100.64.0.3", "224.0.0.5" }, { "100.64.0.3", "255.255.255.255" },
			{ "100.64.0.3", "239.1.2.3" }, { "0.0.0.0", "100.64.0.1" },
			{ "127.0.0.1", "100.64.0.1" }, { "224.0.0.1", "100.64.0.1" },
			{ "fd77::3", "ff02::1" }, { "::", "fd77::1" }, { "fd77::3", "::1" },
			{ "ff05::2", "fd77::1" }, { "::1", "fd77::1" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			k = base;
			k.v = strchr(bad[i][0], ':') ? 6 : 4;
			k.src = bad[i][0];
			k.dst = bad[i][1];
			ck_assert_msg(reject(&k, a, sizeof(a), NULL, NULL) == 0, "%s -> %s",
				      bad[i][0], bad[i][1]);
			k.proto = 6;
			k.flags = WM_TCP_SYN;
			ck_assert_msg(reject(&k, a, sizeof(a), NULL, NULL) == 0, "tcp %s -> %s",
				      bad[i][0], bad[i][1]);
		}
	}
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tp = tcase_create("parse"), *tm = tcase_create("match"), *tv = tcase_create("verdict");
	TCase *tr = tcase_create("reject");

	tcase_add_test(tp, test_parse_null);
	tcase_add_test(tp, test_parse_good);
	tcase_add_test(tp, test_parse_lenient);
	tcase_add_test(tp, test_parse_bad);
	tcase_add_test(tp, test_parse_bounds);
	tcase_set_timeout(tp, 60);
	suite_add_tcase(s, tp);
	tcase_add_test(tm, test_match_table);
	tcase_add_test(tm, test_match_packets);
	tcase_add_test(tm, test_match_destinations);
	tcase_add_test(tm, test_match_random_oracle);
	tcase_set_timeout(tm, 120);	/* the naive oracle, under the sanitizers */
	suite_add_tcase(s, tm);
	tcase_add_test(tv, test_unknown_protocols);
	tcase_add_test(tv, test_fragments);
	tcase_add_test(tv, test_icmp_errors);
	tcase_add_test(tv, test_malformed_truncated);
	tcase_add_test(tv, test_malformed_headers);
	suite_add_tcase(s, tv);
	tcase_add_test(tr, test_reject_tcp);
	tcase_add_test(tr, test_reject_icmp);
	tcase_add_test(tr, test_reject_never);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(filter_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
