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
#include <time.h>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/prom.h"
#include "filter/filter.h"

static const char *const path_names[WM_DP_PATH_COUNT] = {
	[WM_DP_DIRECT_IPV4] = "direct_ipv4",
	[WM_DP_DIRECT_IPV6] = "direct_ipv6",
	[WM_DP_DERP] = "derp",
};

/* The engine's drop reasons as labels, and which way the dropped packet was going. */
static const struct {
	const char *reason;
	bool outbound;
} engine_drops[WM_DROP_REASON_COUNT] = {
	[WM_DROP_MALFORMED] = { "malformed", false },
	[WM_DROP_UNKNOWN_TYPE] = { "unknown_type", false },
	[WM_DROP_BAD_MAC1] = { "bad_mac1", false },
	[WM_DROP_RATELIMITED] = { "ratelimited", false },
	[WM_DROP_HANDSHAKE_INVALID] = { "handshake_invalid", false },
	[WM_DROP_COOKIE_INVALID] = { "cookie_invalid", false },
	[WM_DROP_UNKNOWN_INDEX] = { "unknown_index", false },
	[WM_DROP_KEY_EXPIRED] = { "key_expired", false },
	[WM_DROP_DECRYPT_FAILED] = { "decrypt_failed", false },
	[WM_DROP_REPLAYED] = { "replayed", false },
	[WM_DROP_BAD_INNER_PACKET] = { "bad_inner_packet", false },
	[WM_DROP_SOURCE_NOT_ALLOWED] = { "source_not_allowed", false },
	[WM_DROP_NO_ROUTE] = { "no_route", true },
	[WM_DROP_NO_ENDPOINT] = { "no_endpoint", true },
	[WM_DROP_NO_KEY] = { "no_key", true },
	[WM_DROP_STAGED_OVERFLOW] = { "queue_full", true },
	[WM_DROP_NO_MEMORY] = { "error", true },
};

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

static void write_traffic(struct wm_prom *p, const struct wm_datapath *dp)
{
	static const struct {
		const char *name, *help;
		enum wm_dp_dir dir;
		bool bytes;
	} families[] = {
		{ "wiremesh_inbound_packets_total", "WireGuard datagrams received, by path.", WM_DP_IN,
		  false },
		{ "wiremesh_inbound_bytes_total", "Bytes of WireGuard datagrams received, by path.",
		  WM_DP_IN, true },
		{ "wiremesh_outbound_packets_total", "WireGuard datagrams sent, by path.", WM_DP_OUT,
		  false },
		{ "wiremesh_outbound_bytes_total", "Bytes of WireGuard datagrams sent, by path.",
		  WM_DP_OUT, true },
	};
	struct wm_prom_label l = { "path", NULL };
	size_t f, i;

	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		wm_prom_family(p, families[f].name, "counter", families[f].help);
		for (i = 0; i < WM_DP_PATH_COUNT; i++) {
			l.value = path_names[i];
			wm_prom_sample_u64(p, families[f].name, &l, 1, families[f].bytes ?
					   dp->path_bytes[families[f].dir][i] :
					   dp->path_packets[families[f].dir][i]);
		}
	}
}

