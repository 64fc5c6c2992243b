/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_frame.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* disco/disco.go: Magic "TS" + U+1F4AC; a wrapper is magic || key(32) || nonce(24) at least. */
#define DISCO_MAGIC "TS\xf0\x9f\x92\xac"
#define DISCO_MAGIC_LEN 6
#define DISCO_MIN_LEN (DISCO_MAGIC_LEN + 32 + 24)

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void wm_derp_frame_header_encode(uint8_t out[WM_DERP_FRAME_HEADER_LEN], uint8_t type,
				 uint32_t payload_len)
{
	out[0] = type;
	put_be32(out + 1, payload_len);
}

int wm_derp_frame_header_decode(const uint8_t *buf, size_t len, uint8_t *type,
				uint32_t *payload_len)
{
	if (len < WM_DERP_FRAME_HEADER_LEN)
		return -EAGAIN;
	*type = buf[0];
	*payload_len = get_be32(buf + 1);
	return 0;
}

ssize_t wm_derp_reader_feed(struct wm_derp_reader *r, const uint8_t *buf, size_t len,
			    const struct wm_derp_reader_ops *ops, void *ctx)
{
	size_t pos = 0;

	while (pos < len) {
		size_t avail = len - pos;
		uint32_t plen;
		uint8_t type;
		int ret;

		if (r->skip) {
			size_t n = avail < r->skip ? avail : r->skip;

			r->skip -= n;
			pos += n;
			continue;
		}
		if (wm_derp_frame_header_decode(buf + pos, avail, &type, &plen))
			break;
		ret = ops->header(ctx, type, plen);
		if (ret < 0)
			return ret;
		if (ret == WM_DERP_READ_SKIP) {
			r->skip = plen;
			pos += WM_DERP_FRAME_HEADER_LEN;
			continue;
		}
		if (avail - WM_DERP_FRAME_HEADER_LEN < plen)
			break;
		ret = ops->frame(ctx, type, buf + pos + WM_DERP_FRAME_HEADER_LEN, plen);
		if (ret < 0)
			return ret;
		pos += WM_DERP_FRAME_HEADER_LEN + (size_t)plen;
	}
	return (ssize_t)pos;
}

ssize_t wm_derp_frame_payload_len(const struct wm_derp_msg *m)
{
	switch (m->type) {
	case WM_DERP_FRAME_SERVER_KEY:
		return WM_DERP_MAGIC_LEN + WM_DERP_KEY_LEN;
	case WM_DERP_FRAME_CLIENT_INFO:
		if (m->client_info.sealed_len < WM_DERP_NONCE_LEN ||
		    m->client_info.sealed_len > WM_DERP_CLIENT_INFO_MAX - WM_DERP_KEY_LEN)
			return -EMSGSIZE;
		return WM_DERP_KEY_LEN + (ssize_t)m->client_info.sealed_len;
	case WM_DERP_FRAME_SERVER_INFO:
		if (m->server_info.sealed_len < WM_DERP_NONCE_LEN ||
		    m->server_info.sealed_len > WM_DERP_NONCE_LEN + WM_DERP_MAX_INFO_LEN)
			return -EMSGSIZE;
		return (ssize_t)m->server_info.sealed_len;
	case WM_DERP_FRAME_SEND_PACKET:
	case WM_DERP_FRAME_RECV_PACKET:
		if (m->packet.len > WM_DERP_MAX_PACKET_SIZE)
			return -EMSGSIZE;
		return WM_DERP_KEY_LEN + (ssize_t)m->packet.len;
	case WM_DERP_FRAME_FORWARD_PACKET:
		if (m->forward.len > WM_DERP_MAX_PACKET_SIZE)
			return -EMSGSIZE;
		return 2 * WM_DERP_KEY_LEN + (ssize_t)m->forward.len;
	case WM_DERP_FRAME_KEEP_ALIVE:
	case WM_DERP_FRAME_WATCH_CONNS:
		return 0;
	case WM_DERP_FRAME_NOTE_PREFERRED:
		return 1;
	case WM_DERP_FRAME_PEER_GONE:
		return WM_DERP_KEY_LEN + 1;
	case WM_DERP_FRAME_PEER_PRESENT:
		return WM_DERP_PEER_PRESENT_LEN;
	case WM_DERP_FRAME_CLOSE_PEER:
		return WM_DERP_KEY_LEN;
	case WM_DERP_FRAME_PING:
	case WM_DERP_FRAME_PONG:
		return WM_DERP_PING_LEN;
	case WM_DERP_FRAME_HEALTH:
		if (m->health.len > WM_DERP_CLIENT_MAX_FRAME)
			return -EMSGSIZE;
		return (ssize_t)m->health.len;
	case WM_DERP_FRAME_RESTARTING:
		return 8;
	default:
		if (m->raw.len > WM_DERP_CLIENT_MAX_FRAME)
			return -EMSGSIZE;
		return (ssize_t)m->raw.len;
	}
}

