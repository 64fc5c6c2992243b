/* SPDX-License-Identifier: MIT */
/*
 * Keeping packets within what the tunnel carries, so that a path with a small MTU never
 * black-holes a connection ("small requests work, big ones hang"):
 *
 *   - TCP: the maximum segment size a SYN offers (RFC 9293 section 3.7.1, option kind 2) is
 *     lowered so that the other side's segments fit the tunnel, in both directions, the way
 *     iptables' TCPMSS target does; TCP then never depends on path-MTU discovery across the
 *     tunnel.
 *   - Anything else larger than the tunnel carries: an IPv4 packet with Don't Fragment set is
 *     dropped and answered with "fragmentation needed" (reject.h), as a router would
 *     (RFC 1191); other packets go on as they are (the underlay may still fragment them).
 *
 * Sans I/O: the daemon decides where the limit comes from and what to do with the answers.
 */
#ifndef WM_MTU_H
#define WM_MTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 6691: the MSS excludes the fixed IP and TCP headers, nothing else. */
enum { WM_MTU_TCP_HEADER = 20 };

/*
 * If pkt[0..len) is a TCP SYN (or SYN-ACK) whose MSS option offers segments that would make
 * packets larger than mtu, lowers it to the largest that fits and updates the TCP checksum
 * (incrementally: a corrupt checksum stays corrupt). True when the packet changed.
 */
bool wm_mtu_clamp_mss(uint8_t *pkt, size_t len, size_t mtu);

/* What to do with a packet larger than the tunnel carries. */
enum wm_mtu_verdict {
	WM_MTU_FITS,		/* not larger than mtu */
	WM_MTU_PASS,		/* larger, but it may be fragmented on the way: send it */
	WM_MTU_TOO_BIG,		/* larger, with Don't Fragment: drop it, answer the sender */
};

enum wm_mtu_verdict wm_mtu_check(const uint8_t *pkt, size_t len, size_t mtu);

#endif
