/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/encoding.h"

#define BODY_INITIAL 4096

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

/* The query may only carry key=HEX (the server key to pin). */
static int url_query(struct wm_coord_url *u, const char *q, size_t n, char *err, size_t errlen)
{
	size_t bin_len = 0;

	if (n != 4 + 2 * WM_KEY_LEN || strncmp(q, "key=", 4))
		return url_fail(err, errlen, "the URL's query must be key=<64 hex digits> (the server key)");
	if (sodium_hex2bin(u->server_key, WM_KEY_LEN, q + 4, 2 * WM_KEY_LEN, NULL, &bin_len, NULL) ||
	    bin_len != WM_KEY_LEN)
		return url_fail(err, errlen, "the URL's key= is not 64 hex digits");
	u->has_key = true;
	return 0;
}

static int url_base(struct wm_coord_url *u, const char *p, size_t n, char *err, size_t errlen)
{
	while (n && p[n - 1] == '/')
		n--;
	if (n > WM_COORD_URL_BASE_MAX)
		return url_fail(err, errlen, "the URL's path is too long");
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return url_fail(err, errlen, "the URL's path has a space or a control character");
	memcpy(u->base, p, n);
	u->base[n] = '\0';
	return 0;
}

int wm_coord_url_parse(struct wm_coord_url *u, const char *text, char *err, size_t errlen)
{
	struct http_parser_url pu;
	size_t len = strlen(text), n;
	const char *schema;

	memset(u, 0, sizeof(*u));
	http_parser_url_init(&pu);
	if (len > 1024 || http_parser_parse_url(text, len, 0, &pu))
		return url_fail(err, errlen, "'%s' is not a URL (expected http(s)://host[:port])",
				text);
	if (!(pu.field_set & (1 << UF_SCHEMA)) || !(pu.field_set & (1 << UF_HOST)))
		return url_fail(err, errlen, "'%s' needs a scheme and a host", text);
	schema = text + pu.field_data[UF_SCHEMA].off;
	n = pu.field_data[UF_SCHEMA].len;
	if (n == 5 && !strncasecmp(schema, "https", 5))
		u->tls = true;
	else if (!(n == 4 && !strncasecmp(schema, "http", 4)))
		return url_fail(err, errlen, "'%s': the scheme must be http or https", text);
	if (pu.field_set & ((1 << UF_FRAGMENT) | (1 << UF_USERINFO)))
		return url_fail(err, errlen, "'%s': no user or #fragment allowed", text);
	n = pu.field_data[UF_HOST].len;
	if (n == 0 || n > WM_COORD_URL_HOST_MAX)
		return url_fail(err, errlen, "'%s': bad host", text);
	memcpy(u->host, text + pu.field_data[UF_HOST].off, n);
	u->host[n] = '\0';
	u->port = (pu.field_set & (1 << UF_PORT)) ? pu.port : (u->tls ? 443 : 80);
	if (u->port == 0)
		return url_fail(err, errlen, "'%s': port 0", text);
	if ((pu.field_set & (1 << UF_PATH)) &&
	    url_base(u, text + pu.field_data[UF_PATH].off, pu.field_data[UF_PATH].len, err, errlen))
		return -EINVAL;
	if ((pu.field_set & (1 << UF_QUERY)) &&
	    url_query(u, text + pu.field_data[UF_QUERY].off, pu.field_data[UF_QUERY].len, err,
		      errlen))
		return -EINVAL;
	return 0;
}

/* --- the incremental reader ------------------------------------------------------------- */

static int fail(struct wm_coord_http_msg *m, int err, const char *why)
{
	snprintf(m->error, sizeof(m->error), "%s", why);
	m->fail = err;
	return -1;	/* stops http_parser (1 from on_headers_complete would mean "no body") */
}

