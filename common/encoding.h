/* SPDX-License-Identifier: MIT */
/*
 * Text forms of 32-byte keys as wg(8) and the UAPI use them: standard base64
 * with padding, and lowercase hex, by libsodium's codecs. Constant time in the
 * key bytes: no branch or table lookup depends on a secret, so private keys
 * may pass through.
 */
#ifndef WM_ENCODING_H
#define WM_ENCODING_H

#include <stdbool.h>
#include <stdint.h>

#include "common/key.h"

enum {
	WM_KEY_B64_LEN = 45,	/* 44 characters + NUL */
	WM_KEY_HEX_LEN = 65,	/* 64 hex digits + NUL */
};

/* Writes the 44-character base64 form ending in '=', NUL-terminated. */
void wm_key_to_base64(char out[WM_KEY_B64_LEN], const uint8_t key[WM_KEY_LEN]);

/*
 * Accepts exactly 44 characters of standard base64 ending in one '=', with the
 * unused low bits of the last character zero (the one canonical form).
 * On failure returns false and leaves key untouched.
 */
bool wm_key_from_base64(uint8_t key[WM_KEY_LEN], const char *text);

/* Writes 64 lowercase hex digits, NUL-terminated. */
void wm_key_to_hex(char out[WM_KEY_HEX_LEN], const uint8_t key[WM_KEY_LEN]);

/* Accepts exactly 64 hex digits of either case. On failure returns false, key untouched. */
bool wm_key_from_hex(uint8_t key[WM_KEY_LEN], const char *text);

/* True when all bytes are zero, in time independent of the bytes. */
bool wm_key_is_zero(const uint8_t key[WM_KEY_LEN]);

#endif
