/* SPDX-License-Identifier: MIT */
#include "daemon/datapath.h"

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/dns_packet.h"
#include "engine/receive.h"
#include "engine/send.h"
#include "filter/mtu.h"
#include "filter/reject.h"

/* Rounds per wakeup before the loop looks at other descriptors again. */
enum { MAX_ROUNDS = 16 };

int wm_datapath_init(struct wm_datapath *dp, struct wm_device *dev, struct wm_tun *tun,
		     struct wm_udp *udp, struct wm_workers *workers, struct wm_relays *relays,
		     const struct wm_node_hooks *hooks)
{
	memset(dp, 0, sizeof(*dp));
	dp->dev = dev;
	dp->tun = tun;
	dp->udp = udp;
	dp->workers = workers;
	dp->relays = relays;
	dp->hooks = hooks;
	dp->big_out = malloc((size_t)WM_DP_READS * WM_DP_BIG);
	dp->big_in = malloc((size_t)WM_DP_READS * WM_DP_BIG);
	dp->super = malloc(WM_DP_BIG);
	dp->segments = malloc(WM_DP_SEGMENT_ARENA);
	dp->coalesce = malloc((size_t)WM_DP_COALESCE_SLOTS * WM_DP_BIG);
	dp->relayed = malloc((size_t)WM_DP_READS * WM_DP_BIG);
	if (!dp->big_out || !dp->big_in || !dp->super || !dp->segments || !dp->coalesce ||
	    !dp->relayed) {
		wm_datapath_free(dp);
		return -ENOMEM;
	}
	return 0;
}

void wm_datapath_free(struct wm_datapath *dp)
{
	free(dp->big_out);
	free(dp->big_in);
	free(dp->super);
	free(dp->segments);
	free(dp->coalesce);
	free(dp->relayed);
	dp->big_out = dp->big_in = dp->super = dp->segments = dp->coalesce = dp->relayed = NULL;
}

static void reset_packet(struct wm_packet *p, uint8_t *data, size_t len)
{
	memset(p, 0, offsetof(struct wm_packet, key));
	p->data = data;
	p->len = len;
}

/* Plain TUN: read up to a batch of packets straight into sealable slots. */
static size_t read_plain(struct wm_datapath *dp)
{
	int i, n;

	for (i = 0; i < WM_DP_READS; i++) {
		dp->tun_slots[i].buf = dp->big_out + (size_t)i * WM_DP_BIG + WM_PACKET_HEADROOM;
		dp->tun_slots[i].cap = WM_MSG_MAX_LEN;
	}
	n = wm_tun_read_batch(dp->tun, dp->tun_slots, WM_DP_READS);
	if (n < 0) {
		dp->tun_read_errors++;
		dp->last_tun_error = n;
		return 0;
	}
	for (i = 0; i < n; i++)
		reset_packet(&dp->pkts[i], dp->tun_slots[i].buf, dp->tun_slots[i].len);
	return (size_t)n;
}

/*
 * Offload TUN: each read may be a super-packet; split each into MTU-sized
 * packets laid out in the segment arena with room to seal them in place.
 */
static size_t read_and_split(struct wm_datapath *dp)
{
	size_t stride = (WM_PACKET_HEADROOM + dp->dev->mtu + WM_PACKET_TAILROOM + 63) & ~(size_t)63;
	size_t slots = WM_DP_SEGMENT_ARENA / stride, count = 0, k;
	struct wm_tun_slot slot;
	int reads, got;

	if (slots > WM_DP_MAX_PACKETS)
		slots = WM_DP_MAX_PACKETS;
	for (reads = 0; reads < WM_DP_READS; reads++) {
		/* Room for the worst split of a 64 KiB read must remain. */
		if (slots - count < 256 && count)
			break;
		slot.buf = dp->super;
		slot.cap = WM_DP_BIG;
		got = wm_tun_read_batch(dp->tun, &slot, 1);
		if (got <= 0) {
			if (got < 0) {
				dp->tun_read_errors++;
				dp->last_tun_error = got;
			}
			break;
		}
		for (k = 0; k < slots - count; k++)
			dp->seg_ptrs[count + k] = dp->segments + (count + k) * stride + WM_PACKET_HEADROOM;
		got = wm_gso_split(dp->super, slot.len, dp->seg_ptrs + count, dp->seg_lens + count,
				   stride - WM_PACKET_HEADROOM - WM_PACKET_TAILROOM, slots - count);
		if (got < 0) {
			dp->offload_drops++;
			continue;
		}
		for (k = 0; k < (size_t)got; k++)
			reset_packet(&dp->pkts[count + k], dp->seg_ptrs[count + k], dp->seg_lens[count + k]);
		count += (size_t)got;
	}
	return count;
}

