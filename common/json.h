/* SPDX-License-Identifier: MIT */
/*
 * JSON helpers on jansson, shared by the codecs that read untrusted JSON (coordination messages,
 * DERP's client and server info, the relay's key file). Readers check one member of an object
 * against its type and bounds and, on any mismatch, write a sentence naming the member into err
 * (which may be NULL) and return -EBADMSG. Builders return a new reference or NULL when out of
 * memory, which wm_json_put() turns into a clean failure.
 */
#ifndef WM_JSON_H
#define WM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include <jansson.h>

#include "common/endpoint.h"
#include "common/key.h"

/* Writes the message into err (may be NULL) and returns -EBADMSG. */
int wm_json_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parses text as one JSON object with jansson's decoding flags (JSON_REJECT_DUPLICATES, or 0 to
 * let the last of repeated keys win). NULL with err set when it is not valid JSON or not an
 * object.
 */
json_t *wm_json_load_object(const char *text, size_t len, size_t flags, char *err,
			    size_t errlen);

/*
 * Calls fn for each member of o whose key equals name ignoring ASCII case, in document order:
 * the way Go's encoding/json fills a struct field (the last such member wins). Stops at fn's
 * first non-zero return and returns it; 0 when every call returned 0 or none matched.
 */
int wm_json_foreach_nocase(const json_t *o, const char *name,
			   int (*fn)(void *ctx, const json_t *v), void *ctx);

/* Member readers: a missing or null member fails when required, else leaves the output at its
 * default (noted). */
int wm_json_string(const json_t *o, const char *field, bool required, char *out, size_t cap,
		   char *err, size_t errlen);	/* "" when absent; no control characters */
int wm_json_int(const json_t *o, const char *field, bool required, int64_t min, int64_t max,
		int64_t *out, char *err, size_t errlen);	/* untouched when absent */
int wm_json_bool(const json_t *o, const char *field, bool required, bool *out, char *err,
		 size_t errlen);	/* untouched when absent */
int wm_json_key(const json_t *o, const char *field, uint8_t key[WM_KEY_LEN], char *err,
		size_t errlen);	/* required: 44 characters of base64, not all zero */
int wm_json_hex(const json_t *o, const char *field, uint8_t *out, size_t len, const char *what,
		char *err, size_t errlen);	/* required: exactly 2 * len hex digits */
int wm_json_ipv4(const json_t *o, const char *field, struct in_addr *out, char *err,
		 size_t errlen);	/* required */
int wm_json_ipv6(const json_t *o, const char *field, struct in6_addr *out, char *err,
		 size_t errlen);	/* required */
/* An array of at most max "ip:port" / "[ipv6]:port" strings: no zone, no port 0, no
 * unspecified address. [] when absent. */
int wm_json_endpoints(const json_t *o, const char *field, struct wm_endpoint *eps, size_t max,
		      size_t *n, char *err, size_t errlen);

/* Value builders, the text forms the readers take. */
json_t *wm_json_key_new(const uint8_t key[WM_KEY_LEN]);
json_t *wm_json_hex_new(const uint8_t *bytes, size_t len);
json_t *wm_json_ipv4_new(struct in_addr a);
json_t *wm_json_ipv6_new(const struct in6_addr *a);
json_t *wm_json_endpoints_new(const struct wm_endpoint *eps, size_t n);

/*
 * Between these two calls every block jansson frees is wiped first: for text that holds a
 * secret (a private key file), whose parse and values would otherwise linger in freed memory.
 * Process-wide; not for use while another thread uses jansson.
 */
void wm_json_secret_begin(void);
void wm_json_secret_end(void);

/* Sets o[field] = v, stealing v; false when o or v is NULL or memory runs out. */
bool wm_json_put(json_t *o, const char *field, json_t *v);

/* The compact text of o when ok (malloc'd), NULL otherwise or when out of memory. Releases o. */
char *wm_json_finish(json_t *o, bool ok);

#endif
