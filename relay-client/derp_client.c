/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_client.h"

#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/backoff.h"
#include "common/dial.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/tls_stream.h"
#include "relay-client/derp_http.h"
#include "relay-client/derp_info.h"
#include "relay-client/derp_queue.h"

/* Frames held at once: the largest a server sends us that we parse, and the write batch. */
#define RBUF_MAX (WM_DERP_FRAME_HEADER_LEN + WM_DERP_KEY_LEN + WM_DERP_MAX_PACKET_SIZE + 64)
#define RBUF_MIN 8192
#define WIRE_BATCH 16384
#define WIRE_MAX (WIRE_BATCH + RBUF_MAX)
#define TCP_USER_TIMEOUT_MS 30000	/* unacknowledged data this long: the path is dead */

enum phase {
	PH_IDLE,		/* backing off before the next attempt */
	PH_DIALING,		/* name lookup, TCP, TLS (common/dial.h) */
	PH_UPGRADE,		/* request written, waiting for "101" */
	PH_SERVER_KEY,		/* waiting for FrameServerKey */
	PH_RUN,			/* client info sent; packets flow */
};

struct wm_derp_client {
	struct ev_loop *loop;
	struct wm_derp_client_config cfg;
	struct wm_derp_url url;
	char url_text[300];
	uint8_t public_key[WM_DERP_KEY_LEN];
	struct wm_tls_config *tls_cfg;

	enum phase phase;
	enum wm_derp_client_state state;
	int fd;
	struct wm_tls *tls;
	struct wm_dial *dial;
	ev_io io;
	ev_timer timer;		/* handshake deadline, backoff, idle checks */
	ev_tstamp deadline, last_recv;
	bool pinged;		/* an idle probe is out */
	struct wm_backoff backoff;
	uint32_t restart_hint_ms;

	uint8_t *rbuf;
	size_t rcap, rlen;
	struct wm_derp_reader reader;
	uint8_t *wire;
	size_t wcap, woff, wlen;	/* pending bytes are wire[woff, wlen) */
	struct wm_derp_queue queue;

	int busy;		/* callbacks on the stack */
	bool doomed;		/* destroy was called from a callback */
	struct wm_derp_client_stats stats;
};

static void start_attempt(struct wm_derp_client *c);
static void update_io(struct wm_derp_client *c);
static void maybe_free(struct wm_derp_client *c);

static void set_state(struct wm_derp_client *c, enum wm_derp_client_state s, const char *why)
{
	if (c->state == s && s != WM_DERP_DOWN)
		return;
	c->state = s;
	if (c->cfg.on_state) {
		c->busy++;
		c->cfg.on_state(c->cfg.ctx, s, why);
		c->busy--;
	}
}

static void close_conn(struct wm_derp_client *c)
{
	wm_dial_cancel(c->dial);
	c->dial = NULL;
	ev_io_stop(c->loop, &c->io);
	wm_tls_free(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = 0;
	c->reader.skip = 0;
	c->woff = c->wlen = 0;
}

static void arm_timer(struct wm_derp_client *c, ev_tstamp at)
{
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, at > ev_now(c->loop) ? at - ev_now(c->loop) : 0, 0);
	ev_timer_start(c->loop, &c->timer);
}

/* Ends this attempt or connection and schedules the next, with jittered exponential backoff. */
static void fail(struct wm_derp_client *c, const char *fmt, ...)
{
	uint32_t delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->stats.last_error, sizeof(c->stats.last_error), fmt, ap);
	va_end(ap);
	close_conn(c);
	c->stats.failures++;
	if (c->restart_hint_ms) {
		delay = c->restart_hint_ms;	/* the server said when to come back */
		c->restart_hint_ms = 0;
	} else {
		delay = wm_backoff_next(&c->backoff, &wm_rng_system);
	}
	wm_log_verbose("relay %s: %s; retrying in %u ms", c->url_text, c->stats.last_error, delay);
	c->phase = PH_IDLE;
	arm_timer(c, ev_now(c->loop) + delay / 1000.0);
	set_state(c, WM_DERP_DOWN, c->stats.last_error);
}

/* Appends bytes to the wire buffer, growing it up to WIRE_MAX. False when they do not fit. */
static bool wire_append(struct wm_derp_client *c, const void *data, size_t len)
{
	size_t pending = c->wlen - c->woff;

	if (pending + len > WIRE_MAX)
		return false;
	if (c->wlen + len > c->wcap) {
		if (c->woff) {
			memmove(c->wire, c->wire + c->woff, pending);
			c->woff = 0;
			c->wlen = pending;
		}
		if (c->wlen + len > c->wcap) {
			size_t cap = c->wcap ? c->wcap : RBUF_MIN;
			uint8_t *p;

			while (cap < c->wlen + len)
				cap *= 2;
			if (cap > WIRE_MAX)
				cap = WIRE_MAX;
			p = realloc(c->wire, cap);
			if (!p)
				return false;
			c->wire = p;
			c->wcap = cap;
		}
	}
	memcpy(c->wire + c->wlen, data, len);
	c->wlen += len;
	return true;
}

