/* SPDX-License-Identifier: MIT */
/*
 * The packet paths of a node, with their buffers (allocated once):
 *
 *   TUN → [split super-packets] → (fit the tunnel) → policy → engine (prepare, crypto on the workers)
 *       → UDP (GSO), or a relay for peers reached through one
 *   UDP (GRO bundles cut in place) ┐
 *   relays (batched per loop turn) ┴→ engine (prepare, crypto, finish) → policy → (fit the tunnel)
 *                                     → [coalesce] → TUN
 *
 * The bracketed steps run when the TUN has the vnet header (tun/offload.h); the parenthesized
 * ones when a tunnel MTU is set (mesh mode, filter/mtu.h). Whatever way a packet came, it meets
 * the access policy and the TUN in one place.
 */
#ifndef WM_DATAPATH_H
#define WM_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/hooks.h"
#include "daemon/relays.h"
#include "daemon/workers.h"
#include "engine/device.h"
#include "nat/udp.h"
#include "tun/offload.h"
#include "tun/tun.h"

enum {
	WM_DP_READS = 64,		/* datagrams or TUN reads per system call round */
	WM_DP_MAX_PACKETS = 4096,	/* packets in one engine batch, after splitting */
	WM_DP_BIG = WM_VNET_HDR_LEN + WM_PACKET_HEADROOM + WM_MSG_MAX_LEN + WM_PACKET_TAILROOM + 1,
	WM_DP_SEGMENT_ARENA = 8 << 20,	/* where split segments are laid out */
	WM_DP_COALESCE_SLOTS = 64,	/* TUN writes gathered per coalescing pass */
	WM_DP_TOO_BIG_PER_SECOND = 100,	/* "fragmentation needed" answers at most */
};

/* Which way a WireGuard datagram went, and over what (the metrics' path label). */
enum wm_dp_dir { WM_DP_IN, WM_DP_OUT, WM_DP_DIR_COUNT };
enum wm_dp_path { WM_DP_DIRECT_IPV4, WM_DP_DIRECT_IPV6, WM_DP_DERP, WM_DP_PATH_COUNT };

struct wm_datapath {
	/* What it moves packets between: the node's parts (wm_datapath_init). */
	struct wm_device *dev;
	struct wm_tun *tun;
	struct wm_udp *udp;
	struct wm_workers *workers;
	struct wm_relays *relays;
	const struct wm_node_hooks *hooks;

	uint8_t *big_out;		/* WM_DP_READS big slots: TUN reads (no offload) */
	uint8_t *big_in;		/* WM_DP_READS big slots: UDP receives */
	uint8_t *super;			/* one big slot: a TUN read with the vnet header */
	uint8_t *segments;		/* WM_DP_SEGMENT_ARENA bytes */
	uint8_t *coalesce;		/* WM_DP_COALESCE_SLOTS big slots */
	uint8_t *relayed;		/* WM_DP_READS big slots: packets that came through relays */
	size_t n_relayed;
	uint16_t relayed_region[WM_DP_READS];
	size_t relayed_len[WM_DP_READS];
	struct wm_packet pkts[WM_DP_MAX_PACKETS];
	struct wm_tun_slot tun_slots[WM_DP_MAX_PACKETS];
	struct wm_udp_slot udp_slots[WM_DP_MAX_PACKETS];
	uint8_t *seg_ptrs[WM_DP_MAX_PACKETS];
	size_t seg_lens[WM_DP_MAX_PACKETS];
	struct wm_gro_packet gro[WM_DP_COALESCE_SLOTS];
	size_t gro_write[WM_DP_COALESCE_SLOTS];
	uint64_t tun_read_errors, offload_drops;
	/* WireGuard datagrams (handshakes and data, as on the wire) per direction and path,
	 * counted on the loop as the batches pass (read like status reads the peers' bytes). */
	uint64_t path_packets[WM_DP_DIR_COUNT][WM_DP_PATH_COUNT];
	uint64_t path_bytes[WM_DP_DIR_COUNT][WM_DP_PATH_COUNT];
	int last_tun_error;

	/*
	 * The largest inner packet the tunnel carries (0: no limit, as wireguard-go): TCP SYNs
	 * both ways get their MSS lowered to fit it, and larger IPv4 packets with Don't Fragment
	 * set are dropped and answered (filter/mtu.h).
	 */
	unsigned tunnel_mtu;
	uint64_t mss_clamped, too_big_dropped, too_big_answered;
	uint64_t too_big_window;	/* the rate limit's second (monotonic ns) and count */
	unsigned too_big_in_window;
};

/* Allocates the buffers and keeps the parts (not owned; udp and tun may be reopened in place).
 * 0 or -ENOMEM. */
int wm_datapath_init(struct wm_datapath *dp, struct wm_device *dev, struct wm_tun *tun,
		     struct wm_udp *udp, struct wm_workers *workers, struct wm_relays *relays,
		     const struct wm_node_hooks *hooks);
void wm_datapath_free(struct wm_datapath *dp);

/*
 * Drains the TUN (a bounded number of rounds) through the engine to UDP and the relays.
 * Returns 0, or the TUN's -errno when reading failed (the interface may be gone).
 */
int wm_datapath_from_tun(struct wm_datapath *dp);

/* Drains one UDP socket (bounded) through the engine to the TUN. */
void wm_datapath_from_udp(struct wm_datapath *dp, int fd);

/*
 * Takes a WireGuard datagram that came through relay region `region`: copied into the relayed
 * batch, which goes through with the next wm_datapath_flush_relayed (at once when it is full).
 */
void wm_datapath_from_relay(struct wm_datapath *dp, uint16_t region, const uint8_t *buf,
			    size_t len);

/* Counts a WireGuard datagram under dir and its path (a relay's pseudo-endpoint, or the
 * address family); the batches count theirs, the engine's single sends call this. */
void wm_datapath_count(struct wm_datapath *dp, enum wm_dp_dir dir, const struct wm_endpoint *ep,
		       size_t len);

/* Writes one complete IP packet of our own (an answer to the host) into the TUN. 0 or -errno. */
int wm_datapath_to_tun(struct wm_datapath *dp, const uint8_t *pkt, size_t len);

/* The relayed batch through the engine to the TUN; true when there was one. */
bool wm_datapath_flush_relayed(struct wm_datapath *dp);

#endif
