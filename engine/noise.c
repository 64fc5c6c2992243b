/* SPDX-License-Identifier: MIT */
#include "engine/noise.h"

#include <string.h>

/* §5.4: the protocol name and identifier mixed into every handshake. */
static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

static void initial_state(uint8_t chaining_key[WM_HASH_LEN], uint8_t hash[WM_HASH_LEN],
			  const uint8_t responder_static[WM_KEY_LEN])
{
	/* Ci = HASH(CONSTRUCTION); Hi = HASH(HASH(Ci || IDENTIFIER) || Sr_pub). */
	wm_crypto_hash(chaining_key, construction, strlen(construction), NULL, 0);
	wm_crypto_hash(hash, chaining_key, WM_HASH_LEN, identifier, strlen(identifier));
	wm_crypto_hash(hash, hash, WM_HASH_LEN, responder_static, WM_KEY_LEN);
}

static void mix_hash(uint8_t hash[WM_HASH_LEN], const void *data, size_t len)
{
	wm_crypto_hash(hash, hash, WM_HASH_LEN, data, len);
}

/* (C, k) = KDF2(C, DH(priv, pub)); key may be NULL for KDF1. */
static bool mix_dh(uint8_t chaining_key[WM_HASH_LEN], uint8_t *key,
		   const uint8_t private_key[WM_KEY_LEN], const uint8_t public_key[WM_KEY_LEN])
{
	uint8_t shared[WM_KEY_LEN];
	bool ok = wm_crypto_dh(shared, private_key, public_key);

	if (ok)
		wm_crypto_kdf(chaining_key, key, NULL, chaining_key, shared, WM_KEY_LEN);
	wm_crypto_wipe(shared, sizeof(shared));
	return ok;
}

static bool mix_precomputed_dh(uint8_t chaining_key[WM_HASH_LEN], uint8_t key[WM_SYMMETRIC_KEY_LEN],
			       const uint8_t precomputed[WM_KEY_LEN])
{
	static const uint8_t zero[WM_KEY_LEN];

	if (wm_crypto_equal(precomputed, zero, WM_KEY_LEN))
		return false;
	wm_crypto_kdf(chaining_key, key, NULL, chaining_key, precomputed, WM_KEY_LEN);
	return true;
}

/* (C, τ, k) = KDF3(C, Q); H = HASH(H || τ). */
static void mix_psk(uint8_t chaining_key[WM_HASH_LEN], uint8_t hash[WM_HASH_LEN],
		    uint8_t key[WM_SYMMETRIC_KEY_LEN], const uint8_t psk[WM_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[WM_HASH_LEN];

	wm_crypto_kdf(chaining_key, tau, key, chaining_key, psk, WM_SYMMETRIC_KEY_LEN);
	mix_hash(hash, tau, sizeof(tau));
	wm_crypto_wipe(tau, sizeof(tau));
}

static void encrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WM_SYMMETRIC_KEY_LEN], uint8_t hash[WM_HASH_LEN])
{
	wm_crypto_aead_seal(dst, src, len, hash, WM_HASH_LEN, 0, key);
	mix_hash(hash, dst, wm_noise_encrypted_len(len));
}

static bool decrypt_and_hash(uint8_t *dst, const uint8_t *src, size_t len,
			     const uint8_t key[WM_SYMMETRIC_KEY_LEN], uint8_t hash[WM_HASH_LEN])
{
	if (!wm_crypto_aead_open(dst, src, len, hash, WM_HASH_LEN, 0, key))
		return false;
	mix_hash(hash, src, len);
	return true;
}

/* Ci = KDF1(Ci, E_pub); Hi = HASH(Hi || E_pub). */
static void mix_ephemeral(uint8_t chaining_key[WM_HASH_LEN], uint8_t hash[WM_HASH_LEN],
			  const uint8_t ephemeral[WM_KEY_LEN])
{
	wm_crypto_kdf(chaining_key, NULL, NULL, chaining_key, ephemeral, WM_KEY_LEN);
	mix_hash(hash, ephemeral, WM_KEY_LEN);
}

static uint32_t le32(uint32_t v)
{
	return htole32(v);
}

void wm_noise_handshake_init(struct wm_handshake *hs, struct wm_peer *peer,
			     const uint8_t remote_static[WM_KEY_LEN],
			     const struct wm_static_identity *identity)
{
	memset(hs, 0, sizeof(*hs));
	hs->entry.type = WM_INDEX_HANDSHAKE;
	hs->entry.peer = peer;
	memcpy(hs->remote_static, remote_static, WM_KEY_LEN);
	wm_noise_handshake_precompute(hs, identity);
}

void wm_noise_handshake_precompute(struct wm_handshake *hs, const struct wm_static_identity *identity)
{
	if (!identity->has_private_key ||
	    !wm_crypto_dh(hs->precomputed_static_static, identity->private_key, hs->remote_static))
		memset(hs->precomputed_static_static, 0, WM_KEY_LEN);
}

