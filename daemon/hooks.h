/* SPDX-License-Identifier: MIT */
/*
 * Mesh mode's taps on a node's packet paths (all optional): the path manager takes what on the
 * sockets is not WireGuard and hears about relays, the access policy sees plaintext in and out.
 * The node owns the struct; the data path and the relays read it.
 */
#ifndef WM_HOOKS_H
#define WM_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "engine/messages.h"

struct wm_peer;

struct wm_node_hooks {
	/* A UDP datagram that is not WireGuard (STUN, disco); buf may be changed in place. */
	void (*udp_other)(void *ctx, uint8_t *buf, size_t len, const struct wm_endpoint *from);
	/* A disco packet through relay region `region` from the node with public key src. */
	void (*relay_disco)(void *ctx, uint16_t region, const uint8_t src[WM_KEY_LEN],
			    const uint8_t *buf, size_t len);
	/* A relay region's connection came up (connected) or went down. */
	void (*relay_state)(void *ctx, uint16_t region, bool connected);
	/*
	 * Plaintext IP packets (access policy): one going into the tunnel, after the TUN read, and
	 * one that came out of it, before the TUN write — return false to drop it.
	 */
	void (*outbound)(void *ctx, const uint8_t *pkt, size_t len, uint64_t now);
	bool (*inbound)(void *ctx, struct wm_peer *peer, const uint8_t *pkt, size_t len,
			uint64_t now);
	/*
	 * A packet read from the TUN for the node's own resolver (daemon/dns_packet.h): never
	 * enters the tunnel; answers go back through wm_datapath_to_tun().
	 */
	void (*resolver)(void *ctx, const uint8_t *pkt, size_t len);
	void *ctx;		/* for udp_other, relay_disco and relay_state */
	void *policy_ctx;	/* for outbound and inbound */
	void *resolver_ctx;	/* for resolver */
};

#endif
