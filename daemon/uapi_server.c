/* SPDX-License-Identifier: MIT */
#include "daemon/uapi_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unix_listener.h"

struct wm_uapi_conn {
	ev_io watcher;
	struct wm_uapi_server *srv;
	struct wm_uapi_conn *next;
	int fd;
	struct wm_uapi_buf in;	/* may hold private_key= and preshared_key= lines */
	struct wm_uapi_buf out;
	size_t out_sent;
	bool read_closed;
};

static void close_conn(struct wm_uapi_conn *c)
{
	struct wm_uapi_server *srv = c->srv;
	struct wm_uapi_conn **pp;

	ev_io_stop(srv->loop, &c->watcher);
	close(c->fd);
	for (pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->conn_count--;
	wm_uapi_buf_free(&c->in);
	wm_uapi_buf_free(&c->out);
	free(c);
}

/* Watches for input, or for room to write while a reply is pending. */
static void update_interest(struct wm_uapi_conn *c)
{
	int events = c->read_closed ? 0 : EV_READ;

	if (c->out_sent < c->out.len)
		events |= EV_WRITE;
	ev_io_stop(c->srv->loop, &c->watcher);
	ev_io_set(&c->watcher, c->fd, events);
	if (events)
		ev_io_start(c->srv->loop, &c->watcher);
}

/* Returns false when the connection was closed. */
static bool flush_output(struct wm_uapi_conn *c)
{
	while (c->out_sent < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			close_conn(c);
			return false;
		}
		c->out_sent += (size_t)w;
	}
	wm_uapi_buf_free(&c->out);
	c->out_sent = 0;
	if (c->read_closed) {
		close_conn(c);
		return false;
	}
	return true;
}

/* Answers every complete request in the input; false when the connection was closed. */
static bool serve_requests(struct wm_uapi_conn *c, bool at_eof)
{
	size_t req_len;
	int r;

	while (c->in.len) {
		r = wm_uapi_frame(c->in.data, c->in.len, &req_len);
		if (r == -EAGAIN) {
			if (!at_eof)
				return true;
			req_len = c->in.len;	/* a set cut short at EOF: apply what came */
		} else if (r < 0) {
			close_conn(c);
			return false;
		}
		r = c->srv->handle(c->srv->ctx, c->in.data, req_len, &c->out);
		/* Leaves no copy of the request's keys behind, not even in the vacated tail. */
		wm_uapi_buf_consume(&c->in, req_len);
		if (r == -EPROTO || r == -ENOMEM) {
			/* Not a request wireguard-go would answer: hang up, as it does. */
			close_conn(c);
			return false;
		}
	}
	return true;
}

/* Room made for each recv; requests grow the buffer up to WM_UAPI_MAX_REQUEST. */
enum { READ_CHUNK = 4096 };

static bool read_input(struct wm_uapi_conn *c)
{
	for (;;) {
		ssize_t r;

		if (c->in.len + READ_CHUNK > WM_UAPI_MAX_REQUEST) {
			wm_log_error("UAPI: request larger than %d bytes, closing", WM_UAPI_MAX_REQUEST);
			close_conn(c);
			return false;
		}
		/* Not realloc: the block it would free unwiped may hold keys. */
		if (wm_uapi_buf_reserve(&c->in, READ_CHUNK) < 0) {
			close_conn(c);
			return false;
		}
		r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return serve_requests(c, false);
			close_conn(c);
			return false;
		}
		if (r == 0) {
			c->read_closed = true;
			return serve_requests(c, true);
		}
		c->in.len += (size_t)r;
		c->in.data[c->in.len] = '\0';
		if (!serve_requests(c, false))
			return false;
	}
}

static void on_conn_event(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_uapi_conn *c = w->data;

	(void)loop;
	if ((revents & EV_READ) && !read_input(c))
		return;
	if (!flush_output(c))
		return;
	update_interest(c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_uapi_server *srv = w->data;
	struct wm_uapi_conn *c;
	int fd;

	(void)loop;
	(void)revents;
	while ((fd = wm_unix_listener_accept(srv->fd)) >= 0) {
		if (srv->conn_count >= WM_UAPI_MAX_CONNECTIONS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = srv;
		c->next = srv->conns;
		srv->conns = c;
		srv->conn_count++;
		ev_io_init(&c->watcher, on_conn_event, fd, EV_READ);
		c->watcher.data = c;
		ev_io_start(srv->loop, &c->watcher);
	}
}

static int listen_on_path(struct wm_uapi_server *srv, const char *ifname, const char **what)
{
	int fd;

	*what = "create " WM_UAPI_SOCKET_DIR;
	if (mkdir(WM_UAPI_SOCKET_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(srv->path, sizeof(srv->path), "%s/%s.sock", WM_UAPI_SOCKET_DIR,
			     ifname) >= sizeof(srv->path))
		return -ENAMETOOLONG;
	*what = "start the UAPI socket";
	/* Only the owner (root, or the user running us) may configure the device, as with
	 * wireguard-go. */
	fd = wm_unix_listener_open(srv->path, 0700, (uid_t)-1, (gid_t)-1, 16);
	if (fd >= 0)
		srv->owns_path = true;
	return fd;
}

int wm_uapi_server_start(struct wm_uapi_server *srv, struct ev_loop *loop, const char *ifname,
			 int listen_fd, wm_uapi_request_fn handle, void *ctx, const char **what)
{
	memset(srv, 0, sizeof(*srv));
	srv->fd = -1;
	srv->loop = loop;
	srv->handle = handle;
	srv->ctx = ctx;
	if (listen_fd >= 0) {
		*what = "use WG_UAPI_FD";
		if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0)
			return -errno;
		srv->fd = listen_fd;
	} else {
		int fd = listen_on_path(srv, ifname, what);

		if (fd < 0)
			return fd;
		srv->fd = fd;
	}
	ev_io_init(&srv->accept_watcher, on_accept, srv->fd, EV_READ);
	srv->accept_watcher.data = srv;
	ev_io_start(loop, &srv->accept_watcher);
	return 0;
}

void wm_uapi_server_stop(struct wm_uapi_server *srv)
{
	while (srv->conns)
		close_conn(srv->conns);
	if (srv->fd >= 0)
		ev_io_stop(srv->loop, &srv->accept_watcher);
	wm_unix_listener_close(srv->fd, srv->owns_path ? srv->path : NULL);
	srv->fd = -1;
	srv->owns_path = false;
}
