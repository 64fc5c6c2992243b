/* SPDX-License-Identifier: MIT */
#include "daemon/paths.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/resolve.h"
#include "common/rng.h"
#include "common/stun.h"
#include "daemon/node.h"
#include "daemon/relays.h"
#include "engine/crypto.h"
#include "engine/send.h"
#include "nat/candidates.h"
#include "nat/disco.h"
#include "tun/netlink.h"

enum { MAX_ACTIONS = 40, DISCO_MAX = 1500 };

/* Peer tables: sorted pointer arrays, rebuilt when the netmap changes. */

static int compare_node_key(const void *a, const void *b)
{
	const struct wm_mesh_peer *x = *(struct wm_mesh_peer *const *)a;
	const struct wm_mesh_peer *y = *(struct wm_mesh_peer *const *)b;

	return memcmp(x->node_key, y->node_key, WM_KEY_LEN);
}

static int compare_disco_key(const void *a, const void *b)
{
	const struct wm_mesh_peer *x = *(struct wm_mesh_peer *const *)a;
	const struct wm_mesh_peer *y = *(struct wm_mesh_peer *const *)b;

	return memcmp(x->disco_key, y->disco_key, WM_KEY_LEN);
}

static struct wm_mesh_peer *find_by(struct wm_mesh_peer **table, size_t n, const uint8_t *key,
				    size_t offset)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp((const uint8_t *)table[mid] + offset, key, WM_KEY_LEN);

		if (c == 0)
			return table[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct wm_mesh_peer *wm_paths_find_node_key(struct wm_paths *ps, const uint8_t key[WM_KEY_LEN])
{
	return find_by(ps->peers, ps->n_peers, key, offsetof(struct wm_mesh_peer, node_key));
}

static struct wm_mesh_peer *find_disco_key(struct wm_paths *ps, const uint8_t key[WM_KEY_LEN])
{
	return find_by(ps->by_disco, ps->n_peers, key, offsetof(struct wm_mesh_peer, disco_key));
}

struct wm_mesh_peer *wm_paths_find_id(struct wm_paths *ps, uint64_t id)
{
	size_t i;

	for (i = 0; i < ps->n_peers; i++)
		if (ps->peers[i]->id == id)
			return ps->peers[i];
	return NULL;
}

/* Which relay reaches a peer. */

static bool relay_reachable(struct wm_paths *ps, int region)
{
	const struct wm_relays *relays = &ps->node->relays;
	size_t i;

	for (i = 0; region > 0 && i < relays->count; i++)
		if (relays->relay[i].region == region)
			return true;
	return false;
}

/*
 * The peer's home relay; before it has published one (it just joined), the region its packets
 * came through, where it is connected; else our own home, where a peer that just joined looks
 * first. 0 only when there are no relays at all.
 */
static uint16_t relay_for_peer(struct wm_paths *ps, const struct wm_mesh_peer *mp)
{
	if (mp->home_relay && relay_reachable(ps, mp->home_relay))
		return mp->home_relay;
	if (mp->relay_seen && relay_reachable(ps, mp->relay_seen))
		return mp->relay_seen;
	return wm_relays_home(&ps->node->relays);
}

/* Sending disco. */

static bool seal(struct wm_paths *ps, const struct wm_mesh_peer *mp, const struct wm_disco_msg *msg,
		 uint8_t *out, size_t *len)
{
	uint8_t nonce[WM_DISCO_NONCE_LEN];
	ssize_t n;

	if (!mp->shared_ok)
		return false;
	wm_rng_fill(&wm_rng_system, nonce, sizeof(nonce));
	n = wm_disco_seal(out, DISCO_MAX, ps->disco_public, mp->shared, nonce, msg);
	if (n < 0)
		return false;
	*len = (size_t)n;
	return true;
}

static void send_disco(struct wm_paths *ps, struct wm_mesh_peer *mp, const struct wm_disco_msg *msg,
		       const struct wm_endpoint *to, bool via_relay)
{
	uint8_t buf[DISCO_MAX];
	size_t len;

	if (!seal(ps, mp, msg, buf, &len))
		return;
	ps->disco_out++;
	if (via_relay) {
		uint16_t region = relay_for_peer(ps, mp);

		if (region)
			wm_relays_send(&ps->node->relays, region, mp->node_key, buf, len);
		return;
	}
	wm_udp_send(&ps->node->udp, to, buf, len);
}

static void send_ping(struct wm_paths *ps, struct wm_mesh_peer *mp, const struct wm_path_action *a)
{
	struct wm_disco_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = WM_DISCO_PING;
	memcpy(msg.txid, a->txid, WM_DISCO_TXID_LEN);
	msg.has_node_key = true;
	memcpy(msg.node_key, ps->node->dev->identity.public_key, WM_KEY_LEN);
	send_disco(ps, mp, &msg, &a->to, a->via_relay);
}

static void send_call_me_maybe(struct wm_paths *ps, struct wm_mesh_peer *mp)
{
	struct wm_disco_msg msg;
	size_t i, n = ps->n_our_candidates ? *ps->n_our_candidates : 0;

	memset(&msg, 0, sizeof(msg));
	msg.type = WM_DISCO_CALL_ME_MAYBE;
	for (i = 0; i < n && msg.n_endpoints < WM_DISCO_MAX_ENDPOINTS; i++)
		msg.endpoints[msg.n_endpoints++] = ps->our_candidates[i];
	send_disco(ps, mp, &msg, NULL, true);
}

static void perform(struct wm_paths *ps, struct wm_mesh_peer *mp, const struct wm_path_action *a,
		    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (a[i].kind == WM_PATH_SEND_PING)
			send_ping(ps, mp, &a[i]);
		else
			send_call_me_maybe(ps, mp);
	}
}

