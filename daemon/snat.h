/* SPDX-License-Identifier: MIT */
/*
 * Source NAT for a subnet router (docs/routes.md): what comes in through the mesh interface
 * and leaves towards one of the advertised routes goes out with this host's address, so the
 * LAN needs no route back to the mesh. The rules live in one nftables table of wiremesh's own,
 * "inet wiremesh-IFNAME", replaced whole on every change (one atomic transaction) and deleted
 * on stop; nothing else in the host's firewall is read or touched. Through libnftables, in
 * this process, so CAP_NET_ADMIN is enough.
 */
#ifndef WM_SNAT_H
#define WM_SNAT_H

#include <stdbool.h>
#include <stddef.h>

#include "coord-client/netmap.h"

struct wm_snat {
	char table[64];		/* "wiremesh-IFNAME" */
	char ifname[32];
	bool installed;
};

/*
 * Puts the table in place for routes[0..n) (replacing any table of that name, e.g. one left
 * by a node that was killed). n == 0 removes it. 0, or -1 with nftables' words in err.
 */
int wm_snat_set(struct wm_snat *s, const char *ifname, const struct wm_netmap_prefix *routes,
		size_t n, char *err, size_t errlen);

/* Deletes the table, if this node put it there. */
void wm_snat_remove(struct wm_snat *s);

#endif
