/* SPDX-License-Identifier: MIT */
/*
 * Allowed IPs: the cryptokey routing table (whitepaper section 2). Maps IPv4 and IPv6 prefixes
 * to peers; an outgoing packet goes to the peer owning the longest prefix that matches its
 * destination, and an incoming one is accepted only if its source maps back to the peer that
 * sent it. A path-compressed binary trie, one root per family. Not thread-safe: the caller
 * serialises writers against readers.
 */
#ifndef WM_ALLOWEDIPS_H
#define WM_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct wm_peer;

/*
 * Exposed so tests can check the trie's shape; nothing outside allowedips.c touches it.
 * key holds the prefix as a 128-bit big-endian number (IPv4 in the top 32 bits of key[0]) with
 * every bit past cidr zero, so a bit test is a shift. peer is NULL for a node that only exists
 * to split two branches; such a node always has both children.
 */
struct wm_allowedips_node {
	struct wm_allowedips_node *bit[2];
	uint64_t key[2];
	struct wm_peer *peer;
	uint8_t cidr;
	/* Walked only on insert/remove, so off the lookup path's first cache line. */
	struct wm_allowedips_node *parent;
};

struct wm_allowedips {
	struct wm_allowedips_node *root4, *root6;
	size_t count;	/* prefixes stored (nodes with a peer) */
};

/* Sets up an empty table. */
void wm_allowedips_init(struct wm_allowedips *t);

/* Frees every node; the table is empty and reusable afterwards. */
void wm_allowedips_free(struct wm_allowedips *t);

/*
 * Maps addr/cidr to peer. family is AF_INET (4 address bytes, network order) or AF_INET6 (16).
 * Host bits past cidr are ignored. An existing prefix moves to peer.
 * Returns 0, -EINVAL (bad family, cidr, addr or NULL peer) or -ENOMEM (table unchanged).
 */
int wm_allowedips_insert(struct wm_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 struct wm_peer *peer);

/* Removes exactly addr/cidr if peer owns it (UAPI "allowed_ip=-"). 0, -ENOENT or -EINVAL. */
int wm_allowedips_remove(struct wm_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 struct wm_peer *peer);

/* Removes every prefix peer owns. */
void wm_allowedips_remove_by_peer(struct wm_allowedips *t, struct wm_peer *peer);

/* Longest-prefix match of addr (4 or 16 bytes by family); NULL when nothing matches. */
struct wm_peer *wm_allowedips_lookup(const struct wm_allowedips *t, int family,
				     const uint8_t *addr);

/*
 * Calls fn for every prefix peer owns, IPv4 first, then by address, then by cidr. fn must not
 * change the table. Stops at and returns the first non-zero value fn returns; else 0.
 */
int wm_allowedips_walk_by_peer(const struct wm_allowedips *t, struct wm_peer *peer,
			       int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			       void *ctx);

#endif
