/* SPDX-License-Identifier: MIT */
/*
 * The coordination protocol's use of HTTP/1.1 (docs/coord-protocol.md), pure and thin over
 * common/http.h: the server URL (an optional base path and the pinned key= in the query), the
 * request head with the sender's key in Wiremesh-Node, and a message reader that keeps the two
 * headers the protocol reads (Wiremesh-Node, Content-Type). One request per connection: both
 * sides send "Connection: close".
 */
#ifndef WM_COORD_HTTP_H
#define WM_COORD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/http.h"
#include "common/key.h"

#define WM_COORD_URL_BASE_MAX 127
#define WM_COORD_NODE_HEADER "Wiremesh-Node"		/* base64 public key of the sender */
#define WM_COORD_SEALED_TYPE "application/x-wiremesh-sealed"
#define WM_COORD_JSON_TYPE "application/json"

struct wm_coord_url {
	bool tls;					/* https:// */
	char host[WM_HTTP_HOST_MAX + 1];		/* IPv6 without brackets */
	uint16_t port;					/* 443 or 80 unless given */
	char base[WM_COORD_URL_BASE_MAX + 1];		/* "" or "/prefix", no trailing '/' */
	bool has_key;					/* ?key=HEX was given */
	uint8_t server_key[WM_KEY_LEN];
};

/* Parses "https://host[:port][/base][?key=64HEX]" or http://…. 0 or -EINVAL with err set. */
int wm_coord_url_parse(struct wm_coord_url *u, const char *text, char *err, size_t errlen);

/* One request or response, read with wm_http_msg_feed(&m->http, …) and freed with
 * wm_http_msg_free(&m->http). */
struct wm_coord_http_msg {
	struct wm_http_msg http;
	bool has_node_key;
	uint8_t node_key[WM_KEY_LEN];		/* Wiremesh-Node */
	char content_type[64];			/* the media type, without parameters */
};

/* Prepares to read one request (request = true) or response, with a body of at most body_max:
 * a bad Wiremesh-Node or Content-Type header fails the read with -EBADMSG. */
void wm_coord_http_init(struct wm_coord_http_msg *m, bool request, size_t body_max);

/*
 * A request head: method, base + path, Host, the Wiremesh-Node header when node_key is not
 * NULL, Content-Type/Length when body_len or content_type, Connection: close. Length or -ENOSPC.
 */
ssize_t wm_coord_http_request_head(char *out, size_t cap, const char *method,
				   const struct wm_coord_url *u, const char *path,
				   const uint8_t *node_key, const char *content_type,
				   size_t body_len);

/* A response head with Content-Type, Content-Length, Cache-Control: no-store and
 * Connection: close. Length or -ENOSPC. */
ssize_t wm_coord_http_response_head(char *out, size_t cap, int status, const char *content_type,
				    size_t body_len);

#endif
