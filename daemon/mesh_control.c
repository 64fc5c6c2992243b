/* SPDX-License-Identifier: MIT */
/*
 * The control socket's requests in mesh mode, answered in JSON (docs/mesh.md, "Control
 * socket"): status, ip [NODE], down, logout, rotate-key. The CLI formats the answers for
 * people.
 */
#include "daemon/mesh.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/encoding.h"

static json_t *key_json(const uint8_t key[WM_KEY_LEN])
{
	char text[WM_KEY_B64_LEN];

	wm_key_to_base64(text, key);
	return json_string(text);
}

static json_t *address_json(int family, const void *addr)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, text, sizeof(text));
	return json_string(text);
}

static json_t *endpoint_json(const struct wm_endpoint *ep)
{
	char text[WM_ENDPOINT_STR_LEN];

	wm_endpoint_format(ep, text);
	return json_string(text);
}

static json_t *endpoints_json(const struct wm_endpoint *eps, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, endpoint_json(&eps[i]));
	return a;
}

static json_t *prefixes_json(const struct wm_netmap_prefix *p, size_t n)
{
	json_t *a = json_array();
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 5];
	size_t i;

	for (i = 0; a && i < n; i++) {
		inet_ntop(p[i].family, p[i].addr, addr, sizeof(addr));
		snprintf(text, sizeof(text), "%s/%u", addr, p[i].cidr);
		json_array_append_new(a, json_string(text));
	}
	return a;
}

/* How this node reaches the peer now: over a session through a relay, directly, or not yet. */
static void add_path(json_t *o, const struct wm_peer *peer)
{
	uint16_t region;

	if (!peer || !wm_endpoint_is_set(&peer->endpoint)) {
		json_object_set_new(o, "path", json_string("none"));
		return;
	}
	if (wm_relays_is_relay_endpoint(&peer->endpoint, &region)) {
		json_object_set_new(o, "path", json_string(peer->last_handshake_wall_ns ? "relay" :
							   "none"));
		json_object_set_new(o, "relay_region", json_integer(region));
		return;
	}
	json_object_set_new(o, "path", json_string(peer->last_handshake_wall_ns ? "direct" : "none"));
	json_object_set_new(o, "endpoint", endpoint_json(&peer->endpoint));
}

static json_t *ms_json(uint64_t ns)
{
	return ns ? json_real((double)ns / 1e6) : json_null();
}

/* The path manager's view of a peer: its choice, latencies and candidates. */
static void add_path_manager(json_t *o, const struct wm_mesh_peer *mp, uint64_t now)
{
	const struct wm_path_candidate *best = wm_path_best(&mp->path);
	static const char *const choices[] = {
		[WM_PATH_NONE] = "none", [WM_PATH_DIRECT] = "direct", [WM_PATH_RELAY] = "relay",
	};
	struct wm_endpoint ep;
	json_t *cands = json_array();
	size_t i;

	json_object_set_new(o, "path_choice",
			    json_string(choices[wm_path_decide(&mp->path, now, &ep)]));
	json_object_set_new(o, "direct_latency_ms", best ? ms_json(best->latency) : json_null());
	json_object_set_new(o, "relay_latency_ms", ms_json(mp->path.relay_latency));
	json_object_set_new(o, "active", json_boolean(wm_path_is_active(&mp->path, now)));
	for (i = 0; cands && i < mp->path.n_cand; i++) {
		const struct wm_path_candidate *c = &mp->path.cand[i];
		json_t *x = json_object();

		json_object_set_new(x, "addr", endpoint_json(&c->addr));
		json_object_set_new(x, "source", json_string(wm_path_source_name(c->source)));
		json_object_set_new(x, "latency_ms", c->last_pong ? ms_json(c->latency) : json_null());
		json_object_set_new(x, "last_pong_s", c->last_pong ?
				    json_real((double)(now - c->last_pong) / 1e9) : json_null());
		json_object_set_new(x, "best", json_boolean(c == best));
		json_array_append_new(cands, x);
	}
	json_object_set_new(o, "path_candidates", cands);
}

