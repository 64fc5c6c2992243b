/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-coord's state in SQLite: schema versions and migrations, the server key, auth keys,
 * nodes, the relay map, the access policy with its history, subnet routes, the DNS suffix,
 * and the netmap version. WAL mode,
 * foreign keys on, a busy timeout so that the admin commands and `serve` share the file. Every
 * change a netmap shows bumps the netmap version in the same transaction; a process that did
 * not make the change notices it through wm_store_changed(). Times are unix seconds, passed in.
 */
#ifndef WM_COORD_STORE_H
#define WM_COORD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "coord-client/coord_msg.h"
#include "coord-client/netmap.h"

#define WM_STORE_SCHEMA_VERSION 4
#define WM_STORE_NODE_KEY_LIFETIME (180 * 86400)	/* node keys expire after 180 days */
#define WM_STORE_TAG_MAX 64		/* one tag */
#define WM_STORE_TAGS_MAX 4		/* tags of one auth key (and its nodes) */
/* The stored list: the tags joined with ",", as `authkey create --tags` gave them. */
#define WM_STORE_TAGS_LEN (WM_STORE_TAGS_MAX * (WM_STORE_TAG_MAX + 1) - 1)
#define WM_STORE_AUTHKEY_PREFIX "wmauth-"
#define WM_STORE_AUTHKEY_LEN 39				/* prefix + 32 hex digits */
#define WM_STORE_POLICY_HISTORY 100			/* policies kept, the current included */
#define WM_STORE_DNS_SUFFIX_DEFAULT "mesh.internal"	/* ICANN reserved .internal for private use */

struct wm_store;

