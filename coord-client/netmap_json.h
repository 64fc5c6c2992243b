/* SPDX-License-Identifier: MIT */
/*
 * The netmap's JSON form (docs/coord-protocol.md, "The netmap"), pure: this node, the peers and
 * the relay map, as jansson values for the message codecs (coord_msg.c), and as compact text
 * for a server that splices one peer list into many answers. Readers check every field as the
 * protocol says and return -EBADMSG with a sentence naming the field in err (may be NULL).
 */
#ifndef WM_NETMAP_JSON_H
#define WM_NETMAP_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "coord-client/netmap.h"

/* This node: builder (NULL when out of memory) and reader. */
json_t *wm_netmap_json_self_new(const struct wm_netmap_self *s);
int wm_netmap_json_self(const json_t *o, struct wm_netmap_self *s, char *err, size_t errlen);

/* The relay map {"regions": [...]}: builder and reader (rm is empty after a failure). */
json_t *wm_netmap_json_relay_map_new(const struct wm_relay_map *rm);
int wm_netmap_json_relay_map(const json_t *v, struct wm_relay_map *rm, char *err,
			     size_t errlen);

/* A list of prefixes as text ["192.168.50.0/24", …] (NULL when out of memory). */
json_t *wm_netmap_json_prefixes_new(const struct wm_netmap_prefix *p, size_t n);

/*
 * Reads subnet routes from o[field]: optional (none when absent), at most WM_NETMAP_MAX_ROUTES
 * prefixes with the host bits zero, each allowed by wm_netmap_route_check(), none twice. The
 * error names the entry and says why.
 */
int wm_netmap_json_routes(const json_t *o, const char *field,
			  struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES], size_t *n, char *err,
			  size_t errlen);

/* The netmap's "dns" object: {"suffix": suffix} (NULL when out of memory). */
json_t *wm_netmap_json_dns_new(const char *suffix);

/* Puts nm's self, relays, packet_filter, dns and peers into o. false when out of memory. */
bool wm_netmap_json_put(json_t *o, const struct wm_netmap *nm);

/* Reads them from o into nm, which the caller frees (wm_netmap_free()) either way. */
int wm_netmap_json_read(const json_t *o, struct wm_netmap *nm, char *err, size_t errlen);

/* Compact text of one peer, of self, of a relay map (NULL when out of memory). */
char *wm_coord_peer_encode(const struct wm_netmap_peer *p);
char *wm_coord_self_encode(const struct wm_netmap_self *s);
char *wm_coord_relay_map_encode(const struct wm_relay_map *rm);

/* The relay map as `relays set FILE` takes it and netmaps carry it. 0 or -EBADMSG. */
int wm_coord_relay_map_parse(struct wm_relay_map *rm, const char *text, size_t len,
			     char *err, size_t errlen);

#endif
