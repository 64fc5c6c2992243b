/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_conn.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/resolve.h"
#include "common/tls_stream.h"

#define READ_CHUNK 16384

enum phase {
	PH_RESOLVING,
	PH_CONNECTING,
	PH_TLS,
	PH_WRITING,
	PH_READING,
};

struct wm_coord_conn {
	struct ev_loop *loop;
	enum phase phase;
	char host[WM_HTTP_HOST_MAX + 1];
	struct wm_tls_config *tls_cfg;
	bool use_tls;
	struct wm_resolve *resolve;
	struct addrinfo *addrs, *next_addr;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer deadline;
	uint8_t *req;
	size_t req_len, req_off;
	struct wm_coord_http_msg resp;
	wm_coord_conn_cb cb;
	void *ctx;
	char last_error[128];
};

static void free_conn(struct wm_coord_conn *c)
{
	if (c->resolve)
		wm_resolve_cancel(c->resolve);
	if (c->addrs)
		freeaddrinfo(c->addrs);
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
	char why[192] = "";
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

static void try_next_address(struct wm_coord_conn *c);
static void step(struct wm_coord_conn *c);

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_conn *c = w->data;
	static const char *const names[] = { "resolving", "connecting", "TLS handshake",
					     "sending", "waiting for the answer" };

	(void)loop;
	(void)revents;
	finish(c, -ETIMEDOUT, "%s %s: timed out%s%s", names[c->phase], c->host,
	       c->last_error[0] ? "; " : "", c->last_error);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_coord_conn *c = w->data;

	(void)loop;
	(void)revents;
	step(c);
}

static void on_resolved(void *ctx, struct addrinfo *res, int err)
{
	struct wm_coord_conn *c = ctx;

	c->resolve = NULL;
	if (!res) {
		finish(c, -EHOSTUNREACH, "cannot resolve %s: %s", c->host, gai_strerror(err));
		return;
	}
	c->addrs = c->next_addr = res;
	try_next_address(c);
}

static void try_next_address(struct wm_coord_conn *c)
{
	while (c->next_addr) {
		struct addrinfo *ai = c->next_addr;

		c->next_addr = ai->ai_next;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			snprintf(c->last_error, sizeof(c->last_error), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			c->phase = PH_CONNECTING;
			watch(c, EV_WRITE);
			return;
		}
		snprintf(c->last_error, sizeof(c->last_error), "connect: %s", strerror(errno));
	}
	finish(c, -ECONNREFUSED, "cannot connect to %s: %s", c->host,
	       c->last_error[0] ? c->last_error : "no address");
}

static void connected(struct wm_coord_conn *c)
{
	int one = 1;

	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!c->use_tls) {
		c->phase = PH_WRITING;
		return;
	}
	c->tls = wm_tls_new(c->tls_cfg, c->fd, c->host);
	if (!c->tls) {
		finish(c, -ENOMEM, "TLS session: out of memory");
		return;
	}
	c->phase = PH_TLS;
}

static bool check_connect(struct wm_coord_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return false;
	if (soerr) {
		snprintf(c->last_error, sizeof(c->last_error), "connect: %s", strerror(soerr));
		try_next_address(c);
		return false;
	}
	connected(c);
	return true;
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
	ssize_t used;

	if (n == 0) {
		if (wm_http_msg_feed_eof(&c->resp.http)) {
			finish(c, -EPROTO, "%s: %s", c->host, c->resp.http.error);
			return true;
		}
	}
	/* The reader may take less than offered (it stops at the end of the head). */
	while (n && !c->resp.http.done) {
		used = wm_http_msg_feed(&c->resp.http, buf, n);
		if (used < 0) {
			finish(c, (int)used, "%s: %s", c->host, c->resp.http.error);
			return true;
		}
		if (used == 0)
			break;
		buf += used;
		n -= (size_t)used;
	}
	if (c->resp.http.done) {
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

static void step(struct wm_coord_conn *c)
{
	int ret;

	if (c->phase == PH_CONNECTING && !check_connect(c))
		return;
	if (c->phase == PH_TLS) {
		ret = wm_tls_handshake(c->tls);
		if (ret == -EAGAIN) {
			watch(c, wm_tls_wants_write(c->tls) ? EV_WRITE : EV_READ);
			return;
		}
		if (ret) {
			finish(c, ret, "%s: %s", c->host, wm_tls_error(c->tls));
			return;
		}
		c->phase = PH_WRITING;
	}
	if (c->phase == PH_WRITING) {
		write_some(c);
		return;
	}
	if (c->phase == PH_READING)
		read_some(c);
}

struct wm_coord_conn *wm_coord_conn_start(struct ev_loop *loop, const struct wm_coord_url *u,
					  struct wm_tls_config *tls, const void *req,
					  size_t req_len, size_t resp_max, double timeout_s,
					  wm_coord_conn_cb cb, void *ctx)
{
	struct wm_coord_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->fd = -1;
	c->cb = cb;
	c->ctx = ctx;
	c->use_tls = u->tls;
	c->tls_cfg = tls;
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
	ev_timer_init(&c->deadline, on_deadline, timeout_s, 0);
	c->deadline.data = c;
	ev_timer_start(loop, &c->deadline);
	c->phase = PH_RESOLVING;
	c->resolve = wm_resolve_start(loop, u->host, u->port, on_resolved, c);
	if (!c->resolve) {
		free_conn(c);
		return NULL;
	}
	return c;
}
