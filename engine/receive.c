/* SPDX-License-Identifier: MIT */
#include "engine/receive.h"

#include <stddef.h>
#include <string.h>

#include "engine/crypt.h"
#include "engine/device.h"
#include "engine/ip.h"
#include "engine/send.h"

static void drop(struct wm_device *dev, struct wm_packet *p, enum wm_drop_reason reason)
{
	p->verdict = WM_VERDICT_DROP;
	p->drop_reason = (uint8_t)reason;
	dev->drops[reason]++;
}

static void consumed(struct wm_packet *p, struct wm_peer *peer)
{
	p->verdict = WM_VERDICT_CONSUMED;
	p->peer = peer;
}

/*
 * §5.3 "under load": the Linux implementation looks at its handshake queue;
 * we handle handshakes inline, so we count them per second instead, and stay
 * under load for a second after the rate was exceeded (as wireguard-go does).
 */
static bool note_handshake_and_check_load(struct wm_device *dev, uint64_t now)
{
	if (now - dev->load_window_start >= WM_NSEC_PER_SEC) {
		dev->load_window_start = now;
		dev->load_window_count = 0;
	}
	if (++dev->load_window_count > dev->under_load_threshold)
		dev->under_load_until = now + WM_NSEC_PER_SEC;
	return wm_device_is_under_load(dev, now);
}

static void send_cookie_reply(struct wm_device *dev, const struct wm_packet *p,
			      uint32_t wire_sender_index, uint64_t now)
{
	struct wm_msg_cookie reply;

	wm_cookie_create_reply(&dev->cookie_checker, &reply, p->data, p->len, wire_sender_index,
			       &p->endpoint, now, &dev->rng);
	dev->ops.send(dev->ops_ctx, NULL, &p->endpoint, (const uint8_t *)&reply, sizeof(reply));
}

/*
 * MAC checks common to both handshake messages. Returns true when the
 * message may be processed; otherwise it was dropped or answered with a cookie.
 */
static bool handshake_admitted(struct wm_device *dev, struct wm_packet *p, uint32_t wire_sender_index,
			       uint64_t now)
{
	bool under_load = note_handshake_and_check_load(dev, now);
	enum wm_cookie_mac_state state = wm_cookie_validate(&dev->cookie_checker, p->data, p->len,
							    &p->endpoint, under_load, now, &dev->rng);

	if (state == WM_COOKIE_INVALID_MAC) {
		drop(dev, p, WM_DROP_BAD_MAC1);
		return false;
	}
	if (!under_load)
		return true;
	if (state != WM_COOKIE_VALID_MAC1_AND_MAC2) {
		send_cookie_reply(dev, p, wire_sender_index, now);
		consumed(p, NULL);
		return false;
	}
	if (!wm_ratelimit_allow(&dev->ratelimit, &p->endpoint, now)) {
		drop(dev, p, WM_DROP_RATELIMITED);
		return false;
	}
	return true;
}

/* An authenticated packet came from p's source: roam there, count it, tell the timers. */
static void authenticated_from(struct wm_peer *peer, const struct wm_packet *p, uint64_t now)
{
	wm_peer_set_endpoint(peer, &p->endpoint);
	peer->rx_bytes += p->len;
	wm_timers_any_authenticated_packet_received(&peer->timers);
	wm_timers_any_authenticated_packet_traversal(&peer->timers, now,
						     peer->persistent_keepalive_interval);
}

/* The session is confirmed: the retries stop, and `wg show` learns when. */
static void handshake_complete(struct wm_peer *peer, uint64_t now)
{
	wm_timers_handshake_complete(&peer->timers);
	peer->last_handshake_wall_ns = wm_device_wall_time(peer->device, now);
}

/* Derives and installs a keypair from the completed handshake. */
static bool begin_session(struct wm_peer *peer, uint64_t now)
{
	struct wm_device *dev = peer->device;
	struct wm_keypair *kp = wm_keypair_create();

	if (!kp) {
		dev->drops[WM_DROP_NO_MEMORY]++;
		wm_noise_handshake_clear(&peer->handshake, &dev->index);
		return false;
	}
	if (!wm_noise_begin_session(&peer->handshake, kp, &dev->index, now)) {
		wm_keypair_destroy(kp, &dev->index);
		return false;
	}
	wm_keypairs_add(&peer->keypairs, kp, &dev->index);
	wm_timers_session_derived(&peer->timers, now);
	return true;
}

