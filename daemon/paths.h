/* SPDX-License-Identifier: MIT */
/*
 * NAT traversal in mesh mode (docs/nat-traversal.md): the I/O around the sans-I/O cores in
 * nat/. Disco messages travel on the WireGuard UDP socket and through the relays, sealed under
 * this run's disco key; each peer has a path manager (nat/path.c) whose decision — a direct
 * address a pong proved, else a relay (the peer's home relay; before it has published one, the
 * region its packets came through, or ours) — becomes the peer's WireGuard endpoint; STUN
 * rounds against the relays' STUN servers (nat/netcheck.c) find this node's reflexive
 * addresses, whether its NAT maps per destination, and the nearest relay. Link and address
 * changes (netlink) trigger a new round and a sweep of every active peer.
 */
#ifndef WM_PATHS_H
#define WM_PATHS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-client/netmap.h"
#include "daemon/control.h"
#include "daemon/netcheck_io.h"
#include "filter/filter.h"
#include "nat/path.h"

struct wm_node;

#define WM_PATHS_TICK_S 0.25			/* path managers run this often */
#define WM_PATHS_PING_TIMEOUT_S 3.0		/* `wiremesh ping` waits this long for a pong */

/* One peer as the path logic sees it. */
struct wm_mesh_peer {
	uint64_t id;
	char name[WM_NETMAP_NAME_MAX + 1];
	struct in_addr ipv4;
	uint8_t node_key[WM_KEY_LEN];
	uint8_t disco_key[WM_KEY_LEN];
	uint8_t shared[32];		/* crypto_box key with its disco key */
	bool shared_ok;
	uint16_t home_relay;		/* as published; 0: none yet */
	uint16_t relay_seen;		/* the region its packets last came through */
	struct wm_path path;
	struct wm_endpoint last_set;	/* the WireGuard endpoint this code last chose */
	struct wm_endpoint last_logged;	/* the last choice logged */
	uint64_t roamed_until;		/* WireGuard roamed to a direct address: respected until */
	uint64_t last_tx;		/* the engine peer's tx_bytes at the last tick */
	uint64_t drops[WM_FILTER_REASON_COUNT];	/* its packets the access policy dropped */
	struct wm_control_conn *ping_conn;	/* a `wiremesh ping` waiting for a pong */
	uint64_t ping_deadline;
};

struct wm_paths {
	struct wm_node *node;
	uint8_t disco_private[WM_KEY_LEN], disco_public[WM_KEY_LEN];
	struct wm_mesh_peer **peers;	/* sorted by node key */
	struct wm_mesh_peer **by_disco;	/* the same, sorted by disco key */
	size_t n_peers;

	/* Our own candidates (the mesh's), for call-me-maybe. */
	const struct wm_endpoint *our_candidates;
	const size_t *n_our_candidates;
	void (*on_candidates_changed)(void *ctx);	/* reflexive addresses or relay choice moved */
	void (*on_home_relay)(void *ctx, uint16_t region);
	void (*on_relay_connected)(void *ctx, uint16_t region);
	void *ctx;

	struct wm_netcheck_io netcheck;	/* STUN rounds, our addresses, network changes */
	uint64_t last_loss_check;	/* a lost direct path last started a STUN round */

	ev_timer tick_timer;
	uint64_t disco_in, disco_out, disco_bad;
};

/* Starts the timers and the network check; a fresh disco key pair. 0 or -errno. */
int wm_paths_start(struct wm_paths *ps, struct wm_node *node);

void wm_paths_stop(struct wm_paths *ps);

/*
 * Brings the peers in line with a netmap just applied to the engine: new ones get a path
 * manager, gone ones go, candidates and keys follow. The relay map gives the STUN servers.
 */
void wm_paths_sync(struct wm_paths *ps, const struct wm_netmap *nm);

/* The peer with this node key, or NULL (binary search). */
struct wm_mesh_peer *wm_paths_find_node_key(struct wm_paths *ps, const uint8_t key[WM_KEY_LEN]);

/* The peer with this node id, or NULL. */
struct wm_mesh_peer *wm_paths_find_id(struct wm_paths *ps, uint64_t id);

/* `wiremesh ping`: disco pings to every candidate and through the relay; conn gets the first
 * pong (or a timeout). */
void wm_paths_ping(struct wm_paths *ps, struct wm_mesh_peer *mp, struct wm_control_conn *conn);


#endif
