/* SPDX-License-Identifier: MIT */
/* The send path: plaintext from the TUN to sealed datagrams, and the messages the engine originates. */
#ifndef WM_SEND_H
#define WM_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wm_device;
struct wm_packet;
struct wm_peer;

/*
 * Seals a batch of IP packets read from the TUN, in place. Each packet ends
 * as SEND (to its endpoint), CONSUMED (staged until a handshake completes)
 * or DROP (with the reason counted).
 */
void wm_send_packets(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now);

/* The first phase of wm_send_packets: everything but the sealing (crypt.h); SEAL marks the rest. */
void wm_send_prepare(struct wm_device *dev, struct wm_packet *pkts, size_t n, uint64_t now);

/*
 * Sends a handshake message this peer's handshake state just made (initiation or response):
 * adds MAC1/MAC2, runs the timer hooks of a packet sent, notes the time of a handshake sent.
 */
void wm_send_handshake_message(struct wm_peer *peer, void *msg, size_t len, uint64_t now);

/* Sends a handshake initiation, unless one went out less than REKEY_TIMEOUT ago. */
void wm_send_handshake_initiation(struct wm_peer *peer, uint64_t now, bool is_retry);

/*
 * Call after the peer's endpoint moved (the caller found a better way to it): an initiation
 * still unanswered goes again at once, the new way, rather than at its retransmit timer.
 */
void wm_send_handshake_on_new_endpoint(struct wm_peer *peer, uint64_t now);

/* Sends the staged packets, or an empty keepalive when none wait (§6.5). */
void wm_send_keepalive(struct wm_peer *peer, uint64_t now);

/* Seals and sends every staged packet if a session allows, else starts a handshake. */
void wm_send_staged_packets(struct wm_peer *peer, uint64_t now);

/* Hands a datagram to ops->send and counts it. */
void wm_send_buffer_to_peer(struct wm_peer *peer, const uint8_t *buf, size_t len);

#endif