void wm_noise_handshake_clear(struct wm_handshake *hs, struct wm_index_table *table)
{
	wm_index_remove(table, &hs->entry);
	wm_crypto_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	wm_crypto_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	wm_crypto_wipe(hs->hash, sizeof(hs->hash));
	wm_crypto_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = WM_HANDSHAKE_ZEROED;
}

bool wm_noise_set_identity(struct wm_static_identity *identity, const uint8_t private_key[WM_KEY_LEN])
{
	uint8_t pub[WM_KEY_LEN];

	uint8_t clamped[WM_KEY_LEN];

	/* Stored clamped, as wireguard-go shows it; X25519 clamps anyway. */
	memcpy(clamped, private_key, WM_KEY_LEN);
	clamped[0] &= 248;
	clamped[31] = (clamped[31] & 127) | 64;
	if (!wm_crypto_public_from_private(pub, clamped)) {
		wm_crypto_wipe(clamped, sizeof(clamped));
		return false;
	}
	memcpy(identity->private_key, clamped, WM_KEY_LEN);
	wm_crypto_wipe(clamped, sizeof(clamped));
	memcpy(identity->public_key, pub, WM_KEY_LEN);
	identity->has_private_key = true;
	return true;
}

void wm_noise_tai64n(uint8_t out[WM_TIMESTAMP_LEN], uint64_t wall_ns)
{
	/* TAI64 labels start at 2^62; TAI runs 10 s ahead of the UNIX epoch count. */
	uint64_t seconds = 0x400000000000000aULL + wall_ns / WM_NSEC_PER_SEC;
	uint32_t nanos = (uint32_t)(wall_ns % WM_NSEC_PER_SEC);
	int i;

	nanos -= nanos % (uint32_t)WM_TIMESTAMP_GRANULARITY_NS;
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(seconds >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nanos >> (24 - 8 * i));
}

bool wm_noise_create_initiation(struct wm_msg_initiation *dst, struct wm_handshake *hs,
				const struct wm_static_identity *identity,
				struct wm_index_table *table, const struct wm_rng *rng,
				const uint8_t timestamp[WM_TIMESTAMP_LEN])
{
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
	bool ok = false;

	if (!identity->has_private_key)
		goto out;
	memset(dst, 0, sizeof(*dst));
	dst->header.type = le32(WM_MSG_HANDSHAKE_INITIATION);
	initial_state(hs->chaining_key, hs->hash, hs->remote_static);

	/* e */
	wm_crypto_generate_keypair(hs->ephemeral_private, dst->unencrypted_ephemeral, rng);
	mix_ephemeral(hs->chaining_key, hs->hash, dst->unencrypted_ephemeral);
	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* s */
	encrypt_and_hash(dst->encrypted_static, identity->public_key, WM_KEY_LEN, key, hs->hash);
	/* ss */
	if (!mix_precomputed_dh(hs->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	encrypt_and_hash(dst->encrypted_timestamp, timestamp, WM_TIMESTAMP_LEN, key, hs->hash);

	dst->sender_index = le32(wm_index_insert(table, &hs->entry, rng));
	hs->state = WM_HANDSHAKE_CREATED_INITIATION;
	ok = true;
out:
	if (!ok)
		wm_noise_handshake_clear(hs, table);
	wm_crypto_wipe(key, sizeof(key));
	return ok;
}

bool wm_noise_consume_initiation_static(struct wm_noise_initiation_scratch *scratch,
					const struct wm_static_identity *identity,
					const struct wm_msg_initiation *src)
{
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
	bool ok = false;

	if (!identity->has_private_key)
		goto out;
	initial_state(scratch->chaining_key, scratch->hash, identity->public_key);

	/* e */
	memcpy(scratch->remote_ephemeral, src->unencrypted_ephemeral, WM_KEY_LEN);
	mix_ephemeral(scratch->chaining_key, scratch->hash, scratch->remote_ephemeral);
	/* es */
	if (!mix_dh(scratch->chaining_key, key, identity->private_key, scratch->remote_ephemeral))
		goto out;
	/* s */
	ok = decrypt_and_hash(scratch->remote_static, src->encrypted_static,
			      sizeof(src->encrypted_static), key, scratch->hash);
out:
	if (!ok)
		wm_crypto_wipe(scratch, sizeof(*scratch));
	wm_crypto_wipe(key, sizeof(key));
	return ok;
}

bool wm_noise_consume_initiation_finish(struct wm_handshake *hs,
					struct wm_noise_initiation_scratch *scratch,
					const struct wm_msg_initiation *src, uint64_t now)
{
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
	uint8_t timestamp[WM_TIMESTAMP_LEN];
	bool replayed, flooded, ok = false;

	/* ss */
	if (!mix_precomputed_dh(scratch->chaining_key, key, hs->precomputed_static_static))
		goto out;
	/* {t} */
	if (!decrypt_and_hash(timestamp, src->encrypted_timestamp, sizeof(src->encrypted_timestamp),
			      key, scratch->hash))
		goto out;

	/* TAI64N is big-endian, so byte order is time order. */
	replayed = memcmp(timestamp, hs->latest_timestamp, WM_TIMESTAMP_LEN) <= 0;
	flooded = hs->last_initiation_consumption &&
		  hs->last_initiation_consumption + WM_NSEC_PER_SEC / WM_INITIATIONS_PER_SECOND > now;
	if (replayed || flooded)
		goto out;

	memcpy(hs->remote_ephemeral, scratch->remote_ephemeral, WM_KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, WM_TIMESTAMP_LEN);
	memcpy(hs->hash, scratch->hash, WM_HASH_LEN);
	memcpy(hs->chaining_key, scratch->chaining_key, WM_HASH_LEN);
	hs->remote_index = src->sender_index;	/* kept in wire order */
	hs->last_initiation_consumption = now;
	hs->state = WM_HANDSHAKE_CONSUMED_INITIATION;
	ok = true;
out:
	wm_crypto_wipe(key, sizeof(key));
	wm_crypto_wipe(timestamp, sizeof(timestamp));
	wm_crypto_wipe(scratch, sizeof(*scratch));
	return ok;
}

bool wm_noise_create_response(struct wm_msg_response *dst, struct wm_handshake *hs,
			      struct wm_index_table *table, const struct wm_rng *rng)
{
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
	bool ok = false;

	if (hs->state != WM_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	memset(dst, 0, sizeof(*dst));
	dst->header.type = le32(WM_MSG_HANDSHAKE_RESPONSE);
	dst->receiver_index = hs->remote_index;

	/* e */
	wm_crypto_generate_keypair(hs->ephemeral_private, dst->unencrypted_ephemeral, rng);
	mix_ephemeral(hs->chaining_key, hs->hash, dst->unencrypted_ephemeral);
	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_static))
		goto out;
	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, hs->preshared_key);
	/* {} */
	encrypt_and_hash(dst->encrypted_nothing, NULL, 0, key, hs->hash);

	dst->sender_index = le32(wm_index_insert(table, &hs->entry, rng));
	hs->state = WM_HANDSHAKE_CREATED_RESPONSE;
	ok = true;
out:
	if (!ok)
		wm_noise_handshake_clear(hs, table);
	wm_crypto_wipe(key, sizeof(key));
	return ok;
}

