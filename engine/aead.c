/* SPDX-License-Identifier: MIT */
#include "engine/aead.h"

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#ifdef WM_WITH_OPENSSL
#include <openssl/opensslv.h>
/* EVP_CIPHER_fetch and OpenSSL_version(OPENSSL_VERSION_STRING) are 3.0; older gets libsodium. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define USE_EVP 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char implementation[80];

/* §5.4.6: 32 zero bits, then the counter little-endian. */
static void counter_nonce(uint8_t nonce[WM_AEAD_NONCE_LEN], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* Selects libsodium's SIMD code; fails only without a random source, which the AEAD needs not. */
static void sodium_setup(void)
{
	if (sodium_init() < 0) {
	}
}

static bool sodium_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			size_t adlen, const uint8_t nonce[WM_AEAD_NONCE_LEN],
			const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	/* Past the limit libsodium aborts the process instead of failing. */
	if (len > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX) {
		memset(dst, 0, len + WM_AUTHTAG_LEN);
		return false;
	}
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, adlen, NULL, nonce, key);
	return true;
}

static bool sodium_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad,
			size_t adlen, const uint8_t nonce[WM_AEAD_NONCE_LEN],
			const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	if (len - WM_AUTHTAG_LEN > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX) {
		memset(dst, 0, len - WM_AUTHTAG_LEN);	/* not empty, so dst is not NULL */
		return false;
	}
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, ad, adlen,
							 nonce, key) == 0;
}

#ifdef USE_EVP

/* Fetched once for the process; NULL when libcrypto cannot provide it (a FIPS-only setup). */
static EVP_CIPHER *cipher;
static pthread_key_t ctx_key;
/*
 * The thread's context, cipher already set: each call only loads key and nonce
 * (EVP_CipherInit_ex with a NULL cipher), which allocates nothing. Passing the
 * cipher again would make OpenSSL 3 free and rebuild the provider context.
 */
static __thread EVP_CIPHER_CTX *thread_ctx;

static void free_thread_ctx(void *ctx)
{
	thread_ctx = NULL;
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key state */
}

static void init_once(void)
{
	sodium_setup();
	cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (cipher && pthread_key_create(&ctx_key, free_thread_ctx) != 0) {
		EVP_CIPHER_free(cipher);
		cipher = NULL;
	}
	if (cipher)
		snprintf(implementation, sizeof(implementation),
			 "openssl-%s EVP (chacha20-poly1305)",
			 OpenSSL_version(OPENSSL_VERSION_STRING));
	else
		snprintf(implementation, sizeof(implementation), "libsodium %s",
			 sodium_version_string());
}

/* The calling thread's context; NULL means use libsodium for this call. */
static EVP_CIPHER_CTX *get_ctx(void)
{
	EVP_CIPHER_CTX *ctx = thread_ctx;

	if (__builtin_expect(ctx != NULL, 1))
		return ctx;
	pthread_once(&once, init_once);
	if (!cipher)
		return NULL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return NULL;
	if (!EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, 1) ||
	    pthread_setspecific(ctx_key, ctx) != 0) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	thread_ctx = ctx;
	return ctx;
}

/* -1: nothing was touched, use libsodium; 0: failed, dst zeroed; 1: sealed. */
static int evp_seal(EVP_CIPHER_CTX *ctx, uint8_t *dst, const uint8_t *src, size_t len,
		    const uint8_t *ad, size_t adlen, const uint8_t nonce[WM_AEAD_NONCE_LEN],
		    const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	int adn, n = 0, fin = 0;

	if (len > INT_MAX || adlen > INT_MAX || !EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, 1))
		return -1;
	if ((adlen && !EVP_CipherUpdate(ctx, NULL, &adn, ad, (int)adlen)) ||
	    (len && !EVP_CipherUpdate(ctx, dst, &n, src, (int)len)) ||
	    !EVP_CipherFinal_ex(ctx, dst + n, &fin) || (size_t)n + (size_t)fin != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WM_AUTHTAG_LEN, dst + len) != 1) {
		memset(dst, 0, len + WM_AUTHTAG_LEN);
		return 0;
	}
	return 1;
}

static int evp_open(EVP_CIPHER_CTX *ctx, uint8_t *dst, const uint8_t *src, size_t len,
		    const uint8_t *ad, size_t adlen, const uint8_t nonce[WM_AEAD_NONCE_LEN],
		    const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	size_t mlen = len - WM_AUTHTAG_LEN;
	uint8_t none[1];
	uint8_t *out = mlen ? dst : none;	/* dst may be NULL for an empty plaintext */
	int adn, n = 0, fin = 0;

	if (mlen > INT_MAX || adlen > INT_MAX || !EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, 0))
		return -1;
	/* EVP writes plaintext before the tag is checked: dst is wiped below if it fails. */
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WM_AUTHTAG_LEN,
				(void *)(src + mlen)) != 1 ||
	    (adlen && !EVP_CipherUpdate(ctx, NULL, &adn, ad, (int)adlen)) ||
	    (mlen && !EVP_CipherUpdate(ctx, out, &n, src, (int)mlen)) ||
	    EVP_CipherFinal_ex(ctx, out + n, &fin) <= 0 || (size_t)n + (size_t)fin != mlen) {
		memset(out, 0, mlen);
		return 0;
	}
	return 1;
}

bool wm_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	EVP_CIPHER_CTX *ctx = get_ctx();
	uint8_t nonce[WM_AEAD_NONCE_LEN];
	int r;

	counter_nonce(nonce, counter);
	if (ctx && (r = evp_seal(ctx, dst, src, len, ad, adlen, nonce, key)) >= 0)
		return r;
	return sodium_seal(dst, src, len, ad, adlen, nonce, key);
}

bool wm_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[WM_AEAD_NONCE_LEN];
	int r;

	if (len < WM_AUTHTAG_LEN)
		return false;
	ctx = get_ctx();
	counter_nonce(nonce, counter);
	if (ctx && (r = evp_open(ctx, dst, src, len, ad, adlen, nonce, key)) >= 0)
		return r;
	return sodium_open(dst, src, len, ad, adlen, nonce, key);
}

#else /* libsodium only */

static void init_once(void)
{
	sodium_setup();
	snprintf(implementation, sizeof(implementation), "libsodium %s", sodium_version_string());
}

bool wm_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	uint8_t nonce[WM_AEAD_NONCE_LEN];

	pthread_once(&once, init_once);
	counter_nonce(nonce, counter);
	return sodium_seal(dst, src, len, ad, adlen, nonce, key);
}

bool wm_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		  uint64_t counter, const uint8_t key[WM_SYMMETRIC_KEY_LEN])
{
	uint8_t nonce[WM_AEAD_NONCE_LEN];

	if (len < WM_AUTHTAG_LEN)
		return false;
	pthread_once(&once, init_once);
	counter_nonce(nonce, counter);
	return sodium_open(dst, src, len, ad, adlen, nonce, key);
}

#endif

const char *wm_aead_implementation(void)
{
	pthread_once(&once, init_once);
	return implementation;
}
