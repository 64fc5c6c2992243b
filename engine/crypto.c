/* SPDX-License-Identifier: MIT */
#include "engine/crypto.h"

#include <blake2.h>
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "common/key.h"
#include "engine/aead.h"

enum { BLAKE2S_BLOCK_LEN = 64 };

int wm_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void wm_crypto_hash(uint8_t out[WM_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state state;

	blake2s_init(&state, WM_HASH_LEN);
	blake2s_update(&state, a, alen);
	if (blen)
		blake2s_update(&state, b, blen);
	blake2s_final(&state, out, WM_HASH_LEN);
	sodium_memzero(&state, sizeof(state));
}

void wm_crypto_mac(uint8_t out[WM_MAC_LEN], const uint8_t *key, size_t keylen,
		   const void *in, size_t len)
{
	blake2s(out, in, key, WM_MAC_LEN, len, keylen);
}

void wm_crypto_hmac(uint8_t out[WM_HASH_LEN], const uint8_t *key, size_t keylen,
		    const void *in, size_t len)
{
	uint8_t block[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t inner[WM_HASH_LEN];
	blake2s_state state;
	size_t i;

	if (keylen > BLAKE2S_BLOCK_LEN)
		blake2s(block, key, NULL, WM_HASH_LEN, keylen, 0);
	else
		memcpy(block, key, keylen);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		block[i] ^= 0x36;
	blake2s_init(&state, WM_HASH_LEN);
	blake2s_update(&state, block, BLAKE2S_BLOCK_LEN);
	blake2s_update(&state, in, len);
	blake2s_final(&state, inner, WM_HASH_LEN);

	for (i = 0; i < BLAKE2S_BLOCK_LEN; i++)
		block[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&state, WM_HASH_LEN);
	blake2s_update(&state, block, BLAKE2S_BLOCK_LEN);
	blake2s_update(&state, inner, WM_HASH_LEN);
	blake2s_final(&state, out, WM_HASH_LEN);

	sodium_memzero(block, sizeof(block));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&state, sizeof(state));
}

void wm_crypto_kdf(uint8_t t1[WM_HASH_LEN], uint8_t *t2, uint8_t *t3,
		   const uint8_t chaining_key[WM_HASH_LEN], const void *input, size_t len)
{
	uint8_t secret[WM_HASH_LEN];
	uint8_t buf[WM_HASH_LEN + 1];

	/* τ0 = HMAC(C, input); τ1 = HMAC(τ0, 0x1); τi = HMAC(τ0, τ(i-1) || i). */
	wm_crypto_hmac(secret, chaining_key, WM_HASH_LEN, input, len);
	buf[0] = 1;
	wm_crypto_hmac(buf, secret, WM_HASH_LEN, buf, 1);
	memcpy(t1, buf, WM_HASH_LEN);
	if (t2) {
		buf[WM_HASH_LEN] = 2;
		wm_crypto_hmac(buf, secret, WM_HASH_LEN, buf, WM_HASH_LEN + 1);
		memcpy(t2, buf, WM_HASH_LEN);
	}
	if (t2 && t3) {
		buf[WM_HASH_LEN] = 3;
		wm_crypto_hmac(buf, secret, WM_HASH_LEN, buf, WM_HASH_LEN + 1);
		memcpy(t3, buf, WM_HASH_LEN);
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(buf, sizeof(buf));
}

bool wm_crypto_dh(uint8_t out[WM_KEY_LEN], const uint8_t private_key[WM_KEY_LEN],
		  const uint8_t public_key[WM_KEY_LEN])
{
	/* libsodium refuses (returns -1) when the shared point is all zeros. */
	if (crypto_scalarmult(out, private_key, public_key) != 0) {
		sodium_memzero(out, WM_KEY_LEN);
		return false;
	}
	return true;
}

void wm_crypto_generate_keypair(uint8_t private_key[WM_KEY_LEN], uint8_t public_key[WM_KEY_LEN],
				const struct wm_rng *rng)
{
	wm_rng_fill(rng, private_key, WM_KEY_LEN);
	wm_key_clamp(private_key);
	crypto_scalarmult_base(public_key, private_key);
}

bool wm_crypto_public_from_private(uint8_t public_key[WM_KEY_LEN],
				   const uint8_t private_key[WM_KEY_LEN])
{
	return crypto_scalarmult_base(public_key, private_key) == 0;
}

void wm_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	/* Fails only past the cipher's length limit, leaving dst zeroed: no peer accepts that. */
	(void)wm_aead_seal(dst, src, len, ad, adlen, counter, key);
}

bool wm_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			 size_t adlen, uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	return wm_aead_open(dst, src, len, ad, adlen, counter, key);
}

void wm_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[WM_COOKIE_NONCE_LEN],
			  const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce, key);
}

bool wm_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			  size_t adlen, const uint8_t nonce[WM_COOKIE_NONCE_LEN],
			  const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	if (len < WM_AUTHTAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							  nonce, key) == 0;
}

bool wm_crypto_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

void wm_crypto_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}
