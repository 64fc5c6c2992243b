/* SPDX-License-Identifier: MIT */
/*
 * Packets waiting to be written to a client: buffers from a pool with a global byte budget
 * (small ones recycled through a free list), and a short per-client ring that drops its
 * oldest packet when full (derpserver.go sendPkt: 32 packets, drop from the head), so one slow
 * receiver costs only its own packets.
 */
#ifndef WM_RELAY_PKTQ_H
#define WM_RELAY_PKTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_RELAY_QUEUE_DEPTH 32		/* defaultPerClientSendQueueDepth */
#define WM_RELAY_PKT_SMALL 2048		/* a WireGuard datagram at any common MTU fits */
#define WM_RELAY_POOL_KEEP 8192		/* free small buffers kept for reuse */

struct wm_relay_pkt {
	struct wm_relay_pkt *next;	/* free list */
	uint32_t len, cap;
	uint8_t src[32];
	uint8_t data[];
};

struct wm_relay_pool {
	struct wm_relay_pkt *free_small;
	size_t nfree, bytes_used, budget;
	uint64_t over_budget;		/* allocations refused */
};

struct wm_relay_pktq {
	struct wm_relay_pkt *ring[WM_RELAY_QUEUE_DEPTH];
	uint8_t head, count;
};

/* An empty pool that lends at most budget bytes at once. */
void wm_relay_pool_init(struct wm_relay_pool *pool, size_t budget);

void wm_relay_pool_free(struct wm_relay_pool *pool);

/* A buffer for len bytes from src, data copied in; NULL when the budget is spent or len is
 * over 64 KiB. */
struct wm_relay_pkt *wm_relay_pkt_new(struct wm_relay_pool *pool, const uint8_t src[32],
				      const uint8_t *data, size_t len);

void wm_relay_pkt_put(struct wm_relay_pool *pool, struct wm_relay_pkt *p);

/* Appends p; when the ring is full the oldest is returned to the pool first. True when one
 * was dropped. */
bool wm_relay_pktq_push(struct wm_relay_pktq *q, struct wm_relay_pool *pool,
			struct wm_relay_pkt *p);

/* Takes the oldest, or NULL. */
struct wm_relay_pkt *wm_relay_pktq_pop(struct wm_relay_pktq *q);

/* Returns everything to the pool; the number of packets. */
size_t wm_relay_pktq_clear(struct wm_relay_pktq *q, struct wm_relay_pool *pool);

#endif
