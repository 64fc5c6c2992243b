/* SPDX-License-Identifier: MIT */
/*
 * Running the device's timers from an event loop: arm one real timer for
 * wm_tick_next_deadline, and when it fires call wm_tick_run, which does what
 * each peer's expired timers (timers.h) ask for. Above the send path, so the
 * timers themselves never send.
 */
#ifndef WM_TICK_H
#define WM_TICK_H

#include <stdint.h>

struct wm_device;

/* Does what every timer due at now asks: handshakes, keepalives, giving up, zeroing keys. */
void wm_tick_run(struct wm_device *dev, uint64_t now);

/* The earliest deadline among all timers, or 0 when nothing is armed. */
uint64_t wm_tick_next_deadline(const struct wm_device *dev);

#endif
