/* SPDX-License-Identifier: MIT */
#include "daemon/control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unix_listener.h"

enum conn_state {
	CONN_READING,	/* waiting for the request line */
	CONN_PENDING,	/* the handler has it; no watcher runs */
	CONN_WRITING,	/* sending the reply */
};

struct wm_control_conn {
	ev_io io;
	ev_timer timer;		/* read deadline, then write progress */
	struct wm_control_server *srv;
	struct wm_control_conn *next;
	int fd;
	enum conn_state state;
	size_t line_len;
	char line[WM_CONTROL_MAX_LINE + 1];	/* + the '\n', which becomes the NUL */
	char *out;
	size_t out_len, out_sent;
};

static void close_conn(struct wm_control_conn *c)
{
	struct wm_control_server *srv = c->srv;
	struct wm_control_conn **pp;

	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->timer);
	close(c->fd);
	for (pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->conn_count--;
	free(c->out);
	free(c);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_control_conn *c = w->data;

	(void)loop;
	(void)revents;
	wm_log_verbose("control: %s timed out, closing",
		       c->state == CONN_READING ? "request" : "reply");
	close_conn(c);
}

/* Sends what the socket takes; closes the connection when done or broken. */
static void flush_reply(struct wm_control_conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	bool progress = false;

	while (c->out_sent < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			/* A client that reads keeps its connection; one that stops does not. */
			if (progress)
				ev_timer_again(loop, &c->timer);
			if (!ev_is_active(&c->io))
				ev_io_start(loop, &c->io);
			return;
		}
		c->out_sent += (size_t)w;
		progress = true;
	}
	close_conn(c);
}

int wm_control_parse_line(char *buf, size_t len)
{
	size_t max = WM_CONTROL_MAX_LINE + 1;
	char *nl = memchr(buf, '\n', len < max ? len : max);

	if (!nl)
		return len < max ? -EAGAIN : -EMSGSIZE;
	/* Whatever follows the line is ignored: one request per connection. */
	if (memchr(buf, '\0', (size_t)(nl - buf)))
		return -EBADMSG;
	*nl = '\0';
	return (int)(nl - buf);
}

/* Reads toward the request line; hands it to the handler once complete. */
static void read_line(struct wm_control_conn *c)
{
	struct wm_control_server *srv = c->srv;

	for (;;) {
		size_t room = sizeof(c->line) - c->line_len;
		ssize_t r = recv(c->fd, c->line + c->line_len, room, MSG_DONTWAIT);
		int n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {	/* gone, or EOF before the '\n' */
			close_conn(c);
			return;
		}
		c->line_len += (size_t)r;
		n = wm_control_parse_line(c->line, c->line_len);
		if (n == -EAGAIN)
			continue;	/* room is left: parse says -EMSGSIZE when the buffer is full */
		if (n < 0) {
			if (n == -EMSGSIZE)
				wm_log_verbose("control: request line over %d bytes, closing",
					       WM_CONTROL_MAX_LINE);
			else
				wm_log_verbose("control: NUL in request line, closing");
			close_conn(c);
			return;
		}
		c->state = CONN_PENDING;
		ev_io_stop(srv->loop, &c->io);
		ev_timer_stop(srv->loop, &c->timer);
		/* The handler may reply, and so free c, before it returns. */
		srv->handle(srv->ctx, c, c->line);
		return;
	}
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_control_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == CONN_READING)
		read_line(c);
	else if (c->state == CONN_WRITING)
		flush_reply(c);
}

void wm_control_reply(struct wm_control_conn *c, const char *data, size_t len)
{
	struct wm_control_server *srv = c->srv;

	if (c->state != CONN_PENDING) {
		wm_log_error("control: second reply to one request ignored");
		return;
	}
	if (len) {
		c->out = malloc(len);
		if (!c->out) {
			wm_log_error("control: no memory for a %zu-byte reply", len);
			close_conn(c);
			return;
		}
		memcpy(c->out, data, len);
	}
	c->out_len = len;
	c->state = CONN_WRITING;
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_timer_set(&c->timer, 0., srv->write_timeout_s);
	ev_timer_again(srv->loop, &c->timer);
	flush_reply(c);
}

