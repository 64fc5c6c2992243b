/* SPDX-License-Identifier: MIT */
#include "common/rng.h"

#include <sodium.h>

static void system_fill(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

const struct wm_rng wm_rng_system = { .fill = system_fill, .ctx = NULL };