static bool send_control(struct wm_derp_client *c, const struct wm_derp_msg *m)
{
	uint8_t frame[WM_DERP_FRAME_HEADER_LEN + 64];
	ssize_t n = wm_derp_frame_encode(frame, sizeof(frame), m);

	return n > 0 && wire_append(c, frame, (size_t)n);
}

/* Moves queued packet frames into the wire buffer, up to a batch. */
static void refill_wire(struct wm_derp_client *c)
{
	const uint8_t *frame;
	size_t len;

	while (c->wlen - c->woff < WIRE_BATCH && (frame = wm_derp_queue_peek(&c->queue, &len))) {
		if (!wire_append(c, frame, len))
			break;
		c->stats.packets_out++;
		c->stats.bytes_out += len - WM_DERP_FRAME_HEADER_LEN - WM_DERP_KEY_LEN;
		wm_derp_queue_pop(&c->queue);
	}
}

/* Writes what is pending. 0, or -1 after fail(). */
static int flush(struct wm_derp_client *c)
{
	if (c->phase == PH_RUN)
		refill_wire(c);
	while (c->wlen > c->woff) {
		ssize_t n;

		n = wm_stream_write(c->tls, c->fd, c->wire + c->woff, c->wlen - c->woff);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			fail(c, "write: %s", c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return -1;
		}
		c->woff += (size_t)n;
		if (c->woff == c->wlen) {
			c->woff = c->wlen = 0;
			if (c->phase == PH_RUN)
				refill_wire(c);
		}
	}
	update_io(c);
	return 0;
}

static void update_io(struct wm_derp_client *c)
{
	int events = EV_READ;

	if (c->fd < 0)
		return;
	if (c->wlen > c->woff || (c->phase == PH_RUN && c->queue.count))
		events |= EV_WRITE;
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
		return;
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->loop, &c->io);
}

static int send_client_info(struct wm_derp_client *c, const uint8_t server_key[WM_DERP_KEY_LEN])
{
	struct wm_derp_client_info info = { .version = WM_DERP_PROTOCOL_VERSION,
					    .can_ack_pings = true };
	uint8_t sealed[WM_DERP_BOX_OVERHEAD + WM_DERP_INFO_JSON_MAX], nonce[WM_DERP_NONCE_LEN];
	uint8_t frame[WM_DERP_FRAME_HEADER_LEN + WM_DERP_KEY_LEN + sizeof(sealed)];
	char json[WM_DERP_INFO_JSON_MAX];
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_CLIENT_INFO };
	ssize_t jlen, slen, flen;

	jlen = wm_derp_client_info_format(json, sizeof(json), &info);
	randombytes_buf(nonce, sizeof(nonce));
	slen = wm_derp_seal(sealed, sizeof(sealed), (const uint8_t *)json, (size_t)jlen, server_key,
			    c->cfg.node_private_key, nonce);
	if (jlen < 0 || slen < 0)
		return -EINVAL;
	memcpy(m.client_info.key, c->public_key, WM_DERP_KEY_LEN);
	m.client_info.sealed = sealed;
	m.client_info.sealed_len = (size_t)slen;
	flen = wm_derp_frame_encode(frame, sizeof(frame), &m);
	if (flen < 0 || !wire_append(c, frame, (size_t)flen))
		return -ENOBUFS;
	/* derphttp: NotePreferred(true) right after the handshake when this is home. */
	if (c->cfg.preferred) {
		struct wm_derp_msg np = { .type = WM_DERP_FRAME_NOTE_PREFERRED, .preferred = true };

		send_control(c, &np);
	}
	return 0;
}

static void handle_server_info(struct wm_derp_client *c, const struct wm_derp_msg *m)
{
	uint8_t plain[WM_DERP_INFO_JSON_MAX * 16];
	struct wm_derp_server_info info;
	ssize_t n;

	n = wm_derp_open(plain, sizeof(plain), m->server_info.sealed, m->server_info.sealed_len,
			 c->stats.server_key, c->cfg.node_private_key);
	if (n < 0 || wm_derp_server_info_parse(&info, (const char *)plain, (size_t)n)) {
		fail(c, "server info does not open or parse");
		return;
	}
	wm_backoff_reset(&c->backoff);
	if (c->stats.connects++)
		c->stats.reconnects++;
	wm_log_verbose("relay %s: connected (server protocol version %lld)", c->url_text,
		       (long long)info.version);
	set_state(c, WM_DERP_CONNECTED, "connected");
}

