/* SPDX-License-Identifier: MIT */
/*
 * The Noise_IKpsk2 handshake (whitepaper §5.4). Pure state transitions: these
 * functions never send, never touch a timer, never read a clock. The caller
 * finds the peer for an initiation between the two consume steps, so this
 * file knows nothing about peers or devices.
 */
#ifndef WM_NOISE_H
#define WM_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/crypto.h"
#include "engine/index.h"
#include "engine/keypair.h"
#include "engine/messages.h"

/* The device's own key pair. */
struct wm_static_identity {
	uint8_t private_key[WM_KEY_LEN];
	uint8_t public_key[WM_KEY_LEN];
	bool has_private_key;
};

enum wm_handshake_state {
	WM_HANDSHAKE_ZEROED,
	WM_HANDSHAKE_CREATED_INITIATION,
	WM_HANDSHAKE_CONSUMED_INITIATION,
	WM_HANDSHAKE_CREATED_RESPONSE,
	WM_HANDSHAKE_CONSUMED_RESPONSE,
};

/* One peer's handshake state; embedded in the peer. */
struct wm_handshake {
	struct wm_index_entry entry;	/* our sender index while a handshake is open */
	enum wm_handshake_state state;
	uint64_t last_initiation_consumption;	/* monotonic ns; 0 = never */
	uint8_t remote_static[WM_KEY_LEN];
	uint8_t remote_ephemeral[WM_KEY_LEN];
	uint8_t precomputed_static_static[WM_KEY_LEN];	/* DH(our static, their static) */
	uint8_t preshared_key[WM_SYMMETRIC_KEY_LEN];
	uint8_t ephemeral_private[WM_KEY_LEN];
	uint8_t hash[WM_HASH_LEN];
	uint8_t chaining_key[WM_HASH_LEN];
	uint8_t latest_timestamp[WM_TIMESTAMP_LEN];
	uint32_t remote_index;
};

/* What the first half of consuming an initiation learns; wiped by the second half. */
struct wm_noise_initiation_scratch {
	uint8_t hash[WM_HASH_LEN];
	uint8_t chaining_key[WM_HASH_LEN];
	uint8_t remote_static[WM_KEY_LEN];
	uint8_t remote_ephemeral[WM_KEY_LEN];
};

/* Sets up a peer's handshake for the peer's public key, precomputing the static DH. */
void wm_noise_handshake_init(struct wm_handshake *hs, struct wm_peer *peer,
			     const uint8_t remote_static[WM_KEY_LEN],
			     const struct wm_static_identity *identity);

/* Call after our private key changed: redoes the static-static DH. */
void wm_noise_handshake_precompute(struct wm_handshake *hs, const struct wm_static_identity *identity);

/* Abandons any handshake in progress and frees its index. Keeps keys and the timestamp. */
void wm_noise_handshake_clear(struct wm_handshake *hs, struct wm_index_table *table);

/* Derives the public key and stores the pair; false when the key is unusable. */
bool wm_noise_set_identity(struct wm_static_identity *identity, const uint8_t private_key[WM_KEY_LEN]);

/* Writes a TAI64N timestamp for a wall-clock time in ns since the epoch, coarsened (§5.1). */
void wm_noise_tai64n(uint8_t out[WM_TIMESTAMP_LEN], uint64_t wall_ns);

/* Builds an initiation (without MACs). timestamp is the TAI64N of now. */
bool wm_noise_create_initiation(struct wm_msg_initiation *dst, struct wm_handshake *hs,
				const struct wm_static_identity *identity,
				struct wm_index_table *table, const struct wm_rng *rng,
				const uint8_t timestamp[WM_TIMESTAMP_LEN]);

/* First half of consuming an initiation: learns who claims to send it. */
bool wm_noise_consume_initiation_static(struct wm_noise_initiation_scratch *scratch,
					const struct wm_static_identity *identity,
					const struct wm_msg_initiation *src);

/*
 * Second half, with the handshake of the peer the static key names: checks
 * the timestamp is newer than any before (replay) and that initiations are
 * not arriving faster than WM_INITIATIONS_PER_SECOND (flood), then commits.
 */
bool wm_noise_consume_initiation_finish(struct wm_handshake *hs,
					struct wm_noise_initiation_scratch *scratch,
					const struct wm_msg_initiation *src, uint64_t now);

/* Builds the response (without MACs) to a consumed initiation. */
bool wm_noise_create_response(struct wm_msg_response *dst, struct wm_handshake *hs,
			      struct wm_index_table *table, const struct wm_rng *rng);

/* Consumes a response to our initiation; hs is found by the receiver index. */
bool wm_noise_consume_response(struct wm_handshake *hs, const struct wm_static_identity *identity,
			       const struct wm_msg_response *src);

/*
 * Derives the transport keys into kp once a handshake is complete on our
 * side (response created or consumed); kp takes over the handshake's index.
 */
bool wm_noise_begin_session(struct wm_handshake *hs, struct wm_keypair *kp,
			    struct wm_index_table *table, uint64_t now);

#endif
