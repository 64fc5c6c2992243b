/* SPDX-License-Identifier: MIT */
/*
 * A peer: one remote public key, with its handshake, keypairs, cookie state,
 * timers, endpoint and the packets waiting for a session. Peers live in a
 * device (device.h) and are created and removed only through it.
 */
#ifndef WM_PEER_H
#define WM_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "engine/cookie.h"
#include "engine/keypair.h"
#include "engine/messages.h"
#include "engine/noise.h"
#include "engine/timers.h"

struct wm_device;

/* A packet kept until a session exists; stored with room to be sealed in place. */
struct wm_staged_packet {
	uint8_t *buf;		/* WM_PACKET_HEADROOM + len + WM_PACKET_TAILROOM bytes */
	uint16_t len;
};

struct wm_peer {
	struct wm_device *device;
	struct wm_peer *prev, *next;	/* the device's peers, in creation order */
	struct wm_peer *hash_next;	/* the device's public-key table */

	uint8_t public_key[WM_KEY_LEN];
	struct wm_handshake handshake;
	struct wm_keypairs keypairs;
	struct wm_cookie cookie;
	struct wm_timers timers;
	struct wm_endpoint endpoint;

	uint64_t last_sent_handshake;	/* monotonic ns; 0 = never */
	uint64_t last_handshake_wall_ns;	/* wall clock of the last completed handshake; 0 = never */
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive_interval;	/* seconds; 0 = off */

	struct wm_staged_packet staged[WM_MAX_STAGED_PACKETS];
	unsigned staged_head, staged_count;

	uint64_t internal_id;	/* for log lines only */
};

/*
 * Copies a packet to wait for a session. False when it could not be copied. When the queue is
 * full the oldest goes to make room and *evicted says so, for the caller to count the drop.
 */
bool wm_peer_stage_packet(struct wm_peer *peer, const uint8_t *data, size_t len, bool *evicted);

/* Frees every staged packet (when handshakes give up, or the peer goes). */
void wm_peer_clear_staged(struct wm_peer *peer);

/* Forgets all session state: handshake, keypairs (their indices leave index), staged packets. */
void wm_peer_clear_session(struct wm_peer *peer, struct wm_index_table *index);

/* Sets the endpoint packets for this peer are sent to. */
void wm_peer_set_endpoint(struct wm_peer *peer, const struct wm_endpoint *endpoint);

/* The short base64 prefix of the key used in log lines, e.g. "hB3o…". */
void wm_peer_short_name(const struct wm_peer *peer, char out[12]);

#endif
