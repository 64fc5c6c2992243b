/* SPDX-License-Identifier: MIT */
#include "relay-server/pktq.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PACKET 65536	/* derp.go MaxPacketSize */

void wm_relay_pool_init(struct wm_relay_pool *pool, size_t budget)
{
	memset(pool, 0, sizeof(*pool));
	pool->budget = budget;
}

void wm_relay_pool_free(struct wm_relay_pool *pool)
{
	while (pool->free_small) {
		struct wm_relay_pkt *p = pool->free_small;

		pool->free_small = p->next;
		free(p);
	}
	pool->nfree = 0;
}

struct wm_relay_pkt *wm_relay_pkt_new(struct wm_relay_pool *pool, const uint8_t src[32],
				      const uint8_t *data, size_t len)
{
	size_t cap = len <= WM_RELAY_PKT_SMALL ? WM_RELAY_PKT_SMALL : len;
	struct wm_relay_pkt *p;

	if (len > MAX_PACKET || pool->bytes_used + cap > pool->budget) {
		pool->over_budget++;
		return NULL;
	}
	if (cap == WM_RELAY_PKT_SMALL && pool->free_small) {
		p = pool->free_small;
		pool->free_small = p->next;
		pool->nfree--;
	} else {
		p = malloc(sizeof(*p) + cap);
		if (!p) {
			pool->over_budget++;
			return NULL;
		}
		p->cap = (uint32_t)cap;
	}
	pool->bytes_used += cap;
	p->next = NULL;
	p->len = (uint32_t)len;
	memcpy(p->src, src, 32);
	if (len)
		memcpy(p->data, data, len);
	return p;
}

void wm_relay_pkt_put(struct wm_relay_pool *pool, struct wm_relay_pkt *p)
{
	if (!p)
		return;
	pool->bytes_used -= p->cap;
	if (p->cap == WM_RELAY_PKT_SMALL && pool->nfree < WM_RELAY_POOL_KEEP) {
		p->next = pool->free_small;
		pool->free_small = p;
		pool->nfree++;
		return;
	}
	free(p);
}

bool wm_relay_pktq_push(struct wm_relay_pktq *q, struct wm_relay_pool *pool,
			struct wm_relay_pkt *p)
{
	bool dropped = false;

	if (q->count == WM_RELAY_QUEUE_DEPTH) {
		wm_relay_pkt_put(pool, wm_relay_pktq_pop(q));
		dropped = true;
	}
	q->ring[(q->head + q->count) % WM_RELAY_QUEUE_DEPTH] = p;
	q->count++;
	return dropped;
}

struct wm_relay_pkt *wm_relay_pktq_pop(struct wm_relay_pktq *q)
{
	struct wm_relay_pkt *p;

	if (!q->count)
		return NULL;
	p = q->ring[q->head];
	q->head = (uint8_t)((q->head + 1) % WM_RELAY_QUEUE_DEPTH);
	q->count--;
	return p;
}

size_t wm_relay_pktq_clear(struct wm_relay_pktq *q, struct wm_relay_pool *pool)
{
	size_t n = q->count;

	while (q->count)
		wm_relay_pkt_put(pool, wm_relay_pktq_pop(q));
	q->head = 0;
	return n;
}
