/* SPDX-License-Identifier: MIT */
/*
 * Who is connected under which public key, and who has received packets from whom. The second
 * is what peer-gone needs (derpserver.go noteSendFromSrc, notePeerGoneFromRegionLocked): when a
 * key leaves, every key that received from it is told. Keys hash with SipHash under a random
 * key, so clients cannot aim at one bucket. Knows nothing about sockets.
 */
#ifndef WM_RELAY_REGISTRY_H
#define WM_RELAY_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_RELAY_KEY_LEN 32
#define WM_RELAY_MAX_SOURCES 4096	/* senders tracked per receiver; more are not told */

struct wm_relay_edge;

struct wm_relay_keyent {
	uint8_t key[WM_RELAY_KEY_LEN];
	void *conn;				/* the live connection; owned by the caller */
	struct wm_relay_keyent *hnext;
	struct wm_relay_edge *receivers;	/* edges from this key: who got packets from it */
	struct wm_relay_edge *sources;		/* edges to this key: whom it got packets from */
	size_t nsources;
};

struct wm_relay_registry {
	struct wm_relay_keyent **buckets;
	size_t nbuckets, count;
	struct wm_relay_edge **ebuckets;
	size_t nebuckets, ecount;
	uint8_t hash_key[16];
	uint64_t untracked;	/* sources past WM_RELAY_MAX_SOURCES */
};

/* 0 or -ENOMEM. */
int wm_relay_registry_init(struct wm_relay_registry *reg);

/* Frees every entry and edge. */
void wm_relay_registry_free(struct wm_relay_registry *reg);

/* The entry for key, or NULL. */
struct wm_relay_keyent *wm_relay_registry_lookup(const struct wm_relay_registry *reg,
						 const uint8_t key[WM_RELAY_KEY_LEN]);

/* The entry for key, created (with conn NULL) when missing. NULL when out of memory. */
struct wm_relay_keyent *wm_relay_registry_add(struct wm_relay_registry *reg,
					      const uint8_t key[WM_RELAY_KEY_LEN]);

/* Call after a packet from src was queued to dst: remembers that dst heard from src. */
void wm_relay_registry_note_sent(struct wm_relay_registry *reg, struct wm_relay_keyent *src,
				 struct wm_relay_keyent *dst);

/*
 * Removes the entry and its edges, after calling gone(ctx, receiver) once for every entry that
 * received packets from it. The entry is freed.
 */
void wm_relay_registry_remove(struct wm_relay_registry *reg, struct wm_relay_keyent *ke,
			      void (*gone)(void *ctx, struct wm_relay_keyent *receiver), void *ctx);

#endif
