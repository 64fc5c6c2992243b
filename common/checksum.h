/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (RFC 1071), for the TUN offloads (segments split and coalesced) and the
 * access filter's answers (resets, ICMP errors). Sums are ones'-complement sums of big-endian
 * 16-bit words, folded to 16 bits and not complemented; a checksum field gets ~sum.
 */
#ifndef WM_CHECKSUM_H
#define WM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The sum of n bytes at p; an odd last byte counts as if followed by a zero byte. */
uint16_t wm_checksum_sum(const uint8_t *p, size_t n);

/* Folds a wider sum (of sums, lengths, protocol numbers) to 16 bits. */
uint16_t wm_checksum_fold(uint64_t sum);

/*
 * The pseudo-header's sum (RFC 9293 §3.1, RFC 8200 §8.1): addr_len (4 or 16) bytes of source
 * and destination address, the protocol and the upper-layer length.
 */
uint16_t wm_checksum_pseudo(const uint8_t *src, const uint8_t *dst, size_t addr_len,
			    uint8_t proto, size_t l4_len);

#endif
