/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 framing for the coordination protocol, pure: the server URL, request and response
 * heads, and an incremental reader for one message (request or response) built on
 * libhttp-parser, which keeps only what the protocol uses (method, path, query, status, the
 * Wiremesh-Node and Content-Type headers) and the body, with bounded head and body sizes.
 * One request per connection: both sides send "Connection: close".
 */
#ifndef WM_COORD_HTTP_H
#define WM_COORD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <http_parser.h>

#ifndef WM_KEY_LEN
#define WM_KEY_LEN 32
#endif

#define WM_COORD_HTTP_HEAD_MAX 8192	/* request line/status line + headers */
#define WM_COORD_URL_HOST_MAX 253
#define WM_COORD_URL_BASE_MAX 127
#define WM_COORD_HTTP_PATH_MAX 255
#define WM_COORD_HTTP_QUERY_MAX 255
#define WM_COORD_NODE_HEADER "Wiremesh-Node"		/* base64 public key of the sender */
#define WM_COORD_SEALED_TYPE "application/x-wiremesh-sealed"
#define WM_COORD_JSON_TYPE "application/json"

struct wm_coord_url {
	bool tls;					/* https:// */
	char host[WM_COORD_URL_HOST_MAX + 1];		/* IPv6 without brackets */
	uint16_t port;					/* 443 or 80 unless given */
	char base[WM_COORD_URL_BASE_MAX + 1];		/* "" or "/prefix", no trailing '/' */
	bool has_key;					/* ?key=HEX was given */
	uint8_t server_key[WM_KEY_LEN];
};

/* Parses "https://host[:port][/base][?key=64HEX]" or http://…. 0 or -EINVAL with err set. */
int wm_coord_url_parse(struct wm_coord_url *u, const char *text, char *err, size_t errlen);

enum wm_coord_http_method {
	WM_COORD_HTTP_GET,
	WM_COORD_HTTP_POST,
	WM_COORD_HTTP_OTHER,
};

struct wm_coord_http_msg {
	/* What was read. */
	enum wm_coord_http_method method;		/* requests */
	char path[WM_COORD_HTTP_PATH_MAX + 1];		/* requests, without the query */
	char query[WM_COORD_HTTP_QUERY_MAX + 1];
	int status;					/* responses */
	bool has_node_key;
	uint8_t node_key[WM_KEY_LEN];			/* Wiremesh-Node */
	char content_type[64];
	uint8_t *body;					/* malloc'd, body_len bytes */
	size_t body_len;
	bool head_done, done;
	char error[96];					/* why the last feed failed */

	/* Private. */
	http_parser parser;
	size_t body_max, head_len;
	size_t body_cap;
	char url[WM_COORD_HTTP_PATH_MAX + WM_COORD_HTTP_QUERY_MAX + 2];
	size_t url_len;
	char field[32], value[64];
	size_t field_len, value_len;
	bool in_value, field_long, value_long;
	int fail;
};

/* Prepares to read one request (request = true) or response, with a body of at most body_max. */
void wm_coord_http_init(struct wm_coord_http_msg *m, bool request, size_t body_max);

/*
 * Feeds bytes. Returns how many were taken (m->done once the message is complete; bytes after
 * it are not taken), or -EBADMSG (malformed), -EMSGSIZE (head or body over its bound; then
 * m->head_done tells which), -ENOMEM, with the reason in m->error.
 */
ssize_t wm_coord_http_feed(struct wm_coord_http_msg *m, const void *data, size_t len);

/* The peer closed the stream: completes a response that ends at EOF. 0 or -EBADMSG. */
int wm_coord_http_feed_eof(struct wm_coord_http_msg *m);

/* Frees the body. */
void wm_coord_http_free(struct wm_coord_http_msg *m);

/*
 * A request head: method, base + path, Host, the Wiremesh-Node header when node_key is not
 * NULL, Content-Type/Length when body_len or content_type, Connection: close. Length or -ENOSPC.
 */
ssize_t wm_coord_http_request_head(char *out, size_t cap, const char *method,
				   const struct wm_coord_url *u, const char *path,
				   const uint8_t *node_key, const char *content_type,
				   size_t body_len);

/* A response head with Content-Type, Content-Length and Connection: close. Length or -ENOSPC. */
ssize_t wm_coord_http_response_head(char *out, size_t cap, int status, const char *content_type,
				    size_t body_len);

#endif
