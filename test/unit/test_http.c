/* SPDX-License-Identifier: MIT */
/* The shared HTTP layer: URLs, the reader fed whole and split at every byte, head writers. */
#include "common/http.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(url_good)
{
	static const struct {
		const char *text;
		bool tls, port_given, has_query;
		const char *host;
		unsigned port;
		const char *path, *query;
	} good[] = {
		{ "https://derp.example.net", true, false, false, "derp.example.net", 443, "", "" },
		{ "HTTP://h:8080/a/b/", false, true, false, "h", 8080, "/a/b/", "" },
		{ "http://10.0.0.1/derp", false, false, false, "10.0.0.1", 80, "/derp", "" },
		{ "https://[::1]:3340/derp?x=1&y", true, true, true, "::1", 3340, "/derp", "x=1&y" },
		{ "http://[2001:db8::7]", false, false, false, "2001:db8::7", 80, "", "" },
		{ "http://h/?", false, false, false, "h", 80, "/", "" },	/* empty: none */
		{ "https://h:443/%41~!$&'()*+,;=:@", true, true, false, "h", 443, "/%41~!$&'()*+,;=:@",
		  "" },
		{ "http://h:65535/?a/b?c", false, true, true, "h", 65535, "/", "a/b?c" },
	};
	struct wm_http_url u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(wm_http_url_parse(&u, good[i].text, NULL, 0) == 0, "%s", good[i].text);
		ck_assert_int_eq(u.tls, good[i].tls);
		ck_assert_int_eq(u.port_given, good[i].port_given);
		ck_assert_int_eq(u.has_query, good[i].has_query);
		ck_assert_str_eq(u.host, good[i].host);
		ck_assert_uint_eq(u.port, good[i].port);
		ck_assert_str_eq(u.path, good[i].path);
		ck_assert_str_eq(u.query, good[i].query);
	}
}
END_TEST

