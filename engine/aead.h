/* SPDX-License-Identifier: MIT */
/*
 * The data path's AEAD: ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce,
 * 32 zero bits then the 64-bit counter little-endian (whitepaper §5.4.6).
 *
 * Two backends give identical bytes. With WM_WITH_OPENSSL (OpenSSL 3.0 or
 * later) it is libcrypto's EVP, about 1.4 times as fast as libsodium 1.0.18
 * per 1420-byte packet on x86-64 (bench/README.md); otherwise, or if
 * libcrypto cannot provide the cipher at run time, libsodium.
 *
 * Thread-safe. The EVP backend keeps one cipher context per thread, created on
 * the thread's first call and freed when the thread exits; each call loads the
 * key and nonce into it, so nothing is allocated per packet and callers hold
 * no state. That context keeps the last key used until the thread's next call
 * or its exit.
 */
#ifndef WM_AEAD_H
#define WM_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/messages.h"

/*
 * Seals len bytes of src into dst (len + WM_AUTHTAG_LEN bytes: ciphertext,
 * then the tag). dst == src is allowed; other overlaps are not. ad may be NULL
 * when adlen is 0. False only when len exceeds what the cipher allows; dst is
 * zeroed then.
 */
bool wm_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN]);

/*
 * Opens len bytes of src (ciphertext and tag) into dst (len - WM_AUTHTAG_LEN
 * bytes). dst == src is allowed. False when len < WM_AUTHTAG_LEN or the tag
 * does not authenticate; dst is zeroed then (as libsodium does).
 */
bool wm_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
	__attribute__((warn_unused_result));

/* Which backend runs: "openssl-3.0.19 EVP (chacha20-poly1305)" or "libsodium 1.0.18". */
const char *wm_aead_implementation(void);

#endif
