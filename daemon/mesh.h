/* SPDX-License-Identifier: MIT */
/*
 * Mesh mode (`wiremesh up`): a node that takes its configuration from the coordination server
 * instead of from `wg`. It keeps the node key in the state directory, runs the coordination
 * client on the node's loop, and applies every netmap to the engine and the interface as a
 * diff: peers and their allowed IPs, endpoints, routes, this node's addresses, the relays. It
 * tells the server where this node might be reached (its interface addresses and UDP port)
 * and which relay is its home. While the server is away the last netmap stays in force.
 */
#ifndef WM_MESH_H
#define WM_MESH_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/metrics_server.h"
#include "coord-client/coord_client.h"
#include "coord-client/netmap.h"
#include "daemon/control.h"
#include "daemon/dns_server.h"
#include "daemon/exit.h"
#include "daemon/iface.h"
#include "daemon/key_expiry.h"
#include "daemon/node.h"
#include "daemon/paths.h"
#include "daemon/policy.h"
#include "daemon/routes.h"
#include "daemon/state.h"

/* Tailscale's default port: NATs that preserve ports then keep it, which helps traversal. */
#define WM_MESH_DEFAULT_PORT 41641
/*
 * The largest inner packet the tunnel carries by default: 1280 − 40 (IPv6) − 8 (UDP) − 32
 * (WireGuard), so that any underlay path of IPv6's minimum MTU carries it, however the peers
 * reach each other. The interface itself gets at least WM_MESH_MIN_IFACE_MTU, which IPv6 on
 * it needs; between the two, TCP is clamped and IPv4 answered (daemon/datapath.h).
 */
#define WM_MESH_DEFAULT_MTU 1200
#define WM_MESH_MIN_IFACE_MTU 1280
#define WM_MESH_MIN_MTU 576	/* every IPv4 host takes datagrams this long (RFC 791) */
#define WM_MESH_MAX_MTU 9000	/* jumbo frames */
/* How often the interface addresses are looked at again (changes are published at once). */
#define WM_MESH_REFRESH_S 5.0
/* How long `up` waits for the first answer of the coordination server before it gives up. */
#define WM_MESH_READY_TIMEOUT_S 30.0
/* How long `up` waits for the home relay's connection once the netmap is in. */
#define WM_MESH_RELAY_WAIT_S 5.0
/* While `up` waits for the coordination server, it says why this often. */
#define WM_MESH_PROGRESS_EVERY_S 5.0

struct wm_mesh_options {
	const char *coord_url;
	const char *auth_key;		/* NULL: the node is already registered (state dir) */
	const char *hostname;		/* NULL: gethostname() */
	const char *coord_ca;		/* https: CA file or pinned certificate; NULL: system */
	uint16_t port;			/* 0: WM_MESH_DEFAULT_PORT, else any free one */
	gid_t operator_gid;		/* may use the control socket too; (gid_t)-1: none */
	double ready_timeout_s;		/* 0: WM_MESH_READY_TIMEOUT_S */
	unsigned mtu;			/* 0: WM_MESH_DEFAULT_MTU */
	struct wm_routes_options routes;	/* subnet routes: advertised, accepted, SNAT */
	enum wm_dns_accept accept_dns;	/* --accept-dns[=false] (docs/dns.md) */
	const char *exit_node;		/* --exit-node NAME|MESH-IP; NULL: none */
	bool exit_allow_lan;		/* --exit-node-allow-lan-access */
	const char *metrics_listen;	/* --metrics-listen ADDR:PORT: /metrics, /healthz; NULL: none */
	bool force_reauth;		/* --force-reauth: a new node key once registered */
	/* While not up yet: a sentence saying what it waits for (ctx: on_ready's). May be NULL. */
	void (*on_progress)(void *ctx, const char *message);
};

/* Told once: the node is up (ok, with a sentence for the user) or cannot join (why). */
typedef void (*wm_mesh_ready_fn)(void *ctx, bool ok, const char *message);

struct wm_mesh {
	struct wm_node *node;
	struct wm_state *state;
	struct wm_coord_client *coord;
	struct wm_control_server control;
	bool control_started;
	char url[512];

	struct wm_netmap applied;	/* what the engine and interface have now */
	bool have_netmap;		/* applied holds a netmap (from the server or the state) */
	bool netmap_from_server;
	struct wm_iface iface;		/* its addresses and routes */
	struct wm_routes routes;	/* subnet routes, as router and as client */
	bool routes_started;
	struct wm_netmap_prefix *routed;	/* the interface's routes now, sorted (mesh_peers.c) */
	size_t n_routed;
	struct wm_exit exit;		/* --exit-node: the exit node in use and its routing */
	uint64_t exit_configured;	/* the peer given the default routes last (mesh_peers.c) */

