/* SPDX-License-Identifier: MIT */
#include "daemon/iface.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "tun/netlink.h"

void wm_iface_log_failure(int err, const char *what, int family, const uint8_t *addr,
			  uint8_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (err >= 0)
		return;
	inet_ntop(family, addr, text, sizeof(text));
	wm_log_error("cannot %s %s/%u: %s", what, text, len, strerror(-err));
}

int wm_iface_open(struct wm_iface *ifc, const char *name)
{
	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = wm_netlink_link_index(name);
	if (ifc->ifindex < 0)
		return ifc->ifindex;
	return wm_netlink_link_set_up(ifc->ifindex, true);
}

static void add_route(const struct wm_iface *ifc, const struct wm_netmap_prefix *p)
{
	wm_iface_log_failure(wm_netlink_route_add(ifc->ifindex, p->family, p->addr, p->cidr),
			     "add the route", p->family, p->addr, p->cidr);
}

static void del_route(const struct wm_iface *ifc, const struct wm_netmap_prefix *p)
{
	int err = wm_netlink_route_del(ifc->ifindex, p->family, p->addr, p->cidr);

	/* Gone already (with the interface, or by hand): nothing to say. */
	if (err != -ESRCH && err != -ENODEV)
		wm_iface_log_failure(err, "remove the route", p->family, p->addr, p->cidr);
}

static bool has_prefix(const struct wm_netmap_peer *p, const struct wm_netmap_prefix *x)
{
	size_t i;

	for (i = 0; p && i < p->n_allowed_ips; i++)
		if (p->allowed_ips[i].family == x->family && p->allowed_ips[i].cidr == x->cidr &&
		    !memcmp(p->allowed_ips[i].addr, x->addr, x->family == AF_INET ? 4 : 16))
			return true;
	return false;
}

void wm_iface_move_routes(const struct wm_iface *ifc, const struct wm_netmap_peer *old,
			  const struct wm_netmap_peer *new)
{
	size_t i;

	for (i = 0; old && i < old->n_allowed_ips; i++)
		if (!has_prefix(new, &old->allowed_ips[i]))
			del_route(ifc, &old->allowed_ips[i]);
	for (i = 0; new && i < new->n_allowed_ips; i++)
		if (!has_prefix(old, &new->allowed_ips[i]))
			add_route(ifc, &new->allowed_ips[i]);
}

/* Only /32 and /128 of the mesh's own: this node's addresses; the peers' come by route. */
void wm_iface_set_addresses(struct wm_iface *ifc, const struct wm_netmap_self *self)
{
	if (ifc->addresses_set && !memcmp(&ifc->self4, &self->ipv4, sizeof(ifc->self4)) &&
	    !memcmp(&ifc->self6, &self->ipv6, sizeof(ifc->self6)))
		return;
	if (ifc->addresses_set) {
		wm_netlink_addr_del(ifc->ifindex, AF_INET, (const uint8_t *)&ifc->self4, 32);
		wm_netlink_addr_del(ifc->ifindex, AF_INET6, ifc->self6.s6_addr, 128);
	}
	ifc->self4 = self->ipv4;
	ifc->self6 = self->ipv6;
	ifc->addresses_set = true;
	wm_iface_log_failure(wm_netlink_addr_add(ifc->ifindex, AF_INET, (const uint8_t *)&ifc->self4,
						 32), "add the address", AF_INET,
			     (const uint8_t *)&ifc->self4, 32);
	wm_iface_log_failure(wm_netlink_addr_add(ifc->ifindex, AF_INET6, ifc->self6.s6_addr, 128),
			     "add the address", AF_INET6, ifc->self6.s6_addr, 128);
}
