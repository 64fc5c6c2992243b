/* SPDX-License-Identifier: MIT */
/*
 * What this node's network looks like from outside (docs/nat-traversal.md), the I/O around the
 * sans-I/O STUN rounds of nat/netcheck.c: the relays' STUN servers looked up off the loop, a
 * round every 20-26 s and whenever asked, sent from the WireGuard socket; this node's reflexive
 * addresses (STUN, and what peers' pongs saw), whether its NAT maps each destination to another
 * port, the nearest relay; link and address changes from netlink. The path manager
 * (daemon/paths.c) owns one and is told when something changed.
 */
#ifndef WM_NETCHECK_IO_H
#define WM_NETCHECK_IO_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-client/netmap.h"
#include "daemon/control.h"
#include "daemon/relays.h"
#include "nat/netcheck.h"
#include "nat/udp.h"

struct wm_resolve;
struct json_t;

#define WM_NETCHECK_IO_MIN_S 20.0		/* a STUN round every 20-26 s (spec §2.4) */
#define WM_NETCHECK_IO_JITTER_S 6.0
#define WM_NETCHECK_IO_DEBOUNCE_S 0.5		/* netlink events settle this long */
enum {
	WM_NETCHECK_IO_MAX_SERVERS = WM_NETCHECK_MAX_SERVERS,
	WM_NETCHECK_IO_MAX_OBSERVED = 4,	/* our addresses as peers' pongs reported them */
	WM_NETCHECK_IO_MAX_WAITING = 8,		/* `wiremesh netcheck` requests waiting for a round */
};

/* What changed, for on_change. */
enum wm_netcheck_io_change {
	WM_NETCHECK_IO_OBSERVED,	/* a peer saw us at a new address */
	WM_NETCHECK_IO_REPORT,		/* a round found other reflexive addresses or mapping */
	WM_NETCHECK_IO_NETWORK,		/* a link or address changed here */
};

struct wm_stun_server {
	uint16_t region;
	char host[WM_RELAYMAP_HOST_MAX + 1];
	uint16_t port;
	struct wm_endpoint addr;	/* unset until resolved */
	struct wm_resolve *lookup;
	struct wm_netcheck_io *owner;
};

struct wm_netcheck_io {
	struct ev_loop *loop;
	struct wm_udp *udp;		/* rounds go out from the WireGuard socket */
	const struct wm_relays *relays;	/* for the home region */
	void (*on_change)(void *ctx, enum wm_netcheck_io_change what);
	void (*on_home_relay)(void *ctx, uint16_t region);	/* the nearest should be home */
	void *ctx;

	struct wm_stun_server stun[WM_NETCHECK_IO_MAX_SERVERS];
	size_t n_stun;
	struct wm_netcheck netcheck;
	struct wm_netcheck_report report;
	bool have_report;
	bool again;			/* asked for while a round ran: another one after it */
	uint64_t last_report_at;
	struct wm_control_conn *waiting[WM_NETCHECK_IO_MAX_WAITING];
	size_t n_waiting;
	struct wm_endpoint observed[WM_NETCHECK_IO_MAX_OBSERVED];
	size_t n_observed;

	int monitor_fd;
	ev_io monitor_watcher;
	ev_timer round_timer, poll_timer, change_timer;
	uint64_t stun_in;
};

/* Starts the periodic rounds and the netlink monitor; callbacks and ctx are set beforehand. */
void wm_netcheck_io_start(struct wm_netcheck_io *nio, struct ev_loop *loop, struct wm_udp *udp,
			  const struct wm_relays *relays);
void wm_netcheck_io_stop(struct wm_netcheck_io *nio);

/* The relay map's STUN servers (looked up again only when they changed). */
void wm_netcheck_io_set_servers(struct wm_netcheck_io *nio, const struct wm_relay_map *rm);

/* A datagram on the WireGuard socket: true when it was a STUN reply (taken). */
bool wm_netcheck_io_on_datagram(struct wm_netcheck_io *nio, const uint8_t *buf, size_t len,
				const struct wm_endpoint *from);

/* Starts a round now (unless one runs); conn (may be NULL) gets the report when it ends. */
void wm_netcheck_io_run(struct wm_netcheck_io *nio, struct wm_control_conn *conn);

/* A pong said a peer saw us at src: remembered as one of our addresses. */
void wm_netcheck_io_observe(struct wm_netcheck_io *nio, const struct wm_endpoint *src);

/* This node's reflexive addresses worth publishing (STUN, and pongs when the NAT maps the
 * same for everyone): appends to out (at most max). Returns how many. */
size_t wm_netcheck_io_reflexive(const struct wm_netcheck_io *nio, struct wm_endpoint *out,
				size_t max);

/* Something about the network changed: forget observed addresses, new round, on_change. */
void wm_netcheck_io_network_changed(struct wm_netcheck_io *nio);

/* The last report as JSON (status "nat", and the `wiremesh netcheck` answer). */
struct json_t *wm_netcheck_io_json(const struct wm_netcheck_io *nio);

#endif
