/* SPDX-License-Identifier: MIT */
#include "nat/netcheck.h"

#include <errno.h>
#include <string.h>

#include "nat/candidates.h"

/* The attempt number lives in the last txid byte, so it must fit in one. */
_Static_assert(WM_NETCHECK_MAX_ATTEMPTS <= 256, "attempt number must fit the last txid byte");

static void attempt_txid(const struct wm_netcheck_probe *p, unsigned int attempt,
			 uint8_t txid[WM_STUN_TXID_LEN])
{
	memcpy(txid, p->txid, WM_STUN_TXID_LEN);
	txid[WM_STUN_TXID_LEN - 1] ^= (uint8_t)attempt;
}

static bool timed_out(const struct wm_netcheck *nc, uint64_t now)
{
	return now - nc->started >= WM_NETCHECK_TIMEOUT_NS;
}

static bool any_pending(const struct wm_netcheck *nc)
{
	for (size_t i = 0; i < nc->n_probes; i++)
		if (nc->probes[i].state == WM_NETCHECK_PENDING)
			return true;
	return false;
}

/* Call once the round's time is up: whoever has not answered has failed. */
static void expire(struct wm_netcheck *nc)
{
	for (size_t i = 0; i < nc->n_probes; i++)
		if (nc->probes[i].state == WM_NETCHECK_PENDING)
			nc->probes[i].state = WM_NETCHECK_FAILED;
	nc->active = false;
}

int wm_netcheck_start(struct wm_netcheck *nc, const struct wm_netcheck_server *servers, size_t n,
		      uint64_t now, const struct wm_rng *rng)
{
	memset(nc, 0, sizeof(*nc));
	if (n > WM_NETCHECK_MAX_SERVERS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!wm_endpoint_is_set(&servers[i].addr))
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct wm_netcheck_probe *p = &nc->probes[i];

		p->server = servers[i];
		wm_endpoint_clear_src(&p->server.addr);
		wm_rng_fill(rng, p->txid, sizeof(p->txid));
	}
	nc->n_probes = n;
	nc->started = now;
	nc->active = n > 0;
	return 0;
}

size_t wm_netcheck_poll(struct wm_netcheck *nc, uint64_t now, struct wm_netcheck_request *out,
			size_t cap)
{
	uint8_t txid[WM_STUN_TXID_LEN];
	size_t k = 0;

	if (!nc->active)
		return 0;
	if (timed_out(nc, now)) {
		expire(nc);
		return 0;
	}
	for (size_t i = 0; i < nc->n_probes && k < cap; i++) {
		struct wm_netcheck_probe *p = &nc->probes[i];

		if (p->state != WM_NETCHECK_PENDING || p->n_sent >= WM_NETCHECK_MAX_ATTEMPTS)
			continue;
		if (p->n_sent > 0 && now - p->sent_at[p->n_sent - 1] < WM_NETCHECK_RETRANSMIT_NS)
			continue;
		attempt_txid(p, p->n_sent, txid);
		out[k].to = p->server.addr;
		wm_stun_request_encode(out[k].buf, txid);
		p->sent_at[p->n_sent++] = now;
		k++;
	}
	return k;
}

/* The probe whose request (any attempt) this answers, with the attempt number; NULL if none. */
static struct wm_netcheck_probe *match(struct wm_netcheck *nc, const uint8_t txid[WM_STUN_TXID_LEN],
				       const struct wm_endpoint *from, unsigned int *attempt)
{
	for (size_t i = 0; i < nc->n_probes; i++) {
		struct wm_netcheck_probe *p = &nc->probes[i];
		unsigned int a = txid[WM_STUN_TXID_LEN - 1] ^ p->txid[WM_STUN_TXID_LEN - 1];

		if (p->state != WM_NETCHECK_PENDING || a >= p->n_sent ||
		    memcmp(txid, p->txid, WM_STUN_TXID_LEN - 1) != 0 ||
		    !wm_endpoint_equal(from, &p->server.addr))
			continue;
		*attempt = a;
		return p;
	}
	return NULL;
}

