/* SPDX-License-Identifier: MIT */
#include "relay-server/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/log.h"
#include "relay-client/derp_http.h"
#include "relay-client/derp_info.h"
#include "relay-server/state.h"

#define UNKNOWN_FRAME_MAX (1u << 20)	/* skipped unread up to this; larger ones close */
#define RUN_FRAME_MAX (WM_DERP_KEY_LEN + WM_DERP_MAX_PACKET_SIZE)
#define NOT_HERE_PER_SEC 1.0		/* derpserver.go peerGoneLim: rate.Every(1s), burst 3 */
#define NOT_HERE_BURST 3.0
#define REPLACED_TEXT "replaced by a newer connection with the same key"

/* The relay whose connection this is. */
static struct wm_relay *relay_of(const struct wm_relay_conn *c)
{
	return c->set->ctx;
}

bool wm_relay_session_greet(struct wm_relay_conn *c, bool fast_start)
{
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_SERVER_KEY };
	char buf[512];
	ssize_t n = 0, f;

	/* handler.go: with Derp-Fast-Start: 1 the client wants no HTTP reply. */
	if (!fast_start)
		n = wm_derp_http_switching_format(buf, sizeof(buf), relay_of(c)->public_key);
	memcpy(m.key, relay_of(c)->public_key, WM_DERP_KEY_LEN);
	f = wm_derp_frame_encode((uint8_t *)buf + n, sizeof(buf) - (size_t)n, &m);
	return n >= 0 && f > 0 && wm_relay_conn_append(c, buf, (size_t)(n + f));
}

static void queue_gone(struct wm_relay_conn *c, const uint8_t key[WM_DERP_KEY_LEN], uint8_t reason)
{
	unsigned slot;

	if (c->phase != WM_RELAY_PH_RUN)
		return;
	if (c->gone_count == WM_RELAY_GONE_MAX) {
		relay_of(c)->n.control_drops++;
		return;
	}
	slot = (c->gone_head + c->gone_count) % WM_RELAY_GONE_MAX;
	memcpy(c->gone[slot].key, key, WM_DERP_KEY_LEN);
	c->gone[slot].reason = reason;
	c->gone_count++;
	if (reason == WM_DERP_PEER_GONE_DISCONNECTED)
		relay_of(c)->n.peer_gone_disconnected++;
	else
		relay_of(c)->n.peer_gone_not_here++;
	wm_relay_conn_kick(c);
}

static void notify_gone(void *ctx, struct wm_relay_keyent *receiver)
{
	const struct wm_relay_keyent *departed = ctx;

	if (receiver->conn)
		queue_gone(receiver->conn, departed->key, WM_DERP_PEER_GONE_DISCONNECTED);
}

void wm_relay_session_end(struct wm_relay_conn *c)
{
	struct wm_relay *r = relay_of(c);
	size_t dropped;

	if (c->ke) {
		struct wm_relay_keyent *ke = c->ke;

		ke->conn = NULL;
		c->ke = NULL;
		r->nclients--;
		if (c->preferred)
			r->nhome--;
		wm_relay_registry_remove(&r->reg, ke, notify_gone, ke);
	}
	dropped = wm_relay_pktq_clear(&c->data, &r->pool) + wm_relay_pktq_clear(&c->disco, &r->pool);
	if (c->cur) {
		wm_relay_pkt_put(&r->pool, c->cur);
		c->cur = NULL;
	}
	r->n.drops_gone += dropped;
}

/* The older connection for a key: it hands over its queue, is told, and closes. */
static void replace(struct wm_relay_conn *old, struct wm_relay_conn *c)
{
	struct wm_relay *r = relay_of(c);

	old->ke = NULL;
	r->nclients--;
	if (old->preferred)
		r->nhome--;
	old->preferred = false;
	c->data = old->data;
	c->disco = old->disco;
	memset(&old->data, 0, sizeof(old->data));
	memset(&old->disco, 0, sizeof(old->disco));
	/* A frame half written cannot be followed by another; then the close says it all. */
	if (!old->cur) {
		struct wm_derp_msg m = { .type = WM_DERP_FRAME_HEALTH,
					 .health = { REPLACED_TEXT, sizeof(REPLACED_TEXT) - 1 } };
		uint8_t frame[WM_DERP_FRAME_HEADER_LEN + sizeof(REPLACED_TEXT)];
		ssize_t n = wm_derp_frame_encode(frame, sizeof(frame), &m);

		if (n > 0)
			wm_relay_conn_append(old, frame, (size_t)n);
	}
	r->n.replaced++;
	wm_log_verbose("%s: %s", old->peer, REPLACED_TEXT);
	wm_relay_conn_finish(old);
}

