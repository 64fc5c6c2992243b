/* SPDX-License-Identifier: MIT */
#include "common/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_TEXT_MAX 1024
#define BODY_INITIAL 4096

/* --- URLs ------------------------------------------------------------------------------- */

static int url_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int url_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* RFC 3986 §3.3, §3.4: unreserved, pct-encoded ('%'), sub-delims, ':', '@', '/' (and '?' in
 * a query); http_parser lets more through. */
static bool uri_chars(const char *s, size_t n, bool query)
{
	static const char allowed[] = "-._~%!$&'()*+,;=:@/";

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(allowed, c)) || (query && c == '?')))
			return false;
	}
	return true;
}

static const char *field(const char *text, const struct http_parser_url *pu, int f, size_t *n)
{
	*n = pu->field_data[f].len;
	return text + pu->field_data[f].off;
}

int wm_http_url_parse(struct wm_http_url *u, const char *text, char *err, size_t errlen)
{
	struct http_parser_url pu;
	size_t len = strnlen(text, URL_TEXT_MAX + 1), n;
	const char *s;
	struct in6_addr a6;

	memset(u, 0, sizeof(*u));
	http_parser_url_init(&pu);
	if (len > URL_TEXT_MAX || http_parser_parse_url(text, len, 0, &pu))
		return url_fail(err, errlen, "'%.200s' is not a URL (expected http(s)://host[:port])",
				text);
	if (!(pu.field_set & (1 << UF_SCHEMA)) || !(pu.field_set & (1 << UF_HOST)))
		return url_fail(err, errlen, "'%s' needs a scheme and a host", text);
	s = field(text, &pu, UF_SCHEMA, &n);
	if (n == 5 && !strncasecmp(s, "https", 5))
		u->tls = true;
	else if (!(n == 4 && !strncasecmp(s, "http", 4)))
		return url_fail(err, errlen, "'%s': the scheme must be http or https", text);
	if (pu.field_set & ((1 << UF_FRAGMENT) | (1 << UF_USERINFO)))
		return url_fail(err, errlen, "'%s': no user or #fragment allowed", text);
	s = field(text, &pu, UF_HOST, &n);
	if (n == 0 || n > WM_HTTP_HOST_MAX)
		return url_fail(err, errlen, "'%s': bad host", text);
	memcpy(u->host, s, n);
	u->host[n] = '\0';
	/* Only a bracketed IPv6 host holds ':' (zones are not taken). */
	if (strchr(u->host, ':') && inet_pton(AF_INET6, u->host, &a6) != 1)
		return url_fail(err, errlen, "'%s': bad IPv6 address", text);
	u->port_given = pu.field_set & (1 << UF_PORT);
	u->port = u->port_given ? pu.port : (u->tls ? 443 : 80);
	if (u->port == 0)
		return url_fail(err, errlen, "'%s': port 0", text);
	if (pu.field_set & (1 << UF_PATH)) {
		s = field(text, &pu, UF_PATH, &n);
		if (n > WM_HTTP_PATH_MAX)
			return url_fail(err, errlen, "the URL's path is too long");
		if (!uri_chars(s, n, false))
			return url_fail(err, errlen, "'%s': the path holds a character a URL may not",
					text);
		memcpy(u->path, s, n);
		u->path[n] = '\0';
	}
	if (pu.field_set & (1 << UF_QUERY)) {
		s = field(text, &pu, UF_QUERY, &n);
		if (n > WM_HTTP_QUERY_MAX)
			return url_fail(err, errlen, "the URL's query is too long");
		if (!uri_chars(s, n, true))
			return url_fail(err, errlen, "'%s': the query holds a character a URL may not",
					text);
		memcpy(u->query, s, n);
		u->query[n] = '\0';
		u->has_query = true;
	}
	return 0;
}