bool wm_netcheck_on_datagram(struct wm_netcheck *nc, const uint8_t *buf, size_t len,
			     const struct wm_endpoint *from, uint64_t now)
{
	uint8_t txid[WM_STUN_TXID_LEN];
	struct wm_endpoint mapped;
	struct wm_netcheck_probe *p;
	unsigned int attempt;

	if (!nc->active || !wm_stun_is(buf, len))
		return false;
	if (timed_out(nc, now)) {
		expire(nc);
		return false;
	}
	memset(&mapped, 0, sizeof(mapped));
	if (wm_stun_response_parse(buf, len, txid, &mapped) != 0)
		return false;
	p = match(nc, txid, from, &attempt);
	if (!p)
		return false;
	p->state = WM_NETCHECK_ANSWERED;
	p->rtt_ns = now > p->sent_at[attempt] ? now - p->sent_at[attempt] : 0;
	p->mapped = mapped;
	wm_endpoint_clear_src(&p->mapped);
	nc->active = any_pending(nc);
	return true;
}

uint64_t wm_netcheck_next_deadline(const struct wm_netcheck *nc)
{
	uint64_t d = nc->started + WM_NETCHECK_TIMEOUT_NS;

	if (!nc->active)
		return 0;
	for (size_t i = 0; i < nc->n_probes; i++) {
		const struct wm_netcheck_probe *p = &nc->probes[i];
		uint64_t t;

		if (p->state != WM_NETCHECK_PENDING || p->n_sent >= WM_NETCHECK_MAX_ATTEMPTS)
			continue;
		t = p->n_sent ? p->sent_at[p->n_sent - 1] + WM_NETCHECK_RETRANSMIT_NS : nc->started;
		if (t < d)
			d = t;
	}
	/* 0 means idle, so a round started at time 0 asks for its first poll at 1 ns. */
	return d ? d : 1;
}

bool wm_netcheck_running(const struct wm_netcheck *nc, uint64_t now)
{
	return nc->active && !timed_out(nc, now);
}

static struct wm_netcheck_region *region_of(struct wm_netcheck_report *r, uint16_t region)
{
	for (size_t i = 0; i < r->n_regions; i++)
		if (r->regions[i].region == region)
			return &r->regions[i];
	r->regions[r->n_regions].region = region;
	return &r->regions[r->n_regions++];
}

/*
 * Two answers say something about the NAT's mapping only when they came from different
 * destinations over the same family: IPv4 and IPv6 go through different translation (if any).
 */
static void compare_mappings(const struct wm_netcheck *nc, struct wm_netcheck_report *r)
{
	for (size_t i = 0; i < nc->n_probes; i++) {
		const struct wm_netcheck_probe *a = &nc->probes[i];

		if (a->state != WM_NETCHECK_ANSWERED)
			continue;
		for (size_t j = i + 1; j < nc->n_probes; j++) {
			const struct wm_netcheck_probe *b = &nc->probes[j];

			if (b->state != WM_NETCHECK_ANSWERED ||
			    a->server.addr.addr.sa.sa_family != b->server.addr.addr.sa.sa_family ||
			    a->mapped.addr.sa.sa_family != b->mapped.addr.sa.sa_family ||
			    wm_endpoint_equal(&a->server.addr, &b->server.addr))
				continue;
			r->mapping_known = true;
			if (!wm_endpoint_equal(&a->mapped, &b->mapped))
				r->mapping_varies_by_dest = true;
		}
	}
}

void wm_netcheck_report(const struct wm_netcheck *nc, struct wm_netcheck_report *r)
{
	const struct wm_netcheck_region *best = NULL;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < nc->n_probes; i++) {
		const struct wm_netcheck_probe *p = &nc->probes[i];
		struct wm_netcheck_region *reg = region_of(r, p->server.region);

		if (p->state != WM_NETCHECK_ANSWERED)
			continue;
		r->udp = true;
		r->mapped[r->n_mapped++] = p->mapped;
		if (!reg->answered || p->rtt_ns < reg->rtt_ns) {
			reg->answered = true;
			reg->rtt_ns = p->rtt_ns;
			reg->mapped = p->mapped;
		}
	}
	r->n_mapped = wm_candidates_normalize(r->mapped, r->n_mapped);
	compare_mappings(nc, r);
	for (size_t i = 0; i < r->n_regions; i++)
		if (r->regions[i].answered && (!best || r->regions[i].rtt_ns < best->rtt_ns))
			best = &r->regions[i];
	r->preferred_region = best ? best->region : 0;
}
