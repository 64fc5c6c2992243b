/* SPDX-License-Identifier: MIT */
#include "common/backoff.h"

void wm_backoff_init(struct wm_backoff *b, uint32_t min_ms, uint32_t max_ms)
{
	b->min_ms = min_ms ? min_ms : 1;
	b->max_ms = max_ms > b->min_ms ? max_ms : b->min_ms;
	b->step_ms = b->min_ms;
}

/* Uniform in [0, n), n > 0: a multiply-shift of 32 random bits, whose bias is at most n/2^32. */
static uint32_t uniform(const struct wm_rng *rng, uint32_t n)
{
	uint32_t r;

	wm_rng_fill(rng, &r, sizeof(r));
	return (uint32_t)(((uint64_t)r * n) >> 32);
}

uint32_t wm_backoff_next(struct wm_backoff *b, const struct wm_rng *rng)
{
	uint32_t half = b->step_ms / 2, delay = half + uniform(rng, b->step_ms - half + 1);

	b->step_ms = b->step_ms > b->max_ms / 2 ? b->max_ms : b->step_ms * 2;
	return delay;
}

void wm_backoff_reset(struct wm_backoff *b)
{
	b->step_ms = b->min_ms;
}
