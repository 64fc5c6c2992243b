/* SPDX-License-Identifier: MIT */
#include "engine/tick.h"

#include "engine/device.h"
#include "engine/send.h"

/* Does one set of wm_timer_action bits, lowest first, as timers.h asks. */
static void act(struct wm_peer *peer, unsigned actions, uint64_t now)
{
	struct wm_device *dev = peer->device;

	/*
	 * Before a retry or a new handshake our source address is forgotten: it may be why
	 * nothing came back (it may have left this host), so the kernel chooses again, as
	 * the Linux implementation's timers do.
	 */
	if (actions & WM_TIMER_RETRANSMIT_HANDSHAKE) {
		wm_endpoint_clear_src(&peer->endpoint);
		wm_send_handshake_initiation(peer, now, true);
	}
	if (actions & WM_TIMER_GIVE_UP)
		wm_peer_clear_staged(peer);
	if (actions & WM_TIMER_SEND_KEEPALIVE)
		wm_send_keepalive(peer, now);
	if (actions & WM_TIMER_NEW_HANDSHAKE) {
		wm_endpoint_clear_src(&peer->endpoint);
		wm_send_handshake_initiation(peer, now, false);
	}
	if (actions & WM_TIMER_ZERO_KEYS) {
		wm_noise_handshake_clear(&peer->handshake, &dev->index);
		wm_keypairs_clear(&peer->keypairs, &dev->index);
	}
	if (actions & WM_TIMER_PERSISTENT_KEEPALIVE)
		wm_send_keepalive(peer, now);
}

void wm_tick_run(struct wm_device *dev, uint64_t now)
{
	struct wm_peer *p, *next;
	unsigned actions;

	for (p = dev->peers_head; p; p = next) {
		next = p->next;
		while ((actions = wm_timers_expired(&p->timers, now, p->persistent_keepalive_interval)))
			act(p, actions, now);
	}
}

uint64_t wm_tick_next_deadline(const struct wm_device *dev)
{
	const struct wm_peer *p;
	uint64_t best = 0, d;

	for (p = dev->peers_head; p; p = p->next) {
		d = wm_timers_next_deadline(&p->timers);
		if (d && (!best || d < best))
			best = d;
	}
	return best;
}
