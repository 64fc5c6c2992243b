/* SPDX-License-Identifier: MIT */
/*
 * Everything WireGuard puts on the wire, and every constant the protocol
 * defines, in one place. Section numbers refer to the WireGuard whitepaper
 * (Donenfeld, "WireGuard: Next Generation Kernel Network Tunnel").
 */
#ifndef WM_MESSAGES_H
#define WM_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#if defined(__linux__)
#include <endian.h>
#else
#include <sys/endian.h>
#endif

#include "common/key.h"

#define WM_NSEC_PER_SEC 1000000000ULL
#define WM_NSEC_PER_MSEC 1000000ULL

/* §5.4: sizes of the Noise primitives. */
enum wm_noise_lengths {
	WM_PUBLIC_KEY_LEN = 32,
	WM_SYMMETRIC_KEY_LEN = 32,
	WM_HASH_LEN = 32,
	WM_TIMESTAMP_LEN = 12,	/* TAI64N */
	WM_AUTHTAG_LEN = 16,
	WM_MAC_LEN = 16,
	WM_AEAD_NONCE_LEN = 12,
};

#define wm_noise_encrypted_len(plain_len) ((plain_len) + WM_AUTHTAG_LEN)

/* §5.4.7, §6.1: cookie constants. */
enum wm_cookie_values {
	WM_COOKIE_SECRET_MAX_AGE_S = 120,
	WM_COOKIE_SECRET_LATENCY_S = 5,
	WM_COOKIE_NONCE_LEN = 24,	/* XChaCha20-Poly1305 */
	WM_COOKIE_LEN = 16,
};

/* §6.1: the protocol's timing and counter limits. */
#define WM_REKEY_AFTER_MESSAGES (1ULL << 60)
#define WM_REJECT_AFTER_MESSAGES (UINT64_MAX - (1ULL << 13))	/* 2^64 - 2^13 - 1, as UINT64_MAX is 2^64 - 1 */
#define WM_REKEY_AFTER_TIME (120 * WM_NSEC_PER_SEC)
#define WM_REJECT_AFTER_TIME (180 * WM_NSEC_PER_SEC)
#define WM_REKEY_ATTEMPT_TIME (90 * WM_NSEC_PER_SEC)
#define WM_REKEY_TIMEOUT (5 * WM_NSEC_PER_SEC)
#define WM_KEEPALIVE_TIMEOUT (10 * WM_NSEC_PER_SEC)

/* Implementation limits, as the Linux implementation chooses them. */
#define WM_REKEY_TIMEOUT_JITTER_MAX (WM_NSEC_PER_SEC / 3)
#define WM_MAX_TIMER_HANDSHAKES (WM_REKEY_ATTEMPT_TIME / WM_REKEY_TIMEOUT)	/* 18 */
#define WM_ZERO_KEY_AFTER (3 * WM_REJECT_AFTER_TIME)
/* Initiations from one peer closer together than this are a flood (§5.1). */
#define WM_INITIATIONS_PER_SECOND 50
#define WM_MAX_STAGED_PACKETS 128
#define WM_MAX_PEERS (1U << 20)
/* TAI64N timestamps are rounded down to this many ns so they leak no fine timing. */
#define WM_TIMESTAMP_GRANULARITY_NS (1ULL << 24)

/* §5.4: the first byte of every message; the three bytes after it are zero. */
enum wm_message_type {
	WM_MSG_INVALID = 0,
	WM_MSG_HANDSHAKE_INITIATION = 1,
	WM_MSG_HANDSHAKE_RESPONSE = 2,
	WM_MSG_HANDSHAKE_COOKIE = 3,
	WM_MSG_DATA = 4,
};

/* Every message starts with this 4-byte little-endian word. */
struct wm_msg_header {
	uint32_t type;
} __attribute__((packed));

/* The two MACs close every handshake message (§5.4.4). */
struct wm_msg_macs {
	uint8_t mac1[WM_MAC_LEN];
	uint8_t mac2[WM_MAC_LEN];
} __attribute__((packed));

/* §5.4.2 */
struct wm_msg_initiation {
	struct wm_msg_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[WM_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[wm_noise_encrypted_len(WM_PUBLIC_KEY_LEN)];
	uint8_t encrypted_timestamp[wm_noise_encrypted_len(WM_TIMESTAMP_LEN)];
	struct wm_msg_macs macs;
} __attribute__((packed));

/* §5.4.3 */
struct wm_msg_response {
	struct wm_msg_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[WM_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[wm_noise_encrypted_len(0)];
	struct wm_msg_macs macs;
} __attribute__((packed));

/* §5.4.7 */
struct wm_msg_cookie {
	struct wm_msg_header header;
	uint32_t receiver_index;
	uint8_t nonce[WM_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[wm_noise_encrypted_len(WM_COOKIE_LEN)];
} __attribute__((packed));

/* §5.4.6: header of a transport data message; the ciphertext follows. */
struct wm_msg_data {
	struct wm_msg_header header;
	uint32_t key_index;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

enum wm_message_sizes {
	WM_MSG_INITIATION_LEN = 148,
	WM_MSG_RESPONSE_LEN = 92,
	WM_MSG_COOKIE_LEN = 64,
	WM_MSG_DATA_HEADER_LEN = 16,
	WM_MSG_DATA_MIN_LEN = WM_MSG_DATA_HEADER_LEN + WM_AUTHTAG_LEN,	/* a keepalive */
	WM_MSG_PADDING_MULTIPLE = 16,	/* §5.4.6: plaintext padded to 16 bytes */
	WM_MSG_MAX_LEN = 65535,
};

_Static_assert(sizeof(struct wm_msg_initiation) == WM_MSG_INITIATION_LEN, "initiation size");
_Static_assert(sizeof(struct wm_msg_response) == WM_MSG_RESPONSE_LEN, "response size");
_Static_assert(sizeof(struct wm_msg_cookie) == WM_MSG_COOKIE_LEN, "cookie size");
_Static_assert(sizeof(struct wm_msg_data) == WM_MSG_DATA_HEADER_LEN, "data header size");

/* Room a caller leaves around a plaintext packet so it can be sealed in place. */
enum wm_packet_room {
	WM_PACKET_HEADROOM = WM_MSG_DATA_HEADER_LEN,
	WM_PACKET_TAILROOM = WM_MSG_PADDING_MULTIPLE - 1 + WM_AUTHTAG_LEN,
};

#endif