/* FrameClientInfo: open, check, register, answer with FrameServerInfo. */
static int handshake(struct wm_relay_conn *c, const struct wm_derp_msg *m)
{
	struct wm_relay *r = relay_of(c);
	uint8_t plain[WM_RELAY_CLIENT_INFO_MAX], nonce[WM_DERP_NONCE_LEN];
	uint8_t sealed[WM_DERP_BOX_OVERHEAD + WM_DERP_INFO_JSON_MAX];
	uint8_t frame[WM_DERP_FRAME_HEADER_LEN + sizeof(sealed)];
	struct wm_derp_server_info sinfo = { .version = WM_DERP_PROTOCOL_VERSION };
	struct wm_derp_msg reply = { .type = WM_DERP_FRAME_SERVER_INFO };
	struct wm_derp_client_info info;
	struct wm_relay_keyent *ke;
	char json[WM_DERP_INFO_JSON_MAX], hex[9];
	ssize_t n, jlen;

	n = wm_derp_open(plain, sizeof(plain), m->client_info.sealed, m->client_info.sealed_len,
			 m->client_info.key, r->cfg.private_key);
	if (n < 0 || wm_derp_client_info_parse(&info, (const char *)plain, (size_t)n)) {
		c->set->n.handshake_failures++;
		wm_relay_conn_close(c, n < 0 ? "client info does not open" : "bad client info JSON");
		return -1;
	}
	/* derpserver.go verifyClient: a rejected client just sees the connection close. */
	if (r->verify && !wm_relay_allowlist_has(&r->allow, m->client_info.key)) {
		r->n.not_allowed++;
		wm_relay_conn_close(c, "key not in the --verify-clients list");
		return -1;
	}
	ke = wm_relay_registry_add(&r->reg, m->client_info.key);
	if (!ke) {
		wm_relay_conn_close(c, "out of memory");
		return -1;
	}
	memcpy(c->key, m->client_info.key, WM_DERP_KEY_LEN);
	if (ke->conn)
		replace(ke->conn, c);
	ke->conn = c;
	c->ke = ke;
	r->nclients++;
	c->phase = WM_RELAY_PH_RUN;
	c->deadline = 0;
	c->next_keepalive = ev_now(r->loop) + WM_DERP_KEEPALIVE_SEC + randombytes_uniform(5000) / 1000.0;
	c->not_here_tokens = NOT_HERE_BURST;
	c->not_here_last = ev_now(r->loop);
	wm_relay_conn_rearm(c);

	jlen = wm_derp_server_info_format(json, sizeof(json), &sinfo);
	randombytes_buf(nonce, sizeof(nonce));
	n = wm_derp_seal(sealed, sizeof(sealed), (const uint8_t *)json, (size_t)jlen, c->key,
			 r->cfg.private_key, nonce);
	reply.server_info.sealed = sealed;
	reply.server_info.sealed_len = n > 0 ? (size_t)n : 0;
	n = n > 0 ? wm_derp_frame_encode(frame, sizeof(frame), &reply) : -EINVAL;
	if (n < 0 || !wm_relay_conn_append(c, frame, (size_t)n)) {
		wm_relay_conn_close(c, "cannot send server info");
		return -1;
	}
	sodium_bin2hex(hex, sizeof(hex), c->key, 4);
	wm_log_verbose("%s: key %s connected (protocol version %lld%s)", c->peer, hex,
		       (long long)info.version, info.can_ack_pings ? ", acks pings" : "");
	wm_relay_conn_kick(c);
	return 0;
}

static void not_here(struct wm_relay_conn *c, const uint8_t key[WM_DERP_KEY_LEN])
{
	ev_tstamp now = ev_now(c->set->loop);

	c->not_here_tokens += (now - c->not_here_last) * NOT_HERE_PER_SEC;
	if (c->not_here_tokens > NOT_HERE_BURST)
		c->not_here_tokens = NOT_HERE_BURST;
	c->not_here_last = now;
	if (c->not_here_tokens < 1.0)
		return;
	c->not_here_tokens -= 1.0;
	queue_gone(c, key, WM_DERP_PEER_GONE_NOT_HERE);
}

