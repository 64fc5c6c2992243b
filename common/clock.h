/* SPDX-License-Identifier: MIT */
/* The one place the node reads clocks; the engine is handed these values. */
#ifndef WM_CLOCK_H
#define WM_CLOCK_H

#include <stdint.h>

/* Monotonic ns that keep counting through suspend (CLOCK_BOOTTIME where there is one). */
uint64_t wm_clock_monotonic_ns(void);

/* Wall clock minus the monotonic clock, in ns: what the engine adds to get wall time. */
int64_t wm_clock_wall_offset_ns(void);

#endif
