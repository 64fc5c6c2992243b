/* SPDX-License-Identifier: MIT */
#include "engine/cookie.h"

#include <string.h>

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static void derive_keys(uint8_t mac1_key[WM_SYMMETRIC_KEY_LEN], uint8_t cookie_key[WM_SYMMETRIC_KEY_LEN],
			const uint8_t public_key[WM_KEY_LEN])
{
	wm_crypto_hash(mac1_key, label_mac1, strlen(label_mac1), public_key, WM_KEY_LEN);
	wm_crypto_hash(cookie_key, label_cookie, strlen(label_cookie), public_key, WM_KEY_LEN);
}

void wm_cookie_checker_init(struct wm_cookie_checker *checker, const uint8_t our_public[WM_KEY_LEN])
{
	derive_keys(checker->mac1_key, checker->cookie_key, our_public);
}

void wm_cookie_init(struct wm_cookie *cookie, const uint8_t peer_public[WM_KEY_LEN])
{
	memset(cookie, 0, sizeof(*cookie));
	derive_keys(cookie->mac1_key, cookie->cookie_key, peer_public);
}

/* Offsets of the MACs: they close every handshake message. */
static size_t mac1_offset(size_t len)
{
	return len - 2 * WM_MAC_LEN;
}

static size_t mac2_offset(size_t len)
{
	return len - WM_MAC_LEN;
}

/* τ = MAC(Rm, Am): the secret rotates every two minutes (§5.4.7). */
static void make_cookie(struct wm_cookie_checker *checker, uint8_t cookie[WM_COOKIE_LEN],
			const struct wm_endpoint *src, uint64_t now, const struct wm_rng *rng)
{
	uint8_t source[18];
	size_t n;

	if (!checker->has_secret ||
	    now - checker->secret_birthdate >= WM_COOKIE_SECRET_MAX_AGE_S * WM_NSEC_PER_SEC) {
		wm_rng_fill(rng, checker->secret, sizeof(checker->secret));
		checker->secret_birthdate = now;
		checker->has_secret = true;
	}
	n = wm_endpoint_source_bytes(src, source);
	wm_crypto_mac(cookie, checker->secret, sizeof(checker->secret), source, n);
}

enum wm_cookie_mac_state wm_cookie_validate(struct wm_cookie_checker *checker, const uint8_t *msg,
					    size_t len, const struct wm_endpoint *src,
					    bool check_mac2, uint64_t now, const struct wm_rng *rng)
{
	uint8_t computed[WM_MAC_LEN];
	uint8_t cookie[WM_COOKIE_LEN];

	if (len < 2 * WM_MAC_LEN)
		return WM_COOKIE_INVALID_MAC;
	wm_crypto_mac(computed, checker->mac1_key, WM_SYMMETRIC_KEY_LEN, msg, mac1_offset(len));
	if (!wm_crypto_equal(computed, msg + mac1_offset(len), WM_MAC_LEN))
		return WM_COOKIE_INVALID_MAC;
	if (!check_mac2)
		return WM_COOKIE_VALID_MAC1;

	make_cookie(checker, cookie, src, now, rng);
	wm_crypto_mac(computed, cookie, WM_COOKIE_LEN, msg, mac2_offset(len));
	if (!wm_crypto_equal(computed, msg + mac2_offset(len), WM_MAC_LEN))
		return WM_COOKIE_VALID_MAC1;
	return WM_COOKIE_VALID_MAC1_AND_MAC2;
}

void wm_cookie_add_macs(struct wm_cookie *cookie, uint8_t *msg, size_t len, uint64_t now)
{
	uint64_t max_age = (WM_COOKIE_SECRET_MAX_AGE_S - WM_COOKIE_SECRET_LATENCY_S) * WM_NSEC_PER_SEC;

	wm_crypto_mac(msg + mac1_offset(len), cookie->mac1_key, WM_SYMMETRIC_KEY_LEN, msg, mac1_offset(len));
	memcpy(cookie->last_mac1_sent, msg + mac1_offset(len), WM_MAC_LEN);
	cookie->have_sent_mac1 = true;

	if (cookie->is_valid && now - cookie->birthdate < max_age)
		wm_crypto_mac(msg + mac2_offset(len), cookie->cookie, WM_COOKIE_LEN, msg, mac2_offset(len));
	else
		memset(msg + mac2_offset(len), 0, WM_MAC_LEN);
}

void wm_cookie_create_reply(struct wm_cookie_checker *checker, struct wm_msg_cookie *dst,
			    const uint8_t *msg, size_t len, uint32_t wire_receiver_index,
			    const struct wm_endpoint *src, uint64_t now, const struct wm_rng *rng)
{
	uint8_t cookie[WM_COOKIE_LEN];

	dst->header.type = htole32(WM_MSG_HANDSHAKE_COOKIE);
	dst->receiver_index = wire_receiver_index;
	wm_rng_fill(rng, dst->nonce, sizeof(dst->nonce));
	make_cookie(checker, cookie, src, now, rng);
	/* The MAC1 of the message it answers is the associated data. */
	wm_crypto_xaead_seal(dst->encrypted_cookie, cookie, WM_COOKIE_LEN, msg + mac1_offset(len),
			     WM_MAC_LEN, dst->nonce, checker->cookie_key);
	wm_crypto_wipe(cookie, sizeof(cookie));
}

bool wm_cookie_consume_reply(struct wm_cookie *cookie, const struct wm_msg_cookie *src,
			     uint64_t now)
{
	uint8_t plain[WM_COOKIE_LEN];

	if (!cookie->have_sent_mac1)
		return false;
	if (!wm_crypto_xaead_open(plain, src->encrypted_cookie, sizeof(src->encrypted_cookie),
				  cookie->last_mac1_sent, WM_MAC_LEN, src->nonce, cookie->cookie_key))
		return false;
	memcpy(cookie->cookie, plain, WM_COOKIE_LEN);
	cookie->birthdate = now;
	cookie->is_valid = true;
	cookie->have_sent_mac1 = false;
	wm_crypto_wipe(plain, sizeof(plain));
	return true;
}
