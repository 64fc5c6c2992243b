/* SPDX-License-Identifier: MIT */
/*
 * A WireGuard device, sans I/O: its static key pair, its peers, the
 * allowed-IPs table, and the counters. The caller owns sockets, the TUN and
 * the clock; it feeds packets in batches (send.h, receive.h), runs timers
 * (wm_device_tick at wm_device_next_deadline), and gets datagrams the engine
 * decides to send on its own (handshakes, cookies, keepalives, staged data)
 * through ops->send.
 */
#ifndef WM_DEVICE_H
#define WM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "engine/allowedips.h"
#include "engine/cookie.h"
#include "engine/crypto.h"
#include "engine/index.h"
#include "engine/noise.h"
#include "engine/peer.h"
#include "engine/ratelimit.h"

/* Why a packet was dropped; counted per device. */
enum wm_drop_reason {
	WM_DROP_NONE,
	WM_DROP_MALFORMED,		/* too short, wrong length, reserved bits set */
	WM_DROP_UNKNOWN_TYPE,
	WM_DROP_BAD_MAC1,
	WM_DROP_RATELIMITED,
	WM_DROP_HANDSHAKE_INVALID,	/* did not authenticate, unknown peer, replay, flood */
	WM_DROP_COOKIE_INVALID,
	WM_DROP_UNKNOWN_INDEX,
	WM_DROP_KEY_EXPIRED,
	WM_DROP_DECRYPT_FAILED,
	WM_DROP_REPLAYED,
	WM_DROP_BAD_INNER_PACKET,
	WM_DROP_SOURCE_NOT_ALLOWED,
	WM_DROP_NO_ROUTE,
	WM_DROP_NO_ENDPOINT,
	WM_DROP_NO_KEY,			/* no private key configured */
	WM_DROP_STAGED_OVERFLOW,
	WM_DROP_NO_MEMORY,
	WM_DROP_REASON_COUNT,
};

/* A short name for a drop reason ("replayed", "no-route", …). */
const char *wm_drop_reason_name(enum wm_drop_reason reason);

/* What the caller does with a packet after a batch call. */
enum wm_verdict {
	WM_VERDICT_NONE,
	WM_VERDICT_SEND,	/* data..len is a datagram for endpoint */
	WM_VERDICT_TUN,		/* data..len is a plaintext IP packet for the TUN */
	WM_VERDICT_CONSUMED,	/* handled inside the engine (handshake, keepalive, staged) */
	WM_VERDICT_DROP,	/* see drop_reason */
	/* Between the phases of a split batch (see crypt.h); callers of the one-call APIs never see these. */
	WM_VERDICT_SEAL,	/* prepared: header written, to be sealed */
	WM_VERDICT_OPEN,	/* prepared: to be opened */
	WM_VERDICT_OPENED,	/* opened; wm_receive_finish decides */
	WM_VERDICT_OPEN_FAILED,	/* did not authenticate; wm_receive_finish counts the drop */
};

/*
 * One packet of a batch. For sending, data points at a plaintext IP packet
 * with WM_PACKET_HEADROOM bytes free before it and WM_PACKET_TAILROOM after
 * it; it is sealed in place. For receiving, data is the datagram and endpoint
 * its source; it is opened in place.
 */
struct wm_packet {
	uint8_t *data;
	size_t len;
	struct wm_endpoint endpoint;
	struct wm_peer *peer;
	uint8_t verdict;
	uint8_t drop_reason;
	/*
	 * For the crypto phase: a copy of the key, so the AEAD work touches no
	 * engine state and may run on any thread while the engine carries on.
	 */
	uint64_t counter;
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
};

struct wm_device_ops {
	/* Sends one datagram; buf is valid only during the call. */
	void (*send)(void *ctx, struct wm_peer *peer, const struct wm_endpoint *to,
		     const uint8_t *buf, size_t len);
};

enum {
	WM_PEER_HASH_BUCKETS = 1 << 12,
	WM_RATELIMIT_ENTRIES = 1 << 14,
	/* Handshake messages per second above which MAC2 is demanded (§5.3). */
	WM_UNDER_LOAD_HANDSHAKES_PER_SECOND = 512,
	WM_DEFAULT_MTU = 1420,
};

struct wm_device {
	struct wm_static_identity identity;
	struct wm_cookie_checker cookie_checker;
	struct wm_ratelimit ratelimit;
	struct wm_allowedips allowedips;
	struct wm_index_table index;

	struct wm_peer *peers_head, *peers_tail;
	struct wm_peer *peer_hash[WM_PEER_HASH_BUCKETS];
	uint8_t peer_hash_key[16];
	unsigned peer_count;

	uint16_t listen_port;
	uint32_t fwmark;
	unsigned mtu;

	struct wm_device_ops ops;
	void *ops_ctx;
	struct wm_rng rng;
	uint64_t jitter_state;		/* timer jitter only; seeded from rng */
	int64_t wall_offset_ns;		/* wall clock = monotonic now + this */

	/* "Under load" (§5.3): handshake messages counted per one-second window. */
	uint64_t load_window_start;
	uint32_t load_window_count;
	uint32_t under_load_threshold;
	uint64_t under_load_until;

	uint64_t drops[WM_DROP_REASON_COUNT];
};

/* A device with no key and no peers. NULL on ENOMEM. rng NULL = the system's. */
struct wm_device *wm_device_create(const struct wm_device_ops *ops, void *ops_ctx,
				   const struct wm_rng *rng);
void wm_device_destroy(struct wm_device *dev);

/* Tells the device how to turn monotonic now into wall-clock time (for TAI64N and status). */
void wm_device_set_wall_offset(struct wm_device *dev, int64_t wall_minus_monotonic_ns);

/* Installs the static private key; peers keyed like us are removed, sessions re-keyed. 0 or -EINVAL. */
int wm_device_set_private_key(struct wm_device *dev, const uint8_t key[WM_KEY_LEN]);
void wm_device_clear_private_key(struct wm_device *dev);

/* Demands MAC2 once more than this many handshake messages arrive in a second (0 = always). */
void wm_device_set_load_threshold(struct wm_device *dev, uint32_t handshakes_per_second);

/* True while the device demands cookies. */
bool wm_device_is_under_load(const struct wm_device *dev, uint64_t now);

/* Adds a peer; -EEXIST, -EINVAL (our own key), -ENOSPC or -ENOMEM through err. */
struct wm_peer *wm_device_add_peer(struct wm_device *dev, const uint8_t public_key[WM_KEY_LEN],
				   int *err);
/* The peer with this public key, or NULL. */
struct wm_peer *wm_device_lookup_peer(const struct wm_device *dev, const uint8_t public_key[WM_KEY_LEN]);
void wm_device_remove_peer(struct wm_device *dev, struct wm_peer *peer);
void wm_device_remove_all_peers(struct wm_device *dev);

/* Sets a peer's pre-shared key (all zeros = none). */
void wm_device_set_preshared_key(struct wm_peer *peer, const uint8_t psk[WM_SYMMETRIC_KEY_LEN]);

/* Sets the persistent keepalive interval; sends one at once when newly turned on. */
void wm_device_set_persistent_keepalive(struct wm_peer *peer, uint16_t seconds, uint64_t now);

/* Runs every timer due at now. */
void wm_device_tick(struct wm_device *dev, uint64_t now);

/* The earliest deadline among all timers, or 0 when nothing is armed. */
uint64_t wm_device_next_deadline(const struct wm_device *dev);

/* Wall-clock ns for a monotonic now. */
uint64_t wm_device_wall_time(const struct wm_device *dev, uint64_t now);

#endif
