/* SPDX-License-Identifier: MIT */
/*
 * A relay connection's transport: the socket, TLS, the HTTP request that starts it, the read
 * and write buffers, and the timers (handshake deadline, keepalive, write stall). What the
 * connection carries is the ops' business (conn.h).
 */
#include "relay-server/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/log.h"
#include "common/tls_stream.h"

#define RBUF_MIN 8192
#define WBUF_CAP (WM_RELAY_WIRE_BATCH + 1024)
#define READ_ROUNDS 4			/* reads per wakeup, so one busy client cannot hog the loop */
#define TCP_USER_TIMEOUT_MS 30000	/* unacknowledged data this long: a half-open peer */
#define CLOSE_GRACE 1.0			/* seconds to flush a last reply before closing */

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents);

static void update_io(struct wm_relay_conn *c)
{
	int events = 0;

	if (c->phase != WM_RELAY_PH_CLOSING)
		events |= EV_READ;
	if (c->wlen > c->woff || (c->phase == WM_RELAY_PH_TLS && c->tls &&
				  wm_tls_wants_write(c->tls)))
		events |= EV_WRITE;
	if (c->phase == WM_RELAY_PH_RUN && (c->cur || c->pong_pending || c->keepalive_due ||
					    c->gone_count || c->data.count || c->disco.count))
		events |= EV_WRITE;
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(c->set->loop, &c->io);
	if (!events)
		return;
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->set->loop, &c->io);
}

void wm_relay_conn_kick(struct wm_relay_conn *c)
{
	if (!(c->io.events & EV_WRITE) || !ev_is_active(&c->io))
		update_io(c);
}

void wm_relay_conn_rearm(struct wm_relay_conn *c)
{
	struct ev_loop *loop = c->set->loop;
	ev_tstamp at = 0;

	if (c->deadline)
		at = c->deadline;
	if (c->phase == WM_RELAY_PH_RUN && (!at || c->next_keepalive < at))
		at = c->next_keepalive;
	if (c->stall_since) {
		ev_tstamp stall_end = c->stall_since + c->set->write_timeout_ms / 1000.0;

		if (!at || stall_end < at)
			at = stall_end;
	}
	ev_timer_stop(loop, &c->timer);
	if (!at)
		return;
	ev_timer_set(&c->timer, at > ev_now(loop) ? at - ev_now(loop) : 0, 0);
	ev_timer_start(loop, &c->timer);
}

void wm_relay_conn_accept(struct wm_relay_conns *set, int fd, const char *peer)
{
	static const int one = 1, user_timeout = TCP_USER_TIMEOUT_MS;
	struct wm_relay_conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->rbuf = malloc(RBUF_MIN))) {
		free(c);
		close(fd);
		return;
	}
	c->set = set;
	c->fd = fd;
	c->rcap = RBUF_MIN;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	if (set->tls) {
		c->tls = wm_tls_new(set->tls, fd, NULL);
		if (!c->tls) {
			free(c->rbuf);
			free(c);
			close(fd);
			return;
		}
		c->phase = WM_RELAY_PH_TLS;
	} else {
		c->phase = WM_RELAY_PH_HTTP;
	}
	c->next = set->list;
	if (set->list)
		set->list->prev = c;
	set->list = c;
	set->count++;
	set->n.accepts++;
	ev_init(&c->io, on_io);
	c->io.data = c;
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	c->deadline = ev_now(set->loop) + set->handshake_timeout_ms / 1000.0;
	wm_relay_conn_rearm(c);
	update_io(c);
}

