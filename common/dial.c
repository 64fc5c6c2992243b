/* SPDX-License-Identifier: MIT */
#include "common/dial.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/resolve.h"
#include "common/sockmark.h"
#include "common/tls_stream.h"

enum phase {
	PH_RESOLVING,
	PH_CONNECTING,
	PH_TLS,
};

struct wm_dial {
	struct ev_loop *loop;
	char host[WM_DIAL_HOST_MAX + 1];
	struct wm_tls_config *tls_cfg;
	double address_timeout_s;
	int user_timeout_ms;
	enum phase phase;
	struct wm_resolve *resolve;
	struct addrinfo *addrs, *next_addr;
	int fd;
	struct wm_tls *tls;
	ev_io io;
	ev_timer deadline, address_timer;
	wm_dial_cb cb;
	void *ctx;
	char last_error[128];		/* why the last address failed */
};

static void free_dial(struct wm_dial *d)
{
	if (d->resolve)
		wm_resolve_cancel(d->resolve);
	if (d->addrs)
		freeaddrinfo(d->addrs);
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->deadline);
	ev_timer_stop(d->loop, &d->address_timer);
	wm_tls_free(d->tls);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

void wm_dial_cancel(struct wm_dial *d)
{
	if (d)
		free_dial(d);
}

static void fail(struct wm_dial *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports a failure and frees the dial. */
static void fail(struct wm_dial *d, int err, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ev_io_stop(d->loop, &d->io);
	d->cb(d->ctx, err, -1, NULL, why);
	free_dial(d);
}

/* Hands the connection over and frees the dial. */
static void succeed(struct wm_dial *d)
{
	int fd = d->fd;
	struct wm_tls *tls = d->tls;

	d->fd = -1;
	d->tls = NULL;
	ev_io_stop(d->loop, &d->io);
	d->cb(d->ctx, 0, fd, tls, "connected");
	free_dial(d);
}

static void watch(struct wm_dial *d, int events)
{
	ev_io_stop(d->loop, &d->io);
	ev_io_set(&d->io, d->fd, events);
	ev_io_start(d->loop, &d->io);
}

static void drop_address(struct wm_dial *d)
{
	ev_io_stop(d->loop, &d->io);
	ev_timer_stop(d->loop, &d->address_timer);
	close(d->fd);
	d->fd = -1;
}

static void try_next_address(struct wm_dial *d)
{
	static const int one = 1;
	struct addrinfo *ai;
	int mark_err;

	while ((ai = d->next_addr)) {
		d->next_addr = ai->ai_next;
		d->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       ai->ai_protocol);
		if (d->fd < 0) {
			snprintf(d->last_error, sizeof(d->last_error), "socket: %s", strerror(errno));
			continue;
		}
		/* Outside an exit node's tunnel (common/sockmark.h). */
		if ((mark_err = wm_sockmark_apply(d->fd)) < 0) {
			snprintf(d->last_error, sizeof(d->last_error), "SO_MARK: %s",
				 strerror(-mark_err));
			close(d->fd);
			d->fd = -1;
			continue;
		}
		setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (d->user_timeout_ms)
			setsockopt(d->fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &d->user_timeout_ms,
				   sizeof(d->user_timeout_ms));
		if (connect(d->fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
			d->phase = PH_CONNECTING;
			watch(d, EV_WRITE);
			if (d->next_addr && d->address_timeout_s > 0) {
				ev_timer_set(&d->address_timer, d->address_timeout_s, 0);
				ev_timer_start(d->loop, &d->address_timer);
			}
			return;
		}
		snprintf(d->last_error, sizeof(d->last_error), "connect: %s", strerror(errno));
		close(d->fd);
		d->fd = -1;
	}
	fail(d, -ECONNREFUSED, "cannot connect to %s: %s", d->host,
	     d->last_error[0] ? d->last_error : "no address");
}

static void drive_tls(struct wm_dial *d)
{
	int ret = wm_tls_handshake(d->tls);

	if (ret == -EAGAIN) {
		watch(d, wm_tls_wants_write(d->tls) ? EV_WRITE : EV_READ);
		return;
	}
	if (ret) {
		fail(d, ret, "%s: %s", d->host, wm_tls_error(d->tls));
		return;
	}
	succeed(d);
}

static void connected(struct wm_dial *d)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	if (soerr) {
		snprintf(d->last_error, sizeof(d->last_error), "connect: %s", strerror(soerr));
		drop_address(d);
		try_next_address(d);
		return;
	}
	ev_timer_stop(d->loop, &d->address_timer);
	if (!d->tls_cfg) {
		succeed(d);
		return;
	}
	d->tls = wm_tls_new(d->tls_cfg, d->fd, d->host);
	if (!d->tls) {
		fail(d, -ENOMEM, "%s: out of memory for a TLS session", d->host);
		return;
	}
	d->phase = PH_TLS;
	drive_tls(d);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_dial *d = w->data;

	(void)loop;
	(void)revents;
	if (d->phase == PH_CONNECTING)
		connected(d);
	else if (d->phase == PH_TLS)
		drive_tls(d);
}

static void on_address_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_dial *d = w->data;

	(void)loop;
	(void)revents;
	snprintf(d->last_error, sizeof(d->last_error), "connect: timed out");
	drop_address(d);
	try_next_address(d);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	static const char *const names[] = { "resolving", "connecting", "TLS handshake with" };
	struct wm_dial *d = w->data;

	(void)loop;
	(void)revents;
	fail(d, -ETIMEDOUT, "%s %s: timed out%s%s", names[d->phase], d->host,
	     d->last_error[0] ? "; " : "", d->last_error);
}

static void on_resolved(void *ctx, struct addrinfo *res, int err)
{
	struct wm_dial *d = ctx;

	d->resolve = NULL;
	if (!res) {
		fail(d, -EHOSTUNREACH, "cannot resolve %s: %s", d->host, gai_strerror(err));
		return;
	}
	d->addrs = d->next_addr = res;
	try_next_address(d);
}

struct wm_dial *wm_dial_start(struct ev_loop *loop, const struct wm_dial_config *cfg,
			      wm_dial_cb cb, void *ctx)
{
	struct wm_dial *d;

	if (strlen(cfg->host) > WM_DIAL_HOST_MAX || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->loop = loop;
	d->fd = -1;
	strcpy(d->host, cfg->host);
	d->tls_cfg = cfg->tls;
	d->address_timeout_s = cfg->address_timeout_s;
	d->user_timeout_ms = cfg->user_timeout_ms;
	d->cb = cb;
	d->ctx = ctx;
	ev_init(&d->io, on_io);
	d->io.data = d;
	ev_init(&d->address_timer, on_address_timeout);
	d->address_timer.data = d;
	ev_init(&d->deadline, on_deadline);
	d->deadline.data = d;
	if (cfg->timeout_s > 0) {
		ev_timer_set(&d->deadline, cfg->timeout_s, 0);
		ev_timer_start(loop, &d->deadline);
	}
	d->phase = PH_RESOLVING;
	d->resolve = wm_resolve_start(loop, d->host, cfg->port, on_resolved, d);
	if (!d->resolve) {
		free_dial(d);
		return NULL;
	}
	return d;
}
