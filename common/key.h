/* SPDX-License-Identifier: MIT */
/*
 * Curve25519 keys, as WireGuard, DERP, disco and the coordination protocol use them: 32 bytes
 * for a public or a private key (RFC 7748). Defined here once; every module that handles keys
 * includes this.
 */
#ifndef WM_KEY_H
#define WM_KEY_H

#include <stdint.h>

#define WM_KEY_LEN 32

/*
 * Turns 32 random bytes into a private key the way wg genkey and Tailscale do (RFC 7748 §5):
 * the low three bits cleared, the top bit cleared and the next one set.
 */
static inline void wm_key_clamp(uint8_t key[WM_KEY_LEN])
{
	key[0] &= 248;
	key[31] = (key[31] & 127) | 64;
}

#endif
