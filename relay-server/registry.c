/* SPDX-License-Identifier: MIT */
#include "relay-server/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* An edge src -> dst: dst received from src. Linked into both entries and the edge table. */
struct wm_relay_edge {
	struct wm_relay_keyent *src, *dst;
	struct wm_relay_edge *src_next, *src_prev;	/* in src->receivers */
	struct wm_relay_edge *dst_next, *dst_prev;	/* in dst->sources */
	struct wm_relay_edge *hnext;
};

#define INITIAL_BUCKETS 256

static size_t key_bucket(const struct wm_relay_registry *reg, const uint8_t *key)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, key, WM_RELAY_KEY_LEN, reg->hash_key);
	return (size_t)(h & (reg->nbuckets - 1));
}

/* Entries are ours, not the clients': a fixed mix of the two addresses is enough. */
static size_t edge_bucket(size_t nbuckets, const void *src, const void *dst)
{
	uint64_t h = (uint64_t)(uintptr_t)src * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)(uintptr_t)dst * 0xc2b2ae3d27d4eb4full;

	return (size_t)((h ^ h >> 29) & (nbuckets - 1));
}

int wm_relay_registry_init(struct wm_relay_registry *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->buckets = calloc(INITIAL_BUCKETS, sizeof(*reg->buckets));
	reg->ebuckets = calloc(INITIAL_BUCKETS, sizeof(*reg->ebuckets));
	if (!reg->buckets || !reg->ebuckets) {
		wm_relay_registry_free(reg);
		return -ENOMEM;
	}
	reg->nbuckets = reg->nebuckets = INITIAL_BUCKETS;
	randombytes_buf(reg->hash_key, sizeof(reg->hash_key));
	return 0;
}

void wm_relay_registry_free(struct wm_relay_registry *reg)
{
	for (size_t i = 0; i < reg->nebuckets; i++) {
		struct wm_relay_edge *e = reg->ebuckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			free(e);
		}
	}
	for (size_t i = 0; i < reg->nbuckets; i++) {
		struct wm_relay_keyent *ke = reg->buckets[i], *next;

		for (; ke; ke = next) {
			next = ke->hnext;
			free(ke);
		}
	}
	free(reg->buckets);
	free(reg->ebuckets);
	memset(reg, 0, sizeof(*reg));
}

struct wm_relay_keyent *wm_relay_registry_lookup(const struct wm_relay_registry *reg,
						 const uint8_t key[WM_RELAY_KEY_LEN])
{
	struct wm_relay_keyent *ke = reg->buckets[key_bucket(reg, key)];

	while (ke && sodium_memcmp(ke->key, key, WM_RELAY_KEY_LEN))
		ke = ke->hnext;
	return ke;
}

/* Doubles the key table; on allocation failure the old one stays (chains get longer). */
static void grow_keys(struct wm_relay_registry *reg)
{
	size_t old_n = reg->nbuckets;
	struct wm_relay_keyent **old = reg->buckets;
	struct wm_relay_keyent **nb = calloc(old_n * 2, sizeof(*nb));

	if (!nb)
		return;
	reg->buckets = nb;
	reg->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct wm_relay_keyent *ke = old[i], *next;

		for (; ke; ke = next) {
			size_t b = key_bucket(reg, ke->key);

			next = ke->hnext;
			ke->hnext = nb[b];
			nb[b] = ke;
		}
	}
	free(old);
}

static void grow_edges(struct wm_relay_registry *reg)
{
	size_t old_n = reg->nebuckets;
	struct wm_relay_edge **old = reg->ebuckets;
	struct wm_relay_edge **nb = calloc(old_n * 2, sizeof(*nb));

	if (!nb)
		return;
	reg->ebuckets = nb;
	reg->nebuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct wm_relay_edge *e = old[i], *next;

		for (; e; e = next) {
			size_t b = edge_bucket(reg->nebuckets, e->src, e->dst);

			next = e->hnext;
			e->hnext = nb[b];
			nb[b] = e;
		}
	}
	free(old);
}

struct wm_relay_keyent *wm_relay_registry_add(struct wm_relay_registry *reg,
					      const uint8_t key[WM_RELAY_KEY_LEN])
{
	struct wm_relay_keyent *ke = wm_relay_registry_lookup(reg, key);
	size_t b;

	if (ke)
		return ke;
	ke = calloc(1, sizeof(*ke));
	if (!ke)
		return NULL;
	memcpy(ke->key, key, WM_RELAY_KEY_LEN);
	b = key_bucket(reg, key);
	ke->hnext = reg->buckets[b];
	reg->buckets[b] = ke;
	if (++reg->count > reg->nbuckets)
		grow_keys(reg);
	return ke;
}

void wm_relay_registry_note_sent(struct wm_relay_registry *reg, struct wm_relay_keyent *src,
				 struct wm_relay_keyent *dst)
{
	size_t b = edge_bucket(reg->nebuckets, src, dst);
	struct wm_relay_edge *e;

	for (e = reg->ebuckets[b]; e; e = e->hnext)
		if (e->src == src && e->dst == dst)
			return;
	if (dst->nsources >= WM_RELAY_MAX_SOURCES) {
		reg->untracked++;
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		reg->untracked++;
		return;
	}
	e->src = src;
	e->dst = dst;
	e->hnext = reg->ebuckets[b];
	reg->ebuckets[b] = e;
	e->src_next = src->receivers;
	if (src->receivers)
		src->receivers->src_prev = e;
	src->receivers = e;
	e->dst_next = dst->sources;
	if (dst->sources)
		dst->sources->dst_prev = e;
	dst->sources = e;
	dst->nsources++;
	if (++reg->ecount > reg->nebuckets)
		grow_edges(reg);
}

static void unlink_edge(struct wm_relay_registry *reg, struct wm_relay_edge *e)
{
	struct wm_relay_edge **pp = &reg->ebuckets[edge_bucket(reg->nebuckets, e->src, e->dst)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->src_prev)
		e->src_prev->src_next = e->src_next;
	else
		e->src->receivers = e->src_next;
	if (e->src_next)
		e->src_next->src_prev = e->src_prev;
	if (e->dst_prev)
		e->dst_prev->dst_next = e->dst_next;
	else
		e->dst->sources = e->dst_next;
	if (e->dst_next)
		e->dst_next->dst_prev = e->dst_prev;
	e->dst->nsources--;
	reg->ecount--;
	free(e);
}

void wm_relay_registry_remove(struct wm_relay_registry *reg, struct wm_relay_keyent *ke,
			      void (*gone)(void *ctx, struct wm_relay_keyent *receiver), void *ctx)
{
	struct wm_relay_keyent **pp;

	while (ke->receivers) {
		struct wm_relay_keyent *receiver = ke->receivers->dst;

		unlink_edge(reg, ke->receivers);
		if (gone && receiver != ke)
			gone(ctx, receiver);
	}
	while (ke->sources)
		unlink_edge(reg, ke->sources);
	pp = &reg->buckets[key_bucket(reg, ke->key)];
	while (*pp != ke)
		pp = &(*pp)->hnext;
	*pp = ke->hnext;
	reg->count--;
	free(ke);
}
