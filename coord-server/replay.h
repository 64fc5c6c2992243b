/* SPDX-License-Identifier: MIT */
/*
 * Replay protection for sealed requests (docs/coord-protocol.md, "Replay protection"): a
 * request's timestamp must be within WM_COORD_MAX_SKEW seconds of the server's clock and its
 * random id must not have been seen in that window. Memory is bounded: when the table is full
 * the oldest id is forgotten and the floor rises to its timestamp, so that anything that old
 * is refused instead of being checked against a forgotten history. The floor starts at the
 * server's start time for the same reason (the table does not survive a restart).
 * Pure: time is passed in.
 */
#ifndef WM_COORD_REPLAY_H
#define WM_COORD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "coord-client/coord_msg.h"

#define WM_COORD_REPLAY_CAP 65536

struct wm_coord_replay_entry {
	uint8_t id[WM_COORD_REQ_ID_LEN];
	int64_t ts;
	uint32_t next;			/* index + 1 of the next entry in the bucket; 0 ends */
};

struct wm_coord_replay {
	struct wm_coord_replay_entry *ring;	/* insertion order, oldest at head */
	uint32_t *buckets;			/* index + 1 of the first entry; 0: empty */
	size_t cap, n_buckets, head, count;
	int64_t floor;				/* timestamps <= floor are refused */
	uint8_t hash_key[16];
};

/* cap entries (0: WM_COORD_REPLAY_CAP); requests stamped before now are refused. 0 or -ENOMEM. */
int wm_coord_replay_init(struct wm_coord_replay *r, size_t cap, int64_t now);
void wm_coord_replay_free(struct wm_coord_replay *r);

/* 0 (and remembered), -ETIME (outside the window or below the floor), -EALREADY (seen). */
int wm_coord_replay_check(struct wm_coord_replay *r, const uint8_t id[WM_COORD_REQ_ID_LEN],
			  int64_t ts, int64_t now);

#endif
