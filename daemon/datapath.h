/* SPDX-License-Identifier: MIT */
/*
 * The packet paths of a node, with their buffers (allocated once):
 *
 *   TUN → [split super-packets] → engine (prepare, crypto on the workers) → UDP (GSO)
 *   UDP (GRO bundles cut in place) → engine (prepare, crypto, finish) → [coalesce] → TUN
 *
 * The bracketed steps run when the TUN has the vnet header (tun/offload.h).
 */
#ifndef WM_DATAPATH_H
#define WM_DATAPATH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/device.h"
#include "nat/udp.h"
#include "tun/offload.h"
#include "tun/tun.h"

struct wm_node;

enum {
	WM_DP_READS = 64,		/* datagrams or TUN reads per system call round */
	WM_DP_MAX_PACKETS = 4096,	/* packets in one engine batch, after splitting */
	WM_DP_BIG = WM_VNET_HDR_LEN + WM_PACKET_HEADROOM + WM_MSG_MAX_LEN + WM_PACKET_TAILROOM + 1,
	WM_DP_SEGMENT_ARENA = 8 << 20,	/* where split segments are laid out */
	WM_DP_COALESCE_SLOTS = 64,	/* TUN writes gathered per coalescing pass */
};

struct wm_datapath {
	uint8_t *big_out;		/* WM_DP_READS big slots: TUN reads (no offload) */
	uint8_t *big_in;		/* WM_DP_READS big slots: UDP receives */
	uint8_t *super;			/* one big slot: a TUN read with the vnet header */
	uint8_t *segments;		/* WM_DP_SEGMENT_ARENA bytes */
	uint8_t *coalesce;		/* WM_DP_COALESCE_SLOTS big slots */
	uint8_t *relay_buf;		/* one big slot: a packet that came through a relay */
	struct wm_packet pkts[WM_DP_MAX_PACKETS];
	struct wm_tun_slot tun_slots[WM_DP_MAX_PACKETS];
	struct wm_udp_slot udp_slots[WM_DP_MAX_PACKETS];
	uint8_t *seg_ptrs[WM_DP_MAX_PACKETS];
	size_t seg_lens[WM_DP_MAX_PACKETS];
	struct wm_gro_packet gro[WM_DP_COALESCE_SLOTS];
	size_t gro_write[WM_DP_COALESCE_SLOTS];
	uint64_t tun_read_errors, offload_drops;
	int last_tun_error;
};

/* Allocates the buffers. 0 or -ENOMEM. */
int wm_datapath_init(struct wm_datapath *dp);
void wm_datapath_free(struct wm_datapath *dp);

/*
 * Drains the TUN (a bounded number of rounds) through the engine to UDP.
 * Returns 0, or the TUN's -errno when reading failed (the interface may be gone).
 */
int wm_datapath_from_tun(struct wm_node *node);

/* Drains one UDP socket (bounded) through the engine to the TUN. */
void wm_datapath_from_udp(struct wm_node *node, int fd);

#endif
