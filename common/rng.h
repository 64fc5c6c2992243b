/* SPDX-License-Identifier: MIT */
/*
 * A source of random bytes passed to sans-I/O code (the engine, the path manager, netcheck),
 * so that tests can replay a run exactly. wm_rng_system is libsodium's CSPRNG.
 */
#ifndef WM_RNG_H
#define WM_RNG_H

#include <stddef.h>

/* fill must never fail. */
struct wm_rng {
	void (*fill)(void *ctx, void *buf, size_t len);
	void *ctx;
};

extern const struct wm_rng wm_rng_system;

static inline void wm_rng_fill(const struct wm_rng *rng, void *buf, size_t len)
{
	rng->fill(rng->ctx, buf, len);
}

#endif
