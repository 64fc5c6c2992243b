/* SPDX-License-Identifier: MIT */
#include "daemon/netcheck_io.h"

#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/resolve.h"
#include "common/rng.h"
#include "common/stun.h"
#include "nat/candidates.h"
#include "tun/netlink.h"

/* STUN servers: looked up off the loop. */

static bool lookups_pending(const struct wm_netcheck_io *nio)
{
	size_t i;

	for (i = 0; i < nio->n_stun; i++)
		if (nio->stun[i].lookup)
			return true;
	return false;
}

static void on_stun_resolved(void *ctx, struct addrinfo *res, int err)
{
	struct wm_stun_server *s = ctx;

	s->lookup = NULL;
	if (!res) {
		wm_log_error("relay region %u: cannot resolve the STUN server %s: %s", s->region,
			     s->host, gai_strerror(err));
	} else {
		memset(&s->addr, 0, sizeof(s->addr));
		memcpy(&s->addr.addr, res->ai_addr, res->ai_addrlen <= sizeof(s->addr.addr) ?
						     res->ai_addrlen : sizeof(s->addr.addr));
		freeaddrinfo(res);
	}
	/* One round with every server, once all are looked up (two are needed to see whether
	 * the NAT maps per destination). */
	if (!lookups_pending(s->owner))
		wm_netcheck_io_run(s->owner, NULL);
}

void wm_netcheck_io_set_servers(struct wm_netcheck_io *nio, const struct wm_relay_map *rm)
{
	struct wm_stun_server fresh[WM_NETCHECK_IO_MAX_SERVERS];
	size_t i, k, n = 0;
	bool same;

	for (i = 0; i < rm->n_regions; i++)
		for (k = 0; k < rm->regions[i].n_relays && n < WM_NETCHECK_IO_MAX_SERVERS; k++) {
			const struct wm_relay_node *r = &rm->regions[i].relays[k];

			if (!r->stun_host[0] || !r->stun_port)
				continue;
			memset(&fresh[n], 0, sizeof(fresh[n]));
			fresh[n].region = (uint16_t)rm->regions[i].id;
			snprintf(fresh[n].host, sizeof(fresh[n].host), "%s", r->stun_host);
			fresh[n].port = r->stun_port;
			n++;
		}
	same = n == nio->n_stun;
	for (i = 0; same && i < n; i++)
		same = fresh[i].region == nio->stun[i].region && fresh[i].port == nio->stun[i].port &&
		       !strcmp(fresh[i].host, nio->stun[i].host);
	if (same)
		return;
	for (i = 0; i < nio->n_stun; i++)
		if (nio->stun[i].lookup)
			wm_resolve_cancel(nio->stun[i].lookup);
	memcpy(nio->stun, fresh, n * sizeof(fresh[0]));
	nio->n_stun = n;
	for (i = 0; i < n; i++) {
		nio->stun[i].owner = nio;
		nio->stun[i].lookup = wm_resolve_start(nio->loop, nio->stun[i].host,
						       nio->stun[i].port, on_stun_resolved,
						       &nio->stun[i]);
	}
}

/* Rounds. */

static void finish_round(struct wm_netcheck_io *nio);

static void arm_poll(struct wm_netcheck_io *nio)
{
	uint64_t at = wm_netcheck_next_deadline(&nio->netcheck), now = wm_clock_monotonic_ns();

	ev_timer_stop(nio->loop, &nio->poll_timer);
	if (!at)
		return;
	ev_timer_set(&nio->poll_timer, at > now ? (double)(at - now) / 1e9 : 0, 0);
	ev_timer_start(nio->loop, &nio->poll_timer);
}

static void poll_round(struct wm_netcheck_io *nio)
{
	struct wm_netcheck_request req[WM_NETCHECK_IO_MAX_SERVERS];
	uint64_t now = wm_clock_monotonic_ns();
	size_t i, n;

	n = wm_netcheck_poll(&nio->netcheck, now, req, WM_NETCHECK_IO_MAX_SERVERS);
	for (i = 0; i < n; i++)
		wm_udp_send(nio->udp, &req[i].to, req[i].buf, sizeof(req[i].buf));
	if (!wm_netcheck_running(&nio->netcheck, now)) {
		finish_round(nio);
		return;
	}
	arm_poll(nio);
}

