/* SPDX-License-Identifier: MIT */
/*
 * A DERP client connection on the caller's libev loop, wire-compatible with Tailscale's
 * derphttp client: TCP (IPv4/IPv6), TLS (mbedTLS, system CAs or a given CA/certificate file,
 * SNI, no ALPN) or plain HTTP for http:// URLs, the GET /derp upgrade, the server key, the
 * sealed client info under the node's WireGuard key, then packets both ways. It answers pings,
 * notes keepalives, reports peer-gone/present, reconnects with capped exponential backoff and
 * jitter, and queues outgoing packets in a bounded queue that drops the oldest, so a stuck
 * relay never blocks the caller. One client serves one relay URL; everything runs on the loop
 * thread and callbacks run from it.
 */
#ifndef WM_DERP_CLIENT_H
#define WM_DERP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay-client/derp_frame.h"

struct ev_loop;
struct wm_derp_client;

enum wm_derp_client_state {
	WM_DERP_DOWN,		/* waiting to retry (the reason goes to on_state) */
	WM_DERP_CONNECTING,	/* resolving, connecting, TLS, upgrade, handshake */
	WM_DERP_CONNECTED,	/* the server accepted us (its ServerInfo arrived) */
};

/* Timing, derp/derphttp/derphttp_client.go and derp/derp_client.go unless noted. */
#define WM_DERP_CONNECT_TIMEOUT_MS 10000	/* DNS + TCP + TLS + upgrade + handshake */
#define WM_DERP_DIAL_TIMEOUT_MS 1500		/* one address, when others remain */
#define WM_DERP_READ_TIMEOUT_MS 120000		/* Recv: silence this long kills the connection */
#define WM_DERP_IDLE_PING_MS 70000		/* ours: probe a silent server before that */
#define WM_DERP_BACKOFF_MIN_MS 250		/* ours: first retry, doubled per failure */
#define WM_DERP_BACKOFF_MAX_MS 10000		/* ours: the cap; each delay is jittered 50-100% */
#define WM_DERP_QUEUE_BYTES (256u << 10)	/* default send queue: bytes of frames */
#define WM_DERP_QUEUE_FRAMES 1024		/* default send queue: frames */

struct wm_derp_client_config {
	const char *url;		/* https://host[:port][/path] or http://… (copied) */
	uint8_t node_private_key[WM_DERP_KEY_LEN];	/* the node's WireGuard key (copied) */
	const char *ca_file;		/* NULL: the system store */
	bool preferred;			/* this is the node's home relay (NotePreferred) */
	size_t queue_bytes;		/* 0: WM_DERP_QUEUE_BYTES */
	size_t queue_frames;		/* 0: WM_DERP_QUEUE_FRAMES */

	/* A packet relayed from src_key. data is valid during the call only. */
	void (*on_packet)(void *ctx, const uint8_t src_key[WM_DERP_KEY_LEN], const uint8_t *data,
			  size_t len);
	/* Every state change; why says what happened ("connected", the error). May be NULL. */
	void (*on_state)(void *ctx, enum wm_derp_client_state state, const char *why);
	/* A peer that sent to us left the relay (reason 0), or a key we sent to is not there
	 * (reason 1). May be NULL. */
	void (*on_peer_gone)(void *ctx, const uint8_t key[WM_DERP_KEY_LEN], uint8_t reason);
	/* A peer connected (sent only to privileged watchers). May be NULL. */
	void (*on_peer_present)(void *ctx, const uint8_t key[WM_DERP_KEY_LEN]);
	void *ctx;
};

struct wm_derp_client_stats {
	enum wm_derp_client_state state;
	uint64_t packets_out, bytes_out;	/* handed to the socket */
	uint64_t packets_in, bytes_in;
	uint64_t drops, dropped_bytes;		/* pushed out of the send queue */
	uint64_t control_drops;			/* pongs that found the socket buffer full */
	uint64_t connects;			/* handshakes the server accepted */
	uint64_t reconnects;			/* connects after the first */
	uint64_t failures;			/* attempts or connections that ended in error */
	uint64_t unknown_frames, bad_frames;	/* skipped */
	size_t queued_frames, queued_bytes;
	bool has_server_key;
	uint8_t server_key[WM_DERP_KEY_LEN];	/* from the last handshake */
	char last_error[128];
};

/*
 * Creates the client and starts connecting at once. NULL with *err set: -EINVAL for a bad URL
 * or key, -ENOMEM, or the CA file failing to load (-EIO; the reason is logged).
 */
struct wm_derp_client *wm_derp_client_create(struct ev_loop *loop,
					     const struct wm_derp_client_config *cfg, int *err);

/*
 * Queues a packet for dst_key and never blocks. 0 when queued; -ENOBUFS when it was queued but
 * older packets were dropped to make room; -EMSGSIZE over WM_DERP_MAX_PACKET_SIZE. Packets
 * queued while disconnected go out after the next handshake.
 */
int wm_derp_client_send(struct wm_derp_client *c, const uint8_t dst_key[WM_DERP_KEY_LEN],
			const uint8_t *data, size_t len);

/* Tells the relay whether it is the home relay, now (if connected) and after reconnects. */
void wm_derp_client_set_preferred(struct wm_derp_client *c, bool preferred);

/* Counters and state. */
void wm_derp_client_stats(const struct wm_derp_client *c, struct wm_derp_client_stats *out);

/* Closes the connection and frees the client; the private key is wiped. Safe from callbacks. */
void wm_derp_client_destroy(struct wm_derp_client *c);

#endif
