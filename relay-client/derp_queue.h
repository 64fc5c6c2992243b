/* SPDX-License-Identifier: MIT */
/*
 * A bounded FIFO of encoded frames in one buffer allocated up front: a byte ring where every
 * frame is stored contiguously, plus a ring of (offset, length). When a new frame does not fit,
 * the oldest frames are dropped and counted, so a caller feeding a stuck connection never
 * blocks and never allocates per packet.
 */
#ifndef WM_DERP_QUEUE_H
#define WM_DERP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct wm_derp_queue_slot {
	uint32_t off, len;
};

struct wm_derp_queue {
	uint8_t *buf;
	size_t cap;
	struct wm_derp_queue_slot *slots;
	size_t max_frames, head, count, bytes;
	uint64_t dropped_frames, dropped_bytes;
};

/* Allocates bytes of frame storage and room for max_frames frames. 0 or -ENOMEM/-EINVAL. */
int wm_derp_queue_init(struct wm_derp_queue *q, size_t bytes, size_t max_frames);

void wm_derp_queue_free(struct wm_derp_queue *q);

/*
 * Room for a frame of len bytes at the tail, to be filled by the caller right away; the oldest
 * frames are dropped (and counted) until it fits. NULL when len is 0 or larger than the queue.
 * *dropped (may be NULL) gets the number of frames dropped.
 */
uint8_t *wm_derp_queue_reserve(struct wm_derp_queue *q, size_t len, size_t *dropped);

/* Shrinks the frame reserve() just returned to len bytes (an encoder wrote fewer). */
void wm_derp_queue_trim_last(struct wm_derp_queue *q, size_t len);

/* The oldest frame and its length, or NULL when empty. */
const uint8_t *wm_derp_queue_peek(const struct wm_derp_queue *q, size_t *len);

/* Removes the oldest frame (once it is written out). */
void wm_derp_queue_pop(struct wm_derp_queue *q);

/* Drops everything, without counting it as dropped. */
void wm_derp_queue_clear(struct wm_derp_queue *q);

#endif
