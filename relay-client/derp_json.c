/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_json.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

struct cursor {
	const char *s;
	size_t len, pos;
};

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static char peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : c->s[c->pos];
}

static void skip_ws(struct cursor *c)
{
	while (!at_end(c)) {
		char ch = c->s[c->pos];

		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		c->pos++;
	}
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int read_hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -EBADMSG;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the string whose opening quote is at s[0], bounded by len. Writes at most cap - 1
 * bytes plus NUL to out (when out is not NULL) and sets *truncated when more did not fit.
 * Returns the bytes consumed including both quotes, or -EBADMSG.
 */
static ssize_t decode_string(const char *s, size_t len, char *out, size_t cap, bool *truncated)
{
	size_t i = 1, o = 0;
	char tmp[4];

	if (truncated)
		*truncated = false;
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];
		size_t n;

		if (ch == '"') {
			if (out)
				out[o] = '\0';
			return (ssize_t)(i + 1);
		}
		if (ch < 0x20)
			return -EBADMSG;	/* control characters must be escaped */
		if (ch != '\\') {
			tmp[0] = (char)ch;
			n = 1;
			i++;
		} else {
			uint32_t cp, lo;

			if (i + 1 >= len)
				return -EBADMSG;
			switch (s[i + 1]) {
			case '"': tmp[0] = '"'; break;
			case '\\': tmp[0] = '\\'; break;
			case '/': tmp[0] = '/'; break;
			case 'b': tmp[0] = '\b'; break;
			case 'f': tmp[0] = '\f'; break;
			case 'n': tmp[0] = '\n'; break;
			case 'r': tmp[0] = '\r'; break;
			case 't': tmp[0] = '\t'; break;
			case 'u':
				if (i + 6 > len || read_hex4(s + i + 2, &cp))
					return -EBADMSG;
				i += 6;
				/* A lone surrogate becomes U+FFFD, as Go decodes it. */
				if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && s[i] == '\\' &&
				    s[i + 1] == 'u' && !read_hex4(s + i + 2, &lo) && lo >= 0xdc00 &&
				    lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				} else if (cp >= 0xd800 && cp < 0xe000) {
					cp = 0xfffd;
				}
				n = put_utf8(tmp, cp);
				goto emit;
			default:
				return -EBADMSG;
			}
			n = 1;
			i += 2;
		}
emit:
		if (out) {
			if (o + n < cap) {
				memcpy(out + o, tmp, n);
				o += n;
			} else if (truncated) {
				*truncated = true;
			}
		}
	}
	return -EBADMSG;
}

static int skip_number(struct cursor *c)
{
	size_t start;

	if (peek(c) == '-')
		c->pos++;
	if (peek(c) == '0') {
		c->pos++;
	} else if (peek(c) >= '1' && peek(c) <= '9') {
		while (peek(c) >= '0' && peek(c) <= '9')
			c->pos++;
	} else {
		return -EBADMSG;
	}
	if (peek(c) == '.') {
		c->pos++;
		start = c->pos;
		while (peek(c) >= '0' && peek(c) <= '9')
			c->pos++;
		if (c->pos == start)
			return -EBADMSG;
	}
	if (peek(c) == 'e' || peek(c) == 'E') {
		c->pos++;
		if (peek(c) == '+' || peek(c) == '-')
			c->pos++;
		start = c->pos;
		while (peek(c) >= '0' && peek(c) <= '9')
			c->pos++;
		if (c->pos == start)
			return -EBADMSG;
	}
	return 0;
}

static int skip_literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n))
		return -EBADMSG;
	c->pos += n;
	return 0;
}

static int skip_value(struct cursor *c, int depth, enum wm_json_type *type);