ssize_t wm_derp_frame_encode(uint8_t *out, size_t cap, const struct wm_derp_msg *m)
{
	ssize_t plen = wm_derp_frame_payload_len(m);
	uint8_t *p;

	if (plen < 0)
		return plen;
	if (cap < WM_DERP_FRAME_HEADER_LEN || cap - WM_DERP_FRAME_HEADER_LEN < (size_t)plen)
		return -ENOSPC;
	wm_derp_frame_header_encode(out, m->type, (uint32_t)plen);
	p = out + WM_DERP_FRAME_HEADER_LEN;
	switch (m->type) {
	case WM_DERP_FRAME_SERVER_KEY:
		memcpy(p, WM_DERP_MAGIC, WM_DERP_MAGIC_LEN);
		memcpy(p + WM_DERP_MAGIC_LEN, m->key, WM_DERP_KEY_LEN);
		break;
	case WM_DERP_FRAME_CLIENT_INFO:
		memcpy(p, m->client_info.key, WM_DERP_KEY_LEN);
		memcpy(p + WM_DERP_KEY_LEN, m->client_info.sealed, m->client_info.sealed_len);
		break;
	case WM_DERP_FRAME_SERVER_INFO:
		memcpy(p, m->server_info.sealed, m->server_info.sealed_len);
		break;
	case WM_DERP_FRAME_SEND_PACKET:
	case WM_DERP_FRAME_RECV_PACKET:
		memcpy(p, m->packet.key, WM_DERP_KEY_LEN);
		if (m->packet.len)
			memcpy(p + WM_DERP_KEY_LEN, m->packet.data, m->packet.len);
		break;
	case WM_DERP_FRAME_FORWARD_PACKET:
		memcpy(p, m->forward.src, WM_DERP_KEY_LEN);
		memcpy(p + WM_DERP_KEY_LEN, m->forward.dst, WM_DERP_KEY_LEN);
		if (m->forward.len)
			memcpy(p + 2 * WM_DERP_KEY_LEN, m->forward.data, m->forward.len);
		break;
	case WM_DERP_FRAME_KEEP_ALIVE:
	case WM_DERP_FRAME_WATCH_CONNS:
		break;
	case WM_DERP_FRAME_NOTE_PREFERRED:
		p[0] = m->preferred ? 1 : 0;
		break;
	case WM_DERP_FRAME_PEER_GONE:
		memcpy(p, m->peer_gone.key, WM_DERP_KEY_LEN);
		p[WM_DERP_KEY_LEN] = m->peer_gone.reason;
		break;
	case WM_DERP_FRAME_PEER_PRESENT:
		memcpy(p, m->peer_present.key, WM_DERP_KEY_LEN);
		memcpy(p + WM_DERP_KEY_LEN, m->peer_present.ip, 16);
		p[WM_DERP_KEY_LEN + 16] = (uint8_t)(m->peer_present.port >> 8);
		p[WM_DERP_KEY_LEN + 17] = (uint8_t)m->peer_present.port;
		p[WM_DERP_KEY_LEN + 18] = m->peer_present.flags;
		break;
	case WM_DERP_FRAME_CLOSE_PEER:
		memcpy(p, m->key, WM_DERP_KEY_LEN);
		break;
	case WM_DERP_FRAME_PING:
	case WM_DERP_FRAME_PONG:
		memcpy(p, m->ping, WM_DERP_PING_LEN);
		break;
	case WM_DERP_FRAME_HEALTH:
		if (m->health.len)
			memcpy(p, m->health.text, m->health.len);
		break;
	case WM_DERP_FRAME_RESTARTING:
		put_be32(p, m->restarting.reconnect_in_ms);
		put_be32(p + 4, m->restarting.try_for_ms);
		break;
	default:
		if (m->raw.len)
			memcpy(p, m->raw.data, m->raw.len);
		break;
	}
	return WM_DERP_FRAME_HEADER_LEN + plen;
}

