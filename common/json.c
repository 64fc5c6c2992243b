/* SPDX-License-Identifier: MIT */
#include "common/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/encoding.h"

int wm_json_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

json_t *wm_json_load_object(const char *text, size_t len, size_t flags, char *err,
			    size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, flags, &je);

	if (!o) {
		wm_json_fail(err, errlen, "bad JSON at line %d column %d: %s", je.line, je.column,
			     je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		wm_json_fail(err, errlen, "bad JSON: the message is not an object");
		return NULL;
	}
	return o;
}

int wm_json_foreach_nocase(const json_t *o, const char *name,
			   int (*fn)(void *ctx, const json_t *v), void *ctx)
{
	const char *key;
	json_t *v;
	int ret;

	/* strcasecmp folds ASCII only in the C locale, which a daemon never leaves. */
	json_object_foreach((json_t *)o, key, v) {
		if (strcasecmp(key, name))
			continue;
		ret = fn(ctx, v);
		if (ret)
			return ret;
	}
	return 0;
}

/* The member, or NULL (then *bad says whether that is an error) when missing or null. */
static json_t *member(const json_t *o, const char *field, bool required, int *bad, char *err,
		      size_t errlen)
{
	json_t *v = json_object_get(o, field);

	*bad = 0;
	if (!v || json_is_null(v)) {
		if (required)
			*bad = wm_json_fail(err, errlen, "missing field \"%s\"", field);
		return NULL;
	}
	return v;
}

static bool has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

int wm_json_string(const json_t *o, const char *field, bool required, char *out, size_t cap,
		   char *err, size_t errlen)
{
	int bad;
	json_t *v = member(o, field, required, &bad, err, errlen);
	size_t len;

	out[0] = '\0';
	if (!v)
		return bad;
	if (!json_is_string(v))
		return wm_json_fail(err, errlen, "field \"%s\" must be a string", field);
	len = json_string_length(v);
	if (len >= cap)
		return wm_json_fail(err, errlen, "field \"%s\" is too long (%zu bytes, at most %zu)",
				    field, len, cap - 1);
	if (has_control(json_string_value(v), len))
		return wm_json_fail(err, errlen, "field \"%s\" contains control characters", field);
	memcpy(out, json_string_value(v), len);
	out[len] = '\0';
	return 0;
}

int wm_json_int(const json_t *o, const char *field, bool required, int64_t min, int64_t max,
		int64_t *out, char *err, size_t errlen)
{
	int bad;
	json_t *v = member(o, field, required, &bad, err, errlen);
	json_int_t x;

	if (!v)
		return bad;
	if (!json_is_integer(v))
		return wm_json_fail(err, errlen, "field \"%s\" must be an integer", field);
	x = json_integer_value(v);
	if (x < min || x > max)
		return wm_json_fail(err, errlen,
				    "field \"%s\" is out of range (%lld, allowed %lld..%lld)", field,
				    (long long)x, (long long)min, (long long)max);
	*out = x;
	return 0;
}

int wm_json_bool(const json_t *o, const char *field, bool required, bool *out, char *err,
		 size_t errlen)
{
	int bad;
	json_t *v = member(o, field, required, &bad, err, errlen);

	if (!v)
		return bad;
	if (!json_is_boolean(v))
		return wm_json_fail(err, errlen, "field \"%s\" must be true or false", field);
	*out = json_is_true(v);
	return 0;
}

int wm_json_key(const json_t *o, const char *field, uint8_t key[WM_KEY_LEN], char *err,
		size_t errlen)
{
	char text[WM_KEY_B64_LEN + 1];
	int ret = wm_json_string(o, field, true, text, sizeof(text), err, errlen);

	if (ret)
		return ret;
	if (!wm_key_from_base64(key, text))
		return wm_json_fail(err, errlen, "field \"%s\" is not a key (44 characters of base64)",
				    field);
	if (wm_key_is_zero(key))
		return wm_json_fail(err, errlen, "field \"%s\" is the all-zero key", field);
	return 0;
}

int wm_json_hex(const json_t *o, const char *field, uint8_t *out, size_t len, const char *what,
		char *err, size_t errlen)
{
	int bad;
	json_t *v = member(o, field, true, &bad, err, errlen);
	const char *s = v ? json_string_value(v) : NULL;
	size_t bin_len = 0;

	if (!v)
		return bad;
	if (!s)
		return wm_json_fail(err, errlen, "field \"%s\" must be a string", field);
	if (json_string_length(v) != 2 * len || strlen(s) != 2 * len ||
	    sodium_hex2bin(out, len, s, 2 * len, NULL, &bin_len, NULL) || bin_len != len)
		return wm_json_fail(err, errlen, "field \"%s\" is not %s (%zu hex digits)", field,
				    what, 2 * len);
	return 0;
}

