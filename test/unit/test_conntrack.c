/* SPDX-License-Identifier: MIT */
/*
 * The connection table, seen through the filter's verdict with a policy that allows nothing:
 * a reply passes (ok_flow) only while the flow this node opened lives. TCP by its flags, UDP by
 * the 5-tuple, ICMP echo by identifier; timeouts with an injected clock; LRU eviction, and a
 * flood of a million new flows in fixed memory.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "filter/pkt.h"

#define SEC WM_CT_SECOND

struct pk {
	int v;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;
	uint8_t type;		/* ICMP */
	uint16_t id;
	int ext;		/* IPv6 destination options headers */
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static size_t build(uint8_t *buf, const struct pk *k)
{
	size_t hl = k->v == 4 ? 20 : 40 + 8 * (size_t)k->ext, l4;
	uint8_t *h = buf + hl, *nh;

	memset(buf, 0, 256);
	l4 = k->proto == WM_IPPROTO_TCP ? 20 : 8;
	if (k->proto == WM_IPPROTO_TCP || k->proto == WM_IPPROTO_UDP) {
		put16(h, k->sport);
		put16(h + 2, k->dport);
		if (k->proto == WM_IPPROTO_TCP) {
			h[12] = 5 << 4;
			h[13] = k->flags;
		} else {
			put16(h + 4, 8);
		}
	} else {
		h[0] = k->type;
		put16(h + 4, k->id);
	}
	if (k->v == 4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(hl + l4));
		buf[8] = 64;
		buf[9] = k->proto;
		ck_assert_int_eq(inet_pton(AF_INET, k->src, buf + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, k->dst, buf + 16), 1);
	} else {
		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)(hl - 40 + l4));
		buf[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, k->src, buf + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, k->dst, buf + 24), 1);
		nh = buf + 6;
		for (int i = 0; i < k->ext; i++) {
			*nh = 60;
			nh = buf + 40 + 8 * i;
			nh[2] = 1;	/* PadN of 4 */
			nh[3] = 4;
		}
		*nh = k->proto;
	}
	return hl + l4;
}

static uint8_t *heap(const uint8_t *b, size_t n)
{
	uint8_t *h = malloc(n);

	ck_assert_ptr_nonnull(h);
	memcpy(h, b, n);
	return h;
}

static struct wm_filter *deny_all;
static struct wm_conntrack ct;

static void send_out(const struct pk *k, uint64_t now)
{
	uint8_t buf[256];
	size_t n = build(buf, k);
	uint8_t *h = heap(buf, n);

	wm_conntrack_outbound(&ct, h, n, now);
	free(h);
}

/* Whether k, arriving at now, passes as part of a flow (else no rule lets it in). */
static bool passes(const struct pk *k, uint64_t now)
{
	uint8_t buf[256];
	size_t n = build(buf, k);
	uint8_t *h = heap(buf, n);
	enum wm_filter_reason why;
	enum wm_filter_verdict v = wm_filter_inbound(deny_all, &ct, h, n, now, &why);

	free(h);
	ck_assert_msg(why == WM_FILTER_OK_FLOW || why == WM_FILTER_DROP_NO_RULE ||
		      why == WM_FILTER_DROP_PROTOCOL, "reason %s", wm_filter_reason_name(why));
	return v == WM_FILTER_ACCEPT;
}

/* The packet going the other way: addresses and ports swapped, flags given. */
static struct pk back(const struct pk *k, uint8_t flags)
{
	struct pk r = *k;

	r.src = k->dst;
	r.dst = k->src;
	r.sport = k->dport;
	r.dport = k->sport;
	r.flags = flags;
	return r;
}

static void setup(void)
{
	char err[128];

	ck_assert_int_eq(wm_filter_parse(&deny_all, "{\"rules\": []}", 13, err, sizeof(err)), 0);
	ck_assert_int_eq(wm_conntrack_init(&ct, 0, 0x5eed), 0);
}

static void teardown(void)
{
	wm_conntrack_free(&ct);
	wm_filter_free(deny_all);
}

static const struct pk tcp4 = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.2",
				.proto = WM_IPPROTO_TCP, .sport = 40000, .dport = 22,
				.flags = WM_TCP_SYN };

