/* SPDX-License-Identifier: MIT */
/*
 * One running interface: the engine, its TUN, its UDP sockets and its UAPI
 * socket, stitched together on a libev loop. The node owns every descriptor
 * and timer; the engine owns the protocol.
 */
#ifndef WM_NODE_H
#define WM_NODE_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/datapath.h"
#include "daemon/hooks.h"
#include "daemon/relays.h"
#include "daemon/uapi_server.h"
#include "daemon/workers.h"
#include "engine/device.h"
#include "nat/udp.h"
#include "tun/tun.h"

struct wm_node_options {
	const char *ifname;
	int tun_fd;		/* WG_TUN_FD, or -1 */
	int uapi_fd;		/* WG_UAPI_FD, or -1 */
	unsigned threads;	/* cores for crypto, the loop thread's included */
	bool no_offload;	/* no TUN/UDP segmentation offloads */
	struct wm_relays relays;	/* --relay REGION=URL, --relay-ca FILE */
};

struct wm_node {
	struct ev_loop *loop;
	struct wm_device *dev;
	struct wm_tun tun;
	struct wm_udp udp;
	struct wm_uapi_server uapi;
	struct wm_workers *workers;
	struct wm_relays relays;

	ev_io tun_watcher, udp4_watcher, udp6_watcher;
	ev_timer engine_timer;		/* armed at the engine's next deadline */
	ev_timer housekeeping;		/* once a second: MTU and wall clock */
	ev_prepare relayed_flush;	/* relayed packets go through as a batch before the loop waits */
	ev_signal sigint_watcher, sigterm_watcher;

	struct wm_datapath dp;
	struct wm_node_hooks hooks;
};

/*
 * Creates the TUN, the UAPI socket and the UDP sockets and starts watching
 * them. 0 or -errno, with *what naming the step that failed.
 */
int wm_node_start(struct wm_node *node, struct ev_loop *loop, const struct wm_node_options *opt,
		  const char **what);

/* Re-arms the engine timer at the engine's next deadline (after anything that may move it). */
void wm_node_rearm_timer(struct wm_node *node);

/*
 * Sends a plaintext IP packet of our own into the tunnel (a reset answering a dropped
 * connection): buf has WM_PACKET_HEADROOM bytes before pkt and WM_PACKET_TAILROOM after it.
 */
void wm_node_send_plaintext(struct wm_node *node, uint8_t *pkt, size_t len);

/*
 * The interface's MTU becomes iface_mtu, and what enters or leaves the tunnel is kept within
 * tunnel_mtu (daemon/datapath.h; 0: no limit, as in WireGuard mode). 0 or -errno.
 */
int wm_node_set_mtu(struct wm_node *node, unsigned iface_mtu, unsigned tunnel_mtu);

/* Moves the UDP sockets to port (0: any free one); the old ones stay on failure. 0 or -errno. */
int wm_node_bind_port(struct wm_node *node, uint16_t port);

/* Stops everything, removes the UAPI socket, closes the TUN (the interface goes). */
void wm_node_stop(struct wm_node *node);

#endif