/* The path's decision becomes the WireGuard endpoint. */

static bool is_relay_endpoint(const struct wm_endpoint *ep)
{
	uint16_t region;

	return wm_relays_is_relay_endpoint(ep, &region);
}

static void enforce(struct wm_paths *ps, struct wm_mesh_peer *mp, struct wm_peer *wg, uint64_t now)
{
	struct wm_endpoint want, cur = wg->endpoint;
	struct wm_path_action a;
	uint16_t region;

	/* WireGuard roamed to a relay: the peer sent through that region, so it is there. */
	if (wm_relays_is_relay_endpoint(&cur, &region) && !wm_endpoint_equal(&cur, &mp->last_set))
		mp->relay_seen = region;
	mp->path.has_relay = relay_for_peer(ps, mp) != 0;
	switch (wm_path_decide(&mp->path, now, &want)) {
	case WM_PATH_NONE:
		return;
	case WM_PATH_RELAY:
		wm_relays_endpoint(&want, relay_for_peer(ps, mp));
		break;
	case WM_PATH_DIRECT:
		break;
	}
	if (wm_endpoint_is_set(&cur) && !wm_endpoint_equal(&cur, &mp->last_set) &&
	    !is_relay_endpoint(&cur)) {
		/*
		 * WireGuard roamed: authenticated packets came from a new direct address (the
		 * peer's NAT rebound, or it found us first). Use it for a while, and find out
		 * whether it answers pings.
		 */
		mp->last_set = cur;
		mp->roamed_until = now + WM_PATH_TRUST_NS;
		wm_path_learn(&mp->path, &cur, WM_PATH_FROM_ROAMING, now);
		wm_path_ping_direct(&mp->path, &cur, now, &wm_rng_system, &a);
		send_ping(ps, mp, &a);
		return;
	}
	if (wm_endpoint_equal(&cur, &want))
		return;
	if (now < mp->roamed_until && !is_relay_endpoint(&cur))
		return;		/* the roamed address gets its chance (its pong makes it the best) */
	if (is_relay_endpoint(&want) && wm_endpoint_is_set(&mp->last_set) &&
	    !is_relay_endpoint(&mp->last_set) && now - ps->last_loss_check > WM_PATH_PING_INTERVAL_NS) {
		/*
		 * A direct path died. Our own NAT may have rebound: look at our reflexive address
		 * again now rather than in 20 s, so the call-me-maybe of the next sweep carries it.
		 */
		ps->last_loss_check = now;
		wm_paths_netcheck(ps, NULL);
	}
	wm_peer_set_endpoint(wg, &want);
	mp->last_set = want;
	/* An initiation that went the old way may be lost: the new way need not wait 5 s. */
	wm_send_handshake_on_new_endpoint(wg, now);
	/* Said once per change of mind, not each time roaming through the relay is undone. */
	if (!wm_endpoint_equal(&want, &mp->last_logged) && wm_log_level() >= WM_LOG_VERBOSE) {
		char text[WM_ENDPOINT_STR_LEN];

		mp->last_logged = want;
		wm_endpoint_format(&want, text);
		wm_log_verbose("peer %s: path now %s%s", mp->name,
			       is_relay_endpoint(&want) ? "relay " : "direct ",
			       is_relay_endpoint(&want) ? "" : text);
	}
}