/* One frame from the server. Returns -1 when the connection was failed. */
static int handle_frame(struct wm_derp_client *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct wm_derp_msg m;
	int r = wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, type, p, len);
	char name[8];

	if (c->phase == PH_SERVER_KEY) {
		if (r || type != WM_DERP_FRAME_SERVER_KEY) {
			fail(c, "bad server greeting (%s, %zu bytes)", wm_derp_frame_name(type, name),
			     len);
			return -1;
		}
		memcpy(c->stats.server_key, m.key, WM_DERP_KEY_LEN);
		c->stats.has_server_key = true;
		if (send_client_info(c, m.key)) {
			fail(c, "cannot seal client info to the server key");
			return -1;
		}
		c->phase = PH_RUN;
		return 0;
	}
	if (r == -ENOMSG) {
		c->stats.unknown_frames++;
		return 0;
	}
	if (r) {
		/* derp_client.go drops short frames; only a bad ServerInfo ends the connection. */
		if (type == WM_DERP_FRAME_SERVER_INFO) {
			fail(c, "bad server info frame");
			return -1;
		}
		c->stats.bad_frames++;
		return 0;
	}
	switch (type) {
	case WM_DERP_FRAME_RECV_PACKET:
		c->stats.packets_in++;
		c->stats.bytes_in += m.packet.len;
		if (c->cfg.on_packet)
			c->cfg.on_packet(c->cfg.ctx, m.packet.key, m.packet.data, m.packet.len);
		break;
	case WM_DERP_FRAME_SERVER_INFO:
		handle_server_info(c, &m);
		break;
	case WM_DERP_FRAME_PING: {
		struct wm_derp_msg pong = { .type = WM_DERP_FRAME_PONG };

		memcpy(pong.ping, m.ping, WM_DERP_PING_LEN);
		if (!send_control(c, &pong))
			c->stats.control_drops++;
		break;
	}
	case WM_DERP_FRAME_PEER_GONE:
		if (c->cfg.on_peer_gone)
			c->cfg.on_peer_gone(c->cfg.ctx, m.peer_gone.key, m.peer_gone.reason);
		break;
	case WM_DERP_FRAME_PEER_PRESENT:
		if (c->cfg.on_peer_present)
			c->cfg.on_peer_present(c->cfg.ctx, m.peer_present.key);
		break;
	case WM_DERP_FRAME_HEALTH:
		if (m.health.len)
			wm_log_error("relay %s reports: %.*s", c->url_text, (int)m.health.len,
				     m.health.text);
		break;
	case WM_DERP_FRAME_RESTARTING:
		c->restart_hint_ms = m.restarting.reconnect_in_ms ? m.restarting.reconnect_in_ms : 1;
		break;
	default:	/* keepalive, pong: being heard from is all they say */
		break;
	}
	return c->phase == PH_RUN ? 0 : -1;
}

/* Frames larger than anything we parse are skipped; a big ServerInfo still counts. */
static int frame_header(void *ctx, uint8_t type, uint32_t plen)
{
	struct wm_derp_client *c = ctx;

	if (plen > WM_DERP_CLIENT_MAX_FRAME) {
		fail(c, "frame of %u bytes is over the 1 MiB limit", plen);
		return -1;
	}
	if (plen <= RBUF_MAX - WM_DERP_FRAME_HEADER_LEN)
		return WM_DERP_READ_WHOLE;
	if (c->phase == PH_SERVER_KEY || type == WM_DERP_FRAME_SERVER_INFO) {
		fail(c, "handshake frame of %u bytes is too large", plen);
		return -1;
	}
	c->stats.unknown_frames++;
	return WM_DERP_READ_SKIP;
}

static int frame(void *ctx, uint8_t type, const uint8_t *payload, size_t len)
{
	struct wm_derp_client *c = ctx;
	int ret;

	c->last_recv = ev_now(c->loop);
	c->pinged = false;
	ret = handle_frame(c, type, payload, len);
	return ret || c->doomed ? -1 : 0;
}

static const struct wm_derp_reader_ops reader_ops = {
	.header = frame_header,
	.frame = frame,
};