static void route(struct wm_relay_conn *c, const struct wm_derp_msg *m)
{
	struct wm_relay *r = relay_of(c);
	struct wm_relay_keyent *dst = wm_relay_registry_lookup(&r->reg, m->packet.key);
	struct wm_relay_conn *to = dst ? dst->conn : NULL;
	struct wm_relay_pktq *q;
	struct wm_relay_pkt *p;
	bool disco;

	r->n.packets_recv++;
	r->n.bytes_recv += m->packet.len;
	if (!to) {
		r->n.drops_unknown_dest++;
		not_here(c, m->packet.key);
		return;
	}
	disco = wm_derp_looks_like_disco(m->packet.data, m->packet.len);
	q = disco ? &to->disco : &to->data;
	/* A burst read from one client can outrun the receiver's turn on the loop: try to write
	 * before dropping. Not to ourselves, whose buffers are in use. */
	if (q->count == WM_RELAY_QUEUE_DEPTH && to != c && wm_relay_conn_flush(to)) {
		r->n.drops_gone++;
		return;
	}
	p = wm_relay_pkt_new(&r->pool, c->key, m->packet.data, m->packet.len);
	if (!p) {
		r->n.drops_memory++;
		return;
	}
	if (wm_relay_pktq_push(q, &r->pool, p))
		r->n.drops_queue_full++;
	if (c->ke)
		wm_relay_registry_note_sent(&r->reg, c->ke, dst);
	wm_relay_conn_kick(to);
}

static int run_frame(struct wm_relay_conn *c, uint8_t type, const uint8_t *p, size_t len)
{
	struct wm_relay *r = relay_of(c);
	struct wm_derp_msg m;
	char name[8], why[64];
	int ret = type == WM_DERP_FRAME_CLIENT_INFO
			  ? -ENOMSG	/* only the first frame; later ones are unknown (Go) */
			  : wm_derp_frame_decode(&m, WM_DERP_ROLE_SERVER, type, p, len);

	if (ret == -ENOMSG) {
		r->n.unknown_frames++;
		return 0;
	}
	if (ret) {
		r->n.protocol_errors++;
		snprintf(why, sizeof(why), "bad %s frame (%zu bytes)", wm_derp_frame_name(type, name),
			 len);
		wm_relay_conn_close(c, why);
		return -1;
	}
	switch (type) {
	case WM_DERP_FRAME_SEND_PACKET:
		route(c, &m);
		return 0;
	case WM_DERP_FRAME_NOTE_PREFERRED:
		if (m.preferred != c->preferred) {
			c->preferred = m.preferred;
			if (m.preferred)
				r->nhome++;
			else
				r->nhome--;
			r->n.home_moves++;
		}
		return 0;
	case WM_DERP_FRAME_PING:
		r->n.pings++;
		/* handleFramePing: one pong waits at most; faster pings are ignored. */
		if (!c->pong_pending) {
			c->pong_pending = true;
			memcpy(c->pong, m.ping, WM_DERP_PING_LEN);
			wm_relay_conn_kick(c);
		}
		return 0;
	default:
		/* Forward, watch, close-peer need the mesh key, which this relay has none of. */
		r->n.protocol_errors++;
		snprintf(why, sizeof(why), "%s frame needs the mesh key",
			 wm_derp_frame_name(type, name));
		wm_relay_conn_close(c, why);
		return -1;
	}
}

static bool known_type(uint8_t type)
{
	switch (type) {
	case WM_DERP_FRAME_SEND_PACKET:
	case WM_DERP_FRAME_FORWARD_PACKET:
	case WM_DERP_FRAME_NOTE_PREFERRED:
	case WM_DERP_FRAME_WATCH_CONNS:
	case WM_DERP_FRAME_CLOSE_PEER:
	case WM_DERP_FRAME_PING:
		return true;
	default:
		return false;
	}
}

/* Which frames are read whole, skipped, or end the connection. */
static int frame_header(void *ctx, uint8_t type, uint32_t plen)
{
	struct wm_relay_conn *c = ctx;
	struct wm_relay *r = relay_of(c);
	char why[80], name[8];

	if (c->phase == WM_RELAY_PH_CLIENT_INFO) {
		/* recvClientKey: the first frame must be the client's key and info. */
		if (type != WM_DERP_FRAME_CLIENT_INFO || plen < WM_DERP_CLIENT_INFO_MIN ||
		    plen > WM_RELAY_CLIENT_INFO_MAX) {
			c->set->n.handshake_failures++;
			snprintf(why, sizeof(why), "first frame is %s of %u bytes, not client info",
				 wm_derp_frame_name(type, name), plen);
			wm_relay_conn_close(c, why);
			return -1;
		}
		return WM_DERP_READ_WHOLE;
	}
	if (!known_type(type)) {
		if (plen > UNKNOWN_FRAME_MAX) {
			r->n.protocol_errors++;
			wm_relay_conn_close(c, "oversized unknown frame");
			return -1;
		}
		r->n.unknown_frames++;
		return WM_DERP_READ_SKIP;
	}
	if (plen > RUN_FRAME_MAX) {
		r->n.protocol_errors++;
		snprintf(why, sizeof(why), "%s frame of %u bytes is over the limit",
			 wm_derp_frame_name(type, name), plen);
		wm_relay_conn_close(c, why);
		return -1;
	}
	return WM_DERP_READ_WHOLE;
}

