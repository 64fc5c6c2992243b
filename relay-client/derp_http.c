/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/encoding.h"

int wm_derp_url_parse(struct wm_derp_url *u, const char *text)
{
	struct wm_http_url hu;
	int n;

	memset(u, 0, sizeof(*u));
	if (wm_http_url_parse(&hu, text, NULL, 0) || (!hu.path[0] && hu.has_query))
		return -EINVAL;
	n = snprintf(u->path, sizeof(u->path), "%s%s%s", hu.path[0] ? hu.path : WM_DERP_DEFAULT_PATH,
		     hu.has_query ? "?" : "", hu.query);
	if (n < 0 || (size_t)n >= sizeof(u->path))
		return -EINVAL;
	u->tls = hu.tls;
	u->port = hu.port;
	memcpy(u->host, hu.host, sizeof(u->host));
	return 0;
}

ssize_t wm_derp_http_request_format(char *out, size_t cap, const struct wm_derp_url *u)
{
	char host[WM_DERP_URL_HOST_MAX + 8];
	const struct wm_http_field fields[] = {
		{ "Host", host },
		{ "User-Agent", WM_HTTP_USER_AGENT },
		{ "Connection", "Upgrade" },
		{ "Upgrade", "DERP" },
	};

	if (wm_http_authority(host, sizeof(host), u->host, u->port, u->tls) < 0)
		return -ENOSPC;
	return wm_http_request_head(out, cap, "GET", u->path, fields,
				    sizeof(fields) / sizeof(fields[0]));
}

/* Every error is "not the reply we want"; -EAGAIN waits for more. */
static ssize_t head_result(ssize_t n)
{
	return n >= 0 || n == -EAGAIN ? n : -EBADMSG;
}

ssize_t wm_derp_http_response_parse(const char *buf, size_t len, int *status)
{
	struct wm_http_msg m;
	ssize_t n = wm_http_head_parse(&m, 0, buf, len, NULL, NULL);

	*status = m.status;
	return head_result(n);
}

struct request_headers {
	struct wm_derp_http_request *req;
	bool seen_upgrade, seen_fast, seen_challenge;
};

static bool is_challenge(const struct wm_http_header *h)
{
	if (h->value_cut || h->value_len == 0 || h->value_len > WM_DERP_CHALLENGE_MAX)
		return false;
	for (size_t i = 0; i < h->value_len; i++) {
		char c = h->value[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

/* Go's Header.Get: the first of repeated headers counts. */
static int request_header(void *ctx, const struct wm_http_header *h, char *why, size_t whylen)
{
	struct request_headers *rh = ctx;
	struct wm_derp_http_request *req = rh->req;

	(void)why;
	(void)whylen;
	if (wm_http_header_is(h, "Upgrade") && !rh->seen_upgrade) {
		rh->seen_upgrade = true;
		if (!h->value_cut && !strcasecmp(h->value, "derp"))
			req->upgrade_derp = true;
		else if (h->value_len)
			req->upgrade_other = true;
	} else if (wm_http_header_is(h, "Derp-Fast-Start") && !rh->seen_fast) {
		rh->seen_fast = true;
		req->fast_start = !strcmp(h->value, "1");
	} else if (wm_http_header_is(h, "X-Tailscale-Challenge") && !rh->seen_challenge) {
		rh->seen_challenge = true;
		if (is_challenge(h)) {
			memcpy(req->challenge, h->value, h->value_len + 1);
			req->has_challenge = true;
		}
	}
	return 0;
}

ssize_t wm_derp_http_request_parse(struct wm_derp_http_request *req, const char *buf, size_t len)
{
	struct request_headers rh = { .req = req };
	struct wm_http_msg m;
	ssize_t n;

	memset(req, 0, sizeof(*req));
	n = wm_http_head_parse(&m, WM_HTTP_REQUEST, buf, len, request_header, &rh);
	if (n < 0) {
		memset(req, 0, sizeof(*req));
		return head_result(n);
	}
	req->method = m.method == WM_HTTP_POST ? WM_HTTP_OTHER : m.method;	/* GET, HEAD, other */
	memcpy(req->path, m.path, sizeof(req->path));
	return n;
}

ssize_t wm_derp_http_switching_format(char *out, size_t cap,
				      const uint8_t server_pub[WM_DERP_KEY_LEN])
{
	char hex[WM_KEY_HEX_LEN], version[8];
	const struct wm_http_field fields[] = {
		{ "Upgrade", "DERP" },
		{ "Connection", "Upgrade" },
		{ "Derp-Version", version },
		{ "Derp-Public-Key", hex },
	};

	wm_key_to_hex(hex, server_pub);
	snprintf(version, sizeof(version), "%d", WM_DERP_PROTOCOL_VERSION);
	return wm_http_response_head(out, cap, 101, fields, sizeof(fields) / sizeof(fields[0]));
}
