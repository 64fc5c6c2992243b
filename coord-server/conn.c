/* SPDX-License-Identifier: MIT */
#include "coord-server/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tls_stream.h"
#include "coord-client/coord_msg.h"

#define READ_CHUNK 16384
#define READ_ROUNDS 16		/* per wakeup: then let others run */
/*
 * Input discarded after the answer, per connection, before closing anyway.
 * Closing with unread input resets the connection, and the reset can destroy
 * the answer at the client (a 413 to a too-large body, typically): so read
 * what a client may reasonably still be sending, within WM_COORD_DRAIN_S.
 */
#define DRAIN_MAX (4u << 20)

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);

static void watch(struct wm_coord_sconn *c, int events)
{
	ev_io_stop(c->set->loop, &c->io);
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(c->set->loop, &c->io);
	}
}

static void deadline(struct wm_coord_sconn *c, double seconds)
{
	ev_timer_stop(c->set->loop, &c->timer);
	ev_timer_set(&c->timer, seconds, 0);
	ev_timer_start(c->set->loop, &c->timer);
}

void wm_coord_sconn_accept(struct wm_coord_sconns *set, int fd, const char *peer)
{
	struct wm_coord_sconn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->set = set;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	wm_coord_http_init(&c->req, true, WM_COORD_REQUEST_MAX + WM_COORD_SEAL_OVERHEAD);
	ev_init(&c->io, on_io);
	c->io.data = c;
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	c->next = set->list;
	if (set->list)
		set->list->prev = c;
	set->list = c;
	set->count++;
	if (set->tls) {
		c->tls = wm_tls_new(set->tls, fd, NULL);
		if (!c->tls) {
			wm_coord_sconn_close(c);
			return;
		}
		c->state = WM_SCONN_TLS;
	} else {
		c->state = WM_SCONN_READ;
	}
	deadline(c, WM_COORD_READ_TIMEOUT_S);
	watch(c, EV_READ);
}

void wm_coord_sconn_close(struct wm_coord_sconn *c)
{
	struct wm_coord_sconns *set = c->set;

	if (c->state == WM_SCONN_HELD) {
		set->ops->held_closed(c);
		set->held--;
	}
	ev_io_stop(set->loop, &c->io);
	ev_timer_stop(set->loop, &c->timer);
	wm_tls_free(c->tls);
	close(c->fd);
	wm_http_msg_free(&c->req.http);
	wm_coord_box_wipe(&c->box);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		set->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	set->count--;
	free(c);
	set->ops->gone(set->ctx);
}

/* Bytes read, 0 at EOF, -EAGAIN (watcher set), or another negative errno. */
static ssize_t conn_read(struct wm_coord_sconn *c, void *buf, size_t len)
{
	/* Draining discards raw bytes: no TLS records are decoded any more. */
	struct wm_tls *tls = c->state == WM_SCONN_DRAIN ? NULL : c->tls;
	ssize_t n = wm_stream_read(tls, c->fd, buf, len);

	if (n == -EAGAIN)
		watch(c, wm_stream_wants_write(tls, false) ? EV_WRITE : EV_READ);
	return n;
}

static ssize_t conn_write(struct wm_coord_sconn *c, const void *buf, size_t len)
{
	ssize_t n = wm_stream_write(c->tls, c->fd, buf, len);

	if (n == -EAGAIN)
		watch(c, wm_stream_wants_write(c->tls, true) ? EV_WRITE : EV_READ);
	return n;
}

/* The request could not be read: answer with what the reader says and close. */
static void bad_request(struct wm_coord_sconn *c, ssize_t err)
{
	char msg[96];

	if (err == -EMSGSIZE && c->req.http.head_done) {
		snprintf(msg, sizeof(msg), "request body too large (at most %d bytes)",
			 WM_COORD_REQUEST_MAX + WM_COORD_SEAL_OVERHEAD);
		c->set->ops->refuse(c, 413, "too_large", msg);
	} else {
		c->set->ops->refuse(c, err == -EMSGSIZE ? 431 : 400,
				    err == -EMSGSIZE ? "too_large" : "bad_request", c->req.http.error);
	}
}

