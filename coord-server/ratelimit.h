/* SPDX-License-Identifier: MIT */
/*
 * Per-node request rate limit: a token bucket per node key in a fixed-size table (so memory is
 * bounded whatever keys arrive). A key probes a few slots; when none is free the least recently
 * used of them is taken over, which at worst gives that node a fresh, full bucket. Pure.
 */
#ifndef WM_COORD_RATELIMIT_H
#define WM_COORD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/key.h"

#define WM_COORD_RATE_PER_SEC 5		/* sustained requests per node */
#define WM_COORD_RATE_BURST 30		/* bucket size */
#define WM_COORD_RATE_SLOTS 16384

struct wm_coord_rate_slot {
	uint8_t key[WM_KEY_LEN];
	uint64_t last_ns;		/* 0: free */
	uint64_t tokens_milli;
};

struct wm_coord_ratelimit {
	struct wm_coord_rate_slot *slots;
	size_t n_slots;			/* a power of two */
	uint8_t hash_key[16];
	uint32_t per_sec, burst;
};

/* 0 or -ENOMEM. per_sec/burst 0: the defaults. */
int wm_coord_ratelimit_init(struct wm_coord_ratelimit *rl, size_t slots, uint32_t per_sec,
			    uint32_t burst);
void wm_coord_ratelimit_free(struct wm_coord_ratelimit *rl);

/* Takes a token for key at now_ns (monotonic); false when the node is over its rate. */
bool wm_coord_ratelimit_allow(struct wm_coord_ratelimit *rl, const uint8_t key[WM_KEY_LEN],
			      uint64_t now_ns);

#endif