/* Skips an object or array whose opening bracket is at the cursor. */
static int skip_container(struct cursor *c, int depth, char close)
{
	bool first = true;
	enum wm_json_type t;
	ssize_t n;

	if (depth > WM_JSON_MAX_DEPTH)
		return -EBADMSG;
	c->pos++;
	for (;;) {
		skip_ws(c);
		if (peek(c) == close && first) {
			c->pos++;
			return 0;
		}
		if (close == '}') {
			if (peek(c) != '"')
				return -EBADMSG;
			n = decode_string(c->s + c->pos, c->len - c->pos, NULL, 0, NULL);
			if (n < 0)
				return -EBADMSG;
			c->pos += (size_t)n;
			skip_ws(c);
			if (peek(c) != ':')
				return -EBADMSG;
			c->pos++;
		}
		if (skip_value(c, depth + 1, &t))
			return -EBADMSG;
		skip_ws(c);
		first = false;
		if (peek(c) == ',') {
			c->pos++;
			continue;
		}
		if (peek(c) == close) {
			c->pos++;
			return 0;
		}
		return -EBADMSG;
	}
}

static int skip_value(struct cursor *c, int depth, enum wm_json_type *type)
{
	ssize_t n;

	skip_ws(c);
	switch (peek(c)) {
	case '{':
		*type = WM_JSON_OBJECT;
		return skip_container(c, depth, '}');
	case '[':
		*type = WM_JSON_ARRAY;
		return skip_container(c, depth, ']');
	case '"':
		*type = WM_JSON_STRING;
		n = decode_string(c->s + c->pos, c->len - c->pos, NULL, 0, NULL);
		if (n < 0)
			return -EBADMSG;
		c->pos += (size_t)n;
		return 0;
	case 't':
		*type = WM_JSON_TRUE;
		return skip_literal(c, "true");
	case 'f':
		*type = WM_JSON_FALSE;
		return skip_literal(c, "false");
	case 'n':
		*type = WM_JSON_NULL;
		return skip_literal(c, "null");
	default:
		*type = WM_JSON_NUMBER;
		return skip_number(c);
	}
}

int wm_json_object_foreach(const char *text, size_t len,
			   int (*fn)(void *ctx, const struct wm_json_member *m), void *ctx)
{
	struct cursor c = { .s = text, .len = len };
	struct wm_json_member m;
	enum wm_json_type t;
	ssize_t n;
	size_t start;
	int ret;

	/* Validate everything first, so fn never sees members of a broken object. */
	skip_ws(&c);
	if (peek(&c) != '{' || skip_value(&c, 1, &t))
		return -EBADMSG;
	skip_ws(&c);
	if (!at_end(&c))
		return -EBADMSG;

	c.pos = 0;
	skip_ws(&c);
	c.pos++;
	for (;;) {
		skip_ws(&c);
		if (peek(&c) == '}')
			return 0;
		n = decode_string(c.s + c.pos, c.len - c.pos, m.key, sizeof(m.key),
				  &m.key_truncated);
		c.pos += (size_t)n;
		skip_ws(&c);
		c.pos++;	/* ':' */
		skip_ws(&c);
		start = c.pos;
		skip_value(&c, 2, &m.type);
		m.raw = c.s + start;
		m.raw_len = c.pos - start;
		if (fn) {
			ret = fn(ctx, &m);
			if (ret)
				return ret;
		}
		skip_ws(&c);
		if (peek(&c) == ',')
			c.pos++;
	}
}

bool wm_json_key_is(const struct wm_json_member *m, const char *name)
{
	return !m->key_truncated && !strcasecmp(m->key, name);
}

int wm_json_get_string(const struct wm_json_member *m, char *out, size_t cap)
{
	bool truncated;

	if (m->type != WM_JSON_STRING || cap == 0)
		return -EINVAL;
	if (decode_string(m->raw, m->raw_len, out, cap, &truncated) < 0)
		return -EINVAL;
	return truncated ? -ENOSPC : 0;
}

int wm_json_get_int(const struct wm_json_member *m, int64_t *out)
{
	const char *p = m->raw, *end = m->raw + m->raw_len;
	bool neg = false;
	uint64_t v = 0, limit;

	if (m->type != WM_JSON_NUMBER)
		return -EINVAL;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (p == end)
		return -EINVAL;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;	/* a fraction or exponent */
		if (v > (limit - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int wm_json_get_bool(const struct wm_json_member *m, bool *out)
{
	if (m->type == WM_JSON_TRUE)
		*out = true;
	else if (m->type == WM_JSON_FALSE)
		*out = false;
	else
		return -EINVAL;
	return 0;
}
