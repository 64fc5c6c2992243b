/* SPDX-License-Identifier: MIT */
/*
 * The UDP sockets WireGuard datagrams travel on: one IPv4 and one IPv6
 * socket bound to the same port (so endpoints keep their family), moved in
 * batches with recvmmsg/sendmmsg.
 */
#ifndef WM_UDP_H
#define WM_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"

struct wm_udp {
	int fd4, fd6;		/* -1 when that family is unavailable */
	uint16_t port;
	uint32_t fwmark;
	bool gso;		/* UDP_SEGMENT works: same-size runs go out in one send */
	bool gro;		/* UDP_GRO is on: one receive may hold many datagrams */
	uint8_t *gso_buf;	/* where a run is gathered for one GSO send */
};

/*
 * One slot of a batch. On receive: buf/cap in; len, addr and segment out
 * (segment > 0: the kernel coalesced datagrams of that size, the last maybe
 * shorter, into buf). On send: buf/len/addr in.
 */
struct wm_udp_slot {
	uint8_t *buf;
	size_t cap;
	size_t len;
	struct wm_endpoint addr;	/* on receive, addr.src is our address it came to */
	uint16_t segment;
	bool src_stale;		/* send: addr.src is no longer ours; it went out without it */
	void *owner;		/* the caller's, untouched */
};

/* Turns UDP GSO/GRO on or off (on by default where the kernel has them). */
void wm_udp_set_offloads(struct wm_udp *udp, bool enable);

/* Marks the pair closed. */
void wm_udp_init(struct wm_udp *udp);

/*
 * Binds both families to port (0 = let the kernel choose one free in both),
 * non-blocking, with fwmark applied when nonzero. Works on a fresh struct and
 * leaves udp untouched on failure, so a caller can swap on success. 0 or -errno.
 */
int wm_udp_bind(struct wm_udp *udp, uint16_t port, uint32_t fwmark);

/* Applies SO_MARK to both sockets (0 clears it). 0 or -errno. */
int wm_udp_set_fwmark(struct wm_udp *udp, uint32_t fwmark);

/* Receives up to n datagrams from fd without blocking; count, 0 when none, or -errno. */
int wm_udp_recv_batch(int fd, struct wm_udp_slot *slots, size_t n);

/*
 * Sends n datagrams, each to its addr (from addr.src when set), picking the
 * socket by family; how many went out. A slot whose source address stopped
 * being ours goes out without it and gets src_stale set.
 */
int wm_udp_send_batch(struct wm_udp *udp, struct wm_udp_slot *slots, size_t n);

/* Sends one datagram. 0, 1 when to->src was stale and it went out without, or -errno. */
int wm_udp_send(struct wm_udp *udp, const struct wm_endpoint *to, const uint8_t *buf, size_t len);

void wm_udp_close(struct wm_udp *udp);

#endif