static void send_handshake_response(struct wm_peer *peer, uint64_t now)
{
	struct wm_device *dev = peer->device;
	struct wm_msg_response msg;

	if (!wm_noise_create_response(&msg, &peer->handshake, &dev->index, &dev->rng))
		return;
	if (!begin_session(peer, now))
		return;
	wm_send_handshake_message(peer, &msg, sizeof(msg), now);
}

static void receive_initiation(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	const struct wm_msg_initiation *msg = (const struct wm_msg_initiation *)p->data;
	struct wm_noise_initiation_scratch scratch;
	struct wm_peer *peer;

	if (!handshake_admitted(dev, p, msg->sender_index, now))
		return;
	if (!wm_noise_consume_initiation_static(&scratch, &dev->identity, msg))
		return drop(dev, p, WM_DROP_HANDSHAKE_INVALID);
	peer = wm_device_lookup_peer(dev, scratch.remote_static);
	if (!peer) {
		wm_crypto_wipe(&scratch, sizeof(scratch));
		return drop(dev, p, WM_DROP_HANDSHAKE_INVALID);
	}
	if (!wm_noise_consume_initiation_finish(&peer->handshake, &scratch, msg, now))
		return drop(dev, p, WM_DROP_HANDSHAKE_INVALID);
	authenticated_from(peer, p, now);
	send_handshake_response(peer, now);
	consumed(p, peer);
}

static void receive_response(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	const struct wm_msg_response *msg = (const struct wm_msg_response *)p->data;
	struct wm_index_entry *entry;
	struct wm_peer *peer;

	if (!handshake_admitted(dev, p, msg->sender_index, now))
		return;
	entry = wm_index_lookup(&dev->index, le32toh(msg->receiver_index), WM_INDEX_HANDSHAKE);
	if (!entry)
		return drop(dev, p, WM_DROP_UNKNOWN_INDEX);
	peer = entry->peer;
	if (!wm_noise_consume_response(&peer->handshake, &dev->identity, msg))
		return drop(dev, p, WM_DROP_HANDSHAKE_INVALID);
	authenticated_from(peer, p, now);
	if (begin_session(peer, now)) {
		handshake_complete(peer, now);
		/* Staged data confirms the session to the responder; else a keepalive does. */
		wm_send_keepalive(peer, now);
	}
	consumed(p, peer);
}

static void receive_cookie(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	const struct wm_msg_cookie *msg = (const struct wm_msg_cookie *)p->data;
	struct wm_index_entry *entry;

	entry = wm_index_lookup(&dev->index, le32toh(msg->receiver_index),
				WM_INDEX_HANDSHAKE | WM_INDEX_KEYPAIR);
	if (!entry)
		return drop(dev, p, WM_DROP_UNKNOWN_INDEX);
	/* The retransmit timer resends with MAC2; resending now would amplify floods. */
	if (!wm_cookie_consume_reply(&entry->peer->cookie, msg, now))
		return drop(dev, p, WM_DROP_COOKIE_INVALID);
	consumed(p, entry->peer);
}

/* §6.2: an initiator whose keys are nearly too old to receive on starts over now. */
static void keep_key_fresh(struct wm_peer *peer, uint64_t now)
{
	struct wm_keypair *kp = peer->keypairs.current;

	if (kp && kp->send_valid && kp->i_am_initiator && !peer->timers.sent_lastminute_handshake &&
	    now - kp->birthdate > WM_REJECT_AFTER_TIME - WM_KEEPALIVE_TIMEOUT - WM_REKEY_TIMEOUT) {
		peer->timers.sent_lastminute_handshake = true;
		wm_send_handshake_initiation(peer, now, false);
	}
}

static struct wm_keypair *keypair_of(struct wm_index_entry *entry)
{
	return (struct wm_keypair *)((uint8_t *)entry - offsetof(struct wm_keypair, entry));
}

/* Finds the keypair and readies the packet for wm_crypt_packets. */
static void prepare_data(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	const struct wm_msg_data *hdr = (const struct wm_msg_data *)p->data;
	struct wm_index_entry *entry;
	struct wm_keypair *kp;

	entry = wm_index_lookup(&dev->index, le32toh(hdr->key_index), WM_INDEX_KEYPAIR);
	if (!entry)
		return drop(dev, p, WM_DROP_UNKNOWN_INDEX);
	kp = keypair_of(entry);
	p->peer = entry->peer;
	if (!wm_keypair_can_receive(kp, now))
		return drop(dev, p, WM_DROP_KEY_EXPIRED);
	p->counter = le64toh(hdr->counter);
	memcpy(p->key, kp->recv_key, WM_SYMMETRIC_KEY_LEN);
	p->verdict = WM_VERDICT_OPEN;
}

