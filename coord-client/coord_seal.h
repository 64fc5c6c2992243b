/* SPDX-License-Identifier: MIT */
/*
 * The sealed body of every request and answer (docs/coord-protocol.md, "Sealing"): a random
 * 24-byte nonce followed by crypto_box (X25519, XSalsa20-Poly1305) of the JSON text, between
 * the node's WireGuard key and the server's key. The sender's public key travels in the clear
 * in the Wiremesh-Node header. A wm_coord_box holds the precomputed shared key of one pair, so
 * a server answering a request, or a node polling, pays for X25519 once.
 */
#ifndef WM_COORD_SEAL_H
#define WM_COORD_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/key.h"

#define WM_COORD_SEAL_NONCE_LEN 24	/* crypto_box_NONCEBYTES */
#define WM_COORD_SEAL_OVERHEAD (24 + 16)	/* nonce + crypto_box_MACBYTES */

struct wm_coord_box {
	uint8_t shared[32];		/* crypto_box_BEFORENMBYTES */
};

/* Precomputes the key between our private key and their public key. False for a public key
 * of low order (the shared secret would be predictable). Wipe with wm_coord_box_wipe(). */
bool wm_coord_box_init(struct wm_coord_box *b, const uint8_t their_pub[WM_KEY_LEN],
		       const uint8_t our_priv[WM_KEY_LEN]);

void wm_coord_box_wipe(struct wm_coord_box *b);

/* Writes nonce || box(msg) into out: len + WM_COORD_SEAL_OVERHEAD bytes, or -ENOSPC. */
ssize_t wm_coord_seal(const struct wm_coord_box *b, uint8_t *out, size_t cap,
		      const void *msg, size_t len);

/* Opens nonce || box into out (len - WM_COORD_SEAL_OVERHEAD bytes). -EBADMSG when too short
 * or the box does not authenticate (tampered, or another key); -ENOSPC when out is small. */
ssize_t wm_coord_open(const struct wm_coord_box *b, uint8_t *out, size_t cap,
		      const uint8_t *sealed, size_t len);

/* The public key of a private key (X25519 base point multiplication). */
void wm_coord_public_key(uint8_t pub[WM_KEY_LEN], const uint8_t priv[WM_KEY_LEN]);

#endif
