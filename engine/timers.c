/* SPDX-License-Identifier: MIT */
#include "engine/timers.h"

#include "engine/messages.h"

/*
 * Spreads retries so peers that lost packets together do not retry in
 * lockstep. Not a secret, and on the send path: a cheap generator seeded from
 * the device's random source, not a system call per packet.
 */
static uint64_t jitter(struct wm_timers *t)
{
	uint64_t z = (*t->jitter_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31)) % WM_REKEY_TIMEOUT_JITTER_MAX;
}

void wm_timers_init(struct wm_timers *t, uint64_t *jitter_state)
{
	*t = (struct wm_timers){ .jitter_state = jitter_state };
}

void wm_timers_data_sent(struct wm_timers *t, uint64_t now)
{
	if (!t->new_handshake)
		t->new_handshake = now + WM_KEEPALIVE_TIMEOUT + WM_REKEY_TIMEOUT + jitter(t);
}

void wm_timers_data_received(struct wm_timers *t, uint64_t now)
{
	if (!t->send_keepalive)
		t->send_keepalive = now + WM_KEEPALIVE_TIMEOUT;
	else
		t->need_another_keepalive = true;
}

void wm_timers_any_authenticated_packet_sent(struct wm_timers *t)
{
	t->send_keepalive = 0;
}

void wm_timers_any_authenticated_packet_received(struct wm_timers *t)
{
	t->new_handshake = 0;
}

void wm_timers_any_authenticated_packet_traversal(struct wm_timers *t, uint64_t now,
						  uint16_t persistent_keepalive_interval)
{
	if (persistent_keepalive_interval)
		t->persistent_keepalive = now + persistent_keepalive_interval * WM_NSEC_PER_SEC;
}

void wm_timers_handshake_initiated(struct wm_timers *t, uint64_t now)
{
	t->retransmit_handshake = now + WM_REKEY_TIMEOUT + jitter(t);
}

void wm_timers_handshake_complete(struct wm_timers *t)
{
	t->retransmit_handshake = 0;
	t->handshake_attempts = 0;
	t->sent_lastminute_handshake = false;
}

void wm_timers_session_derived(struct wm_timers *t, uint64_t now)
{
	t->zero_key_material = now + WM_ZERO_KEY_AFTER;
}

static bool due(uint64_t deadline, uint64_t now)
{
	return deadline && deadline <= now;
}

unsigned wm_timers_expired(struct wm_timers *t, uint64_t now, uint16_t persistent_keepalive_interval)
{
	unsigned actions = 0;

	if (t->keepalive_again) {
		t->keepalive_again = false;
		t->send_keepalive = now + WM_KEEPALIVE_TIMEOUT;
	}
	if (due(t->retransmit_handshake, now)) {
		t->retransmit_handshake = 0;
		if (t->handshake_attempts <= WM_MAX_TIMER_HANDSHAKES) {
			t->handshake_attempts++;
			return WM_TIMER_RETRANSMIT_HANDSHAKE;
		}
		/*
		 * Give up (REKEY_ATTEMPT_TIME): drop what waited, wipe what is left later,
		 * and send no keepalive into the silence (without usable keys, staging one
		 * would start the handshakes over); the Linux implementation does the same.
		 */
		t->send_keepalive = 0;
		t->need_another_keepalive = false;
		if (!t->zero_key_material)
			t->zero_key_material = now + WM_ZERO_KEY_AFTER;
		actions |= WM_TIMER_GIVE_UP;
	}
	if (due(t->send_keepalive, now)) {
		t->send_keepalive = 0;
		t->keepalive_again = t->need_another_keepalive;
		t->need_another_keepalive = false;
		return actions | WM_TIMER_SEND_KEEPALIVE;
	}
	if (due(t->new_handshake, now)) {
		/* We sent data and heard nothing for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT. */
		t->new_handshake = 0;
		return actions | WM_TIMER_NEW_HANDSHAKE;
	}
	if (due(t->zero_key_material, now)) {
		t->zero_key_material = 0;
		actions |= WM_TIMER_ZERO_KEYS;
	}
	if (due(t->persistent_keepalive, now)) {
		t->persistent_keepalive = 0;
		if (persistent_keepalive_interval)
			actions |= WM_TIMER_PERSISTENT_KEEPALIVE;
	}
	return actions;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

uint64_t wm_timers_next_deadline(const struct wm_timers *t)
{
	uint64_t d = earliest(t->retransmit_handshake, t->send_keepalive);

	d = earliest(d, t->new_handshake);
	d = earliest(d, t->zero_key_material);
	return earliest(d, t->persistent_keepalive);
}

void wm_timers_stop(struct wm_timers *t)
{
	t->retransmit_handshake = t->send_keepalive = t->new_handshake = 0;
	t->zero_key_material = t->persistent_keepalive = 0;
	t->need_another_keepalive = false;
	t->keepalive_again = false;
}
