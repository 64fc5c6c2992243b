/* SPDX-License-Identifier: MIT */
/*
 * The IP and UDP around the node's DNS answers (docs/dns.md), sans I/O: which packets from the
 * TUN are for the resolver at WM_DNS_ADDR4 / WM_DNS_ADDR6, the query inside one, and the
 * packet that carries an answer back to the TUN (addresses and ports swapped, checksummed).
 */
#ifndef WM_DNS_PACKET_H
#define WM_DNS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/pkt.h"

#define WM_DNS_PACKET_HEADERS 48	/* IPv6 + UDP */

/* Whether the IP packet pkt[0..len) is addressed to the resolver (any protocol). Cheap: the
 * data path asks it of every packet read from the TUN. */
bool wm_dns_packet_is_for_resolver(const uint8_t *pkt, size_t len);

/*
 * The DNS query in a UDP datagram to port 53 of the resolver: *query and *query_len point into
 * pkt, and p holds the parsed headers. false for anything else (another protocol or port, a
 * fragment, a malformed packet, a UDP length that does not fit).
 */
bool wm_dns_packet_query(const uint8_t *pkt, size_t len, struct wm_pkt *p,
			 const uint8_t **query, size_t *query_len);

/*
 * The answer to the query whose headers are p: an IPv4 or IPv6 packet from the resolver's
 * address and port 53 to the querier's, carrying msg[0..n), into out (cap bytes). Its length,
 * or 0 when it does not fit.
 */
size_t wm_dns_packet_reply(const struct wm_pkt *p, const uint8_t *msg, size_t n, uint8_t *out,
			   size_t cap);

#endif
