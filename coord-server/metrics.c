/* SPDX-License-Identifier: MIT */
#include "coord-server/metrics.h"

#include <string.h>

static const double fanout_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25, 0.5, 1, 2.5 };

/* Nodes as the netmap in force sees them: online, offline, and with an expired key. */
static void write_nodes(struct wm_prom *p, const struct wm_coord_cache *c)
{
	struct wm_prom_label l = { "status", NULL };
	int64_t now = wm_coord_api_now();
	uint64_t online = 0, offline = 0, expired = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct wm_store_node *n = &c->nodes[i];

		if (n->key_expiry && n->key_expiry <= now)
			expired++;
		else if (n->online)
			online++;
		else
			offline++;
	}
	wm_prom_family(p, "wiremesh_coord_nodes", "gauge",
		       "Registered nodes in the current netmap, by status.");
	l.value = "online";
	wm_prom_sample_u64(p, "wiremesh_coord_nodes", &l, 1, online);
	l.value = "offline";
	wm_prom_sample_u64(p, "wiremesh_coord_nodes", &l, 1, offline);
	l.value = "expired";
	wm_prom_sample_u64(p, "wiremesh_coord_nodes", &l, 1, expired);
}

static void write_requests(struct wm_prom *p, const struct wm_coord_metrics *m)
{
	const struct wm_coord_sconns *cs = m->conns;

	wm_prom_gauge(p, "wiremesh_coord_connections", "Open connections, held polls included.",
		      (double)cs->count);
	wm_prom_gauge(p, "wiremesh_coord_long_polls_held", "Polls held open, waiting for a change.",
		      (double)cs->held);
	wm_prom_counter(p, "wiremesh_coord_requests_total", "Requests read.", cs->requests);
	wm_prom_family(p, "wiremesh_coord_error_responses_total", "counter",
		       "Requests answered with an error, by status class.");
	wm_prom_sample_u64(p, "wiremesh_coord_error_responses_total",
			   &(struct wm_prom_label){ "class", "4xx" }, 1, cs->answered_4xx);
	wm_prom_sample_u64(p, "wiremesh_coord_error_responses_total",
			   &(struct wm_prom_label){ "class", "5xx" }, 1, cs->answered_5xx);
	wm_prom_counter(p, "wiremesh_coord_netmaps_sent_total", "Netmaps sent to nodes.",
			m->api->netmaps_sent);
}

static void write_state(struct wm_prom *p, struct wm_coord_metrics *m)
{
	struct wm_store_policy pol = { 0 };

	wm_prom_gauge(p, "wiremesh_coord_netmap_version", "The version of the current netmap.",
		      (double)m->api->cache.version);
	/* One indexed row; a failure shows in the error counter below and as -1. */
	wm_prom_gauge(p, "wiremesh_coord_policy_version",
		      "The id of the access policy in force (0: none ever set; -1: unreadable).",
		      wm_store_policy_current(m->api->store, &pol) ? -1 : (double)pol.id);
	wm_store_policy_free(&pol);
	wm_prom_counter(p, "wiremesh_coord_sqlite_errors_total",
			"SQLite calls that failed (constraint violations included).",
			wm_store_error_count(m->api->store));
	wm_prom_counter(p, "wiremesh_coord_fanouts_total",
			"Fan-outs: rounds that answered the held polls after a change.",
			m->fanouts);
	wm_prom_histogram_write(p, "wiremesh_coord_fanout_duration_seconds",
				"Time from the start of a fan-out (netmap rebuilt) to the last held "
				"poll answered.", &m->fanout_seconds);
}

static void page(void *ctx, const char *path, struct wm_metrics_reply *r)
{
	struct wm_coord_metrics *m = ctx;
	struct wm_prom p;

	if (!wm_metrics_route(path, NULL, r))
		return;
	wm_prom_init(&p);
	write_nodes(&p, &m->api->cache);
	write_requests(&p, m);
	write_state(&p, m);
	wm_prom_counter(&p, "wiremesh_coord_metrics_bad_requests_total",
			"Malformed requests to the metrics listener.", m->listener.bad_requests);
	wm_prom_process(&p, m->start_time);
	r->status = 200;
	r->content_type = WM_PROM_CONTENT_TYPE;
	r->body = wm_prom_finish(&p, &r->len);
	if (!r->body)
		wm_metrics_reply_text(r, 500, "out of memory\n");
}

void wm_coord_metrics_init(struct wm_coord_metrics *m, struct wm_coord_api *api,
			   const struct wm_coord_sconns *conns, double now)
{
	memset(m, 0, sizeof(*m));
	m->api = api;
	m->conns = conns;
	m->start_time = now;
	m->listener.fd = -1;
	wm_prom_histogram_init(&m->fanout_seconds, fanout_bounds,
			       sizeof(fanout_bounds) / sizeof(fanout_bounds[0]));
}

int wm_coord_metrics_start(struct wm_coord_metrics *m, struct ev_loop *loop, const char *text,
			   char *err, size_t errlen)
{
	int r = wm_metrics_server_start(&m->listener, loop, text, page, m, err, errlen);

	m->started = r == 0;
	return r;
}

void wm_coord_metrics_stop(struct wm_coord_metrics *m)
{
	if (m->started)
		wm_metrics_server_stop(&m->listener);
	m->started = false;
}

void wm_coord_metrics_fanout(struct wm_coord_metrics *m, double seconds)
{
	m->fanouts++;
	wm_prom_histogram_observe(&m->fanout_seconds, seconds);
}
