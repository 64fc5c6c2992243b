/* SPDX-License-Identifier: MIT */
#include "filter/reject.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "filter/pkt.h"

enum {
	IPV4_LEN = 20,
	IPV6_LEN = 40,
	TCP_LEN = 20,
	ICMP_LEN = 8,
	TTL = 64,
	ICMP4_ADMIN_PROHIBITED = 13,	/* RFC 1812 section 5.2.7.1 */
	ICMP4_FRAG_NEEDED = 4,		/* RFC 792; the next-hop MTU in bytes 6-7 (RFC 1191) */
	ICMP6_ADMIN_PROHIBITED = 1,	/* RFC 4443 section 3.1 */
	ICMP4_MAX = 576,		/* RFC 1812 section 4.3.2.3 */
	ICMP6_MAX = 1280,		/* RFC 4443 section 2.4 (c) */
	ICMP4_SOURCE_QUENCH = 4,
	ICMP4_REDIRECT = 5,
};

/* Not unspecified, loopback, multicast or broadcast: an address to answer or answer from. */
static bool one_host(int family, const uint8_t *a)
{
	if (family == AF_INET)
		return a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (a[0] == 0xff)
		return false;
	for (int i = 0; i < 15; i++)
		if (a[i])
			return true;
	return a[15] > 1;
}

/* The IP header of the answer to p: addresses swapped. Returns its length. */
static size_t ip_header(uint8_t *out, const struct wm_pkt *p, uint8_t proto, size_t payload)
{
	if (p->family == AF_INET) {
		memset(out, 0, IPV4_LEN);
		out[0] = 0x45;
		wm_put_be16(out + 2, (uint16_t)(IPV4_LEN + payload));
		out[8] = TTL;
		out[9] = proto;
		memcpy(out + 12, p->dst, 4);
		memcpy(out + 16, p->src, 4);
		wm_put_be16(out + 10, (uint16_t)~wm_checksum_sum(out, IPV4_LEN));
		return IPV4_LEN;
	}
	memset(out, 0, IPV6_LEN);
	out[0] = 0x60;
	wm_put_be16(out + 4, (uint16_t)payload);
	out[6] = proto;
	out[7] = TTL;
	memcpy(out + 8, p->dst, 16);
	memcpy(out + 24, p->src, 16);
	return IPV6_LEN;
}

static size_t tcp_rst(const struct wm_pkt *p, const uint8_t *pkt, uint8_t *out, size_t cap)
{
	const uint8_t *in = pkt + p->l4_off;
	size_t hl = p->family == AF_INET ? IPV4_LEN : IPV6_LEN;
	uint32_t seglen, sum;
	uint8_t *t = out + hl;

	if (cap < hl + TCP_LEN)
		return 0;
	ip_header(out, p, WM_IPPROTO_TCP, TCP_LEN);
	memset(t, 0, TCP_LEN);
	wm_put_be16(t, p->dport);
	wm_put_be16(t + 2, p->sport);
	if (p->tcp_flags & WM_TCP_ACK) {
		memcpy(t + 4, in + 8, 4);	/* our sequence: what the segment acknowledged */
		t[13] = WM_TCP_RST;
	} else {
		seglen = (uint32_t)(p->len - p->l4_off - (size_t)(in[12] >> 4) * 4);
		seglen += !!(p->tcp_flags & WM_TCP_SYN) + !!(p->tcp_flags & WM_TCP_FIN);
		wm_put_be32(t + 8, wm_get_be32(in + 4) + seglen);
		t[13] = WM_TCP_RST | WM_TCP_ACK;
	}
	t[12] = (TCP_LEN / 4) << 4;
	sum = wm_checksum_pseudo(p->dst, p->src, p->family == AF_INET ? 4 : 16, WM_IPPROTO_TCP,
				 TCP_LEN);
	wm_put_be16(t + 16, (uint16_t)~wm_checksum_fold((uint64_t)sum + wm_checksum_sum(t, TCP_LEN)));
	return hl + TCP_LEN;
}

/* An ICMP destination unreachable (code, and 32 bits of "rest of header") quoting pkt. */
static size_t icmp_unreach(const struct wm_pkt *p, const uint8_t *pkt, uint8_t *out, size_t cap,
			   uint8_t code, uint32_t rest)
{
	bool v4 = p->family == AF_INET;
	size_t hl = v4 ? IPV4_LEN : IPV6_LEN, limit = v4 ? ICMP4_MAX : ICMP6_MAX, quote;
	uint32_t sum;
	uint8_t *icmp;

	if (cap < limit)
		limit = cap;
	/* At least the dropped packet's headers and 8 bytes past them (RFC 792). */
	if (limit < hl + ICMP_LEN + p->l4_off + 8)
		return 0;
	quote = p->len < limit - hl - ICMP_LEN ? p->len : limit - hl - ICMP_LEN;
	ip_header(out, p, v4 ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6, ICMP_LEN + quote);
	icmp = out + hl;
	memset(icmp, 0, ICMP_LEN);
	icmp[0] = v4 ? WM_ICMP4_UNREACH : WM_ICMP6_UNREACH;
	icmp[1] = code;
	wm_put_be32(icmp + 4, rest);
	memcpy(icmp + ICMP_LEN, pkt, quote);
	/* ICMPv6 covers a pseudo-header (RFC 4443 section 2.3), ICMP for IPv4 does not. */
	sum = v4 ? 0 : wm_checksum_pseudo(p->dst, p->src, 16, WM_IPPROTO_ICMPV6, ICMP_LEN + quote);
	wm_put_be16(icmp + 2, (uint16_t)~wm_checksum_fold((uint64_t)sum +
							  wm_checksum_sum(icmp, ICMP_LEN + quote)));
	return hl + ICMP_LEN + quote;
}

size_t wm_filter_reject(const uint8_t *dropped, size_t len, uint8_t *out, size_t cap)
{
	struct wm_pkt p;

	if (!wm_pkt_parse(&p, dropped, len, false) || p.frag != WM_PKT_FRAG_NONE ||
	    !one_host(p.family, p.src) || !one_host(p.family, p.dst))
		return 0;
	if (p.proto == WM_IPPROTO_TCP)
		return p.tcp_flags & WM_TCP_RST ? 0 : tcp_rst(&p, dropped, out, cap);
	if (p.icmp && (wm_pkt_is_icmp_error(&p) ||
		       (p.family == AF_INET6 ? p.icmp_type < WM_ICMP6_ECHO
					     : p.icmp_type == ICMP4_SOURCE_QUENCH ||
						       p.icmp_type == ICMP4_REDIRECT)))
		return 0;
	return icmp_unreach(&p, dropped, out, cap,
			    p.family == AF_INET ? ICMP4_ADMIN_PROHIBITED : ICMP6_ADMIN_PROHIBITED, 0);
}

size_t wm_filter_frag_needed(const uint8_t *dropped, size_t len, uint16_t mtu, uint8_t *out,
			     size_t cap)
{
	struct wm_pkt p;

	if (!wm_pkt_parse(&p, dropped, len, false) || p.family != AF_INET ||
	    p.frag != WM_PKT_FRAG_NONE || !one_host(p.family, p.src) ||
	    !one_host(p.family, p.dst) || (p.icmp && wm_pkt_is_icmp_error(&p)))
		return 0;
	return icmp_unreach(&p, dropped, out, cap, ICMP4_FRAG_NEEDED, mtu);
}