/* NAME.SUFFIX (docs/dns.md), or null when the netmap has no suffix. */
static json_t *dns_name_json(const struct wm_mesh *m, const char *name)
{
	char fqdn[WM_NETMAP_NAME_MAX + WM_NETMAP_DNS_SUFFIX_MAX + 2];

	if (!m->applied.dns_suffix[0])
		return json_null();
	snprintf(fqdn, sizeof(fqdn), "%s.%s", name, m->applied.dns_suffix);
	return json_string(fqdn);
}

static json_t *peer_json(struct wm_mesh *m, const struct wm_netmap_peer *p)
{
	const struct wm_peer *peer = wm_device_lookup_peer(m->node->dev, p->node_key);
	json_t *o = json_object();
	struct wm_mesh_peer *mp;
	uint16_t region;

	if (!o)
		return NULL;
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "dns_name", dns_name_json(m, p->name));
	json_object_set_new(o, "id", json_integer((json_int_t)p->id));
	json_object_set_new(o, "ipv4", address_json(AF_INET, &p->ipv4));
	json_object_set_new(o, "ipv6", address_json(AF_INET6, &p->ipv6));
	json_object_set_new(o, "public_key", key_json(p->node_key));
	json_object_set_new(o, "online", json_boolean(p->online));
	json_object_set_new(o, "last_seen", json_integer(p->last_seen));
	json_object_set_new(o, "key_expiry", json_integer(p->key_expiry));
	json_object_set_new(o, "allowed_ips", prefixes_json(p->allowed_ips, p->n_allowed_ips));
	json_object_set_new(o, "routes", prefixes_json(p->routes, p->n_routes));
	json_object_set_new(o, "exit_node", json_boolean(wm_exit_offers(p)));
	json_object_set_new(o, "exit_node_in_use", json_boolean(m->exit.state == WM_EXIT_ACTIVE &&
								 m->exit.peer == p->id));
	json_object_set_new(o, "candidates", endpoints_json(p->endpoints, p->n_endpoints));
	json_object_set_new(o, "home_relay", json_integer(p->home_relay));
	json_object_set_new(o, "configured", json_boolean(peer != NULL));
	add_path(o, peer);
	mp = wm_paths_find_id(&m->paths, p->id);
	if (mp) {
		const struct wm_path_candidate *best = wm_path_best(&mp->path);
		uint64_t lat = 0;

		add_path_manager(o, mp, wm_clock_monotonic_ns());
		if (peer && wm_endpoint_is_set(&peer->endpoint) &&
		    !wm_relays_is_relay_endpoint(&peer->endpoint, &region))
			lat = best && wm_endpoint_equal(&best->addr, &peer->endpoint) ? best->latency : 0;
		else
			lat = mp->path.relay_latency;
		json_object_set_new(o, "latency_ms", lat ? json_real((double)lat / 1e6) : json_null());
	}
	json_object_set_new(o, "policy", wm_policy_peer_json(&m->policy, p->id, &p->ipv4, &p->ipv6,
							     mp ? mp->drops : NULL));
	json_object_set_new(o, "last_handshake",
			    json_integer(peer ? (json_int_t)(peer->last_handshake_wall_ns /
							     1000000000ULL) : 0));
	json_object_set_new(o, "rx_bytes", json_integer(peer ? (json_int_t)peer->rx_bytes : 0));
	json_object_set_new(o, "tx_bytes", json_integer(peer ? (json_int_t)peer->tx_bytes : 0));
	return o;
}

/* The sizes the tunnel keeps to, and what keeping to them took (daemon/datapath.h). */
static json_t *mtu_json(struct wm_mesh *m)
{
	const struct wm_datapath *dp = &m->node->dp;

	return json_pack("{sI sI sI sI sI}", "tunnel", (json_int_t)dp->tunnel_mtu, "interface",
			 (json_int_t)m->node->dev->mtu, "mss_clamped", (json_int_t)dp->mss_clamped,
			 "too_big_dropped", (json_int_t)dp->too_big_dropped, "too_big_answered",
			 (json_int_t)dp->too_big_answered);
}