ssize_t wm_http_authority(char *out, size_t cap, const char *host, uint16_t port, bool tls)
{
	bool v6 = strchr(host, ':') != NULL;
	int n;

	if (port == (tls ? 443 : 80))
		n = snprintf(out, cap, "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
	else
		n = snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* --- the reader ------------------------------------------------------------------------- */

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Records the first failure; -1 stops http_parser (1 from on_headers_complete means more). */
static int fail(struct wm_http_msg *m, int err, const char *why)
{
	if (!m->fail) {
		snprintf(m->error, sizeof(m->error), "%s", why);
		m->fail = err;
	}
	return -1;
}

static struct wm_http_msg *msg(http_parser *p)
{
	return p->data;
}

/* Appends at most cap - 1 bytes in all; true when something did not fit. */
static bool append(char *buf, size_t cap, size_t *len, const char *at, size_t n)
{
	size_t room = cap - 1 - *len;
	bool cut = n > room;

	if (cut)
		n = room;
	memcpy(buf + *len, at, n);
	*len += n;
	buf[*len] = '\0';
	return cut;
}

/* A target over its bound is refused once the head is read, so that the verdict on a request
 * does not depend on how its bytes were split (http_parser calls back late on whole buffers). */
static int on_url(http_parser *p, const char *at, size_t n)
{
	struct wm_http_msg *m = msg(p);

	m->target_cut |= append(m->target, sizeof(m->target), &m->target_len, at, n);
	return 0;
}

/* One whole header: hand it over. */
static int header_done(struct wm_http_msg *m)
{
	struct wm_http_header h = { m->name, m->value, m->value_len, m->name_cut, m->value_cut };
	char why[sizeof(m->error)] = "";
	int ret = 0;

	while (m->value_len && (m->value[m->value_len - 1] == ' ' ||
				m->value[m->value_len - 1] == '\t'))
		m->value[--m->value_len] = '\0';
	h.value_len = m->value_len;
	if (m->on_header)
		ret = m->on_header(m->ctx, &h, why, sizeof(why));
	m->name_len = m->value_len = 0;
	m->name[0] = m->value[0] = '\0';
	m->name_cut = m->value_cut = m->in_value = false;
	if (ret)
		return fail(m, ret < 0 ? ret : -EBADMSG, why[0] ? why : "header refused");
	return 0;
}

/* The stream offset just after the last line feed before at. */
static size_t line_start(const struct wm_http_msg *m, const char *at)
{
	const char *lf = memrchr(m->chunk, '\n', (size_t)(at - m->chunk));

	return lf ? m->fed + (size_t)(lf + 1 - m->chunk) : m->line_start;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct wm_http_msg *m = msg(p);

	if (m->in_value && header_done(m))
		return -1;
	/* http_parser built lenient takes spaces in names; RFC 9110 §5.1 says token. */
	for (size_t i = 0; i < n; i++)
		if (!is_tchar(at[i]))
			return fail(m, -EBADMSG, "malformed header name");
	m->name_cut |= append(m->name, sizeof(m->name), &m->name_len, at, n);
	m->name_end = m->fed + (size_t)(at - m->chunk) + n;
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct wm_http_msg *m = msg(p);

	/* A value on a later line than its name was folded onto it. */
	if (n && line_start(m, at) > m->name_end)
		return fail(m, -EBADMSG, "obsolete line folding in a header (RFC 9112 §5.2)");
	/* RFC 9110 §5.5; http_parser lets a value's first byte through unchecked. */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)at[i] < 0x20 && at[i] != '\t') || at[i] == 0x7f)
			return fail(m, -EBADMSG, "control character in a header value");
	m->in_value = true;
	m->value_cut |= append(m->value, sizeof(m->value), &m->value_len, at, n);
	return 0;
}

/* The start line must be exactly what http_parser read, with single spaces (RFC 9112 §3, §4). */
static int check_start_line(struct wm_http_msg *m, const http_parser *p)
{
	char want[WM_HTTP_LINE_MAX + 1];
	int n;

	if (p->http_major != 1)
		return fail(m, -EBADMSG, "not HTTP/1.x");
	if (m->flags & WM_HTTP_REQUEST) {
		n = snprintf(want, sizeof(want), "%s %s HTTP/1.%u",
			     http_method_str((enum http_method)p->method), m->target, p->http_minor);
		if (n < 0 || (size_t)n != m->line_len || memcmp(want, m->line, m->line_len))
			return fail(m, -EBADMSG, "malformed request line");
		return 0;
	}
	snprintf(want, sizeof(want), "HTTP/1.%u %03u", p->http_minor, p->status_code);
	if (m->line_len < 12 || memcmp(want, m->line, 12) ||
	    (m->line_len > 12 && m->line[12] != ' ') || p->status_code < 100)
		return fail(m, -EBADMSG, "malformed status line");
	return 0;
}