/* Parses what is buffered. Returns -1 when the connection was failed. */
static int process_input(struct wm_derp_client *c)
{
	size_t pos = 0;
	ssize_t n;

	if (c->phase == PH_UPGRADE) {
		int status;
		ssize_t hl = wm_derp_http_response_parse((const char *)c->rbuf, c->rlen, &status);

		if (hl == -EAGAIN)
			return 0;
		if (hl < 0 || status != 101) {
			fail(c, hl < 0 ? "bad HTTP response" : "upgrade refused (HTTP %d)", status);
			return -1;
		}
		pos = (size_t)hl;
		c->phase = PH_SERVER_KEY;
	}
	n = wm_derp_reader_feed(&c->reader, c->rbuf + pos, c->rlen - pos, &reader_ops, c);
	if (n < 0)
		return -1;
	pos += (size_t)n;
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return 0;
}

static void on_read(struct wm_derp_client *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n;

		if (c->rlen == c->rcap) {
			size_t cap = c->rcap * 2 > RBUF_MAX ? RBUF_MAX : c->rcap * 2;
			uint8_t *p;

			if (cap == c->rcap) {
				fail(c, "input buffer full");
				return;
			}
			p = realloc(c->rbuf, cap);
			if (!p) {
				fail(c, "out of memory");
				return;
			}
			c->rbuf = p;
			c->rcap = cap;
		}
		n = wm_stream_read(c->tls, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			fail(c, n == 0 ? "connection closed by the relay" : "read: %s",
			     c->tls ? wm_tls_error(c->tls) : strerror((int)-n));
			return;
		}
		c->rlen += (size_t)n;
		if (process_input(c))
			return;
	}
	/* More may be buffered (inside TLS or the socket): come back on the next iteration. */
	ev_feed_event(c->loop, &c->io, EV_READ);
}

static void begin_upgrade(struct wm_derp_client *c)
{
	char req[WM_DERP_URL_PATH_MAX + WM_DERP_URL_HOST_MAX + 160];
	ssize_t n = wm_derp_http_request_format(req, sizeof(req), &c->url);

	c->phase = PH_UPGRADE;
	if (n < 0 || !wire_append(c, req, (size_t)n)) {
		fail(c, "cannot build the upgrade request");
		return;
	}
	flush(c);
}

static void on_dialed(void *ctx, int err, int fd, struct wm_tls *tls, const char *why)
{
	struct wm_derp_client *c = ctx;

	c->dial = NULL;
	c->busy++;
	if (err) {
		fail(c, "%s", why);
	} else {
		c->fd = fd;
		c->tls = tls;
		arm_timer(c, c->deadline);
		begin_upgrade(c);
	}
	c->busy--;
	maybe_free(c);
}

static void start_attempt(struct wm_derp_client *c)
{
	struct wm_dial_config dc = {
		.host = c->url.host,
		.port = c->url.port,
		.tls = c->url.tls ? c->tls_cfg : NULL,
		.timeout_s = WM_DERP_CONNECT_TIMEOUT_MS / 1000.0,
		.address_timeout_s = WM_DERP_DIAL_TIMEOUT_MS / 1000.0,
		.user_timeout_ms = TCP_USER_TIMEOUT_MS,
	};

	/* The dial keeps its part of the deadline; the upgrade and handshake get the rest. */
	c->deadline = ev_now(c->loop) + WM_DERP_CONNECT_TIMEOUT_MS / 1000.0;
	ev_timer_stop(c->loop, &c->timer);
	c->phase = PH_DIALING;
	c->stats.last_error[0] = '\0';
	set_state(c, WM_DERP_CONNECTING, "connecting");
	c->dial = wm_dial_start(c->loop, &dc, on_dialed, c);
	if (!c->dial)
		fail(c, "cannot start a name lookup (out of memory or threads)");
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_derp_client *c = w->data;

	(void)loop;
	c->busy++;
	if (revents & EV_READ)
		on_read(c);
	if (c->fd >= 0)
		flush(c);
	c->busy--;
	maybe_free(c);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_derp_client *c = w->data;
	ev_tstamp now = ev_now(loop);

	(void)revents;
	c->busy++;
	switch (c->phase) {
	case PH_IDLE:
		start_attempt(c);
		break;
	case PH_RUN:
		if (c->state != WM_DERP_CONNECTED) {
			fail(c, "handshake timed out");
			break;
		}
		if (now - c->last_recv >= WM_DERP_READ_TIMEOUT_MS / 1000.0) {
			fail(c, "no frame from the relay in %d s", WM_DERP_READ_TIMEOUT_MS / 1000);
			break;
		}
		if (!c->pinged && now - c->last_recv >= WM_DERP_IDLE_PING_MS / 1000.0) {
			struct wm_derp_msg ping = { .type = WM_DERP_FRAME_PING };

			randombytes_buf(ping.ping, sizeof(ping.ping));
			c->pinged = send_control(c, &ping);
			flush(c);
		}
		if (c->phase == PH_RUN)
			arm_timer(c, c->last_recv + (c->pinged ? WM_DERP_READ_TIMEOUT_MS
							       : WM_DERP_IDLE_PING_MS) / 1000.0);
		break;
	default:
		fail(c, "handshake timed out");
		break;
	}
	c->busy--;
	maybe_free(c);
}

