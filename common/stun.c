/* SPDX-License-Identifier: MIT */
#include "common/stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/bytes.h"

#define TYPE_BINDING_REQUEST 0x0001	/* RFC 8489 §18.2 */
#define TYPE_BINDING_SUCCESS 0x0101
#define FINGERPRINT_XOR 0x5354554eu	/* RFC 8489 §14.7: "STUN" */
#define FAMILY_IPV4 0x01		/* RFC 8489 §14.1 */
#define FAMILY_IPV6 0x02
#define SOFTWARE "tailnode"		/* stun.go: 8 bytes, so no padding */
#define SOFTWARE_LEN 8

static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

/* CRC-32 as zlib and IEEE 802.3 compute it (reflected, polynomial 0xedb88320). */
static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

bool wm_stun_is(const uint8_t *buf, size_t len)
{
	return len >= WM_STUN_HEADER_LEN && (buf[0] & 0xc0) == 0 && !memcmp(buf + 4, cookie, 4);
}

void wm_stun_request_encode(uint8_t out[WM_STUN_REQUEST_LEN], const uint8_t txid[WM_STUN_TXID_LEN])
{
	wm_put_be16(out, TYPE_BINDING_REQUEST);
	wm_put_be16(out + 2, WM_STUN_REQUEST_LEN - WM_STUN_HEADER_LEN);
	memcpy(out + 4, cookie, 4);
	memcpy(out + 8, txid, WM_STUN_TXID_LEN);
	wm_put_be16(out + 20, WM_STUN_ATTR_SOFTWARE);
	wm_put_be16(out + 22, SOFTWARE_LEN);
	memcpy(out + 24, SOFTWARE, SOFTWARE_LEN);
	/* The length field above already counts the fingerprint, as §14.7 requires. */
	wm_put_be16(out + 32, WM_STUN_ATTR_FINGERPRINT);
	wm_put_be16(out + 34, 4);
	wm_put_be32(out + 36, crc32_ieee(out, 32) ^ FINGERPRINT_XOR);
}

struct attr {
	uint16_t type;
	const uint8_t *value;
	size_t len;
	size_t offset;	/* of the attribute header in the message */
};

/* Steps to the next TLV (value padded to 4 bytes): 1, 0 at the end, -EBADMSG when truncated. */
static int next_attr(const uint8_t *msg, size_t end, size_t *pos, struct attr *a)
{
	size_t padded;

	if (*pos == end)
		return 0;
	if (end - *pos < 4)
		return -EBADMSG;
	a->offset = *pos;
	a->type = wm_get_be16(msg + *pos);
	a->len = wm_get_be16(msg + *pos + 2);
	padded = (a->len + 3) & ~(size_t)3;
	if (end - *pos - 4 < padded)
		return -EBADMSG;
	a->value = msg + *pos + 4;
	*pos += 4 + padded;
	return 1;
}

int wm_stun_request_parse(struct wm_stun_request *req, const uint8_t *buf, size_t len)
{
	size_t pos = WM_STUN_HEADER_LEN;
	struct attr a;
	int r;

	memset(req, 0, sizeof(*req));
	if (!wm_stun_is(buf, len) || wm_get_be16(buf) != TYPE_BINDING_REQUEST ||
	    wm_get_be16(buf + 2) != len - WM_STUN_HEADER_LEN || (len & 3))
		return -EBADMSG;
	memcpy(req->txid, buf + 8, WM_STUN_TXID_LEN);
	while ((r = next_attr(buf, len, &pos, &a)) > 0) {
		if (req->has_fingerprint)
			return -EBADMSG;	/* nothing may follow FINGERPRINT */
		if (a.type == WM_STUN_ATTR_SOFTWARE)
			req->software_tailnode = a.len == SOFTWARE_LEN &&
						 !memcmp(a.value, SOFTWARE, SOFTWARE_LEN);
		if (a.type == WM_STUN_ATTR_FINGERPRINT) {
			uint32_t want = crc32_ieee(buf, a.offset) ^ FINGERPRINT_XOR;
			uint8_t w[4];

			wm_put_be32(w, want);
			if (a.len != 4 || memcmp(a.value, w, 4))
				return -EBADMSG;
			req->has_fingerprint = true;
		}
	}
	return r < 0 ? -EBADMSG : 0;
}

