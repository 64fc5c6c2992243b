/* SPDX-License-Identifier: MIT */
/*
 * Token-bucket rate limit on handshake messages per source address, the
 * Linux driver's ratelimiter.c semantics (implementation values, not in the
 * whitepaper): IPv4 keyed by the whole address, IPv6 by its /64, port ignored.
 * Knows nothing of WireGuard messages; the caller decides when to ask.
 * Not thread-safe.
 */
#ifndef WM_RATELIMIT_H
#define WM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"

enum {
	WM_RATELIMIT_PACKETS_PER_SECOND = 20,
	WM_RATELIMIT_BURST = 5,
};

struct wm_ratelimit_entry;

struct wm_ratelimit {
	struct wm_ratelimit_entry **buckets;	/* chain heads, bucket_mask + 1 of them */
	struct wm_ratelimit_entry *pool;	/* max_entries, allocated once */
	struct wm_ratelimit_entry *free_list;
	size_t bucket_mask;
	size_t max_entries;
	uint64_t last_gc;
	bool gc_ran;
	uint8_t hash_key[16];			/* crypto_shorthash_KEYBYTES, random */
};

/*
 * Allocates a table for max_entries sources (> 0) and draws its hash key.
 * 0, -EINVAL, -ENOMEM, or -EIO when libsodium cannot start.
 */
int wm_ratelimit_init(struct wm_ratelimit *rl, size_t max_entries);

/* Frees the table and wipes the hash key. Safe on a zeroed or already freed struct. */
void wm_ratelimit_free(struct wm_ratelimit *rl);

/*
 * True when src may send another handshake message at now (monotonic ns),
 * taking a token. False when its bucket is empty, the table is full of live
 * sources, or src is unset. Never allocates.
 */
bool wm_ratelimit_allow(struct wm_ratelimit *rl, const struct wm_endpoint *src, uint64_t now);

#endif
