/* SPDX-License-Identifier: MIT */
/*
 * Using an exit node (docs/exit-nodes.md): `wiremesh up --exit-node NAME|MESH-IP` sends all
 * of this host's traffic through one peer that offers the default routes. As wg-quick does
 * for a full tunnel, the default routes live in a routing table of their own, consulted by a
 * rule for every packet that does not carry this node's socket mark; the node's own sockets
 * carry the mark (common/sockmark.h), so its WireGuard, STUN, relay and coordination traffic
 * keeps the host's ordinary routes. Removing the rules and the table's routes restores the
 * host's routing exactly; that happens when the exit node stops being usable and on `down`.
 */
#ifndef WM_EXIT_H
#define WM_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "coord-client/netmap.h"

/*
 * The routing table and the socket mark: one number for both, as wg-quick uses its listen
 * port (51820) for both; ours is the mesh's default port, so the two never collide.
 */
#define WM_EXIT_TABLE 41641
#define WM_EXIT_FWMARK 41641
/*
 * Rule priorities: just before the main table's rule (32766), where wg-quick's land, so
 * rules the administrator placed earlier keep deciding first. The suppress rule (LAN access)
 * is looked at before the rule that sends everything else into the table.
 */
#define WM_EXIT_PRIORITY_SUPPRESS 32760
#define WM_EXIT_PRIORITY_TABLE 32761

enum wm_exit_state {
	WM_EXIT_OFF,		/* no --exit-node */
	WM_EXIT_NO_SUCH_PEER,	/* nobody in the netmap by that name or address */
	WM_EXIT_NOT_OFFERED,	/* the peer offers no approved default route */
	WM_EXIT_ACTIVE,		/* the rules and routes are in place */
	WM_EXIT_FAILED,		/* the kernel refused them (see why) */
};

struct wm_exit {
	char want[WM_NETMAP_NAME_MAX + 1];	/* --exit-node as given; empty: none */
	bool allow_lan;				/* --exit-node-allow-lan-access */
	int ifindex;				/* the mesh interface */
	enum wm_exit_state state;
	uint64_t peer;				/* the exit node in use (ACTIVE); 0: none */
	char peer_name[WM_NETMAP_NAME_MAX + 1];	/* the one chosen, even while waiting */
	bool peer_online;			/* as the netmap says */
	bool offered[2];			/* by the chosen peer: [0] IPv4, [1] IPv6 */
	bool installed[2];			/* rules and route in place, by family */
	char why[160];				/* FAILED: what the kernel said */
};

/* Whether the peer offers to be an exit node (has a default route in its routes). */
bool wm_exit_offers(const struct wm_netmap_peer *p);

/*
 * Takes the options; with an exit node wanted, sets the process's socket mark (before the
 * node opens its sockets) and removes rules a killed node may have left. want may be NULL.
 * 0, or -1 with a sentence in err (a name too long).
 */
int wm_exit_start(struct wm_exit *e, const char *want, bool allow_lan, int ifindex, char *err,
		  size_t errlen);

/* The peer of nm the user asked for (by name, or by one of its mesh addresses), or NULL. */
const struct wm_netmap_peer *wm_exit_find(const struct wm_exit *e, const struct wm_netmap *nm);

/*
 * Chooses from nm: the exit node to use (its id, 0 for none) and the state. Call for every
 * netmap before the peers' allowed IPs are set; wm_exit_apply() then follows the choice.
 */
uint64_t wm_exit_choose(struct wm_exit *e, const struct wm_netmap *nm);

/* Puts the rules and the table's routes in place, or takes them away, as the state says. */
void wm_exit_apply(struct wm_exit *e);

/* Takes everything away (down). */
void wm_exit_stop(struct wm_exit *e);

/* For status: {"want", "peer", "peer_online", "state", "allow_lan_access", "why"}, or NULL
 * when off. */
json_t *wm_exit_json(const struct wm_exit *e);

/* The state in words ("active", "waiting: not offered", …). */
const char *wm_exit_state_name(enum wm_exit_state state);

#endif
