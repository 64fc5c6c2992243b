/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_conn.h"

#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/dial.h"
#include "common/tls_stream.h"

#define READ_CHUNK 16384

enum phase {
	PH_DIALING,
	PH_WRITING,
	PH_READING,
};

struct wm_coord_conn {
	struct ev_loop *loop;
	enum phase phase;
	char host[WM_HTTP_HOST_MAX + 1];
	struct wm_dial *dial;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer deadline;		/* the exchange after the dial (which keeps its own) */
	ev_tstamp deadline_at;
	uint8_t *req;
	size_t req_len, req_off;
	struct wm_coord_http_msg resp;
	wm_coord_conn_cb cb;
	void *ctx;
};

static void free_conn(struct wm_coord_conn *c)
{
	wm_dial_cancel(c->dial);
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->deadline);
	wm_tls_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	wm_http_msg_free(&c->resp.http);
	free(c->req);
	free(c);
}

void wm_coord_conn_cancel(struct wm_coord_conn *c)
{
	if (c)
		free_conn(c);
}

static void finish(struct wm_coord_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports the outcome and frees the exchange. */
static void finish(struct wm_coord_conn *c, int err, const char *fmt, ...)
{
	char why[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->deadline);
	c->cb(c->ctx, err, err ? NULL : &c->resp, why);
	free_conn(c);
}

static void watch(struct wm_coord_conn *c, int events)
{
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->loop, &c->io);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_conn *c = w->data;

	(void)loop;
	(void)revents;
	finish(c, -ETIMEDOUT, "%s %s: timed out",
	       c->phase == PH_WRITING ? "sending" : "waiting for the answer", c->host);
}

/* Bytes written, -EAGAIN (watch set), or another negative errno. */
static ssize_t do_write(struct wm_coord_conn *c, const void *buf, size_t len)
{
	ssize_t n = wm_stream_write(c->tls, c->fd, buf, len);

	if (n == -EAGAIN)
		watch(c, wm_stream_wants_write(c->tls, true) ? EV_WRITE : EV_READ);
	return n;
}

static ssize_t do_read(struct wm_coord_conn *c, void *buf, size_t len)
{
	ssize_t n = wm_stream_read(c->tls, c->fd, buf, len);

	if (n == -EAGAIN)
		watch(c, wm_stream_wants_write(c->tls, false) ? EV_WRITE : EV_READ);
	return n;
}

/* Feeds what was read; true when the exchange ended (and c is gone). */
static bool take_bytes(struct wm_coord_conn *c, const uint8_t *buf, size_t n)
{
	struct wm_http_msg *m = &c->resp.http;
	ssize_t used;

	if (n == 0 && wm_http_msg_feed_eof(m)) {
		finish(c, -EPROTO, "%s: %s", c->host, m->error);
		return true;
	}
	/* The reader may take less than offered (it stops at the end of the head). */
	while (n && !m->done) {
		used = wm_http_msg_feed(m, buf, n);
		if (used < 0) {
			finish(c, (int)used, "%s: %s", c->host, m->error);
			return true;
		}
		if (used == 0)
			break;
		buf += used;
		n -= (size_t)used;
	}
	if (m->done) {
		finish(c, 0, NULL);
		return true;
	}
	return false;
}

/* Reads until the response is complete or the socket runs dry (bounded by the body bound). */
static void read_some(struct wm_coord_conn *c)
{
	uint8_t buf[READ_CHUNK];

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = do_read(c, buf, sizeof(buf));

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			finish(c, (int)n, "reading from %s: %s", c->host,
			       c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return;
		}
		if (take_bytes(c, buf, (size_t)n))
			return;
	}
	watch(c, EV_READ);	/* more later: yield to the loop */
}

static void write_some(struct wm_coord_conn *c)
{
	while (c->req_off < c->req_len) {
		ssize_t n = do_write(c, c->req + c->req_off, c->req_len - c->req_off);

		if (n == -EAGAIN)
			return;
		if ((n == -EPIPE || n == -ECONNRESET) && !c->tls) {
			/* The server may have answered early (413 to a large body) and stopped
			 * reading: its answer is the better error, if it can still be read. */
			break;
		}
		if (n < 0) {
			finish(c, (int)n, "sending to %s: %s", c->host,
			       c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return;
		}
		c->req_off += (size_t)n;
	}
	c->phase = PH_READING;
	watch(c, EV_READ);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_coord_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->phase == PH_WRITING)
		write_some(c);
	else if (c->phase == PH_READING)
		read_some(c);
}

static void on_dialed(void *ctx, int err, int fd, struct wm_tls *tls, const char *why)
{
	struct wm_coord_conn *c = ctx;
	ev_tstamp left = c->deadline_at - ev_now(c->loop);

	c->dial = NULL;
	if (err) {
		finish(c, err, "%s", why);
		return;
	}
	c->fd = fd;
	c->tls = tls;
	c->phase = PH_WRITING;
	ev_timer_set(&c->deadline, left > 0 ? left : 0, 0);
	ev_timer_start(c->loop, &c->deadline);
	write_some(c);
}

struct wm_coord_conn *wm_coord_conn_start(struct ev_loop *loop, const struct wm_coord_url *u,
					  struct wm_tls_config *tls, const void *req,
					  size_t req_len, size_t resp_max, double timeout_s,
					  wm_coord_conn_cb cb, void *ctx)
{
	struct wm_coord_conn *c = calloc(1, sizeof(*c));
	struct wm_dial_config dc = {
		.host = u->host,
		.port = u->port,
		.tls = tls,
		.timeout_s = timeout_s,
	};

	if (!c)
		return NULL;
	c->loop = loop;
	c->fd = -1;
	c->cb = cb;
	c->ctx = ctx;
	snprintf(c->host, sizeof(c->host), "%s", u->host);
	c->req = malloc(req_len ? req_len : 1);
	if (!c->req || (u->tls && !tls)) {
		free(c->req);
		free(c);
		return NULL;
	}
	memcpy(c->req, req, req_len);
	c->req_len = req_len;
	wm_coord_http_init(&c->resp, false, resp_max);
	ev_init(&c->io, on_io);
	c->io.data = c;
	ev_init(&c->deadline, on_deadline);
	c->deadline.data = c;
	c->deadline_at = ev_now(loop) + timeout_s;
	if (!u->tls)
		dc.tls = NULL;
	c->phase = PH_DIALING;
	c->dial = wm_dial_start(loop, &dc, on_dialed, c);
	if (!c->dial) {
		free_conn(c);
		return NULL;
	}
	return c;
}
