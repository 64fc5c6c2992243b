/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: coordination's use of HTTP (coord-client/coord_http.c) over the shared reader.
 * The first byte picks request or response and the chunk size the bytes arrive in; the rest is
 * the stream, and also a server URL. Beyond not crashing: the reader never takes more than it
 * was given nor keeps a body over its bound, and reading the same stream in other chunks gives
 * the same message, node key and content type; a URL that parses formats into a request head
 * that the reader takes back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord-client/coord_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 1024

/* Feeds in chunks; returns the final status (bytes taken, or negative). */
static ssize_t read_all(struct wm_coord_http_msg *m, const uint8_t *p, size_t len, size_t step)
{
	size_t off = 0;
	ssize_t n = 0;

	while (off < len && !m->http.done) {
		size_t chunk = len - off < step ? len - off : step;

		n = wm_http_msg_feed(&m->http, p + off, chunk);
		if (n < 0)
			break;
		if ((size_t)n > chunk)
			abort();
		off += (size_t)n;
		if (n == 0)
			break;
	}
	if (n >= 0 && !m->http.done && wm_http_msg_feed_eof(&m->http))
		n = -EBADMSG;
	if (m->http.body_len > BODY_MAX)
		abort();
	return n < 0 ? n : (ssize_t)off;
}

static void url_round_trip(const char *text)
{
	static const uint8_t key[WM_KEY_LEN] = { 1, 2, 3 };
	struct wm_coord_http_msg m;
	struct wm_coord_url u;
	char head[1024];
	ssize_t n;

	if (wm_coord_url_parse(&u, text, NULL, 0))
		return;
	n = wm_coord_http_request_head(head, sizeof(head), "POST", &u, "/v1/poll", key,
				       WM_COORD_SEALED_TYPE, 0);
	if (n < 0)
		abort();
	wm_coord_http_init(&m, true, 0);
	if (wm_http_msg_feed(&m.http, head, (size_t)n) != n || !m.http.done || !m.has_node_key ||
	    memcmp(m.node_key, key, WM_KEY_LEN) || strcmp(m.content_type, WM_COORD_SEALED_TYPE) ||
	    strncmp(m.http.path, u.base, strlen(u.base)) ||
	    strcmp(m.http.path + strlen(u.base), "/v1/poll"))
		abort();
	wm_http_msg_free(&m.http);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_coord_http_msg a, b;
	ssize_t ra, rb;
	bool request;
	size_t step;
	char *text;

	if (size < 1)
		return 0;
	request = data[0] & 1;
	step = (size_t)(data[0] >> 1) + 1;
	data++;
	size--;
	wm_coord_http_init(&a, request, BODY_MAX);
	wm_coord_http_init(&b, request, BODY_MAX);
	ra = read_all(&a, data, size, size ? size : 1);
	rb = read_all(&b, data, size, step);
	if (ra != rb || a.http.done != b.http.done ||
	    (a.http.done && (a.http.body_len != b.http.body_len ||
			     (a.http.body_len && memcmp(a.http.body, b.http.body, a.http.body_len)) ||
			     a.http.status != b.http.status || strcmp(a.http.path, b.http.path) ||
			     a.has_node_key != b.has_node_key ||
			     memcmp(a.node_key, b.node_key, WM_KEY_LEN) ||
			     strcmp(a.content_type, b.content_type))))
		abort();
	wm_http_msg_free(&a.http);
	wm_http_msg_free(&b.http);
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	url_round_trip(text);
	free(text);
	return 0;
}