#define SYNACK (WM_TCP_SYN | WM_TCP_ACK)
#define ACK WM_TCP_ACK

START_TEST(test_init)
{
	struct wm_conntrack t;

	ck_assert_uint_eq(ct.capacity, WM_CONNTRACK_DEFAULT_CAPACITY);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
	ck_assert_int_eq(wm_conntrack_init(&t, WM_CONNTRACK_MAX_CAPACITY + 1, 0), -EINVAL);
	ck_assert_int_eq(wm_conntrack_init(&t, 1, 0), 0);
	ck_assert_uint_eq(t.capacity, 1);
	wm_conntrack_free(&t);
	wm_conntrack_free(&t);	/* twice is fine */
}
END_TEST

START_TEST(test_tcp_handshake)
{
	struct pk r = back(&tcp4, SYNACK), o;

	ck_assert(!passes(&r, 0));		/* nothing sent yet */
	send_out(&tcp4, 0);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 1);
	ck_assert(passes(&r, 1));
	o = tcp4;
	o.flags = ACK;
	send_out(&o, 2);
	r.flags = ACK;
	ck_assert(passes(&r, 3));
	r.flags = ACK | 0x08;			/* PSH */
	ck_assert(passes(&r, 4));
	/* Not this flow: another port either side, another host, another protocol. */
	r.sport = 23;
	ck_assert(!passes(&r, 5));
	r.sport = 22;
	r.dport = 40001;
	ck_assert(!passes(&r, 5));
	r.dport = 40000;
	r.src = "100.64.0.3";
	ck_assert(!passes(&r, 5));
	r.src = "100.64.0.2";
	r.proto = WM_IPPROTO_UDP;
	ck_assert(!passes(&r, 5));
	r.proto = WM_IPPROTO_TCP;
	ck_assert(passes(&r, 6));
}
END_TEST

START_TEST(test_tcp_only_syn_opens)
{
	struct pk o = tcp4;

	/* Segments answering a connection the peer opened open nothing. */
	o.flags = ACK;
	send_out(&o, 0);
	o.flags = SYNACK;
	send_out(&o, 0);
	o.flags = WM_TCP_RST;
	send_out(&o, 0);
	o.flags = WM_TCP_SYN | WM_TCP_RST;
	send_out(&o, 0);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
	ck_assert(!passes(&(struct pk){ .v = 4, .src = "100.64.0.2", .dst = "100.64.0.1",
					.proto = WM_IPPROTO_TCP, .sport = 22, .dport = 40000,
					.flags = ACK }, 1));
}
END_TEST

START_TEST(test_tcp_inbound_syn)
{
	struct pk r = back(&tcp4, WM_TCP_SYN);

	send_out(&tcp4, 0);
	ck_assert(passes(&r, 1));		/* simultaneous open */
	r.flags = SYNACK;
	ck_assert(passes(&r, 2));		/* established */
	r.flags = WM_TCP_SYN;
	ck_assert(!passes(&r, 3));		/* a new connection from the peer: rules judge */
	r.flags = ACK;
	ck_assert(passes(&r, 4));
}
END_TEST

START_TEST(test_tcp_close)
{
	struct pk r = back(&tcp4, SYNACK), o = tcp4;
	uint64_t t;

	send_out(&tcp4, 0);
	ck_assert(passes(&r, 1));
	o.flags = ACK | WM_TCP_FIN;
	send_out(&o, 10 * SEC);
	r.flags = ACK;
	ck_assert(passes(&r, 11 * SEC));
	r.flags = ACK | WM_TCP_FIN;
	t = 12 * SEC;
	ck_assert(passes(&r, t));		/* both FINs: the linger starts */
	r.flags = ACK;
	/* Packets in the linger do not lengthen it. */
	ck_assert(passes(&r, t + 10 * SEC));
	ck_assert(passes(&r, t + 20 * SEC));
	ck_assert(passes(&r, t + WM_CT_TCP_CLOSE_LINGER - 1));
	ck_assert(!passes(&r, t + WM_CT_TCP_CLOSE_LINGER));
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
}
END_TEST