static void write_drops(struct wm_prom *p, struct wm_mesh *m)
{
	static const char in[] = "wiremesh_inbound_dropped_packets_total";
	static const char out[] = "wiremesh_outbound_dropped_packets_total";
	const struct wm_device *dev = m->node->dev;
	const struct wm_datapath *dp = &m->node->dp;
	struct wm_prom_label l = { "reason", NULL };
	int i;

	wm_prom_family(p, in, "counter", "Packets dropped on the way in, by reason.");
	for (i = 0; i < WM_DROP_REASON_COUNT; i++) {
		if (!engine_drops[i].reason || engine_drops[i].outbound)
			continue;
		l.value = engine_drops[i].reason;
		wm_prom_sample_u64(p, in, &l, 1, dev->drops[i]);
	}
	for (i = 0; i < WM_FILTER_REASON_COUNT; i++) {
		if (!(l.value = filter_drop_label((enum wm_filter_reason)i)))
			continue;
		wm_prom_sample_u64(p, in, &l, 1, m->policy_started ? m->policy.drops[i] : 0);
	}
	wm_prom_family(p, out, "counter", "Packets dropped on the way out, by reason.");
	for (i = 0; i < WM_DROP_REASON_COUNT; i++) {
		if (!engine_drops[i].reason || !engine_drops[i].outbound)
			continue;
		l.value = engine_drops[i].reason;
		wm_prom_sample_u64(p, out, &l, 1, dev->drops[i]);
	}
	l.value = "too_big";
	wm_prom_sample_u64(p, out, &l, 1, dp->too_big_dropped);
	l.value = "offload_error";
	wm_prom_sample_u64(p, out, &l, 1, dp->offload_drops);
	l.value = "no_relay";
	wm_prom_sample_u64(p, out, &l, 1, m->node->relays.unroutable);
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

/* One family over every configured peer; value picks the number. */
static void write_per_peer(struct wm_prom *p, struct wm_mesh *m, const char *name,
			   const char *type, const char *help,
			   bool (*value)(const struct wm_peer *peer, double now, double *v), double now)
{
	const struct wm_netmap_peer *np;
	char key[WM_KEY_B64_LEN];
	struct wm_prom_label l[2] = { { "public_key", key }, { "name", NULL } };
	size_t i = 0;
	double v;

	wm_prom_family(p, name, type, help);
	while ((np = next_peer(m, &i))) {
		const struct wm_peer *peer = wm_device_lookup_peer(m->node->dev, np->node_key);

		if (!peer || !value(peer, now, &v))
			continue;
		wm_key_to_base64(key, np->node_key);
		l[1].value = np->name;
		wm_prom_sample(p, name, l, 2, v);
	}
}

static bool peer_rx(const struct wm_peer *peer, double now, double *v)
{
	(void)now;
	*v = (double)peer->rx_bytes;
	return true;
}

static bool peer_tx(const struct wm_peer *peer, double now, double *v)
{
	(void)now;
	*v = (double)peer->tx_bytes;
	return true;
}

static bool peer_last_handshake(const struct wm_peer *peer, double now, double *v)
{
	(void)now;
	*v = (double)(peer->last_handshake_wall_ns / 1000000000ULL);
	return true;
}

static bool peer_handshake_age(const struct wm_peer *peer, double now, double *v)
{
	if (!peer->last_handshake_wall_ns)
		return false;
	*v = now - (double)peer->last_handshake_wall_ns / 1e9;
	if (*v < 0)
		*v = 0;
	return true;
}

static void write_peers(struct wm_prom *p, struct wm_mesh *m)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	write_peer_counts(p, m);
	write_per_peer(p, m, "wiremesh_peer_receive_bytes_total", "counter",
		       "Bytes received from the peer (WireGuard's rx_bytes).", peer_rx, now);
	write_per_peer(p, m, "wiremesh_peer_transmit_bytes_total", "counter",
		       "Bytes sent to the peer (WireGuard's tx_bytes).", peer_tx, now);
	write_per_peer(p, m, "wiremesh_peer_latest_handshake_seconds", "gauge",
		       "UNIX time of the last completed handshake with the peer (0: never).",
		       peer_last_handshake, now);
	write_per_peer(p, m, "wiremesh_peer_handshake_age_seconds", "gauge",
		       "Seconds since the last completed handshake (peers that had one).",
		       peer_handshake_age, now);
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
	struct timespec ts;
	uint64_t mono = wm_clock_monotonic_ns();

	clock_gettime(CLOCK_REALTIME, &ts);
	wm_prom_process(p, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 -
			   (double)(mono - m->started_at) / 1e9);
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
	write_traffic(&p, &m->node->dp);
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
	char text[160];

	if (!strcmp(path, "/metrics")) {
		r->status = 200;
		r->content_type = WM_PROM_CONTENT_TYPE;
		r->body = wm_mesh_metrics_text(m, &r->len);
		if (!r->body)
			wm_metrics_reply_text(r, 500, "out of memory\n");
	} else if (!strcmp(path, "/healthz")) {
		if (wm_mesh_healthy(m, &why)) {
			wm_metrics_reply_text(r, 200, "ok\n");
		} else {
			snprintf(text, sizeof(text), "not up: %s\n", why);
			wm_metrics_reply_text(r, 503, text);
		}
	} else {
		wm_metrics_reply_text(r, 404, "not found (try /metrics or /healthz)\n");
	}
}
