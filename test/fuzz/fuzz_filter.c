/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the access filter (filter/). Every input is used three ways, each from an
 * exact-size heap copy so a read past the end is caught:
 *   - as packet_filter JSON text: parsing returns 0 or -EBADMSG (with a message), and a filter
 *     that parses answers the status queries and judges packets;
 *   - as one IP packet: judged inbound under a fixed policy, recorded outbound, and answered by
 *     wm_filter_reject, whose answer must fit, come from the dropped packet's destination to
 *     its source, parse, and carry correct checksums (recomputed here);
 *   - as a packet entering the tunnel (filter/mtu.h): a clamped SYN differs from the input in
 *     at most its MSS and checksum, and its TCP checksum verifies after exactly when it did
 *     before; the "fragmentation needed" answer is checked like the reject answers;
 *   - as a conversation: records [flags][length, 2 bytes][packet], each sent or received by a
 *     small connection table (8 flows, so eviction happens) with the clock moving on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "filter/mtu.h"
#include "filter/pkt.h"
#include "filter/reject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static const char policy_text[] =
	"{\"rules\": ["
	"{\"src\": [\"100.64.0.0/10\", \"fd77::/16\"], \"proto\": \"tcp\", \"ports\": [[22, 22], [80, 90]]},"
	"{\"src\": [\"10.0.0.0/8\"], \"proto\": \"udp\", \"ports\": [[53, 53]]},"
	"{\"src\": [\"100.64.0.7/32\", \"fd77::7/128\"], \"proto\": \"icmp\"},"
	"{\"src\": [\"192.168.0.0/16\"], \"proto\": \"*\"}"
	"], \"reach\": {\"2\": [{\"proto\": \"tcp\", \"ports\": [[1, 2]]}]}}";

static struct wm_filter *policy;
static struct wm_conntrack big_ct;
static bool ready;

static void setup(void)
{
	CHECK(wm_filter_parse(&policy, policy_text, sizeof(policy_text) - 1, NULL, 0) == 0);
	CHECK(wm_conntrack_init(&big_ct, 1024, 7) == 0);
	ready = true;
}

static uint8_t *copy(const uint8_t *data, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	CHECK(p);
	memcpy(p, data, n);
	return p;
}

static enum wm_filter_verdict judge(const struct wm_filter *f, struct wm_conntrack *ct,
				    const uint8_t *pkt, size_t n, uint64_t now)
{
	enum wm_filter_reason why = WM_FILTER_REASON_COUNT;
	enum wm_filter_verdict v = wm_filter_inbound(f, ct, pkt, n, now, &why);

	CHECK(why < WM_FILTER_REASON_COUNT);
	CHECK(v == (why < WM_FILTER_DROP_NO_RULE ? WM_FILTER_ACCEPT : WM_FILTER_DROP));
	CHECK(wm_filter_reason_name(why)[0] != 'u');
	return v;
}

static uint16_t csum(const uint8_t *pseudo, size_t plen, const uint8_t *b, size_t n)
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

/* The answer a to dropped packet d: well formed, addressed back, checksums right. */
static void check_answer(const uint8_t *d, size_t dlen, const uint8_t *a, size_t n)
{
	struct wm_pkt p, q;
	uint8_t pseudo[40];
	size_t hl, alen;

	CHECK(n <= WM_FILTER_REJECT_MAX);
	CHECK(wm_pkt_parse(&p, d, dlen, false) && p.frag == WM_PKT_FRAG_NONE);
	CHECK(wm_pkt_parse(&q, a, n, false) && q.len == n && q.family == p.family);
	alen = p.family == AF_INET ? 4 : 16;
	CHECK(!memcmp(q.src, p.dst, alen) && !memcmp(q.dst, p.src, alen));
	if (p.family == AF_INET) {
		hl = 20;
		CHECK(csum(NULL, 0, a, hl) == 0);
		memcpy(pseudo, a + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = a[9];
		pseudo[10] = (uint8_t)((n - hl) >> 8);
		pseudo[11] = (uint8_t)(n - hl);
		CHECK(csum(pseudo, a[9] == WM_IPPROTO_ICMP ? 0 : 12, a + hl, n - hl) == 0);
	} else {
		hl = 40;
		memcpy(pseudo, a + 8, 32);
		memset(pseudo + 32, 0, 8);
		pseudo[34] = (uint8_t)((n - hl) >> 8);
		pseudo[35] = (uint8_t)(n - hl);
		pseudo[39] = a[6];
		CHECK(csum(pseudo, 40, a + hl, n - hl) == 0);
	}
	if (q.proto == WM_IPPROTO_TCP) {
		CHECK(p.proto == WM_IPPROTO_TCP && !(p.tcp_flags & WM_TCP_RST));
		CHECK(q.tcp_flags & WM_TCP_RST && q.sport == p.dport && q.dport == p.sport);
	} else {
		CHECK(q.icmp && wm_pkt_is_icmp_error(&q));
		CHECK(!memcmp(a + hl + 8, d, n - hl - 8));	/* the quote is the packet's start */
	}
}

static void as_policy(const uint8_t *data, size_t size)
{
	struct wm_filter *f = (struct wm_filter *)1;
	char *text = (char *)copy(data, size), err[200];
	int ret = wm_filter_parse(&f, text, size, err, sizeof(err));
	const struct wm_filter_rule *rules;
	size_t n, idx[4];

	CHECK(ret == 0 || ret == -EBADMSG || ret == -ENOMEM);
	if (ret) {
		CHECK(!f && err[0]);
	} else if (f) {
		static const uint8_t a4[4] = { 100, 64, 0, 3 }, a6[16] = { 0xfd, 0x77 };

		rules = wm_filter_rules(f, &n);
		CHECK(n <= WM_FILTER_MAX_RULES && (n == 0 || rules));
		for (size_t i = 0; i < n; i++)
			CHECK(rules[i].n_src <= 2 * WM_FILTER_MAX_SRC &&
			      rules[i].n_dst <= 2 * WM_FILTER_MAX_SRC &&
			      rules[i].n_ports <= WM_FILTER_MAX_PORT_RANGES);
		CHECK(wm_filter_rules_for_source(f, AF_INET, a4, idx, 4) <= n);
		CHECK(wm_filter_rules_for_source(f, AF_INET6, a6, idx, 4) <= n);
		wm_filter_reach(f, 2, &n);
		wm_filter_allows(f, AF_INET, a4, NULL, WM_IPPROTO_TCP, 22);
		CHECK(!wm_filter_allows(f, AF_INET6, a6, a6, WM_IPPROTO_UDP, 53) ||
		      wm_filter_allows(f, AF_INET6, a6, NULL, WM_IPPROTO_UDP, 53));
		/* The input is also a packet for this filter. */
		judge(f, NULL, data, size, 0);
		wm_filter_free(f);
	}
	free(text);
}

static void as_packet(const uint8_t *data, size_t size)
{
	uint8_t *pkt = copy(data, size), *out;
	size_t caps[] = { WM_FILTER_REJECT_MAX, size % WM_FILTER_REJECT_MAX, 40 };

	judge(policy, &big_ct, pkt, size, (uint64_t)size << 20);
	judge(policy, NULL, pkt, size, 0);
	judge(NULL, NULL, pkt, size, 0);
	wm_conntrack_outbound(&big_ct, pkt, size, (uint64_t)size << 20);
	judge(policy, &big_ct, pkt, size, (uint64_t)size << 20);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t n;

		out = malloc(caps[i] ? caps[i] : 1);
		CHECK(out);
		n = wm_filter_reject(pkt, size, out, caps[i]);
		CHECK(n <= caps[i]);
		if (n)
			check_answer(pkt, size, out, n);
		free(out);
	}
	free(pkt);
}

