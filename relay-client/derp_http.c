/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/encoding.h"

static bool is_host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

int wm_derp_url_parse(struct wm_derp_url *u, const char *text)
{
	const char *p = text, *host, *host_end, *end;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (!strncasecmp(p, "https://", 8)) {
		u->tls = true;
		p += 8;
	} else if (!strncasecmp(p, "http://", 7)) {
		p += 7;
	} else {
		return -EINVAL;
	}
	u->port = u->tls ? 443 : 80;

	if (*p == '[') {
		struct in6_addr a6;

		host = p + 1;
		host_end = strchr(host, ']');
		if (!host_end)
			return -EINVAL;
		n = (size_t)(host_end - host);
		if (n == 0 || n > WM_DERP_URL_HOST_MAX)
			return -EINVAL;
		memcpy(u->host, host, n);
		u->host[n] = '\0';
		if (inet_pton(AF_INET6, u->host, &a6) != 1)
			return -EINVAL;
		p = host_end + 1;
	} else {
		host = p;
		while (is_host_char(*p))
			p++;
		n = (size_t)(p - host);
		if (n == 0 || n > WM_DERP_URL_HOST_MAX)
			return -EINVAL;
		memcpy(u->host, host, n);
		u->host[n] = '\0';
	}

	if (*p == ':') {
		unsigned long port = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			port = port * 10 + (unsigned long)(*p++ - '0');
			if (port > 65535)
				return -EINVAL;
		}
		if (port == 0)
			return -EINVAL;
		u->port = (uint16_t)port;
		u->port_given = true;
	}

	if (*p == '\0') {
		strcpy(u->path, WM_DERP_DEFAULT_PATH);
		return 0;
	}
	if (*p != '/')
		return -EINVAL;	/* userinfo, a bad port, or junk after the host */
	end = p + strlen(p);
	if ((size_t)(end - p) > WM_DERP_URL_PATH_MAX)
		return -EINVAL;
	for (const char *q = p; q < end; q++)
		if (*q <= 0x20 || *q >= 0x7f || *q == '#')
			return -EINVAL;
	memcpy(u->path, p, (size_t)(end - p) + 1);
	return 0;
}

static ssize_t finish(int n, size_t cap)
{
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

ssize_t wm_derp_http_request_format(char *out, size_t cap, const struct wm_derp_url *u)
{
	char port[8] = "";
	bool v6 = strchr(u->host, ':') != NULL;

	if (u->port_given)
		snprintf(port, sizeof(port), ":%u", u->port);
	return finish(snprintf(out, cap,
			       "GET %s HTTP/1.1\r\n"
			       "Host: %s%s%s%s\r\n"
			       "User-Agent: wiremesh\r\n"
			       "Connection: Upgrade\r\n"
			       "Upgrade: DERP\r\n"
			       "\r\n",
			       u->path, v6 ? "[" : "", u->host, v6 ? "]" : "", port),
		      cap);
}

/*
 * Finds the end of a head (an empty line; lines end in CRLF or LF, as Go's textproto reads
 * them). The head length, -EAGAIN, or -EBADMSG when none is within WM_DERP_HTTP_HEAD_MAX.
 */
static ssize_t head_length(const char *buf, size_t len)
{
	size_t limit = len < WM_DERP_HTTP_HEAD_MAX ? len : WM_DERP_HTTP_HEAD_MAX;
	size_t line_start = 0;

	for (size_t i = 0; i < limit; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == line_start || (i == line_start + 1 && buf[line_start] == '\r'))
			return line_start == 0 ? -EBADMSG : (ssize_t)(i + 1);
		line_start = i + 1;
	}
	return len >= WM_DERP_HTTP_HEAD_MAX ? -EBADMSG : -EAGAIN;
}

struct line {
	const char *s;
	size_t len;
};

/* The next line of a complete head, without its line ending. */
static bool next_line(const char *head, size_t head_len, size_t *pos, struct line *l)
{
	const char *nl;

	if (*pos >= head_len)
		return false;
	l->s = head + *pos;
	nl = memchr(l->s, '\n', head_len - *pos);
	l->len = (size_t)(nl - l->s);
	*pos += l->len + 1;
	if (l->len && l->s[l->len - 1] == '\r')
		l->len--;
	return true;
}

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Splits "Name: value" into name and trimmed value; false on bad syntax or a folded line. */
static bool split_header(const struct line *l, struct line *name, struct line *value)
{
	size_t i = 0, vs, ve;

	while (i < l->len && is_tchar(l->s[i]))
		i++;
	if (i == 0 || i == l->len || l->s[i] != ':')
		return false;
	name->s = l->s;
	name->len = i;
	for (size_t j = i + 1; j < l->len; j++) {
		unsigned char c = (unsigned char)l->s[j];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	vs = i + 1;
	while (vs < l->len && (l->s[vs] == ' ' || l->s[vs] == '\t'))
		vs++;
	ve = l->len;
	while (ve > vs && (l->s[ve - 1] == ' ' || l->s[ve - 1] == '\t'))
		ve--;
	value->s = l->s + vs;
	value->len = ve - vs;
	return true;
}

static bool line_is(const struct line *l, const char *word)
{
	size_t n = strlen(word);

	return l->len == n && !strncasecmp(l->s, word, n);
}

static bool parse_status_line(const struct line *l, int *status)
{
	/* "HTTP/1.x SSS[ reason]" */
	if (l->len < 12 || memcmp(l->s, "HTTP/1.", 7) || !isdigit((unsigned char)l->s[7]) ||
	    l->s[8] != ' ')
		return false;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)l->s[i]))
			return false;
	if (l->len > 12 && l->s[12] != ' ')
		return false;
	*status = (l->s[9] - '0') * 100 + (l->s[10] - '0') * 10 + (l->s[11] - '0');
	return *status >= 100;
}

