/* SPDX-License-Identifier: MIT */
#include "common/encoding.h"

#include <string.h>

#include <sodium.h>

_Static_assert(WM_KEY_LEN == 32, "the codecs below are laid out for 32-byte keys");

/* An error bit above any 6-bit or 4-bit digit value. */
#define BAD 0x100u

/* All ones when a < b, else zero; a and b below 2^31. */
static inline uint32_t mask_lt(uint32_t a, uint32_t b)
{
	return 0u - ((a - b) >> 31);
}

/* All ones when lo <= c <= hi. */
static inline uint32_t mask_in(uint32_t c, uint32_t lo, uint32_t hi)
{
	return ~mask_lt(c, lo) & ~mask_lt(hi, c);
}

/* 0..63 to A-Z a-z 0-9 + /, by adding the offset of each range past the first. */
static char b64_digit(uint32_t v)
{
	uint32_t c = v + 'A';

	c += mask_lt(25, v) & 6;	/* 26 -> 'a' */
	c -= mask_lt(51, v) & 75;	/* 52 -> '0' */
	c -= mask_lt(61, v) & 15;	/* 62 -> '+' */
	c += mask_lt(62, v) & 3;	/* 63 -> '/' */
	return (char)c;
}

/* The value of a base64 character, or BAD set when it is not one. */
static uint32_t b64_value(unsigned char ch)
{
	uint32_t c = ch, v = 0, ok = 0, m;

	m = mask_in(c, 'A', 'Z');
	v |= m & (c - 'A');
	ok |= m;
	m = mask_in(c, 'a', 'z');
	v |= m & (c - 'a' + 26);
	ok |= m;
	m = mask_in(c, '0', '9');
	v |= m & (c - '0' + 52);
	ok |= m;
	m = mask_in(c, '+', '+');
	v |= m & 62;
	ok |= m;
	m = mask_in(c, '/', '/');
	v |= m & 63;
	ok |= m;
	return v | (~ok & BAD);
}

static char hex_digit(uint32_t v)
{
	return (char)(v + '0' + (mask_lt(9, v) & ('a' - '0' - 10)));
}

static uint32_t hex_value(unsigned char ch)
{
	uint32_t c = ch, v = 0, ok = 0, m;

	m = mask_in(c, '0', '9');
	v |= m & (c - '0');
	ok |= m;
	m = mask_in(c, 'a', 'f');
	v |= m & (c - 'a' + 10);
	ok |= m;
	m = mask_in(c, 'A', 'F');
	v |= m & (c - 'A' + 10);
	ok |= m;
	return v | (~ok & BAD);
}

void wm_key_to_base64(char out[WM_KEY_B64_LEN], const uint8_t key[WM_KEY_LEN])
{
	uint32_t v;
	int i;

	for (i = 0; i < WM_KEY_LEN / 3; i++) {
		v = (uint32_t)key[i * 3] << 16 | (uint32_t)key[i * 3 + 1] << 8 | key[i * 3 + 2];
		out[i * 4] = b64_digit(v >> 18);
		out[i * 4 + 1] = b64_digit((v >> 12) & 63);
		out[i * 4 + 2] = b64_digit((v >> 6) & 63);
		out[i * 4 + 3] = b64_digit(v & 63);
	}
	/* 32 = 3 * 10 + 2: the last two bytes make three characters and one pad. */
	v = (uint32_t)key[i * 3] << 10 | (uint32_t)key[i * 3 + 1] << 2;
	out[i * 4] = b64_digit(v >> 12);
	out[i * 4 + 1] = b64_digit((v >> 6) & 63);
	out[i * 4 + 2] = b64_digit(v & 63);
	out[i * 4 + 3] = '=';
	out[WM_KEY_B64_LEN - 1] = '\0';
}

bool wm_key_from_base64(uint8_t key[WM_KEY_LEN], const char *text)
{
	const unsigned char *in = (const unsigned char *)text;
	uint8_t tmp[WM_KEY_LEN];
	uint32_t a, b, c, d, v, bad = 0;
	int i;

	if (strnlen(text, WM_KEY_B64_LEN) != WM_KEY_B64_LEN - 1)
		return false;
	for (i = 0; i < WM_KEY_LEN / 3; i++) {
		a = b64_value(in[i * 4]);
		b = b64_value(in[i * 4 + 1]);
		c = b64_value(in[i * 4 + 2]);
		d = b64_value(in[i * 4 + 3]);
		bad |= (a | b | c | d) & BAD;
		v = (a & 63) << 18 | (b & 63) << 12 | (c & 63) << 6 | (d & 63);
		tmp[i * 3] = (uint8_t)(v >> 16);
		tmp[i * 3 + 1] = (uint8_t)(v >> 8);
		tmp[i * 3 + 2] = (uint8_t)v;
	}
	a = b64_value(in[i * 4]);
	b = b64_value(in[i * 4 + 1]);
	c = b64_value(in[i * 4 + 2]);
	bad |= (a | b | c) & BAD;
	v = (a & 63) << 12 | (b & 63) << 6 | (c & 63);
	bad |= v & 3;			/* bits past the last byte must be zero */
	bad |= in[i * 4 + 3] ^ '=';
	tmp[i * 3] = (uint8_t)(v >> 10);
	tmp[i * 3 + 1] = (uint8_t)(v >> 2);
	if (!bad)
		memcpy(key, tmp, WM_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return !bad;
}

void wm_key_to_hex(char out[WM_KEY_HEX_LEN], const uint8_t key[WM_KEY_LEN])
{
	for (int i = 0; i < WM_KEY_LEN; i++) {
		out[i * 2] = hex_digit(key[i] >> 4);
		out[i * 2 + 1] = hex_digit(key[i] & 15);
	}
	out[WM_KEY_HEX_LEN - 1] = '\0';
}

bool wm_key_from_hex(uint8_t key[WM_KEY_LEN], const char *text)
{
	const unsigned char *in = (const unsigned char *)text;
	uint8_t tmp[WM_KEY_LEN];
	uint32_t hi, lo, bad = 0;

	if (strnlen(text, WM_KEY_HEX_LEN) != WM_KEY_HEX_LEN - 1)
		return false;
	for (int i = 0; i < WM_KEY_LEN; i++) {
		hi = hex_value(in[i * 2]);
		lo = hex_value(in[i * 2 + 1]);
		bad |= (hi | lo) & BAD;
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!bad)
		memcpy(key, tmp, WM_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return !bad;
}

bool wm_key_is_zero(const uint8_t key[WM_KEY_LEN])
{
	volatile uint8_t acc = 0;

	for (int i = 0; i < WM_KEY_LEN; i++)
		acc |= key[i];
	/* acc - 1 borrows into bit 8 only when acc is 0. */
	return (((uint32_t)acc - 1) >> 8) & 1;
}