static bool too_big_answer_allowed(struct wm_datapath *dp, uint64_t now)
{
	if (now - dp->too_big_window >= 1000000000ULL) {
		dp->too_big_window = now;
		dp->too_big_in_window = 0;
	}
	return dp->too_big_in_window++ < WM_DP_TOO_BIG_PER_SECOND;
}

/* buf holds a packet of n bytes after WM_VNET_HDR_LEN bytes of room: into the TUN. */
static int write_own(struct wm_datapath *dp, uint8_t *buf, size_t n)
{
	struct wm_tun_slot slot;
	int r;

	/* A complete packet: the vnet header, when the TUN has one, says nothing (all zero). */
	memset(buf, 0, WM_VNET_HDR_LEN);
	slot.buf = dp->tun->vnet_hdr ? buf : buf + WM_VNET_HDR_LEN;
	slot.len = dp->tun->vnet_hdr ? n + WM_VNET_HDR_LEN : n;
	r = wm_tun_write_batch(dp->tun, &slot, 1);
	return r == 1 ? 0 : r < 0 ? r : -EAGAIN;
}

int wm_datapath_to_tun(struct wm_datapath *dp, const uint8_t *pkt, size_t len)
{
	uint8_t buf[WM_VNET_HDR_LEN + 65535];

	if (len > sizeof(buf) - WM_VNET_HDR_LEN)
		return -EMSGSIZE;
	memcpy(buf + WM_VNET_HDR_LEN, pkt, len);
	return write_own(dp, buf, len);
}

/* Tells the sender of pkt, through the TUN, that the tunnel carries at most tunnel_mtu bytes. */
static void answer_too_big(struct wm_datapath *dp, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t buf[WM_VNET_HDR_LEN + WM_FILTER_REJECT_MAX];
	size_t n;

	if (!too_big_answer_allowed(dp, now))
		return;
	n = wm_filter_frag_needed(pkt, len, (uint16_t)dp->tunnel_mtu, buf + WM_VNET_HDR_LEN,
				  WM_FILTER_REJECT_MAX);
	if (n && !write_own(dp, buf, n))
		dp->too_big_answered++;
}

/* Hands packets for the node's resolver over to it. Returns how many remain, moved to the front. */
static size_t take_resolver_packets(struct wm_datapath *dp, size_t count)
{
	size_t i, kept = 0;

	for (i = 0; i < count; i++) {
		struct wm_packet *p = &dp->pkts[i];

		if (wm_dns_packet_is_for_resolver(p->data, p->len)) {
			dp->hooks->resolver(dp->hooks->resolver_ctx, p->data, p->len);
			continue;
		}
		if (kept != i)
			dp->pkts[kept] = *p;
		kept++;
	}
	return kept;
}

/*
 * Keeps what enters the tunnel within tunnel_mtu: clamps SYNs, drops (and answers) IPv4
 * packets too big to fragment. Returns how many packets remain, moved to the front.
 */
static size_t fit_to_tunnel(struct wm_datapath *dp, size_t count, uint64_t now)
{
	size_t i, kept = 0;

	for (i = 0; i < count; i++) {
		struct wm_packet *p = &dp->pkts[i];

		if (wm_mtu_clamp_mss(p->data, p->len, dp->tunnel_mtu))
			dp->mss_clamped++;
		if (wm_mtu_check(p->data, p->len, dp->tunnel_mtu) == WM_MTU_TOO_BIG) {
			dp->too_big_dropped++;
			answer_too_big(dp, p->data, p->len, now);
			continue;
		}
		if (kept != i)
			dp->pkts[kept] = *p;
		kept++;
	}
	return kept;
}

/* What leaves the tunnel: SYNs clamped, so the answers this host sends fit it too. */
static void clamp_inbound(struct wm_datapath *dp, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct wm_packet *p = &dp->pkts[i];

		if (p->verdict == WM_VERDICT_TUN && wm_mtu_clamp_mss(p->data, p->len, dp->tunnel_mtu))
			dp->mss_clamped++;
	}
}

void wm_datapath_count(struct wm_datapath *dp, enum wm_dp_dir dir, const struct wm_endpoint *ep,
		       size_t len)
{
	uint16_t region;
	enum wm_dp_path path = wm_relays_is_relay_endpoint(ep, &region) ? WM_DP_DERP :
			       ep->addr.sa.sa_family == AF_INET6 ? WM_DP_DIRECT_IPV6 :
			       WM_DP_DIRECT_IPV4;

	dp->path_packets[dir][path]++;
	dp->path_bytes[dir][path] += len;
}