static void on_poll_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	poll_round(w->data);
}

void wm_netcheck_io_run(struct wm_netcheck_io *nio, struct wm_control_conn *conn)
{
	struct wm_netcheck_server servers[WM_NETCHECK_IO_MAX_SERVERS];
	uint64_t now = wm_clock_monotonic_ns();
	size_t i, n = 0;

	if (conn) {
		if (nio->n_waiting == WM_NETCHECK_IO_MAX_WAITING) {
			static const char busy[] = "{\"error\":\"too many netcheck requests\"}\n";

			wm_control_reply(conn, busy, sizeof(busy) - 1);
			return;
		}
		nio->waiting[nio->n_waiting++] = conn;
	}
	if (wm_netcheck_running(&nio->netcheck, now)) {
		/* The round under way answers waiting requests; a network change wants a new one. */
		nio->again = nio->again || !conn;
		return;
	}
	nio->again = false;
	for (i = 0; i < nio->n_stun; i++) {
		if (!wm_endpoint_is_set(&nio->stun[i].addr))
			continue;
		if ((nio->stun[i].addr.addr.sa.sa_family == AF_INET && nio->udp->fd4 < 0) ||
		    (nio->stun[i].addr.addr.sa.sa_family == AF_INET6 && nio->udp->fd6 < 0))
			continue;
		servers[n].region = nio->stun[i].region;
		servers[n].addr = nio->stun[i].addr;
		n++;
	}
	wm_netcheck_start(&nio->netcheck, servers, n, now, &wm_rng_system);
	poll_round(nio);
}

bool wm_netcheck_io_on_datagram(struct wm_netcheck_io *nio, const uint8_t *buf, size_t len,
				const struct wm_endpoint *from)
{
	uint64_t now = wm_clock_monotonic_ns();

	/* A STUN binding success response (01 01); requests are not ours to answer. */
	if (!wm_stun_is(buf, len) || len < 2 || buf[1] != 0x01)
		return false;
	nio->stun_in++;
	if (wm_netcheck_on_datagram(&nio->netcheck, buf, len, from, now) &&
	    !wm_netcheck_running(&nio->netcheck, now))
		finish_round(nio);
	return true;
}

static double round_interval(void)
{
	uint32_t r;

	wm_rng_fill(&wm_rng_system, &r, sizeof(r));
	return WM_NETCHECK_IO_MIN_S + WM_NETCHECK_IO_JITTER_S * (double)r / 4294967296.0;
}

static void on_round_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_netcheck_io *nio = w->data;

	(void)revents;
	wm_netcheck_io_run(nio, NULL);
	ev_timer_stop(loop, w);
	ev_timer_set(w, round_interval(), 0);
	ev_timer_start(loop, w);
}

static bool same_mapped(const struct wm_netcheck_report *a, const struct wm_netcheck_report *b)
{
	size_t i;

	if (a->n_mapped != b->n_mapped || a->mapping_varies_by_dest != b->mapping_varies_by_dest)
		return false;
	for (i = 0; i < a->n_mapped; i++)
		if (!wm_endpoint_equal(&a->mapped[i], &b->mapped[i]))
			return false;
	return true;
}

static const struct wm_netcheck_region *region_report(const struct wm_netcheck_report *r,
						      uint16_t region)
{
	size_t i;

	for (i = 0; i < r->n_regions; i++)
		if (r->regions[i].region == region)
			return &r->regions[i];
	return NULL;
}

/* The nearest relay becomes home, with hysteresis: a clearly faster one, or the home is silent. */
static void choose_home_relay(struct wm_netcheck_io *nio)
{
	uint16_t home = wm_relays_home(nio->relays), best = nio->report.preferred_region;
	const struct wm_netcheck_region *h = region_report(&nio->report, home);
	const struct wm_netcheck_region *b = region_report(&nio->report, best);

	if (!best || best == home || !b)
		return;
	if (h && h->answered && b->rtt_ns * 3 > h->rtt_ns * 2)
		return;
	if (nio->on_home_relay)
		nio->on_home_relay(nio->ctx, best);
}

