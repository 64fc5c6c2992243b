/* SPDX-License-Identifier: MIT */
/* The receive path: datagrams from the network to plaintext for the TUN, plus handshake processing. */
#ifndef WM_RECEIVE_H
#define WM_RECEIVE_H

#include <stddef.h>
#include <stdint.h>

struct wm_device;
struct wm_packet;

/*
 * Processes a batch of received datagrams (data, len, endpoint = source), in
 * place. Each ends as TUN (a plaintext IP packet, trimmed of padding),
 * CONSUMED (a handshake message or keepalive, answered through ops->send) or
 * DROP (counted with the reason). Never fails otherwise.
 */
void wm_receive_packets(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now);

/* The phases of wm_receive_packets, for a caller that runs wm_crypt_packets on other cores. */
void wm_receive_prepare(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now);
void wm_receive_finish(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now);

#endif
