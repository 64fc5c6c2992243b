/* SPDX-License-Identifier: MIT */
#include "common/metrics_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http.h"
#include "common/tcp_listener.h"

struct wm_metrics_conn {
	struct wm_metrics_server *srv;
	struct wm_metrics_conn *next, **prev;
	int fd;
	ev_io io;
	ev_timer timer;
	struct wm_http_msg msg;
	char *out;		/* the whole reply, head and body */
	size_t out_len, out_done;
};

static void accept_more(struct wm_metrics_server *srv)
{
	if (srv->fd >= 0 && srv->count < WM_METRICS_MAX_CONNECTIONS &&
	    !ev_is_active(&srv->pause_timer))
		ev_io_start(srv->loop, &srv->accept_watcher);
}

static void on_pause_over(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	accept_more(w->data);
}

static void conn_close(struct wm_metrics_conn *c)
{
	struct wm_metrics_server *srv = c->srv;

	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->timer);
	close(c->fd);
	wm_http_msg_free(&c->msg);
	free(c->out);
	*c->prev = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	srv->count--;
	accept_more(srv);
}

void wm_metrics_reply_text(struct wm_metrics_reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->body = strdup(text);
	r->len = r->body ? strlen(text) : 0;
}

bool wm_metrics_route(const char *path, const char *unhealthy, struct wm_metrics_reply *r)
{
	char text[192];

	if (!strcmp(path, "/metrics"))
		return true;
	if (strcmp(path, "/healthz")) {
		wm_metrics_reply_text(r, 404, "not found (try /metrics or /healthz)\n");
	} else if (unhealthy) {
		snprintf(text, sizeof(text), "not up: %s\n", unhealthy);
		wm_metrics_reply_text(r, 503, text);
	} else {
		wm_metrics_reply_text(r, 200, "ok\n");
	}
	return false;
}

/* The reply to the head just read, laid out in c->out. False when memory ran out. */
static bool make_reply(struct wm_metrics_conn *c, bool bad)
{
	struct wm_metrics_server *srv = c->srv;
	struct wm_metrics_reply r = { 0 };
	bool head_only = !bad && c->msg.method == WM_HTTP_HEAD;
	char head[512];
	ssize_t n;

	if (bad) {
		srv->bad_requests++;
		wm_metrics_reply_text(&r, 400, "bad request\n");
	} else if (c->msg.method != WM_HTTP_GET && c->msg.method != WM_HTTP_HEAD) {
		wm_metrics_reply_text(&r, 405, "method not allowed\n");
	} else {
		srv->requests++;
		srv->page(srv->ctx, c->msg.path, &r);
		if (!r.status)
			wm_metrics_reply_text(&r, 500, "no reply\n");
	}
	n = wm_http_reply_head(head, sizeof(head), r.status, r.content_type, r.len, NULL, 0);
	if (n < 0) {
		free(r.body);
		return false;
	}
	c->out_len = (size_t)n + (head_only ? 0 : r.len);
	c->out = malloc(c->out_len);
	if (c->out) {
		memcpy(c->out, head, (size_t)n);
		if (!head_only && r.len)
			memcpy(c->out + n, r.body, r.len);
	}
	free(r.body);
	return c->out != NULL;
}

/* Writes what the socket takes; true when the reply is out or the connection failed. */
static bool write_some(struct wm_metrics_conn *c)
{
	while (c->out_done < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_done, c->out_len - c->out_done, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0)
			return true;
		c->out_done += (size_t)n;
	}
	/* Half-close first, so the client reads the whole reply before our FIN. */
	shutdown(c->fd, SHUT_WR);
	return true;
}

static void start_writing(struct wm_metrics_conn *c, bool bad)
{
	struct ev_loop *loop = c->srv->loop;

	if (!make_reply(c, bad) || write_some(c)) {
		conn_close(c);
		return;
	}
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(loop, &c->io);
}

static void on_readable(struct wm_metrics_conn *c)
{
	char buf[1024];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0), taken;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	taken = wm_http_msg_feed(&c->msg, buf, (size_t)n);
	if (taken < 0)
		start_writing(c, true);
	else if (c->msg.done)
		start_writing(c, false);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_metrics_conn *c = w->data;

	(void)loop;
	if (revents & EV_READ)
		on_readable(c);
	else if (revents & EV_WRITE && write_some(c))
		conn_close(c);
}

static void on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_metrics_conn *c = w->data;

	(void)loop;
	(void)revents;
	c->srv->timeouts++;
	conn_close(c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_metrics_server *srv = w->data;
	struct wm_metrics_conn *c;
	int fd;

	(void)revents;
	while (srv->count < WM_METRICS_MAX_CONNECTIONS) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			/* The listener stays readable: pause rather than spin on it. */
			ev_io_stop(loop, &srv->accept_watcher);
			ev_timer_set(&srv->pause_timer, WM_METRICS_ACCEPT_PAUSE_S, 0);
			ev_timer_start(loop, &srv->pause_timer);
			return;
		}
		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->srv = srv;
		c->fd = fd;
		wm_http_msg_init(&c->msg, WM_HTTP_REQUEST | WM_HTTP_HEAD_ONLY, 0, NULL, NULL);
		c->next = srv->conns;
		c->prev = &srv->conns;
		if (srv->conns)
			srv->conns->prev = &c->next;
		srv->conns = c;
		srv->count++;
		ev_io_init(&c->io, on_conn_io, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, on_conn_timeout, WM_METRICS_TIMEOUT_S, 0);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
	}
	/* Full: the rest wait in the backlog until a connection closes. */
	ev_io_stop(loop, &srv->accept_watcher);
}

int wm_metrics_server_start(struct wm_metrics_server *srv, struct ev_loop *loop, const char *text,
			    wm_metrics_page_fn page, void *ctx, char *err, size_t errlen)
{
	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->page = page;
	srv->ctx = ctx;
	srv->fd = wm_tcp_listen(text, WM_METRICS_BACKLOG, err, errlen);
	if (srv->fd < 0)
		return srv->fd;
	ev_io_init(&srv->accept_watcher, on_accept, srv->fd, EV_READ);
	srv->accept_watcher.data = srv;
	ev_init(&srv->pause_timer, on_pause_over);
	srv->pause_timer.data = srv;
	ev_io_start(loop, &srv->accept_watcher);
	return 0;
}

void wm_metrics_server_stop(struct wm_metrics_server *srv)
{
	if (!srv->loop)
		return;
	while (srv->conns)
		conn_close(srv->conns);
	if (srv->fd >= 0) {
		ev_timer_stop(srv->loop, &srv->pause_timer);
		ev_io_stop(srv->loop, &srv->accept_watcher);
		close(srv->fd);
		srv->fd = -1;
	}
	srv->loop = NULL;
}