/* The report as the control socket sends it: one line of JSON. */
static char *report_line(const struct wm_netcheck_io *nio)
{
	json_t *o = wm_netcheck_io_json(nio);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL, *line;

	json_decref(o);
	if (!text)
		return NULL;
	line = realloc(text, strlen(text) + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	strcat(line, "\n");
	return line;
}

static void answer_waiting(struct wm_netcheck_io *nio)
{
	static const char oom[] = "{\"error\":\"out of memory\"}\n";
	char *text;
	size_t i;

	if (!nio->n_waiting)
		return;
	text = report_line(nio);
	for (i = 0; i < nio->n_waiting; i++)
		wm_control_reply(nio->waiting[i], text ? text : oom,
				 text ? strlen(text) : sizeof(oom) - 1);
	nio->n_waiting = 0;
	free(text);
}

static void finish_round(struct wm_netcheck_io *nio)
{
	struct wm_netcheck_report r;
	bool changed;

	ev_timer_stop(nio->loop, &nio->poll_timer);
	wm_netcheck_report(&nio->netcheck, &r);
	changed = !nio->have_report || !same_mapped(&r, &nio->report);
	nio->report = r;
	nio->have_report = true;
	nio->last_report_at = wm_clock_monotonic_ns();
	if (changed) {
		char text[WM_ENDPOINT_STR_LEN] = "none";

		if (r.n_mapped)
			wm_endpoint_format(&r.mapped[0], text);
		wm_log_verbose("netcheck: UDP %s, reflexive %s%s, nearest relay region %u",
			       r.udp ? "works" : "blocked", text,
			       r.mapping_varies_by_dest ? " (mapping varies by destination)" : "",
			       r.preferred_region);
		if (nio->on_change)
			nio->on_change(nio->ctx, WM_NETCHECK_IO_REPORT);
	}
	choose_home_relay(nio);
	answer_waiting(nio);
	if (nio->again)
		wm_netcheck_io_run(nio, NULL);
}

/* Our addresses. */

void wm_netcheck_io_observe(struct wm_netcheck_io *nio, const struct wm_endpoint *src)
{
	uint16_t region;
	size_t i;

	if (!wm_endpoint_is_set(src) || wm_relays_is_relay_endpoint(src, &region) ||
	    !wm_candidates_usable(&src->addr.sa, IFF_UP))
		return;
	for (i = 0; i < nio->n_observed; i++)
		if (wm_endpoint_equal(&nio->observed[i], src))
			return;
	if (nio->n_observed == WM_NETCHECK_IO_MAX_OBSERVED) {
		memmove(&nio->observed[0], &nio->observed[1],
			(WM_NETCHECK_IO_MAX_OBSERVED - 1) * sizeof(nio->observed[0]));
		nio->n_observed--;
	}
	nio->observed[nio->n_observed++] = *src;
	/* Worth publishing only when the NAT maps the same for every destination. */
	if (nio->on_change && (!nio->have_report || !nio->report.mapping_varies_by_dest))
		nio->on_change(nio->ctx, WM_NETCHECK_IO_OBSERVED);
}

size_t wm_netcheck_io_reflexive(const struct wm_netcheck_io *nio, struct wm_endpoint *out,
				size_t max)
{
	size_t i, n = 0;

	for (i = 0; nio->have_report && i < nio->report.n_mapped && n < max; i++)
		out[n++] = nio->report.mapped[i];
	if (nio->have_report && nio->report.mapping_varies_by_dest)
		return n;	/* each peer sees another port: those addresses help nobody else */
	for (i = 0; i < nio->n_observed && n < max; i++)
		out[n++] = nio->observed[i];
	return n;
}

/* Network changes. */

void wm_netcheck_io_network_changed(struct wm_netcheck_io *nio)
{
	nio->n_observed = 0;
	wm_netcheck_io_run(nio, NULL);
	if (nio->on_change)
		nio->on_change(nio->ctx, WM_NETCHECK_IO_NETWORK);
}

static void on_change_settled(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	wm_log_verbose("network changed");
	wm_netcheck_io_network_changed(w->data);
}

static void on_monitor(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_netcheck_io *nio = w->data;
	int r = wm_netlink_monitor_drain(w->fd);

	(void)revents;
	if (r < 0) {
		ev_io_stop(loop, w);
		return;
	}
	if (r > 0 && !ev_is_active(&nio->change_timer)) {
		ev_timer_set(&nio->change_timer, WM_NETCHECK_IO_DEBOUNCE_S, 0);
		ev_timer_start(loop, &nio->change_timer);
	}
}

/* The report as JSON. */

static json_t *endpoint_json(const struct wm_endpoint *ep)
{
	char text[WM_ENDPOINT_STR_LEN];

	wm_endpoint_format(ep, text);
	return json_string(text);
}

json_t *wm_netcheck_io_json(const struct wm_netcheck_io *nio)
{
	const struct wm_netcheck_report *r = &nio->report;
	json_t *o = json_object(), *mapped = json_array(), *regions = json_array();
	bool have = nio->have_report;
	size_t i;

	if (!o || !mapped || !regions) {
		json_decref(o);
		json_decref(mapped);
		json_decref(regions);
		return NULL;
	}
	json_object_set_new(o, "checked", json_boolean(have));
	json_object_set_new(o, "udp", json_boolean(have && r->udp));
	for (i = 0; have && i < r->n_mapped; i++)
		json_array_append_new(mapped, endpoint_json(&r->mapped[i]));
	json_object_set_new(o, "reflexive", mapped);
	json_object_set_new(o, "mapping_varies_by_dest", json_boolean(have && r->mapping_varies_by_dest));
	json_object_set_new(o, "mapping_known", json_boolean(have && r->mapping_known));
	json_object_set_new(o, "preferred_region", json_integer(have ? r->preferred_region : 0));
	for (i = 0; have && i < r->n_regions; i++) {
		json_t *g = json_object();

		json_object_set_new(g, "region", json_integer(r->regions[i].region));
		json_object_set_new(g, "latency_ms", r->regions[i].answered && r->regions[i].rtt_ns ?
				    json_real((double)r->regions[i].rtt_ns / 1e6) : json_null());
		if (r->regions[i].answered)
			json_object_set_new(g, "reflexive", endpoint_json(&r->regions[i].mapped));
		json_array_append_new(regions, g);
	}
	json_object_set_new(o, "regions", regions);
	json_object_set_new(o, "age_s", json_integer(have ?
		(json_int_t)((wm_clock_monotonic_ns() - nio->last_report_at) / 1000000000ULL) : -1));
	return o;
}

/* Start and stop. */

void wm_netcheck_io_start(struct wm_netcheck_io *nio, struct ev_loop *loop, struct wm_udp *udp,
			  const struct wm_relays *relays)
{
	nio->loop = loop;
	nio->udp = udp;
	nio->relays = relays;
	nio->monitor_fd = -1;
	ev_timer_init(&nio->round_timer, on_round_timer, 1.0, 0);
	ev_init(&nio->poll_timer, on_poll_timer);
	ev_init(&nio->change_timer, on_change_settled);
	nio->round_timer.data = nio->poll_timer.data = nio->change_timer.data = nio;
	ev_timer_start(loop, &nio->round_timer);
	nio->monitor_fd = wm_netlink_monitor_open();
	if (nio->monitor_fd >= 0) {
		ev_io_init(&nio->monitor_watcher, on_monitor, nio->monitor_fd, EV_READ);
		nio->monitor_watcher.data = nio;
		ev_io_start(loop, &nio->monitor_watcher);
	} else {
		wm_log_error("cannot watch for network changes (%s); rechecking periodically only",
			     strerror(-nio->monitor_fd));
	}
}

void wm_netcheck_io_stop(struct wm_netcheck_io *nio)
{
	size_t i;

	if (!nio->loop)
		return;
	ev_timer_stop(nio->loop, &nio->round_timer);
	ev_timer_stop(nio->loop, &nio->poll_timer);
	ev_timer_stop(nio->loop, &nio->change_timer);
	if (nio->monitor_fd >= 0) {
		ev_io_stop(nio->loop, &nio->monitor_watcher);
		close(nio->monitor_fd);
		nio->monitor_fd = -1;
	}
	for (i = 0; i < nio->n_stun; i++)
		if (nio->stun[i].lookup)
			wm_resolve_cancel(nio->stun[i].lookup);
	nio->n_waiting = 0;
	nio->loop = NULL;
}