static void tick_peer(struct wm_paths *ps, struct wm_mesh_peer *mp, uint64_t now)
{
	struct wm_path_action actions[MAX_ACTIONS];
	struct wm_peer *wg = wm_device_lookup_peer(ps->node->dev, mp->node_key);
	size_t n;

	if (wg && wg->tx_bytes != mp->last_tx) {
		mp->last_tx = wg->tx_bytes;
		wm_path_note_active(&mp->path, now);
	}
	mp->path.has_relay = relay_for_peer(ps, mp) != 0;
	n = wm_path_tick(&mp->path, now, &wm_rng_system, actions, MAX_ACTIONS);
	perform(ps, mp, actions, n);
	if (wg)
		enforce(ps, mp, wg, now);
	if (mp->ping_conn && now >= mp->ping_deadline) {
		char reply[256];

		snprintf(reply, sizeof(reply), "{\"error\":\"no pong from %s within %.0f s\"}\n",
			 mp->name, WM_PATHS_PING_TIMEOUT_S);
		wm_control_reply(mp->ping_conn, reply, strlen(reply));
		mp->ping_conn = NULL;
	}
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_paths *ps = w->data;
	uint64_t now = wm_clock_monotonic_ns();
	size_t i;

	(void)loop;
	(void)revents;
	for (i = 0; i < ps->n_peers; i++)
		tick_peer(ps, ps->peers[i], now);
	wm_node_rearm_timer(ps->node);
}

/* Receiving disco. */

static void reply_ping_result(struct wm_mesh_peer *mp, const struct wm_endpoint *from, bool via_relay,
			      uint16_t region, uint64_t latency)
{
	char reply[400], ip[INET_ADDRSTRLEN], where[WM_ENDPOINT_STR_LEN];

	if (!mp->ping_conn)
		return;
	inet_ntop(AF_INET, &mp->ipv4, ip, sizeof(ip));
	wm_endpoint_format(from, where);
	if (via_relay)
		snprintf(reply, sizeof(reply),
			 "{\"name\":\"%s\",\"ipv4\":\"%s\",\"via\":\"relay\",\"relay_region\":%u,"
			 "\"latency_ms\":%.3f}\n", mp->name, ip, region, (double)latency / 1e6);
	else
		snprintf(reply, sizeof(reply),
			 "{\"name\":\"%s\",\"ipv4\":\"%s\",\"via\":\"direct\",\"endpoint\":\"%s\","
			 "\"latency_ms\":%.3f}\n", mp->name, ip, where, (double)latency / 1e6);
	wm_control_reply(mp->ping_conn, reply, strlen(reply));
	mp->ping_conn = NULL;
}

/* A pong's "src" is where our ping came from as the peer saw it: one of our addresses. */
static void observe_own_address(struct wm_paths *ps, const struct wm_endpoint *src)
{
	size_t i;

	if (!wm_endpoint_is_set(src) || is_relay_endpoint(src) ||
	    !wm_candidates_usable(&src->addr.sa, IFF_UP))
		return;
	for (i = 0; i < ps->n_observed; i++)
		if (wm_endpoint_equal(&ps->observed[i], src))
			return;
	if (ps->n_observed == WM_PATHS_MAX_OBSERVED) {
		memmove(&ps->observed[0], &ps->observed[1],
			(WM_PATHS_MAX_OBSERVED - 1) * sizeof(ps->observed[0]));
		ps->n_observed--;
	}
	ps->observed[ps->n_observed++] = *src;
	if (ps->on_candidates_changed && (!ps->have_report || !ps->report.mapping_varies_by_dest))
		ps->on_candidates_changed(ps->ctx);
}

static void handle_disco(struct wm_paths *ps, struct wm_mesh_peer *mp, const struct wm_disco_msg *msg,
			 const struct wm_endpoint *from, bool via_relay, uint16_t region)
{
	uint64_t now = wm_clock_monotonic_ns(), latency;
	struct wm_disco_msg pong;
	struct wm_endpoint relay_ep;

	switch (msg->type) {
	case WM_DISCO_PING:
		memset(&pong, 0, sizeof(pong));
		pong.type = WM_DISCO_PONG;
		memcpy(pong.txid, msg->txid, WM_DISCO_TXID_LEN);
		if (via_relay) {
			wm_relays_endpoint(&relay_ep, region);
			pong.src = relay_ep;
			/* Through the relay we answer on the region it came through. */
			if (region) {
				uint8_t buf[DISCO_MAX];
				size_t len;

				if (seal(ps, mp, &pong, buf, &len)) {
					ps->disco_out++;
					wm_relays_send(&ps->node->relays, region, mp->node_key, buf, len);
				}
			}
			return;
		}
		pong.src = *from;
		pong.src.src_ifindex = 0;
		memset(&pong.src.src, 0, sizeof(pong.src.src));
		wm_path_learn(&mp->path, from, WM_PATH_FROM_PING, now);
		send_disco(ps, mp, &pong, from, false);
		break;
	case WM_DISCO_PONG:
		if (!wm_path_on_pong(&mp->path, msg->txid, from, via_relay, now, &latency))
			return;
		if (!via_relay) {
			struct wm_peer *wg = wm_device_lookup_peer(ps->node->dev, mp->node_key);

			observe_own_address(ps, &msg->src);
			/* The address WireGuard roamed to answers: the peer uses it, so do we. */
			if (wg && wm_endpoint_equal(&wg->endpoint, from))
				wm_path_prefer(&mp->path, from);
		}
		reply_ping_result(mp, from, via_relay, region, latency);
		tick_peer(ps, mp, now);
		break;
	case WM_DISCO_CALL_ME_MAYBE:
		if (!via_relay)
			return;		/* only believed through the relay (spec §3.3) */
		wm_path_call_me_maybe(&mp->path, msg->endpoints, msg->n_endpoints, now);
		tick_peer(ps, mp, now);
		break;
	}
	wm_node_rearm_timer(ps->node);
}

