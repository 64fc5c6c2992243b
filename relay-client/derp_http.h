/* SPDX-License-Identifier: MIT */
/*
 * DERP's use of HTTP/1.1 (derp/derphttp/derphttp_client.go connect, derp/derpserver/handler.go
 * Handler and ServeNoContent), pure and thin over common/http.h: the relay URL, the client's
 * `GET /derp` upgrade request and its reading of the server's 101, the headers a server looks
 * at (Upgrade, Derp-Fast-Start, X-Tailscale-Challenge), and the 101 reply with the server's
 * key. Heads are bounded by WM_HTTP_HEAD_MAX; header names match case-insensitively.
 */
#ifndef WM_DERP_HTTP_H
#define WM_DERP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/http.h"
#include "relay-client/derp_frame.h"

#define WM_DERP_HTTP_HEAD_MAX WM_HTTP_HEAD_MAX
#define WM_DERP_URL_HOST_MAX WM_HTTP_HOST_MAX
#define WM_DERP_URL_PATH_MAX WM_HTTP_PATH_MAX
#define WM_DERP_DEFAULT_PATH "/derp"
#define WM_DERP_CHALLENGE_MAX 64	/* handler.go ServeNoContent */

struct wm_derp_url {
	bool tls;				/* https:// */
	char host[WM_DERP_URL_HOST_MAX + 1];	/* name or address, IPv6 without brackets */
	uint16_t port;				/* 443 or 80 unless given */
	char path[WM_DERP_URL_PATH_MAX + 1];	/* "/derp" unless given; with the query */
};

/* Parses "https://host[:port][/path]" or "http://…" (wm_http_url_parse's rules); the path and
 * query together fit WM_DERP_URL_PATH_MAX. 0 or -EINVAL. */
int wm_derp_url_parse(struct wm_derp_url *u, const char *text);

/* The upgrade request (GET path, Host, Connection: Upgrade, Upgrade: DERP): length or -ENOSPC. */
ssize_t wm_derp_http_request_format(char *out, size_t cap, const struct wm_derp_url *u);

/*
 * Parses the server's reply head at the start of buf: its length (DERP frames follow) with
 * *status set, -EAGAIN when the head is not complete yet, -EBADMSG when it is not an HTTP/1.x
 * response or longer than WM_HTTP_HEAD_MAX. The caller wants status 101.
 */
ssize_t wm_derp_http_response_parse(const char *buf, size_t len, int *status);

/* What a server needs from a request head. */
struct wm_derp_http_request {
	enum wm_http_method method;		/* GET, HEAD or OTHER */
	char path[WM_DERP_URL_PATH_MAX + 1];	/* without the query */
	bool upgrade_derp;	/* Upgrade: derp, any case (handler.go lowercases and compares) */
	bool upgrade_other;	/* some other Upgrade value (websocket is not served) */
	bool fast_start;	/* Derp-Fast-Start: 1: the client wants no 101 reply */
	bool has_challenge;	/* X-Tailscale-Challenge present and acceptable */
	char challenge[WM_DERP_CHALLENGE_MAX + 1];
};

/*
 * Parses a request head at the start of buf: its length (bytes after it belong to DERP), -EAGAIN
 * when incomplete, -EBADMSG when malformed (common/http.h's rules) or longer than
 * WM_HTTP_HEAD_MAX. Of repeated headers the first counts, as Go's Header.Get.
 */
ssize_t wm_derp_http_request_parse(struct wm_derp_http_request *req, const char *buf, size_t len);

/* The 101 reply derper writes, with Derp-Version and Derp-Public-Key (hex): length or -ENOSPC. */
ssize_t wm_derp_http_switching_format(char *out, size_t cap,
				      const uint8_t server_pub[WM_DERP_KEY_LEN]);

#endif
