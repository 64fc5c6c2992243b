/* SPDX-License-Identifier: MIT */
/*
 * The access filter: enforces on the node's receive path the "packet_filter" the coordination
 * server compiles for it (docs/policy.md). Called after decryption and WireGuard's allowed-IPs
 * source check, for every packet a peer sends; a packet goes to the TUN only on ACCEPT.
 *
 * Without a policy (wm_filter NULL, the netmap's "packet_filter": null) everything passes and
 * nothing is parsed. With one, in this order:
 *   1. malformed or truncated IP packets are dropped (pkt.h says what malformed means);
 *   2. a later fragment (IPv4 offset > 0, IPv6 fragment header offset > 0) passes only if the
 *      first fragment of its datagram (same source, destination, protocol, identification)
 *      passed within WM_CT_FRAG_TIMEOUT; first fragments are judged by their ports like whole
 *      packets. Only the first fragment carries the ports, and the receiver cannot reassemble a
 *      datagram without it, so this lets through exactly the datagrams whose head was allowed,
 *      whereas passing every later fragment (as Tailscale does) would admit fragments of
 *      datagrams that were dropped. The cost: fragments arriving before their first fragment
 *      are dropped (the tunnel keeps a peer's packets in order, so this is rare);
 *   3. a packet of a flow this node started (conntrack.h) passes;
 *   4. a packet a rule allows passes: its source in the rule's src prefixes, its destination in
 *      the rule's dst prefixes (a rule without dst: any destination) and, by proto,
 *      "tcp"/"udp" with the destination port in the rule's ranges, "icmp" for ICMP in IPv4 and
 *      ICMPv6 in IPv6 (any type), "*" for anything (ports ignored);
 *   5. an ICMP error (v4 unreachable, time exceeded, parameter problem; v6 unreachable, packet
 *      too big, time exceeded, parameter problem) passes when the packet it quotes was sent by
 *      the error's addressee in a tracked flow, or in a flow the rules let the quoted
 *      destination open to this node, so path MTU discovery works both ways;
 *   6. everything else is dropped: any protocol other than TCP, UDP and ICMP passes only by a
 *      "*" rule (it has no ports to judge, and it is not tracked).
 * A wm_filter is immutable once built and may be shared between threads; the connection table
 * may not. Replacing the filter keeps the connection table.
 */
#ifndef WM_FILTER_H
#define WM_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/conntrack.h"
#include "filter/rule.h"

/* Bounds of a packet_filter (docs/policy.md, "the compiled filter"). */
#define WM_FILTER_TEXT_MAX (1 << 20)
#define WM_FILTER_MAX_RULES 4096
#define WM_FILTER_MAX_SRC 64		/* src (and dst) prefixes per rule */
#define WM_FILTER_MAX_PORT_RANGES 64	/* port ranges per rule */
#define WM_FILTER_MAX_REACH 65536	/* "reach" entries over all peers */

struct wm_filter;

enum wm_filter_verdict {
	WM_FILTER_ACCEPT,
	WM_FILTER_DROP,
};

/* Why; name them with wm_filter_reason_name (for counters and logs). */
enum wm_filter_reason {
	WM_FILTER_OK_NO_POLICY,
	WM_FILTER_OK_RULE,
	WM_FILTER_OK_FLOW,		/* a flow this node started */
	WM_FILTER_OK_RELATED,		/* an ICMP error about a tracked or allowed flow */
	WM_FILTER_OK_FRAGMENT,		/* a later fragment of an accepted datagram */
	WM_FILTER_DROP_NO_RULE,
	WM_FILTER_DROP_MALFORMED,
	WM_FILTER_DROP_FRAGMENT,	/* a later fragment whose first was not accepted (or seen) */
	WM_FILTER_DROP_PROTOCOL,	/* not TCP, UDP or ICMP, and no "*" rule for the source */
	WM_FILTER_DROP_UNRELATED,	/* an ICMP error about no flow known here */
	WM_FILTER_REASON_COUNT
};

/*
 * Parses the packet_filter JSON text (len bytes, no NUL needed) into *out. The text "null" (the
 * netmap's "no policy") gives *out = NULL. 0, -EBADMSG with a sentence naming the place in err
 * ("rules[3].src[1]: ..."), or -ENOMEM. Unknown members of the top-level object are ignored;
 * unknown members of a rule are an error (a field this node does not know could narrow a rule,
 * and ignoring it would widen access).
 */
int wm_filter_parse(struct wm_filter **out, const char *text, size_t len, char *err,
		    size_t errlen);

void wm_filter_free(struct wm_filter *f);

/*
 * The verdict for an IP packet a peer sent (pkt[0..len)), and why (why may be NULL). f NULL:
 * accept. ct may be NULL (no flows tracked); with one, it is updated (flow state, fragments).
 */
enum wm_filter_verdict wm_filter_inbound(const struct wm_filter *f, struct wm_conntrack *ct,
					 const uint8_t *pkt, size_t len, uint64_t now,
					 enum wm_filter_reason *why);

/* Whether a rule lets addr (4 or 16 bytes by family) send proto (IANA number) to port at dst
 * (same family; NULL: at any destination a rule opens). */
bool wm_filter_allows(const struct wm_filter *f, int family, const uint8_t *addr,
		      const uint8_t *dst, uint8_t proto, uint16_t port);

const char *wm_filter_reason_name(enum wm_filter_reason r);

/* The rules (for status); *n gets their number. */
const struct wm_filter_rule *wm_filter_rules(const struct wm_filter *f, size_t *n);

/*
 * "What may this address reach here": the indices (into wm_filter_rules) of the rules whose src
 * covers addr, the first cap of them into idx. Returns how many there are.
 */
size_t wm_filter_rules_for_source(const struct wm_filter *f, int family, const uint8_t *addr,
				  size_t *idx, size_t cap);

/*
 * The same for a peer: the rules whose src covers its IPv4 or its IPv6 address (either may be
 * NULL), each rule once (a rule usually names both), in order. Returns how many there are.
 */
size_t wm_filter_rules_for_peer(const struct wm_filter *f, const uint8_t ipv4[4],
				const uint8_t ipv6[16], size_t *idx, size_t cap);

/* What this node may reach on the peer with this node id ("reach"); NULL and 0 when nothing. */
const struct wm_filter_rule *wm_filter_reach(const struct wm_filter *f, uint64_t peer_id,
					     size_t *n);

#endif