static void open_and_handle(struct wm_paths *ps, uint8_t *buf, size_t len,
			    const struct wm_endpoint *from, bool via_relay, uint16_t region,
			    const uint8_t *relay_src)
{
	const uint8_t *sender = wm_disco_sender(buf, len);
	struct wm_mesh_peer *mp = sender ? find_disco_key(ps, sender) : NULL;
	struct wm_disco_msg msg;

	/* Unknown disco keys, and relayed ones whose node key is not that peer's: dropped. */
	if (!mp || !mp->shared_ok || (relay_src && sodium_memcmp(relay_src, mp->node_key, WM_KEY_LEN)) ||
	    wm_disco_open(buf, len, mp->disco_key, mp->shared, &msg) < 0) {
		ps->disco_bad++;
		return;
	}
	ps->disco_in++;
	handle_disco(ps, mp, &msg, from, via_relay, region);
}

static void finish_netcheck(struct wm_paths *ps);

static void on_udp_other(void *ctx, uint8_t *buf, size_t len, const struct wm_endpoint *from)
{
	struct wm_paths *ps = ctx;

	if (wm_stun_is(buf, len) && len > 1 && buf[1] == 0x01) {
		ps->stun_in++;
		if (wm_netcheck_on_datagram(&ps->netcheck, buf, len, from,
					    wm_clock_monotonic_ns()) &&
		    !wm_netcheck_running(&ps->netcheck, wm_clock_monotonic_ns()))
			finish_netcheck(ps);
		return;
	}
	if (wm_disco_looks_like(buf, len))
		open_and_handle(ps, buf, len, from, false, 0, NULL);
	/* Anything else is neither WireGuard nor ours: dropped. */
}

static void on_relay_disco(void *ctx, uint16_t region, const uint8_t src[WM_KEY_LEN],
			   const uint8_t *data, size_t len)
{
	struct wm_paths *ps = ctx;
	uint8_t buf[DISCO_MAX];
	struct wm_endpoint from;

	if (len > sizeof(buf)) {
		ps->disco_bad++;
		return;
	}
	memcpy(buf, data, len);
	wm_relays_endpoint(&from, region);
	open_and_handle(ps, buf, len, &from, true, region, src);
}

static void on_relay_state(void *ctx, uint16_t region, bool connected)
{
	struct wm_paths *ps = ctx;

	if (connected && ps->on_relay_connected)
		ps->on_relay_connected(ps->ctx, region);
}

/* STUN rounds. */

static bool lookups_pending(const struct wm_paths *ps)
{
	size_t i;

	for (i = 0; i < ps->n_stun; i++)
		if (ps->stun[i].lookup)
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
		wm_paths_netcheck(s->owner, NULL);
}

static void set_stun_servers(struct wm_paths *ps, const struct wm_relay_map *rm)
{
	struct wm_stun_server fresh[WM_PATHS_MAX_STUN];
	size_t i, k, n = 0;
	bool same;

	for (i = 0; i < rm->n_regions; i++)
		for (k = 0; k < rm->regions[i].n_relays && n < WM_PATHS_MAX_STUN; k++) {
			const struct wm_relay_node *r = &rm->regions[i].relays[k];

			if (!r->stun_host[0] || !r->stun_port)
				continue;
			memset(&fresh[n], 0, sizeof(fresh[n]));
			fresh[n].region = (uint16_t)rm->regions[i].id;
			snprintf(fresh[n].host, sizeof(fresh[n].host), "%s", r->stun_host);
			fresh[n].port = r->stun_port;
			n++;
		}
	same = n == ps->n_stun;
	for (i = 0; same && i < n; i++)
		same = fresh[i].region == ps->stun[i].region && fresh[i].port == ps->stun[i].port &&
		       !strcmp(fresh[i].host, ps->stun[i].host);
	if (same)
		return;
	for (i = 0; i < ps->n_stun; i++)
		if (ps->stun[i].lookup)
			wm_resolve_cancel(ps->stun[i].lookup);
	memcpy(ps->stun, fresh, n * sizeof(fresh[0]));
	ps->n_stun = n;
	for (i = 0; i < n; i++) {
		ps->stun[i].owner = ps;
		ps->stun[i].lookup = wm_resolve_start(ps->node->loop, ps->stun[i].host,
						      ps->stun[i].port, on_stun_resolved,
						      &ps->stun[i]);
	}
}

