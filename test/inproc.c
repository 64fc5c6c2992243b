/* SPDX-License-Identifier: MIT */
#include "test/inproc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/receive.h"
#include "engine/send.h"
#include "engine/tick.h"

/* splitmix64: small, fast, and good enough to stand in for the CSPRNG in tests. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void deterministic_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t r = next_random(ctx);
		size_t n = len < 8 ? len : 8;

		memcpy(p, &r, n);
		p += n;
		len -= n;
	}
}

void wm_inproc_rng_init(struct wm_rng *rng, uint64_t *state, uint64_t seed)
{
	*state = seed;
	rng->fill = deterministic_fill;
	rng->ctx = state;
}

static struct wm_inproc_node *node_at(struct wm_inproc_net *net, const struct wm_endpoint *ep)
{
	size_t i;

	for (i = 0; i < net->node_count; i++)
		if (wm_endpoint_equal(&net->nodes[i].addr, ep))
			return &net->nodes[i];
	return NULL;
}

static void record_send(void *ctx, struct wm_peer *peer, const struct wm_endpoint *to,
			const uint8_t *buf, size_t len)
{
	struct wm_inproc_node *node = ctx;
	struct wm_inproc_net *net = node->net;
	struct wm_inproc_datagram *dg;

	(void)peer;
	node->datagrams_sent++;
	if (len >= 1 && buf[0] == WM_MSG_HANDSHAKE_INITIATION)
		node->handshake_initiations_sent++;
	if (len >= 1 && buf[0] == WM_MSG_HANDSHAKE_COOKIE)
		node->cookie_replies_sent++;
	if (net->inflight_count == WM_INPROC_MAX_INFLIGHT || len > WM_INPROC_MAX_PACKET)
		return;	/* the fake network is full: lost, like a real one */
	dg = &net->inflight[net->inflight_count++];
	dg->from = node->addr;
	dg->to = *to;
	dg->len = len;
	memcpy(dg->data, buf, len);
}

static const struct wm_device_ops inproc_ops = { .send = record_send };

void wm_inproc_init(struct wm_inproc_net *net, size_t n, uint64_t seed)
{
	size_t i;

	memset(net, 0, sizeof(*net));
	wm_inproc_rng_init(&net->rng, &net->rng_state, seed);
	net->now = 1000 * WM_NSEC_PER_SEC;	/* a monotonic clock that has run a while */
	net->node_count = n;
	net->inflight = calloc(WM_INPROC_MAX_INFLIGHT, sizeof(*net->inflight));
	net->log = calloc(WM_INPROC_MAX_INFLIGHT, sizeof(*net->log));
	for (i = 0; i < n; i++) {
		struct wm_inproc_node *node = &net->nodes[i];
		char text[64];

		node->net = net;
		node->tun = calloc(WM_INPROC_MAX_TUN, sizeof(*node->tun));
		node->dev = wm_device_create(&inproc_ops, node, &net->rng);
		wm_device_set_wall_offset(node->dev, 1700000000LL * (int64_t)WM_NSEC_PER_SEC);
		wm_crypto_generate_keypair(node->private_key, node->public_key, &net->rng);
		wm_device_set_private_key(node->dev, node->private_key);
		/* TEST-NET-2 documentation addresses: they exist only in this in-memory network. */
		snprintf(text, sizeof(text), "198.51.100.%zu:%u", i + 1, 51820 + (unsigned)i);
		wm_endpoint_parse(&node->addr, text);
		node->overlay4[0] = 10;
		node->overlay4[3] = (uint8_t)(i + 1);
		node->overlay6[0] = 0xfd;
		node->overlay6[15] = (uint8_t)(i + 1);
	}
}

void wm_inproc_free(struct wm_inproc_net *net)
{
	size_t i;

	for (i = 0; i < net->node_count; i++) {
		wm_device_destroy(net->nodes[i].dev);
		free(net->nodes[i].tun);
	}
	free(net->inflight);
	free(net->log);
	memset(net, 0, sizeof(*net));
}

void wm_inproc_pair(struct wm_inproc_net *net, size_t a, size_t b)
{
	size_t pair[2][2] = { { a, b }, { b, a } };
	int k, err;

	for (k = 0; k < 2; k++) {
		struct wm_inproc_node *self = &net->nodes[pair[k][0]];
		struct wm_inproc_node *other = &net->nodes[pair[k][1]];
		struct wm_peer *peer = wm_device_lookup_peer(self->dev, other->public_key);

		if (!peer)
			peer = wm_device_add_peer(self->dev, other->public_key, &err);
		wm_peer_set_endpoint(peer, &other->addr);
		wm_allowedips_insert(&self->dev->allowedips, AF_INET, other->overlay4, 32, peer);
		wm_allowedips_insert(&self->dev->allowedips, AF_INET6, other->overlay6, 128, peer);
	}
}