void wm_relay_conn_close(struct wm_relay_conn *c, const char *why)
{
	struct wm_relay_conns *set = c->set;
	char hex[9] = "";

	if (!wm_key_is_zero(c->key))
		sodium_bin2hex(hex, sizeof(hex), c->key, 4);
	wm_log_verbose("%s%s%s: closed: %s", c->peer, hex[0] ? " key " : "", hex, why);
	set->ops->end(c);
	ev_io_stop(set->loop, &c->io);
	ev_timer_stop(set->loop, &c->timer);
	wm_tls_free(c->tls);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		set->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	set->count--;
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void wm_relay_conn_finish(struct wm_relay_conn *c)
{
	c->phase = WM_RELAY_PH_CLOSING;
	c->deadline = ev_now(c->set->loop) + CLOSE_GRACE;
	wm_relay_conn_rearm(c);
	update_io(c);
}

size_t wm_relay_conn_room(const struct wm_relay_conn *c)
{
	return WBUF_CAP - (c->wlen - c->woff);
}

bool wm_relay_conn_append(struct wm_relay_conn *c, const void *data, size_t len)
{
	size_t pending = c->wlen - c->woff;

	if (!c->wbuf) {
		c->wbuf = malloc(WBUF_CAP);
		if (!c->wbuf)
			return false;
		c->wcap = WBUF_CAP;
	}
	if (pending + len > c->wcap)
		return false;
	if (c->wlen + len > c->wcap) {
		memmove(c->wbuf, c->wbuf + c->woff, pending);
		c->woff = 0;
		c->wlen = pending;
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
	return true;
}

int wm_relay_conn_flush(struct wm_relay_conn *c)
{
	ev_tstamp now = ev_now(c->set->loop);
	bool progress = false;

	for (;;) {
		ssize_t n;

		if (c->phase == WM_RELAY_PH_RUN)
			c->set->ops->fill(c);
		if (c->wlen == c->woff)
			break;
		n = wm_stream_write(c->tls, c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			wm_relay_conn_close(c, c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return -1;
		}
		progress = true;
		c->woff += (size_t)n;
		if (c->woff == c->wlen)
			c->woff = c->wlen = 0;
	}
	if (c->wlen == c->woff && c->phase == WM_RELAY_PH_CLOSING) {
		wm_relay_conn_close(c, "done");
		return -1;
	}
	if (c->wlen > c->woff && !progress) {
		if (!c->stall_since) {
			c->stall_since = now;
			wm_relay_conn_rearm(c);
		}
	} else if (c->stall_since) {
		c->stall_since = 0;
	}
	update_io(c);
	return 0;
}

/* The first request on the connection: a DERP upgrade, or a page and then close. */
static int handle_http(struct wm_relay_conn *c)
{
	struct wm_relay_conns *set = c->set;
	struct wm_derp_http_request req;
	ssize_t hl = wm_derp_http_request_parse(&req, (const char *)c->rbuf, c->rlen);
	char out[WBUF_CAP];	/* a page (/metrics the longest) fits the write buffer whole */
	size_t n;

	if (hl == -EAGAIN)
		return 0;
	set->n.http_requests++;
	if (hl > 0 && req.upgrade_derp && !strcmp(req.path, "/derp")) {
		set->n.upgrades++;
		memmove(c->rbuf, c->rbuf + hl, c->rlen - (size_t)hl);
		c->rlen -= (size_t)hl;
		c->phase = WM_RELAY_PH_CLIENT_INFO;
		if (!set->ops->greet(c, req.fast_start)) {
			wm_relay_conn_close(c, "cannot write the greeting");
			return -1;
		}
		return set->ops->input(c);
	}
	if (hl < 0) {
		n = (size_t)wm_http_reply_head(out, sizeof(out), 400, "text/plain", 12, NULL, 0);
		memcpy(out + n, "bad request\n", 12);
		n += 12;
	} else {
		n = set->ops->page(set->ctx, &req, out, sizeof(out));
	}
	wm_relay_conn_finish(c);
	if (!wm_relay_conn_append(c, out, n)) {
		wm_relay_conn_close(c, "reply too large");
		return -1;
	}
	return wm_relay_conn_flush(c);
}

/* What a phase may buffer: the request head, or the largest frame we parse. */
static size_t input_limit(const struct wm_relay_conn *c)
{
	if (c->phase == WM_RELAY_PH_HTTP)
		return WM_DERP_HTTP_HEAD_MAX;
	if (c->phase == WM_RELAY_PH_CLIENT_INFO)
		return WM_DERP_FRAME_HEADER_LEN + WM_RELAY_CLIENT_INFO_MAX;
	return WM_DERP_FRAME_HEADER_LEN + WM_DERP_KEY_LEN + WM_DERP_MAX_PACKET_SIZE;
}

/* Reads and handles input. 0, or -1 when the connection was closed. */
static int on_readable(struct wm_relay_conn *c)
{
	for (int round = 0; round < READ_ROUNDS; round++) {
		ssize_t n;
		int ret;

		if (c->rlen == c->rcap) {
			size_t cap = c->rcap * 2, limit = input_limit(c);
			uint8_t *p;

			if (cap > limit)
				cap = limit;
			if (cap <= c->rcap) {
				wm_relay_conn_close(c, "input over the limit");
				return -1;
			}
			p = realloc(c->rbuf, cap);
			if (!p) {
				wm_relay_conn_close(c, "out of memory");
				return -1;
			}
			c->rbuf = p;
			c->rcap = cap;
		}
		n = wm_stream_read(c->tls, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0) {
			wm_relay_conn_close(c, n == 0 ? "closed by the client"
						   : c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return -1;
		}
		c->rlen += (size_t)n;
		ret = c->phase == WM_RELAY_PH_HTTP ? handle_http(c) : c->set->ops->input(c);
		if (ret)
			return -1;
		if (c->phase == WM_RELAY_PH_CLOSING)
			return 0;
		/* A big buffer is only needed while a big frame is in it. */
		if (c->rlen == 0 && c->rcap > RBUF_MIN) {
			uint8_t *p = realloc(c->rbuf, RBUF_MIN);

			if (p) {
				c->rbuf = p;
				c->rcap = RBUF_MIN;
			}
		}
	}
	ev_feed_event(c->set->loop, &c->io, EV_READ);	/* more may wait: next iteration */
	return 0;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_relay_conn *c = w->data;
	int r;

	(void)loop;
	if (c->phase == WM_RELAY_PH_TLS) {
		r = wm_tls_handshake(c->tls);
		if (r == -EAGAIN) {
			update_io(c);
			return;
		}
		if (r) {
			c->set->n.handshake_failures++;
			wm_relay_conn_close(c, wm_tls_error(c->tls));
			return;
		}
		c->phase = WM_RELAY_PH_HTTP;
		revents |= EV_READ;
	}
	if ((revents & EV_READ) && c->phase != WM_RELAY_PH_CLOSING && on_readable(c))
		return;
	wm_relay_conn_flush(c);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_relay_conn *c = w->data;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	if (c->deadline && now >= c->deadline) {
		if (c->phase != WM_RELAY_PH_CLOSING)
			c->set->n.handshake_timeouts++;
		wm_relay_conn_close(c, c->phase == WM_RELAY_PH_CLOSING ? "closing timed out"
									: "handshake timed out");
		return;
	}
	if (c->stall_since && now - c->stall_since >= c->set->write_timeout_ms / 1000.0) {
		c->set->n.write_timeouts++;
		wm_relay_conn_close(c, "write timed out (the client does not read)");
		return;
	}
	if (c->phase == WM_RELAY_PH_RUN && now >= c->next_keepalive) {
		/* derpserver.go sendLoop: every KeepAlive plus a jitter picked per connection. */
		c->keepalive_due = true;
		c->next_keepalive = now + WM_DERP_KEEPALIVE_SEC + randombytes_uniform(5000) / 1000.0;
		if (c->wbuf && c->wlen == c->woff) {
			free(c->wbuf);	/* idle connections keep no write buffer */
			c->wbuf = NULL;
			c->wcap = c->woff = c->wlen = 0;
		}
		wm_relay_conn_kick(c);
	}
	wm_relay_conn_rearm(c);
}