static void arm_netcheck_poll(struct wm_paths *ps)
{
	uint64_t at = wm_netcheck_next_deadline(&ps->netcheck), now = wm_clock_monotonic_ns();

	ev_timer_stop(ps->node->loop, &ps->netcheck_poll_timer);
	if (!at)
		return;
	ev_timer_set(&ps->netcheck_poll_timer, at > now ? (double)(at - now) / 1e9 : 0, 0);
	ev_timer_start(ps->node->loop, &ps->netcheck_poll_timer);
}

static void poll_netcheck(struct wm_paths *ps)
{
	struct wm_netcheck_request req[WM_PATHS_MAX_STUN];
	uint64_t now = wm_clock_monotonic_ns();
	size_t i, n;

	n = wm_netcheck_poll(&ps->netcheck, now, req, WM_PATHS_MAX_STUN);
	for (i = 0; i < n; i++)
		wm_udp_send(&ps->node->udp, &req[i].to, req[i].buf, sizeof(req[i].buf));
	if (!wm_netcheck_running(&ps->netcheck, now)) {
		finish_netcheck(ps);
		return;
	}
	arm_netcheck_poll(ps);
}

static void on_netcheck_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	poll_netcheck(w->data);
}

void wm_paths_netcheck(struct wm_paths *ps, struct wm_control_conn *conn)
{
	struct wm_netcheck_server servers[WM_PATHS_MAX_STUN];
	uint64_t now = wm_clock_monotonic_ns();
	size_t i, n = 0;

	if (conn) {
		if (ps->n_netcheck_waiting == WM_PATHS_MAX_WAITING) {
			static const char busy[] = "{\"error\":\"too many netcheck requests\"}\n";

			wm_control_reply(conn, busy, sizeof(busy) - 1);
			return;
		}
		ps->netcheck_waiting[ps->n_netcheck_waiting++] = conn;
	}
	if (wm_netcheck_running(&ps->netcheck, now)) {
		/* The round under way answers waiting requests; a network change wants a new one. */
		ps->netcheck_again = ps->netcheck_again || !conn;
		return;
	}
	ps->netcheck_again = false;
	for (i = 0; i < ps->n_stun; i++) {
		if (!wm_endpoint_is_set(&ps->stun[i].addr))
			continue;
		if ((ps->stun[i].addr.addr.sa.sa_family == AF_INET && ps->node->udp.fd4 < 0) ||
		    (ps->stun[i].addr.addr.sa.sa_family == AF_INET6 && ps->node->udp.fd6 < 0))
			continue;
		servers[n].region = ps->stun[i].region;
		servers[n].addr = ps->stun[i].addr;
		n++;
	}
	wm_netcheck_start(&ps->netcheck, servers, n, now, &wm_rng_system);
	poll_netcheck(ps);
}

static double netcheck_interval(void)
{
	uint32_t r;

	wm_rng_fill(&wm_rng_system, &r, sizeof(r));
	return WM_PATHS_NETCHECK_MIN_S + WM_PATHS_NETCHECK_JITTER_S * (double)r / 4294967296.0;
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
static void choose_home_relay(struct wm_paths *ps)
{
	uint16_t home = wm_relays_home(&ps->node->relays), best = ps->report.preferred_region;
	const struct wm_netcheck_region *h = region_report(&ps->report, home);
	const struct wm_netcheck_region *b = region_report(&ps->report, best);

	if (!best || best == home || !b)
		return;
	if (h && h->answered && b->rtt_ns * 3 > h->rtt_ns * 2)
		return;
	if (ps->on_home_relay)
		ps->on_home_relay(ps->ctx, best);
}

static char *netcheck_json_text(const struct wm_paths *ps);

static void finish_netcheck(struct wm_paths *ps)
{
	struct wm_netcheck_report r;
	bool changed;
	size_t i;

	ev_timer_stop(ps->node->loop, &ps->netcheck_poll_timer);
	wm_netcheck_report(&ps->netcheck, &r);
	changed = !ps->have_report || !same_mapped(&r, &ps->report);
	ps->report = r;
	ps->have_report = true;
	ps->last_report_at = wm_clock_monotonic_ns();
	if (changed) {
		char text[WM_ENDPOINT_STR_LEN] = "none";

		if (r.n_mapped)
			wm_endpoint_format(&r.mapped[0], text);
		wm_log_verbose("netcheck: UDP %s, reflexive %s%s, nearest relay region %u",
			       r.udp ? "works" : "blocked", text,
			       r.mapping_varies_by_dest ? " (mapping varies by destination)" : "",
			       r.preferred_region);
		if (ps->on_candidates_changed)
			ps->on_candidates_changed(ps->ctx);
		/* Peers in contact get the new addresses at once (a sweep sends call-me-maybe). */
		for (i = 0; i < ps->n_peers; i++)
			if (wm_path_is_active(&ps->peers[i]->path, ps->last_report_at))
				wm_path_want_sweep(&ps->peers[i]->path);
	}
	choose_home_relay(ps);
	if (ps->n_netcheck_waiting) {
		char *text = netcheck_json_text(ps);
		static const char oom[] = "{\"error\":\"out of memory\"}\n";

		for (i = 0; i < ps->n_netcheck_waiting; i++)
			wm_control_reply(ps->netcheck_waiting[i], text ? text : oom,
					 text ? strlen(text) : sizeof(oom) - 1);
		ps->n_netcheck_waiting = 0;
		free(text);
	}
	if (ps->netcheck_again)
		wm_paths_netcheck(ps, NULL);
}

static void on_netcheck_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_paths *ps = w->data;

	(void)revents;
	wm_paths_netcheck(ps, NULL);
	ev_timer_stop(loop, w);
	ev_timer_set(w, netcheck_interval(), 0);
	ev_timer_start(loop, w);
}

