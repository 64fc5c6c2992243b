/* SPDX-License-Identifier: MIT */
#include "coord-server/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static size_t bucket_of(const struct wm_coord_replay *r, const uint8_t id[WM_COORD_REQ_ID_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	/* Keyed, so that chosen ids cannot pile into one bucket. */
	crypto_shorthash(h, id, WM_COORD_REQ_ID_LEN, r->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (r->n_buckets - 1));
}

int wm_coord_replay_init(struct wm_coord_replay *r, size_t cap, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap ? cap : WM_COORD_REPLAY_CAP;
	r->n_buckets = 1;
	while (r->n_buckets < 2 * r->cap)
		r->n_buckets *= 2;
	r->ring = calloc(r->cap, sizeof(*r->ring));
	r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
	if (!r->ring || !r->buckets) {
		wm_coord_replay_free(r);
		return -ENOMEM;
	}
	randombytes_buf(r->hash_key, sizeof(r->hash_key));
	r->floor = now - 1;
	return 0;
}

void wm_coord_replay_free(struct wm_coord_replay *r)
{
	free(r->ring);
	free(r->buckets);
	memset(r, 0, sizeof(*r));
}

/* Unlinks the oldest entry from its bucket chain and drops it. */
static void drop_head(struct wm_coord_replay *r)
{
	struct wm_coord_replay_entry *e = &r->ring[r->head];
	uint32_t *link = &r->buckets[bucket_of(r, e->id)];
	uint32_t self = (uint32_t)r->head + 1;

	for (size_t steps = 0; *link && steps < r->cap; steps++) {
		if (*link == self) {
			*link = e->next;
			break;
		}
		link = &r->ring[*link - 1].next;
	}
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

static bool seen(const struct wm_coord_replay *r, const uint8_t id[WM_COORD_REQ_ID_LEN])
{
	uint32_t i = r->buckets[bucket_of(r, id)];

	for (size_t steps = 0; i && steps < r->cap; steps++) {
		if (!memcmp(r->ring[i - 1].id, id, WM_COORD_REQ_ID_LEN))
			return true;
		i = r->ring[i - 1].next;
	}
	return false;
}

int wm_coord_replay_check(struct wm_coord_replay *r, const uint8_t id[WM_COORD_REQ_ID_LEN],
			  int64_t ts, int64_t now)
{
	struct wm_coord_replay_entry *e;
	size_t b, tail;

	if (ts < now - WM_COORD_MAX_SKEW || ts > now + WM_COORD_MAX_SKEW || ts <= r->floor)
		return -ETIME;
	while (r->count && r->ring[r->head].ts < now - WM_COORD_MAX_SKEW)
		drop_head(r);
	if (seen(r, id))
		return -EALREADY;
	if (r->count == r->cap) {
		if (r->ring[r->head].ts > r->floor)
			r->floor = r->ring[r->head].ts;
		drop_head(r);
		if (ts <= r->floor)
			return -ETIME;
	}
	tail = (r->head + r->count) % r->cap;
	e = &r->ring[tail];
	memcpy(e->id, id, WM_COORD_REQ_ID_LEN);
	e->ts = ts;
	b = bucket_of(r, id);
	e->next = r->buckets[b];
	r->buckets[b] = (uint32_t)tail + 1;
	r->count++;
	return 0;
}
