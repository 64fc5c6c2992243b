/* SPDX-License-Identifier: MIT */
#include "coord-server/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/secret_file.h"

/*
 * Migrations: migrations[i] takes the schema from version i to i + 1. Append, never edit one
 * that has shipped: databases out there have run it.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO meta VALUES ('netmap_version', 1), ('next_ipv4', 1681915905);"
	"CREATE TABLE server_key ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  private BLOB NOT NULL CHECK (length(private) = 32),"
	"  public BLOB NOT NULL CHECK (length(public) = 32),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE relay_map (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE auth_keys ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  hash BLOB NOT NULL UNIQUE,"
	"  prefix TEXT NOT NULL,"
	"  reusable INTEGER NOT NULL, ephemeral INTEGER NOT NULL, tag TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL, expires INTEGER NOT NULL,"
	"  revoked INTEGER NOT NULL DEFAULT 0, uses INTEGER NOT NULL DEFAULT 0);"
	/* AUTOINCREMENT: a node id is never handed out twice. */
	"CREATE TABLE nodes ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node_key BLOB NOT NULL UNIQUE CHECK (length(node_key) = 32),"
	"  disco_key BLOB NOT NULL CHECK (length(disco_key) = 32),"
	"  name TEXT NOT NULL UNIQUE,"
	"  hostname TEXT NOT NULL, os TEXT NOT NULL, version TEXT NOT NULL,"
	"  ipv4 INTEGER NOT NULL UNIQUE,"
	"  auth_key_id INTEGER REFERENCES auth_keys(id) ON DELETE SET NULL,"
	"  ephemeral INTEGER NOT NULL, tag TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL, key_expiry INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0, online INTEGER NOT NULL DEFAULT 0,"
	"  endpoints TEXT NOT NULL DEFAULT '', home_relay INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX nodes_online ON nodes (online, last_seen);",
	/* 1 -> 2: access policy, with its history; text NULL is "no policy" (cleared). */
	"CREATE TABLE policy ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  text TEXT,"
	"  created INTEGER NOT NULL,"
	"  current INTEGER NOT NULL DEFAULT 0 CHECK (current IN (0, 1)));"
	"CREATE UNIQUE INDEX policy_current ON policy (current) WHERE current = 1;",
	/*
	 * 2 -> 3: subnet routes (docs/routes.md): a row per prefix a node advertises or had
	 * approved; prefix as wm_netmap_prefix_format() writes it; the election marks at most one
	 * primary a prefix.
	 */
	"CREATE TABLE routes ("
	"  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  prefix TEXT NOT NULL,"
	"  advertised INTEGER NOT NULL DEFAULT 0 CHECK (advertised IN (0, 1)),"
	"  approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),"
	"  is_primary INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),"
	"  PRIMARY KEY (node_id, prefix)) WITHOUT ROWID;"
	"CREATE INDEX routes_prefix ON routes (prefix);",
	/* 3 -> 4: the mesh's DNS suffix (docs/dns.md); no row: WM_STORE_DNS_SUFFIX_DEFAULT. */
	"CREATE TABLE dns (id INTEGER PRIMARY KEY CHECK (id = 1), suffix TEXT NOT NULL,"
	"  updated INTEGER NOT NULL);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == WM_STORE_SCHEMA_VERSION,
	       "one migration per schema version");
_Static_assert(WM_STORE_IPV4_FIRST == 1681915905u, "next_ipv4 starts at 100.64.0.1");

int wm_store_fail(struct wm_store *s, int err)
{
	s->errors++;
	snprintf(s->error, sizeof(s->error), "%s", sqlite3_errmsg(s->db));
	return err;
}

const char *wm_store_error(const struct wm_store *s)
{
	return s->error;
}

uint64_t wm_store_error_count(const struct wm_store *s)
{
	return s->errors;
}

sqlite3_stmt *wm_store_prepare(struct wm_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		wm_store_fail(s, -EIO);
		return NULL;
	}
	return st;
}

