/* SPDX-License-Identifier: MIT */
#include "nat/path.h"

#include <arpa/inet.h>
#include <string.h>

void wm_path_init(struct wm_path *p, bool has_relay)
{
	memset(p, 0, sizeof(*p));
	p->best = -1;
	p->has_relay = has_relay;
}

const char *wm_path_source_name(enum wm_path_source source)
{
	switch (source) {
	case WM_PATH_FROM_NETMAP:
		return "netmap";
	case WM_PATH_FROM_CALL_ME_MAYBE:
		return "call-me-maybe";
	case WM_PATH_FROM_PING:
		return "ping";
	case WM_PATH_FROM_ROAMING:
		return "roaming";
	}
	return "?";
}

static int find_candidate(const struct wm_path *p, const struct wm_endpoint *addr)
{
	size_t i;

	for (i = 0; i < p->n_cand; i++)
		if (wm_endpoint_equal(&p->cand[i].addr, addr))
			return (int)i;
	return -1;
}

static bool is_learned(enum wm_path_source s)
{
	return s == WM_PATH_FROM_PING || s == WM_PATH_FROM_ROAMING;
}

/* Removes candidate i, keeping best pointing at the same address. */
static void remove_candidate(struct wm_path *p, size_t i)
{
	if (p->best == (int)i)
		p->best = -1;
	else if (p->best > (int)i)
		p->best--;
	memmove(&p->cand[i], &p->cand[i + 1], (p->n_cand - i - 1) * sizeof(p->cand[0]));
	p->n_cand--;
}

static struct wm_path_candidate *add_candidate(struct wm_path *p, const struct wm_endpoint *addr,
					       enum wm_path_source source)
{
	struct wm_path_candidate *c;
	size_t i;

	if (!wm_endpoint_is_set(addr))
		return NULL;
	if (p->n_cand == WM_PATH_MAX_CANDIDATES) {
		/* Full: a learned address gives way (the oldest to expire), never a published one. */
		size_t victim = WM_PATH_MAX_CANDIDATES;

		for (i = 0; i < p->n_cand; i++)
			if (is_learned(p->cand[i].source) && (int)i != p->best &&
			    (victim == WM_PATH_MAX_CANDIDATES ||
			     p->cand[i].expires < p->cand[victim].expires))
				victim = i;
		if (victim == WM_PATH_MAX_CANDIDATES)
			return NULL;
		remove_candidate(p, victim);
	}
	c = &p->cand[p->n_cand++];
	memset(c, 0, sizeof(*c));
	c->addr = *addr;
	c->addr.src_ifindex = 0;
	memset(&c->addr.src, 0, sizeof(c->addr.src));
	c->source = (uint8_t)source;
	return c;
}

void wm_path_set_candidates(struct wm_path *p, enum wm_path_source source,
			    const struct wm_endpoint *eps, size_t n)
{
	size_t i, k;

	/* Drop the ones of this source that are gone… */
	for (i = p->n_cand; i-- > 0;) {
		bool keep = false;

		if (p->cand[i].source != source)
			continue;
		for (k = 0; k < n && !keep; k++)
			keep = wm_endpoint_equal(&p->cand[i].addr, &eps[k]);
		if (!keep)
			remove_candidate(p, i);
	}
	/* …and add the new ones; a learned address that is now published keeps its history. */
	for (k = 0; k < n; k++) {
		int at = find_candidate(p, &eps[k]);

		if (at < 0) {
			add_candidate(p, &eps[k], source);
		} else if (is_learned(p->cand[at].source)) {
			p->cand[at].source = (uint8_t)source;
			p->cand[at].expires = 0;
		}
	}
}

void wm_path_learn(struct wm_path *p, const struct wm_endpoint *addr, enum wm_path_source source,
		   uint64_t now)
{
	int at = find_candidate(p, addr);
	struct wm_path_candidate *c;

	if (at >= 0) {
		if (is_learned(p->cand[at].source))
			p->cand[at].expires = now + WM_PATH_LEARNED_TTL_NS;
		return;
	}
	c = add_candidate(p, addr, source);
	if (c)
		c->expires = now + WM_PATH_LEARNED_TTL_NS;
}

void wm_path_want_sweep(struct wm_path *p)
{
	size_t i;

	p->sweep_from_peer = false;
	for (i = 0; i < p->n_cand; i++)
		p->cand[i].last_ping = 0;
	p->sweep_wanted = true;
}

void wm_path_call_me_maybe(struct wm_path *p, const struct wm_endpoint *eps, size_t n,
			   uint64_t now)
{
	(void)now;
	wm_path_set_candidates(p, WM_PATH_FROM_CALL_ME_MAYBE, eps, n);
	wm_path_want_sweep(p);
	p->sweep_from_peer = true;
	p->call_me_maybes_received++;
}

void wm_path_note_active(struct wm_path *p, uint64_t now)
{
	p->last_active = now;
}

bool wm_path_is_active(const struct wm_path *p, uint64_t now)
{
	return p->last_active && now - p->last_active < WM_PATH_ACTIVE_NS;
}

