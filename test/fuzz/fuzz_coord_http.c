/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the HTTP readers and the URL parser. The first byte picks request or response
 * and the chunk size the bytes arrive in; the rest is the stream. Beyond not crashing: the
 * reader never takes more than it was given, never keeps a body over its bound, and reading
 * the same stream in other chunks gives the same message.
 */
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

	while (off < len && !m->http.done) {
		size_t chunk = len - off < step ? len - off : step;
		ssize_t n = wm_http_msg_feed(&m->http, p + off, chunk);

		if (n < 0)
			return n;
		if ((size_t)n > chunk)
			abort();
		off += (size_t)n;
		if (n == 0)
			break;
	}
	if (!m->http.done && !m->http.fail)
		wm_http_msg_feed_eof(&m->http);
	if (m->http.body_len > BODY_MAX)
		abort();
	return (ssize_t)off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_coord_http_msg a, b;
	struct wm_coord_url u;
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
	read_all(&a, data, size, size ? size : 1);
	read_all(&b, data, size, step);
	if (a.http.done != b.http.done || (a.http.done && (a.http.body_len != b.http.body_len ||
					    (a.http.body_len && memcmp(a.http.body, b.http.body, a.http.body_len)) ||
					    a.http.status != b.http.status || strcmp(a.http.path, b.http.path))))
		abort();
	wm_http_msg_free(&a.http);
	wm_http_msg_free(&b.http);
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	wm_coord_url_parse(&u, text, NULL, 0);
	free(text);
	return 0;
}