struct wm_store_node {
	int64_t id;
	uint8_t node_key[WM_KEY_LEN];
	uint8_t disco_key[WM_KEY_LEN];
	char name[WM_NETMAP_NAME_MAX + 1];
	char hostname[WM_COORD_HOSTNAME_MAX + 1];
	char os[WM_COORD_OS_MAX + 1];
	char version[WM_COORD_VERSION_MAX + 1];
	uint32_t ipv4;				/* host order, in 100.64.0.0/10 */
	int64_t auth_key_id;			/* 0: the key was deleted */
	bool ephemeral;
	char tag[WM_STORE_TAGS_LEN + 1];	/* "tag:a,tag:b", or "" */
	int64_t created, key_expiry, last_seen;
	bool online;
	struct wm_endpoint endpoints[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_endpoints;
	int home_relay;
};

struct wm_store_authkey {
	int64_t id;
	char prefix[24];			/* "wmauth-1a2b3c4d": enough to recognise it */
	bool reusable, ephemeral, revoked;
	char tag[WM_STORE_TAGS_LEN + 1];	/* "tag:a,tag:b", or "" */
	int64_t created, expires;		/* expires 0: never */
	int64_t uses;
};

/* Opens or creates (mode 0600) the database and brings the schema up to date. 0 or a negative
 * errno with err set (-EPROTO: the file's schema is newer than this program). */
int wm_store_open(struct wm_store **out, const char *path, int busy_timeout_ms, char *err,
		  size_t errlen);
void wm_store_close(struct wm_store *s);

/* The last SQLite error message, for reports. */
const char *wm_store_error(const struct wm_store *s);

/* How many SQLite calls failed since the store was opened (constraint violations included). */
uint64_t wm_store_error_count(const struct wm_store *s);

int wm_store_schema_version(struct wm_store *s);

/* The netmap version (starts at 1; only grows). */
uint64_t wm_store_netmap_version(struct wm_store *s);

/* True when another connection committed since the last call (PRAGMA data_version). */
bool wm_store_changed(struct wm_store *s);

/* The server's X25519 key pair, made and stored on first call. 0 or negative errno. */
int wm_store_server_key(struct wm_store *s, uint8_t priv[WM_KEY_LEN], uint8_t pub[WM_KEY_LEN]);

/* The relay map's JSON text (malloc'd; {"regions":[]} when none was set), or NULL. */
char *wm_store_relays_get(struct wm_store *s);
/* Stores a relay map already checked by wm_coord_relay_map_parse(); bumps the version. */
int wm_store_relays_set(struct wm_store *s, const char *json, int64_t now);

/* The mesh's DNS suffix (WM_STORE_DNS_SUFFIX_DEFAULT until set). 0 or negative errno. */
int wm_store_dns_suffix_get(struct wm_store *s, char out[WM_NETMAP_DNS_SUFFIX_MAX + 1]);
/* Stores a suffix already checked by wm_coord_dns_suffix_check(); bumps the version when it
 * changes. 0 or negative errno. */
int wm_store_dns_suffix_set(struct wm_store *s, const char *suffix, int64_t now);

/* --- auth keys (store_authkeys.c) --- */

struct wm_store_authkey_opts {
	bool reusable, ephemeral;
	int64_t expires;			/* 0: never */
	const char *tag;			/* NULL or "" */
};

/* Makes a key and writes its text (WM_STORE_AUTHKEY_LEN characters) into key. 0 or errno. */
int wm_store_authkey_create(struct wm_store *s, const struct wm_store_authkey_opts *o,
			    int64_t now, char key[WM_STORE_AUTHKEY_LEN + 1], int64_t *id);
/* Calls fn for every key, oldest first. 0 or negative errno. */
int wm_store_authkey_list(struct wm_store *s,
			  void (*fn)(void *ctx, const struct wm_store_authkey *k), void *ctx);
/* Revokes by full key text or by numeric id. 0, -ENOENT, or negative errno. */
int wm_store_authkey_revoke(struct wm_store *s, const char *key_or_id);

/* --- nodes (store_nodes.c) --- */

/* Why a registration was refused: the code and sentence of the protocol's error answer. */
struct wm_store_refusal {
	int status;
	const char *code;
	char message[160];
};

/*
 * Registers (or refreshes) the node with this key. A known node whose key has not expired
 * needs no auth key; otherwise the auth key must be valid and is used up if single-use.
 * 0 with *node filled, 1 when refused (*why filled), or negative errno.
 */
int wm_store_node_register(struct wm_store *s, const uint8_t node_key[WM_KEY_LEN],
			   const struct wm_coord_register_req *req, int64_t now,
			   struct wm_store_node *node, struct wm_store_refusal *why);

/* Moves the node with old_key to new_key (fresh expiry). 0, 1 when refused, or errno. */
int wm_store_node_rotate(struct wm_store *s, const uint8_t old_key[WM_KEY_LEN],
			 const uint8_t new_key[WM_KEY_LEN], int64_t now,
			 struct wm_store_node *node, struct wm_store_refusal *why);

/* 0 with *node, -ENOENT, or errno. */
int wm_store_node_by_key(struct wm_store *s, const uint8_t key[WM_KEY_LEN],
			 struct wm_store_node *node);
/* By id, name or base64 node key, as an admin types it. 0, -ENOENT, or errno. */
int wm_store_node_find(struct wm_store *s, const char *which, struct wm_store_node *node);

/* All nodes, by id (malloc'd array in *out, count in *n). 0 or errno. */
int wm_store_nodes_load(struct wm_store *s, struct wm_store_node **out, size_t *n);

/*
 * Records a poll: last_seen = now, online, endpoints, home relay, the advertised routes (which
 * replace the ones before). Sets *urgent or *lazy when the version was bumped for a change
 * peers must see soon (endpoints, an approved route, a primary router) / may see later (online).
 */
int wm_store_node_polled(struct wm_store *s, int64_t id, const struct wm_coord_poll_req *p,
			 int64_t now, bool *urgent, bool *lazy);

/* last_seen = now for many nodes, in one transaction. */
int wm_store_nodes_touch(struct wm_store *s, const int64_t *ids, size_t n, int64_t now);

/*
 * Housekeeping: nodes marked online but silent since before now - grace and not in held
 * (sorted ids of nodes with a poll held) go offline; ephemeral ones silent since before
 * now - ephemeral_after are deleted; keys that expired in (since, now] count as a change.
 * Returns the number of changes (the version was bumped if any), or negative errno.
 */
int wm_store_sweep(struct wm_store *s, const int64_t *held, size_t n_held, int64_t now,
		   int64_t since, int64_t grace, int64_t ephemeral_after);

/* Removes the node and its routes (their primaries move on, judged at now). */
int wm_store_node_delete(struct wm_store *s, int64_t id, int64_t now);
/* -EEXIST when another node has the name, -EINVAL when it is not a DNS label. */
int wm_store_node_rename(struct wm_store *s, int64_t id, const char *name);
int wm_store_node_expire(struct wm_store *s, int64_t id, int64_t now);

/* --- subnet routes (store_routes.c, docs/routes.md) --- */

/* One prefix of one node: advertised by it now, approved by an administrator, and whether the
 * node is the prefix's primary router (the one peers get it from). */
struct wm_store_route {
	int64_t node_id;
	struct wm_netmap_prefix prefix;
	bool advertised, approved, primary;
};

/*
 * Whether a prefix a node advertises is approved without an administrator (the policy's
 * "autoApprovers"). The store asks it, inside the poll's transaction, about each advertised
 * prefix that is not approved; one it approves counts as approved from that poll on.
 */
typedef bool (*wm_store_auto_approve_fn)(void *ctx, int64_t node_id,
					 const struct wm_netmap_prefix *prefix);

void wm_store_set_auto_approver(struct wm_store *s, wm_store_auto_approve_fn fn, void *ctx);

/* Every route, by node id then prefix (malloc'd array in *out). 0 or negative errno. */
int wm_store_routes_load(struct wm_store *s, struct wm_store_route **out, size_t *n);

/* One node's routes, by prefix. 0 or negative errno. */
int wm_store_node_routes(struct wm_store *s, int64_t node_id, struct wm_store_route **out,
			 size_t *n);

/* The prefixes the node advertises and an administrator approved (its netmap's
 * self.approved_routes), by prefix. 0 or negative errno. */
int wm_store_node_approved_routes(struct wm_store *s, int64_t node_id,
				  struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES], size_t *n);