static struct wm_path_ping *new_ping(struct wm_path *p, uint64_t now, const struct wm_rng *rng)
{
	struct wm_path_ping *slot = NULL;
	size_t i;

	for (i = 0; i < WM_PATH_MAX_PINGS; i++) {
		if (!p->pings[i].in_use) {
			slot = &p->pings[i];
			break;
		}
		if (!slot || p->pings[i].sent < slot->sent)
			slot = &p->pings[i];	/* all in use: the oldest goes */
	}
	memset(slot, 0, sizeof(*slot));
	wm_rng_fill(rng, slot->txid, sizeof(slot->txid));
	slot->in_use = true;
	slot->sent = now;
	p->pings_sent++;
	return slot;
}

static void fill_ping_action(struct wm_path_action *act, const struct wm_path_ping *ping)
{
	memset(act, 0, sizeof(*act));
	act->kind = WM_PATH_SEND_PING;
	act->to = ping->to;
	act->via_relay = ping->via_relay;
	memcpy(act->txid, ping->txid, sizeof(act->txid));
}

static void ping_candidate(struct wm_path *p, struct wm_path_candidate *c, uint64_t now,
			   const struct wm_rng *rng, struct wm_path_action *act)
{
	struct wm_path_ping *ping = new_ping(p, now, rng);

	ping->to = c->addr;
	c->last_ping = now;
	fill_ping_action(act, ping);
}

void wm_path_ping_via_relay(struct wm_path *p, uint64_t now, const struct wm_rng *rng,
			    struct wm_path_action *act)
{
	struct wm_path_ping *ping = new_ping(p, now, rng);

	ping->via_relay = true;
	fill_ping_action(act, ping);
}

void wm_path_ping_direct(struct wm_path *p, const struct wm_endpoint *addr, uint64_t now,
			 const struct wm_rng *rng, struct wm_path_action *act)
{
	int at = find_candidate(p, addr);
	struct wm_path_ping *ping;

	if (at >= 0) {
		ping_candidate(p, &p->cand[at], now, rng, act);
		return;
	}
	ping = new_ping(p, now, rng);
	ping->to = *addr;
	fill_ping_action(act, ping);
}

static bool trusted(const struct wm_path *p, uint64_t now)
{
	return p->best >= 0 && now <= p->trust_until;
}

/* Lost pings: one to the best path after its trust ran out means the path is gone. */
static void expire(struct wm_path *p, uint64_t now)
{
	size_t i;

	for (i = 0; i < WM_PATH_MAX_PINGS; i++) {
		struct wm_path_ping *ping = &p->pings[i];

		if (!ping->in_use || now - ping->sent < WM_PATH_PING_TIMEOUT_NS)
			continue;
		ping->in_use = false;
		if (!ping->via_relay && p->best >= 0 && now > p->trust_until &&
		    wm_endpoint_equal(&ping->to, &p->cand[p->best].addr))
			p->best = -1;
	}
	/* An untrusted best with no pong for a long time is forgotten even without a lost ping. */
	if (p->best >= 0 && now > p->trust_until + WM_PATH_PING_TIMEOUT_NS)
		p->best = -1;
	for (i = p->n_cand; i-- > 0;)
		if (p->cand[i].expires && p->cand[i].expires <= now && (int)i != p->best)
			remove_candidate(p, i);
}

size_t wm_path_tick(struct wm_path *p, uint64_t now, const struct wm_rng *rng,
		    struct wm_path_action *out, size_t cap)
{
	bool sweep, from_peer = p->sweep_from_peer, sent_any = false;
	size_t i, n = 0;

	expire(p, now);
	if (!wm_path_is_active(p, now) && !p->sweep_wanted)
		return 0;
	sweep = p->sweep_wanted || !trusted(p, now);
	if (!sweep) {
		struct wm_path_candidate *b = &p->cand[p->best];

		if (now - b->last_ping >= WM_PATH_HEARTBEAT_NS && n < cap)
			ping_candidate(p, b, now, rng, &out[n++]);
		if (now - p->last_sweep < WM_PATH_UPGRADE_NS || b->latency <= WM_PATH_GOOD_ENOUGH_NS)
			return n;
	}
	for (i = 0; i < p->n_cand && n < cap; i++) {
		struct wm_path_candidate *c = &p->cand[i];

		if (c->last_ping && now - c->last_ping < WM_PATH_PING_INTERVAL_NS)
			continue;
		ping_candidate(p, c, now, rng, &out[n++]);
		sent_any = true;
	}
	p->last_sweep = now;
	p->sweep_wanted = false;
	/*
	 * Ask the peer to ping us back at the same moment, through the relay, so that both NATs
	 * see outgoing packets and let the other side's in. Not in answer to its own call-me-maybe
	 * (it is pinging already), as Tailscale does.
	 */
	if (sent_any && p->has_relay && !from_peer && n < cap) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].kind = WM_PATH_SEND_CALL_ME_MAYBE;
		out[n].via_relay = true;
		n++;
	}
	p->sweep_from_peer = false;
	return n;
}

