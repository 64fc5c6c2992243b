/* SPDX-License-Identifier: MIT */
#include "filter/pkt.h"

#include <sys/socket.h>

#include "common/bytes.h"

/* IPv6 extension headers (RFC 8200 section 4; AH is RFC 4302). */
enum {
	EXT_HOP_BY_HOP = 0,
	EXT_ROUTING = 43,
	EXT_FRAGMENT = 44,
	EXT_AH = 51,
	EXT_DEST_OPTS = 60,
};

enum {
	IPV4_HEADER_LEN = 20,
	IPV6_HEADER_LEN = 40,
	TCP_HEADER_LEN = 20,
	L4_QUOTED_LEN = 8,	/* what every ICMP error is guaranteed to quote (RFC 792) */
	UDP_HEADER_LEN = 8,
	ICMP_HEADER_LEN = 8,
};



/*
 * Walks the extension headers from off within len; returns the upper-layer offset (its
 * protocol in *nh) or 0 when malformed. Notes a fragment header in *frag and p->frag_id.
 */
static size_t skip_ipv6_ext(struct wm_pkt *p, const uint8_t *b, size_t len, size_t off,
			    uint8_t *nh, uint8_t *frag)
{
	bool seen_frag = false;
	size_t hlen;

	for (int i = 0; i <= WM_PKT_MAX_EXT_HEADERS; i++) {
		switch (*nh) {
		case EXT_HOP_BY_HOP:
		case EXT_ROUTING:
		case EXT_DEST_OPTS:
		case EXT_AH:
			if (i == WM_PKT_MAX_EXT_HEADERS || off + 8 > len)
				return 0;
			hlen = *nh == EXT_AH ? ((size_t)b[off + 1] + 2) * 4 : ((size_t)b[off + 1] + 1) * 8;
			*nh = b[off];
			off += hlen;
			if (off > len)
				return 0;
			break;
		case EXT_FRAGMENT: {
			uint16_t fo;

			if (i == WM_PKT_MAX_EXT_HEADERS || seen_frag || off + 8 > len)
				return 0;
			seen_frag = true;
			fo = wm_get_be16(b + off + 2);
			p->frag_id = wm_get_be32(b + off + 4);
			*nh = b[off];
			off += 8;
			if (fo >> 3) {
				*frag = WM_PKT_FRAG_LATER;
				/* Only TCP's header is long enough to be overlapped (RFC 1858). */
				if (*nh == WM_IPPROTO_TCP && (size_t)(fo >> 3) * 8 < TCP_HEADER_LEN)
					return 0;
				return off;
			}
			if (fo & 1)
				*frag = WM_PKT_FRAG_FIRST;
			break;
		}
		default:
			return off;
		}
	}
	return 0;
}

/*
 * The header fields come in as values, not read back from p: reading a byte pair just stored
 * as two bytes defeats store forwarding, which was most of the parse's time.
 */
static bool parse_l4(struct wm_pkt *p, const uint8_t *b, size_t len, size_t off, int family,
		     uint8_t proto, uint8_t frag, bool quoted)
{
	size_t avail = len - off;
	const uint8_t *h = b + off;
	bool icmp = proto == (family == AF_INET ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6);

	p->len = len;
	p->l4_off = off;
	p->family = (uint8_t)family;
	p->proto = proto;
	p->frag = frag;
	p->icmp = icmp;
	if (frag == WM_PKT_FRAG_LATER)
		return true;
	if (icmp) {
		if (avail < ICMP_HEADER_LEN)
			return false;
		p->icmp_type = h[0];
		p->icmp_code = h[1];
		p->icmp_id = wm_get_be16(h + 4);
		return true;
	}
	switch (proto) {
	case WM_IPPROTO_TCP:
		if (avail < (quoted ? L4_QUOTED_LEN : TCP_HEADER_LEN))
			return false;
		p->sport = wm_get_be16(h);
		p->dport = wm_get_be16(h + 2);
		if (quoted)
			return true;
		p->tcp_flags = h[13];
		return h[12] >> 4 >= 5 && (size_t)(h[12] >> 4) * 4 <= avail;
	case WM_IPPROTO_UDP:
		if (avail < UDP_HEADER_LEN)
			return false;
		p->sport = wm_get_be16(h);
		p->dport = wm_get_be16(h + 2);
		/* A first fragment's UDP length covers the whole datagram. */
		return quoted || frag != WM_PKT_FRAG_NONE ||
		       (wm_get_be16(h + 4) >= UDP_HEADER_LEN && wm_get_be16(h + 4) <= avail);
	default:
		return true;
	}
}

bool wm_pkt_parse(struct wm_pkt *p, const uint8_t *b, size_t len, bool quoted)
{
	uint8_t proto, frag = WM_PKT_FRAG_NONE;
	size_t plen, off;

	p->frag_id = 0;
	p->sport = p->dport = p->icmp_id = 0;
	p->tcp_flags = p->icmp_type = p->icmp_code = 0;
	if (len < 1)
		return false;
	switch (b[0] >> 4) {
	case 4: {
		uint16_t fo;

		off = (size_t)(b[0] & 0x0f) * 4;
		if (len < IPV4_HEADER_LEN || off < IPV4_HEADER_LEN || off > len)
			return false;
		plen = wm_get_be16(b + 2);
		if (plen < off)
			return false;
		if (plen > len) {
			if (!quoted)
				return false;
			plen = len;
		}
		p->src = b + 12;
		p->dst = b + 16;
		proto = b[9];
		fo = wm_get_be16(b + 6);
		p->frag_id = wm_get_be16(b + 4);
		if (fo & 0x1fff) {
			frag = WM_PKT_FRAG_LATER;
			if (proto == WM_IPPROTO_TCP && (size_t)(fo & 0x1fff) * 8 < TCP_HEADER_LEN)
				return false;
		} else if (fo & 0x2000) {
			frag = WM_PKT_FRAG_FIRST;
		}
		return parse_l4(p, b, plen, off, AF_INET, proto, frag, quoted);
	}
	case 6:
		if (len < IPV6_HEADER_LEN)
			return false;
		plen = IPV6_HEADER_LEN + (size_t)wm_get_be16(b + 4);
		if (plen > len) {
			if (!quoted)
				return false;
			plen = len;
		}
		p->src = b + 8;
		p->dst = b + 24;
		proto = b[6];
		off = skip_ipv6_ext(p, b, plen, IPV6_HEADER_LEN, &proto, &frag);
		if (!off)
			return false;
		return parse_l4(p, b, plen, off, AF_INET6, proto, frag, quoted);
	default:
		return false;
	}
}

bool wm_pkt_is_icmp_error(const struct wm_pkt *p)
{
	if (!p->icmp || p->frag == WM_PKT_FRAG_LATER)
		return false;
	if (p->family == AF_INET)
		return p->icmp_type == WM_ICMP4_UNREACH || p->icmp_type == WM_ICMP4_TIME_EXCEEDED ||
		       p->icmp_type == WM_ICMP4_PARAM_PROBLEM;
	return p->icmp_type >= WM_ICMP6_UNREACH && p->icmp_type <= WM_ICMP6_PARAM_PROBLEM;
}
