/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord serve: one libev loop owns the listener, every connection (conn.c), the held
 * polls and the timers; requests go to the endpoints (api.c) through the connections' ops. State lives in the store (SQLite); what is only in memory (held polls, the
 * netmap cache, replay ids, rate buckets) is rebuilt or refilled after a restart.
 */
#ifndef WM_COORD_SERVER_H
#define WM_COORD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "coord-server/api.h"
#include "coord-server/conn.h"
#include "coord-server/metrics.h"

/* Bounds and timings (docs/coord-protocol.md, "Server limits"; conn.h and api.h have theirs). */
#define WM_COORD_MAX_CONNS 8192		/* open connections, held polls included */
#define WM_COORD_WATCH_S 0.2		/* how often the database is checked for admin changes */
#define WM_COORD_SWEEP_EVERY 5		/* watch ticks per presence sweep (1 s) */
#define WM_COORD_ONLINE_GRACE_S 15	/* silent this long without a held poll: offline */
#define WM_COORD_EPHEMERAL_AFTER_S 120	/* ephemeral nodes offline this long are removed */

struct wm_tls_config;

struct wm_coord_server {
	struct ev_loop *loop;
	struct wm_coord_api api;		/* the store, the keys, what requests need */
	struct wm_coord_sconns conns;		/* every open connection */
	struct wm_tls_config *tls;		/* NULL: plain HTTP */
	int listen_fd;
	ev_io accept_io;
	bool accept_paused;
	ev_timer watch_timer, wake_timer;
	bool wake_pending;
	ev_tstamp wake_at;
	unsigned int ticks;
	int64_t last_sweep;
	struct wm_coord_metrics metrics;	/* fan-out counts and --metrics-listen */
};

/* Runs `wiremesh-coord serve` with its arguments (after "serve"). Exit status. */
int wm_coord_serve_main(int argc, char **argv);

#endif