/* Points for what kind of address it is (magicsock betterAddr). */
static int address_points(const struct wm_endpoint *e)
{
	if (e->addr.sa.sa_family == AF_INET) {
		uint32_t h = ntohl(e->addr.in4.sin_addr.s_addr);

		if ((h >> 24) == 127)
			return 50;
		if ((h >> 16) == 0xa9fe)
			return 30;
		if ((h >> 24) == 10 || (h >> 20) == 0xac1 || (h >> 16) == 0xc0a8)
			return 20;
		return 0;
	}
	if (IN6_IS_ADDR_LOOPBACK(&e->addr.in6.sin6_addr))
		return 60;
	if (IN6_IS_ADDR_LINKLOCAL(&e->addr.in6.sin6_addr))
		return 40;
	if ((e->addr.in6.sin6_addr.s6_addr[0] & 0xfe) == 0xfc)
		return 30;
	return 10;
}

/* Whether a is better than b: the faster gains up to 100 points; sticky when close. */
static bool better(const struct wm_path_candidate *a, const struct wm_path_candidate *b)
{
	int pa = address_points(&a->addr), pb = address_points(&b->addr);

	if (a->latency && b->latency) {
		if (a->latency < b->latency)
			pa += (int)(100 - 100 * a->latency / b->latency);
		else if (b->latency < a->latency)
			pb += (int)(100 - 100 * b->latency / a->latency);
	}
	if (pa <= 1 && pb == 0)
		return false;
	return pa > pb;
}

bool wm_path_on_pong(struct wm_path *p, const uint8_t txid[WM_PATH_TXID_LEN],
		     const struct wm_endpoint *from, bool via_relay, uint64_t now,
		     uint64_t *latency)
{
	struct wm_path_ping *ping = NULL;
	struct wm_path_candidate *c;
	size_t i;
	int at;

	for (i = 0; i < WM_PATH_MAX_PINGS; i++)
		if (p->pings[i].in_use && !memcmp(p->pings[i].txid, txid, WM_PATH_TXID_LEN)) {
			ping = &p->pings[i];
			break;
		}
	if (!ping || ping->via_relay != via_relay ||
	    (!via_relay && !wm_endpoint_equal(&ping->to, from)))
		return false;
	ping->in_use = false;
	*latency = now - ping->sent ? now - ping->sent : 1;
	p->pongs++;
	if (via_relay) {
		p->relay_latency = *latency;
		return true;
	}
	at = find_candidate(p, from);
	if (at < 0) {
		/* A ping outside the candidates (wiremesh ping to an address): learn it. */
		wm_path_learn(p, from, WM_PATH_FROM_PING, now);
		at = find_candidate(p, from);
		if (at < 0)
			return true;
	}
	c = &p->cand[at];
	c->last_pong = now;
	c->latency = *latency;
	if (is_learned(c->source))
		c->expires = now + WM_PATH_LEARNED_TTL_NS;
	if (p->best < 0 || !trusted(p, now) || (p->best != at && better(c, &p->cand[p->best])))
		p->best = at;
	if (p->best == at)
		p->trust_until = now + WM_PATH_TRUST_NS;
	return true;
}

void wm_path_prefer(struct wm_path *p, const struct wm_endpoint *addr)
{
	int at = find_candidate(p, addr);

	if (at < 0 || !p->cand[at].last_pong || p->best == at)
		return;
	p->best = at;
	p->trust_until = p->cand[at].last_pong + WM_PATH_TRUST_NS;
}

enum wm_path_choice wm_path_decide(const struct wm_path *p, uint64_t now, struct wm_endpoint *ep)
{
	if (trusted(p, now)) {
		*ep = p->cand[p->best].addr;
		return WM_PATH_DIRECT;
	}
	if (p->has_relay)
		return WM_PATH_RELAY;
	/* No relay to fall back on: the best guess beats nothing. */
	if (p->best >= 0) {
		*ep = p->cand[p->best].addr;
		return WM_PATH_DIRECT;
	}
	if (p->n_cand) {
		*ep = p->cand[0].addr;
		return WM_PATH_DIRECT;
	}
	return WM_PATH_NONE;
}

const struct wm_path_candidate *wm_path_best(const struct wm_path *p)
{
	return p->best >= 0 ? &p->cand[p->best] : NULL;
}

static void earliest(uint64_t *at, uint64_t t)
{
	if (t && (!*at || t < *at))
		*at = t;
}

uint64_t wm_path_next_deadline(const struct wm_path *p, uint64_t now)
{
	uint64_t at = 0;
	size_t i;

	if (p->sweep_wanted)
		return now;
	for (i = 0; i < WM_PATH_MAX_PINGS; i++)
		if (p->pings[i].in_use)
			earliest(&at, p->pings[i].sent + WM_PATH_PING_TIMEOUT_NS);
	if (p->best >= 0)
		earliest(&at, p->trust_until + 1);
	if (!wm_path_is_active(p, now))
		return at;
	if (trusted(p, now)) {
		earliest(&at, p->cand[p->best].last_ping + WM_PATH_HEARTBEAT_NS);
		return at;
	}
	for (i = 0; i < p->n_cand; i++)
		earliest(&at, p->cand[i].last_ping ? p->cand[i].last_ping + WM_PATH_PING_INTERVAL_NS
						   : now);
	return at;
}
