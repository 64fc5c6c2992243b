/* SPDX-License-Identifier: MIT */
#include "common/encoding.h"

#include <string.h>

#include <sodium.h>

/* libsodium's codecs are constant time in the data, so private keys may pass through them. */

_Static_assert(WM_KEY_B64_LEN == sodium_base64_ENCODED_LEN(WM_KEY_LEN,
							 sodium_base64_VARIANT_ORIGINAL),
	       "a key's base64 form is 44 characters");

void wm_key_to_base64(char out[WM_KEY_B64_LEN], const uint8_t key[WM_KEY_LEN])
{
	sodium_bin2base64(out, WM_KEY_B64_LEN, key, WM_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/*
 * libsodium's decoder takes bytes of 0x80 and above for digits (measured: 0x80 decodes as '/'),
 * which would let a non-canonical text through. Those are refused here, without a branch on
 * the text; libsodium judges the rest.
 */
static bool is_ascii(const char *text, size_t n)
{
	uint32_t high = 0;

	for (size_t i = 0; i < n; i++)
		high |= (uint32_t)(unsigned char)text[i] >> 7;
	return high == 0;
}

bool wm_key_from_base64(uint8_t key[WM_KEY_LEN], const char *text)
{
	uint8_t tmp[WM_KEY_LEN];
	size_t len = 0;
	const char *end = NULL;
	bool ok;

	/*
	 * Exactly 44 characters ending in one '='; libsodium refuses bad padding, characters
	 * outside the alphabet, and set bits past the last byte (so only the canonical form).
	 */
	if (strnlen(text, WM_KEY_B64_LEN) != WM_KEY_B64_LEN - 1)
		return false;
	ok = is_ascii(text, WM_KEY_B64_LEN - 1) &&
	     sodium_base642bin(tmp, sizeof(tmp), text, WM_KEY_B64_LEN - 1, NULL, &len, &end,
			       sodium_base64_VARIANT_ORIGINAL) == 0 &&
	     len == WM_KEY_LEN && end == text + WM_KEY_B64_LEN - 1;
	if (ok)
		memcpy(key, tmp, WM_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

void wm_key_to_hex(char out[WM_KEY_HEX_LEN], const uint8_t key[WM_KEY_LEN])
{
	sodium_bin2hex(out, WM_KEY_HEX_LEN, key, WM_KEY_LEN);
}

bool wm_key_from_hex(uint8_t key[WM_KEY_LEN], const char *text)
{
	uint8_t tmp[WM_KEY_LEN];
	size_t len = 0;
	const char *end = NULL;
	bool ok;

	if (strnlen(text, WM_KEY_HEX_LEN) != WM_KEY_HEX_LEN - 1)
		return false;
	ok = is_ascii(text, WM_KEY_HEX_LEN - 1) &&
	     sodium_hex2bin(tmp, sizeof(tmp), text, WM_KEY_HEX_LEN - 1, NULL, &len, &end) == 0 &&
	     len == WM_KEY_LEN && end == text + WM_KEY_HEX_LEN - 1;
	if (ok)
		memcpy(key, tmp, WM_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

bool wm_key_is_zero(const uint8_t key[WM_KEY_LEN])
{
	return sodium_is_zero(key, WM_KEY_LEN) == 1;
}
