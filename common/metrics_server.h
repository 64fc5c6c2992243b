/* SPDX-License-Identifier: MIT */
/*
 * The --metrics-listen endpoint of the node and the coordination server: plain HTTP/1.1 on the
 * event loop, GET or HEAD only, one request per connection (the head read with common/http.c,
 * no body), the reply made by the owner's page function at once and written as the socket
 * drains. Bounded so a flood cannot grow memory or stall the loop: at most
 * WM_METRICS_MAX_CONNECTIONS at a time (the rest wait in the kernel's backlog), a head of at
 * most WM_HTTP_HEAD_MAX bytes, WM_METRICS_TIMEOUT_S from accept to the last byte written.
 */
#ifndef WM_METRICS_SERVER_H
#define WM_METRICS_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WM_METRICS_MAX_CONNECTIONS = 16,
	WM_METRICS_BACKLOG = 64,
};

#define WM_METRICS_TIMEOUT_S 5.0
#define WM_METRICS_ACCEPT_PAUSE_S 1.0	/* after accept failed for want of descriptors */

/* What the page function fills in: a status, a content type, a malloc'd body the server frees
 * (NULL with len 0 for none). */
struct wm_metrics_reply {
	int status;
	const char *content_type;
	char *body;
	size_t len;
};

/* Called on the loop for each GET or HEAD with the target's path (no query). */
typedef void (*wm_metrics_page_fn)(void *ctx, const char *path, struct wm_metrics_reply *r);

struct wm_metrics_conn;

struct wm_metrics_server {
	struct ev_loop *loop;
	int fd;
	ev_io accept_watcher;
	ev_timer pause_timer;		/* out of descriptors: accepting again after a pause */
	struct wm_metrics_conn *conns;
	unsigned count;
	wm_metrics_page_fn page;
	void *ctx;
	uint64_t requests, bad_requests, timeouts;	/* for the owner's own metrics */
};

/* Listens on text (ADDR:PORT, [V6]:PORT, :PORT). 0 or -errno with a sentence in err;
 * wm_metrics_server_stop() is safe after either. */
int wm_metrics_server_start(struct wm_metrics_server *srv, struct ev_loop *loop, const char *text,
			    wm_metrics_page_fn page, void *ctx, char *err, size_t errlen);

/* Closes every connection and the listener. */
void wm_metrics_server_stop(struct wm_metrics_server *srv);

/* A plain-text reply (body copied) for page functions: "ok\n", "not found\n", … */
void wm_metrics_reply_text(struct wm_metrics_reply *r, int status, const char *text);

/*
 * The pages every listener has, for page functions: answers /healthz (200 "ok" when unhealthy
 * is NULL, else 503 "not up: UNHEALTHY") and every path but /metrics (404). True when path is
 * /metrics, which the caller then fills in.
 */
bool wm_metrics_route(const char *path, const char *unhealthy, struct wm_metrics_reply *r);

#endif
