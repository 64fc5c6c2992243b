/* SPDX-License-Identifier: MIT */
/*
 * Field readers and writers shared by the coordination codecs (coord_msg.c, netmap_json.c):
 * each reader checks one member of a JSON object against its format and bounds and, on any
 * mismatch, writes a sentence naming the field into err and returns -EBADMSG. Internal to
 * coord-client/.
 */
#ifndef WM_COORD_JSON_H
#define WM_COORD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <jansson.h>

#include "coord-client/coord_msg.h"

/* Writes the message into err (may be NULL) and returns -EBADMSG. */
int wm_coord_json_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses text as one JSON object (duplicates rejected). NULL with err set otherwise. */
json_t *wm_coord_json_load(const char *text, size_t len, char *err, size_t errlen);

/* Member readers. A missing optional member leaves the output at its default (noted). */
int wm_coord_json_string(const json_t *o, const char *field, bool required, char *out,
			 size_t cap, char *err, size_t errlen);	/* "" when absent */
int wm_coord_json_int(const json_t *o, const char *field, bool required, int64_t min,
		      int64_t max, int64_t *out, char *err, size_t errlen);	/* untouched */
int wm_coord_json_bool(const json_t *o, const char *field, bool required, bool *out,
		       char *err, size_t errlen);	/* untouched */
int wm_coord_json_key(const json_t *o, const char *field, uint8_t key[WM_KEY_LEN],
		      char *err, size_t errlen);	/* required: base64, 44 characters */
int wm_coord_json_id(const json_t *o, const char *field, uint8_t id[WM_COORD_REQ_ID_LEN],
		     char *err, size_t errlen);	/* required: 32 hex digits */
int wm_coord_json_ipv4(const json_t *o, const char *field, struct in_addr *out,
		       char *err, size_t errlen);
int wm_coord_json_ipv6(const json_t *o, const char *field, struct in6_addr *out,
		       char *err, size_t errlen);
int wm_coord_json_endpoints(const json_t *o, const char *field, struct wm_endpoint *eps,
			    size_t max, size_t *n, char *err, size_t errlen);	/* [] when absent */
/* The "type" member must equal want. */
int wm_coord_json_type(const json_t *o, const char *want, char *err, size_t errlen);

/* Value builders: NULL when out of memory (json_object_set_new() then fails cleanly). */
json_t *wm_coord_json_key_new(const uint8_t key[WM_KEY_LEN]);
json_t *wm_coord_json_id_new(const uint8_t id[WM_COORD_REQ_ID_LEN]);
json_t *wm_coord_json_ipv4_new(struct in_addr a);
json_t *wm_coord_json_ipv6_new(const struct in6_addr *a);
json_t *wm_coord_json_endpoints_new(const struct wm_endpoint *eps, size_t n);

/* Sets o[field] = v (stealing v); false when v is NULL or memory runs out. */
bool wm_coord_json_put(json_t *o, const char *field, json_t *v);

/* Compact text of o, which is released. NULL when o is NULL or out of memory. */
char *wm_coord_json_finish(json_t *o, bool ok);

/* Object readers and builders of netmap_json.c, used by coord_msg.c. */
int wm_coord_json_self(const json_t *o, struct wm_netmap_self *s, char *err, size_t errlen);
int wm_coord_json_relay_map(const json_t *v, struct wm_relay_map *rm, char *err,
			    size_t errlen);
json_t *wm_coord_json_self_new(const struct wm_netmap_self *s);
json_t *wm_coord_json_relay_map_new(const struct wm_relay_map *rm);

#endif
