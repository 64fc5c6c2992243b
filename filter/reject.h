/* SPDX-License-Identifier: MIT */
/*
 * Answers for packets the access filter dropped, so that a connection attempt fails at once
 * instead of timing out: a TCP RST for a TCP segment (RFC 9293 section 3.10.7.1: from the
 * segment's ACK number if it has one, else acknowledging it), and for anything else an ICMP
 * destination unreachable "communication administratively prohibited" (IPv4 type 3 code 13,
 * RFC 1812 section 5.2.7.1; IPv6 type 1 code 1, RFC 4443 section 3.1) quoting as much of the
 * dropped packet as fits in 576 bytes (IPv4, RFC 1812 section 4.3.2.3) or 1280 (IPv6).
 * The answer comes from the dropped packet's destination, so the peer's allowed-IPs check
 * accepts it; the daemon sends it into the tunnel like any packet (rate limiting is its call).
 *
 * No answer (RFC 1122 section 3.2.2, RFC 4443 section 2.4 (e)) to: a malformed packet, a
 * fragment (first or later), a TCP RST, an ICMP error, a packet to a multicast or broadcast
 * address, or from an address that does not name one host (unspecified, loopback, multicast,
 * broadcast).
 */
#ifndef WM_REJECT_H
#define WM_REJECT_H

#include <stddef.h>
#include <stdint.h>

/* The longest answer: an ICMPv6 error filling the IPv6 minimum MTU (RFC 8200 section 5). */
#define WM_FILTER_REJECT_MAX 1280

/*
 * Builds the answer to dropped[0..len) into out (cap bytes; WM_FILTER_REJECT_MAX always
 * suffices). Returns its length, or 0 when none should be sent or it does not fit.
 */
size_t wm_filter_reject(const uint8_t *dropped, size_t len, uint8_t *out, size_t cap);

/*
 * The answer to an IPv4 packet with Don't Fragment set that is larger than the tunnel carries
 * (filter/mtu.h): an ICMP "fragmentation needed" (type 3 code 4) with the next-hop MTU
 * (RFC 1191 section 4), from the packet's destination like the answers above, quoting as much
 * as fits in 576 bytes. The same packets get no answer as above; neither does IPv6 (a "packet
 * too big" below 1280 bytes would not be heeded, RFC 8200 section 5). Returns its length or 0.
 */
size_t wm_filter_frag_needed(const uint8_t *dropped, size_t len, uint16_t mtu, uint8_t *out,
			     size_t cap);

#endif
