/* SPDX-License-Identifier: MIT */
/*
 * Retry delays for the clients that reconnect (relay, coordination): each failure doubles a
 * step from min_ms up to max_ms, and the delay handed out is the step jittered to 50-100 %, so
 * that clients that lost a server together do not all come back together. A success resets
 * it. Randomness comes from the caller (common/rng.h), so tests can replay it.
 */
#ifndef WM_BACKOFF_H
#define WM_BACKOFF_H

#include <stdint.h>

#include "common/rng.h"

struct wm_backoff {
	uint32_t min_ms, max_ms;
	uint32_t step_ms;	/* the next delay's upper bound */
};

/* Starts at min_ms (at least 1), never above max_ms (at least min_ms). */
void wm_backoff_init(struct wm_backoff *b, uint32_t min_ms, uint32_t max_ms);

/* The delay before the next attempt, in [step/2, step] ms; then the step doubles, capped. */
uint32_t wm_backoff_next(struct wm_backoff *b, const struct wm_rng *rng);

/* Call after a success: the next failure waits about min_ms again. */
void wm_backoff_reset(struct wm_backoff *b);

#endif
