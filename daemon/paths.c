/* SPDX-License-Identifier: MIT */
#include "daemon/paths.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rng.h"
#include "daemon/node.h"
#include "daemon/relays.h"
#include "engine/crypto.h"
#include "engine/send.h"
#include "nat/disco.h"

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

/* An address being looked for in a peer's prefixes (by walk_covers). */
struct cover {
	int family;
	const uint8_t *addr;
};

/* Non-zero when the prefix is not a default route and holds the address. */
static int walk_covers(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	const struct cover *c = ctx;
	unsigned int full = cidr / 8u;

	if (family != c->family || cidr == 0 || memcmp(addr, c->addr, full))
		return 0;
	return cidr % 8 == 0 || !((addr[full] ^ c->addr[full]) & (0xff00 >> (cidr % 8)));
}

/*
 * Whether addr is inside a peer's allowed IPs other than a default route. The longest match
 * is found first: when it is a default route (an exit node's), no other peer's prefix holds
 * the address, and the peer's own walk says whether a longer prefix of it does.
 */
static bool inside_allowed_ips(const struct wm_allowedips *a, int family, const uint8_t *addr)
{
	struct wm_peer *peer = wm_allowedips_lookup(a, family, addr);
	struct cover c = { .family = family, .addr = addr };

	return peer && wm_allowedips_walk_by_peer(a, peer, walk_covers, &c);
}

/*
 * An address inside some peer's allowed IPs is routed into the mesh interface (mesh mode
 * routes every allowed IP there), so it can never be a direct path: a router's LAN address,
 * once this node accepts that LAN as a subnet route, would carry the disco pings through the
 * tunnel itself, answer them, and then swallow the WireGuard packets sent to it. An exit
 * node's default routes are the exception: they live in a table of their own which the
 * node's own (marked) sockets never consult (daemon/exit.h), so they route nothing of ours.
 */
static bool routed_into_the_mesh(const struct wm_paths *ps, const struct wm_endpoint *ep)
{
	const struct wm_allowedips *a = &ps->node->dev->allowedips;
	const uint8_t *v6;

	if (ep->addr.sa.sa_family == AF_INET)
		return inside_allowed_ips(a, AF_INET, (const uint8_t *)&ep->addr.in4.sin_addr);
	if (ep->addr.sa.sa_family != AF_INET6)
		return false;
	v6 = ep->addr.in6.sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&ep->addr.in6.sin6_addr))
		return inside_allowed_ips(a, AF_INET, v6 + 12);
	return inside_allowed_ips(a, AF_INET6, v6);
}

/* Copies to out those of in[0..n) that may be direct paths; returns how many. */
static size_t usable_candidates(const struct wm_paths *ps, const struct wm_endpoint *in, size_t n,
				struct wm_endpoint *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (!routed_into_the_mesh(ps, &in[i]))
			out[k++] = in[i];
	return k;
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
	    !is_relay_endpoint(&cur) && !routed_into_the_mesh(ps, &cur)) {
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
		wm_netcheck_io_run(&ps->netcheck, NULL);
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
		if (!routed_into_the_mesh(ps, from))
			wm_path_learn(&mp->path, from, WM_PATH_FROM_PING, now);
		send_disco(ps, mp, &pong, from, false);
		break;
	case WM_DISCO_PONG:
		if (!wm_path_on_pong(&mp->path, msg->txid, from, via_relay, now, &latency))
			return;
		if (!via_relay) {
			struct wm_peer *wg = wm_device_lookup_peer(ps->node->dev, mp->node_key);

			/* The pong's "src" is where our ping came from as the peer saw it. */
			wm_netcheck_io_observe(&ps->netcheck, &msg->src);
			/* The address WireGuard roamed to answers: the peer uses it, so do we. */
			if (wg && wm_endpoint_equal(&wg->endpoint, from))
				wm_path_prefer(&mp->path, from);
		}
		reply_ping_result(mp, from, via_relay, region, latency);
		tick_peer(ps, mp, now);
		break;
	case WM_DISCO_CALL_ME_MAYBE: {
		struct wm_endpoint usable[sizeof(msg->endpoints) / sizeof(msg->endpoints[0])];

		if (!via_relay)
			return;		/* only believed through the relay (spec §3.3) */
		wm_path_call_me_maybe(&mp->path, usable,
				      usable_candidates(ps, msg->endpoints, msg->n_endpoints, usable),
				      now);
		tick_peer(ps, mp, now);
		break;
	}
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

static void on_udp_other(void *ctx, uint8_t *buf, size_t len, const struct wm_endpoint *from)
{
	struct wm_paths *ps = ctx;

	if (wm_netcheck_io_on_datagram(&ps->netcheck, buf, len, from))
		return;
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
	struct wm_endpoint usable[WM_NETMAP_MAX_ENDPOINTS];
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
	wm_path_set_candidates(&mp->path, WM_PATH_FROM_NETMAP, usable,
			       usable_candidates(ps, p->endpoints, p->n_endpoints, usable));
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

	wm_netcheck_io_set_servers(&ps->netcheck, &nm->relays);
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

/* Start and stop. */

/* What the network check found changed: publish our addresses, and look for paths again. */
static void on_netcheck_change(void *ctx, enum wm_netcheck_io_change what)
{
	struct wm_paths *ps = ctx;
	uint64_t now = wm_clock_monotonic_ns();
	size_t i;

	if (ps->on_candidates_changed)
		ps->on_candidates_changed(ps->ctx);
	if (what == WM_NETCHECK_IO_OBSERVED)
		return;
	/* Peers in contact get the new addresses at once (a sweep sends call-me-maybe). */
	for (i = 0; i < ps->n_peers; i++)
		if (wm_path_is_active(&ps->peers[i]->path, now))
			wm_path_want_sweep(&ps->peers[i]->path);
}

static void on_netcheck_home_relay(void *ctx, uint16_t region)
{
	struct wm_paths *ps = ctx;

	if (ps->on_home_relay)
		ps->on_home_relay(ps->ctx, region);
}

int wm_paths_start(struct wm_paths *ps, struct wm_node *node)
{
	struct ev_loop *loop = node->loop;

	memset(ps, 0, sizeof(*ps));
	ps->node = node;
	/* A fresh disco key every run, as Tailscale does: it only ever names this process. */
	wm_crypto_generate_keypair(ps->disco_private, ps->disco_public, &wm_rng_system);
	ev_timer_init(&ps->tick_timer, on_tick, WM_PATHS_TICK_S, WM_PATHS_TICK_S);
	ps->tick_timer.data = ps;
	ev_timer_start(loop, &ps->tick_timer);
	ps->netcheck.on_change = on_netcheck_change;
	ps->netcheck.on_home_relay = on_netcheck_home_relay;
	ps->netcheck.ctx = ps;
	wm_netcheck_io_start(&ps->netcheck, loop, &node->udp, &node->relays);
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
	wm_netcheck_io_stop(&ps->netcheck);
	for (i = 0; i < ps->n_peers; i++) {
		ps->peers[i]->ping_conn = NULL;	/* the control server is going too */
		free_peer(ps->peers[i]);
	}
	free(ps->peers);
	free(ps->by_disco);
	sodium_memzero(ps->disco_private, sizeof(ps->disco_private));
	ps->node = NULL;
}
