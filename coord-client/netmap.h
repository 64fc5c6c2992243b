/* SPDX-License-Identifier: MIT */
/*
 * The network map a node gets from the coordination server (docs/coord-protocol.md, "The
 * netmap"): this node, every peer, the relay map. Plain arrays, owned by the struct and freed
 * with wm_netmap_free(). The diff says what changed between two maps, peer by peer, matched by
 * node id (stable across key rotation), for the daemon to apply to the engine.
 */
#ifndef WM_NETMAP_H
#define WM_NETMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "common/endpoint.h"
#include "common/key.h"

/* Bounds of one netmap, docs/coord-protocol.md "Limits". */
#define WM_NETMAP_NAME_MAX 63		/* DNS label */
#define WM_NETMAP_MAX_PEERS 10000
#define WM_NETMAP_MAX_ENDPOINTS 16
#define WM_NETMAP_MAX_ALLOWED_IPS 16
#define WM_NETMAP_MAX_ROUTES 16		/* subnet routes a node advertises or serves */
#define WM_RELAYMAP_MAX_REGIONS 64
#define WM_RELAYMAP_MAX_RELAYS 8	/* per region */
#define WM_RELAYMAP_URL_MAX 255
#define WM_RELAYMAP_HOST_MAX 253
#define WM_RELAYMAP_CODE_MAX 32
#define WM_RELAYMAP_REGION_NAME_MAX 63
#define WM_RELAYMAP_REGION_ID_MAX 65535
#define WM_PACKET_FILTER_MAX (1 << 20)	/* bytes of the packet filter's JSON (docs/policy.md) */
/* The mesh's DNS suffix (docs/dns.md): NAME.SUFFIX fits a domain name's 253 characters. */
#define WM_NETMAP_DNS_SUFFIX_MAX (253 - WM_NETMAP_NAME_MAX - 1)

/*
 * The mesh's own addresses (docs/coord-protocol.md, "Addresses"), which no subnet route may
 * overlap: IPv4 from 100.64.0.0/10, IPv6 in the ULA prefix fd77:6d65:7368::/48 ("wmesh").
 */
#define WM_NETMAP_IPV4_PREFIX { 100, 64 }	/* /10 */
#define WM_NETMAP_ULA_PREFIX { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x68 }	/* /48 */

/* An allowed-IPs entry: family AF_INET or AF_INET6, address bytes, prefix length. */
struct wm_netmap_prefix {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
};

struct wm_netmap_self {
	uint64_t id;
	char name[WM_NETMAP_NAME_MAX + 1];
	struct in_addr ipv4;
	struct in6_addr ipv6;
	int64_t key_expiry;		/* unix seconds; 0: never */
	/* Of the routes this node advertises, those an administrator approved (docs/routes.md). */
	struct wm_netmap_prefix approved_routes[WM_NETMAP_MAX_ROUTES];
	size_t n_approved_routes;
};

struct wm_netmap_peer {
	uint64_t id;
	char name[WM_NETMAP_NAME_MAX + 1];
	uint8_t node_key[WM_KEY_LEN];
	uint8_t disco_key[WM_KEY_LEN];
	struct in_addr ipv4;
	struct in6_addr ipv6;
	struct wm_netmap_prefix allowed_ips[WM_NETMAP_MAX_ALLOWED_IPS];
	size_t n_allowed_ips;
	/*
	 * Subnet routes this peer serves: approved, advertised, and this peer the primary router
	 * of each (the one other nodes send that prefix to). Not in allowed_ips: a node takes them
	 * only with --accept-routes.
	 */
	struct wm_netmap_prefix routes[WM_NETMAP_MAX_ROUTES];
	size_t n_routes;
	struct wm_endpoint endpoints[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_endpoints;
	int home_relay;			/* region id; 0: none */
	bool online;
	int64_t last_seen;		/* unix seconds; 0: never */
	int64_t key_expiry;		/* unix seconds; 0: never */
	bool expired;			/* the key expired: do not configure this peer */
};

struct wm_relay_node {
	char url[WM_RELAYMAP_URL_MAX + 1];		/* https://host[:port]/derp */
	char stun_host[WM_RELAYMAP_HOST_MAX + 1];	/* empty: no STUN */
	uint16_t stun_port;
};

struct wm_relay_region {
	int id;					/* 1..WM_RELAYMAP_REGION_ID_MAX */
	char code[WM_RELAYMAP_CODE_MAX + 1];
	char name[WM_RELAYMAP_REGION_NAME_MAX + 1];
	struct wm_relay_node relays[WM_RELAYMAP_MAX_RELAYS];
	size_t n_relays;
};

struct wm_relay_map {
	struct wm_relay_region *regions;
	size_t n_regions;
};

struct wm_netmap {
	uint64_t version;
	struct wm_netmap_self self;
	struct wm_netmap_peer *peers;
	size_t n_peers;
	struct wm_relay_map relays;
	char *packet_filter;		/* the filter's JSON text as sent, or NULL (none yet) */
	/* Nodes are NAME.dns_suffix (docs/dns.md); empty: the server sent none (no mesh names). */
	char dns_suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1];
};

