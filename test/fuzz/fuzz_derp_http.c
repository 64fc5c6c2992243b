/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the HTTP side of DERP on arbitrary bytes: the server's request-head parser, the
 * client's 101 parser and the URL parser. Beyond not crashing: a head length is within the
 * input and the limit, parsing is deterministic and stable under extra trailing bytes, a path
 * starts with '/', and an accepted challenge holds only the characters Tailscale allows.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay-client/derp_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char buf[WM_DERP_HTTP_HEAD_MAX * 2 + 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_derp_http_request req, req2;
	struct wm_derp_url url;
	const char *text = (const char *)data;
	ssize_t n, n2;
	int status, status2;

	if (size > sizeof(buf) - 8)
		return 0;
	n = wm_derp_http_request_parse(&req, text, size);
	if (n >= 0) {
		if ((size_t)n > size || n > WM_DERP_HTTP_HEAD_MAX || req.path[0] != '/')
			abort();
		for (const char *c = req.challenge; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c))
				abort();
		/* Bytes after the head (DERP frames) do not change the head. */
		memcpy(buf, data, size);
		memcpy(buf + size, "\x01\x02\x03\x04", 4);
		n2 = wm_derp_http_request_parse(&req2, buf, size + 4);
		if (n2 != n || memcmp(&req, &req2, sizeof(req)))
			abort();
	} else if (n != -EAGAIN && n != -EBADMSG) {
		abort();
	}

	n = wm_derp_http_response_parse(text, size, &status);
	if (n >= 0) {
		if ((size_t)n > size || n > WM_DERP_HTTP_HEAD_MAX || status < 100 || status > 999)
			abort();
		memcpy(buf, data, size);
		buf[size] = 'x';
		if (wm_derp_http_response_parse(buf, size + 1, &status2) != n || status2 != status)
			abort();
	}

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (!wm_derp_url_parse(&url, buf)) {
		char req_text[1024];

		if (url.path[0] != '/' || !url.host[0] || !url.port)
			abort();
		/* What we would send parses as an upgrade on the other side. */
		n = wm_derp_http_request_format(req_text, sizeof(req_text), &url);
		if (n < 0 || wm_derp_http_request_parse(&req, req_text, (size_t)n) != n ||
		    !req.upgrade_derp)
			abort();
	}
	return 0;
}
