/* SPDX-License-Identifier: MIT */
#include "nat/disco.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <sodium.h>

_Static_assert(WM_DISCO_SHARED_LEN == crypto_box_BEFORENMBYTES, "shared key size");
_Static_assert(WM_DISCO_NONCE_LEN == crypto_box_NONCEBYTES, "nonce size");
_Static_assert(WM_DISCO_MAC_LEN == crypto_box_MACBYTES, "MAC size");
_Static_assert(WM_DISCO_KEY_LEN == crypto_box_PUBLICKEYBYTES, "key size");

#define VERSION 0				/* §3.2 */
#define MSG_HEADER_LEN 2			/* type, version */
#define PING_MIN_BODY WM_DISCO_TXID_LEN		/* §3.2 parsePing */
#define PING_KEY_BODY (WM_DISCO_TXID_LEN + WM_DISCO_KEY_LEN)
#define PONG_BODY (WM_DISCO_TXID_LEN + 16 + 2)	/* §3.2 parsePong */
#define ENDPOINT_LEN (16 + 2)			/* §3.2 CallMeMaybe entry: ip, port */
#define KEY_OFFSET WM_DISCO_MAGIC_LEN
#define NONCE_OFFSET (KEY_OFFSET + WM_DISCO_KEY_LEN)
#define BOX_OFFSET (NONCE_OFFSET + WM_DISCO_NONCE_LEN)

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool wm_disco_looks_like(const uint8_t *buf, size_t len)
{
	return len >= WM_DISCO_PREFIX_LEN && !memcmp(buf, WM_DISCO_MAGIC, WM_DISCO_MAGIC_LEN);
}

const uint8_t *wm_disco_sender(const uint8_t *buf, size_t len)
{
	return wm_disco_looks_like(buf, len) ? buf + KEY_OFFSET : NULL;
}

bool wm_disco_shared_key(uint8_t shared[WM_DISCO_SHARED_LEN],
			 const uint8_t peer_pub[WM_DISCO_KEY_LEN],
			 const uint8_t our_priv[WM_DISCO_KEY_LEN])
{
	/* crypto_box_beforenm fails when the X25519 result is all zero (a low-order point). */
	return crypto_box_beforenm(shared, peer_pub, our_priv) == 0;
}

/* Writes ip(16) || port(2, big-endian) of an IPv4 (as ::ffff:a.b.c.d) or IPv6 endpoint. */
static void put_endpoint(uint8_t out[ENDPOINT_LEN], const struct wm_endpoint *ep)
{
	if (ep->addr.sa.sa_family == AF_INET) {
		memcpy(out, v4_mapped_prefix, 12);
		memcpy(out + 12, &ep->addr.in4.sin_addr, 4);
		memcpy(out + 16, &ep->addr.in4.sin_port, 2);
	} else {
		memcpy(out, &ep->addr.in6.sin6_addr, 16);
		memcpy(out + 16, &ep->addr.in6.sin6_port, 2);
	}
}

/* Reads ip(16) || port(2) into a zeroed ep, unmapping IPv4-mapped addresses. */
static void get_endpoint(struct wm_endpoint *ep, const uint8_t in[ENDPOINT_LEN])
{
	if (!memcmp(in, v4_mapped_prefix, 12)) {
		ep->addr.in4.sin_family = AF_INET;
		memcpy(&ep->addr.in4.sin_addr, in + 12, 4);
		memcpy(&ep->addr.in4.sin_port, in + 16, 2);
	} else {
		ep->addr.in6.sin6_family = AF_INET6;
		memcpy(&ep->addr.in6.sin6_addr, in, 16);
		memcpy(&ep->addr.in6.sin6_port, in + 16, 2);
	}
}

/* §3.3 handleCallMeMaybe skips IPv6 link-local; a zero port or address cannot be pinged. */
static bool usable_endpoint(const struct wm_endpoint *ep)
{
	const struct in6_addr *a6 = &ep->addr.in6.sin6_addr;

	if (ep->addr.sa.sa_family == AF_INET)
		return ep->addr.in4.sin_port != 0 && ep->addr.in4.sin_addr.s_addr != 0;
	if (ep->addr.sa.sa_family != AF_INET6 || ep->addr.in6.sin6_port == 0)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return memcmp(a6->s6_addr + 12, "\0\0\0\0", 4) != 0;
	return !IN6_IS_ADDR_UNSPECIFIED(a6) && !IN6_IS_ADDR_LINKLOCAL(a6);
}

/* The body length msg needs, or -EINVAL; padding is checked against cap by the caller. */
static ssize_t body_len(const struct wm_disco_msg *msg)
{
	switch (msg->type) {
	case WM_DISCO_PING:
		if (!msg->has_node_key)
			return msg->padding ? -EINVAL : PING_MIN_BODY;
		return PING_KEY_BODY;
	case WM_DISCO_PONG:
		return wm_endpoint_is_set(&msg->src) ? PONG_BODY : -EINVAL;
	case WM_DISCO_CALL_ME_MAYBE:
		if (msg->n_endpoints > WM_DISCO_MAX_ENDPOINTS)
			return -EINVAL;
		for (size_t i = 0; i < msg->n_endpoints; i++)
			if (!usable_endpoint(&msg->endpoints[i]))
				return -EINVAL;
		return (ssize_t)(msg->n_endpoints * ENDPOINT_LEN);
	}
	return -EINVAL;
}

