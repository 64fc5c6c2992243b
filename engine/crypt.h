/* SPDX-License-Identifier: MIT */
/*
 * The data path's AEAD work, split out so it can run on several cores.
 *
 * A batch goes through three phases: prepare (the engine's bookkeeping, on
 * the loop thread), crypt (only the AEAD, on any thread, any slice of the
 * batch), finish (bookkeeping again, on the loop thread, in batch order).
 *
 *   outbound: wm_send_prepare → wm_crypt_packets            (no finish needed)
 *   inbound:  wm_receive_prepare → wm_crypt_packets → wm_receive_finish
 *
 * wm_send_packets and wm_receive_packets do all three in one call.
 */
#ifndef WM_CRYPT_H
#define WM_CRYPT_H

#include <stddef.h>

#include "engine/packet.h"

/*
 * Seals packets marked WM_VERDICT_SEAL (→ SEND) and opens those marked
 * WM_VERDICT_OPEN (→ OPENED, or OPEN_FAILED for wm_receive_finish to count). Touches nothing but the packets: thread-safe.
 */
void wm_crypt_packets(struct wm_packet *pkts, size_t n);

#endif