size_t wm_paths_reflexive(const struct wm_paths *ps, struct wm_endpoint *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; ps->have_report && i < ps->report.n_mapped && n < max; i++)
		out[n++] = ps->report.mapped[i];
	if (ps->have_report && ps->report.mapping_varies_by_dest)
		return n;	/* each peer sees another port: those addresses help nobody else */
	for (i = 0; i < ps->n_observed && n < max; i++)
		out[n++] = ps->observed[i];
	return n;
}

/* Network changes. */

void wm_paths_network_changed(struct wm_paths *ps)
{
	size_t i;

	ps->n_observed = 0;
	wm_paths_netcheck(ps, NULL);
	for (i = 0; i < ps->n_peers; i++)
		if (wm_path_is_active(&ps->peers[i]->path, wm_clock_monotonic_ns()))
			wm_path_want_sweep(&ps->peers[i]->path);
	if (ps->on_candidates_changed)
		ps->on_candidates_changed(ps->ctx);
}

static void on_change_settled(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	wm_log_verbose("network changed");
	wm_paths_network_changed(w->data);
}

static void on_monitor(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_paths *ps = w->data;
	int r = wm_netlink_monitor_drain(w->fd);

	(void)revents;
	if (r < 0) {
		ev_io_stop(loop, w);
		return;
	}
	if (r > 0 && !ev_is_active(&ps->change_timer)) {
		ev_timer_set(&ps->change_timer, WM_PATHS_CHANGE_DEBOUNCE_S, 0);
		ev_timer_start(loop, &ps->change_timer);
	}
}

/* `wiremesh ping`. */

void wm_paths_ping(struct wm_paths *ps, struct wm_mesh_peer *mp, struct wm_control_conn *conn)
{
	uint64_t now = wm_clock_monotonic_ns();
	struct wm_path_action a;
	size_t i;

	if (mp->ping_conn) {
		static const char busy[] = "{\"error\":\"a ping to that node is already running\"}\n";

		wm_control_reply(conn, busy, sizeof(busy) - 1);
		return;
	}
	if (!mp->shared_ok) {
		static const char nokey[] = "{\"error\":\"that node has no usable disco key\"}\n";

		wm_control_reply(conn, nokey, sizeof(nokey) - 1);
		return;
	}
	mp->ping_conn = conn;
	mp->ping_deadline = now + (uint64_t)(WM_PATHS_PING_TIMEOUT_S * 1e9);
	/* Over the path in use, and every other, like a sweep; the first pong answers. */
	for (i = 0; i < mp->path.n_cand; i++) {
		wm_path_ping_direct(&mp->path, &mp->path.cand[i].addr, now, &wm_rng_system, &a);
		send_ping(ps, mp, &a);
	}
	if (relay_for_peer(ps, mp) && (mp->path.n_cand == 0 || !wm_path_best(&mp->path))) {
		wm_path_ping_via_relay(&mp->path, now, &wm_rng_system, &a);
		send_ping(ps, mp, &a);
	}
	wm_path_note_active(&mp->path, now);
}

/* Syncing with the netmap. */

