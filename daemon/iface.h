/* SPDX-License-Identifier: MIT */
/*
 * The mesh interface's addresses and routes as the netmap wants them, through rtnetlink
 * (tun/netlink.h): this node's 100.x and IPv6 as /32 and /128, and a device route for each
 * prefix a peer may send from. Changes are applied as differences; failures are logged and the
 * mesh carries on without them (a route that cannot be added only costs that prefix).
 */
#ifndef WM_IFACE_H
#define WM_IFACE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "coord-client/netmap.h"

struct wm_iface {
	int ifindex;
	bool addresses_set;
	struct in_addr self4;		/* the addresses on the interface */
	struct in6_addr self6;
};

/* Finds the interface named name and brings it up. 0 or -errno. */
int wm_iface_open(struct wm_iface *ifc, const char *name);

/* Puts self's addresses on the interface, replacing the previous ones (nothing when equal). */
void wm_iface_set_addresses(struct wm_iface *ifc, const struct wm_netmap_self *self);

/*
 * Routes through the interface, for the whole mesh at once: from the prefixes old[0..n_old) to
 * new[0..n_new) (both sorted here, in place; repeats are fine), removes what only old has and
 * adds what only new has. At once, because a subnet route may move from one peer to another.
 */
void wm_iface_sync_routes(const struct wm_iface *ifc, struct wm_netmap_prefix *old, size_t n_old,
			  struct wm_netmap_prefix *new, size_t n_new);

/* Logs a failed netlink or allowed-IPs change of prefix addr/len (err < 0); nothing otherwise. */
void wm_iface_log_failure(int err, const char *what, int family, const uint8_t *addr,
			  uint8_t len);

#endif