int wm_store_exec(struct wm_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		s->errors++;
		snprintf(s->error, sizeof(s->error), "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int wm_store_step_done(struct wm_store *s, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		wm_store_fail(s, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

int wm_store_begin(struct wm_store *s)
{
	return wm_store_exec(s, "BEGIN IMMEDIATE");
}

int wm_store_commit(struct wm_store *s)
{
	int ret = wm_store_exec(s, "COMMIT");

	if (ret)
		wm_store_rollback(s);
	return ret;
}

void wm_store_rollback(struct wm_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int wm_store_bump(struct wm_store *s)
{
	return wm_store_exec(s, "UPDATE meta SET value = value + 1 WHERE key = 'netmap_version'");
}

static int64_t query_int(struct wm_store *s, const char *sql, int64_t fallback)
{
	sqlite3_stmt *st = wm_store_prepare(s, sql);
	int64_t v = fallback;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int wm_store_schema_version(struct wm_store *s)
{
	return (int)query_int(s, "SELECT version FROM schema_version", -1);
}

uint64_t wm_store_netmap_version(struct wm_store *s)
{
	return (uint64_t)query_int(s, "SELECT value FROM meta WHERE key = 'netmap_version'", 0);
}

bool wm_store_changed(struct wm_store *s)
{
	int64_t v = query_int(s, "PRAGMA data_version", 0);
	bool changed = v != s->data_version;

	s->data_version = v;
	return changed;
}

/* Runs the migrations the file has not seen, each in its own transaction. */
static int migrate(struct wm_store *s, char *err, size_t errlen)
{
	int version, ret;
	char sql[64];

	ret = wm_store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
			    "INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS "
			    "(SELECT 1 FROM schema_version)");
	if (ret)
		goto fail;
	version = wm_store_schema_version(s);
	if (version > WM_STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database's schema version %d is newer than this program's (%d): upgrade wiremesh-coord",
			 version, WM_STORE_SCHEMA_VERSION);
		return -EPROTO;
	}
	for (; version < WM_STORE_SCHEMA_VERSION; version++) {
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", version + 1);
		if ((ret = wm_store_begin(s)) || (ret = wm_store_exec(s, migrations[version])) ||
		    (ret = wm_store_exec(s, sql)) || (ret = wm_store_commit(s))) {
			wm_store_rollback(s);
			goto fail;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "schema migration: %s", s->error);
	return ret;
}

/* The file holds the server's private key: only its owner may read it (SQLite would make it
 * 0644). An existing database is left as it is. */
static int create_private(const char *path, char *err, size_t errlen)
{
	int ret = wm_secret_file_write(path, "", 0, WM_SECRET_FILE_CREATE);

	if (ret < 0 && ret != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-ret));
		return ret;
	}
	return 0;
}

int wm_store_open(struct wm_store **out, const char *path, int busy_timeout_ms, char *err,
		  size_t errlen)
{
	struct wm_store *s;
	int ret;

	*out = NULL;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	if (strcmp(path, ":memory:") && (ret = create_private(path, err, errlen)))
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		wm_store_close(s);
		return -EIO;
	}
	sqlite3_busy_timeout(s->db, busy_timeout_ms);
	ret = wm_store_exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			    "PRAGMA foreign_keys = ON");
	if (ret) {
		snprintf(err, errlen, "database %s: %s", path, s->error);
		wm_store_close(s);
		return ret;
	}
	ret = migrate(s, err, errlen);
	if (ret) {
		wm_store_close(s);
		return ret;
	}
	wm_store_changed(s);
	*out = s;
	return 0;
}

void wm_store_close(struct wm_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

int wm_store_server_key(struct wm_store *s, uint8_t priv[WM_KEY_LEN], uint8_t pub[WM_KEY_LEN])
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT private, public FROM server_key WHERE id = 1");
	int ret = -EIO;

	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == WM_KEY_LEN) {
		memcpy(priv, sqlite3_column_blob(st, 0), WM_KEY_LEN);
		memcpy(pub, sqlite3_column_blob(st, 1), WM_KEY_LEN);
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	crypto_box_keypair(pub, priv);
	st = wm_store_prepare(s, "INSERT INTO server_key VALUES (1, ?, ?, strftime('%s'))");
	if (st) {
		sqlite3_bind_blob(st, 1, priv, WM_KEY_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, pub, WM_KEY_LEN, SQLITE_STATIC);
		ret = wm_store_step_done(s, st);
	}
	/* Another process made one first: use that. */
	if (ret == -EEXIST)
		return wm_store_server_key(s, priv, pub);
	return ret;
}

char *wm_store_relays_get(struct wm_store *s)
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT json FROM relay_map WHERE id = 1");
	char *json = NULL;

	if (!st)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		json = strdup((const char *)sqlite3_column_text(st, 0));
	else
		json = strdup("{\"regions\":[]}");
	sqlite3_finalize(st);
	return json;
}

int wm_store_relays_set(struct wm_store *s, const char *json, int64_t now)
{
	sqlite3_stmt *st;
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	st = wm_store_prepare(s, "INSERT OR REPLACE INTO relay_map VALUES (1, ?, ?)");
	if (st) {
		sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
	}
	if ((ret = wm_store_step_done(s, st)) || (ret = wm_store_bump(s))) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}

int wm_store_dns_suffix_get(struct wm_store *s, char out[WM_NETMAP_DNS_SUFFIX_MAX + 1])
{
	sqlite3_stmt *st = wm_store_prepare(s, "SELECT suffix FROM dns WHERE id = 1");
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, WM_NETMAP_DNS_SUFFIX_MAX + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	else
		snprintf(out, WM_NETMAP_DNS_SUFFIX_MAX + 1, "%s", WM_STORE_DNS_SUFFIX_DEFAULT);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : wm_store_fail(s, -EIO);
}

int wm_store_dns_suffix_set(struct wm_store *s, const char *suffix, int64_t now)
{
	char old[WM_NETMAP_DNS_SUFFIX_MAX + 1];
	sqlite3_stmt *st;
	int ret = wm_store_begin(s);

	if (ret)
		return ret;
	if ((ret = wm_store_dns_suffix_get(s, old)) || !strcmp(old, suffix)) {
		wm_store_rollback(s);
		return ret;
	}
	st = wm_store_prepare(s, "INSERT OR REPLACE INTO dns VALUES (1, ?, ?)");
	if (st) {
		sqlite3_bind_text(st, 1, suffix, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
	}
	if ((ret = wm_store_step_done(s, st)) || (ret = wm_store_bump(s))) {
		wm_store_rollback(s);
		return ret;
	}
	return wm_store_commit(s);
}
