/* SPDX-License-Identifier: MIT */
#include "engine/timers.h"

#include "engine/device.h"
#include "engine/peer.h"
#include "engine/send.h"

/*
 * Spreads retries so peers that lost packets together do not retry in
 * lockstep. Not a secret, and on the send path: a cheap generator seeded from
 * the device's random source, not a system call per packet.
 */
static uint64_t jitter(const struct wm_peer *peer)
{
	uint64_t *state = &peer->device->jitter_state;
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) % WM_REKEY_TIMEOUT_JITTER_MAX;
}

void wm_timers_data_sent(struct wm_peer *peer, uint64_t now)
{
	if (!peer->timers.new_handshake)
		peer->timers.new_handshake = now + WM_KEEPALIVE_TIMEOUT + WM_REKEY_TIMEOUT + jitter(peer);
}

void wm_timers_data_received(struct wm_peer *peer, uint64_t now)
{
	if (!peer->timers.send_keepalive)
		peer->timers.send_keepalive = now + WM_KEEPALIVE_TIMEOUT;
	else
		peer->timers.need_another_keepalive = true;
}

void wm_timers_any_authenticated_packet_sent(struct wm_peer *peer, uint64_t now)
{
	(void)now;
	peer->timers.send_keepalive = 0;
}

void wm_timers_any_authenticated_packet_received(struct wm_peer *peer, uint64_t now)
{
	(void)now;
	peer->timers.new_handshake = 0;
}

void wm_timers_any_authenticated_packet_traversal(struct wm_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive_interval)
		peer->timers.persistent_keepalive =
			now + peer->persistent_keepalive_interval * WM_NSEC_PER_SEC;
}

void wm_timers_handshake_initiated(struct wm_peer *peer, uint64_t now)
{
	peer->timers.retransmit_handshake = now + WM_REKEY_TIMEOUT + jitter(peer);
}

void wm_timers_handshake_complete(struct wm_peer *peer, uint64_t now)
{
	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	peer->last_handshake_wall_ns = wm_device_wall_time(peer->device, now);
}

void wm_timers_session_derived(struct wm_peer *peer, uint64_t now)
{
	peer->timers.zero_key_material = now + WM_ZERO_KEY_AFTER;
}

static void retransmit_handshake_expired(struct wm_peer *peer, uint64_t now)
{
	struct wm_timers *t = &peer->timers;

	t->retransmit_handshake = 0;
	if (t->handshake_attempts > WM_MAX_TIMER_HANDSHAKES) {
		/*
		 * Give up (REKEY_ATTEMPT_TIME): drop what waited, wipe what is left later,
		 * and send no keepalive into the silence (without usable keys, staging one
		 * would start the handshakes over); the Linux implementation does the same.
		 */
		t->send_keepalive = 0;
		t->need_another_keepalive = false;
		wm_peer_clear_staged(peer);
		if (!t->zero_key_material)
			t->zero_key_material = now + WM_ZERO_KEY_AFTER;
		return;
	}
	t->handshake_attempts++;
	/*
	 * Our source address may be why nothing came back (it may have left this host):
	 * let the kernel choose again, as the Linux implementation does on every retry.
	 */
	wm_endpoint_clear_src(&peer->endpoint);
	wm_send_handshake_initiation(peer, now, true);
}

static void send_keepalive_expired(struct wm_peer *peer, uint64_t now)
{
	peer->timers.send_keepalive = 0;
	wm_send_keepalive(peer, now);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		peer->timers.send_keepalive = now + WM_KEEPALIVE_TIMEOUT;
	}
}

static void new_handshake_expired(struct wm_peer *peer, uint64_t now)
{
	/* We sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT. */
	peer->timers.new_handshake = 0;
	/* As on a retry: the source address may be the trouble, let the kernel choose again. */
	wm_endpoint_clear_src(&peer->endpoint);
	wm_send_handshake_initiation(peer, now, false);
}

static void zero_key_material_expired(struct wm_peer *peer, uint64_t now)
{
	(void)now;
	peer->timers.zero_key_material = 0;
	wm_noise_handshake_clear(&peer->handshake, &peer->device->index);
	wm_keypairs_clear(&peer->keypairs, &peer->device->index);
}

static void persistent_keepalive_expired(struct wm_peer *peer, uint64_t now)
{
	peer->timers.persistent_keepalive = 0;
	if (peer->persistent_keepalive_interval)
		wm_send_keepalive(peer, now);
}

static bool due(uint64_t deadline, uint64_t now)
{
	return deadline && deadline <= now;
}

void wm_timers_run_expired(struct wm_peer *peer, uint64_t now)
{
	if (due(peer->timers.retransmit_handshake, now))
		retransmit_handshake_expired(peer, now);
	if (due(peer->timers.send_keepalive, now))
		send_keepalive_expired(peer, now);
	if (due(peer->timers.new_handshake, now))
		new_handshake_expired(peer, now);
	if (due(peer->timers.zero_key_material, now))
		zero_key_material_expired(peer, now);
	if (due(peer->timers.persistent_keepalive, now))
		persistent_keepalive_expired(peer, now);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

uint64_t wm_timers_next_deadline(const struct wm_peer *peer)
{
	const struct wm_timers *t = &peer->timers;
	uint64_t d = earliest(t->retransmit_handshake, t->send_keepalive);

	d = earliest(d, t->new_handshake);
	d = earliest(d, t->zero_key_material);
	return earliest(d, t->persistent_keepalive);
}

void wm_timers_stop(struct wm_peer *peer)
{
	struct wm_timers *t = &peer->timers;

	t->retransmit_handshake = t->send_keepalive = t->new_handshake = 0;
	t->zero_key_material = t->persistent_keepalive = 0;
	t->need_another_keepalive = false;
}