/* A send or receive packet: the other end's key, then at most WM_DERP_MAX_PACKET_SIZE bytes. */
static int decode_packet(struct wm_derp_msg *m, const uint8_t *p, size_t len)
{
	if (len < WM_DERP_KEY_LEN || len - WM_DERP_KEY_LEN > WM_DERP_MAX_PACKET_SIZE)
		return -EBADMSG;
	memcpy(m->packet.key, p, WM_DERP_KEY_LEN);
	m->packet.data = p + WM_DERP_KEY_LEN;
	m->packet.len = len - WM_DERP_KEY_LEN;
	return 0;
}

/* What a server accepts from a client (derpserver.go run() and its handlers). */
static int decode_as_server(struct wm_derp_msg *m, const uint8_t *p, size_t len)
{
	switch (m->type) {
	case WM_DERP_FRAME_CLIENT_INFO:
		if (len < WM_DERP_CLIENT_INFO_MIN || len > WM_DERP_CLIENT_INFO_MAX)
			return -EBADMSG;
		memcpy(m->client_info.key, p, WM_DERP_KEY_LEN);
		m->client_info.sealed = p + WM_DERP_KEY_LEN;
		m->client_info.sealed_len = len - WM_DERP_KEY_LEN;
		return 0;
	case WM_DERP_FRAME_SEND_PACKET:
		return decode_packet(m, p, len);
	case WM_DERP_FRAME_FORWARD_PACKET:
		if (len < 2 * WM_DERP_KEY_LEN || len - 2 * WM_DERP_KEY_LEN > WM_DERP_MAX_PACKET_SIZE)
			return -EBADMSG;
		memcpy(m->forward.src, p, WM_DERP_KEY_LEN);
		memcpy(m->forward.dst, p + WM_DERP_KEY_LEN, WM_DERP_KEY_LEN);
		m->forward.data = p + 2 * WM_DERP_KEY_LEN;
		m->forward.len = len - 2 * WM_DERP_KEY_LEN;
		return 0;
	case WM_DERP_FRAME_NOTE_PREFERRED:
		if (len != 1)
			return -EBADMSG;
		m->preferred = p[0] != 0;
		return 0;
	case WM_DERP_FRAME_WATCH_CONNS:
		return len == 0 ? 0 : -EBADMSG;
	case WM_DERP_FRAME_CLOSE_PEER:
		if (len != WM_DERP_KEY_LEN)
			return -EBADMSG;
		memcpy(m->key, p, WM_DERP_KEY_LEN);
		return 0;
	case WM_DERP_FRAME_PING:
		/* The first 8 bytes are echoed; the rest is room for extensions. */
		if (len < WM_DERP_PING_LEN || len > WM_DERP_PING_MAX)
			return -EBADMSG;
		memcpy(m->ping, p, WM_DERP_PING_LEN);
		return 0;
	default:
		return -ENOMSG;	/* handleUnknownFrame: read and discard, including Pong */
	}
}