START_TEST(test_tcp_half_close)
{
	struct pk r = back(&tcp4, SYNACK), o = tcp4;

	send_out(&tcp4, 0);
	ck_assert(passes(&r, 1));
	o.flags = ACK | WM_TCP_FIN;		/* we are done sending; the peer is not */
	send_out(&o, 2);
	r.flags = ACK;
	for (uint64_t t = 100 * SEC; t < 1000 * SEC; t += 100 * SEC)
		ck_assert(passes(&r, t));	/* traffic keeps it */
	ck_assert(passes(&r, 900 * SEC + WM_CT_TCP_FIN_WAIT_TIMEOUT - 1));
	ck_assert(!passes(&r, 900 * SEC + 2 * WM_CT_TCP_FIN_WAIT_TIMEOUT));
}
END_TEST

START_TEST(test_tcp_reset)
{
	struct pk r = back(&tcp4, SYNACK), o = tcp4;

	send_out(&tcp4, 0);
	ck_assert(passes(&r, 1));
	r.flags = WM_TCP_RST;
	ck_assert(passes(&r, 5 * SEC));
	ck_assert(passes(&r, 9 * SEC));		/* another RST does not lengthen the linger */
	r.flags = ACK;
	ck_assert(passes(&r, 5 * SEC + WM_CT_TCP_RESET_LINGER - 1));
	ck_assert(!passes(&r, 5 * SEC + WM_CT_TCP_RESET_LINGER));

	/* A RST we send closes it the same way, even in the middle of a close linger. */
	o.flags = WM_TCP_SYN;
	o.sport = 40002;
	send_out(&o, 100 * SEC);
	r = back(&o, SYNACK);
	ck_assert(passes(&r, 101 * SEC));
	r.flags = ACK | WM_TCP_FIN;
	ck_assert(passes(&r, 102 * SEC));
	o.flags = ACK | WM_TCP_FIN;
	send_out(&o, 103 * SEC);		/* linger: 30 s */
	o.flags = WM_TCP_RST;
	send_out(&o, 104 * SEC);		/* shortened to 10 s */
	r.flags = ACK;
	ck_assert(passes(&r, 104 * SEC + WM_CT_TCP_RESET_LINGER - 1));
	ck_assert(!passes(&r, 104 * SEC + WM_CT_TCP_RESET_LINGER));
}
END_TEST

START_TEST(test_tcp_reuse)
{
	struct pk r = back(&tcp4, SYNACK), o = tcp4;

	send_out(&tcp4, 0);
	ck_assert(passes(&r, 1));
	r.flags = WM_TCP_RST;
	ck_assert(passes(&r, 2));
	/* The same port pair for a new connection, within the linger. */
	o.flags = WM_TCP_SYN;
	send_out(&o, 3 * SEC);
	r.flags = SYNACK;
	ck_assert(passes(&r, 4 * SEC));
	r.flags = ACK;
	ck_assert(passes(&r, 4 * SEC + WM_CT_TCP_RESET_LINGER + 1));
}
END_TEST

START_TEST(test_tcp_timeouts)
{
	struct pk r = back(&tcp4, SYNACK), o = tcp4;

	/* Unanswered SYN, retried: the last try counts. */
	send_out(&tcp4, 0);
	send_out(&tcp4, 60 * SEC);
	ck_assert(!passes(&r, 60 * SEC + WM_CT_TCP_SYN_SENT_TIMEOUT));
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);

	/* Established: idle for days is fine, up to the timeout. */
	o.sport = 40001;
	send_out(&o, 0);
	r = back(&o, SYNACK);
	ck_assert(passes(&r, 1));
	r.flags = ACK;
	ck_assert(passes(&r, 1 + 4 * 24 * 3600 * SEC));
	ck_assert(passes(&r, 1 + 8 * 24 * 3600 * SEC));
	ck_assert(!passes(&r, 1 + 8 * 24 * 3600 * SEC + WM_CT_TCP_ESTABLISHED_TIMEOUT));
}
END_TEST

