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

/* Routes: removes those of old's allowed IPs that new does not have, adds new's others. Either
 * may be NULL (a peer that joined, or left). */
void wm_iface_move_routes(const struct wm_iface *ifc, const struct wm_netmap_peer *old,
			  const struct wm_netmap_peer *new);

/* Logs a failed netlink or allowed-IPs change of prefix addr/len (err < 0); nothing otherwise. */
void wm_iface_log_failure(int err, const char *what, int family, const uint8_t *addr,
			  uint8_t len);

#endif
