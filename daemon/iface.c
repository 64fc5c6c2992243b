/* SPDX-License-Identifier: MIT */
#include "daemon/iface.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
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

static int compare_prefixes(const void *a, const void *b)
{
	return wm_netmap_prefix_cmp(a, b);
}

void wm_iface_sync_routes(const struct wm_iface *ifc, struct wm_netmap_prefix *old, size_t n_old,
			  struct wm_netmap_prefix *new, size_t n_new)
{
	size_t i = 0, k = 0;
	int c;

	/* qsort must not be given NULL, even for nothing (UBSan stops the node on it). */
	if (n_old)
		qsort(old, n_old, sizeof(*old), compare_prefixes);
	if (n_new)
		qsort(new, n_new, sizeof(*new), compare_prefixes);
	while (i < n_old || k < n_new) {
		if (i < n_old && i > 0 && !compare_prefixes(&old[i], &old[i - 1])) {
			i++;
			continue;
		}
		if (k < n_new && k > 0 && !compare_prefixes(&new[k], &new[k - 1])) {
			k++;
			continue;
		}
		c = i == n_old ? 1 : k == n_new ? -1 : compare_prefixes(&old[i], &new[k]);
		if (c < 0)
			del_route(ifc, &old[i++]);
		else if (c > 0)
			add_route(ifc, &new[k++]);
		else
			i++, k++;
	}
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
