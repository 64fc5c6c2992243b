/* SPDX-License-Identifier: MIT */
/*
 * The few facts about an IP packet the access filter decides on: family, addresses, upper-layer
 * protocol (past IPv6 extension headers), ports or ICMP type and identifier, TCP flags and
 * fragment position. Shared by filter.c, conntrack.c and reject.c; nothing is copied, src and
 * dst point into the packet. Every read is checked against the length first.
 */
#ifndef WM_PKT_H
#define WM_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IANA protocol numbers. */
enum {
	WM_IPPROTO_ICMP = 1,
	WM_IPPROTO_TCP = 6,
	WM_IPPROTO_UDP = 17,
	WM_IPPROTO_ICMPV6 = 58,
};

/* RFC 9293 section 3.1. */
enum {
	WM_TCP_FIN = 0x01,
	WM_TCP_SYN = 0x02,
	WM_TCP_RST = 0x04,
	WM_TCP_ACK = 0x10,
};

/* RFC 792 / RFC 4443 message types the filter treats specially. */
enum {
	WM_ICMP4_ECHO_REPLY = 0,
	WM_ICMP4_UNREACH = 3,
	WM_ICMP4_ECHO = 8,
	WM_ICMP4_TIME_EXCEEDED = 11,
	WM_ICMP4_PARAM_PROBLEM = 12,
	WM_ICMP6_UNREACH = 1,
	WM_ICMP6_PACKET_TOO_BIG = 2,
	WM_ICMP6_TIME_EXCEEDED = 3,
	WM_ICMP6_PARAM_PROBLEM = 4,
	WM_ICMP6_ECHO = 128,
	WM_ICMP6_ECHO_REPLY = 129,
};

enum wm_pkt_frag {
	WM_PKT_FRAG_NONE,	/* not fragmented (an IPv6 atomic fragment counts as this) */
	WM_PKT_FRAG_FIRST,	/* offset 0, more to come: carries the upper-layer header */
	WM_PKT_FRAG_LATER,	/* offset > 0: no upper-layer header */
};

/* At most this many IPv6 extension headers are skipped; more is malformed. */
#define WM_PKT_MAX_EXT_HEADERS 8

struct wm_pkt {
	const uint8_t *src, *dst;	/* 4 or 16 bytes inside the packet */
	size_t l4_off;			/* upper-layer header offset (not for LATER fragments) */
	size_t len;			/* the IP packet's length (its header's, at most the buffer) */
	uint32_t frag_id;		/* IPv4 identification or IPv6 fragment identification */
	uint16_t sport, dport;		/* TCP/UDP; 0 otherwise */
	uint16_t icmp_id;		/* ICMP(v6) echo request/reply identifier */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* upper-layer protocol */
	uint8_t frag;			/* enum wm_pkt_frag */
	uint8_t tcp_flags;		/* 0 in a quoted packet (not guaranteed to be there) */
	uint8_t icmp_type, icmp_code;
	bool icmp;			/* proto is the family's ICMP (1 in IPv4, 58 in IPv6) */
};

/*
 * Parses pkt[0..len). False when the header is malformed or truncated, when the upper-layer
 * header of an unfragmented packet or a first fragment is incomplete (RFC 1858, RFC 7112), or
 * when a later TCP fragment overlaps the TCP header (offset < 20 bytes, RFC 1858). quoted is for
 * the packet inside an ICMP error: the IP length may claim more than is there and only the
 * first 8 bytes of the upper-layer header are needed (RFC 792, RFC 4443).
 */
bool wm_pkt_parse(struct wm_pkt *p, const uint8_t *pkt, size_t len, bool quoted);

/* True for an ICMP(v6) error message that quotes the packet it is about (unreach, too big, ...). */
bool wm_pkt_is_icmp_error(const struct wm_pkt *p);

#endif
