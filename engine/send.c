/* SPDX-License-Identifier: MIT */
#include "engine/send.h"

#include <stdlib.h>
#include <string.h>

#include "engine/crypt.h"
#include "engine/device.h"
#include "engine/ip.h"
#include "engine/peer.h"
#include "engine/timers.h"

void wm_send_buffer_to_peer(struct wm_peer *peer, const uint8_t *buf, size_t len)
{
	struct wm_device *dev = peer->device;

	if (!wm_endpoint_is_set(&peer->endpoint)) {
		dev->drops[WM_DROP_NO_ENDPOINT]++;
		return;
	}
	peer->tx_bytes += len;
	dev->ops.send(dev->ops_ctx, peer, &peer->endpoint, buf, len);
}

void wm_send_handshake_message(struct wm_peer *peer, void *msg, size_t len, uint64_t now)
{
	wm_cookie_add_macs(&peer->cookie, msg, len, now);
	wm_timers_any_authenticated_packet_traversal(&peer->timers, now,
						     peer->persistent_keepalive_interval);
	wm_timers_any_authenticated_packet_sent(&peer->timers);
	/*
	 * An initiation or a response is a handshake sent: for REKEY_TIMEOUT no other starts (a
	 * responder's own data waits for the initiator's confirmation instead of crossing it; the
	 * Linux implementation and wireguard-go both stamp it for both messages).
	 */
	peer->last_sent_handshake = now;
	wm_send_buffer_to_peer(peer, msg, len);
}

static void send_initiation(struct wm_peer *peer, uint64_t now)
{
	struct wm_device *dev = peer->device;
	struct wm_msg_initiation msg;
	uint8_t timestamp[WM_TIMESTAMP_LEN];

	wm_noise_tai64n(timestamp, wm_device_wall_time(dev, now));
	if (!wm_noise_create_initiation(&msg, &peer->handshake, &dev->identity, &dev->index,
					&dev->rng, timestamp))
		return;
	wm_send_handshake_message(peer, &msg, sizeof(msg), now);
	wm_timers_handshake_initiated(&peer->timers, now);
}

void wm_send_handshake_initiation(struct wm_peer *peer, uint64_t now, bool is_retry)
{
	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	if (peer->last_sent_handshake && now - peer->last_sent_handshake < WM_REKEY_TIMEOUT)
		return;
	send_initiation(peer, now);
}

void wm_send_handshake_on_new_endpoint(struct wm_peer *peer, uint64_t now)
{
	/*
	 * Only an initiation still waiting for its answer: its retransmit timer runs, and we have
	 * not since answered the peer's own (which replaced ours; a session comes without it).
	 */
	if (!peer->timers.retransmit_handshake ||
	    peer->handshake.state != WM_HANDSHAKE_CREATED_INITIATION)
		return;
	/* Closer than this, the responder would take the new one for a flood (§5.1). */
	if (now - peer->last_sent_handshake < WM_NSEC_PER_SEC / WM_INITIATIONS_PER_SECOND)
		return;
	send_initiation(peer, now);
}

/* §5.4.6: pad the plaintext to a multiple of 16, but never past the MTU. */
static size_t padding_for(size_t len, unsigned mtu)
{
	size_t last_unit = len, padded;

	if (mtu && len > mtu)
		last_unit = len % mtu;
	padded = (last_unit + WM_MSG_PADDING_MULTIPLE - 1) & ~(size_t)(WM_MSG_PADDING_MULTIPLE - 1);
	if (mtu && padded > mtu)
		padded = mtu;
	return padded > last_unit ? padded - last_unit : 0;
}

/*
 * Writes the transport header (WM_PACKET_HEADROOM bytes before plain) and the
 * padding after it, takes the next counter, and readies p for wm_crypt_packets.
 */
static void prepare_seal(struct wm_packet *p, struct wm_keypair *kp, uint8_t *plain, size_t len,
			 unsigned mtu)
{
	struct wm_msg_data *hdr = (struct wm_msg_data *)(plain - WM_PACKET_HEADROOM);
	size_t padding = padding_for(len, mtu);

	memset(plain + len, 0, padding);
	p->counter = kp->send_counter++;
	hdr->header.type = htole32(WM_MSG_DATA);
	hdr->key_index = kp->remote_index;
	hdr->counter = htole64(p->counter);
	memcpy(p->key, kp->send_key, WM_SYMMETRIC_KEY_LEN);
	p->data = (uint8_t *)hdr;
	p->len = WM_MSG_DATA_HEADER_LEN + len + padding + WM_AUTHTAG_LEN;
	p->verdict = WM_VERDICT_SEAL;
}

