/* SPDX-License-Identifier: MIT */
/*
 * Transport keypairs (whitepaper §5.4.5, §6): each peer holds up to three —
 * previous, current and next. An initiator uses a new keypair at once; a
 * responder parks it in "next" until the first data packet under it proves
 * the initiator has it too (§5.4.5's key confirmation).
 */
#ifndef WM_KEYPAIR_H
#define WM_KEYPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/index.h"
#include "engine/messages.h"
#include "engine/replay.h"

struct wm_keypair {
	struct wm_index_entry entry;	/* our receiver index */
	uint8_t send_key[WM_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[WM_SYMMETRIC_KEY_LEN];
	uint64_t send_counter;		/* the next nonce to use */
	struct wm_replay replay;
	uint64_t birthdate;		/* monotonic ns */
	uint64_t internal_id;		/* for log lines only */
	uint32_t remote_index;
	bool i_am_initiator;
	bool send_valid;
};

struct wm_keypairs {
	struct wm_keypair *previous;
	struct wm_keypair *current;
	struct wm_keypair *next;
};

/* A zeroed keypair on the heap (handshakes are rare; packets never allocate). NULL on ENOMEM. */
struct wm_keypair *wm_keypair_create(void);

/* Takes the keypair out of the index table, wipes and frees it. NULL is fine. */
void wm_keypair_destroy(struct wm_keypair *kp, struct wm_index_table *table);

/* True while the keypair may still seal packets (age and count limits of §6.1). */
bool wm_keypair_can_send(const struct wm_keypair *kp, uint64_t now);

/* True while packets under this keypair may still be accepted (§6.1). */
bool wm_keypair_can_receive(const struct wm_keypair *kp, uint64_t now);

/* Installs a keypair from a completed handshake in the right slot, freeing what it displaces. */
void wm_keypairs_add(struct wm_keypairs *kps, struct wm_keypair *kp, struct wm_index_table *table);

/*
 * Call after a data packet authenticated under kp. When kp is the parked
 * "next", it becomes current; returns true then (the handshake is complete).
 */
bool wm_keypairs_received_with(struct wm_keypairs *kps, struct wm_keypair *kp,
			       struct wm_index_table *table);

/* Stops sending under the current keypair (after a key change) without dropping receive. */
void wm_keypairs_expire_current(struct wm_keypairs *kps);

/* Frees all three. */
void wm_keypairs_clear(struct wm_keypairs *kps, struct wm_index_table *table);

#endif