START_TEST(test_udp)
{
	struct pk o = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.5", .proto = WM_IPPROTO_UDP,
			.sport = 5353, .dport = 53 };
	struct pk r = back(&o, 0);

	send_out(&o, 0);
	ck_assert(passes(&r, 1));
	r.sport = 54;
	ck_assert(!passes(&r, 1));
	r.sport = 53;
	/* Replied: 120 s idle, kept by traffic either way. */
	ck_assert(passes(&r, 1 + WM_CT_UDP_REPLIED_TIMEOUT - 1));
	send_out(&o, 200 * SEC);
	ck_assert(passes(&r, 200 * SEC + WM_CT_UDP_REPLIED_TIMEOUT - 1));
	ck_assert(!passes(&r, 200 * SEC + 2 * WM_CT_UDP_REPLIED_TIMEOUT));

	/* Unreplied: 30 s. */
	o.sport = 5354;
	r = back(&o, 0);
	send_out(&o, 1000 * SEC);
	ck_assert(!passes(&r, 1000 * SEC + WM_CT_UDP_TIMEOUT));
	send_out(&o, 2000 * SEC);
	ck_assert(passes(&r, 2000 * SEC + WM_CT_UDP_TIMEOUT - 1));

	/* IPv6, through extension headers both ways. */
	o.v = 6;
	o.src = "fd77::1";
	o.dst = "fd77::5";
	o.ext = 2;
	r = back(&o, 0);
	r.ext = 3;
	ck_assert(!passes(&r, 0));
	send_out(&o, 0);
	ck_assert(passes(&r, 1));
}
END_TEST

START_TEST(test_icmp_echo)
{
	for (int v = 4; v <= 6; v += 2) {
		struct pk o = { .v = v, .src = v == 4 ? "100.64.0.1" : "fd77::1",
				.dst = v == 4 ? "100.64.0.6" : "fd77::6",
				.proto = v == 4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6,
				.type = v == 4 ? 8 : 128, .id = 77 };
		struct pk r = back(&o, 0);
		uint64_t t = (uint64_t)v * 1000 * SEC;

		r.type = v == 4 ? 0 : 129;
		ck_assert(!passes(&r, t));
		send_out(&o, t);
		ck_assert(passes(&r, t + 1));
		r.id = 78;
		ck_assert(!passes(&r, t + 1));		/* another identifier */
		r.id = 77;
		r.type = v == 4 ? 8 : 128;
		ck_assert(!passes(&r, t + 1));		/* a request, not a reply */
		r.type = v == 4 ? 0 : 129;
		r.src = v == 4 ? "100.64.0.7" : "fd77::7";
		ck_assert(!passes(&r, t + 1));		/* another host */
		r.src = o.dst;
		ck_assert(passes(&r, t + 1 + WM_CT_ICMP_TIMEOUT - 1));
		ck_assert(!passes(&r, t + 1 + 2 * WM_CT_ICMP_TIMEOUT));
	}
	/* Other ICMP types and unknown protocols open nothing. */
	send_out(&(struct pk){ .v = 4, .src = "100.64.0.1", .dst = "100.64.0.6",
			       .proto = WM_IPPROTO_ICMP, .type = 0, .id = 5 }, 0);
	send_out(&(struct pk){ .v = 4, .src = "100.64.0.1", .dst = "100.64.0.6",
			       .proto = WM_IPPROTO_ICMP, .type = 3 }, 0);
	send_out(&(struct pk){ .v = 4, .src = "100.64.0.1", .dst = "100.64.0.6", .proto = 47 }, 0);
	send_out(&(struct pk){ .v = 6, .src = "fd77::1", .dst = "fd77::6", .proto = 132 }, 0);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
}
END_TEST

START_TEST(test_outbound_malformed)
{
	uint8_t buf[256];
	size_t n = build(buf, &tcp4);

	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *h = heap(buf, cut ? cut : 1);

		wm_conntrack_outbound(&ct, h, cut, 0);
		free(h);
	}
	buf[6] = 0x00;
	buf[7] = 0x10;		/* a later fragment: no ports */
	wm_conntrack_outbound(&ct, buf, n, 0);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
}
END_TEST