/* What a client accepts from a server (derp_client.go recvServerKey and Recv). */
static int decode_as_client(struct wm_derp_msg *m, const uint8_t *p, size_t len)
{
	switch (m->type) {
	case WM_DERP_FRAME_SERVER_KEY:
		/* Bytes past the key are reserved for future use and ignored. */
		if (len < WM_DERP_SERVER_KEY_MIN || len > WM_DERP_SERVER_KEY_MAX ||
		    memcmp(p, WM_DERP_MAGIC, WM_DERP_MAGIC_LEN))
			return -EBADMSG;
		memcpy(m->key, p + WM_DERP_MAGIC_LEN, WM_DERP_KEY_LEN);
		return 0;
	case WM_DERP_FRAME_SERVER_INFO:
		if (len < WM_DERP_NONCE_LEN || len > WM_DERP_NONCE_LEN + WM_DERP_MAX_INFO_LEN)
			return -EBADMSG;
		m->server_info.sealed = p;
		m->server_info.sealed_len = len;
		return 0;
	case WM_DERP_FRAME_RECV_PACKET:
		return decode_packet(m, p, len);
	case WM_DERP_FRAME_KEEP_ALIVE:
		return 0;	/* the Go client ignores any payload */
	case WM_DERP_FRAME_PEER_GONE:
		if (len < WM_DERP_KEY_LEN)
			return -EBADMSG;
		memcpy(m->peer_gone.key, p, WM_DERP_KEY_LEN);
		m->peer_gone.reason = len > WM_DERP_KEY_LEN ? p[WM_DERP_KEY_LEN] : 0;
		return 0;
	case WM_DERP_FRAME_PEER_PRESENT:
		/* Old servers send the key alone, or key || ip || port without flags. */
		if (len < WM_DERP_KEY_LEN)
			return -EBADMSG;
		memset(&m->peer_present, 0, sizeof(m->peer_present));
		memcpy(m->peer_present.key, p, WM_DERP_KEY_LEN);
		if (len >= WM_DERP_KEY_LEN + 18) {
			m->peer_present.has_endpoint = true;
			memcpy(m->peer_present.ip, p + WM_DERP_KEY_LEN, 16);
			m->peer_present.port = (uint16_t)(p[WM_DERP_KEY_LEN + 16] << 8 |
							  p[WM_DERP_KEY_LEN + 17]);
		}
		if (len >= WM_DERP_PEER_PRESENT_LEN)
			m->peer_present.flags = p[WM_DERP_KEY_LEN + 18];
		return 0;
	case WM_DERP_FRAME_PING:
	case WM_DERP_FRAME_PONG:
		if (len < WM_DERP_PING_LEN)
			return -EBADMSG;
		memcpy(m->ping, p, WM_DERP_PING_LEN);
		return 0;
	case WM_DERP_FRAME_HEALTH:
		m->health.text = (const char *)p;
		m->health.len = len;
		return 0;
	case WM_DERP_FRAME_RESTARTING:
		if (len < 8)
			return -EBADMSG;
		m->restarting.reconnect_in_ms = get_be32(p);
		m->restarting.try_for_ms = get_be32(p + 4);
		return 0;
	default:
		return -ENOMSG;	/* Recv: "default: continue" */
	}
}

int wm_derp_frame_decode(struct wm_derp_msg *m, enum wm_derp_role role, uint8_t type,
			 const uint8_t *payload, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	if (role == WM_DERP_ROLE_SERVER)
		return decode_as_server(m, payload, len);
	if (len > WM_DERP_CLIENT_MAX_FRAME)
		return -EBADMSG;
	return decode_as_client(m, payload, len);
}

bool wm_derp_looks_like_disco(const uint8_t *data, size_t len)
{
	return len >= DISCO_MIN_LEN && !memcmp(data, DISCO_MAGIC, DISCO_MAGIC_LEN);
}

const char *wm_derp_frame_name(uint8_t type, char buf[8])
{
	static const char *const names[] = {
		[WM_DERP_FRAME_SERVER_KEY] = "server-key",
		[WM_DERP_FRAME_CLIENT_INFO] = "client-info",
		[WM_DERP_FRAME_SERVER_INFO] = "server-info",
		[WM_DERP_FRAME_SEND_PACKET] = "send-packet",
		[WM_DERP_FRAME_RECV_PACKET] = "recv-packet",
		[WM_DERP_FRAME_KEEP_ALIVE] = "keep-alive",
		[WM_DERP_FRAME_NOTE_PREFERRED] = "note-preferred",
		[WM_DERP_FRAME_PEER_GONE] = "peer-gone",
		[WM_DERP_FRAME_PEER_PRESENT] = "peer-present",
		[WM_DERP_FRAME_FORWARD_PACKET] = "forward-packet",
		[WM_DERP_FRAME_WATCH_CONNS] = "watch-conns",
		[WM_DERP_FRAME_CLOSE_PEER] = "close-peer",
		[WM_DERP_FRAME_PING] = "ping",
		[WM_DERP_FRAME_PONG] = "pong",
		[WM_DERP_FRAME_HEALTH] = "health",
		[WM_DERP_FRAME_RESTARTING] = "restarting",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, 8, "0x%02x", type);
	return buf;
}