bool wm_noise_consume_response(struct wm_handshake *hs, const struct wm_static_identity *identity,
			       const struct wm_msg_response *src)
{
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
	uint8_t hash[WM_HASH_LEN];
	uint8_t chaining_key[WM_HASH_LEN];
	uint8_t nothing[1];
	bool ok = false;

	if (hs->state != WM_HANDSHAKE_CREATED_INITIATION || !identity->has_private_key)
		goto out;
	/* Work on copies: a forged response must not disturb the open handshake. */
	memcpy(hash, hs->hash, WM_HASH_LEN);
	memcpy(chaining_key, hs->chaining_key, WM_HASH_LEN);

	/* e */
	mix_ephemeral(chaining_key, hash, src->unencrypted_ephemeral);
	/* ee */
	if (!mix_dh(chaining_key, NULL, hs->ephemeral_private, src->unencrypted_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(chaining_key, NULL, identity->private_key, src->unencrypted_ephemeral))
		goto out;
	/* psk */
	mix_psk(chaining_key, hash, key, hs->preshared_key);
	/* {} */
	if (!decrypt_and_hash(nothing, src->encrypted_nothing, sizeof(src->encrypted_nothing), key,
			      hash))
		goto out;

	memcpy(hs->remote_ephemeral, src->unencrypted_ephemeral, WM_KEY_LEN);
	memcpy(hs->hash, hash, WM_HASH_LEN);
	memcpy(hs->chaining_key, chaining_key, WM_HASH_LEN);
	hs->remote_index = src->sender_index;
	hs->state = WM_HANDSHAKE_CONSUMED_RESPONSE;
	ok = true;
out:
	wm_crypto_wipe(key, sizeof(key));
	wm_crypto_wipe(hash, sizeof(hash));
	wm_crypto_wipe(chaining_key, sizeof(chaining_key));
	return ok;
}

bool wm_noise_begin_session(struct wm_handshake *hs, struct wm_keypair *kp,
			    struct wm_index_table *table, uint64_t now)
{
	if (hs->state == WM_HANDSHAKE_CONSUMED_RESPONSE) {
		/* (T_send, T_recv) = KDF2(C, ε) for the initiator. */
		wm_crypto_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
		kp->i_am_initiator = true;
	} else if (hs->state == WM_HANDSHAKE_CREATED_RESPONSE) {
		wm_crypto_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
		kp->i_am_initiator = false;
	} else {
		return false;
	}
	kp->remote_index = hs->remote_index;
	kp->birthdate = now;
	kp->send_counter = 0;
	kp->send_valid = true;
	kp->entry.peer = hs->entry.peer;
	wm_index_replace(table, &hs->entry, &kp->entry);
	wm_noise_handshake_clear(hs, table);
	return true;
}
