/* SPDX-License-Identifier: MIT */
#include "engine/device.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct wm_device *wm_device_create(const struct wm_device_ops *ops, void *ops_ctx,
				   const struct wm_rng *rng)
{
	struct wm_device *dev;

	if (wm_crypto_init() < 0)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	if (wm_ratelimit_init(&dev->ratelimit, WM_RATELIMIT_ENTRIES) < 0) {
		free(dev);
		return NULL;
	}
	dev->ops = *ops;
	dev->ops_ctx = ops_ctx;
	dev->rng = rng ? *rng : wm_rng_system;
	dev->mtu = WM_DEFAULT_MTU;
	dev->under_load_threshold = WM_UNDER_LOAD_HANDSHAKES_PER_SECOND;
	wm_rng_fill(&dev->rng, dev->peer_hash_key, sizeof(dev->peer_hash_key));
	wm_rng_fill(&dev->rng, &dev->jitter_state, sizeof(dev->jitter_state));
	wm_allowedips_init(&dev->allowedips);
	wm_index_init(&dev->index);
	wm_cookie_checker_init(&dev->cookie_checker, dev->identity.public_key);
	return dev;
}

void wm_device_destroy(struct wm_device *dev)
{
	if (!dev)
		return;
	wm_device_remove_all_peers(dev);
	wm_allowedips_free(&dev->allowedips);
	wm_ratelimit_free(&dev->ratelimit);
	wm_crypto_wipe(dev, sizeof(*dev));
	free(dev);
}

void wm_device_set_wall_offset(struct wm_device *dev, int64_t wall_minus_monotonic_ns)
{
	dev->wall_offset_ns = wall_minus_monotonic_ns;
}

uint64_t wm_device_wall_time(const struct wm_device *dev, uint64_t now)
{
	return (uint64_t)((int64_t)now + dev->wall_offset_ns);
}

static unsigned bucket_of(const struct wm_device *dev, const uint8_t public_key[WM_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	/* Keyed: remote keys are chosen by others, who must not aim at one bucket. */
	crypto_shorthash(h, public_key, WM_KEY_LEN, dev->peer_hash_key);
	memcpy(&v, h, sizeof(v));
	return (unsigned)(v & (WM_PEER_HASH_BUCKETS - 1));
}

struct wm_peer *wm_device_lookup_peer(const struct wm_device *dev, const uint8_t public_key[WM_KEY_LEN])
{
	struct wm_peer *p;

	for (p = dev->peer_hash[bucket_of(dev, public_key)]; p; p = p->hash_next)
		if (wm_crypto_equal(p->public_key, public_key, WM_KEY_LEN))
			return p;
	return NULL;
}

static void unhash_peer(struct wm_device *dev, struct wm_peer *peer)
{
	struct wm_peer **pp;

	for (pp = &dev->peer_hash[bucket_of(dev, peer->public_key)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	}
}

struct wm_peer *wm_device_add_peer(struct wm_device *dev, const uint8_t public_key[WM_KEY_LEN],
				   int *err)
{
	static uint64_t next_id;
	struct wm_peer *peer;
	unsigned b;

	if (dev->identity.has_private_key &&
	    wm_crypto_equal(public_key, dev->identity.public_key, WM_KEY_LEN)) {
		*err = -EINVAL;
		return NULL;
	}
	if (wm_device_lookup_peer(dev, public_key)) {
		*err = -EEXIST;
		return NULL;
	}
	if (dev->peer_count >= WM_MAX_PEERS) {
		*err = -ENOSPC;
		return NULL;
	}
	peer = calloc(1, sizeof(*peer));
	if (!peer) {
		*err = -ENOMEM;
		return NULL;
	}
	peer->device = dev;
	peer->internal_id = ++next_id;
	memcpy(peer->public_key, public_key, WM_KEY_LEN);
	wm_noise_handshake_init(&peer->handshake, peer, public_key, &dev->identity);
	wm_timers_init(&peer->timers, &dev->jitter_state);
	wm_cookie_init(&peer->cookie, public_key);

	b = bucket_of(dev, public_key);
	peer->hash_next = dev->peer_hash[b];
	dev->peer_hash[b] = peer;
	peer->prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->next = peer;
	else
		dev->peers_head = peer;
	dev->peers_tail = peer;
	dev->peer_count++;
	*err = 0;
	return peer;
}

void wm_device_remove_peer(struct wm_device *dev, struct wm_peer *peer)
{
	wm_timers_stop(&peer->timers);
	wm_peer_clear_session(peer, &dev->index);
	wm_allowedips_remove_by_peer(&dev->allowedips, peer);
	unhash_peer(dev, peer);
	if (peer->prev)
		peer->prev->next = peer->next;
	else
		dev->peers_head = peer->next;
	if (peer->next)
		peer->next->prev = peer->prev;
	else
		dev->peers_tail = peer->prev;
	dev->peer_count--;
	wm_crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

void wm_device_remove_all_peers(struct wm_device *dev)
{
	while (dev->peers_head)
		wm_device_remove_peer(dev, dev->peers_head);
}

static void rekey_all_peers(struct wm_device *dev)
{
	struct wm_peer *p;

	/* Sessions made under the old key must not carry new data (kernel: expire current). */
	for (p = dev->peers_head; p; p = p->next) {
		wm_noise_handshake_clear(&p->handshake, &dev->index);
		wm_noise_handshake_precompute(&p->handshake, &dev->identity);
		wm_keypairs_expire_current(&p->keypairs);
	}
}

int wm_device_set_private_key(struct wm_device *dev, const uint8_t key[WM_KEY_LEN])
{
	struct wm_static_identity next = { 0 };
	struct wm_peer *same;

	if (!wm_noise_set_identity(&next, key))
		return -EINVAL;
	/* Keys are compared in constant time: how long this takes must not hint at our private key. */
	if (dev->identity.has_private_key &&
	    wm_crypto_equal(next.private_key, dev->identity.private_key, WM_KEY_LEN)) {
		wm_crypto_wipe(&next, sizeof(next));
		return 0;
	}
	/* A peer with our own public key makes no sense; drop it as wireguard-go does. */
	same = wm_device_lookup_peer(dev, next.public_key);
	if (same)
		wm_device_remove_peer(dev, same);
	dev->identity = next;
	wm_crypto_wipe(&next, sizeof(next));
	wm_cookie_checker_init(&dev->cookie_checker, dev->identity.public_key);
	rekey_all_peers(dev);
	return 0;
}

void wm_device_clear_private_key(struct wm_device *dev)
{
	wm_crypto_wipe(&dev->identity, sizeof(dev->identity));
	wm_cookie_checker_init(&dev->cookie_checker, dev->identity.public_key);
	rekey_all_peers(dev);
}

void wm_device_set_load_threshold(struct wm_device *dev, uint32_t handshakes_per_second)
{
	dev->under_load_threshold = handshakes_per_second;
}

bool wm_device_is_under_load(const struct wm_device *dev, uint64_t now)
{
	return dev->under_load_threshold == 0 || now < dev->under_load_until;
}

void wm_device_set_preshared_key(struct wm_peer *peer, const uint8_t psk[WM_SYMMETRIC_KEY_LEN])
{
	memcpy(peer->handshake.preshared_key, psk, WM_SYMMETRIC_KEY_LEN);
}

void wm_device_set_persistent_keepalive(struct wm_peer *peer, uint16_t seconds)
{
	peer->persistent_keepalive_interval = seconds;
	if (!seconds)
		peer->timers.persistent_keepalive = 0;
}
