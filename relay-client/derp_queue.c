/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_queue.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int wm_derp_queue_init(struct wm_derp_queue *q, size_t bytes, size_t max_frames)
{
	memset(q, 0, sizeof(*q));
	if (!bytes || !max_frames || bytes > UINT32_MAX)
		return -EINVAL;
	q->buf = malloc(bytes);
	q->slots = calloc(max_frames, sizeof(*q->slots));
	if (!q->buf || !q->slots) {
		wm_derp_queue_free(q);
		return -ENOMEM;
	}
	q->cap = bytes;
	q->max_frames = max_frames;
	return 0;
}

void wm_derp_queue_free(struct wm_derp_queue *q)
{
	free(q->buf);
	free(q->slots);
	memset(q, 0, sizeof(*q));
}

static struct wm_derp_queue_slot *slot_at(const struct wm_derp_queue *q, size_t i)
{
	return &q->slots[(q->head + i) % q->max_frames];
}

static void drop_oldest(struct wm_derp_queue *q)
{
	q->dropped_frames++;
	q->dropped_bytes += slot_at(q, 0)->len;
	wm_derp_queue_pop(q);
}

/*
 * Where a frame of len bytes can go, or false. Frames occupy [first, last_end) when that
 * range does not wrap; after a wrap they occupy [first, cap) and [0, last_end), and
 * last_end <= first. Frames are never empty, so the two cases cannot be confused.
 */
static bool find_room(const struct wm_derp_queue *q, size_t len, size_t *off)
{
	const struct wm_derp_queue_slot *last;
	size_t first, last_end;

	if (q->count == 0) {
		*off = 0;
		return len <= q->cap;
	}
	if (q->count == q->max_frames)
		return false;
	first = slot_at(q, 0)->off;
	last = slot_at(q, q->count - 1);
	last_end = last->off + last->len;
	if (last_end > first) {
		if (q->cap - last_end >= len) {
			*off = last_end;
			return true;
		}
		*off = 0;
		return first >= len;
	}
	*off = last_end;
	return first - last_end >= len;
}

uint8_t *wm_derp_queue_reserve(struct wm_derp_queue *q, size_t len, size_t *dropped)
{
	struct wm_derp_queue_slot *s;
	size_t off, n = 0;

	if (dropped)
		*dropped = 0;
	if (len == 0 || len > q->cap)
		return NULL;
	while (!find_room(q, len, &off)) {
		drop_oldest(q);
		n++;
	}
	s = slot_at(q, q->count);
	s->off = (uint32_t)off;
	s->len = (uint32_t)len;
	q->count++;
	q->bytes += len;
	if (dropped)
		*dropped = n;
	return q->buf + off;
}

void wm_derp_queue_trim_last(struct wm_derp_queue *q, size_t len)
{
	struct wm_derp_queue_slot *s;

	if (!q->count)
		return;
	s = slot_at(q, q->count - 1);
	if (len && len < s->len) {
		q->bytes -= s->len - len;
		s->len = (uint32_t)len;
	}
}

const uint8_t *wm_derp_queue_peek(const struct wm_derp_queue *q, size_t *len)
{
	const struct wm_derp_queue_slot *s;

	if (!q->count)
		return NULL;
	s = slot_at(q, 0);
	*len = s->len;
	return q->buf + s->off;
}

void wm_derp_queue_pop(struct wm_derp_queue *q)
{
	if (!q->count)
		return;
	q->bytes -= slot_at(q, 0)->len;
	q->head = (q->head + 1) % q->max_frames;
	q->count--;
	if (!q->count)
		q->head = 0;
}

void wm_derp_queue_clear(struct wm_derp_queue *q)
{
	q->head = 0;
	q->count = 0;
	q->bytes = 0;
}
