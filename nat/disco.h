/* SPDX-License-Identifier: MIT */
/*
 * Disco, Tailscale's path-discovery messages (spec/tailscale-protocols.md §3; disco/disco.go),
 * sans I/O: Ping, Pong and CallMeMaybe, each sealed with crypto_box between two disco keys. The
 * shared key is precomputed once per peer and held by the caller; nonces come from the caller.
 *
 * Outer packet (§3.1): magic(6) || sender disco key(32) || nonce(24) || MAC(16) || ciphertext
 * Inner message (§3.2): type(1) || version(1) || body
 */
#ifndef WM_DISCO_H
#define WM_DISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/endpoint.h"

#define WM_DISCO_MAGIC "TS\xf0\x9f\x92\xac"	/* §3.1: "TS" + UTF-8 of U+1F4AC */
#define WM_DISCO_MAGIC_LEN 6
#define WM_DISCO_KEY_LEN 32			/* §0: X25519 public key */
#define WM_DISCO_SHARED_LEN 32			/* §0: crypto_box_BEFORENMBYTES */
#define WM_DISCO_NONCE_LEN 24			/* §0: crypto_box_NONCEBYTES */
#define WM_DISCO_MAC_LEN 16			/* §0: crypto_box_MACBYTES */
#define WM_DISCO_TXID_LEN 12			/* §3.2 */
#define WM_DISCO_PREFIX_LEN (6 + 32)		/* §3.4: magic + sender key classify */
#define WM_DISCO_HEADER_LEN (6 + 32 + 24 + 16)	/* §3.1: 78, magic, key, nonce, MAC */
#define WM_DISCO_MAX_ENDPOINTS 32		/* CallMeMaybe entries kept / sent */

/* §3.2 message types; 0x04-0x09 (peer relays) are not handled and parse as unknown. */
enum wm_disco_type {
	WM_DISCO_PING = 0x01,
	WM_DISCO_PONG = 0x02,
	WM_DISCO_CALL_ME_MAYBE = 0x03,
};

struct wm_disco_msg {
	enum wm_disco_type type;
	uint8_t txid[WM_DISCO_TXID_LEN];	/* ping, pong */
	/* Ping: the sender's node (WireGuard) key, which clients <= 1.16 omit, and the zero
	 * bytes after it (path-MTU probing). */
	bool has_node_key;
	uint8_t node_key[WM_DISCO_KEY_LEN];
	size_t padding;
	struct wm_endpoint src;			/* pong: where the ping came from, as seen */
	size_t n_endpoints;			/* call-me-maybe */
	struct wm_endpoint endpoints[WM_DISCO_MAX_ENDPOINTS];
};

/*
 * True when a datagram (or DERP payload) is disco: at least WM_DISCO_PREFIX_LEN bytes starting
 * with the magic (§3.4). WireGuard (byte 1 zero) and STUN (byte 1 0x01) never match.
 */
bool wm_disco_looks_like(const uint8_t *buf, size_t len);

/* The sender's disco public key (WM_DISCO_KEY_LEN bytes inside buf), or NULL if not disco. */
const uint8_t *wm_disco_sender(const uint8_t *buf, size_t len);

/* Precomputes the key for (peer public, our private) to cache per peer. False for a low-order
 * peer key (the shared secret would be all zero). Wipe it with sodium_memzero when done. */
bool wm_disco_shared_key(uint8_t shared[WM_DISCO_SHARED_LEN],
			 const uint8_t peer_pub[WM_DISCO_KEY_LEN],
			 const uint8_t our_priv[WM_DISCO_KEY_LEN]);

/*
 * Encodes the inner message: its length, -ENOSPC when cap is short, -EINVAL for an unknown type,
 * a ping with padding but no node key, a pong src that is neither IPv4 nor IPv6, or a
 * call-me-maybe with more than WM_DISCO_MAX_ENDPOINTS entries or an entry a parser would drop
 * (not IPv4/IPv6, port 0, unspecified address, IPv6 link-local). IPv4 goes out v4-mapped.
 */
ssize_t wm_disco_msg_encode(uint8_t *out, size_t cap, const struct wm_disco_msg *msg);

/*
 * Parses an inner message (§3.2; trailing bytes are ignored, the ping version is not checked).
 * Zeroes *msg first, so equal messages parse to memcmp-equal structs. 0; -EBADMSG for fewer
 * than 2 bytes, a ping body under 12 or a pong body under 30 bytes; -ENOMSG for another type
 * (msg->type then holds its byte). A call-me-maybe whose body is empty, not a multiple of 18
 * bytes, or of a version other than 0 gives an empty list; otherwise IPv4-mapped entries become
 * IPv4, entries with port 0, an unspecified address or an IPv6 link-local address are dropped,
 * and the first WM_DISCO_MAX_ENDPOINTS that remain are kept. A pong src is unmapped likewise.
 */
int wm_disco_msg_parse(const uint8_t *buf, size_t len, struct wm_disco_msg *msg);

/*
 * Writes the sealed packet magic || our_pub || nonce || box(inner message) into out: its length
 * (WM_DISCO_HEADER_LEN + the inner length), or the errors of wm_disco_msg_encode. The nonce
 * must be 24 fresh random bytes (§0).
 */
ssize_t wm_disco_seal(uint8_t *out, size_t cap, const uint8_t our_pub[WM_DISCO_KEY_LEN],
		      const uint8_t shared[WM_DISCO_SHARED_LEN],
		      const uint8_t nonce[WM_DISCO_NONCE_LEN], const struct wm_disco_msg *msg);

/*
 * Opens a packet from peer_pub, decrypting in place (buf[WM_DISCO_HEADER_LEN..len) becomes the
 * inner message), and parses it. 0; -EBADMSG when it is shorter than WM_DISCO_HEADER_LEN, lacks
 * the magic, names a sender other than peer_pub, fails to authenticate under shared, or its
 * inner message is malformed; -ENOMSG when authentic but of a type we do not handle.
 */
int wm_disco_open(uint8_t *buf, size_t len, const uint8_t peer_pub[WM_DISCO_KEY_LEN],
		  const uint8_t shared[WM_DISCO_SHARED_LEN], struct wm_disco_msg *msg);

#endif