ssize_t wm_derp_http_response_parse(const char *buf, size_t len, int *status)
{
	ssize_t hl = head_length(buf, len);
	struct line l, name, value;
	size_t pos = 0;

	if (hl < 0)
		return hl;
	if (memchr(buf, '\0', (size_t)hl))
		return -EBADMSG;
	if (!next_line(buf, (size_t)hl, &pos, &l) || !parse_status_line(&l, status))
		return -EBADMSG;
	while (next_line(buf, (size_t)hl, &pos, &l) && l.len)
		if (!split_header(&l, &name, &value))
			return -EBADMSG;
	return hl;
}

static bool parse_request_line(struct wm_derp_http_request *req, const struct line *l)
{
	const char *sp1 = memchr(l->s, ' ', l->len), *sp2, *target, *q;
	size_t tlen;

	if (!sp1 || sp1 == l->s)
		return false;
	sp2 = memchr(sp1 + 1, ' ', l->len - (size_t)(sp1 + 1 - l->s));
	if (!sp2)
		return false;
	for (const char *m = l->s; m < sp1; m++)
		if (!is_tchar(*m))
			return false;
	if (sp1 - l->s == 3 && !memcmp(l->s, "GET", 3))
		req->method = WM_HTTP_GET;
	else if (sp1 - l->s == 4 && !memcmp(l->s, "HEAD", 4))
		req->method = WM_HTTP_HEAD;
	else
		req->method = WM_HTTP_OTHER;

	/* Origin form only; the query is dropped, the path kept as sent. */
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	if (tlen == 0 || target[0] != '/')
		return false;
	for (size_t i = 0; i < tlen; i++)
		if (target[i] <= 0x20 || target[i] >= 0x7f)
			return false;
	q = memchr(target, '?', tlen);
	if (q)
		tlen = (size_t)(q - target);
	if (tlen > WM_DERP_URL_PATH_MAX)
		return false;
	memcpy(req->path, target, tlen);
	req->path[tlen] = '\0';

	tlen = l->len - (size_t)(sp2 + 1 - l->s);
	return tlen == 8 && !memcmp(sp2 + 1, "HTTP/1.", 7) && isdigit((unsigned char)sp2[8]);
}

static bool is_challenge_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':';
}

ssize_t wm_derp_http_request_parse(struct wm_derp_http_request *req, const char *buf, size_t len)
{
	ssize_t hl = head_length(buf, len);
	bool seen_upgrade = false, seen_challenge = false, seen_fast = false;
	struct line l, name, value;
	size_t pos = 0;

	memset(req, 0, sizeof(*req));
	if (hl < 0)
		return hl;
	if (memchr(buf, '\0', (size_t)hl))
		return -EBADMSG;
	if (!next_line(buf, (size_t)hl, &pos, &l) || !parse_request_line(req, &l))
		return -EBADMSG;
	while (next_line(buf, (size_t)hl, &pos, &l) && l.len) {
		if (l.s[0] == ' ' || l.s[0] == '\t' || !split_header(&l, &name, &value))
			return -EBADMSG;
		/* Go's Header.Get returns the first of repeated headers. */
		if (line_is(&name, "Upgrade") && !seen_upgrade) {
			seen_upgrade = true;
			if (line_is(&value, "derp"))
				req->upgrade_derp = true;
			else if (value.len)
				req->upgrade_other = true;
		} else if (line_is(&name, "Derp-Fast-Start") && !seen_fast) {
			seen_fast = true;
			req->fast_start = value.len == 1 && value.s[0] == '1';
		} else if (line_is(&name, "X-Tailscale-Challenge") && !seen_challenge) {
			bool ok = value.len > 0 && value.len <= WM_DERP_CHALLENGE_MAX;

			seen_challenge = true;
			for (size_t i = 0; ok && i < value.len; i++)
				ok = is_challenge_char(value.s[i]);
			if (ok) {
				memcpy(req->challenge, value.s, value.len);
				req->challenge[value.len] = '\0';
				req->has_challenge = true;
			}
		}
	}
	return hl;
}

ssize_t wm_derp_http_switching_format(char *out, size_t cap,
				      const uint8_t server_pub[WM_DERP_KEY_LEN])
{
	char hex[WM_KEY_HEX_LEN];

	wm_key_to_hex(hex, server_pub);
	return finish(snprintf(out, cap,
			       "HTTP/1.1 101 Switching Protocols\r\n"
			       "Upgrade: DERP\r\n"
			       "Connection: Upgrade\r\n"
			       "Derp-Version: %d\r\n"
			       "Derp-Public-Key: %s\r\n"
			       "\r\n",
			       WM_DERP_PROTOCOL_VERSION, hex),
		      cap);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 426: return "Upgrade Required";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

ssize_t wm_derp_http_reply_format(char *out, size_t cap, int status, const char *content_type,
				  const char *extra_headers, size_t body_len)
{
	char type[96] = "", length[40] = "";

	if (content_type)
		snprintf(type, sizeof(type), "Content-Type: %s\r\n", content_type);
	/* RFC 9110 §8.6: no Content-Length in a 204. */
	if (status != 204)
		snprintf(length, sizeof(length), "Content-Length: %zu\r\n", body_len);
	return finish(snprintf(out, cap,
			       "HTTP/1.1 %d %s\r\n"
			       "%s%s%s"
			       "Connection: close\r\n"
			       "\r\n",
			       status, reason_phrase(status), type, length,
			       extra_headers ? extra_headers : ""),
		      cap);
}
