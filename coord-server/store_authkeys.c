/* SPDX-License-Identifier: MIT */
/* Auth keys: only a hash of each is stored, so a copy of the database lets nobody join. */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HASH_LEN 32
#define PREFIX_LEN (sizeof(WM_STORE_AUTHKEY_PREFIX) - 1 + 8)

static void hash_key(uint8_t out[HASH_LEN], const char *key)
{
	crypto_generichash(out, HASH_LEN, (const uint8_t *)key, strlen(key), NULL, 0);
}

int wm_store_authkey_create(struct wm_store *s, const struct wm_store_authkey_opts *o,
			    int64_t now, char key[WM_STORE_AUTHKEY_LEN + 1], int64_t *id)
{
	uint8_t secret[16], hash[HASH_LEN];
	char hex[33], prefix[PREFIX_LEN + 1];
	sqlite3_stmt *st;
	int ret;

	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	snprintf(key, WM_STORE_AUTHKEY_LEN + 1, WM_STORE_AUTHKEY_PREFIX "%s", hex);
	snprintf(prefix, sizeof(prefix), "%s", key);
	hash_key(hash, key);
	st = wm_store_prepare(s, "INSERT INTO auth_keys (hash, prefix, reusable, ephemeral, tag, "
			      "created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, o->reusable);
	sqlite3_bind_int(st, 4, o->ephemeral);
	sqlite3_bind_text(st, 5, o->tag ? o->tag : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, o->expires);
	ret = wm_store_step_done(s, st);
	if (!ret && id)
		*id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

static void row_to_key(sqlite3_stmt *st, struct wm_store_authkey *k)
{
	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(st, 0);
	snprintf(k->prefix, sizeof(k->prefix), "%s", (const char *)sqlite3_column_text(st, 1));
	k->reusable = sqlite3_column_int(st, 2);
	k->ephemeral = sqlite3_column_int(st, 3);
	snprintf(k->tag, sizeof(k->tag), "%s", (const char *)sqlite3_column_text(st, 4));
	k->created = sqlite3_column_int64(st, 5);
	k->expires = sqlite3_column_int64(st, 6);
	k->revoked = sqlite3_column_int(st, 7);
	k->uses = sqlite3_column_int64(st, 8);
}

#define KEY_COLUMNS "id, prefix, reusable, ephemeral, tag, created, expires, revoked, uses"

int wm_store_authkey_list(struct wm_store *s,
			  void (*fn)(void *ctx, const struct wm_store_authkey *k), void *ctx)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT " KEY_COLUMNS " FROM auth_keys ORDER BY id");
	struct wm_store_authkey k;
	int rc;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_key(st, &k);
		fn(ctx, &k);
	}
	if (rc != SQLITE_DONE)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int wm_store_authkey_revoke(struct wm_store *s, const char *key_or_id)
{
	uint8_t hash[HASH_LEN];
	sqlite3_stmt *st;
	char *end;
	long long id = strtoll(key_or_id, &end, 10);
	int ret;

	if (*key_or_id && !*end) {
		st = wm_store_prepare(s, "UPDATE auth_keys SET revoked = 1 WHERE id = ?");
		if (st)
			sqlite3_bind_int64(st, 1, id);
	} else {
		hash_key(hash, key_or_id);
		st = wm_store_prepare(s, "UPDATE auth_keys SET revoked = 1 WHERE hash = ?");
		if (st)
			sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	}
	ret = wm_store_step_done(s, st);
	if (!ret && sqlite3_changes(s->db) == 0)
		return -ENOENT;
	return ret;
}

int wm_store_authkey_use(struct wm_store *s, const char *key, int64_t now,
			 struct wm_store_authkey *out, struct wm_store_refusal *why)
{
	uint8_t hash[HASH_LEN];
	sqlite3_stmt *st;
	int rc;

	why->status = 401;
	why->code = "auth_key_invalid";
	hash_key(hash, key);
	st = wm_store_prepare(s, "SELECT " KEY_COLUMNS " FROM auth_keys WHERE hash = ?");
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_to_key(st, out);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			return wm_store_fail(s, -EIO);
		snprintf(why->message, sizeof(why->message), "auth key not known to this server");
		return 1;
	}
	if (out->revoked) {
		snprintf(why->message, sizeof(why->message), "auth key %s… was revoked", out->prefix);
		return 1;
	}
	if (out->expires && now >= out->expires) {
		snprintf(why->message, sizeof(why->message), "auth key %s… expired", out->prefix);
		return 1;
	}
	if (!out->reusable && out->uses > 0) {
		snprintf(why->message, sizeof(why->message),
			 "auth key %s… is single-use and was already used", out->prefix);
		return 1;
	}
	st = wm_store_prepare(s, "UPDATE auth_keys SET uses = uses + 1 WHERE id = ?");
	if (st)
		sqlite3_bind_int64(st, 1, out->id);
	return wm_store_step_done(s, st);
}