	struct wm_endpoint candidates[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_candidates;
	uint16_t home_relay;

	enum wm_coord_state coord_state;
	char coord_why[256];
	bool rejected;

	wm_mesh_ready_fn on_ready;
	void (*on_progress)(void *ctx, const char *message);
	void *ready_ctx;
	bool ready_reported;
	uint64_t started_at, ready_deadline, last_progress;	/* monotonic ns */
	ev_timer refresh_timer, ready_timer, exit_timer, relay_wait_timer, progress_timer;
	struct wm_control_conn *logout_conn;	/* a `logout` waiting for the server */
	/* Key rotation (mesh_identity.c): the key offered until the server takes it. */
	bool rotating, force_reauth;
	uint8_t next_key[WM_KEY_LEN];
	struct wm_control_conn *rotate_conn;	/* a `rotate-key` waiting for the server */
	uint64_t rotations;
	struct wm_paths paths;			/* NAT traversal: disco, path managers, STUN */
	bool paths_started;
	struct wm_policy policy;		/* access policy: the filter and the flows */
	bool policy_started;
	struct wm_dns_server dns;		/* the resolver at 100.100.100.100 */
	bool dns_started;
	bool up;				/* reported up (address and netmap from the server) */
	struct wm_metrics_server metrics;	/* --metrics-listen */
	bool metrics_started;
};

/*
 * Joins the mesh on node (already started): node key from the state directory (made on first
 * use), UDP port, control socket, coordination client. The last saved netmap is applied at
 * once. on_ready is called exactly once, later. 0 or -errno with a sentence in err.
 */
int wm_mesh_start(struct wm_mesh *m, struct wm_node *node, struct wm_state *state,
		  const struct wm_mesh_options *opt, wm_mesh_ready_fn on_ready, void *ready_ctx,
		  char *err, size_t errlen);

/* Stops the client, the control socket and the timers (the interface goes with the node). */
void wm_mesh_stop(struct wm_mesh *m);

/* The control socket's answers (mesh_control.c): JSON text, malloc'd, NULL on ENOMEM. */
char *wm_mesh_status_json(struct wm_mesh *m);
char *wm_mesh_ip_json(struct wm_mesh *m, const char *name);

/* The metrics in the Prometheus text format (mesh_metrics.c): malloc'd, NULL on ENOMEM. */
char *wm_mesh_metrics_text(struct wm_mesh *m, size_t *len);

/* Up (what /healthz answers 200 to); else false with the reason in *why. */
bool wm_mesh_healthy(const struct wm_mesh *m, const char **why);

/* The --metrics-listen pages (common/metrics_server.h): /metrics and /healthz. */
void wm_mesh_metrics_page(void *ctx, const char *path, struct wm_metrics_reply *r);

/* For apply_netmap: the diff d (to the netmap new) to the engine, and new's routes to the
 * interface (mesh_peers.c). */
void wm_mesh_apply_peers(struct wm_mesh *m, const struct wm_netmap_diff *d,
			 const struct wm_netmap *new);

/* Serves one control request (mesh_control.c). */
void wm_mesh_control_request(void *ctx, struct wm_control_conn *conn, const char *line);

/*
 * Offers the server a fresh node key (mesh_identity.c); conn (may be NULL) is answered once
 * the server took or refused it. 0, or -errno with a sentence in why.
 */
int wm_mesh_rotate_key(struct wm_mesh *m, struct wm_control_conn *conn, char *why, size_t cap);
/* The coordination client's on_rotated: switches to the new key, or keeps the old one. */
void wm_mesh_on_rotated(void *ctx, int err, const char *why);
/* Call after a netmap's peers and paths are applied: a peer whose key rotated gets a
 * handshake at once, rather than when traffic or a timer asks for one. */
void wm_mesh_greet_rekeyed(struct wm_mesh *m, const struct wm_netmap_diff *d);
/* Call after a netmap from the server: --force-reauth's rotation starts the first time. */
void wm_mesh_reauth_after_register(struct wm_mesh *m);

/* For mesh_control.c: leave the event loop shortly (after replies drain). */
void wm_mesh_exit_soon(struct wm_mesh *m);

/* For mesh_control.c: the coordination state in words ("connected", "away", …). */
const char *wm_mesh_coord_state_name(enum wm_coord_state state);

#endif