static void update_peer(struct wm_paths *ps, struct wm_mesh_peer *mp, const struct wm_netmap_peer *p)
{
	bool new_disco = sodium_memcmp(mp->disco_key, p->disco_key, WM_KEY_LEN) != 0;

	snprintf(mp->name, sizeof(mp->name), "%s", p->name);
	mp->ipv4 = p->ipv4;
	if (sodium_memcmp(mp->node_key, p->node_key, WM_KEY_LEN)) {
		memcpy(mp->node_key, p->node_key, WM_KEY_LEN);
		memset(&mp->last_set, 0, sizeof(mp->last_set));
		mp->last_tx = 0;
	}
	if (new_disco || !mp->shared_ok) {
		memcpy(mp->disco_key, p->disco_key, WM_KEY_LEN);
		mp->shared_ok = wm_disco_shared_key(mp->shared, mp->disco_key, ps->disco_private);
		if (new_disco)
			wm_path_want_sweep(&mp->path);	/* a restarted peer: find it again */
	}
	mp->home_relay = p->home_relay > 0 && p->home_relay <= 65535 ? (uint16_t)p->home_relay : 0;
	mp->path.has_relay = relay_for_peer(ps, mp) != 0;
	wm_path_set_candidates(&mp->path, WM_PATH_FROM_NETMAP, p->endpoints, p->n_endpoints);
}

static void free_peer(struct wm_mesh_peer *mp)
{
	if (mp->ping_conn) {
		static const char gone[] = "{\"error\":\"that node left the mesh\"}\n";

		wm_control_reply(mp->ping_conn, gone, sizeof(gone) - 1);
	}
	sodium_memzero(mp->shared, sizeof(mp->shared));
	free(mp);
}

void wm_paths_sync(struct wm_paths *ps, const struct wm_netmap *nm)
{
	struct wm_mesh_peer **fresh, **by_disco;
	size_t i, n = 0;

	set_stun_servers(ps, &nm->relays);
	fresh = calloc(nm->n_peers ? nm->n_peers : 1, sizeof(*fresh));
	by_disco = calloc(nm->n_peers ? nm->n_peers : 1, sizeof(*by_disco));
	if (!fresh || !by_disco) {
		free(fresh);
		free(by_disco);
		wm_log_error("out of memory updating the peers' paths");
		return;
	}
	for (i = 0; i < nm->n_peers; i++) {
		const struct wm_netmap_peer *p = &nm->peers[i];
		struct wm_mesh_peer *mp;

		if (p->expired)
			continue;
		mp = wm_paths_find_id(ps, p->id);
		if (!mp) {
			mp = calloc(1, sizeof(*mp));
			if (!mp)
				continue;
			wm_path_init(&mp->path, false);
		}
		update_peer(ps, mp, p);
		mp->id = p->id;
		fresh[n++] = mp;
	}
	/* The old ones not carried over are gone. */
	for (i = 0; i < ps->n_peers; i++) {
		struct wm_paths carried = { .peers = fresh, .n_peers = n };

		if (!wm_paths_find_id(&carried, ps->peers[i]->id))
			free_peer(ps->peers[i]);
	}
	free(ps->peers);
	free(ps->by_disco);
	memcpy(by_disco, fresh, n * sizeof(*fresh));
	qsort(fresh, n, sizeof(*fresh), compare_node_key);
	qsort(by_disco, n, sizeof(*by_disco), compare_disco_key);
	ps->peers = fresh;
	ps->by_disco = by_disco;
	ps->n_peers = n;
	/* New peers get their first endpoint now, and a peer's late home relay is used at once. */
	for (i = 0; i < n; i++) {
		struct wm_peer *wg = wm_device_lookup_peer(ps->node->dev, fresh[i]->node_key);

		if (wg)
			enforce(ps, fresh[i], wg, wm_clock_monotonic_ns());
	}
}

/* Status. */

static json_t *endpoint_json(const struct wm_endpoint *ep)
{
	char text[WM_ENDPOINT_STR_LEN];

	wm_endpoint_format(ep, text);
	return json_string(text);
}

static json_t *ms_json(uint64_t ns)
{
	return ns ? json_real((double)ns / 1e6) : json_null();
}

json_t *wm_paths_nat_json(const struct wm_paths *ps)
{
	const struct wm_netcheck_report *r = &ps->report;
	json_t *o = json_object(), *mapped = json_array(), *regions = json_array();
	size_t i;

	if (!o || !mapped || !regions) {
		json_decref(o);
		json_decref(mapped);
		json_decref(regions);
		return NULL;
	}
	json_object_set_new(o, "checked", json_boolean(ps->have_report));
	json_object_set_new(o, "udp", json_boolean(ps->have_report && r->udp));
	for (i = 0; ps->have_report && i < r->n_mapped; i++)
		json_array_append_new(mapped, endpoint_json(&r->mapped[i]));
	json_object_set_new(o, "reflexive", mapped);
	json_object_set_new(o, "mapping_varies_by_dest",
			    json_boolean(ps->have_report && r->mapping_varies_by_dest));
	json_object_set_new(o, "mapping_known", json_boolean(ps->have_report && r->mapping_known));
	json_object_set_new(o, "preferred_region", json_integer(ps->have_report ?
							       r->preferred_region : 0));
	for (i = 0; ps->have_report && i < r->n_regions; i++) {
		json_t *g = json_object();

		json_object_set_new(g, "region", json_integer(r->regions[i].region));
		json_object_set_new(g, "latency_ms", r->regions[i].answered ?
				    ms_json(r->regions[i].rtt_ns) : json_null());
		if (r->regions[i].answered)
			json_object_set_new(g, "reflexive", endpoint_json(&r->regions[i].mapped));
		json_array_append_new(regions, g);
	}
	json_object_set_new(o, "regions", regions);
	json_object_set_new(o, "age_s", json_integer(ps->have_report ?
		(json_int_t)((wm_clock_monotonic_ns() - ps->last_report_at) / 1000000000ULL) : -1));
	return o;
}