/* §6.2: the initiator renews keys by age; either side by message count. */
static void keep_key_fresh(struct wm_peer *peer, uint64_t now)
{
	struct wm_keypair *kp = peer->keypairs.current;

	if (kp && kp->send_valid &&
	    (kp->send_counter > WM_REKEY_AFTER_MESSAGES ||
	     (kp->i_am_initiator && now - kp->birthdate > WM_REKEY_AFTER_TIME)))
		wm_send_handshake_initiation(peer, now, false);
}

/* Hooks after sending one sealed packet of plaintext length len. */
static void sent_one(struct wm_peer *peer, size_t len, uint64_t now)
{
	if (len)
		wm_timers_data_sent(&peer->timers, now);
	wm_timers_any_authenticated_packet_traversal(&peer->timers, now,
						     peer->persistent_keepalive_interval);
	wm_timers_any_authenticated_packet_sent(&peer->timers);
}

void wm_send_staged_packets(struct wm_peer *peer, uint64_t now)
{
	struct wm_keypair *kp = peer->keypairs.current;
	struct wm_device *dev = peer->device;

	if (!peer->staged_count)
		return;
	if (!wm_keypair_can_send(kp, now)) {
		wm_send_handshake_initiation(peer, now, false);
		return;
	}
	while (peer->staged_count) {
		struct wm_staged_packet *sp = &peer->staged[peer->staged_head];
		struct wm_packet p = { 0 };

		if (!wm_keypair_can_send(kp, now)) {
			/* Counters ran out part way (§6.1): the rest wait for new keys. */
			wm_send_handshake_initiation(peer, now, false);
			return;
		}
		prepare_seal(&p, kp, sp->buf + WM_PACKET_HEADROOM, sp->len, dev->mtu);
		wm_crypt_packets(&p, 1);
		wm_send_buffer_to_peer(peer, p.data, p.len);
		sent_one(peer, sp->len, now);
		free(sp->buf);
		sp->buf = NULL;
		peer->staged_head = (peer->staged_head + 1) % WM_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	keep_key_fresh(peer, now);
}

void wm_send_keepalive(struct wm_peer *peer, uint64_t now)
{
	bool evicted;	/* never: an empty queue has room */

	if (!peer->staged_count && !wm_peer_stage_packet(peer, NULL, 0, &evicted)) {
		peer->device->drops[WM_DROP_NO_MEMORY]++;
		return;
	}
	wm_send_staged_packets(peer, now);
}

static void drop(struct wm_device *dev, struct wm_packet *p, enum wm_drop_reason reason)
{
	p->verdict = WM_VERDICT_DROP;
	p->drop_reason = (uint8_t)reason;
	dev->drops[reason]++;
}

static void prepare_one(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	struct wm_ip_info ip;
	struct wm_peer *peer;
	struct wm_keypair *kp;
	bool evicted;

	p->peer = NULL;
	if (!dev->identity.has_private_key)
		return drop(dev, p, WM_DROP_NO_KEY);
	if (!wm_ip_parse(&ip, p->data, p->len))
		return drop(dev, p, WM_DROP_BAD_INNER_PACKET);
	peer = wm_allowedips_lookup(&dev->allowedips, ip.family, ip.dst);
	if (!peer)
		return drop(dev, p, WM_DROP_NO_ROUTE);
	p->peer = peer;
	if (!wm_endpoint_is_set(&peer->endpoint))
		return drop(dev, p, WM_DROP_NO_ENDPOINT);

	kp = peer->keypairs.current;
	if (!peer->staged_count && wm_keypair_can_send(kp, now)) {
		size_t plain_len = p->len;

		prepare_seal(p, kp, p->data, p->len, dev->mtu);
		p->endpoint = peer->endpoint;
		peer->tx_bytes += p->len;
		sent_one(peer, plain_len, now);
		keep_key_fresh(peer, now);
		return;
	}
	/* No session yet (or older packets wait): queue behind them, keep order. */
	if (!wm_peer_stage_packet(peer, p->data, p->len, &evicted))
		return drop(dev, p, WM_DROP_NO_MEMORY);
	if (evicted)
		dev->drops[WM_DROP_STAGED_OVERFLOW]++;
	p->verdict = WM_VERDICT_CONSUMED;
	wm_send_staged_packets(peer, now);
}

void wm_send_prepare(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++)
		prepare_one(dev, &pkts[i], now);
}

void wm_send_packets(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now)
{
	wm_send_prepare(dev, pkts, n, now);
	wm_crypt_packets(pkts, n);
}
