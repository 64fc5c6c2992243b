/* SPDX-License-Identifier: MIT */
/*
 * Access policy on the node (docs/policy.md, "Enforcement on the node"): the packet filter the
 * coordination server compiled for this node, and the table of flows this node started, wired
 * to the node's packet paths. Every packet that comes out of the tunnel passes the filter
 * before the TUN; every packet that goes in is noted, so replies to this node's own
 * connections are let back. A dropped TCP connection attempt is answered with a reset (and
 * other dropped packets with ICMP "administratively prohibited") so it fails at once instead
 * of hanging. Drops are counted per peer and reason.
 */
#ifndef WM_POLICY_H
#define WM_POLICY_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "filter/filter.h"

struct wm_node;
struct wm_paths;
struct json_t;

#define WM_POLICY_EXPIRE_S 5.0		/* expired flows are swept this often */
/* Resets and ICMP answers are capped so a scan cannot turn the node into an amplifier. */
#define WM_POLICY_REJECTS_PER_SECOND 100

struct wm_policy {
	struct wm_node *node;
	struct wm_paths *paths;		/* to count drops per peer */
	struct wm_filter *filter;	/* NULL: no policy, everything passes */
	char *text;			/* the packet_filter text in force; NULL: none */
	bool parse_failed;		/* the last one sent did not parse (the previous stays) */
	struct wm_conntrack ct;
	bool reject;			/* answer drops with a reset / ICMP (default on) */
	uint64_t drops[WM_FILTER_REASON_COUNT];
	uint64_t rejects_sent;
	uint64_t reject_window;		/* the current one-second window of answers */
	unsigned reject_count;
	ev_timer expire_timer;
};

/* Takes over the node's inbound/outbound hooks. 0 or -ENOMEM. */
int wm_policy_start(struct wm_policy *pol, struct wm_node *node, struct wm_paths *paths);

void wm_policy_stop(struct wm_policy *pol);

/*
 * The packet_filter text of a new netmap (NULL or "null": no policy). Unchanged text costs a
 * compare. A filter that does not parse is logged and refused: the one in force stays, and
 * without one the node denies every new inbound flow rather than opening everything.
 */
void wm_policy_apply(struct wm_policy *pol, const char *text);

/* For status: the rules in force (null without a policy), and one peer's view. */
struct json_t *wm_policy_rules_json(const struct wm_policy *pol);
struct json_t *wm_policy_peer_json(const struct wm_policy *pol, uint64_t peer_id,
				   const struct in_addr *ipv4, const struct in6_addr *ipv6,
				   const uint64_t drops[WM_FILTER_REASON_COUNT]);

#endif
