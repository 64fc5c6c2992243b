/* SPDX-License-Identifier: MIT */
/*
 * The node's DERP relays. A peer reached through relay region R has the
 * endpoint 127.3.3.40:R (Tailscale's convention), so the engine needs no
 * notion of relays: datagrams to such an endpoint go out as DERP send-packet
 * frames addressed to the peer's public key, and relayed packets come back
 * into the engine as if from that endpoint. The relay never sees plaintext.
 */
#ifndef WM_RELAYS_H
#define WM_RELAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "coord-client/netmap.h"
#include "daemon/hooks.h"
#include "engine/messages.h"

struct ev_loop;
struct wm_derp_client;
struct wm_relays;
struct wm_static_identity;

#define WM_RELAY_MAGIC_ADDR "127.3.3.40"
enum { WM_RELAY_MAX = 16, WM_RELAY_URL_LEN = 256 };

/* A relay other than the home one closes after this long without packets either way. */
#define WM_RELAY_IDLE_CLOSE_NS (60ULL * 1000000000ULL)

struct wm_relay {
	struct wm_relays *owner;	/* the client's callbacks come back with the slot */
	uint16_t region;		/* 0: a free slot */
	char url[WM_RELAY_URL_LEN];
	struct wm_derp_client *client;	/* the home relay: once keyed; others: while in use */
	uint64_t send_failures;
	uint64_t last_packets;		/* in + out, at the last activity check */
	uint64_t last_active;		/* monotonic ns */
};

struct wm_relays {
	struct wm_relay relay[WM_RELAY_MAX];
	size_t count;
	uint16_t home;			/* the preferred region; 0 = the first */
	char ca_file[256];		/* empty: the system store */
	uint8_t key[WM_KEY_LEN];	/* the key the clients run under */
	bool keyed;
	uint64_t unroutable;		/* packets for a region we have no relay for */

	/* Set by wm_relays_attach. */
	struct ev_loop *loop;
	const struct wm_node_hooks *hooks;	/* relay_disco, relay_state */
	/* A WireGuard datagram that came through region `region`. */
	void (*deliver)(void *ctx, uint16_t region, const uint8_t *buf, size_t len);
	void *deliver_ctx;
};

/* Parses "REGION=URL" (region 1-65535) and adds it. 0, -EINVAL, -ENOSPC or -EEXIST. */
int wm_relays_add(struct wm_relays *relays, const char *spec);

/* True when ep names a relay region (127.3.3.40:REGION); *region gets it. */
bool wm_relays_is_relay_endpoint(const struct wm_endpoint *ep, uint16_t *region);

/* The endpoint that stands for a region. */
void wm_relays_endpoint(struct wm_endpoint *ep, uint16_t region);

/*
 * Where the relays run and where what they receive goes: disco and connection changes to
 * hooks (read at the time of each call, so they may be set later), WireGuard to deliver.
 */
void wm_relays_attach(struct wm_relays *relays, struct ev_loop *loop,
		      const struct wm_node_hooks *hooks,
		      void (*deliver)(void *ctx, uint16_t region, const uint8_t *buf, size_t len),
		      void *deliver_ctx);

/*
 * Connects to the home relay under the device's private key (again after a key
 * change); the others connect on first use. Call after every configuration
 * change; cheap when nothing changed.
 */
void wm_relays_sync_key(struct wm_relays *relays, const struct wm_static_identity *id);

/* Call about once a second: closes relays other than the home one idle for WM_RELAY_IDLE_CLOSE_NS. */
void wm_relays_close_idle(struct wm_relays *relays, uint64_t now);

/* Sends a datagram to the peer with public key dst through the region's relay. 0 or -errno. */
int wm_relays_send(struct wm_relays *relays, uint16_t region, const uint8_t dst[WM_KEY_LEN],
		   const uint8_t *buf, size_t len);

/*
 * Replaces the relays with the regions of a relay map (the first relay of each region): a
 * region whose URL is unchanged keeps its connection; regions gone are closed.
 */
void wm_relays_set_map(struct wm_relays *relays, const struct wm_relay_map *rm);

/* Makes region the home relay (0: the first) and connects to it when keyed. */
void wm_relays_set_home(struct wm_relays *relays, uint16_t region);

/* The home region in effect (0: no relays). */
uint16_t wm_relays_home(const struct wm_relays *relays);

/* True when the region's relay is connected now. */
bool wm_relays_connected(const struct wm_relays *relays, uint16_t region);

/* Closes every client. */
void wm_relays_stop(struct wm_relays *relays);

#endif
