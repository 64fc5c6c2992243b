/* SPDX-License-Identifier: MIT */
/*
 * A tiny strict JSON reader for the few small objects DERP carries (client info, server info)
 * and the relay's key file: it validates the whole text (RFC 8259 grammar, nesting at most
 * WM_JSON_MAX_DEPTH) and walks the members of the top-level object. No allocation.
 * Key matching is ASCII case-insensitive, as Go's encoding/json matches struct fields.
 */
#ifndef WM_DERP_JSON_H
#define WM_DERP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_JSON_MAX_DEPTH 32
#define WM_JSON_KEY_MAX 64	/* longer keys are reported truncated and match nothing */

enum wm_json_type {
	WM_JSON_NULL,
	WM_JSON_FALSE,
	WM_JSON_TRUE,
	WM_JSON_NUMBER,
	WM_JSON_STRING,
	WM_JSON_ARRAY,
	WM_JSON_OBJECT,
};

struct wm_json_member {
	char key[WM_JSON_KEY_MAX + 1];	/* decoded, NUL-terminated */
	bool key_truncated;
	enum wm_json_type type;
	const char *raw;		/* the value's text, quotes included for strings */
	size_t raw_len;
};

/*
 * Validates text as one JSON object (surrounding whitespace allowed) and calls fn for each
 * member in order; a non-zero return from fn stops the walk and is returned. 0, or -EBADMSG
 * when the text is not a valid JSON object.
 */
int wm_json_object_foreach(const char *text, size_t len,
			   int (*fn)(void *ctx, const struct wm_json_member *m), void *ctx);

/* True when the member's key equals name, ignoring ASCII case. */
bool wm_json_key_is(const struct wm_json_member *m, const char *name);

/* A string value decoded (escapes, \u surrogate pairs to UTF-8) and NUL-terminated into out.
 * 0, -EINVAL when the value is not a string, -ENOSPC when it does not fit in cap - 1 bytes. */
int wm_json_get_string(const struct wm_json_member *m, char *out, size_t cap);

/* An integer value (no fraction or exponent, as Go decodes into int). 0, -EINVAL, -ERANGE. */
int wm_json_get_int(const struct wm_json_member *m, int64_t *out);

/* A true/false value. 0 or -EINVAL. */
int wm_json_get_bool(const struct wm_json_member *m, bool *out);

#endif
