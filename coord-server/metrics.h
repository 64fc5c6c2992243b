/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord serve --metrics-listen: the server's metrics in the Prometheus text format at
 * /metrics and 200 "ok" at /healthz, on a listener of its own (plain HTTP, meant for loopback
 * or an admin network; never the public API port). docs/metrics.md lists them.
 */
#ifndef WM_COORD_METRICS_H
#define WM_COORD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/metrics_server.h"
#include "common/prom.h"
#include "coord-server/api.h"
#include "coord-server/conn.h"

/* What the server keeps for its metrics, and where the rest is read (the server's own). */
struct wm_coord_metrics {
	struct wm_metrics_server listener;
	bool started;
	double start_time;			/* wall clock */
	struct wm_prom_histogram fanout_seconds;	/* how long each fan-out took */
	uint64_t fanouts;
	struct wm_coord_api *api;
	const struct wm_coord_sconns *conns;
};

/* Sets the histogram's buckets and the start time; api and conns are read at each scrape. */
void wm_coord_metrics_init(struct wm_coord_metrics *m, struct wm_coord_api *api,
			   const struct wm_coord_sconns *conns, double now);

/* Listens on text. 0 or -errno with a sentence in err. */
int wm_coord_metrics_start(struct wm_coord_metrics *m, struct ev_loop *loop, const char *text,
			   char *err, size_t errlen);
void wm_coord_metrics_stop(struct wm_coord_metrics *m);

/* A fan-out finished after seconds. */
void wm_coord_metrics_fanout(struct wm_coord_metrics *m, double seconds);

#endif
