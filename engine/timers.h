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
 * The hooks are named for what happened; the send and receive paths call them.
 */
#ifndef WM_TIMERS_H
#define WM_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

struct wm_peer;

struct wm_timers {
	uint64_t retransmit_handshake;
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
};

/* Call after sending a data packet (not a keepalive). */
void wm_timers_data_sent(struct wm_peer *peer, uint64_t now);
/* Call after receiving a data packet (not a keepalive). */
void wm_timers_data_received(struct wm_peer *peer, uint64_t now);
/* Call after sending any authenticated packet: data, keepalive or handshake. */
void wm_timers_any_authenticated_packet_sent(struct wm_peer *peer, uint64_t now);
/* Call after receiving any authenticated packet. */
void wm_timers_any_authenticated_packet_received(struct wm_peer *peer, uint64_t now);
/* Call after any authenticated packet was sent or received. */
void wm_timers_any_authenticated_packet_traversal(struct wm_peer *peer, uint64_t now);
/* Call after sending a handshake initiation. */
void wm_timers_handshake_initiated(struct wm_peer *peer, uint64_t now);
/* Call after a handshake completed (response consumed, or first data under a new keypair). */
void wm_timers_handshake_complete(struct wm_peer *peer, uint64_t now);
/* Call after new transport keys were derived. */
void wm_timers_session_derived(struct wm_peer *peer, uint64_t now);

/* Runs whatever timers are due at now. */
void wm_timers_run_expired(struct wm_peer *peer, uint64_t now);

/* The earliest armed deadline, or 0 when none is armed. */
uint64_t wm_timers_next_deadline(const struct wm_peer *peer);

/* Disarms everything (the peer is going away). */
void wm_timers_stop(struct wm_peer *peer);

#endif
