/* SPDX-License-Identifier: MIT */
/*
 * The netmap as every node sees it, built once per netmap version: all nodes (sorted by id)
 * and each one's peer entry as JSON text, so an answer to one node is this list spliced
 * around its own entry, and a fan-out to N nodes costs N copies instead of N encodings.
 * With an access policy (docs/policy.md) the policy is compiled for these nodes too (kept
 * from the last build while neither its text nor the nodes' names, addresses and tags
 * changed), and each answer splices only the peers the node sees, after its own filter.
 * Subnet routes (docs/routes.md) ride along: each peer entry lists the prefixes that peer is
 * the primary router of, and each node's self its approved ones. So does the DNS suffix
 * (docs/dns.md).
 */
#ifndef WM_COORD_NETMAP_CACHE_H
#define WM_COORD_NETMAP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-server/store.h"

struct wm_policy;

struct wm_coord_cache {
	uint64_t version;		/* 0: empty */
	double built_at;		/* loop time */
	int64_t built_unix;
	struct wm_store_node *nodes;
	size_t n;
	struct wm_store_route *routes;	/* every route row, by node id */
	size_t n_routes;
	char **frag;			/* peer entries, in node order */
	size_t *frag_len;
	size_t frags_total;
	char *relays;			/* the relay map's JSON text */
	char dns_suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1];	/* checked: no JSON escaping needed */
	struct wm_policy *policy;	/* compiled for nodes; NULL: no policy (all peers) */
	char *policy_text;		/* the stored policy's text it was compiled from */
};

/* Rebuilds from the store. 0 or negative errno (the old cache is kept then). A stored policy
 * that no longer parses (a hand-edited database) is served as "deny everything". */
int wm_coord_cache_rebuild(struct wm_coord_cache *c, struct wm_store *s, int64_t now,
			   double loop_now);

void wm_coord_cache_free(struct wm_coord_cache *c);

/* The node with this id, or NULL. */
const struct wm_store_node *wm_coord_cache_node(const struct wm_coord_cache *c, int64_t id);

/* The poll answer for node (one of c->nodes) to request id: malloc'd text, length in *len. */
char *wm_coord_cache_netmap(const struct wm_coord_cache *c, const struct wm_store_node *node,
			    const uint8_t id[WM_COORD_REQ_ID_LEN], size_t *len);

/* The self and peer views of a stored node at time now, without routes. */
void wm_coord_node_self(struct wm_netmap_self *out, const struct wm_store_node *n);
void wm_coord_node_peer(struct wm_netmap_peer *out, const struct wm_store_node *n, int64_t now);

/*
 * Of the routes (sorted by node id) of node id: the approved ones it advertises (served false:
 * its self.approved_routes), or those it is the primary router of (served true: its peer
 * entry's routes). At most WM_NETMAP_MAX_ROUTES; the count.
 */
size_t wm_coord_node_routes(const struct wm_store_route *routes, size_t n, int64_t id,
			    bool served, struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES]);

#endif
