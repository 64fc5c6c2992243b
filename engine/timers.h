/* SPDX-License-Identifier: MIT */
/*
 * The five per-peer timers of whitepaper §6, kept as deadlines (monotonic ns,
 * 0 = not armed) so an event loop can arm one real timer for the earliest:
 *
 *   retransmit_handshake  resend an unanswered initiation after REKEY_TIMEOUT + jitter
 *   send_keepalive        answer received data with a keepalive if we send nothing
 *   new_handshake         data sent but nothing came back: start a new handshake
 *   zero_key_material     wipe keys after 3 × REJECT_AFTER_TIME of silence
 *   persistent_keepalive  keep NAT mappings open at the configured interval
 *
 * A state machine and nothing more: the hooks, named for what happened, are
 * called by the send and receive paths; wm_timers_expired says what the timers
 * due ask for, and tick.c, above the send path, does it. So the timers know no
 * peer, device or socket, and the send path may use them without a circle.
 */
#ifndef WM_TIMERS_H
#define WM_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct wm_timers {
	uint64_t retransmit_handshake;
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	bool keepalive_again;		/* re-arm send_keepalive once the caller sent the one due */
	uint64_t *jitter_state;		/* the device's cheap generator, shared by its peers */
};

/* What expired timers ask of the caller, done in the order of the bits, lowest first. */
enum wm_timer_action {
	WM_TIMER_RETRANSMIT_HANDSHAKE = 1 << 0,	/* forget the source address, resend (a retry) */
	WM_TIMER_GIVE_UP = 1 << 1,		/* REKEY_ATTEMPT_TIME passed: drop the staged packets */
	WM_TIMER_SEND_KEEPALIVE = 1 << 2,	/* send the staged packets, or a keepalive */
	WM_TIMER_NEW_HANDSHAKE = 1 << 3,	/* forget the source address, start a handshake */
	WM_TIMER_ZERO_KEYS = 1 << 4,		/* wipe the handshake and every keypair */
	WM_TIMER_PERSISTENT_KEEPALIVE = 1 << 5,	/* send the staged packets, or a keepalive */
};

/* Unarmed timers that draw retry jitter from *jitter_state (seeded by the owner). */
void wm_timers_init(struct wm_timers *t, uint64_t *jitter_state);

/* Call after sending a data packet (not a keepalive). */
void wm_timers_data_sent(struct wm_timers *t, uint64_t now);
/* Call after receiving a data packet (not a keepalive). */
void wm_timers_data_received(struct wm_timers *t, uint64_t now);
/* Call after sending any authenticated packet: data, keepalive or handshake. */
void wm_timers_any_authenticated_packet_sent(struct wm_timers *t);
/* Call after receiving any authenticated packet. */
void wm_timers_any_authenticated_packet_received(struct wm_timers *t);
/* Call after any authenticated packet was sent or received (interval in seconds, 0 = off). */
void wm_timers_any_authenticated_packet_traversal(struct wm_timers *t, uint64_t now,
						  uint16_t persistent_keepalive_interval);
/* Call after sending a handshake initiation. */
void wm_timers_handshake_initiated(struct wm_timers *t, uint64_t now);
/* Call after a handshake completed (response consumed, or first data under a new keypair). */
void wm_timers_handshake_complete(struct wm_timers *t);
/* Call after new transport keys were derived. */
void wm_timers_session_derived(struct wm_timers *t, uint64_t now);

/*
 * Disarms (or moves on) the timers due at now and returns what they ask for, as
 * wm_timer_action bits. An action that sends a packet ends the set, and the caller calls again
 * after acting until 0 comes back: the packet's own hooks move the timers listed after it, and
 * a keepalive that must be followed by another is re-armed only once it went (sending it would
 * otherwise cancel its successor) — as if each timer had run and sent in turn.
 */
unsigned wm_timers_expired(struct wm_timers *t, uint64_t now, uint16_t persistent_keepalive_interval);

/* The earliest armed deadline, or 0 when none is armed. */
uint64_t wm_timers_next_deadline(const struct wm_timers *t);

/* Disarms everything (the peer is going away). */
void wm_timers_stop(struct wm_timers *t);

#endif
