/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-relay's state, shared by its parts: relay.c (listeners, accept, lifecycle) owns it,
 * session.c (the DERP protocol) and pages.c (plain HTTP replies, the counters) read and count
 * in it. The connections' shared part (conn.h) and the STUN server's counters are embedded.
 * Data only: every function lives in the part that owns it.
 */
#ifndef WM_RELAY_STATE_H
#define WM_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "relay-server/conn.h"
#include "relay-server/keys.h"
#include "relay-server/pktq.h"
#include "relay-server/registry.h"
#include "relay-server/stun_server.h"

#define WM_RELAY_HANDSHAKE_TIMEOUT_MS 10000	/* derpserver.go accept: 10 s deadlines */
#define WM_RELAY_WRITE_TIMEOUT_MS 2000		/* DefaultTCPWiteTimeout */
#define WM_RELAY_MAX_CLIENTS 10000
#define WM_RELAY_QUEUE_BUDGET (256u << 20)	/* bytes of packets queued, all clients */

struct wm_tls_config;

struct wm_relay_config {
	const char *listen;		/* "ADDR:PORT" or ":PORT" (all addresses) */
	bool plain;			/* HTTP, not HTTPS */
	const char *cert_file, *key_file;
	const char *stun_listen;	/* NULL: no STUN */
	uint8_t private_key[32];
	const char *verify_file;	/* NULL: admit every key */
	unsigned max_clients;
	unsigned handshake_timeout_ms, write_timeout_ms;
	size_t queue_budget;
};

/* The DERP side's counters; the connections and STUN keep theirs (conn.h, stun_server.h). */
struct wm_relay_counters {
	uint64_t refused_full, not_allowed;
	uint64_t protocol_errors, replaced;
	uint64_t packets_recv, bytes_recv, packets_sent, bytes_sent;
	uint64_t drops_unknown_dest, drops_queue_full, drops_memory, drops_gone;
	uint64_t peer_gone_disconnected, peer_gone_not_here, control_drops;
	uint64_t pings, pongs, keepalives, unknown_frames, home_moves;
	struct wm_relay_stun_counters stun;
};

struct wm_relay {
	struct ev_loop *loop;
	struct wm_relay_config cfg;
	uint8_t public_key[32];
	struct wm_tls_config *tls;
	struct wm_relay_registry reg;
	struct wm_relay_pool pool;
	struct wm_relay_allowlist allow;
	bool verify;
	int listen_fd;
	ev_io accept_io;
	ev_timer accept_pause;		/* out of descriptors: try again shortly */
	struct wm_relay_stun *stun;
	struct wm_relay_conns conns;	/* every connection, any phase */
	size_t nclients, nhome;
	ev_tstamp started;
	struct wm_relay_counters n;
};

#endif
