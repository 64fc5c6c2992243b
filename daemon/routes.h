/* SPDX-License-Identifier: MIT */
/*
 * Subnet routes on a node (docs/routes.md). As a router: the prefixes it advertises, source NAT
 * towards them (snat.h, on unless --snat-subnet-routes=false), and whether the kernel forwards
 * at all (wiremesh says so, and changes no sysctl). As a client: with --accept-routes, the
 * routes a peer serves join that peer's allowed IPs and get a route through the interface.
 */
#ifndef WM_ROUTES_H
#define WM_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "coord-client/netmap.h"
#include "daemon/snat.h"

/* What a peer may send from and is routed to: allowed IPs, then with --accept-routes routes. */
#define WM_ROUTES_PEER_PREFIXES_MAX (WM_NETMAP_MAX_ALLOWED_IPS + WM_NETMAP_MAX_ROUTES)

struct wm_routes_options {
	const struct wm_netmap_prefix *advertise;	/* checked with wm_netmap_route_check */
	size_t n_advertise;
	bool accept;			/* --accept-routes */
	bool no_snat;			/* --snat-subnet-routes=false */
	bool advertise_exit;		/* --advertise-exit-node: 0.0.0.0/0 and ::/0 too */
};

struct wm_routes {
	struct wm_netmap_prefix advertise[WM_NETMAP_MAX_ROUTES];
	size_t n_advertise;
	bool accept, snat;
	bool forwarding_v4, forwarding_v6;	/* last read (true for families not advertised) */
	uint64_t exit_peer;		/* whose default routes this node uses (exit.h); 0: none */
	struct wm_snat nat;
};

/*
 * Takes the options and, for a router, puts source NAT in place for the interface ifname and
 * reads whether the kernel forwards. 0, or -1 with a sentence in err.
 */
int wm_routes_start(struct wm_routes *r, const char *ifname, const struct wm_routes_options *opt,
		    char *err, size_t errlen);

/* Reads again whether the kernel forwards (status asks each time: the user may have fixed it). */
void wm_routes_check_forwarding(struct wm_routes *r);

/* Removes what start put in the host's firewall. */
void wm_routes_stop(struct wm_routes *r);

/* The peer's prefixes as this node configures them (see WM_ROUTES_PEER_PREFIXES_MAX): its
 * subnet routes with --accept-routes, its default routes when it is the exit node in use. */
size_t wm_routes_peer_prefixes(const struct wm_routes *r, const struct wm_netmap_peer *p,
			       struct wm_netmap_prefix out[WM_ROUTES_PEER_PREFIXES_MAX]);

/* Empty, or a sentence for the user when advertised routes cannot work (forwarding is off). */
void wm_routes_warning(const struct wm_routes *r, char *out, size_t cap);

/* Whether this node advertises the default routes (--advertise-exit-node). */
bool wm_routes_is_exit_node(const struct wm_routes *r);

/* For status: advertised (each with approved or not, given self), accept, snat, forwarding,
 * and exit_node ({"approved"}) for an exit node. */
json_t *wm_routes_json(const struct wm_routes *r, const struct wm_netmap_self *self);

/* Parses "A,B,…" (--advertise-routes) into out (at most WM_NETMAP_MAX_ROUTES). 0, or -1
 * with a sentence in err naming the entry at fault. */
int wm_routes_parse_list(const char *text, struct wm_netmap_prefix *out, size_t *n, char *err,
			 size_t errlen);

#endif
