/* SPDX-License-Identifier: MIT */
/*
 * Endpoint candidates: the addresses at which peers might reach this node directly. For now
 * the local interface addresses paired with the WireGuard UDP port; reflexive addresses from
 * STUN join them later. The list is sorted so that an unchanged network gives an unchanged
 * list (the coordination server is told only about changes).
 */
#ifndef WM_CANDIDATES_H
#define WM_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/endpoint.h"

/*
 * True when an address of an interface with these IFF_* flags is worth publishing: the
 * interface is up and not loopback; IPv4 not loopback, link-local or 127.3.3.40-style magic;
 * IPv6 not loopback, link-local, multicast or v4-mapped. Addresses inside the mesh's own
 * ranges (100.64.0.0/10, fd77:6d65:7368::/48) are never candidates: they exist only inside
 * the tunnel.
 */
bool wm_candidates_usable(const struct sockaddr *sa, unsigned int ifflags);

/*
 * Sorts and removes duplicates in place: IPv4 before IPv6, then by address bytes and port.
 * Returns the new count.
 */
size_t wm_candidates_normalize(struct wm_endpoint *eps, size_t n);

/*
 * Fills out (at most max) with this host's usable interface addresses and port, skipping the
 * interface named exclude_ifname (the TUN). Returns the count or -errno.
 */
int wm_candidates_local(struct wm_endpoint *out, size_t max, uint16_t port,
			const char *exclude_ifname);

#endif