ssize_t wm_stun_response_encode(uint8_t *out, size_t cap, const uint8_t txid[WM_STUN_TXID_LEN],
				const struct wm_endpoint *from)
{
	const uint8_t *ip;
	uint16_t port;
	size_t alen, total;
	uint8_t family;

	if (from->addr.sa.sa_family == AF_INET) {
		ip = (const uint8_t *)&from->addr.in4.sin_addr;
		port = ntohs(from->addr.in4.sin_port);
		alen = 4;
		family = FAMILY_IPV4;
	} else if (from->addr.sa.sa_family == AF_INET6) {
		ip = from->addr.in6.sin6_addr.s6_addr;
		port = ntohs(from->addr.in6.sin6_port);
		alen = 16;
		family = FAMILY_IPV6;
	} else {
		return -EAFNOSUPPORT;
	}
	total = WM_STUN_HEADER_LEN + 4 + 4 + alen;
	if (cap < total)
		return -ENOSPC;
	wm_put_be16(out, TYPE_BINDING_SUCCESS);
	wm_put_be16(out + 2, (uint16_t)(4 + 4 + alen));
	memcpy(out + 4, cookie, 4);
	memcpy(out + 8, txid, WM_STUN_TXID_LEN);
	wm_put_be16(out + 20, WM_STUN_ATTR_XOR_MAPPED_ADDRESS);
	wm_put_be16(out + 22, (uint16_t)(4 + alen));
	out[24] = 0;
	out[25] = family;
	/* RFC 8489 §14.2: port XOR the cookie's top half, address XOR cookie || txid. */
	wm_put_be16(out + 26, port ^ 0x2112);
	for (size_t i = 0; i < alen; i++)
		out[28 + i] = ip[i] ^ (i < 4 ? cookie[i] : txid[i - 4]);
	return (ssize_t)total;
}

/* Decodes (XOR-)MAPPED-ADDRESS into ep; -EBADMSG for a short value or unknown family. */
static int decode_address(const struct attr *a, bool xor, const uint8_t txid[WM_STUN_TXID_LEN],
			  struct wm_endpoint *ep)
{
	uint8_t ip[16];
	size_t alen;
	uint16_t port;

	if (a->len < 4)
		return -EBADMSG;
	if (a->value[1] == FAMILY_IPV4)
		alen = 4;
	else if (a->value[1] == FAMILY_IPV6)
		alen = 16;
	else
		return -EBADMSG;
	if (a->len < 4 + alen)
		return -EBADMSG;
	port = wm_get_be16(a->value + 2);
	memcpy(ip, a->value + 4, alen);
	if (xor) {
		port ^= 0x2112;
		for (size_t i = 0; i < alen; i++)
			ip[i] ^= i < 4 ? cookie[i] : txid[i - 4];
	}
	memset(ep, 0, sizeof(*ep));
	if (alen == 16 && !memcmp(ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(ip, ip + 12, 4);
		alen = 4;
	}
	if (alen == 4) {
		ep->addr.in4.sin_family = AF_INET;
		memcpy(&ep->addr.in4.sin_addr, ip, 4);
		ep->addr.in4.sin_port = htons(port);
	} else {
		ep->addr.in6.sin6_family = AF_INET6;
		memcpy(ep->addr.in6.sin6_addr.s6_addr, ip, 16);
		ep->addr.in6.sin6_port = htons(port);
	}
	return 0;
}

int wm_stun_response_parse(const uint8_t *buf, size_t len, uint8_t txid[WM_STUN_TXID_LEN],
			   struct wm_endpoint *mapped)
{
	struct wm_endpoint xor_ep, plain_ep;
	bool have_xor = false, have_plain = false;
	size_t pos = WM_STUN_HEADER_LEN, end;
	struct attr a;
	int r;

	if (!wm_stun_is(buf, len))
		return -EBADMSG;
	memcpy(txid, buf + 8, WM_STUN_TXID_LEN);
	if (wm_get_be16(buf) != TYPE_BINDING_SUCCESS)
		return -ENOMSG;
	end = WM_STUN_HEADER_LEN + wm_get_be16(buf + 2);
	if (end > len)
		return -EBADMSG;	/* bytes past the declared length are ignored */
	while ((r = next_attr(buf, end, &pos, &a)) > 0) {
		if (a.type == WM_STUN_ATTR_XOR_MAPPED_ADDRESS ||
		    a.type == WM_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT) {
			if (decode_address(&a, true, txid, &xor_ep))
				return -EBADMSG;
			have_xor = true;
		} else if (a.type == WM_STUN_ATTR_MAPPED_ADDRESS) {
			if (decode_address(&a, false, txid, &plain_ep))
				return -EBADMSG;
			have_plain = true;
		}
	}
	if (r < 0 || (!have_xor && !have_plain))
		return -EBADMSG;
	*mapped = have_xor ? xor_ep : plain_ep;
	return 0;
}