/* Four UDP flows in a table of four; the fifth evicts by least recent use. */
START_TEST(test_lru_eviction)
{
	struct pk o[6], r;
	static const char *const dsts[6] = { "100.64.1.1", "100.64.1.2", "100.64.1.3",
					     "100.64.1.4", "100.64.1.5", "100.64.1.6" };

	wm_conntrack_free(&ct);
	ck_assert_int_eq(wm_conntrack_init(&ct, 4, 1), 0);
	for (int i = 0; i < 6; i++)
		o[i] = (struct pk){ .v = 4, .src = "100.64.0.1", .dst = dsts[i],
				    .proto = WM_IPPROTO_UDP, .sport = 1000, .dport = 2000 };
	for (int i = 0; i < 4; i++)
		send_out(&o[i], (uint64_t)i);
	for (int i = 0; i < 4; i++) {	/* all replied; 0 used last */
		r = back(&o[3 - i], 0);
		ck_assert(passes(&r, 10));
	}
	send_out(&o[4], 20);		/* evicts 3, the least recently used */
	ck_assert_uint_eq(wm_conntrack_count(&ct), 4);
	ck_assert_uint_eq(ct.evictions, 1);
	r = back(&o[3], 0);
	ck_assert(!passes(&r, 21));
	/* 4 never saw a reply: the next new flow evicts it before the older replied ones. */
	send_out(&o[5], 22);
	r = back(&o[4], 0);
	ck_assert(!passes(&r, 23));
	for (int i = 0; i < 3; i++) {
		r = back(&o[i], 0);
		ck_assert(passes(&r, 24));
	}
	r = back(&o[5], 0);
	ck_assert(passes(&r, 24));
	/* Expired entries go first, and do not count as evictions. */
	send_out(&o[3], 24 + WM_CT_UDP_REPLIED_TIMEOUT);
	ck_assert_uint_eq(ct.evictions, 2);
}
END_TEST

/* A million new flows: the table stays at its size in the same memory, and keeps the replied. */
START_TEST(test_flood)
{
	enum { FLOWS = 1000000 };
	struct pk est = tcp4, udp = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.2",
				      .proto = WM_IPPROTO_UDP, .sport = 1, .dport = 1 };
	struct wm_conntrack_entry *entries = ct.entries;
	uint8_t buf[256], *h;
	struct mallinfo2 before, after;
	size_t n;
	uint64_t now = 0;

	send_out(&est, now);
	ck_assert(passes(&(struct pk){ .v = 4, .src = "100.64.0.2", .dst = "100.64.0.1",
				       .proto = WM_IPPROTO_TCP, .sport = 22, .dport = 40000,
				       .flags = SYNACK }, now));
	n = build(buf, &udp);
	h = heap(buf, n);
	before = mallinfo2();
	for (uint32_t i = 0; i < FLOWS; i++) {
		h[17] = (uint8_t)(i >> 16);	/* 100.x.y.z: a new destination and port each */
		h[18] = (uint8_t)(i >> 8);
		h[19] = (uint8_t)i;
		put16(h + 20, (uint16_t)(i * 7));
		wm_conntrack_outbound(&ct, h, n, now += 1000);
	}
	after = mallinfo2();
	ck_assert_uint_eq(after.uordblks, before.uordblks);
	ck_assert_ptr_eq(ct.entries, entries);
	ck_assert_uint_eq(wm_conntrack_count(&ct), WM_CONNTRACK_DEFAULT_CAPACITY);
	ck_assert_uint_eq(ct.evictions, FLOWS - (WM_CONNTRACK_DEFAULT_CAPACITY - 1));

	/* The established flow, idle through the flood, is still there. */
	ck_assert(passes(&(struct pk){ .v = 4, .src = "100.64.0.2", .dst = "100.64.0.1",
				       .proto = WM_IPPROTO_TCP, .sport = 22, .dport = 40000,
				       .flags = ACK }, now));
	/* The newest flood flows are, the oldest are not. */
	for (uint32_t i = FLOWS - 100; i < FLOWS + 100; i++) {
		uint32_t k = i < FLOWS ? i : i - FLOWS;	/* then the first hundred */
		uint8_t r[256];
		enum wm_filter_reason why;

		memcpy(r, h, n);
		memcpy(r + 12, h + 16, 4);
		memcpy(r + 16, h + 12, 4);
		r[13] = (uint8_t)(k >> 16);
		r[14] = (uint8_t)(k >> 8);
		r[15] = (uint8_t)k;
		put16(r + 20, 1);
		put16(r + 22, (uint16_t)(k * 7));
		wm_filter_inbound(deny_all, &ct, r, n, now, &why);
		ck_assert_int_eq(why, i < FLOWS ? WM_FILTER_OK_FLOW : WM_FILTER_DROP_NO_RULE);
	}
	free(h);
}
END_TEST

START_TEST(test_expire_sweep)
{
	struct pk o = { .v = 4, .src = "100.64.0.1", .dst = "100.64.0.2", .proto = WM_IPPROTO_UDP,
			.sport = 1, .dport = 53 };

	for (int i = 0; i < 15; i++) {
		o.sport = (uint16_t)(100 + i);
		send_out(&o, i < 10 ? 0 : 20 * SEC);
	}
	ck_assert_uint_eq(wm_conntrack_count(&ct), 15);
	ck_assert_uint_eq(wm_conntrack_expire(&ct, 35 * SEC), 10);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 5);
	ck_assert_uint_eq(wm_conntrack_expire(&ct, 35 * SEC), 0);
	o.sport = 114;
	ck_assert(passes(&(struct pk){ .v = 4, .src = "100.64.0.2", .dst = "100.64.0.1",
				       .proto = WM_IPPROTO_UDP, .sport = 53, .dport = 114 },
			 35 * SEC));
	ck_assert_uint_eq(wm_conntrack_expire(&ct, 1000 * SEC), 5);
	ck_assert_uint_eq(wm_conntrack_count(&ct), 0);
	/* The table is whole again: fill it. */
	for (uint32_t i = 0; i < WM_CONNTRACK_DEFAULT_CAPACITY; i++) {
		o.sport = (uint16_t)i;
		o.dst = i % 2 ? "100.64.0.2" : "100.64.0.3";
		send_out(&o, 2000 * SEC);
	}
	ck_assert_uint_eq(ct.evictions, 0);
}
END_TEST

/* Any seed: a full table finds every flow. */
START_TEST(test_seeds)
{
	static const uint64_t seeds[] = { 0, 1, 0xdeadbeef, UINT64_MAX };

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		struct pk o = { .v = 6, .src = "fd77::1", .dst = "fd77::2",
				.proto = WM_IPPROTO_UDP, .dport = 443 };

		wm_conntrack_free(&ct);
		ck_assert_int_eq(wm_conntrack_init(&ct, 5000, seeds[s]), 0);
		for (int i = 0; i < 5000; i++) {
			o.sport = (uint16_t)(i + 1);
			send_out(&o, 0);
		}
		ck_assert_uint_eq(wm_conntrack_count(&ct), 5000);
		for (int i = 0; i < 5000; i++) {
			struct pk r = { .v = 6, .src = "fd77::2", .dst = "fd77::1",
					.proto = WM_IPPROTO_UDP, .sport = 443,
					.dport = (uint16_t)(i + 1) };

			ck_assert(passes(&r, 1));
		}
		ck_assert_uint_eq(ct.evictions, 0);
	}
}
END_TEST

static Suite *conntrack_suite(void)
{
	Suite *s = suite_create("conntrack");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_tcp_handshake);
	tcase_add_test(tc, test_tcp_only_syn_opens);
	tcase_add_test(tc, test_tcp_inbound_syn);
	tcase_add_test(tc, test_tcp_close);
	tcase_add_test(tc, test_tcp_half_close);
	tcase_add_test(tc, test_tcp_reset);
	tcase_add_test(tc, test_tcp_reuse);
	tcase_add_test(tc, test_tcp_timeouts);
	tcase_add_test(tc, test_udp);
	tcase_add_test(tc, test_icmp_echo);
	tcase_add_test(tc, test_outbound_malformed);
	tcase_add_test(tc, test_lru_eviction);
	tcase_add_test(tc, test_flood);
	tcase_add_test(tc, test_expire_sweep);
	tcase_add_test(tc, test_seeds);
	tcase_set_timeout(tc, 120);	/* the flood, under the sanitizers */
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conntrack_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
