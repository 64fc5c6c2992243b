/* SPDX-License-Identifier: MIT */
#include "daemon/node_metrics.h"

#include <string.h>
#include <time.h>

#include "common/encoding.h"

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

double wm_node_metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wm_node_metrics_traffic(struct wm_prom *p, const struct wm_datapath *dp)
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

void wm_node_metrics_drops(struct wm_prom *p, const struct wm_node *node, bool outbound)
{
	const char *name = outbound ? WM_NODE_DROPS_OUT : WM_NODE_DROPS_IN;
	struct wm_prom_label l = { "reason", NULL };
	int i;

	for (i = 0; i < WM_DROP_REASON_COUNT; i++) {
		if (!engine_drops[i].reason || engine_drops[i].outbound != outbound)
			continue;
		l.value = engine_drops[i].reason;
		wm_prom_sample_u64(p, name, &l, 1, node->dev->drops[i]);
	}
	if (!outbound)
		return;
	l.value = "too_big";
	wm_prom_sample_u64(p, name, &l, 1, node->dp.too_big_dropped);
	l.value = "offload_error";
	wm_prom_sample_u64(p, name, &l, 1, node->dp.offload_drops);
	l.value = "no_relay";
	wm_prom_sample_u64(p, name, &l, 1, node->relays.unroutable);
}

/* One per-peer family; value picks the number (false: no sample for this peer). */
static void write_per_peer(struct wm_prom *p, const struct wm_device *dev, const char *family,
			   const char *type, const char *help,
			   bool (*value)(const struct wm_peer *peer, double now, double *v),
			   const char *(*names)(void *ctx, const struct wm_peer *peer), void *ctx)
{
	char key[WM_KEY_B64_LEN];
	struct wm_prom_label l[2] = { { "public_key", key }, { "name", NULL } };
	double now = wm_node_metrics_now(), v;
	const struct wm_peer *peer;

	wm_prom_family(p, family, type, help);
	for (peer = dev->peers_head; peer; peer = peer->next) {
		if (!value(peer, now, &v))
			continue;
		wm_key_to_base64(key, peer->public_key);
		l[1].value = names ? names(ctx, peer) : NULL;
		if (!l[1].value)
			l[1].value = "";
		wm_prom_sample(p, family, l, 2, v);
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

void wm_node_metrics_peers(struct wm_prom *p, const struct wm_device *dev,
			   const char *(*names)(void *ctx, const struct wm_peer *peer), void *ctx)
{
	write_per_peer(p, dev, "wiremesh_peer_receive_bytes_total", "counter",
		       "Bytes received from the peer (WireGuard's rx_bytes).", peer_rx, names, ctx);
	write_per_peer(p, dev, "wiremesh_peer_transmit_bytes_total", "counter",
		       "Bytes sent to the peer (WireGuard's tx_bytes).", peer_tx, names, ctx);
	write_per_peer(p, dev, "wiremesh_peer_latest_handshake_seconds", "gauge",
		       "UNIX time of the last completed handshake with the peer (0: never).",
		       peer_last_handshake, names, ctx);
	write_per_peer(p, dev, "wiremesh_peer_handshake_age_seconds", "gauge",
		       "Seconds since the last completed handshake (peers that had one).",
		       peer_handshake_age, names, ctx);
}

void wm_node_metrics_page(void *ctx, const char *path, struct wm_metrics_reply *r)
{
	struct wm_node_metrics *nm = ctx;
	struct wm_node *node = nm->node;
	struct wm_prom p;

	if (!wm_metrics_route(path, NULL, r))
		return;
	wm_prom_init(&p);
	wm_node_metrics_traffic(&p, &node->dp);
	wm_prom_family(&p, WM_NODE_DROPS_IN, "counter", "Packets dropped on the way in, by reason.");
	wm_node_metrics_drops(&p, node, false);
	wm_prom_family(&p, WM_NODE_DROPS_OUT, "counter", "Packets dropped on the way out, by reason.");
	wm_node_metrics_drops(&p, node, true);
	wm_prom_gauge(&p, "wiremesh_peers", "Peers configured.", node->dev->peer_count);
	wm_node_metrics_peers(&p, node->dev, NULL, NULL);
	wm_prom_counter(&p, "wiremesh_metrics_requests_total", "Requests to the metrics listener.",
			nm->listener.requests);
	wm_prom_counter(&p, "wiremesh_metrics_bad_requests_total",
			"Malformed requests to the metrics listener.", nm->listener.bad_requests);
	wm_prom_process(&p, nm->start_time);
	r->status = 200;
	r->content_type = WM_PROM_CONTENT_TYPE;
	r->body = wm_prom_finish(&p, &r->len);
	if (!r->body)
		wm_metrics_reply_text(r, 500, "out of memory\n");
}