struct wm_derp_client *wm_derp_client_create(struct ev_loop *loop,
					     const struct wm_derp_client_config *cfg, int *err)
{
	struct wm_derp_client *c = calloc(1, sizeof(*c));
	char why[200];
	int e = -ENOMEM;

	if (!c)
		goto fail;
	c->fd = -1;
	c->loop = loop;
	c->cfg = *cfg;
	c->cfg.url = c->url_text;
	c->cfg.ca_file = NULL;
	e = -EINVAL;
	if (!cfg->url || snprintf(c->url_text, sizeof(c->url_text), "%s", cfg->url) >=
				 (int)sizeof(c->url_text) || wm_derp_url_parse(&c->url, cfg->url))
		goto fail;
	if (crypto_scalarmult_base(c->public_key, cfg->node_private_key))
		goto fail;
	e = -ENOMEM;
	if (wm_derp_queue_init(&c->queue, cfg->queue_bytes ? cfg->queue_bytes : WM_DERP_QUEUE_BYTES,
			       cfg->queue_frames ? cfg->queue_frames : WM_DERP_QUEUE_FRAMES))
		goto fail;
	c->rbuf = malloc(RBUF_MIN);
	if (!c->rbuf)
		goto fail;
	c->rcap = RBUF_MIN;
	if (c->url.tls) {
		c->tls_cfg = wm_tls_client_config_new(cfg->ca_file, why, sizeof(why));
		if (!c->tls_cfg) {
			wm_log_error("relay %s: %s", c->url_text, why);
			e = -EIO;
			goto fail;
		}
	}
	wm_backoff_init(&c->backoff, WM_DERP_BACKOFF_MIN_MS, WM_DERP_BACKOFF_MAX_MS);
	ev_init(&c->io, on_io);
	c->io.data = c;
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	start_attempt(c);
	return c;
fail:
	if (c) {
		c->busy = 0;
		wm_derp_client_destroy(c);
	}
	if (err)
		*err = e;
	return NULL;
}

int wm_derp_client_send(struct wm_derp_client *c, const uint8_t dst_key[WM_DERP_KEY_LEN],
			const uint8_t *data, size_t len)
{
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_SEND_PACKET };
	size_t flen = WM_DERP_FRAME_HEADER_LEN + WM_DERP_KEY_LEN + len, dropped;
	uint8_t *slot;

	if (len > WM_DERP_MAX_PACKET_SIZE)
		return -EMSGSIZE;
	slot = wm_derp_queue_reserve(&c->queue, flen, &dropped);
	if (!slot)
		return -EMSGSIZE;	/* larger than the whole queue */
	memcpy(m.packet.key, dst_key, WM_DERP_KEY_LEN);
	m.packet.data = data;
	m.packet.len = len;
	wm_derp_frame_encode(slot, flen, &m);
	if (c->phase == PH_RUN && !(c->io.events & EV_WRITE))
		update_io(c);
	if (!dropped)
		return 0;
	c->stats.drops += dropped;
	return -ENOBUFS;
}

void wm_derp_client_set_preferred(struct wm_derp_client *c, bool preferred)
{
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_NOTE_PREFERRED, .preferred = preferred };

	if (c->cfg.preferred == preferred)
		return;
	c->cfg.preferred = preferred;
	if (c->phase == PH_RUN && send_control(c, &m))
		update_io(c);
}

void wm_derp_client_stats(const struct wm_derp_client *c, struct wm_derp_client_stats *out)
{
	*out = c->stats;
	out->state = c->state;
	out->drops = c->queue.dropped_frames;
	out->dropped_bytes = c->queue.dropped_bytes;
	out->queued_frames = c->queue.count;
	out->queued_bytes = c->queue.bytes;
}

static void maybe_free(struct wm_derp_client *c)
{
	if (!c->doomed || c->busy)
		return;
	close_conn(c);
	ev_timer_stop(c->loop, &c->timer);
	wm_derp_queue_free(&c->queue);
	wm_tls_config_free(c->tls_cfg);
	free(c->rbuf);
	free(c->wire);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

void wm_derp_client_destroy(struct wm_derp_client *c)
{
	if (!c)
		return;
	c->doomed = true;
	maybe_free(c);
}