/* An origin-form target (RFC 9112 §3.2.1): path and query, printable ASCII, no fragment. */
static int split_target(struct wm_http_msg *m)
{
	struct http_parser_url pu;
	const char *s;
	size_t n;

	if (m->target[0] != '/')
		return fail(m, -EBADMSG, "request target must be a path");
	for (size_t i = 0; i < m->target_len; i++)
		if ((unsigned char)m->target[i] <= 0x20 || (unsigned char)m->target[i] >= 0x7f)
			return fail(m, -EBADMSG, "request target holds a byte outside printable ASCII");
	http_parser_url_init(&pu);
	if (http_parser_parse_url(m->target, m->target_len, 0, &pu) ||
	    (pu.field_set & (1 << UF_FRAGMENT)) || !(pu.field_set & (1 << UF_PATH)))
		return fail(m, -EBADMSG, "malformed request target");
	s = field(m->target, &pu, UF_PATH, &n);
	if (n > WM_HTTP_PATH_MAX)
		return fail(m, -EMSGSIZE, "request target too long");
	memcpy(m->path, s, n);
	m->path[n] = '\0';
	if (pu.field_set & (1 << UF_QUERY)) {
		s = field(m->target, &pu, UF_QUERY, &n);
		if (n > WM_HTTP_QUERY_MAX)
			return fail(m, -EMSGSIZE, "request target too long");
		memcpy(m->query, s, n);
		m->query[n] = '\0';
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct wm_http_msg *m = msg(p);

	if (m->in_value && header_done(m))
		return -1;
	if (m->target_cut)
		return fail(m, -EMSGSIZE, "request target too long");
	if (check_start_line(m, p))
		return -1;
	if (m->flags & WM_HTTP_REQUEST) {
		m->method = p->method == HTTP_GET ? WM_HTTP_GET
			  : p->method == HTTP_HEAD ? WM_HTTP_HEAD
			  : p->method == HTTP_POST ? WM_HTTP_POST : WM_HTTP_OTHER;
		if (split_target(m))
			return -1;
	} else {
		m->status = (int)p->status_code;
	}
	m->head_done = true;
	if (m->flags & WM_HTTP_HEAD_ONLY)
		return 1;	/* no body: the message ends with its head */
	/* Refuse an announced body over the bound before reading any of it. */
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > m->body_max)
		return fail(m, -EMSGSIZE, "body too large");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct wm_http_msg *m = msg(p);
	size_t cap;
	uint8_t *b;

	if (n > m->body_max - m->body_len)
		return fail(m, -EMSGSIZE, "body too large");
	if (m->body_len + n > m->body_cap) {
		cap = m->body_cap ? m->body_cap : BODY_INITIAL;
		while (cap < m->body_len + n)
			cap *= 2;
		if (cap > m->body_max)
			cap = m->body_max;
		b = realloc(m->body, cap);
		if (!b)
			return fail(m, -ENOMEM, "out of memory");
		m->body = b;
		m->body_cap = cap;
	}
	memcpy(m->body + m->body_len, at, n);
	m->body_len += n;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct wm_http_msg *m = msg(p);

	m->done = true;
	http_parser_pause(p, 1);	/* bytes after the message are not ours */
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void wm_http_msg_init(struct wm_http_msg *m, unsigned flags, size_t body_max,
		      wm_http_header_cb on_header, void *ctx)
{
	memset(m, 0, sizeof(*m));
	http_parser_init(&m->parser, flags & WM_HTTP_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
	m->parser.data = m;
	m->flags = flags;
	m->body_max = flags & WM_HTTP_HEAD_ONLY ? 0 : body_max;
	m->on_header = on_header;
	m->ctx = ctx;
}

/* Keeps a copy of the start line (what the parser is about to see of it). */
static void copy_start_line(struct wm_http_msg *m, const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl ? (size_t)(nl - data) : len;

	append(m->line, sizeof(m->line), &m->line_len, data, n);
	if (!nl)
		return;
	m->line_done = true;
	if (m->line_len && m->line[m->line_len - 1] == '\r')
		m->line[--m->line_len] = '\0';
}

ssize_t wm_http_msg_feed(struct wm_http_msg *m, const void *data, size_t len)
{
	size_t take = len, n;
	enum http_errno e;
	const char *nl;

	if (m->done)
		return 0;
	if (m->fail)
		return m->fail;
	if (!len)
		return 0;
	if (m->fed == 0 && (*(const char *)data == '\r' || *(const char *)data == '\n')) {
		fail(m, -EBADMSG, "empty line before the start line");
		return m->fail;
	}
	/* Only as much of the head as the bound allows reaches the parser. */
	if (!m->head_done && take > WM_HTTP_HEAD_MAX - m->fed)
		take = WM_HTTP_HEAD_MAX - m->fed;
	if (!m->line_done)
		copy_start_line(m, data, take);
	m->chunk = data;
	n = http_parser_execute(&m->parser, &settings, data, take);
	m->chunk = NULL;
	if ((nl = memrchr(data, '\n', n)))
		m->line_start = m->fed + (size_t)(nl + 1 - (const char *)data);
	m->fed += n;
	e = HTTP_PARSER_ERRNO(&m->parser);
	if (m->fail)
		return m->fail;
	if (e == HPE_PAUSED && m->done) {
		if (m->flags & WM_HTTP_HEAD_ONLY)
			m->head_len = m->fed;
		return (ssize_t)n;
	}
	if (e != HPE_OK) {
		snprintf(m->error, sizeof(m->error), "malformed HTTP: %s", http_errno_description(e));
		return m->fail = -EBADMSG;
	}
	if (!m->head_done && m->fed >= WM_HTTP_HEAD_MAX) {
		snprintf(m->error, sizeof(m->error), "HTTP head longer than %d bytes",
			 WM_HTTP_HEAD_MAX);
		return m->fail = -EMSGSIZE;
	}
	return (ssize_t)n;
}

int wm_http_msg_feed_eof(struct wm_http_msg *m)
{
	if (m->done)
		return 0;
	if (!m->fail)
		http_parser_execute(&m->parser, &settings, NULL, 0);
	if (m->done)
		return 0;
	if (!m->fail)
		snprintf(m->error, sizeof(m->error), "connection closed before the message ended");
	return -EBADMSG;
}

void wm_http_msg_free(struct wm_http_msg *m)
{
	free(m->body);
	m->body = NULL;
	m->body_len = m->body_cap = 0;
}

ssize_t wm_http_head_parse(struct wm_http_msg *m, unsigned flags, const void *buf, size_t len,
			   wm_http_header_cb on_header, void *ctx)
{
	ssize_t n;

	wm_http_msg_init(m, flags | WM_HTTP_HEAD_ONLY, 0, on_header, ctx);
	n = wm_http_msg_feed(m, buf, len);
	if (n < 0)
		return n;
	return m->done ? (ssize_t)m->head_len : -EAGAIN;
}

bool wm_http_header_is(const struct wm_http_header *h, const char *name)
{
	return !h->name_cut && !strcasecmp(h->name, name);
}

/* --- heads ------------------------------------------------------------------------------ */

struct writer {
	char *out;
	size_t cap, len;
	int err;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->out + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->err = -ENOSPC;
	else
		w->len += (size_t)n;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar(*s))
			return false;
	return true;
}

/* RFC 9110 §5.5: field values hold no control character but HTAB. */
static bool is_value(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static void put_field(struct writer *w, const char *name, const char *value)
{
	if (!value)
		return;
	if (!is_token(name) || !is_value(value))
		w->err = w->err ? w->err : -EINVAL;
	put(w, "%s: %s\r\n", name, value);
}

static void put_fields(struct writer *w, const struct wm_http_field *fields, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_field(w, fields[i].name, fields[i].value);
}

static ssize_t finish(struct writer *w)
{
	put(w, "\r\n");
	return w->err ? w->err : (ssize_t)w->len;
}

ssize_t wm_http_request_head(char *out, size_t cap, const char *method, const char *target,
			     const struct wm_http_field *fields, size_t n)
{
	struct writer w = { out, cap, 0, 0 };

	for (const char *t = target; *t; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			w.err = -EINVAL;
	if (!is_token(method) || target[0] != '/')
		w.err = -EINVAL;
	put(&w, "%s %s HTTP/1.1\r\n", method, target);
	put_fields(&w, fields, n);
	return finish(&w);
}

static void put_status_line(struct writer *w, int status)
{
	if (status < 100 || status > 999)
		w->err = -EINVAL;
	put(w, "HTTP/1.1 %d %s\r\n", status, http_status_str((enum http_status)status));
}

ssize_t wm_http_response_head(char *out, size_t cap, int status,
			      const struct wm_http_field *fields, size_t n)
{
	struct writer w = { out, cap, 0, 0 };

	put_status_line(&w, status);
	put_fields(&w, fields, n);
	return finish(&w);
}

ssize_t wm_http_reply_head(char *out, size_t cap, int status, const char *content_type,
			   size_t body_len, const struct wm_http_field *fields, size_t n)
{
	struct writer w = { out, cap, 0, 0 };
	char length[24];

	put_status_line(&w, status);
	put_field(&w, "Content-Type", content_type);
	if (status >= 200 && status != 204 && status != 304) {
		snprintf(length, sizeof(length), "%zu", body_len);
		put_field(&w, "Content-Length", length);
	}
	put_fields(&w, fields, n);
	put_field(&w, "Connection", "close");
	return finish(&w);
}
