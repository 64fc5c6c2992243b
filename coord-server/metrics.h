/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord serve --metrics-listen: the server's metrics in the Prometheus text format at
 * /metrics and 200 "ok" at /healthz, on a listener of its own (plain HTTP, meant for loopback
 * or an admin network; never the public API port). docs/metrics.md lists them.
 */
#ifndef WM_COORD_METRICS_H
#define WM_COORD_METRICS_H

#include "common/metrics_server.h"
#include "common/prom.h"

/* The fan-out latency histogram's upper bounds, in seconds. */
extern const double wm_coord_fanout_bounds[];
extern const size_t wm_coord_fanout_nbounds;

/* The page function for common/metrics_server.h; ctx is the struct wm_coord_server. */
void wm_coord_metrics_page(void *ctx, const char *path, struct wm_metrics_reply *r);

#endif