static char *netcheck_json_text(const struct wm_paths *ps)
{
	json_t *o = wm_paths_nat_json(ps);
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

void wm_paths_peer_json(const struct wm_paths *ps, const struct wm_mesh_peer *mp, json_t *o)
{
	uint64_t now = wm_clock_monotonic_ns();
	const struct wm_path_candidate *best = wm_path_best(&mp->path);
	struct wm_endpoint ep;
	json_t *cands = json_array();
	size_t i;

	(void)ps;
	switch (wm_path_decide(&mp->path, now, &ep)) {
	case WM_PATH_DIRECT:
		json_object_set_new(o, "path_choice", json_string("direct"));
		break;
	case WM_PATH_RELAY:
		json_object_set_new(o, "path_choice", json_string("relay"));
		break;
	case WM_PATH_NONE:
		json_object_set_new(o, "path_choice", json_string("none"));
		break;
	}
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

/* Start and stop. */

int wm_paths_start(struct wm_paths *ps, struct wm_node *node)
{
	struct ev_loop *loop = node->loop;

	memset(ps, 0, sizeof(*ps));
	ps->node = node;
	ps->monitor_fd = -1;
	/* A fresh disco key every run, as Tailscale does: it only ever names this process. */
	wm_crypto_generate_keypair(ps->disco_private, ps->disco_public, &wm_rng_system);
	ev_timer_init(&ps->tick_timer, on_tick, WM_PATHS_TICK_S, WM_PATHS_TICK_S);
	ev_timer_init(&ps->netcheck_timer, on_netcheck_timer, 1.0, 0);
	ev_init(&ps->netcheck_poll_timer, on_netcheck_poll);
	ev_init(&ps->change_timer, on_change_settled);
	ps->tick_timer.data = ps->netcheck_timer.data = ps->netcheck_poll_timer.data = ps;
	ps->change_timer.data = ps;
	ev_timer_start(loop, &ps->tick_timer);
	ev_timer_start(loop, &ps->netcheck_timer);
	ps->monitor_fd = wm_netlink_monitor_open();
	if (ps->monitor_fd >= 0) {
		ev_io_init(&ps->monitor_watcher, on_monitor, ps->monitor_fd, EV_READ);
		ps->monitor_watcher.data = ps;
		ev_io_start(loop, &ps->monitor_watcher);
	} else {
		wm_log_error("cannot watch for network changes (%s); rechecking periodically only",
			     strerror(-ps->monitor_fd));
	}
	node->hooks.udp_other = on_udp_other;
	node->hooks.relay_disco = on_relay_disco;
	node->hooks.relay_state = on_relay_state;
	node->hooks.ctx = ps;
	return 0;
}

void wm_paths_stop(struct wm_paths *ps)
{
	struct ev_loop *loop;
	size_t i;

	if (!ps->node)
		return;
	loop = ps->node->loop;
	ps->node->hooks.udp_other = NULL;
	ps->node->hooks.relay_disco = NULL;
	ps->node->hooks.relay_state = NULL;
	ev_timer_stop(loop, &ps->tick_timer);
	ev_timer_stop(loop, &ps->netcheck_timer);
	ev_timer_stop(loop, &ps->netcheck_poll_timer);
	ev_timer_stop(loop, &ps->change_timer);
	if (ps->monitor_fd >= 0) {
		ev_io_stop(loop, &ps->monitor_watcher);
		close(ps->monitor_fd);
	}
	for (i = 0; i < ps->n_stun; i++)
		if (ps->stun[i].lookup)
			wm_resolve_cancel(ps->stun[i].lookup);
	for (i = 0; i < ps->n_peers; i++) {
		ps->peers[i]->ping_conn = NULL;	/* the control server is going too */
		free_peer(ps->peers[i]);
	}
	free(ps->peers);
	free(ps->by_disco);
	sodium_memzero(ps->disco_private, sizeof(ps->disco_private));
	ps->node = NULL;
}
