/* SPDX-License-Identifier: MIT */
/*
 * The metrics every node has, in mesh mode or as `wiremesh IFNAME` (docs/metrics.md): traffic
 * per path and direction, the engine's and the data path's drops, per-peer bytes and
 * handshakes, the process. Mesh mode (mesh_metrics.c) adds its own around these; the plain
 * mode serves them alone with --metrics-listen.
 */
#ifndef WM_NODE_METRICS_H
#define WM_NODE_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/metrics_server.h"
#include "common/prom.h"
#include "daemon/node.h"

#define WM_NODE_DROPS_IN "wiremesh_inbound_dropped_packets_total"
#define WM_NODE_DROPS_OUT "wiremesh_outbound_dropped_packets_total"

/* The four families wiremesh_{in,out}bound_{packets,bytes}_total{path}. */
void wm_node_metrics_traffic(struct wm_prom *p, const struct wm_datapath *dp);

/* The samples (not the family line) of the inbound or the outbound drops family that the
 * engine and the data path count, one per reason. */
void wm_node_metrics_drops(struct wm_prom *p, const struct wm_node *node, bool outbound);

/* The per-peer families, every peer of dev, labelled public_key and name (what names says,
 * "" when it says NULL or is NULL). */
void wm_node_metrics_peers(struct wm_prom *p, const struct wm_device *dev,
			   const char *(*names)(void *ctx, const struct wm_peer *peer), void *ctx);

/* The wall clock now, in seconds. */
double wm_node_metrics_now(void);

/* `wiremesh IFNAME --metrics-listen`: /metrics with the families above and the process's,
 * /healthz 200 while the node runs. ctx is a struct wm_node_metrics. */
struct wm_node_metrics {
	struct wm_node *node;
	double start_time;
	struct wm_metrics_server listener;
};
void wm_node_metrics_page(void *ctx, const char *path, struct wm_metrics_reply *r);

#endif