/* Frees what the netmap owns and zeroes it; the struct itself is the caller's. */
void wm_netmap_free(struct wm_netmap *nm);

void wm_relay_map_free(struct wm_relay_map *rm);

/* A deep copy into dst (which is overwritten). 0 or -ENOMEM (dst is then empty). */
int wm_netmap_copy(struct wm_netmap *dst, const struct wm_netmap *src);

int wm_relay_map_copy(struct wm_relay_map *dst, const struct wm_relay_map *src);

/* Parses "a.b.c.d/N" or "v6addr/N"; false unless it is a prefix with its host bits zero. */
bool wm_netmap_prefix_parse(struct wm_netmap_prefix *p, const char *text);

/* Writes p as text ("192.168.50.0/24"); out needs WM_NETMAP_PREFIX_TEXT_MAX bytes. */
#define WM_NETMAP_PREFIX_TEXT_MAX 44
void wm_netmap_prefix_format(const struct wm_netmap_prefix *p, char *out, size_t cap);

/* Orders prefixes: IPv4 before IPv6, then by address, then by length (<0, 0, >0). */
int wm_netmap_prefix_cmp(const struct wm_netmap_prefix *a, const struct wm_netmap_prefix *b);

/*
 * Whether p may be a route a node advertises: 0, or -EINVAL with why's reason, worded to
 * follow the prefix ("overlaps loopback (127.0.0.0/8)"): p must be a prefix with its host bits
 * zero; apart from the two default routes (0.0.0.0/0, ::/0: an exit node, docs/exit-nodes.md)
 * no prefix may overlap the mesh's own 100.64.0.0/10 or its IPv6 ULA prefix, nor loopback,
 * link-local or multicast addresses.
 */
int wm_netmap_route_check(const struct wm_netmap_prefix *p, char *why, size_t whylen);

/* Whether p is 0.0.0.0/0 or ::/0: what an exit node advertises. */
bool wm_netmap_prefix_is_default(const struct wm_netmap_prefix *p);

/* The peer with this node id, or NULL. Linear. */
const struct wm_netmap_peer *wm_netmap_find_peer(const struct wm_netmap *nm, uint64_t id);

/* What changed about one peer (bits of wm_netmap_change.what). */
enum {
	WM_NETMAP_CHANGED_NODE_KEY = 1 << 0,	/* rotated: replace the WireGuard peer */
	WM_NETMAP_CHANGED_DISCO_KEY = 1 << 1,
	WM_NETMAP_CHANGED_ENDPOINTS = 1 << 2,
	WM_NETMAP_CHANGED_ALLOWED_IPS = 1 << 3,
	WM_NETMAP_CHANGED_HOME_RELAY = 1 << 4,
	WM_NETMAP_CHANGED_NAME = 1 << 5,
	WM_NETMAP_CHANGED_ADDRESSES = 1 << 6,
	WM_NETMAP_CHANGED_ONLINE = 1 << 7,	/* online or last_seen */
	WM_NETMAP_CHANGED_KEY_EXPIRY = 1 << 8,
	WM_NETMAP_CHANGED_ROUTES = 1 << 9,
};

struct wm_netmap_change {
	const struct wm_netmap_peer *old_peer, *new_peer;
	unsigned int what;
};

/* Pointers into the two netmaps given to wm_netmap_diff(): valid while they are. */
struct wm_netmap_diff {
	const struct wm_netmap_peer **added;
	size_t n_added;
	const struct wm_netmap_peer **removed;
	size_t n_removed;
	struct wm_netmap_change *changed;
	size_t n_changed;
};

/*
 * Peers added, removed and changed from old_nm (NULL: empty) to new_nm. Expired peers count as
 * absent, so a peer whose key expires shows as removed. Order follows node id. 0 or -ENOMEM.
 */
int wm_netmap_diff(struct wm_netmap_diff *d, const struct wm_netmap *old_nm,
		   const struct wm_netmap *new_nm);

void wm_netmap_diff_free(struct wm_netmap_diff *d);

#endif