int wm_json_ipv4(const json_t *o, const char *field, struct in_addr *out, char *err,
		 size_t errlen)
{
	char text[INET_ADDRSTRLEN + 1];
	int ret = wm_json_string(o, field, true, text, sizeof(text), err, errlen);

	if (ret)
		return ret;
	if (inet_pton(AF_INET, text, out) != 1)
		return wm_json_fail(err, errlen, "field \"%s\" is not an IPv4 address", field);
	return 0;
}

int wm_json_ipv6(const json_t *o, const char *field, struct in6_addr *out, char *err,
		 size_t errlen)
{
	char text[INET6_ADDRSTRLEN + 1];
	int ret = wm_json_string(o, field, true, text, sizeof(text), err, errlen);

	if (ret)
		return ret;
	if (inet_pton(AF_INET6, text, out) != 1)
		return wm_json_fail(err, errlen, "field \"%s\" is not an IPv6 address", field);
	return 0;
}

/* "1.2.3.4:41641" or "[2001:db8::1]:41641": no zone, no port 0, no unspecified address. */
static bool endpoint_from_text(struct wm_endpoint *ep, const char *text)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (strchr(text, '%') || wm_endpoint_parse(ep, text))
		return false;
	if (ep->addr.sa.sa_family == AF_INET)
		return ep->addr.in4.sin_port && ep->addr.in4.sin_addr.s_addr;
	return ep->addr.in6.sin6_port && memcmp(&ep->addr.in6.sin6_addr, &any6, sizeof(any6));
}

int wm_json_endpoints(const json_t *o, const char *field, struct wm_endpoint *eps, size_t max,
		      size_t *n, char *err, size_t errlen)
{
	int bad;
	json_t *v = member(o, field, false, &bad, err, errlen), *item;
	size_t i;

	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wm_json_fail(err, errlen, "field \"%s\" must be an array", field);
	if (json_array_size(v) > max)
		return wm_json_fail(err, errlen,
				    "field \"%s\" has too many entries (%zu, at most %zu)", field,
				    json_array_size(v), max);
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (!s || json_string_length(item) >= WM_ENDPOINT_STR_LEN ||
		    strlen(s) != json_string_length(item) || !endpoint_from_text(&eps[i], s))
			return wm_json_fail(err, errlen,
					    "field \"%s\" entry %zu is not an endpoint (ip:port or [ipv6]:port)",
					    field, i);
	}
	*n = json_array_size(v);
	return 0;
}

json_t *wm_json_key_new(const uint8_t key[WM_KEY_LEN])
{
	char text[WM_KEY_B64_LEN];

	wm_key_to_base64(text, key);
	return json_string(text);
}

json_t *wm_json_hex_new(const uint8_t *bytes, size_t len)
{
	char *text = malloc(2 * len + 1);
	json_t *v;

	if (!text)
		return NULL;
	sodium_bin2hex(text, 2 * len + 1, bytes, len);
	v = json_string(text);
	free(text);
	return v;
}

json_t *wm_json_ipv4_new(struct in_addr a)
{
	char text[INET_ADDRSTRLEN];

	return inet_ntop(AF_INET, &a, text, sizeof(text)) ? json_string(text) : NULL;
}

json_t *wm_json_ipv6_new(const struct in6_addr *a)
{
	char text[INET6_ADDRSTRLEN];

	return inet_ntop(AF_INET6, a, text, sizeof(text)) ? json_string(text) : NULL;
}

json_t *wm_json_endpoints_new(const struct wm_endpoint *eps, size_t n)
{
	json_t *a = json_array();
	char text[WM_ENDPOINT_STR_LEN];

	for (size_t i = 0; a && i < n; i++) {
		wm_endpoint_format(&eps[i], text);
		if (json_array_append_new(a, json_string(text))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_malloc_t saved_malloc;
static json_free_t saved_free;

/* jansson's blocks come from malloc (its default), so their usable size is known. */
static void wiping_free(void *p)
{
	if (p)
		sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

void wm_json_secret_begin(void)
{
	json_get_alloc_funcs(&saved_malloc, &saved_free);
	json_set_alloc_funcs(malloc, wiping_free);
}

void wm_json_secret_end(void)
{
	json_set_alloc_funcs(saved_malloc, saved_free);
}

bool wm_json_put(json_t *o, const char *field, json_t *v)
{
	if (!o) {
		json_decref(v);
		return false;
	}
	return v && !json_object_set_new(o, field, v);
}

char *wm_json_finish(json_t *o, bool ok)
{
	char *text = NULL;

	if (o && ok)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}
