/* SPDX-License-Identifier: MIT */
/*
 * The primitives of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (whitepaper §5.4):
 * BLAKE2s from libb2 (libsodium has only BLAKE2b), X25519 and XChaCha20-Poly1305
 * from libsodium, ChaCha20-Poly1305 from engine/aead.h (OpenSSL's EVP or
 * libsodium). Randomness comes from a caller-supplied source so tests can
 * replay a run exactly.
 */
#ifndef WM_CRYPTO_H
#define WM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "engine/messages.h"


/* Initialises libsodium; 0 or -EIO. Safe to call more than once. */
int wm_crypto_init(void);

/* HASH(a || b): BLAKE2s-256. b may be NULL with blen 0. */
void wm_crypto_hash(uint8_t out[WM_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);

/* MAC(key, in): keyed BLAKE2s with a 16-byte output; keys are 32 bytes, or 16 for a cookie. */
void wm_crypto_mac(uint8_t out[WM_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t len);

/* HMAC-BLAKE2s-256 (RFC 2104 over a 64-byte block). */
void wm_crypto_hmac(uint8_t out[WM_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *in, size_t len);

/*
 * KDF_n(chaining_key, input) of §5.4: writes up to three 32-byte outputs;
 * t2 and t3 may be NULL.
 */
void wm_crypto_kdf(uint8_t t1[WM_HASH_LEN], uint8_t *t2, uint8_t *t3,
		   const uint8_t chaining_key[WM_HASH_LEN], const void *input, size_t len);

/* X25519; false when the result is all zeros (a low-order point). */
bool wm_crypto_dh(uint8_t out[WM_KEY_LEN], const uint8_t private_key[WM_KEY_LEN],
		  const uint8_t public_key[WM_KEY_LEN]) __attribute__((warn_unused_result));

/* A fresh clamped private key and its public key. */
void wm_crypto_generate_keypair(uint8_t private_key[WM_KEY_LEN], uint8_t public_key[WM_KEY_LEN],
				const struct wm_rng *rng);

/* The public key for a private key; false for a key that yields the zero point. */
bool wm_crypto_public_from_private(uint8_t public_key[WM_KEY_LEN],
				   const uint8_t private_key[WM_KEY_LEN]);

/* ChaCha20-Poly1305 with WireGuard's nonce: 32 zero bits then the counter, little-endian. */
void wm_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN]);

/* len includes the tag; writes len - 16 bytes; false when authentication fails. */
bool wm_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
	__attribute__((warn_unused_result));

/* XChaCha20-Poly1305, for cookie replies (§5.4.7). */
void wm_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[WM_COOKIE_NONCE_LEN],
			  const uint8_t key[WM_SYMMETRIC_KEY_LEN]);
bool wm_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[WM_COOKIE_NONCE_LEN],
			  const uint8_t key[WM_SYMMETRIC_KEY_LEN]) __attribute__((warn_unused_result));

/* Constant-time comparison of n bytes. */
bool wm_crypto_equal(const void *a, const void *b, size_t n);

/* Wipes secrets; the compiler may not elide it. */
void wm_crypto_wipe(void *p, size_t n);

#endif