static int append(char *buf, size_t cap, size_t *len, const char *at, size_t n, bool *overflow)
{
	if (*len + n >= cap) {
		*overflow = true;
		return 0;
	}
	memcpy(buf + *len, at, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct wm_coord_http_msg *m = p->data;
	bool over = false;

	append(m->url, sizeof(m->url), &m->url_len, at, n, &over);
	return over ? fail(m, -EMSGSIZE, "request target too long") : 0;
}

static int on_status(http_parser *p, const char *at, size_t n)
{
	(void)p;
	(void)at;
	(void)n;
	return 0;
}

/* One complete header: keep those the protocol reads. */
static int header_done(struct wm_coord_http_msg *m)
{
	size_t len = 0;

	if (!m->field_long && !strcasecmp(m->field, WM_COORD_NODE_HEADER)) {
		if (m->value_long || !wm_key_from_base64(m->node_key, m->value))
			return fail(m, -EBADMSG, "bad " WM_COORD_NODE_HEADER " header (want a base64 key)");
		m->has_node_key = true;
	} else if (!m->field_long && !strcasecmp(m->field, "Content-Type")) {
		len = strcspn(m->value, "; ");
		if (m->value_long || len >= sizeof(m->content_type))
			return fail(m, -EBADMSG, "bad Content-Type header");
		memcpy(m->content_type, m->value, len);
		m->content_type[len] = '\0';
	}
	m->field_len = m->value_len = 0;
	m->field[0] = m->value[0] = '\0';
	m->field_long = m->value_long = false;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct wm_coord_http_msg *m = p->data;

	if (m->in_value) {
		m->in_value = false;
		if (header_done(m))
			return -1;
	}
	return append(m->field, sizeof(m->field), &m->field_len, at, n, &m->field_long);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct wm_coord_http_msg *m = p->data;

	m->in_value = true;
	return append(m->value, sizeof(m->value), &m->value_len, at, n, &m->value_long);
}

static int split_url(struct wm_coord_http_msg *m)
{
	const char *q = strchr(m->url, '?');
	size_t plen = q ? (size_t)(q - m->url) : m->url_len;

	if (m->url[0] != '/')
		return fail(m, -EBADMSG, "request target must be a path");
	if (plen > WM_COORD_HTTP_PATH_MAX || (q && strlen(q + 1) > WM_COORD_HTTP_QUERY_MAX))
		return fail(m, -EMSGSIZE, "request target too long");
	memcpy(m->path, m->url, plen);
	m->path[plen] = '\0';
	if (q)
		strcpy(m->query, q + 1);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct wm_coord_http_msg *m = p->data;

	if (m->in_value && header_done(m))
		return -1;
	m->in_value = false;
	if (p->http_major != 1)
		return fail(m, -EBADMSG, "not HTTP/1.x");
	if (p->type == HTTP_REQUEST) {
		m->method = p->method == HTTP_GET ? WM_COORD_HTTP_GET
			  : p->method == HTTP_POST ? WM_COORD_HTTP_POST : WM_COORD_HTTP_OTHER;
		if (split_url(m))
			return -1;
	} else {
		m->status = (int)p->status_code;
	}
	m->head_done = true;
	/* Refuse an announced body over the bound before reading any of it. */
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > m->body_max)
		return fail(m, -EMSGSIZE, "body too large");
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct wm_coord_http_msg *m = p->data;
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
	struct wm_coord_http_msg *m = p->data;

	m->done = true;
	http_parser_pause(p, 1);	/* bytes after the message are not ours */
	return 0;
}

static const http_parser_settings settings = {
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void wm_coord_http_init(struct wm_coord_http_msg *m, bool request, size_t body_max)
{
	memset(m, 0, sizeof(*m));
	http_parser_init(&m->parser, request ? HTTP_REQUEST : HTTP_RESPONSE);
	m->parser.data = m;
	m->body_max = body_max;
}

ssize_t wm_coord_http_feed(struct wm_coord_http_msg *m, const void *data, size_t len)
{
	size_t take = len, n;
	enum http_errno e;

	if (m->done)
		return 0;
	if (m->fail)
		return m->fail;
	/* Only as much of the head as the bound allows reaches the parser. */
	if (!m->head_done && take > WM_COORD_HTTP_HEAD_MAX - m->head_len)
		take = WM_COORD_HTTP_HEAD_MAX - m->head_len;
	n = http_parser_execute(&m->parser, &settings, data, take);
	if (!m->head_done)
		m->head_len += n;
	e = HTTP_PARSER_ERRNO(&m->parser);
	if (m->fail)
		return m->fail;
	if (e == HPE_PAUSED && m->done)
		return (ssize_t)n;
	if (e != HPE_OK) {
		snprintf(m->error, sizeof(m->error), "malformed HTTP: %s", http_errno_description(e));
		return m->fail = -EBADMSG;
	}
	if (!m->head_done && m->head_len >= WM_COORD_HTTP_HEAD_MAX) {
		snprintf(m->error, sizeof(m->error), "HTTP head longer than %d bytes",
			 WM_COORD_HTTP_HEAD_MAX);
		return m->fail = -EMSGSIZE;
	}
	return (ssize_t)n;
}

int wm_coord_http_feed_eof(struct wm_coord_http_msg *m)
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

void wm_coord_http_free(struct wm_coord_http_msg *m)
{
	free(m->body);
	m->body = NULL;
	m->body_len = m->body_cap = 0;
}

/* --- heads ------------------------------------------------------------------------------ */

ssize_t wm_coord_http_request_head(char *out, size_t cap, const char *method,
				   const struct wm_coord_url *u, const char *path,
				   const uint8_t *node_key, const char *content_type,
				   size_t body_len)
{
	bool v6 = strchr(u->host, ':') != NULL;
	bool default_port = u->port == (u->tls ? 443 : 80);
	char key[WM_KEY_B64_LEN] = "", port[8] = "";
	int n;

	if (node_key)
		wm_key_to_base64(key, node_key);
	if (!default_port)
		snprintf(port, sizeof(port), ":%u", u->port);
	n = snprintf(out, cap,
		     "%s %s%s HTTP/1.1\r\nHost: %s%s%s%s\r\nUser-Agent: wiremesh\r\n"
		     "%s%s%s" "%s%s%s" "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		     method, u->base, path, v6 ? "[" : "", u->host, v6 ? "]" : "", port,
		     node_key ? WM_COORD_NODE_HEADER ": " : "", key, node_key ? "\r\n" : "",
		     content_type ? "Content-Type: " : "", content_type ? content_type : "",
		     content_type ? "\r\n" : "", body_len);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

ssize_t wm_coord_http_response_head(char *out, size_t cap, int status, const char *content_type,
				    size_t body_len)
{
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, http_status_str((enum http_status)status), content_type, body_len);

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