static void read_request(struct wm_coord_sconn *c)
{
	uint8_t buf[READ_CHUNK];

	for (int round = 0; round < READ_ROUNDS; round++) {
		ssize_t n = conn_read(c, buf, sizeof(buf)), used;

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			wm_coord_sconn_close(c);	/* gone before asking anything */
			return;
		}
		for (size_t off = 0; off < (size_t)n && !c->req.http.done; off += (size_t)used) {
			used = wm_http_msg_feed(&c->req.http, buf + off, (size_t)n - off);
			if (used < 0) {
				bad_request(c, used);
				return;
			}
			if (used == 0)
				break;
		}
		if (c->req.http.done) {
			c->state = WM_SCONN_BUSY;
			watch(c, 0);
			c->set->requests++;
			c->set->ops->request(c);
			return;
		}
	}
}

/* While a poll is held, input means the client left (or misbehaves): either way, close. */
static void held_input(struct wm_coord_sconn *c)
{
	uint8_t buf[256];
	ssize_t n = conn_read(c, buf, sizeof(buf));

	if (n == -EAGAIN)
		return;
	wm_coord_sconn_close(c);
}

static void drain(struct wm_coord_sconn *c)
{
	uint8_t buf[READ_CHUNK];

	while (c->drained < DRAIN_MAX) {
		ssize_t n = conn_read(c, buf, sizeof(buf));

		if (n == -EAGAIN)
			return;
		if (n <= 0)
			break;
		c->drained += (size_t)n;
	}
	wm_coord_sconn_close(c);
}

static void write_answer(struct wm_coord_sconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n == -EAGAIN)
			return;
		if (n < 0) {
			wm_coord_sconn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	/* Half-close, then read what the client still sends so that closing cannot reset the
	 * connection before the answer arrives. */
	shutdown(c->fd, SHUT_WR);
	c->state = WM_SCONN_DRAIN;
	deadline(c, WM_COORD_DRAIN_S);
	watch(c, EV_READ);
}

static void handshake(struct wm_coord_sconn *c)
{
	int ret = wm_tls_handshake(c->tls);

	if (ret == -EAGAIN) {
		watch(c, wm_tls_wants_write(c->tls) ? EV_WRITE : EV_READ);
		return;
	}
	if (ret) {
		wm_log_debug("coord: %s: %s", c->peer, wm_tls_error(c->tls));
		wm_coord_sconn_close(c);
		return;
	}
	c->state = WM_SCONN_READ;
	read_request(c);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_coord_sconn *c = w->data;

	(void)loop;
	(void)revents;
	switch (c->state) {
	case WM_SCONN_TLS:
		handshake(c);
		break;
	case WM_SCONN_READ:
		read_request(c);
		break;
	case WM_SCONN_HELD:
		held_input(c);
		break;
	case WM_SCONN_WRITE:
		write_answer(c);
		break;
	case WM_SCONN_DRAIN:
		drain(c);
		break;
	case WM_SCONN_BUSY:
		watch(c, 0);
		break;
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_sconn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == WM_SCONN_HELD)
		c->set->ops->hold_expired(c);
	else
		wm_coord_sconn_close(c);
}

void wm_coord_sconn_respond(struct wm_coord_sconn *c, int status, const char *content_type,
			    char *body, size_t len)
{
	char head[512];
	ssize_t n = wm_coord_http_response_head(head, sizeof(head), status, content_type, len);

	if (c->state == WM_SCONN_HELD)
		c->set->held--;
	c->state = WM_SCONN_WRITE;
	free(c->out);
	c->out = n < 0 ? NULL : malloc((size_t)n + len);
	if (!c->out) {
		free(body);
		wm_coord_sconn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)n);
	if (len)
		memcpy(c->out + n, body, len);
	free(body);
	c->out_len = (size_t)n + len;
	c->out_off = 0;
	if (status >= 500)
		c->set->answered_5xx++;
	else if (status >= 400)
		c->set->answered_4xx++;
	deadline(c, WM_COORD_WRITE_TIMEOUT_S);
	write_answer(c);
}

void wm_coord_sconn_hold(struct wm_coord_sconn *c, double seconds)
{
	c->state = WM_SCONN_HELD;
	c->set->held++;
	deadline(c, seconds);
	watch(c, EV_READ);
}