static json_t *self_json(struct wm_mesh *m)
{
	const struct wm_netmap_self *s = &m->applied.self;
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "name", json_string(m->have_netmap ? s->name : ""));
	json_object_set_new(o, "id", json_integer((json_int_t)(m->have_netmap ? s->id : 0)));
	if (m->have_netmap) {
		json_object_set_new(o, "ipv4", address_json(AF_INET, &s->ipv4));
		json_object_set_new(o, "ipv6", address_json(AF_INET6, &s->ipv6));
		json_object_set_new(o, "key_expiry", json_integer(s->key_expiry));
	}
	json_object_set_new(o, "public_key", key_json(m->node->dev->identity.public_key));
	json_object_set_new(o, "listen_port", json_integer(m->node->udp.port));
	json_object_set_new(o, "mtu", mtu_json(m));
	wm_routes_check_forwarding(&m->routes);
	json_object_set_new(o, "routes", wm_routes_json(&m->routes,
							m->have_netmap ? &m->applied.self : NULL));
	if (m->exit.want[0])
		json_object_set_new(o, "exit_node", wm_exit_json(&m->exit));
	json_object_set_new(o, "candidates", endpoints_json(m->candidates, m->n_candidates));
	json_object_set_new(o, "home_relay", json_integer(m->home_relay));
	json_object_set_new(o, "nat", wm_netcheck_io_json(&m->paths.netcheck));
	if (m->dns_started)
		json_object_set_new(o, "dns", wm_dns_server_json(&m->dns));
	if (m->have_netmap)
		json_object_set_new(o, "dns_name", dns_name_json(m, s->name));
	return o;
}

static json_t *relays_json(struct wm_mesh *m)
{
	const struct wm_relays *relays = &m->node->relays;
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < relays->count; i++) {
		const struct wm_relay *r = &relays->relay[i];
		json_t *o;

		if (!r->region)
			continue;
		o = json_object();
		json_object_set_new(o, "region", json_integer(r->region));
		json_object_set_new(o, "url", json_string(r->url));
		json_object_set_new(o, "home", json_boolean(r->region == m->home_relay));
		json_object_set_new(o, "connected",
				    json_boolean(wm_relays_connected(relays, r->region)));
		json_array_append_new(a, o);
	}
	return a;
}

static char *finish(json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(o);
	if (!text)
		return NULL;
	/* One line, newline-terminated, for people who read it with socat. */
	len = strlen(text);
	text = realloc(text, len + 2);
	if (text) {
		text[len] = '\n';
		text[len + 1] = '\0';
	}
	return text;
}

char *wm_mesh_status_json(struct wm_mesh *m)
{
	json_t *o = json_object(), *coord, *peers;
	size_t i;

	if (!o)
		return NULL;
	json_object_set_new(o, "interface", json_string(m->node->tun.name));
	json_object_set_new(o, "self", self_json(m));
	/* What `wiremesh up` and Type=notify's READY=1 said; `wiremesh wait` waits for it. */
	json_object_set_new(o, "up", json_boolean(m->ready_reported && m->have_netmap &&
						  m->netmap_from_server && !m->rejected));
	coord = json_object();
	json_object_set_new(coord, "url", json_string(m->url));
	json_object_set_new(coord, "state", json_string(wm_mesh_coord_state_name(m->coord_state)));
	json_object_set_new(coord, "message", json_string(m->coord_why));
	json_object_set_new(coord, "netmap_version",
			    json_integer((json_int_t)(m->have_netmap ? m->applied.version : 0)));
	json_object_set_new(coord, "netmap_from",
			    json_string(!m->have_netmap ? "none" :
					m->netmap_from_server ? "server" : "saved state"));
	json_object_set_new(o, "coordination", coord);
	json_object_set_new(o, "relays", relays_json(m));
	json_object_set_new(o, "policy", wm_policy_rules_json(&m->policy));
	peers = json_array();
	for (i = 0; peers && m->have_netmap && i < m->applied.n_peers; i++) {
		if (m->applied.peers[i].expired)
			continue;
		json_array_append_new(peers, peer_json(m, &m->applied.peers[i]));
	}
	json_object_set_new(o, "peers", peers);
	return finish(o);
}

static char *error_json(const char *message)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(message));
	return finish(o);
}

