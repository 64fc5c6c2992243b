/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/encoding.h"

static int url_fail(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

int wm_coord_url_parse(struct wm_coord_url *u, const char *text, char *err, size_t errlen)
{
	struct wm_http_url hu;
	size_t n, bin_len = 0;

	memset(u, 0, sizeof(*u));
	if (wm_http_url_parse(&hu, text, err, errlen))
		return -EINVAL;
	u->tls = hu.tls;
	u->port = hu.port;
	memcpy(u->host, hu.host, sizeof(u->host));
	/* The base path, without trailing slashes: the protocol's paths follow it. */
	n = strlen(hu.path);
	while (n && hu.path[n - 1] == '/')
		n--;
	if (n > WM_COORD_URL_BASE_MAX)
		return url_fail(err, errlen, "the URL's path is too long");
	memcpy(u->base, hu.path, n);
	u->base[n] = '\0';
	if (!hu.has_query)
		return 0;
	/* The query may only carry key=HEX (the server key to pin). */
	if (strlen(hu.query) != 4 + 2 * WM_KEY_LEN || strncmp(hu.query, "key=", 4))
		return url_fail(err, errlen,
				"the URL's query must be key=<64 hex digits> (the server key)");
	if (sodium_hex2bin(u->server_key, WM_KEY_LEN, hu.query + 4, 2 * WM_KEY_LEN, NULL,
			   &bin_len, NULL) || bin_len != WM_KEY_LEN)
		return url_fail(err, errlen, "the URL's key= is not 64 hex digits");
	u->has_key = true;
	return 0;
}

/* Keeps the headers the protocol reads. */
static int coord_header(void *ctx, const struct wm_http_header *h, char *why, size_t whylen)
{
	struct wm_coord_http_msg *m = ctx;
	size_t len;

	if (wm_http_header_is(h, WM_COORD_NODE_HEADER)) {
		if (h->value_cut || !wm_key_from_base64(m->node_key, h->value)) {
			snprintf(why, whylen, "bad " WM_COORD_NODE_HEADER " header (want a base64 key)");
			return -EBADMSG;
		}
		m->has_node_key = true;
	} else if (wm_http_header_is(h, "Content-Type")) {
		len = strcspn(h->value, "; ");
		if (h->value_cut || h->value_len >= sizeof(m->content_type)) {
			snprintf(why, whylen, "bad Content-Type header");
			return -EBADMSG;
		}
		memcpy(m->content_type, h->value, len);
		m->content_type[len] = '\0';
	}
	return 0;
}

void wm_coord_http_init(struct wm_coord_http_msg *m, bool request, size_t body_max)
{
	memset(m, 0, sizeof(*m));
	wm_http_msg_init(&m->http, request ? WM_HTTP_REQUEST : 0, body_max, coord_header, m);
}

ssize_t wm_coord_http_request_head(char *out, size_t cap, const char *method,
				   const struct wm_coord_url *u, const char *path,
				   const uint8_t *node_key, const char *content_type,
				   size_t body_len)
{
	char host[WM_HTTP_HOST_MAX + 8], key[WM_KEY_B64_LEN], length[24];
	char target[WM_COORD_URL_BASE_MAX + WM_HTTP_PATH_MAX + 2];
	const struct wm_http_field fields[] = {
		{ "Host", host },
		{ "User-Agent", WM_HTTP_USER_AGENT },
		{ WM_COORD_NODE_HEADER, node_key ? key : NULL },
		{ "Content-Type", content_type },
		{ "Content-Length", length },
		{ "Connection", "close" },
	};
	int n = snprintf(target, sizeof(target), "%s%s", u->base, path);

	if (n < 0 || (size_t)n >= sizeof(target) ||
	    wm_http_authority(host, sizeof(host), u->host, u->port, u->tls) < 0)
		return -ENOSPC;
	if (node_key)
		wm_key_to_base64(key, node_key);
	snprintf(length, sizeof(length), "%zu", body_len);
	return wm_http_request_head(out, cap, method, target, fields,
				    sizeof(fields) / sizeof(fields[0]));
}

ssize_t wm_coord_http_response_head(char *out, size_t cap, int status, const char *content_type,
				    size_t body_len)
{
	static const struct wm_http_field no_store[] = { { "Cache-Control", "no-store" } };

	return wm_http_reply_head(out, cap, status, content_type, body_len, no_store, 1);
}