START_TEST(url_bad)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "not a URL" }, { "h", "not a URL" }, { "/derp", "scheme and a host" },
		{ "ftp://h/", "scheme" }, { "https://", "not a URL" }, { "https:///x", "not a URL" },
		{ "https://h:/x", "not a URL" }, { "https://h:0/x", "port 0" },
		{ "https://h:65536/x", "not a URL" }, { "https://h:12x/x", "not a URL" },
		{ "https://u@h/x", "no user" }, { "https://u:p@h/x", "no user" },
		{ "https://h/x#f", "#fragment" }, { "https://[::1/x", "not a URL" },
		{ "https://[nonsense]/x", "not a URL" }, { "https://[]/x", "not a URL" },
		{ "https://[1::2::3]/x", "IPv6" }, { "https://[fe80::1%25eth0]/x", "IPv6" },
		{ "https://h/a b", "not a URL" }, { "https://h\x01/x", "not a URL" },
		{ "https://h/\x7f", "not a URL" }, { "https://h/a\"b", "path" },
		{ "https://h/a\\b", "path" }, { "https://h/a<b>", "path" }, { "https://h/?a\"", "query" },
		{ "https://h/\xc3\xa9", "" },
	};
	struct wm_http_url u;
	char err[256], path[300], host[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(wm_http_url_parse(&u, bad[i].text, err, sizeof(err)) == -EINVAL,
			      "accepted %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].why), "%s: %s", bad[i].text, err);
	}
	/* Bounds: a 255-byte path or host is fine, one more is not. */
	memset(path, 'p', sizeof(path));
	memcpy(path, "http://h/", 9);
	path[8 + WM_HTTP_PATH_MAX] = '\0';
	ck_assert_int_eq(wm_http_url_parse(&u, path, NULL, 0), 0);
	path[8 + WM_HTTP_PATH_MAX] = 'p';
	path[9 + WM_HTTP_PATH_MAX] = '\0';
	ck_assert_int_eq(wm_http_url_parse(&u, path, err, sizeof(err)), -EINVAL);
	memset(host, 'h', sizeof(host));
	memcpy(host, "http://", 7);
	host[7 + WM_HTTP_HOST_MAX] = '\0';
	ck_assert_int_eq(wm_http_url_parse(&u, host, NULL, 0), 0);
	host[7 + WM_HTTP_HOST_MAX] = 'h';
	host[8 + WM_HTTP_HOST_MAX] = '\0';
	ck_assert_int_eq(wm_http_url_parse(&u, host, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(authority)
{
	char out[64];

	ck_assert_int_eq(wm_http_authority(out, sizeof(out), "h", 443, true), 1);
	ck_assert_str_eq(out, "h");
	wm_http_authority(out, sizeof(out), "h", 443, false);
	ck_assert_str_eq(out, "h:443");
	wm_http_authority(out, sizeof(out), "::1", 80, false);
	ck_assert_str_eq(out, "[::1]");
	wm_http_authority(out, sizeof(out), "::1", 8080, true);
	ck_assert_str_eq(out, "[::1]:8080");
	ck_assert_int_eq(wm_http_authority(out, 5, "::1", 8080, true), -ENOSPC);
}
END_TEST

/* Headers a test reader saw, joined as "name=value;". */
struct seen {
	char text[512];
	const char *refuse;	/* a header name to fail on */
};

static int note(void *ctx, const struct wm_http_header *h, char *why, size_t whylen)
{
	struct seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%s%s;", h->name,
		 h->name_cut ? "(cut)" : "", h->value, h->value_cut ? "(cut)" : "");
	if (s->refuse && wm_http_header_is(h, s->refuse)) {
		snprintf(why, whylen, "refused %s", h->name);
		return -EPERM;
	}
	return 0;
}

/* Feeds text in pieces of step bytes (0: whole), as a network read loop does. */
static ssize_t feed_all(struct wm_http_msg *m, const char *text, size_t len, size_t step)
{
	size_t off = 0;

	while (off < len && !m->done) {
		size_t chunk = step && len - off > step ? step : len - off;
		ssize_t n = wm_http_msg_feed(m, text + off, chunk);

		if (n < 0)
			return n;
		ck_assert_uint_le((size_t)n, chunk);
		off += (size_t)n;
		if (n == 0)
			break;
	}
	return (ssize_t)off;
}

static const char request[] =
	"POST /v1/poll?x=1&y=%20 HTTP/1.1\r\nHost: c.example\r\nX-Empty:\r\n"
	"x-mixed-CASE: \t a  b \t\r\nContent-Length: 5\r\n\r\nhelloEXTRA";

START_TEST(request_split_at_every_byte)
{
	size_t len = strlen(request);

	for (size_t step = 0; step <= len; step++) {
		struct seen s = { "", NULL };
		struct wm_http_msg m;

		wm_http_msg_init(&m, WM_HTTP_REQUEST, 100, note, &s);
		ck_assert_int_eq(feed_all(&m, request, len, step), len - 5);
		ck_assert(m.done && m.head_done);
		ck_assert_int_eq(m.method, WM_HTTP_POST);
		ck_assert_str_eq(m.path, "/v1/poll");
		ck_assert_str_eq(m.query, "x=1&y=%20");
		ck_assert_uint_eq(m.body_len, 5);
		ck_assert_mem_eq(m.body, "hello", 5);
		ck_assert_str_eq(s.text, "Host=c.example;X-Empty=;x-mixed-CASE=a  b;Content-Length=5;");
		/* Nothing after the message is taken. */
		ck_assert_int_eq(wm_http_msg_feed(&m, "more", 4), 0);
		wm_http_msg_free(&m);
	}
}
END_TEST

START_TEST(head_only_split_at_every_byte)
{
	static const char text[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n"
				   "Content-Length: 3\r\n\r\n\x01\x00\x00";
	size_t len = sizeof(text) - 1, head = len - 3;

	for (size_t step = 0; step <= len; step++) {
		struct wm_http_msg m;

		wm_http_msg_init(&m, WM_HTTP_HEAD_ONLY, 0, NULL, NULL);
		ck_assert_int_eq(feed_all(&m, text, len, step), head);
		ck_assert(m.done);
		ck_assert_uint_eq(m.head_len, head);
		ck_assert_int_eq(m.status, 101);
		ck_assert_uint_eq(m.body_len, 0);
	}
	/* The buffer form: every prefix of the head is incomplete. */
	for (size_t n = 0; n < head; n++) {
		struct wm_http_msg m;

		ck_assert_int_eq(wm_http_head_parse(&m, 0, text, n, NULL, NULL), -EAGAIN);
	}
}
END_TEST

START_TEST(response_bodies)
{
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct wm_http_msg m;

	for (size_t step = 1; step <= sizeof(chunked); step++) {
		wm_http_msg_init(&m, 0, 5, NULL, NULL);
		ck_assert_int_eq(feed_all(&m, chunked, sizeof(chunked) - 1, step),
				 sizeof(chunked) - 1);
		ck_assert(m.done);
		ck_assert_mem_eq(m.body, "abcde", 5);
		wm_http_msg_free(&m);
	}
	/* Over the bound: announced, or found while reading chunks. */
	wm_http_msg_init(&m, 0, 4, NULL, NULL);
	ck_assert_int_eq(feed_all(&m, chunked, sizeof(chunked) - 1, 0), -EMSGSIZE);
	ck_assert(m.head_done);
	wm_http_msg_free(&m);
	wm_http_msg_init(&m, WM_HTTP_REQUEST, 4, NULL, NULL);
	ck_assert_int_eq(feed_all(&m, request, strlen(request), 0), -EMSGSIZE);
	ck_assert(m.head_done);
	ck_assert_uint_eq(m.body_len, 0);
	/* Errors stay. */
	ck_assert_int_eq(wm_http_msg_feed(&m, "x", 1), -EMSGSIZE);
	wm_http_msg_free(&m);
	/* Until the end of the stream, or cut short by it. */
	wm_http_msg_init(&m, 0, 10, NULL, NULL);
	ck_assert_int_eq(feed_all(&m, "HTTP/1.0 200 OK\r\n\r\nabc", 22, 0), 22);
	ck_assert(!m.done);
	ck_assert_int_eq(wm_http_msg_feed_eof(&m), 0);
	ck_assert(m.done);
	ck_assert_uint_eq(m.body_len, 3);
	wm_http_msg_free(&m);
	wm_http_msg_init(&m, 0, 10, NULL, NULL);
	feed_all(&m, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 40, 0);
	ck_assert_int_eq(wm_http_msg_feed_eof(&m), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(m.error, "closed"));
	wm_http_msg_free(&m);
}
END_TEST

static const struct {
	const char *text;
	unsigned flags;
	int err;
	const char *why;
} bad_heads[] = {
	/* Start lines. */
	{ "\r\nGET / HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "empty line" },
	{ "\nHTTP/1.1 200 OK\r\n\r\n", 0, -EBADMSG, "empty line" },
	{ "GET  / HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "request line" },
	{ "GET /  HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "request line" },
	{ "GET / HTTP/1.1 \r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET /\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "HTTP/1.x" },
	{ "GET / HTTP/2.0\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "HTTP/1.x" },
	{ "get / HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "BREW / HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET http://h/ HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "must be a path" },
	{ "GET * HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET /a#b HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "request target" },
	{ "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "printable ASCII" },
	{ "HTTP/1.1  200 OK\r\n\r\n", 0, -EBADMSG, "status line" },
	{ "HTTP/1.1 0200 OK\r\n\r\n", 0, -EBADMSG, "status line" },
	{ "HTTP/1.1 099 x\r\n\r\n", 0, -EBADMSG, "status line" },
	{ "HTTP/1.1 20 x\r\n\r\n", 0, -EBADMSG, "status line" },
	{ "HTTP/2 200 x\r\n\r\n", 0, -EBADMSG, "" },
	{ "SSH-2.0-OpenSSH\r\n\r\n", 0, -EBADMSG, "" },
	/* Header syntax. */
	{ "GET / HTTP/1.1\r\nNo Colon\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nSp ace: x\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "header name" },
	{ "GET / HTTP/1.1\r\nName : x\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\n: x\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nA(b): x\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nA: x\x01y\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nA: x\ry\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nA:\x01y\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "control character" },
	{ "GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "control character" },
	{ "GET / HTTP/1.1\r\nA: x\r\n folded\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "folding" },
	{ "GET / HTTP/1.1\r\nA: x\r\n\tfolded\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "folding" },
	{ "GET / HTTP/1.1\r\nA:\r\n folded\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "folding" },
	{ "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", WM_HTTP_REQUEST,
	  -EBADMSG, "" },
	{ "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", WM_HTTP_REQUEST, -EBADMSG, "" },
	/* The callback refuses. */
	{ "GET / HTTP/1.1\r\nRefuse-Me: 1\r\n\r\n", WM_HTTP_REQUEST, -EPERM, "refused Refuse-Me" },
};

START_TEST(bad_head)
{
	const char *text = bad_heads[_i].text;
	size_t len = strlen(text);

	/* Whole, and split at every byte: the same verdict. */
	for (size_t step = 0; step <= len; step++) {
		struct seen s = { "", "refuse-me" };
		struct wm_http_msg m;
		ssize_t n;

		wm_http_msg_init(&m, bad_heads[_i].flags, 100, note, &s);
		n = feed_all(&m, text, len, step);
		ck_assert_msg(n == bad_heads[_i].err, "%s (step %zu): %zd, %s", text, step, n,
			      m.error);
		ck_assert_msg(strstr(m.error, bad_heads[_i].why), "%s: '%s'", text, m.error);
		ck_assert(!m.head_done && !m.done);
		wm_http_msg_free(&m);
	}
}
END_TEST

START_TEST(oversize)
{
	char *big = malloc(WM_HTTP_HEAD_MAX + 64), *name;
	struct seen s = { "", NULL };
	struct wm_http_msg m;
	size_t fill;

	/* No end of head within the bound: incomplete below it, too large at it. */
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', WM_HTTP_HEAD_MAX + 64 - 19);
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, WM_HTTP_HEAD_MAX - 1, NULL,
					    NULL), -EAGAIN);
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, WM_HTTP_HEAD_MAX, NULL, NULL),
			 -EMSGSIZE);
	ck_assert(!m.head_done);
	/* Fed in pieces: the same. */
	wm_http_msg_init(&m, WM_HTTP_REQUEST, 0, NULL, NULL);
	ck_assert_int_eq(feed_all(&m, big, WM_HTTP_HEAD_MAX + 64, 1000), -EMSGSIZE);
	/* A head of exactly the bound is fine, and so is what follows it. */
	fill = WM_HTTP_HEAD_MAX - 4;
	memcpy(big + fill, "\r\n\r\n", 4);
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, WM_HTTP_HEAD_MAX + 64, NULL,
					    NULL), WM_HTTP_HEAD_MAX);
	wm_http_msg_init(&m, WM_HTTP_REQUEST, 0, NULL, NULL);
	ck_assert_int_eq(feed_all(&m, big, WM_HTTP_HEAD_MAX, 7), WM_HTTP_HEAD_MAX);
	ck_assert(m.done);

	/* Long names and values reach the callback cut, and flagged. */
	name = malloc(WM_HTTP_NAME_MAX + WM_HTTP_VALUE_MAX + 64);
	memset(name, 'n', WM_HTTP_NAME_MAX + 1);
	strcpy(name + WM_HTTP_NAME_MAX + 1, ": ");
	memset(name + WM_HTTP_NAME_MAX + 3, 'v', WM_HTTP_VALUE_MAX + 1);
	strcpy(name + WM_HTTP_NAME_MAX + 3 + WM_HTTP_VALUE_MAX + 1, "\r\n\r\n");
	wm_http_msg_init(&m, WM_HTTP_REQUEST | WM_HTTP_HEAD_ONLY, 0, note, &s);
	ck_assert_int_eq(wm_http_msg_feed(&m, "GET / HTTP/1.1\r\n", 16), 16);
	ck_assert_int_gt(wm_http_msg_feed(&m, name, strlen(name)), 0);
	ck_assert(m.done);
	ck_assert_ptr_nonnull(strstr(s.text, "n(cut)=v"));
	ck_assert_ptr_nonnull(strstr(s.text, "v(cut);"));
	ck_assert_uint_eq(strlen(s.text), WM_HTTP_NAME_MAX + 5 + 1 + WM_HTTP_VALUE_MAX + 5 + 1);
	free(name);

	/* A target over its bounds. */
	memcpy(big, "GET /", 5);
	memset(big + 5, 'p', WM_HTTP_PATH_MAX);
	strcpy(big + 4 + WM_HTTP_PATH_MAX, " HTTP/1.1\r\n\r\n");
	ck_assert_int_gt(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, strlen(big), NULL, NULL), 0);
	big[4 + WM_HTTP_PATH_MAX] = 'p';
	strcpy(big + 5 + WM_HTTP_PATH_MAX, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, strlen(big), NULL, NULL),
			 -EMSGSIZE);
	memset(big + 5, 'p', 2 * WM_HTTP_PATH_MAX);
	strcpy(big + 5 + 2 * WM_HTTP_PATH_MAX, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, big, strlen(big), NULL, NULL),
			 -EMSGSIZE);
	ck_assert_str_eq(m.error, "request target too long");
	/* However the bytes are split: too long, or, with a bad byte after the bound, malformed. */
	for (int bad = 0; bad <= 1; bad++) {
		size_t len;

		big[5 + 2 * WM_HTTP_PATH_MAX] = bad ? '\x01' : 'p';
		len = strlen(big);
		for (size_t step = 1; step <= len; step += step < 16 ? 1 : 97) {
			wm_http_msg_init(&m, WM_HTTP_REQUEST, 0, NULL, NULL);
			ck_assert_int_eq(feed_all(&m, big, len, step), bad ? -EBADMSG : -EMSGSIZE);
		}
	}
	free(big);
}
END_TEST

START_TEST(header_names_any_case)
{
	static const char text[] = "GET / HTTP/1.1\r\nuPgRaDe: x\r\nUPGRADE: y\r\n\r\n";
	struct seen s = { "", NULL };
	struct wm_http_msg m;
	struct wm_http_header h = { .name = "content-TYPE" };

	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, text, sizeof(text) - 1, note, &s),
			 sizeof(text) - 1);
	ck_assert_str_eq(s.text, "uPgRaDe=x;UPGRADE=y;");
	ck_assert(wm_http_header_is(&h, "Content-Type"));
	ck_assert(!wm_http_header_is(&h, "Content-Typ"));
	h.name_cut = true;	/* a cut name is some other, longer name */
	ck_assert(!wm_http_header_is(&h, "Content-Type"));
}
END_TEST

START_TEST(heads_written)
{
	char out[512];
	const struct wm_http_field fields[] = {
		{ "Host", "h" }, { "Left-Out", NULL }, { "X-A", "1\t2" },
	};
	const struct wm_http_field bad_value[] = { { "X", "a\r\nInjected: 1" } };
	const struct wm_http_field bad_name[] = { { "X Y", "a" } };
	struct wm_http_msg m;

	ck_assert_int_eq(wm_http_request_head(out, sizeof(out), "GET", "/a?b", fields, 3), 40);
	ck_assert_str_eq(out, "GET /a?b HTTP/1.1\r\nHost: h\r\nX-A: 1\t2\r\n\r\n");
	/* What we write, we read. */
	ck_assert_int_eq(wm_http_head_parse(&m, WM_HTTP_REQUEST, out, strlen(out), NULL, NULL), 40);
	ck_assert_str_eq(m.path, "/a");
	ck_assert_int_eq(wm_http_request_head(out, sizeof(out), "GET", "/a", bad_value, 1), -EINVAL);
	ck_assert_int_eq(wm_http_request_head(out, sizeof(out), "GET", "/a", bad_name, 1), -EINVAL);
	ck_assert_int_eq(wm_http_request_head(out, sizeof(out), "GET", "/a b", NULL, 0), -EINVAL);
	ck_assert_int_eq(wm_http_request_head(out, sizeof(out), "G T", "/", NULL, 0), -EINVAL);
	ck_assert_int_eq(wm_http_request_head(out, 20, "GET", "/a", fields, 3), -ENOSPC);

	ck_assert_int_gt(wm_http_response_head(out, sizeof(out), 101, fields, 1), 0);
	ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\nHost: h\r\n\r\n");
	ck_assert_int_gt(wm_http_reply_head(out, sizeof(out), 426, "text/plain", 33, NULL, 0), 0);
	ck_assert_str_eq(out, "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 33\r\nConnection: close\r\n\r\n");
	ck_assert_int_gt(wm_http_reply_head(out, sizeof(out), 204, NULL, 0, fields + 2, 1), 0);
	ck_assert_str_eq(out, "HTTP/1.1 204 No Content\r\nX-A: 1\t2\r\nConnection: close\r\n\r\n");
	ck_assert_int_gt(wm_http_reply_head(out, sizeof(out), 200, NULL, 0, NULL, 0), 0);
	ck_assert_str_eq(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(wm_http_reply_head(out, sizeof(out), 42, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(wm_http_reply_head(out, 10, 200, NULL, 0, NULL, 0), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("http");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, url_good);
	tcase_add_test(tc, url_bad);
	tcase_add_test(tc, authority);
	tcase_add_test(tc, request_split_at_every_byte);
	tcase_add_test(tc, head_only_split_at_every_byte);
	tcase_add_test(tc, response_bodies);
	tcase_add_loop_test(tc, bad_head, 0, sizeof(bad_heads) / sizeof(bad_heads[0]));
	tcase_add_test(tc, oversize);
	tcase_add_test(tc, header_names_any_case);
	tcase_add_test(tc, heads_written);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
