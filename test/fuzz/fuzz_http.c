/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the shared HTTP layer (common/http.c) on arbitrary bytes. The first byte picks
 * request or response, whole message or head only, and the chunk size; the rest is the stream,
 * and also a URL. Beyond not crashing: the reader never takes more than it is given nor keeps a
 * body over its bound; reading the stream whole and in chunks gives the same verdict (and, for
 * a message read, the same message and headers); a head read in chunks agrees with the buffer
 * form; a request's path starts with '/' and is printable ASCII; an accepted URL gives an
 * authority and a request head that the reader takes back with the same path, query and header.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 1024

/* What a reader saw, to compare two reads. */
struct read {
	ssize_t ret;
	uint64_t headers;	/* FNV-1a over every name and value */
	unsigned count;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
	return h;
}

static int note(void *ctx, const struct wm_http_header *h, char *why, size_t whylen)
{
	struct read *r = ctx;

	(void)why;
	(void)whylen;
	if (strlen(h->name) > WM_HTTP_NAME_MAX || h->value_len > WM_HTTP_VALUE_MAX ||
	    strlen(h->value) != h->value_len)
		abort();
	r->headers = fnv(fnv(r->headers, h->name, strlen(h->name) + 1), h->value, h->value_len);
	r->headers = fnv(r->headers, (uint8_t[]){ h->name_cut, h->value_cut }, 2);
	r->count++;
	return 0;
}

static void read_all(struct wm_http_msg *m, struct read *r, unsigned flags, const uint8_t *p,
		     size_t len, size_t step)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->headers = 0xcbf29ce484222325ull;
	wm_http_msg_init(m, flags, BODY_MAX, note, r);
	while (off < len && !m->done) {
		size_t chunk = len - off < step ? len - off : step;
		ssize_t n = wm_http_msg_feed(m, p + off, chunk);

		if (n < 0) {
			r->ret = n;
			break;
		}
		if ((size_t)n > chunk)
			abort();
		off += (size_t)n;
		if (n == 0)
			break;
	}
	if (!r->ret && !m->done && wm_http_msg_feed_eof(m))
		r->ret = -EBADMSG;
	if (!r->ret)
		r->ret = (ssize_t)off;
	if (m->body_len > BODY_MAX || (r->ret < 0 && !m->error[0]))
		abort();
}

static bool same(const struct wm_http_msg *a, const struct read *ra, const struct wm_http_msg *b,
		 const struct read *rb)
{
	if (ra->ret != rb->ret || a->done != b->done || a->head_done != b->head_done)
		return false;
	if (a->head_done && (a->status != b->status || a->method != b->method ||
			     strcmp(a->path, b->path) || strcmp(a->query, b->query)))
		return false;
	/* After a failure, how many headers and body bytes were taken depends on where the bytes
	 * were split (http_parser calls back when a piece ends or the buffer does). */
	if (ra->ret < 0)
		return true;
	return ra->headers == rb->headers && ra->count == rb->count && a->head_len == b->head_len &&
	       a->body_len == b->body_len && (!a->body_len || !memcmp(a->body, b->body, a->body_len));
}

static void check_request(const struct wm_http_msg *m)
{
	if (!m->head_done || !(m->flags & WM_HTTP_REQUEST))
		return;
	if (m->path[0] != '/')
		abort();
	for (const char *c = m->path; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			abort();
}

/* A URL that parses gives a request the reader takes back, header included. */
static void url_round_trip(const char *text, const char *value)
{
	struct wm_http_url u;
	struct wm_http_msg m;
	struct read r = { 0 };
	char host[WM_HTTP_HOST_MAX + 8], target[WM_HTTP_PATH_MAX + WM_HTTP_QUERY_MAX + 4];
	char head[2048];
	const struct wm_http_field fields[] = { { "Host", host }, { "X-Fuzz", value } };
	ssize_t n;

	if (wm_http_url_parse(&u, text, NULL, 0))
		return;
	if (!u.host[0] || !u.port || (u.path[0] && u.path[0] != '/'))
		abort();
	if (wm_http_authority(host, sizeof(host), u.host, u.port, u.tls) < 0)
		abort();
	snprintf(target, sizeof(target), "%s%s%s", u.path[0] ? u.path : "/",
		 u.has_query ? "?" : "", u.query);
	n = wm_http_request_head(head, sizeof(head), "GET", target, fields, 2);
	if (n == -EINVAL || n == -ENOSPC)
		return;	/* the value holds a control character, or is too long */
	r.headers = 0xcbf29ce484222325ull;
	if (n < 0 || wm_http_head_parse(&m, WM_HTTP_REQUEST, head, (size_t)n, note, &r) != n ||
	    strcmp(m.path, u.path[0] ? u.path : "/") || strcmp(m.query, u.query) || r.count != 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_http_msg a, b, h;
	struct read ra, rb, rh;
	unsigned flags;
	size_t step;
	char *text;

	if (size < 1)
		return 0;
	flags = (data[0] & 1 ? WM_HTTP_REQUEST : 0) | (data[0] & 2 ? WM_HTTP_HEAD_ONLY : 0);
	step = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;

	read_all(&a, &ra, flags, data, size, size ? size : 1);
	read_all(&b, &rb, flags, data, size, step);
	if (!same(&a, &ra, &b, &rb))
		abort();
	check_request(&a);
	if ((flags & WM_HTTP_HEAD_ONLY) && a.done) {
		memset(&rh, 0, sizeof(rh));
		rh.headers = 0xcbf29ce484222325ull;
		if (wm_http_head_parse(&h, flags, data, size, note, &rh) != (ssize_t)a.head_len ||
		    rh.headers != ra.headers)
			abort();
	}
	wm_http_msg_free(&a);
	wm_http_msg_free(&b);

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	/* The URL is the text up to the first space; what follows is a header value. */
	{
		char *sp = strchr(text, ' ');

		if (sp)
			*sp = '\0';
		url_round_trip(text, sp ? sp + 1 : "v");
	}
	free(text);
	return 0;
}