/* Sends a gathered batch; peers whose sticky source address went stale forget it. */
static void flush_udp(struct wm_datapath *dp, size_t out)
{
	size_t i;

	wm_udp_send_batch(dp->udp, dp->udp_slots, out);
	for (i = 0; i < out; i++) {
		struct wm_peer *peer = dp->udp_slots[i].owner;

		if (dp->udp_slots[i].src_stale && peer)
			wm_endpoint_clear_src(&peer->endpoint);
	}
}

static void send_sealed(struct wm_datapath *dp, size_t count)
{
	size_t i, out = 0;

	for (i = 0; i < count; i++) {
		uint16_t region;

		if (dp->pkts[i].verdict != WM_VERDICT_SEND)
			continue;
		wm_datapath_count(dp, WM_DP_OUT, &dp->pkts[i].endpoint, dp->pkts[i].len);
		if (wm_relays_is_relay_endpoint(&dp->pkts[i].endpoint, &region)) {
			wm_relays_send(dp->relays, region, dp->pkts[i].peer->public_key,
				       dp->pkts[i].data, dp->pkts[i].len);
			continue;
		}
		dp->udp_slots[out].buf = dp->pkts[i].data;
		dp->udp_slots[out].len = dp->pkts[i].len;
		dp->udp_slots[out].addr = dp->pkts[i].endpoint;
		dp->udp_slots[out].owner = dp->pkts[i].peer;
		dp->udp_slots[out].src_stale = false;
		if (++out == WM_DP_READS) {
			flush_udp(dp, out);
			out = 0;
		}
	}
	if (out)
		flush_udp(dp, out);
}

/* Access policy: flows this node starts are remembered… */
static void note_outbound(struct wm_datapath *dp, size_t count, uint64_t now)
{
	size_t i;

	for (i = 0; i < count; i++)
		dp->hooks->outbound(dp->hooks->policy_ctx, dp->pkts[i].data,
				     dp->pkts[i].len, now);
}

/* …and what comes out of the tunnel reaches the TUN only if the policy or a flow allows it. */
static void check_inbound(struct wm_datapath *dp, size_t count, uint64_t now)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct wm_packet *p = &dp->pkts[i];

		if (p->verdict == WM_VERDICT_TUN &&
		    !dp->hooks->inbound(dp->hooks->policy_ctx, p->peer, p->data, p->len, now))
			p->verdict = WM_VERDICT_DROP;
	}
}

int wm_datapath_from_tun(struct wm_datapath *dp)
{
	int round;

	dp->last_tun_error = 0;
	for (round = 0; round < MAX_ROUNDS; round++) {
		size_t count = dp->tun->vnet_hdr ? read_and_split(dp) : read_plain(dp);
		uint64_t now = wm_clock_monotonic_ns();

		if (!count)
			break;
		if (dp->hooks->resolver && !(count = take_resolver_packets(dp, count)))
			continue;
		if (dp->tunnel_mtu && !(count = fit_to_tunnel(dp, count, now)))
			continue;
		if (dp->hooks->outbound)
			note_outbound(dp, count, now);
		wm_send_prepare(dp->dev, dp->pkts, count, now);
		wm_workers_crypt(dp->workers, dp->pkts, count);
		send_sealed(dp, count);
	}
	return dp->last_tun_error;
}

static bool looks_like_wireguard(const uint8_t *d, size_t len)
{
	return len >= 4 && d[0] >= 1 && d[0] <= 4 && !d[1] && !d[2] && !d[3];
}

/* Turns received slots into packets, cutting UDP GRO bundles into their datagrams in place. */
static size_t split_received(struct wm_datapath *dp, size_t slots)
{
	size_t i, off, count = 0;

	for (i = 0; i < slots; i++) {
		const struct wm_udp_slot *s = &dp->udp_slots[i];
		size_t seg = s->segment ? s->segment : s->len;

		for (off = 0; off < s->len && count < WM_DP_MAX_PACKETS; off += seg) {
			struct wm_packet *p = &dp->pkts[count];
			size_t len = s->len - off < seg ? s->len - off : seg;
			uint8_t *data = s->buf + off;

			/*
			 * WireGuard messages start with type 1-4 and three zero bytes; mesh mode
			 * takes the rest (STUN replies start 01 01, disco with its magic).
			 */
			if (dp->hooks->udp_other && !looks_like_wireguard(data, len)) {
				dp->hooks->udp_other(dp->hooks->ctx, data, len, &s->addr);
				continue;
			}
			reset_packet(p, data, len);
			p->endpoint = s->addr;
			count++;
		}
	}
	return count;
}