#ifdef SO_PEERGROUPS
/* The peer's supplementary groups as they were at connect(): no user database needed. */
static bool peer_groups_have(int fd, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}
#else
static bool peer_groups_have(int fd, gid_t gid)
{
	(void)fd;
	(void)gid;
	return false;
}
#endif

/* The group database's view: uid's user is listed in gid (may consult NSS, hence last). */
static bool user_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *found = NULL;
	size_t buflen = 16384;
	char *buf = NULL;
	gid_t *groups = NULL;
	int n = 64, err = 0;
	bool member = false;

	for (;;) {
		char *b = realloc(buf, buflen);

		if (!b)
			goto out;
		buf = b;
		err = getpwuid_r(uid, &pw, buf, buflen, &found);
		if (err != ERANGE || buflen >= (1u << 20))
			break;
		buflen *= 2;
	}
	if (err || !found)
		goto out;
	for (;;) {
		gid_t *g = realloc(groups, (size_t)n * sizeof(*groups));
		int want = n;

		if (!g)
			goto out;
		groups = g;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0) {
			n = want;
			break;
		}
		if (want <= n || want > 65536)
			goto out;
		n = want;
	}
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			member = true;
out:
	free(groups);
	free(buf);
	return member;
}

static bool peer_allowed(const struct wm_control_server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0 || cred.uid == srv->self_uid)
		return true;
	if (srv->operator_gid != (gid_t)-1 &&
	    (cred.gid == srv->operator_gid || peer_groups_have(fd, srv->operator_gid) ||
	     user_in_group(cred.uid, srv->operator_gid)))
		return true;
	wm_log_verbose("control: uid %u may not use the control socket", (unsigned)cred.uid);
	return false;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_control_server *srv = w->data;
	struct wm_control_conn *c;
	int fd;

	(void)revents;
	while ((fd = wm_unix_listener_accept(srv->fd)) >= 0) {
		if (!peer_allowed(srv, fd)) {
			/* A fresh socket's buffer takes these few bytes without blocking. */
			if (send(fd, WM_CONTROL_REFUSAL, strlen(WM_CONTROL_REFUSAL),
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				wm_log_debug("control: refusal not sent: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (srv->conn_count >= WM_CONTROL_MAX_CONNECTIONS || !(c = calloc(1, sizeof(*c)))) {
			wm_log_verbose("control: too many connections, closing a new one");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = srv;
		c->state = CONN_READING;
		c->next = srv->conns;
		srv->conns = c;
		srv->conn_count++;
		ev_io_init(&c->io, on_conn_io, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, on_timeout, srv->read_timeout_s, 0.);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
	}
}

int wm_control_start(struct wm_control_server *srv, struct ev_loop *loop, const char *path,
		     gid_t operator_gid, wm_control_request_fn fn, void *ctx)
{
	int fd;

	memset(srv, 0, sizeof(*srv));
	srv->fd = -1;
	srv->loop = loop;
	srv->operator_gid = operator_gid;
	srv->self_uid = geteuid();
	srv->handle = fn;
	srv->ctx = ctx;
	srv->read_timeout_s = WM_CONTROL_READ_TIMEOUT_S;
	srv->write_timeout_s = WM_CONTROL_WRITE_TIMEOUT_S;
	if (strlen(path) >= sizeof(srv->path))
		return -ENAMETOOLONG;
	/* 0600, or 0660 for the operator group. */
	fd = wm_unix_listener_open(path, operator_gid == (gid_t)-1 ? 0600 : 0660, (uid_t)-1,
				   operator_gid, WM_CONTROL_MAX_CONNECTIONS);
	if (fd < 0)
		return fd;
	srv->fd = fd;
	strcpy(srv->path, path);
	srv->owns_path = true;
	ev_io_init(&srv->accept_watcher, on_accept, srv->fd, EV_READ);
	srv->accept_watcher.data = srv;
	ev_io_start(loop, &srv->accept_watcher);
	return 0;
}

void wm_control_stop(struct wm_control_server *srv)
{
	while (srv->conns)
		close_conn(srv->conns);
	if (srv->fd >= 0)
		ev_io_stop(srv->loop, &srv->accept_watcher);
	wm_unix_listener_close(srv->fd, srv->owns_path ? srv->path : NULL);
	srv->fd = -1;
	srv->owns_path = false;
}

/* Client side. */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for events on fd until deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_for(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		double left = deadline - now_s();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_to(const char *path, double timeout_s)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv;
	int fd, err;

	if (timeout_s > 1e6)
		timeout_s = 1e6;
	tv.tv_sec = (time_t)timeout_s;
	tv.tv_usec = (suseconds_t)((timeout_s - (double)tv.tv_sec) * 1e6);

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1;
	/* A blocking connect waits for room in a full backlog, but only this long. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		err = errno;
		close(fd);
		if (err == EAGAIN || err == EINPROGRESS)
			return -ETIMEDOUT;
		return err == EPERM ? -EACCES : -err;
	}
	return fd;
}

static int send_line(int fd, const char *line, size_t line_len, double deadline)
{
	char buf[WM_CONTROL_MAX_LINE + 1];
	size_t sent = 0;
	int err;

	memcpy(buf, line, line_len);
	buf[line_len++] = '\n';
	while (sent < line_len) {
		ssize_t w = send(fd, buf + sent, line_len - sent, MSG_NOSIGNAL);

		if (w >= 0) {
			sent += (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			err = wait_for(fd, POLLOUT, deadline);
			if (err < 0)
				return err;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	shutdown(fd, SHUT_WR);
	return 0;
}

/* Reads until EOF into *buf; 0 or -errno (-ECONNRESET keeps what came before the reset). */
static int read_reply(int fd, double deadline, char **buf, size_t *len)
{
	size_t cap = 0;
	int err;

	*buf = NULL;
	*len = 0;
	for (;;) {
		ssize_t r;

		if (cap - *len < 4096 && cap < (size_t)WM_CONTROL_MAX_REPLY + 1) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *b;

			if (ncap > (size_t)WM_CONTROL_MAX_REPLY + 1)
				ncap = (size_t)WM_CONTROL_MAX_REPLY + 1;
			b = realloc(*buf, ncap);
			if (!b)
				return -ENOMEM;
			*buf = b;
			cap = ncap;
		}
		if (*len == cap)	/* a byte past WM_CONTROL_MAX_REPLY came in */
			return -EMSGSIZE;
		r = recv(fd, *buf + *len, cap - *len, 0);
		if (r > 0) {
			*len += (size_t)r;
		} else if (r == 0) {
			break;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			err = wait_for(fd, POLLIN, deadline);
			if (err < 0)
				return err;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	if (!*buf && !(*buf = malloc(1)))
		return -ENOMEM;
	(*buf)[*len] = '\0';
	return 0;
}

int wm_control_request(const char *path, const char *line, double timeout_s, char **reply,
		       size_t *len)
{
	size_t line_len = strlen(line);
	double deadline = now_s() + timeout_s;
	char *buf = NULL;
	size_t got = 0;
	int fd, err;

	*reply = NULL;
	*len = 0;
	if (line_len > WM_CONTROL_MAX_LINE)
		return -EMSGSIZE;
	if (memchr(line, '\n', line_len) || !(timeout_s > 0))
		return -EINVAL;
	fd = connect_to(path, timeout_s);
	if (fd < 0)
		return fd;
	err = send_line(fd, line, line_len, deadline);
	/* A refused peer finds the server gone; its refusal may still be there to read. */
	if (err == 0 || err == -EPIPE || err == -ECONNRESET)
		err = read_reply(fd, deadline, &buf, &got);
	close(fd);
	if ((err == 0 || err == -ECONNRESET) && got == strlen(WM_CONTROL_REFUSAL) &&
	    !memcmp(buf, WM_CONTROL_REFUSAL, got))
		err = -EACCES;
	else if (err == 0 && got == 0)
		err = -ECONNRESET;
	if (err < 0) {
		free(buf);
		return err;
	}
	*reply = buf;
	*len = got;
	return 0;
}
