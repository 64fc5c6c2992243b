/* SPDX-License-Identifier: MIT */
#include "engine/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NSEC_PER_SEC UINT64_C(1000000000)

enum {
	PACKET_COST = NSEC_PER_SEC / WM_RATELIMIT_PACKETS_PER_SECOND, /* tokens are ns */
	TOKEN_MAX = PACKET_COST * WM_RATELIMIT_BURST,
	KEY_LEN = 9,	/* family tag, then 4 bytes of IPv4 (zero padded) or the IPv6 /64 */
};

/*
 * An entry idle this long has refilled its bucket completely, so dropping it
 * changes nothing a source can observe.
 */
#define IDLE_TIMEOUT NSEC_PER_SEC
#define GC_INTERVAL NSEC_PER_SEC

_Static_assert(IDLE_TIMEOUT >= (uint64_t)TOKEN_MAX, "GC must not forget a partly empty bucket");
_Static_assert(sizeof(((struct wm_ratelimit *)0)->hash_key) == crypto_shorthash_KEYBYTES,
	       "hash_key holds a SipHash key");

struct wm_ratelimit_entry {
	struct wm_ratelimit_entry *next;
	uint64_t last_time;
	uint64_t tokens;
	uint8_t key[KEY_LEN];
};

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool make_key(uint8_t key[KEY_LEN], const struct wm_endpoint *src)
{
	const uint8_t *v6 = src->addr.in6.sin6_addr.s6_addr;

	memset(key, 0, KEY_LEN);
	if (src->addr.sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &src->addr.in4.sin_addr, 4);
		return true;
	}
	if (src->addr.sa.sa_family != AF_INET6)
		return false;
	/*
	 * On a dual-stack socket IPv4 peers arrive as ::ffff:a.b.c.d; keyed by
	 * their /64 they would all share one bucket.
	 */
	if (!memcmp(v6, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
		key[0] = 4;
		memcpy(key + 1, v6 + 12, 4);
		return true;
	}
	key[0] = 6;
	memcpy(key + 1, v6, 8);
	return true;
}

int wm_ratelimit_init(struct wm_ratelimit *rl, size_t max_entries)
{
	size_t nbuckets = 1;

	memset(rl, 0, sizeof(*rl));
	if (max_entries == 0 || max_entries > SIZE_MAX / 2 / sizeof(*rl->pool))
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	while (nbuckets < max_entries)
		nbuckets <<= 1;
	rl->buckets = calloc(nbuckets, sizeof(*rl->buckets));
	rl->pool = calloc(max_entries, sizeof(*rl->pool));
	if (!rl->buckets || !rl->pool) {
		wm_ratelimit_free(rl);
		return -ENOMEM;
	}
	for (size_t i = max_entries; i-- > 0;) {
		rl->pool[i].next = rl->free_list;
		rl->free_list = &rl->pool[i];
	}
	rl->bucket_mask = nbuckets - 1;
	rl->max_entries = max_entries;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	return 0;
}

void wm_ratelimit_free(struct wm_ratelimit *rl)
{
	free(rl->buckets);
	free(rl->pool);
	sodium_memzero(rl, sizeof(*rl));
}

static void gc(struct wm_ratelimit *rl, uint64_t now)
{
	for (size_t b = 0; b <= rl->bucket_mask; b++) {
		struct wm_ratelimit_entry **link = &rl->buckets[b];

		while (*link) {
			struct wm_ratelimit_entry *entry = *link;

			if (now > entry->last_time && now - entry->last_time > IDLE_TIMEOUT) {
				*link = entry->next;
				entry->next = rl->free_list;
				rl->free_list = entry;
			} else {
				link = &entry->next;
			}
		}
	}
	rl->last_gc = now;
	rl->gc_ran = true;
}

bool wm_ratelimit_allow(struct wm_ratelimit *rl, const struct wm_endpoint *src, uint64_t now)
{
	struct wm_ratelimit_entry *entry, **head;
	uint8_t key[KEY_LEN], hash[crypto_shorthash_BYTES];
	uint64_t elapsed, h;

	if (!make_key(key, src))
		return false;
	if (!rl->gc_ran || now < rl->last_gc || now - rl->last_gc >= GC_INTERVAL)
		gc(rl, now);

	crypto_shorthash(hash, key, sizeof(key), rl->hash_key);
	memcpy(&h, hash, sizeof(h));
	head = &rl->buckets[h & rl->bucket_mask];
	for (entry = *head; entry; entry = entry->next) {
		if (memcmp(entry->key, key, KEY_LEN))
			continue;
		elapsed = now > entry->last_time ? now - entry->last_time : 0;
		entry->tokens = elapsed >= TOKEN_MAX - entry->tokens ? TOKEN_MAX
								  : entry->tokens + elapsed;
		entry->last_time = now;
		if (entry->tokens < PACKET_COST)
			return false;
		entry->tokens -= PACKET_COST;
		return true;
	}

	/* A new source: as in the kernel, a full table turns it away rather than evict. */
	entry = rl->free_list;
	if (!entry)
		return false;
	rl->free_list = entry->next;
	memcpy(entry->key, key, KEY_LEN);
	entry->last_time = now;
	entry->tokens = TOKEN_MAX - PACKET_COST;
	entry->next = *head;
	*head = entry;
	return true;
}
