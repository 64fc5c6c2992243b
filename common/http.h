/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 on libhttp-parser for the relay and coordination clients and servers, pure: URLs,
 * an incremental reader for one request or response with a bounded head and body, and head
 * writers. One message per connection (the protocols close or upgrade after it), so there is
 * no keep-alive or pipelining. The reader is as strict as RFC 9112 lets a recipient be: no
 * empty line before the start line (§2.2), one space between its parts (§3), an origin-form
 * target of printable ASCII without a fragment (§3.2.1), no obsolete line folding (§5.2),
 * HTTP/1.x only. Every header other than the framing ones goes to the caller's callback.
 */
#ifndef WM_HTTP_H
#define WM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <http_parser.h>

#define WM_HTTP_HEAD_MAX 8192		/* start line and headers */
#define WM_HTTP_HOST_MAX 255
#define WM_HTTP_PATH_MAX 255
#define WM_HTTP_QUERY_MAX 255
#define WM_HTTP_NAME_MAX 63		/* header names and values kept whole up to these */
#define WM_HTTP_VALUE_MAX 255
#define WM_HTTP_USER_AGENT "wiremesh"

/* --- URLs ------------------------------------------------------------------------------- */

struct wm_http_url {
	bool tls;				/* https:// */
	char host[WM_HTTP_HOST_MAX + 1];	/* a name or an address; IPv6 without brackets */
	uint16_t port;				/* 443 or 80 unless given */
	bool port_given;
	char path[WM_HTTP_PATH_MAX + 1];	/* "" or starting with '/' */
	bool has_query;
	char query[WM_HTTP_QUERY_MAX + 1];	/* after the '?' */
};

/*
 * Parses "http[s]://host[:port][/path][?query]", the scheme in any case, an IPv6 host in
 * brackets. No user, no fragment, no port 0; path and query hold only the characters RFC 3986
 * allows. 0, or -EINVAL with a sentence quoting the URL in err (may be NULL).
 */
int wm_http_url_parse(struct wm_http_url *u, const char *text, char *err, size_t errlen);

/* The Host field for host and port: "[v6]" in brackets, ":port" unless the scheme's default.
 * Its length, or -ENOSPC. */
ssize_t wm_http_authority(char *out, size_t cap, const char *host, uint16_t port, bool tls);

/* --- the reader ------------------------------------------------------------------------- */

enum wm_http_method {
	WM_HTTP_GET,
	WM_HTTP_HEAD,
	WM_HTTP_POST,
	WM_HTTP_OTHER,
};

enum wm_http_flags {
	WM_HTTP_REQUEST = 1 << 0,	/* read a request (else a response) */
	WM_HTTP_HEAD_ONLY = 1 << 1,	/* stop after the head: what follows is not HTTP */
};

/* One header of the head, whitespace around the value removed. A name or value over its bound
 * arrives cut to it, flagged. Strings are valid during the callback only. */
struct wm_http_header {
	const char *name;
	const char *value;
	size_t value_len;
	bool name_cut, value_cut;
};

/*
 * Called for every header (Content-Length and Transfer-Encoding too), in order. 0 goes on; a
 * negative errno stops the reader, which returns it from every later feed, with the sentence
 * the callback wrote into why as the message's error.
 */
typedef int (*wm_http_header_cb)(void *ctx, const struct wm_http_header *h, char *why,
				 size_t whylen);

#define WM_HTTP_LINE_MAX (16 + WM_HTTP_PATH_MAX + WM_HTTP_QUERY_MAX + 16)

struct wm_http_msg {
	/* What was read. */
	enum wm_http_method method;		/* requests */
	char path[WM_HTTP_PATH_MAX + 1];	/* requests: the target without its query */
	char query[WM_HTTP_QUERY_MAX + 1];	/* requests: after '?', or "" */
	int status;				/* responses: 100-999 */
	uint8_t *body;				/* malloc'd, body_len bytes */
	size_t body_len;
	size_t head_len;			/* once head_done: bytes of the head */
	bool head_done, done;
	char error[96];				/* why the last feed failed */

	/* Private. */
	http_parser parser;
	unsigned flags;
	wm_http_header_cb on_header;
	void *ctx;
	size_t body_max, body_cap;
	size_t fed;				/* bytes taken so far */
	const char *chunk;			/* the bytes being fed, to place callbacks' data */
	char line[WM_HTTP_LINE_MAX + 1];	/* the start line as received */
	size_t line_len;
	bool line_done;
	char target[WM_HTTP_PATH_MAX + 1 + WM_HTTP_QUERY_MAX + 1];
	size_t target_len;
	bool target_cut;
	char name[WM_HTTP_NAME_MAX + 1], value[WM_HTTP_VALUE_MAX + 1];
	size_t name_len, value_len;
	size_t name_end, line_start;		/* stream offsets, to spot folded lines */
	bool name_cut, value_cut, in_value;
	int fail;
};

/* Prepares to read one message (flags from wm_http_flags) with a body of at most body_max.
 * on_header may be NULL. */
void wm_http_msg_init(struct wm_http_msg *m, unsigned flags, size_t body_max,
		      wm_http_header_cb on_header, void *ctx);

/*
 * Feeds bytes. Returns how many were taken (m->done once the message, or with
 * WM_HTTP_HEAD_ONLY the head, is complete; bytes after it are not taken), or -EBADMSG
 * (malformed), -EMSGSIZE (head, target or body over its bound; m->head_done tells which),
 * -ENOMEM, or the callback's error, with the reason in m->error.
 */
ssize_t wm_http_msg_feed(struct wm_http_msg *m, const void *data, size_t len);

/* The peer closed the stream: completes a response whose body ends there. 0 or -EBADMSG. */
int wm_http_msg_feed_eof(struct wm_http_msg *m);

/* Frees the body. */
void wm_http_msg_free(struct wm_http_msg *m);

/*
 * Reads a head at the start of buf, for a caller that keeps the bytes and asks again as more
 * arrive: the head's length (what follows belongs to another protocol), -EAGAIN when it is not
 * complete yet, or an error of wm_http_msg_feed(). m holds what was read.
 */
ssize_t wm_http_head_parse(struct wm_http_msg *m, unsigned flags, const void *buf, size_t len,
			   wm_http_header_cb on_header, void *ctx);

/* True when h's name is name, ignoring ASCII case. */
bool wm_http_header_is(const struct wm_http_header *h, const char *name);

/* --- heads ------------------------------------------------------------------------------ */

/* A header line to write; fields with a NULL value are left out. */
struct wm_http_field {
	const char *name;
	const char *value;
};

/*
 * "METHOD target HTTP/1.1", the fields in order, the empty line. Its length, -ENOSPC, or
 * -EINVAL when a name is not a token or a value holds a control character.
 */
ssize_t wm_http_request_head(char *out, size_t cap, const char *method, const char *target,
			     const struct wm_http_field *fields, size_t n);

/* "HTTP/1.1 status reason", the fields, the empty line; as wm_http_request_head(). */
ssize_t wm_http_response_head(char *out, size_t cap, int status,
			      const struct wm_http_field *fields, size_t n);

/*
 * A response after which the connection closes: Content-Type (unless NULL), Content-Length
 * (none for 1xx, 204 and 304: RFC 9110 §8.6), the fields, "Connection: close".
 */
ssize_t wm_http_reply_head(char *out, size_t cap, int status, const char *content_type,
			   size_t body_len, const struct wm_http_field *fields, size_t n);

#endif
