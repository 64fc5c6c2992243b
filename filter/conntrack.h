/* SPDX-License-Identifier: MIT */
/*
 * The connection table: flows this node started, so that their replies pass the access filter
 * (filter.h) without a rule, as a stateful firewall's "established" does. Sans I/O and bounded:
 * all memory is allocated by wm_conntrack_init; a packet never allocates.
 *
 * What opens a flow (wm_conntrack_outbound, for every packet the node sends into the tunnel):
 *   - TCP: a SYN without ACK. Replies pass while the entry lives; the flags move it along:
 *     SYN-ACK from the peer -> established; FIN both ways -> closed, kept for a short linger;
 *     RST either way -> closed, kept for a shorter one. Other outbound segments of an unknown
 *     flow open nothing (they answer a connection the peer opened, which its rules govern).
 *   - UDP: any datagram; the 5-tuple is the flow, with an idle timeout.
 *   - ICMP/ICMPv6 echo request: echo replies with the same identifier from that address pass.
 *   - Nothing else (other protocols need a "*" rule; see filter.h).
 * Timeouts count from the last packet of the flow either way (not for a closed TCP flow: its
 * linger runs from the close). When the table is full, a new flow evicts the least recently
 * used entry, preferring among the 8 oldest one that is expired or never saw a reply, so a flood
 * of new flows cannot push out established ones before it pushes out its own.
 *
 * It also remembers fragmented datagrams whose first fragment was accepted (by source,
 * destination, protocol and identification) so that the later fragments can be let through.
 *
 * Not thread-safe: one caller at a time. Keys are hashed with a seeded hash (seed from the
 * caller's RNG) so a peer cannot aim the flows it makes this node answer at one bucket.
 */
#ifndef WM_CONNTRACK_H
#define WM_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/pkt.h"

#define WM_CONNTRACK_DEFAULT_CAPACITY 16384
#define WM_CONNTRACK_MAX_CAPACITY (1u << 24)

#define WM_CT_SECOND UINT64_C(1000000000)
/* Timeouts, after Linux nf_conntrack's defaults (nf_conntrack_proto_{tcp,udp,icmp}.c). */
#define WM_CT_TCP_SYN_SENT_TIMEOUT (120 * WM_CT_SECOND)	/* covers SYN retries (~127 s) */
#define WM_CT_TCP_ESTABLISHED_TIMEOUT (5 * 24 * 3600 * WM_CT_SECOND)
#define WM_CT_TCP_FIN_WAIT_TIMEOUT (120 * WM_CT_SECOND)	/* half closed: one FIN seen */
#define WM_CT_TCP_CLOSE_LINGER (30 * WM_CT_SECOND)	/* both FINs: the last ACK, resent FINs */
#define WM_CT_TCP_RESET_LINGER (10 * WM_CT_SECOND)	/* after a RST: stragglers only */
#define WM_CT_UDP_TIMEOUT (30 * WM_CT_SECOND)		/* no reply yet */
#define WM_CT_UDP_REPLIED_TIMEOUT (120 * WM_CT_SECOND)
#define WM_CT_ICMP_TIMEOUT (30 * WM_CT_SECOND)
#define WM_CT_FRAG_TIMEOUT (30 * WM_CT_SECOND)		/* Linux ipfrag_time */

/* The fragment table: WM_CT_FRAG_SETS sets of WM_CT_FRAG_WAYS datagrams. */
#define WM_CT_FRAG_SETS 256
#define WM_CT_FRAG_WAYS 4

/* Internal layout, exposed so the table can be embedded; nothing outside conntrack.c uses it. */
struct wm_conntrack_entry {
	uint64_t key[5];	/* local addr, remote addr, ports | proto | family */
	uint64_t expires;
	uint32_t hnext, prev, next;
	uint8_t state, flags;
};

struct wm_conntrack_frag {
	uint64_t key[5];
	uint64_t expires;	/* 0: free */
};

struct wm_conntrack {
	struct wm_conntrack_entry *entries;
	uint32_t *buckets;
	struct wm_conntrack_frag *frags;
	uint64_t seed[6];
	uint32_t capacity, mask, count;
	uint32_t free_head, lru_head, lru_tail;
	uint64_t evictions;	/* live entries pushed out by new flows (for status) */
};

/*
 * Allocates a table for capacity flows (0: WM_CONNTRACK_DEFAULT_CAPACITY); seed keys the hash.
 * 0, -EINVAL (capacity above WM_CONNTRACK_MAX_CAPACITY) or -ENOMEM.
 */
int wm_conntrack_init(struct wm_conntrack *ct, size_t capacity, uint64_t seed);

/* Frees the memory; the struct may be initialised again. */
void wm_conntrack_free(struct wm_conntrack *ct);

/*
 * Call for every IP packet the node sends into the tunnel (after the TUN read, before
 * encryption): opens or advances the packet's flow. Ignores what it cannot parse. A TSO
 * super-packet may be passed whole.
 */
void wm_conntrack_outbound(struct wm_conntrack *ct, const uint8_t *pkt, size_t len, uint64_t now);

/* Entries held, live or not yet found expired. */
size_t wm_conntrack_count(const struct wm_conntrack *ct);

/* Drops every expired entry (a periodic sweep; lookups drop the ones they meet). Returns how many. */
size_t wm_conntrack_expire(struct wm_conntrack *ct, uint64_t now);

/* For filter.c. */

/* p arrived from a peer: true if it belongs to a flow this node started (and advances it). */
bool wm_conntrack_inbound(struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now);

/* q (quoted in an ICMP error) is a packet this node sent in a flow it tracks. */
bool wm_conntrack_sent(struct wm_conntrack *ct, const struct wm_pkt *q, uint64_t now);

/* Remembers the datagram of an accepted first fragment p. */
void wm_conntrack_frag_note(struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now);

/* True if the later fragment p belongs to a datagram whose first fragment was accepted. */
bool wm_conntrack_frag_known(const struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now);

#endif
