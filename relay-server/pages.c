/* SPDX-License-Identifier: MIT */
#include "relay-server/pages.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/prom.h"
#include "relay-server/metrics.h"

#ifndef WM_VERSION
#define WM_VERSION "0.1.0"
#endif

static const char home_page[] =
	"wiremesh-relay " WM_VERSION "\n\n"
	"A DERP relay (Tailscale's relay protocol) and STUN server.\n"
	"Clients connect to /derp; counters are at /debug/vars and /metrics (Prometheus).\n";

static size_t reply(char *out, size_t cap, int status, const char *type,
		    const struct wm_http_field *fields, size_t n_fields, const char *body,
		    size_t body_len, bool head_only)
{
	ssize_t n = wm_http_reply_head(out, cap, status, type, body_len, fields, n_fields);

	if (n < 0)
		return 0;
	if (!head_only && body_len && (size_t)n + body_len <= cap) {
		memcpy(out + n, body, body_len);
		n += (ssize_t)body_len;
	}
	return (size_t)n;
}

size_t wm_relay_status_json(const struct wm_relay *r, char *out, size_t cap)
{
	const struct wm_relay_counters *n = &r->n;
	const struct wm_relay_conn_counters *cn = &r->conns.n;
	char hex[WM_KEY_HEX_LEN];
	int len;

	wm_key_to_hex(hex, r->public_key);
	len = snprintf(out, cap,
		"{\"version\":\"" WM_VERSION "\",\"public_key\":\"%s\","
		"\"uptime_seconds\":%.0f,\"rss_bytes\":%" PRIu64 ","
		"\"gauge_current_connections\":%zu,\"gauge_clients\":%zu,"
		"\"gauge_home_clients\":%zu,\"gauge_queued_bytes\":%zu,"
		"\"accepts\":%" PRIu64 ",\"refused_full\":%" PRIu64 ","
		"\"http_requests\":%" PRIu64 ",\"upgrades\":%" PRIu64 ","
		"\"handshake_timeouts\":%" PRIu64 ",\"handshake_failures\":%" PRIu64 ","
		"\"not_allowed\":%" PRIu64 ",\"protocol_errors\":%" PRIu64 ","
		"\"write_timeouts\":%" PRIu64 ",\"replaced\":%" PRIu64 ","
		"\"packets_received\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ","
		"\"packets_sent\":%" PRIu64 ",\"bytes_sent\":%" PRIu64 ","
		"\"drops_unknown_dest\":%" PRIu64 ",\"drops_queue_full\":%" PRIu64 ","
		"\"drops_memory\":%" PRIu64 ",\"drops_gone\":%" PRIu64 ","
		"\"peer_gone_disconnected_frames\":%" PRIu64 ",\"peer_gone_not_here_frames\":%" PRIu64
		",\"control_drops\":%" PRIu64 ",\"got_ping\":%" PRIu64 ",\"sent_pong\":%" PRIu64 ","
		"\"keepalives\":%" PRIu64 ",\"unknown_frames\":%" PRIu64 ",\"home_moves\":%" PRIu64 ","
		"\"untracked_sources\":%" PRIu64 ","
		"\"stun_requests\":%" PRIu64 ",\"stun_replies\":%" PRIu64 ",\"stun_bad\":%" PRIu64 "}\n",
		hex, ev_now(r->loop) - r->started, wm_prom_resident_bytes(), r->conns.count, r->nclients, r->nhome,
		r->pool.bytes_used, cn->accepts, n->refused_full, cn->http_requests, cn->upgrades,
		cn->handshake_timeouts, cn->handshake_failures, n->not_allowed, n->protocol_errors,
		cn->write_timeouts, n->replaced, n->packets_recv, n->bytes_recv, n->packets_sent,
		n->bytes_sent, n->drops_unknown_dest, n->drops_queue_full, n->drops_memory,
		n->drops_gone, n->peer_gone_disconnected, n->peer_gone_not_here, n->control_drops,
		n->pings, n->pongs, n->keepalives, n->unknown_frames, n->home_moves,
		r->reg.untracked, n->stun.requests, n->stun.replies, n->stun.bad);
	return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

size_t wm_relay_page(struct wm_relay *r, const struct wm_derp_http_request *req, char *out,
		     size_t cap)
{
	static const char not_allowed[] = "method not allowed\n";
	static const struct wm_http_field cors[] = { { "Access-Control-Allow-Origin", "*" } };
	bool head = req->method == WM_HTTP_HEAD;
	char body[4096], response[WM_DERP_CHALLENGE_MAX + 16];
	size_t n;

	if (req->method == WM_HTTP_OTHER)
		return reply(out, cap, 405, "text/plain; charset=utf-8", NULL, 0, not_allowed,
			     sizeof(not_allowed) - 1, false);
	if (!strcmp(req->path, "/derp/probe") || !strcmp(req->path, "/derp/latency-check"))
		return reply(out, cap, 200, NULL, cors, 1, "", 0, head);
	if (!strcmp(req->path, "/derp")) {
		static const char msg[] = "DERP requires connection upgrade\n";

		return reply(out, cap, 426, "text/plain; charset=utf-8", NULL, 0, msg,
			     sizeof(msg) - 1, head);
	}
	if (!strcmp(req->path, "/generate_204")) {
		/* ServeNoContent: echo an acceptable challenge as "response <challenge>". */
		const struct wm_http_field fields[] = {
			{ "X-Tailscale-Response", req->has_challenge ? response : NULL },
			{ "Cache-Control", "no-cache, no-store, must-revalidate, no-transform, "
					   "max-age=0" },
		};

		snprintf(response, sizeof(response), "response %s", req->challenge);
		return reply(out, cap, 204, NULL, fields, 2, "", 0, true);
	}
	if (!strcmp(req->path, "/debug/vars") || !strcmp(req->path, "/status")) {
		n = wm_relay_status_json(r, body, sizeof(body));
		return reply(out, cap, 200, "application/json", NULL, 0, body, n, head);
	}
	if (!strcmp(req->path, "/metrics")) {
		char *text = wm_relay_metrics_text(r, &n);

		if (!text)
			return reply(out, cap, 500, "text/plain", NULL, 0, "out of memory\n", 14,
				     head);
		n = reply(out, cap, 200, WM_PROM_CONTENT_TYPE, NULL, 0, text, n, head);
		free(text);
		return n;
	}
	if (!strcmp(req->path, "/robots.txt")) {
		static const char robots[] = "User-agent: *\nDisallow: /\n";

		return reply(out, cap, 200, "text/plain", NULL, 0, robots, sizeof(robots) - 1, head);
	}
	if (!strcmp(req->path, "/"))
		return reply(out, cap, 200, "text/plain; charset=utf-8", NULL, 0, home_page,
			     sizeof(home_page) - 1, head);
	return reply(out, cap, 404, "text/plain; charset=utf-8", NULL, 0, "not found\n", 10, head);
}
