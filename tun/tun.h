/* SPDX-License-Identifier: MIT */
/*
 * The TUN device: layer-3 packets in and out, no packet-information header.
 * One small interface with a backend per system (tun_linux.c today; the BSDs'
 * tun/utun slot in beside it). Reads and writes come in batches so a backend
 * with offloads can move many packets per system call.
 */
#ifndef WM_TUN_H
#define WM_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { WM_TUN_NAME_LEN = 16 };	/* IFNAMSIZ on Linux and the BSDs */

struct wm_tun {
	int fd;
	char name[WM_TUN_NAME_LEN];
	bool created;		/* we made the interface (not a persistent one we attached to) */
	bool vnet_hdr;		/* every read and write starts with a virtio_net_hdr (offload.h) */
	bool packet_info;	/* an adopted fd without IFF_NO_PI: a 4-byte header on each packet */
	unsigned offloads;	/* WM_TUN_F_* the kernel accepted: it may hand us super-packets */
};

/* One slot of a batch: buf of cap bytes; len is filled on read, given on write. */
struct wm_tun_slot {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

/*
 * Opens (creating if needed) the TUN interface name, non-blocking. A persistent
 * interface made with `ip tuntap add NAME mode tun user USER` is attached to
 * without any capability. With offload, asks for the vnet header and the
 * segmentation offloads (checksum, TSO4/6, USO4/6 where the kernel has them)
 * so one read can be a 64 KiB super-packet; falls back to fewer, or none,
 * quietly (see vnet_hdr and offloads). 0 or -errno.
 */
int wm_tun_open(struct wm_tun *tun, const char *name, bool offload);

/* Adopts an already-open TUN descriptor (wg-quick's WG_TUN_FD). 0 or -errno. */
int wm_tun_adopt(struct wm_tun *tun, int fd, const char *name);

/*
 * Reads up to n packets without blocking; returns how many (0 when none waits)
 * or -errno. -EBADFD (or -ENODEV, -EIO) means the interface is gone.
 */
int wm_tun_read_batch(struct wm_tun *tun, struct wm_tun_slot *slots, size_t n);

/* Writes n packets; returns how many were written or -errno for the first failure. */
int wm_tun_write_batch(struct wm_tun *tun, const struct wm_tun_slot *slots, size_t n);

/* The interface's MTU. 0 or -errno. */
int wm_tun_get_mtu(const struct wm_tun *tun, unsigned *mtu);

/* Sets the MTU (needs CAP_NET_ADMIN). 0 or -errno. */
int wm_tun_set_mtu(const struct wm_tun *tun, unsigned mtu);

/* Closes the descriptor; an interface we created disappears with it. */
void wm_tun_close(struct wm_tun *tun);

#endif