ssize_t wm_disco_msg_encode(uint8_t *out, size_t cap, const struct wm_disco_msg *msg)
{
	ssize_t body = body_len(msg);
	size_t total;

	if (body < 0)
		return body;
	total = MSG_HEADER_LEN + (size_t)body;
	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;	/* the length must fit the return value */
	if (cap < total || (msg->type == WM_DISCO_PING && msg->padding > cap - total))
		return -ENOSPC;
	out[0] = (uint8_t)msg->type;
	out[1] = VERSION;
	switch (msg->type) {
	case WM_DISCO_PING:
		memcpy(out + 2, msg->txid, WM_DISCO_TXID_LEN);
		if (msg->has_node_key) {
			memcpy(out + 2 + WM_DISCO_TXID_LEN, msg->node_key, WM_DISCO_KEY_LEN);
			memset(out + total, 0, msg->padding);
			total += msg->padding;
		}
		break;
	case WM_DISCO_PONG:
		memcpy(out + 2, msg->txid, WM_DISCO_TXID_LEN);
		put_endpoint(out + 2 + WM_DISCO_TXID_LEN, &msg->src);
		break;
	case WM_DISCO_CALL_ME_MAYBE:
		for (size_t i = 0; i < msg->n_endpoints; i++)
			put_endpoint(out + 2 + i * ENDPOINT_LEN, &msg->endpoints[i]);
		break;
	}
	return (ssize_t)total;
}

int wm_disco_msg_parse(const uint8_t *buf, size_t len, struct wm_disco_msg *msg)
{
	const uint8_t *body = buf + MSG_HEADER_LEN;
	size_t blen;

	memset(msg, 0, sizeof(*msg));
	if (len < MSG_HEADER_LEN)
		return -EBADMSG;
	blen = len - MSG_HEADER_LEN;
	msg->type = (enum wm_disco_type)buf[0];
	switch (buf[0]) {
	case WM_DISCO_PING:
		if (blen < PING_MIN_BODY)
			return -EBADMSG;
		memcpy(msg->txid, body, WM_DISCO_TXID_LEN);
		if (blen >= PING_KEY_BODY) {
			msg->has_node_key = true;
			memcpy(msg->node_key, body + WM_DISCO_TXID_LEN, WM_DISCO_KEY_LEN);
			msg->padding = blen - PING_KEY_BODY;
		}
		return 0;
	case WM_DISCO_PONG:
		if (blen < PONG_BODY)
			return -EBADMSG;
		memcpy(msg->txid, body, WM_DISCO_TXID_LEN);
		get_endpoint(&msg->src, body + WM_DISCO_TXID_LEN);
		return 0;
	case WM_DISCO_CALL_ME_MAYBE:
		if (blen == 0 || blen % ENDPOINT_LEN || buf[1] != VERSION)
			return 0;
		for (size_t off = 0; off < blen && msg->n_endpoints < WM_DISCO_MAX_ENDPOINTS;
		     off += ENDPOINT_LEN) {
			struct wm_endpoint *ep = &msg->endpoints[msg->n_endpoints];

			get_endpoint(ep, body + off);
			if (usable_endpoint(ep))
				msg->n_endpoints++;
			else
				memset(ep, 0, sizeof(*ep));
		}
		return 0;
	}
	return -ENOMSG;
}

ssize_t wm_disco_seal(uint8_t *out, size_t cap, const uint8_t our_pub[WM_DISCO_KEY_LEN],
		      const uint8_t shared[WM_DISCO_SHARED_LEN],
		      const uint8_t nonce[WM_DISCO_NONCE_LEN], const struct wm_disco_msg *msg)
{
	ssize_t n;

	if (cap > SSIZE_MAX)
		cap = SSIZE_MAX;
	if (cap < WM_DISCO_HEADER_LEN)
		return body_len(msg) < 0 ? -EINVAL : -ENOSPC;
	n = wm_disco_msg_encode(out + WM_DISCO_HEADER_LEN, cap - WM_DISCO_HEADER_LEN, msg);
	if (n < 0)
		return n;
	memcpy(out, WM_DISCO_MAGIC, WM_DISCO_MAGIC_LEN);
	memcpy(out + KEY_OFFSET, our_pub, WM_DISCO_KEY_LEN);
	memcpy(out + NONCE_OFFSET, nonce, WM_DISCO_NONCE_LEN);
	/* In place: the easy layout puts MAC || ciphertext at BOX_OFFSET, the plaintext already
	 * sits where the ciphertext goes, and libsodium allows that overlap. */
	if (crypto_box_easy_afternm(out + BOX_OFFSET, out + WM_DISCO_HEADER_LEN, (size_t)n,
				    out + NONCE_OFFSET, shared))
		return -EINVAL;
	return WM_DISCO_HEADER_LEN + n;
}

int wm_disco_open(uint8_t *buf, size_t len, const uint8_t peer_pub[WM_DISCO_KEY_LEN],
		  const uint8_t shared[WM_DISCO_SHARED_LEN], struct wm_disco_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	if (len < WM_DISCO_HEADER_LEN || !wm_disco_looks_like(buf, len))
		return -EBADMSG;
	/* The key in the clear is not under the MAC: only the caller's lookup ties it to shared. */
	if (sodium_memcmp(buf + KEY_OFFSET, peer_pub, WM_DISCO_KEY_LEN))
		return -EBADMSG;
	if (crypto_box_open_easy_afternm(buf + WM_DISCO_HEADER_LEN, buf + BOX_OFFSET,
					 len - BOX_OFFSET, buf + NONCE_OFFSET, shared))
		return -EBADMSG;
	return wm_disco_msg_parse(buf + WM_DISCO_HEADER_LEN, len - WM_DISCO_HEADER_LEN, msg);
}