/* Without the vnet header: one write per packet. */
static void write_plain(struct wm_datapath *dp, size_t count)
{
	size_t i, out = 0;

	for (i = 0; i < count; i++) {
		if (dp->pkts[i].verdict != WM_VERDICT_TUN)
			continue;
		dp->tun_slots[out].buf = dp->pkts[i].data;
		dp->tun_slots[out].len = dp->pkts[i].len;
		out++;
	}
	if (out)
		wm_tun_write_batch(dp->tun, dp->tun_slots, out);
}

/* Writes one gathered group: coalesce in-order TCP segments, then one write per result. */
static void flush_coalesced(struct wm_datapath *dp, size_t gathered)
{
	int n = wm_gro_coalesce(dp->gro, gathered, dp->gro_write), k;
	size_t out = 0;

	for (k = 0; k < n; k++) {
		struct wm_gro_packet *g = &dp->gro[dp->gro_write[k]];

		dp->tun_slots[out].buf = g->data - WM_VNET_HDR_LEN;
		dp->tun_slots[out].len = g->len + WM_VNET_HDR_LEN;
		out++;
	}
	if (out)
		wm_tun_write_batch(dp->tun, dp->tun_slots, out);
}

/*
 * With the vnet header: copy each packet into its own big slot (coalescing
 * appends to the first of a run, which needs free room behind it), in groups.
 */
static void write_coalesced(struct wm_datapath *dp, size_t count)
{
	size_t i, gathered = 0;

	for (i = 0; i < count; i++) {
		const struct wm_packet *p = &dp->pkts[i];
		struct wm_gro_packet *g;

		if (p->verdict != WM_VERDICT_TUN)
			continue;
		g = &dp->gro[gathered];
		g->data = dp->coalesce + gathered * WM_DP_BIG + WM_VNET_HDR_LEN;
		g->cap = WM_DP_BIG - WM_VNET_HDR_LEN;
		g->len = p->len;
		memcpy(g->data, p->data, p->len);
		if (++gathered == WM_DP_COALESCE_SLOTS) {
			flush_coalesced(dp, gathered);
			gathered = 0;
		}
	}
	if (gathered)
		flush_coalesced(dp, gathered);
}

/* The one way in: dp->pkts[0..count) through the engine, the access policy and to the TUN. */
static void receive_batch(struct wm_datapath *dp, size_t count, uint64_t now)
{
	size_t i;

	for (i = 0; i < count; i++)
		wm_datapath_count(dp, WM_DP_IN, &dp->pkts[i].endpoint, dp->pkts[i].len);
	wm_receive_prepare(dp->dev, dp->pkts, count, now);
	wm_workers_crypt(dp->workers, dp->pkts, count);
	wm_receive_finish(dp->dev, dp->pkts, count, now);
	if (dp->hooks->inbound)
		check_inbound(dp, count, now);
	if (dp->tunnel_mtu)
		clamp_inbound(dp, count);
	if (dp->tun->vnet_hdr)
		write_coalesced(dp, count);
	else
		write_plain(dp, count);
}

void wm_datapath_from_udp(struct wm_datapath *dp, int fd)
{
	int round, n, i;

	for (round = 0; round < MAX_ROUNDS; round++) {
		for (i = 0; i < WM_DP_READS; i++) {
			dp->udp_slots[i].buf = dp->big_in + (size_t)i * WM_DP_BIG;
			dp->udp_slots[i].cap = WM_DP_BIG;
		}
		n = wm_udp_recv_batch(fd, dp->udp_slots, WM_DP_READS);
		if (n <= 0)
			break;
		receive_batch(dp, split_received(dp, (size_t)n), wm_clock_monotonic_ns());
		if (n < WM_DP_READS)
			break;
	}
}

void wm_datapath_from_relay(struct wm_datapath *dp, uint16_t region, const uint8_t *buf,
			    size_t len)
{
	if (len > WM_MSG_MAX_LEN)
		return;
	if (dp->n_relayed == WM_DP_READS)
		wm_datapath_flush_relayed(dp);
	memcpy(dp->relayed + dp->n_relayed * WM_DP_BIG, buf, len);
	dp->relayed_region[dp->n_relayed] = region;
	dp->relayed_len[dp->n_relayed] = len;
	dp->n_relayed++;
}

bool wm_datapath_flush_relayed(struct wm_datapath *dp)
{
	size_t i, n = dp->n_relayed;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		reset_packet(&dp->pkts[i], dp->relayed + i * WM_DP_BIG, dp->relayed_len[i]);
		/* Into the engine as if from 127.3.3.40:REGION: replies go back the same way. */
		wm_relays_endpoint(&dp->pkts[i].endpoint, dp->relayed_region[i]);
	}
	dp->n_relayed = 0;
	receive_batch(dp, n, wm_clock_monotonic_ns());
	return true;
}
