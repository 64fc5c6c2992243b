/* SPDX-License-Identifier: MIT */
/*
 * The process's own socket mark (SO_MARK). While this node sends its traffic through an exit
 * node, policy routing sends every unmarked packet into the tunnel (docs/exit-nodes.md); the
 * node's own sockets (WireGuard and STUN UDP, relay and coordination TCP) carry this mark so
 * that they take the host's ordinary routes and never loop into the tunnel they carry.
 * Every socket the node opens towards the underlay is made in common/dial.c or nat/udp.c, and
 * both apply the mark here, at creation. Setting a mark needs CAP_NET_ADMIN.
 */
#ifndef WM_SOCKMARK_H
#define WM_SOCKMARK_H

#include <stdint.h>

/* Sets the mark sockets get from now on (0: none, the default). Call before opening them. */
void wm_sockmark_set(uint32_t mark);

/* The mark set, or 0. */
uint32_t wm_sockmark_get(void);

/* Marks fd with the process's mark, if one is set: 0, or -errno (EPERM without the right). */
int wm_sockmark_apply(int fd);

#endif
