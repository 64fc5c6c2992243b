/* SPDX-License-Identifier: MIT */
/*
 * Receiver indices (whitepaper §5.4.2): every handshake and keypair gets a
 * random 32-bit local index that the other side echoes back, so an incoming
 * message finds its state in O(1) without revealing anything about it.
 * Entries are embedded in the handshake and keypair structs; no allocation.
 */
#ifndef WM_INDEX_H
#define WM_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/crypto.h"

struct wm_peer;

enum wm_index_type {
	WM_INDEX_HANDSHAKE = 1 << 0,
	WM_INDEX_KEYPAIR = 1 << 1,
};

struct wm_index_entry {
	struct wm_index_entry *next;
	struct wm_peer *peer;
	uint32_t index;
	uint8_t type;
	bool inserted;
};

enum { WM_INDEX_BUCKETS = 1 << 13 };

struct wm_index_table {
	struct wm_index_entry *buckets[WM_INDEX_BUCKETS];
	uint32_t count;
};

void wm_index_init(struct wm_index_table *table);

/* Gives the entry a fresh random index not in use and inserts it (removing it first if needed). */
uint32_t wm_index_insert(struct wm_index_table *table, struct wm_index_entry *entry,
			 const struct wm_rng *rng);

/* Moves old's index to new (a handshake's index becomes its keypair's); old leaves the table. */
void wm_index_replace(struct wm_index_table *table, struct wm_index_entry *old,
		      struct wm_index_entry *new_entry);

/* Removes the entry if it is in the table. */
void wm_index_remove(struct wm_index_table *table, struct wm_index_entry *entry);

/* The entry with this index whose type is in type_mask, or NULL. */
struct wm_index_entry *wm_index_lookup(const struct wm_index_table *table, uint32_t index,
				       unsigned type_mask);

#endif
