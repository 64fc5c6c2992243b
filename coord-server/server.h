/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord serve: one libev loop owns the listener, every connection, the held polls and
 * the timers. State lives in the store (SQLite); what is only in memory (held polls, the
 * netmap cache, replay ids, rate buckets) is rebuilt or refilled after a restart.
 */
#ifndef WM_COORD_SERVER_H
#define WM_COORD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "coord-server/netmap_cache.h"
#include "coord-server/ratelimit.h"
#include "coord-server/replay.h"
#include "coord-server/store.h"

/* Bounds and timings (docs/coord-protocol.md, "Server limits"). */
#define WM_COORD_MAX_CONNS 8192		/* open connections, held polls included */
#define WM_COORD_MAX_HELD 8192		/* polls held at once */
#define WM_COORD_HOLD_S 50.0		/* a poll is answered "unchanged" after this... */
#define WM_COORD_HOLD_JITTER_S 5.0	/* ...minus up to this, so clients spread out */
#define WM_COORD_READ_TIMEOUT_S 10.0	/* the whole request, TLS handshake included */
#define WM_COORD_WRITE_TIMEOUT_S 30.0
#define WM_COORD_DRAIN_S 2.0		/* after the answer, unread input is discarded */
#define WM_COORD_WAKE_URGENT_S 0.05	/* changes are batched this long before fan-out */
#define WM_COORD_WAKE_LAZY_S 5.0	/* ...and online/offline flips this long */
#define WM_COORD_WATCH_S 0.2		/* how often the database is checked for admin changes */
#define WM_COORD_SWEEP_EVERY 5		/* watch ticks per presence sweep (1 s) */
#define WM_COORD_ONLINE_GRACE_S 15	/* silent this long without a held poll: offline */
#define WM_COORD_EPHEMERAL_AFTER_S 120	/* ephemeral nodes offline this long are removed */

struct wm_tls_config;
struct wm_coord_sconn;

struct wm_coord_server_stats {
	uint64_t requests, answered_4xx, answered_5xx, fanouts, netmaps_sent;
};

struct wm_coord_server {
	struct ev_loop *loop;
	struct wm_store *store;
	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN];
	struct wm_tls_config *tls;		/* NULL: plain HTTP */
	int listen_fd;
	ev_io accept_io;
	bool accept_paused;
	ev_timer watch_timer, wake_timer;
	bool wake_pending;
	ev_tstamp wake_at;
	unsigned int ticks;
	int64_t last_sweep;
	struct wm_coord_replay replay;
	struct wm_coord_ratelimit rl;
	struct wm_coord_cache cache;
	struct wm_coord_sconn *conns;		/* every open connection */
	size_t n_conns, n_held;
	struct wm_coord_server_stats stats;
};

/* Schedules the fan-out to held polls within delay seconds (keeps an earlier one). */
void wm_coord_server_wake(struct wm_coord_server *srv, double delay);

/* A connection went away or stopped holding: the accept watcher may resume. */
void wm_coord_server_conn_gone(struct wm_coord_server *srv);

/* Unix time now (the protocol's clock). */
int64_t wm_coord_server_now(void);

/* Runs `wiremesh-coord serve` with its arguments (after "serve"). Exit status. */
int wm_coord_serve_main(int argc, char **argv);

#endif