/* The TCP checksum of the packet p parsed from b verifies. */
static bool tcp_checksum_ok(const struct wm_pkt *p, const uint8_t *b)
{
	uint8_t pseudo[40] = { 0 };
	size_t alen = p->family == AF_INET ? 4 : 16, l4 = p->len - p->l4_off;

	memcpy(pseudo, p->src, alen);
	memcpy(pseudo + alen, p->dst, alen);
	if (p->family == AF_INET) {
		pseudo[9] = WM_IPPROTO_TCP;
		pseudo[10] = (uint8_t)(l4 >> 8);
		pseudo[11] = (uint8_t)l4;
		return csum(pseudo, 12, b + p->l4_off, l4) == 0;
	}
	pseudo[34] = (uint8_t)(l4 >> 8);
	pseudo[35] = (uint8_t)l4;
	pseudo[39] = WM_IPPROTO_TCP;
	return csum(pseudo, 40, b + p->l4_off, l4) == 0;
}

static void as_packet_into_the_tunnel(const uint8_t *data, size_t size)
{
	uint8_t *pkt = copy(data, size), *out = malloc(WM_FILTER_REJECT_MAX);
	size_t mtu = 68 + size % 1500, diff = 0, n;
	struct wm_pkt p;
	bool valid = false;

	CHECK(out);
	if (wm_pkt_parse(&p, pkt, size, false) && p.proto == WM_IPPROTO_TCP &&
	    p.frag == WM_PKT_FRAG_NONE)
		valid = tcp_checksum_ok(&p, pkt);
	if (wm_mtu_clamp_mss(pkt, size, mtu)) {
		for (size_t i = 0; i < size; i++)
			diff += pkt[i] != data[i];
		CHECK(diff <= 4);
		CHECK(wm_pkt_parse(&p, pkt, size, false) && tcp_checksum_ok(&p, pkt) == valid);
	} else {
		CHECK(!memcmp(pkt, data, size));
	}
	CHECK(wm_mtu_check(pkt, size, mtu) <= WM_MTU_TOO_BIG);
	n = wm_filter_frag_needed(pkt, size, (uint16_t)mtu, out, WM_FILTER_REJECT_MAX);
	if (n)
		check_answer(pkt, size, out, n);
	free(out);
	free(pkt);
}

static void as_conversation(const uint8_t *data, size_t size)
{
	struct wm_conntrack ct;
	uint64_t now = 0;

	if (wm_conntrack_init(&ct, 8, size) != 0)
		return;
	while (size >= 3) {
		uint8_t flags = data[0];
		size_t n = (size_t)data[1] << 8 | data[2];
		uint8_t *pkt;

		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		pkt = copy(data, n);
		now += (uint64_t)(flags >> 2) * (flags & 2 ? WM_CT_SECOND : 1000);
		if (flags & 1)
			wm_conntrack_outbound(&ct, pkt, n, now);
		else
			judge(policy, &ct, pkt, n, now);
		free(pkt);
		data += n;
		size -= n;
		CHECK(wm_conntrack_count(&ct) <= 8);
	}
	wm_conntrack_expire(&ct, now);
	wm_conntrack_free(&ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size > WM_FILTER_TEXT_MAX)
		return 0;
	as_policy(data, size);
	as_packet(data, size);
	as_packet_into_the_tunnel(data, size);
	as_conversation(data, size);
	if (wm_conntrack_count(&big_ct) > 1000)
		wm_conntrack_expire(&big_ct, UINT64_MAX);
	return 0;
}
