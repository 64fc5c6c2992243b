/* SPDX-License-Identifier: MIT */
#include "common/clock.h"

#include <time.h>

#ifdef CLOCK_BOOTTIME
#define WM_MONOTONIC_CLOCK CLOCK_BOOTTIME
#else
#define WM_MONOTONIC_CLOCK CLOCK_MONOTONIC
#endif

static uint64_t read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t wm_clock_monotonic_ns(void)
{
	return read_ns(WM_MONOTONIC_CLOCK);
}

int64_t wm_clock_wall_offset_ns(void)
{
	return (int64_t)(read_ns(CLOCK_REALTIME) - read_ns(WM_MONOTONIC_CLOCK));
}