char *wm_mesh_ip_json(struct wm_mesh *m, const char *name)
{
	const struct wm_netmap_self *s = &m->applied.self;
	json_t *o;
	char why[128];
	size_t i;

	if (!m->have_netmap)
		return error_json("this node has no addresses yet: the coordination server has not "
				  "answered (see wiremesh status)");
	if (!name || !*name || !strcmp(name, s->name)) {
		o = json_object();
		json_object_set_new(o, "name", json_string(s->name));
		json_object_set_new(o, "ipv4", address_json(AF_INET, &s->ipv4));
		json_object_set_new(o, "ipv6", address_json(AF_INET6, &s->ipv6));
		return finish(o);
	}
	for (i = 0; i < m->applied.n_peers; i++) {
		const struct wm_netmap_peer *p = &m->applied.peers[i];

		if (strcmp(p->name, name) || p->expired)
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "ipv4", address_json(AF_INET, &p->ipv4));
		json_object_set_new(o, "ipv6", address_json(AF_INET6, &p->ipv6));
		return finish(o);
	}
	snprintf(why, sizeof(why), "no node named '%.60s' in the mesh (wiremesh status lists them)",
		 name);
	return error_json(why);
}

static void reply_text(struct wm_control_conn *conn, char *text)
{
	static const char oom[] = "{\"error\":\"out of memory\"}\n";

	if (!text) {
		wm_control_reply(conn, oom, sizeof(oom) - 1);
		return;
	}
	wm_control_reply(conn, text, strlen(text));
	free(text);
}

static void ping_node(struct wm_mesh *m, struct wm_control_conn *conn, const char *name)
{
	char why[128];
	size_t i;

	for (i = 0; m->have_netmap && i < m->applied.n_peers; i++) {
		const struct wm_netmap_peer *p = &m->applied.peers[i];
		struct wm_mesh_peer *mp;

		if (strcmp(p->name, name) || p->expired)
			continue;
		mp = wm_paths_find_id(&m->paths, p->id);
		if (!mp)
			break;
		wm_paths_ping(&m->paths, mp, conn);	/* answered by the first pong, or a timeout */
		return;
	}
	snprintf(why, sizeof(why), "no node named '%.60s' in the mesh (wiremesh status lists them)",
		 name);
	reply_text(conn, error_json(why));
}

void wm_mesh_control_request(void *ctx, struct wm_control_conn *conn, const char *line)
{
	struct wm_mesh *m = ctx;

	if (!strcmp(line, "status")) {
		reply_text(conn, wm_mesh_status_json(m));
	} else if (!strcmp(line, "metrics")) {
		reply_text(conn, wm_mesh_metrics_text(m, NULL));
	} else if (!strcmp(line, "ip")) {
		reply_text(conn, wm_mesh_ip_json(m, NULL));
	} else if (!strncmp(line, "ip ", 3)) {
		reply_text(conn, wm_mesh_ip_json(m, line + 3));
	} else if (!strncmp(line, "ping ", 5)) {
		ping_node(m, conn, line + 5);
	} else if (!strcmp(line, "netcheck")) {
		/* Answered when the round ends (<= 3 s). */
		wm_netcheck_io_run(&m->paths.netcheck, conn);
	} else if (!strcmp(line, "down")) {
		reply_text(conn, strdup("{\"ok\":true}\n"));
		wm_mesh_exit_soon(m);
	} else if (!strcmp(line, "logout")) {
		if (m->logout_conn || !m->coord || wm_coord_client_logout(m->coord) < 0) {
			reply_text(conn, error_json(m->logout_conn ? "a logout is already under way" :
						    "the coordination client has stopped; use down"));
			return;
		}
		m->logout_conn = conn;	/* answered when the server confirms */
	} else if (!strcmp(line, "rotate-key")) {
		char why[400];

		if (wm_mesh_rotate_key(m, conn, why, sizeof(why)) < 0)
			reply_text(conn, error_json(why));	/* else answered by on_rotated */
	} else {
		reply_text(conn, error_json("unknown request (expected status, metrics, ip [NODE], "
					    "ping NODE, netcheck, down, logout or rotate-key)"));
	}
}
