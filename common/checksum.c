/* SPDX-License-Identifier: MIT */
#include "common/checksum.h"

#include <string.h>

uint16_t wm_checksum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Summed in native 32-bit words and swapped at the end (RFC 1071 §2(B)): the ones'-complement
 * sum does not care about byte order, so the loop needs no swap per word. On the data path.
 */
uint16_t wm_checksum_sum(const uint8_t *p, size_t n)
{
	uint64_t sum = 0;
	uint32_t w;
	uint16_t r;

	while (n >= 8) {
		uint32_t w2;

		memcpy(&w, p, 4);
		memcpy(&w2, p + 4, 4);
		sum += (uint64_t)w + w2;
		p += 8;
		n -= 8;
	}
	if (n >= 4) {
		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		n -= 4;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		sum += w;
	}
	r = wm_checksum_fold(sum);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	r = (uint16_t)(r >> 8 | r << 8);
#endif
	return r;
}

uint16_t wm_checksum_pseudo(const uint8_t *src, const uint8_t *dst, size_t addr_len,
			    uint8_t proto, size_t l4_len)
{
	return wm_checksum_fold((uint64_t)wm_checksum_sum(src, addr_len) +
				wm_checksum_sum(dst, addr_len) + proto + (l4_len >> 16) +
				(l4_len & 0xffff));
}
