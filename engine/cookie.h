/* SPDX-License-Identifier: MIT */
/*
 * MAC1, MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7). MAC1 proves the
 * sender knows our public key; MAC2, checked only under load, proves the
 * sender can receive at its source address. Whether we are under load is the
 * receive path's decision, not this file's.
 */
#ifndef WM_COOKIE_H
#define WM_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "engine/crypto.h"
#include "engine/messages.h"

/* The device's side: checks MACs on what arrives and makes cookies. */
struct wm_cookie_checker {
	uint8_t secret[WM_HASH_LEN];
	uint64_t secret_birthdate;	/* monotonic ns */
	bool has_secret;
	uint8_t mac1_key[WM_SYMMETRIC_KEY_LEN];		/* HASH("mac1----" || our public key) */
	uint8_t cookie_key[WM_SYMMETRIC_KEY_LEN];	/* HASH("cookie--" || our public key) */
};

/* A peer's side: MACs on what we send it, and the cookie it gave us. */
struct wm_cookie {
	uint64_t birthdate;
	bool is_valid;
	uint8_t cookie[WM_COOKIE_LEN];
	bool have_sent_mac1;
	uint8_t last_mac1_sent[WM_MAC_LEN];
	uint8_t mac1_key[WM_SYMMETRIC_KEY_LEN];
	uint8_t cookie_key[WM_SYMMETRIC_KEY_LEN];
};

enum wm_cookie_mac_state {
	WM_COOKIE_INVALID_MAC,
	WM_COOKIE_VALID_MAC1,			/* MAC2 absent or wrong */
	WM_COOKIE_VALID_MAC1_AND_MAC2,
};

/* Call after the device's key pair changed (or at start). */
void wm_cookie_checker_init(struct wm_cookie_checker *checker, const uint8_t our_public[WM_KEY_LEN]);

/* Call when the peer is created. */
void wm_cookie_init(struct wm_cookie *cookie, const uint8_t peer_public[WM_KEY_LEN]);

/*
 * Checks the MACs at the end of a handshake message of len bytes. MAC2 is
 * checked only when check_mac2 (we are under load), against the cookie the
 * source would hold now.
 */
enum wm_cookie_mac_state wm_cookie_validate(struct wm_cookie_checker *checker, const uint8_t *msg,
					    size_t len, const struct wm_endpoint *src,
					    bool check_mac2, uint64_t now, const struct wm_rng *rng);

/* Fills MAC1 (and MAC2 when we hold a fresh cookie) of an outgoing handshake message. */
void wm_cookie_add_macs(struct wm_cookie *cookie, uint8_t *msg, size_t len, uint64_t now);

/* Builds the cookie reply to a handshake message that came from src. */
void wm_cookie_create_reply(struct wm_cookie_checker *checker, struct wm_msg_cookie *dst,
			    const uint8_t *msg, size_t len, uint32_t wire_receiver_index,
			    const struct wm_endpoint *src, uint64_t now, const struct wm_rng *rng);

/* Accepts a cookie reply for a message we sent; false if it does not authenticate. */
bool wm_cookie_consume_reply(struct wm_cookie *cookie, const struct wm_msg_cookie *src,
			     uint64_t now);

#endif