/*
 * Approves (or withdraws the approval of) a prefix on a node, re-elects the primaries at now and
 * bumps the version. 0; -ENOENT when approving a prefix the node does not advertise, or
 * unapproving one that is not approved; -EALREADY when it is approved already; negative errno.
 */
int wm_store_route_approve(struct wm_store *s, int64_t node_id,
			   const struct wm_netmap_prefix *prefix, bool approve, int64_t now);

/* --- access policy (store_policy.c) --- */

struct wm_store_policy {
	int64_t id;				/* 0: none was ever set */
	int64_t created;
	bool current;
	char *text;				/* malloc'd as set; NULL: no policy (allow all) */
};

/* The policy in force (text NULL when none). 0 or -EIO. */
int wm_store_policy_current(struct wm_store *s, struct wm_store_policy *out);

/* A policy of the history by id (text NULL for a "cleared" entry). 0, -ENOENT, -EIO. */
int wm_store_policy_get(struct wm_store *s, int64_t id, struct wm_store_policy *out);

void wm_store_policy_free(struct wm_store_policy *p);

/*
 * Makes text (NULL: no policy) the policy in force, keeps the older ones as history (the newest
 * WM_STORE_POLICY_HISTORY entries) and bumps the netmap version, in one transaction. check (may
 * be NULL) runs first inside it, on the store as it is about to be committed (the nodes it
 * loads cannot change before the commit); its nonzero return aborts and is returned.
 * 0 with *id set, the check's error, or negative errno.
 */
int wm_store_policy_set(struct wm_store *s, const char *text, int64_t now,
			int (*check)(void *ctx, struct wm_store *s), void *ctx, int64_t *id);

/* Calls fn for every stored policy, newest first, with the size of its text (0: a clear) and
 * text left NULL. 0 or -EIO. */
int wm_store_policy_history(struct wm_store *s,
			    void (*fn)(void *ctx, const struct wm_store_policy *p, size_t size),
			    void *ctx);

/* The IPv4 address after cursor (host order) that may go to a node, or 0 when 100.64.0.0/10
 * has none left (alloc.c). */
uint32_t wm_store_alloc_next(uint32_t cursor);

/* The first address handed out. */
#define WM_STORE_IPV4_FIRST 0x64400001u	/* 100.64.0.1 */

#endif