static int frame(void *ctx, uint8_t type, const uint8_t *payload, size_t len)
{
	struct wm_relay_conn *c = ctx;

	if (c->phase == WM_RELAY_PH_CLIENT_INFO) {
		struct wm_derp_msg m;

		wm_derp_frame_decode(&m, WM_DERP_ROLE_SERVER, type, payload, len);
		return handshake(c, &m);
	}
	return run_frame(c, type, payload, len);
}

static const struct wm_derp_reader_ops reader_ops = {
	.header = frame_header,
	.frame = frame,
};

int wm_relay_session_input(struct wm_relay_conn *c)
{
	ssize_t n = wm_derp_reader_feed(&c->reader, c->rbuf, c->rlen, &reader_ops, c);

	if (n < 0)
		return -1;
	memmove(c->rbuf, c->rbuf + n, c->rlen - (size_t)n);
	c->rlen -= (size_t)n;
	return 0;
}

/* Copies as much of the current packet's RecvPacket frame as fits. True when it is done. */
static bool copy_current(struct wm_relay_conn *c)
{
	uint8_t head[WM_DERP_FRAME_HEADER_LEN + WM_DERP_KEY_LEN];
	size_t total = sizeof(head) + c->cur->len;

	wm_derp_frame_header_encode(head, WM_DERP_FRAME_RECV_PACKET,
				    (uint32_t)(WM_DERP_KEY_LEN + c->cur->len));
	memcpy(head + WM_DERP_FRAME_HEADER_LEN, c->cur->src, WM_DERP_KEY_LEN);
	while (c->cur_off < total) {
		size_t room = wm_relay_conn_room(c), n;
		const uint8_t *from;

		if (!room)
			return false;
		if (c->cur_off < sizeof(head)) {
			from = head + c->cur_off;
			n = sizeof(head) - c->cur_off;
		} else {
			from = c->cur->data + (c->cur_off - sizeof(head));
			n = total - c->cur_off;
		}
		if (n > room)
			n = room;
		if (!wm_relay_conn_append(c, from, n))
			return false;
		c->cur_off += n;
	}
	wm_relay_pkt_put(&relay_of(c)->pool, c->cur);
	c->cur = NULL;
	return true;
}

static bool append_msg(struct wm_relay_conn *c, const struct wm_derp_msg *m)
{
	uint8_t frame[WM_DERP_FRAME_HEADER_LEN + WM_DERP_PEER_PRESENT_LEN];
	ssize_t n = wm_derp_frame_encode(frame, sizeof(frame), m);

	return n > 0 && wm_relay_conn_room(c) >= (size_t)n &&
	       wm_relay_conn_append(c, frame, (size_t)n);
}

void wm_relay_session_fill(struct wm_relay_conn *c)
{
	struct wm_relay *r = relay_of(c);

	while (c->wlen - c->woff < WM_RELAY_WIRE_BATCH) {
		struct wm_derp_msg m;
		struct wm_relay_pkt *p;

		if (c->cur) {
			if (!copy_current(c))
				return;
			continue;
		}
		if (c->pong_pending) {
			m.type = WM_DERP_FRAME_PONG;
			memcpy(m.ping, c->pong, WM_DERP_PING_LEN);
			if (!append_msg(c, &m))
				return;
			c->pong_pending = false;
			r->n.pongs++;
			continue;
		}
		if (c->gone_count) {
			m.type = WM_DERP_FRAME_PEER_GONE;
			memcpy(m.peer_gone.key, c->gone[c->gone_head].key, WM_DERP_KEY_LEN);
			m.peer_gone.reason = c->gone[c->gone_head].reason;
			if (!append_msg(c, &m))
				return;
			c->gone_head = (uint8_t)((c->gone_head + 1) % WM_RELAY_GONE_MAX);
			c->gone_count--;
			continue;
		}
		if (c->keepalive_due) {
			m.type = WM_DERP_FRAME_KEEP_ALIVE;
			if (!append_msg(c, &m))
				return;
			c->keepalive_due = false;
			r->n.keepalives++;
			continue;
		}
		p = wm_relay_pktq_pop(&c->disco);
		if (!p)
			p = wm_relay_pktq_pop(&c->data);
		if (!p)
			return;
		r->n.packets_sent++;
		r->n.bytes_sent += p->len;
		c->cur = p;
		c->cur_off = 0;
	}
}
