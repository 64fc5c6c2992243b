/* SPDX-License-Identifier: MIT */
/*
 * A WireGuard device, sans I/O: its static key pair, its peers, the
 * allowed-IPs table, and the counters. The caller owns sockets, the TUN and
 * the clock; it feeds packets in batches (send.h, receive.h), runs timers
 * (tick.h), and gets datagrams the engine decides to send on its own
 * (handshakes, cookies, keepalives, staged data) through ops->send.
 * Below the data paths: nothing here sends.
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
#include "engine/packet.h"
#include "engine/peer.h"
#include "engine/ratelimit.h"

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

/* Sets the persistent keepalive interval (seconds, 0 = off); the caller sends the first. */
void wm_device_set_persistent_keepalive(struct wm_peer *peer, uint16_t seconds);

/* Wall-clock ns for a monotonic now. */
uint64_t wm_device_wall_time(const struct wm_device *dev, uint64_t now);

#endif
