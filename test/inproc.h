/* SPDX-License-Identifier: MIT */
/*
 * Two (or more) engines wired together in memory: a fake UDP network that
 * carries datagrams between their endpoints, fake TUN inboxes that collect
 * what each delivers, and a clock the test moves by hand. Used by the unit
 * tests and by the demo; nothing here touches a real socket or clock.
 */
#ifndef WM_TEST_INPROC_H
#define WM_TEST_INPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/device.h"

enum {
	WM_INPROC_MAX_NODES = 4,
	WM_INPROC_MAX_INFLIGHT = 4096,
	WM_INPROC_MAX_TUN = 1024,
	WM_INPROC_MAX_PACKET = 2048,
};

struct wm_inproc_datagram {
	struct wm_endpoint from, to;
	size_t len;
	uint8_t data[WM_INPROC_MAX_PACKET];
};

struct wm_inproc_tun_packet {
	size_t len;
	uint8_t data[WM_INPROC_MAX_PACKET];
};

struct wm_inproc_net;

struct wm_inproc_node {
	struct wm_inproc_net *net;
	struct wm_device *dev;
	struct wm_endpoint addr;	/* the node's (fake) UDP address */
	uint8_t private_key[WM_KEY_LEN];
	uint8_t public_key[WM_KEY_LEN];
	uint8_t overlay4[4];		/* 10.0.0.N */
	uint8_t overlay6[16];		/* fd00::N */
	struct wm_inproc_tun_packet *tun;	/* what the engine wrote to the TUN */
	size_t tun_count;
	uint64_t datagrams_sent;
	uint64_t handshake_initiations_sent;
	uint64_t cookie_replies_sent;
};

/* Returns false to lose a datagram in flight; may also rewrite it. */
typedef bool (*wm_inproc_filter)(void *ctx, struct wm_inproc_datagram *dg);

struct wm_inproc_net {
	struct wm_inproc_node nodes[WM_INPROC_MAX_NODES];
	size_t node_count;
	struct wm_inproc_datagram *inflight;
	size_t inflight_count;
	uint64_t now;
	uint64_t rng_state;
	struct wm_rng rng;
	wm_inproc_filter filter;
	void *filter_ctx;
	/* Every datagram that crossed, if record is set (for replay tests). */
	bool record;
	struct wm_inproc_datagram *log;
	size_t log_count;
};

/* A deterministic random source seeded with seed (tests need repeatable runs). */
void wm_inproc_rng_init(struct wm_rng *rng, uint64_t *state, uint64_t seed);

/* Sets up n nodes (2..4) with fresh keys and fake addresses, not yet peers. */
void wm_inproc_init(struct wm_inproc_net *net, size_t n, uint64_t seed);
void wm_inproc_free(struct wm_inproc_net *net);

/* Makes a and b peers of each other: endpoints known, overlay /32 and /128 allowed. */
void wm_inproc_pair(struct wm_inproc_net *net, size_t a, size_t b);

/* Builds an IPv4 (or IPv6 when v6) packet from node src to node dst with payload_len bytes of pattern. */
size_t wm_inproc_make_packet(uint8_t *out, const struct wm_inproc_node *src,
			     const struct wm_inproc_node *dst, bool v6, size_t payload_len,
			     uint8_t pattern);

/* Feeds one plaintext packet into node's send path; returns its verdict. */
enum wm_verdict wm_inproc_send_ip(struct wm_inproc_net *net, size_t node, const uint8_t *pkt,
				  size_t len);

/* Delivers datagrams in flight (and what they provoke) until none remain. */
void wm_inproc_deliver(struct wm_inproc_net *net);

/* Moves the clock forward in steps of at most step ns, ticking timers and delivering. */
void wm_inproc_advance(struct wm_inproc_net *net, uint64_t ns, uint64_t step);

/* Injects a raw datagram as if it came from `from` to node. */
void wm_inproc_inject(struct wm_inproc_net *net, size_t node, const struct wm_endpoint *from,
		      const uint8_t *data, size_t len);

/* Empties node's TUN inbox. */
void wm_inproc_clear_tun(struct wm_inproc_net *net, size_t node);

#endif
