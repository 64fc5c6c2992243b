/* SPDX-License-Identifier: MIT */
/*
 * The node's metrics in the Prometheus text format (docs/metrics.md), for --metrics-listen and
 * `wiremesh metrics`: traffic per path and direction, drops per reason, peers and their bytes
 * and handshakes, the home relay, health. Names follow Tailscale's tailscaled_* where one
 * fits, and the per-peer ones wireguard-exporter's. Every number is read where it is counted,
 * on the loop, as `status` reads it.
 */
#include "daemon/mesh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/prom.h"
#include "daemon/node_metrics.h"
#include "filter/filter.h"

/* The access policy's drop reasons (filter/filter.h), all inbound; "acl" as Tailscale says. */
static const char *filter_drop_label(enum wm_filter_reason r)
{
	switch (r) {
	case WM_FILTER_DROP_NO_RULE:
		return "acl";
	case WM_FILTER_DROP_MALFORMED:
		return "too_short";
	case WM_FILTER_DROP_FRAGMENT:
		return "fragment";
	case WM_FILTER_DROP_PROTOCOL:
		return "unknown_protocol";
	case WM_FILTER_DROP_UNRELATED:
		return "unrelated_icmp";
	default:
		return NULL;
	}
}

static void write_drops(struct wm_prom *p, struct wm_mesh *m)
{
	struct wm_prom_label l = { "reason", NULL };
	int i;

	wm_prom_family(p, WM_NODE_DROPS_IN, "counter", "Packets dropped on the way in, by reason.");
	wm_node_metrics_drops(p, m->node, false);
	for (i = 0; i < WM_FILTER_REASON_COUNT; i++) {
		if (!(l.value = filter_drop_label((enum wm_filter_reason)i)))
			continue;
		wm_prom_sample_u64(p, WM_NODE_DROPS_IN, &l, 1,
				   m->policy_started ? m->policy.drops[i] : 0);
	}
	wm_prom_family(p, WM_NODE_DROPS_OUT, "counter", "Packets dropped on the way out, by reason.");
	wm_node_metrics_drops(p, m->node, true);
}

static const struct wm_netmap_peer *next_peer(const struct wm_mesh *m, size_t *i)
{
	while (m->have_netmap && *i < m->applied.n_peers) {
		const struct wm_netmap_peer *np = &m->applied.peers[(*i)++];

		if (!np->expired)
			return np;
	}
	return NULL;
}

static void write_peer_counts(struct wm_prom *p, const struct wm_mesh *m)
{
	const struct wm_netmap_peer *np;
	size_t i = 0, n = 0, online = 0;

	while ((np = next_peer(m, &i))) {
		n++;
		online += np->online;
	}
	wm_prom_gauge(p, "wiremesh_peers", "Peers in the netmap (expired ones left out).", (double)n);
	wm_prom_gauge(p, "wiremesh_peers_online", "Peers the coordination server sees online.",
		      (double)online);
}

/* A peer's name in the netmap, for the per-peer families' name label. */
static const char *peer_name(void *ctx, const struct wm_peer *peer)
{
	const struct wm_mesh *m = ctx;
	const struct wm_netmap_peer *np;
	size_t i = 0;

	while ((np = next_peer(m, &i)))
		if (!memcmp(np->node_key, peer->public_key, WM_KEY_LEN))
			return np->name;
	return NULL;
}

static void write_peers(struct wm_prom *p, struct wm_mesh *m)
{
	write_peer_counts(p, m);
	wm_node_metrics_peers(p, m->node->dev, peer_name, m);
}

static void write_relays(struct wm_prom *p, struct wm_mesh *m)
{
	const struct wm_relays *relays = &m->node->relays;
	struct wm_prom_label l = { "region", NULL };
	char region[8];
	size_t i;

	wm_prom_gauge(p, "wiremesh_home_derp_region_id",
		      "The home relay's region (0: none).", m->home_relay);
	wm_prom_family(p, "wiremesh_derp_connected", "gauge",
		       "1 while the connection to the region's relay is up.");
	for (i = 0; i < relays->count; i++) {
		if (!relays->relay[i].region)
			continue;
		snprintf(region, sizeof(region), "%u", relays->relay[i].region);
		l.value = region;
		wm_prom_sample(p, "wiremesh_derp_connected", &l, 1,
			       wm_relays_connected(relays, relays->relay[i].region));
	}
}

static void write_health(struct wm_prom *p, struct wm_mesh *m)
{
	const char *why = NULL;

	wm_prom_gauge(p, "wiremesh_up", "1 once the node is up (address assigned, coordination "
		      "reached; what /healthz says).", wm_mesh_healthy(m, &why));
	wm_prom_gauge(p, "wiremesh_coordination_connected",
		      "1 while the coordination server's long poll is connected.",
		      m->coord_state == WM_COORD_CONNECTED);
	wm_prom_gauge(p, "wiremesh_netmap_version", "The version of the netmap in force.",
		      m->have_netmap ? (double)m->applied.version : 0);
	wm_prom_counter(p, "wiremesh_policy_rejects_sent_total",
			"Resets and unreachables sent for packets the access policy dropped.",
			m->policy_started ? m->policy.rejects_sent : 0);
	if (m->metrics_started) {
		wm_prom_counter(p, "wiremesh_metrics_requests_total",
				"Requests to the metrics listener.", m->metrics.requests);
		wm_prom_counter(p, "wiremesh_metrics_bad_requests_total",
				"Malformed requests to the metrics listener.",
				m->metrics.bad_requests);
	}
}

/* The standard process_* pair; the start is the mesh's, in wall-clock time. */
static void write_process(struct wm_prom *p, const struct wm_mesh *m)
{
	wm_prom_process(p, wm_node_metrics_now() -
			   (double)(wm_clock_monotonic_ns() - m->started_at) / 1e9);
}

bool wm_mesh_healthy(const struct wm_mesh *m, const char **why)
{
	if (m->rejected)
		*why = "the coordination server refused this node (see wiremesh status)";
	else if (!m->up)
		*why = m->have_netmap ? "waiting for the coordination server (an old netmap is in force)"
				      : "waiting for the coordination server";
	else
		return true;
	return false;
}

char *wm_mesh_metrics_text(struct wm_mesh *m, size_t *len)
{
	struct wm_prom p;

	wm_prom_init(&p);
	write_health(&p, m);
	wm_node_metrics_traffic(&p, &m->node->dp);
	write_drops(&p, m);
	write_peers(&p, m);
	write_relays(&p, m);
	write_process(&p, m);
	return wm_prom_finish(&p, len);
}

/* The --metrics-listen pages: /metrics, /healthz. */
void wm_mesh_metrics_page(void *ctx, const char *path, struct wm_metrics_reply *r)
{
	struct wm_mesh *m = ctx;
	const char *why = NULL;

	if (!wm_metrics_route(path, wm_mesh_healthy(m, &why) ? NULL : why, r))
		return;
	r->status = 200;
	r->content_type = WM_PROM_CONTENT_TYPE;
	r->body = wm_mesh_metrics_text(m, &r->len);
	if (!r->body)
		wm_metrics_reply_text(r, 500, "out of memory\n");
}
