/* SPDX-License-Identifier: MIT */
#include "relay-server/metrics.h"

#include "common/prom.h"

static void write_labelled(struct wm_prom *p, const char *name, const char *help,
			   const char *label, const char *const *values, const uint64_t *counts,
			   size_t n)
{
	struct wm_prom_label l = { label, NULL };
	size_t i;

	wm_prom_family(p, name, "counter", help);
	for (i = 0; i < n; i++) {
		l.value = values[i];
		wm_prom_sample_u64(p, name, &l, 1, counts[i]);
	}
}

static void write_traffic(struct wm_prom *p, const struct wm_relay *r)
{
	const struct wm_relay_counters *n = &r->n;
	static const char *const drop_reasons[] = { "unknown_dest", "queue_full", "no_memory",
						    "gone" };
	const uint64_t drops[] = { n->drops_unknown_dest, n->drops_queue_full, n->drops_memory,
				   n->drops_gone };

	wm_prom_counter(p, "wiremesh_relay_received_packets_total",
			"Packets clients sent to be relayed.", n->packets_recv);
	wm_prom_counter(p, "wiremesh_relay_received_bytes_total",
			"Bytes of packets clients sent to be relayed.", n->bytes_recv);
	wm_prom_counter(p, "wiremesh_relay_forwarded_packets_total",
			"Packets written to their destination client.", n->packets_sent);
	wm_prom_counter(p, "wiremesh_relay_forwarded_bytes_total",
			"Bytes of packets written to their destination client.", n->bytes_sent);
	write_labelled(p, "wiremesh_relay_dropped_packets_total",
		       "Packets not forwarded, by reason.", "reason", drop_reasons, drops, 4);
	wm_prom_gauge(p, "wiremesh_relay_queued_bytes",
		      "Bytes waiting in the clients' send queues.", (double)r->pool.bytes_used);
}

static void write_connections(struct wm_prom *p, const struct wm_relay *r)
{
	const struct wm_relay_conn_counters *cn = &r->conns.n;
	static const char *const refusals[] = { "full", "not_allowed", "handshake_timeout",
						"handshake_failure", "protocol_error",
						"write_timeout" };
	const uint64_t refused[] = { r->n.refused_full, r->n.not_allowed, cn->handshake_timeouts,
				     cn->handshake_failures, r->n.protocol_errors,
				     cn->write_timeouts };

	wm_prom_gauge(p, "wiremesh_relay_clients", "Clients connected (DERP sessions).",
		      (double)r->nclients);
	wm_prom_gauge(p, "wiremesh_relay_home_clients",
		      "Clients that have this relay as their home.", (double)r->nhome);
	wm_prom_gauge(p, "wiremesh_relay_connections", "TCP connections open, in any phase.",
		      (double)r->conns.count);
	wm_prom_counter(p, "wiremesh_relay_accepts_total", "TCP connections accepted.",
			cn->accepts);
	wm_prom_counter(p, "wiremesh_relay_http_requests_total",
			"HTTP requests (upgrades and pages).", cn->http_requests);
	write_labelled(p, "wiremesh_relay_connections_closed_total",
		       "Connections refused or closed for a fault, by reason.", "reason", refusals,
		       refused, 6);
	wm_prom_counter(p, "wiremesh_relay_home_moves_total",
			"Clients that moved their home to or from this relay.", r->n.home_moves);
}

static void write_stun(struct wm_prom *p, const struct wm_relay *r)
{
	wm_prom_counter(p, "wiremesh_relay_stun_requests_total", "STUN binding requests.",
			r->n.stun.requests);
	wm_prom_counter(p, "wiremesh_relay_stun_replies_total", "STUN binding responses sent.",
			r->n.stun.replies);
	wm_prom_counter(p, "wiremesh_relay_stun_bad_requests_total",
			"Datagrams on the STUN port that were not a valid binding request.",
			r->n.stun.bad);
}

char *wm_relay_metrics_text(const struct wm_relay *r, size_t *len)
{
	struct wm_prom p;

	wm_prom_init(&p);
	write_connections(&p, r);
	write_traffic(&p, r);
	write_stun(&p, r);
	wm_prom_process(&p, r->started);
	return wm_prom_finish(&p, len);
}
