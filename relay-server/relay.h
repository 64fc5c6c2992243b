/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-relay: a DERP relay and STUN server on one libev loop. This header is the server's
 * state and the seams between its files: relay.c (listeners, accept, lifecycle), conn.c (one
 * client connection: TLS, HTTP, the DERP handshake and frames), pages.c (plain HTTP replies and
 * the status counters), stun_server.c (UDP).
 */
#ifndef WM_RELAY_H
#define WM_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <sys/socket.h>

#include "relay-client/derp_http.h"
#include "relay-server/keys.h"
#include "relay-server/pktq.h"
#include "relay-server/registry.h"

#define WM_RELAY_HANDSHAKE_TIMEOUT_MS 10000	/* derpserver.go accept: 10 s deadlines */
#define WM_RELAY_WRITE_TIMEOUT_MS 2000		/* DefaultTCPWiteTimeout */
#define WM_RELAY_MAX_CLIENTS 10000
#define WM_RELAY_QUEUE_BUDGET (256u << 20)	/* bytes of packets queued, all clients */
#define WM_RELAY_CLIENT_INFO_MAX 16384		/* ours; Go allows 256 KiB, clients send ~100 B */

struct wm_tls_config;
struct wm_relay_conn;
struct wm_relay_stun;

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

struct wm_relay_counters {
	uint64_t accepts, refused_full, http_requests, upgrades;
	uint64_t handshake_timeouts, handshake_failures, not_allowed;
	uint64_t protocol_errors, write_timeouts, replaced;
	uint64_t packets_recv, bytes_recv, packets_sent, bytes_sent;
	uint64_t drops_unknown_dest, drops_queue_full, drops_memory, drops_gone;
	uint64_t peer_gone_disconnected, peer_gone_not_here, control_drops;
	uint64_t pings, pongs, keepalives, unknown_frames, home_moves;
	uint64_t stun_requests, stun_replies, stun_bad;
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
	struct wm_relay_conn *conns;	/* every connection, any phase */
	size_t nconns, nclients, nhome;
	ev_tstamp started;
	struct wm_relay_counters n;
};

/* Binds the listeners and loads keys and certificates. 0, or a negative errno with the reason
 * in err. The relay runs as long as the loop does. */
int wm_relay_start(struct wm_relay *r, struct ev_loop *loop, const struct wm_relay_config *cfg,
		   char *err, size_t errlen);

/* Closes every connection and listener and frees everything. */
void wm_relay_stop(struct wm_relay *r);

/* Rereads the --verify-clients file; on error the old list stays. 0 or a negative errno. */
int wm_relay_reload_allowlist(struct wm_relay *r, char *err, size_t errlen);

/* conn.c: serve an accepted socket (non-blocking, owned from now on). */
void wm_relay_conn_accept(struct wm_relay *r, int fd, const char *peer);

/* conn.c: close one connection at once; the relay keeps serving the others. */
void wm_relay_conn_close(struct wm_relay_conn *c, const char *why);

/* pages.c: the reply (head and body) to a request that is not a DERP upgrade. Its length. */
size_t wm_relay_page(struct wm_relay *r, const struct wm_derp_http_request *req, char *out,
		     size_t cap);

/* pages.c: the counters as JSON. Its length. */
size_t wm_relay_status_json(const struct wm_relay *r, char *out, size_t cap);

/* stun_server.c: a STUN binding server on addr ("ADDR:PORT" or ":PORT"). */
struct wm_relay_stun *wm_relay_stun_start(struct wm_relay *r, const char *addr, char *err,
					  size_t errlen);
void wm_relay_stun_stop(struct wm_relay_stun *s);
int wm_relay_stun_fd(const struct wm_relay_stun *s);

/* relay.c: "ADDR:PORT" or ":PORT" into a socket address; ":PORT" means IPv6 any (dual stack).
 * 0 or -EINVAL. */
int wm_relay_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif
