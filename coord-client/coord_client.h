/* SPDX-License-Identifier: MIT */
/*
 * The node's side of coordination, on the caller's libev loop (docs/coord-protocol.md): fetch
 * and pin the server key on first use (unless given), register, then long-poll for netmaps for
 * as long as the client lives. It never blocks the loop; when the server is away it retries
 * with capped exponential backoff and jitter and keeps the last netmap, which the mesh goes on
 * using. The daemon tells it the node's endpoint candidates and home relay through the setters;
 * a change re-polls at once so the server learns it within a round trip.
 *
 * Callbacks run from the loop; from inside them the caller may use the setters, read the
 * netmap, and destroy the client.
 */
#ifndef WM_COORD_CLIENT_H
#define WM_COORD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "coord-client/netmap.h"

struct ev_loop;
struct wm_coord_client;

enum wm_coord_state {
	WM_COORD_AWAY,		/* not (yet, or no longer) talking to the server; retrying */
	WM_COORD_CONNECTED,	/* the last exchange succeeded */
	WM_COORD_REJECTED,	/* the server refused us (auth key, removed, expired): stopped */
	WM_COORD_LOGGED_OUT,	/* wm_coord_client_logout() completed: stopped */
};

/* Timing ("Long poll" and "Client behaviour" in docs/coord-protocol.md). */
#define WM_COORD_REQUEST_TIMEOUT_S 20.0	/* key, register, rotate, logout: whole exchange */
#define WM_COORD_POLL_TIMEOUT_S 75.0	/* the server holds a poll at most ~50 s */
#define WM_COORD_BACKOFF_MIN_MS 500	/* first retry; doubled per failure */
#define WM_COORD_BACKOFF_MAX_MS 30000	/* cap; each delay is jittered to 50-100% */

struct wm_coord_client_config {
	const char *url;			/* http(s)://host[:port][/base][?key=HEX] */
	uint8_t node_private_key[WM_KEY_LEN];	/* the node's WireGuard key (copied, wiped) */
	uint8_t disco_public_key[WM_KEY_LEN];
	const char *auth_key;			/* NULL/"": only a node the server knows */
	const char *hostname;			/* [A-Za-z0-9._-], at most 253 */
	const char *os;				/* NULL: uname's system name */
	const char *version;			/* NULL: "wiremesh" */
	bool has_server_key;			/* pinned earlier (state dir) */
	uint8_t server_key[WM_KEY_LEN];
	const char *ca_file;			/* https: CAs or pinned certificate; NULL: system */

	/* A new netmap (the first, or a change). nm is valid until the next on_netmap. */
	void (*on_netmap)(void *ctx, const struct wm_netmap *nm);
	/* Every state change, with a sentence saying why. May be NULL. */
	void (*on_state)(void *ctx, enum wm_coord_state state, const char *why);
	/* The server key learned on first use: persist it and pass it as pinned next time. */
	void (*on_server_key)(void *ctx, const uint8_t key[WM_KEY_LEN]);
	/* A rotation finished: err 0 (the new key is the node key now) or negative. May be NULL. */
	void (*on_rotated)(void *ctx, int err, const char *why);
	void *ctx;
};

/*
 * Creates the client and starts at once. NULL with *err: -EINVAL (bad URL, hostname, or a
 * URL key that differs from the pinned one; why in errbuf), -ENOMEM, -EIO (CA file).
 */
struct wm_coord_client *wm_coord_client_create(struct ev_loop *loop,
					       const struct wm_coord_client_config *cfg,
					       int *err, char *errbuf, size_t errlen);

/* Replaces the endpoint candidates (at most WM_NETMAP_MAX_ENDPOINTS); re-polls if changed.
 * 0 or -E2BIG. */
int wm_coord_client_set_endpoints(struct wm_coord_client *c, const struct wm_endpoint *eps,
				  size_t n);

/*
 * Replaces the subnet routes this node advertises (at most WM_NETMAP_MAX_ROUTES prefixes, host
 * bits zero; docs/routes.md); every poll carries them, and a change (in any order, repeats
 * ignored) re-polls at once. 0, -E2BIG, or -EINVAL when one fails wm_netmap_route_check().
 */
int wm_coord_client_set_routes(struct wm_coord_client *c, const struct wm_netmap_prefix *routes,
			       size_t n);

/* Sets the home relay region (0: none); re-polls if changed. */
void wm_coord_client_set_home_relay(struct wm_coord_client *c, int region);

/* The last netmap (kept while the server is away), or NULL before the first. */
const struct wm_netmap *wm_coord_client_netmap(const struct wm_coord_client *c);

/* This node as the server last described it (after register), or NULL. */
const struct wm_netmap_self *wm_coord_client_self(const struct wm_coord_client *c);

enum wm_coord_state wm_coord_client_state(const struct wm_coord_client *c);

/* Rotates the node key to new_priv (copied): on_rotated reports the outcome. 0 or -EBUSY
 * when a rotation or logout is under way, -EINVAL when stopped. */
int wm_coord_client_rotate_key(struct wm_coord_client *c, const uint8_t new_priv[WM_KEY_LEN]);

/* Leaves the mesh: the server forgets the node; then state LOGGED_OUT. 0 or -EINVAL when
 * stopped. */
int wm_coord_client_logout(struct wm_coord_client *c);

/* Stops and frees; keys are wiped. Safe from callbacks. */
void wm_coord_client_destroy(struct wm_coord_client *c);

#endif
