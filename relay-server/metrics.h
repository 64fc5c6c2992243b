/* SPDX-License-Identifier: MIT */
/*
 * The relay's counters in the Prometheus text format, served at /metrics on its HTTP listener
 * next to /debug/vars (docs/metrics.md): clients, packets and bytes received and forwarded,
 * drops by reason, queued bytes, connections refused, STUN.
 */
#ifndef WM_RELAY_METRICS_H
#define WM_RELAY_METRICS_H

#include <stddef.h>

#include "relay-server/state.h"

/* The text, malloc'd (its length in *len), or NULL when memory ran out. */
char *wm_relay_metrics_text(const struct wm_relay *r, size_t *len);

#endif