size_t wm_inproc_make_packet(uint8_t *out, const struct wm_inproc_node *src,
			     const struct wm_inproc_node *dst, bool v6, size_t payload_len,
			     uint8_t pattern)
{
	size_t hdr = v6 ? 40 : 20, total = hdr + payload_len, i;

	memset(out, 0, hdr);
	if (v6) {
		out[0] = 0x60;
		out[4] = (uint8_t)(payload_len >> 8);
		out[5] = (uint8_t)payload_len;
		out[6] = 17;	/* UDP, for the look of it */
		out[7] = 64;
		memcpy(out + 8, src->overlay6, 16);
		memcpy(out + 24, dst->overlay6, 16);
	} else {
		out[0] = 0x45;
		out[2] = (uint8_t)(total >> 8);
		out[3] = (uint8_t)total;
		out[8] = 64;
		out[9] = 17;
		memcpy(out + 12, src->overlay4, 4);
		memcpy(out + 16, dst->overlay4, 4);
	}
	for (i = 0; i < payload_len; i++)
		out[hdr + i] = (uint8_t)(pattern + i);
	return total;
}

enum wm_verdict wm_inproc_send_ip(struct wm_inproc_net *net, size_t node, const uint8_t *pkt,
				  size_t len)
{
	uint8_t buf[WM_PACKET_HEADROOM + WM_INPROC_MAX_PACKET + WM_PACKET_TAILROOM];
	struct wm_packet p = { 0 };
	struct wm_inproc_node *self = &net->nodes[node];

	memcpy(buf + WM_PACKET_HEADROOM, pkt, len);
	p.data = buf + WM_PACKET_HEADROOM;
	p.len = len;
	wm_send_packets(self->dev, &p, 1, net->now);
	if (p.verdict == WM_VERDICT_SEND)
		record_send(self, p.peer, &p.endpoint, p.data, p.len);
	return p.verdict;
}

static void deliver_one(struct wm_inproc_net *net, struct wm_inproc_datagram *dg)
{
	struct wm_inproc_node *dst;
	struct wm_packet p = { 0 };

	if (net->filter && !net->filter(net->filter_ctx, dg))
		return;
	if (net->record && net->log_count < WM_INPROC_MAX_INFLIGHT)
		net->log[net->log_count++] = *dg;
	dst = node_at(net, &dg->to);
	if (!dst)
		return;
	p.data = dg->data;
	p.len = dg->len;
	p.endpoint = dg->from;
	wm_receive_packets(dst->dev, &p, 1, net->now);
	if (p.verdict == WM_VERDICT_TUN && dst->tun_count < WM_INPROC_MAX_TUN) {
		dst->tun[dst->tun_count].len = p.len;
		memcpy(dst->tun[dst->tun_count].data, p.data, p.len);
		dst->tun_count++;
	}
}

void wm_inproc_deliver(struct wm_inproc_net *net)
{
	struct wm_inproc_datagram *batch;
	size_t rounds, n, i;

	/* Bounded: a protocol bug that ping-pongs forever shows up as a test failure, not a hang. */
	for (rounds = 0; rounds < 64 && net->inflight_count; rounds++) {
		/* Sized to what is in flight: a whole-capacity batch (8 MB) per call made sanitizer runs crawl. */
		n = net->inflight_count;
		batch = malloc(n * sizeof(*batch));
		if (!batch)
			abort();
		memcpy(batch, net->inflight, n * sizeof(*batch));
		net->inflight_count = 0;
		for (i = 0; i < n; i++)
			deliver_one(net, &batch[i]);
		free(batch);
	}
}

void wm_inproc_advance(struct wm_inproc_net *net, uint64_t ns, uint64_t step)
{
	uint64_t end = net->now + ns;
	size_t i;

	while (net->now < end) {
		net->now = end - net->now < step ? end : net->now + step;
		for (i = 0; i < net->node_count; i++)
			wm_tick_run(net->nodes[i].dev, net->now);
		wm_inproc_deliver(net);
	}
}

void wm_inproc_inject(struct wm_inproc_net *net, size_t node, const struct wm_endpoint *from,
		      const uint8_t *data, size_t len)
{
	struct wm_inproc_datagram *dg;

	if (net->inflight_count == WM_INPROC_MAX_INFLIGHT || len > WM_INPROC_MAX_PACKET)
		return;
	dg = &net->inflight[net->inflight_count++];
	dg->from = *from;
	dg->to = net->nodes[node].addr;
	dg->len = len;
	memcpy(dg->data, data, len);
}

void wm_inproc_clear_tun(struct wm_inproc_net *net, size_t node)
{
	net->nodes[node].tun_count = 0;
}