/* After the AEAD: replay window, roaming, key confirmation, timers, the inner packet. */
static void finish_data(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	const struct wm_msg_data *hdr = (const struct wm_msg_data *)p->data;
	struct wm_index_entry *entry;
	struct wm_keypair *kp;
	struct wm_peer *peer;
	struct wm_ip_info ip;
	size_t plain_len;

	if (p->verdict == WM_VERDICT_OPEN_FAILED)
		return drop(dev, p, WM_DROP_DECRYPT_FAILED);
	/* Look again: an earlier packet of this batch may have retired the keypair. */
	entry = wm_index_lookup(&dev->index, le32toh(hdr->key_index), WM_INDEX_KEYPAIR);
	if (!entry)
		return drop(dev, p, WM_DROP_UNKNOWN_INDEX);
	kp = keypair_of(entry);
	peer = entry->peer;
	p->peer = peer;
	/* Only after authentication may a counter move the window. */
	if (!wm_replay_check_and_update(&kp->replay, p->counter, WM_REJECT_AFTER_MESSAGES))
		return drop(dev, p, WM_DROP_REPLAYED);

	authenticated_from(peer, p, now);
	if (wm_keypairs_received_with(&peer->keypairs, kp, &dev->index)) {
		handshake_complete(peer, now);
		wm_send_staged_packets(peer, now);
	}
	keep_key_fresh(peer, now);

	plain_len = p->len - WM_MSG_DATA_HEADER_LEN - WM_AUTHTAG_LEN;
	if (plain_len == 0)
		return consumed(p, peer);	/* a keepalive */
	if (!wm_ip_parse(&ip, p->data + WM_MSG_DATA_HEADER_LEN, plain_len))
		return drop(dev, p, WM_DROP_BAD_INNER_PACKET);
	/* Cryptokey routing, inbound half: the source must be one of the peer's allowed IPs. */
	if (wm_allowedips_lookup(&dev->allowedips, ip.family, ip.src) != peer)
		return drop(dev, p, WM_DROP_SOURCE_NOT_ALLOWED);
	wm_timers_data_received(&peer->timers, now);
	p->data += WM_MSG_DATA_HEADER_LEN;
	p->len = ip.total_len;
	p->verdict = WM_VERDICT_TUN;
}

static void receive_one(struct wm_device *dev, struct wm_packet *p, uint64_t now)
{
	uint32_t type;

	p->peer = NULL;
	p->verdict = WM_VERDICT_NONE;
	if (!dev->identity.has_private_key)
		return drop(dev, p, WM_DROP_NO_KEY);
	if (p->len < sizeof(type))
		return drop(dev, p, WM_DROP_MALFORMED);
	memcpy(&type, p->data, sizeof(type));
	switch (le32toh(type)) {
	case WM_MSG_HANDSHAKE_INITIATION:
		if (p->len != WM_MSG_INITIATION_LEN)
			return drop(dev, p, WM_DROP_MALFORMED);
		return receive_initiation(dev, p, now);
	case WM_MSG_HANDSHAKE_RESPONSE:
		if (p->len != WM_MSG_RESPONSE_LEN)
			return drop(dev, p, WM_DROP_MALFORMED);
		return receive_response(dev, p, now);
	case WM_MSG_HANDSHAKE_COOKIE:
		if (p->len != WM_MSG_COOKIE_LEN)
			return drop(dev, p, WM_DROP_MALFORMED);
		return receive_cookie(dev, p, now);
	case WM_MSG_DATA:
		if (p->len < WM_MSG_DATA_MIN_LEN)
			return drop(dev, p, WM_DROP_MALFORMED);
		return prepare_data(dev, p, now);
	default:
		return drop(dev, p, WM_DROP_UNKNOWN_TYPE);
	}
}

void wm_receive_prepare(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++)
		receive_one(dev, &pkts[i], now);
}

void wm_receive_finish(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pkts[i].verdict == WM_VERDICT_OPENED || pkts[i].verdict == WM_VERDICT_OPEN_FAILED)
			finish_data(dev, &pkts[i], now);
}

void wm_receive_packets(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now)
{
	wm_receive_prepare(dev, pkts, n, now);
	wm_crypt_packets(pkts, n);
	wm_receive_finish(dev, pkts, n, now);
}
