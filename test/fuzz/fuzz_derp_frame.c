/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: a byte stream of DERP frames as a client (first byte even) or a server (odd)
 * reads it. Beyond not crashing: every frame that decodes re-encodes to a frame that decodes
 * to the same message, a decoded frame never points outside its payload, and the JSON of the
 * handshake (tried on every payload) parses or is refused without reading past it. The stream
 * reader (wm_derp_reader_feed) hands over the same frames, skips the same ones and consumes
 * the same bytes whether the stream arrives whole or in chunks (the first byte's upper bits).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay-client/derp_frame.h"
#include "relay-client/derp_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[WM_DERP_FRAME_HEADER_LEN + 2 * WM_DERP_KEY_LEN + (1u << 20) + 64];

static void check_inside(const void *p, size_t len, const uint8_t *payload, size_t plen)
{
	const uint8_t *q = p;

	if (len && (q < payload || q + len > payload + plen))
		abort();
}

static void check_round_trip(const struct wm_derp_msg *m, enum wm_derp_role role)
{
	struct wm_derp_msg again;
	ssize_t n = wm_derp_frame_encode(out, sizeof(out), m);
	uint32_t plen;
	uint8_t type;

	/* Frames decoded as a client may carry bytes beyond what the encoder writes. */
	if (n < 0)
		return;
	if (wm_derp_frame_header_decode(out, (size_t)n, &type, &plen) || type != m->type ||
	    plen + WM_DERP_FRAME_HEADER_LEN != (size_t)n)
		abort();
	if (wm_derp_frame_decode(&again, role, type, out + WM_DERP_FRAME_HEADER_LEN, plen))
		abort();
	switch (type) {
	case WM_DERP_FRAME_SEND_PACKET:
	case WM_DERP_FRAME_RECV_PACKET:
		if (memcmp(again.packet.key, m->packet.key, 32) || again.packet.len != m->packet.len ||
		    memcmp(again.packet.data, m->packet.data, m->packet.len))
			abort();
		break;
	case WM_DERP_FRAME_PEER_GONE:
		if (memcmp(&again.peer_gone, &m->peer_gone, sizeof(m->peer_gone)))
			abort();
		break;
	case WM_DERP_FRAME_PING:
	case WM_DERP_FRAME_PONG:
		if (memcmp(again.ping, m->ping, 8))
			abort();
		break;
	case WM_DERP_FRAME_NOTE_PREFERRED:
		if (again.preferred != m->preferred)
			abort();
		break;
	default:
		break;
	}
}

/* What a reader handed over: a hash of every frame, their count, the bytes consumed. */
struct seen {
	uint64_t hash;
	size_t frames, consumed;
};

/* Odd types over 64 bytes are skipped, type 0xff stops the reader, the rest are read whole. */
static int reader_header(void *ctx, uint8_t type, uint32_t len)
{
	(void)ctx;
	if (type == 0xff)
		return -1;
	return (type & 1) && len > 64 ? WM_DERP_READ_SKIP : WM_DERP_READ_WHOLE;
}

static int reader_frame(void *ctx, uint8_t type, const uint8_t *payload, size_t len)
{
	struct seen *s = ctx;

	s->hash = (s->hash ^ type) * 0x100000001b3ull;
	s->hash = (s->hash ^ len) * 0x100000001b3ull;
	for (size_t i = 0; i < len; i++)
		s->hash = (s->hash ^ payload[i]) * 0x100000001b3ull;
	s->frames++;
	return 0;
}

static const struct wm_derp_reader_ops reader_ops = { reader_header, reader_frame };

/* Feeds data in chunks of step bytes, keeping what is not consumed as a connection does. */
static void read_stream(struct seen *s, const uint8_t *data, size_t size, size_t step)
{
	static uint8_t buf[1 << 16];
	struct wm_derp_reader r = { 0 };
	size_t have = 0, off = 0;

	memset(s, 0, sizeof(*s));
	s->hash = 0xcbf29ce484222325ull;
	while (off < size) {
		size_t chunk = size - off < step ? size - off : step;
		ssize_t n;

		if (have + chunk > sizeof(buf))
			return;
		memcpy(buf + have, data + off, chunk);
		have += chunk;
		off += chunk;
		n = wm_derp_reader_feed(&r, buf, have, &reader_ops, s);
		if (n < 0 || (size_t)n > have) {
			if (n > 0)
				abort();
			s->consumed = SIZE_MAX;	/* stopped: the same frame must stop both reads */
			return;
		}
		memmove(buf, buf + n, have - (size_t)n);
		have -= (size_t)n;
		s->consumed += (size_t)n;
	}
}

static void check_reader(const uint8_t *data, size_t size, size_t step)
{
	struct seen whole, chunked;

	if (size > (1 << 16))
		return;
	read_stream(&whole, data, size, size ? size : 1);
	read_stream(&chunked, data, size, step);
	if (whole.hash != chunked.hash || whole.frames != chunked.frames ||
	    whole.consumed != chunked.consumed)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum wm_derp_role role;
	size_t pos = 1;

	if (size < 1)
		return 0;
	role = data[0] & 1 ? WM_DERP_ROLE_SERVER : WM_DERP_ROLE_CLIENT;
	check_reader(data + 1, size - 1, (size_t)(data[0] >> 1) + 1);
	while (pos < size) {
		struct wm_derp_client_info ci;
		struct wm_derp_server_info si;
		struct wm_derp_msg m;
		const uint8_t *p;
		uint32_t plen;
		uint8_t type;
		int r;

		if (wm_derp_frame_header_decode(data + pos, size - pos, &type, &plen))
			break;
		pos += WM_DERP_FRAME_HEADER_LEN;
		if (plen > size - pos)
			plen = (uint32_t)(size - pos);	/* a truncated last frame: decode what is there */
		p = data + pos;
		r = wm_derp_frame_decode(&m, role, type, p, plen);
		if (r == 0) {
			if (type == WM_DERP_FRAME_SEND_PACKET || type == WM_DERP_FRAME_RECV_PACKET)
				check_inside(m.packet.data, m.packet.len, p, plen);
			if (type == WM_DERP_FRAME_CLIENT_INFO)
				check_inside(m.client_info.sealed, m.client_info.sealed_len, p, plen);
			if (type == WM_DERP_FRAME_HEALTH)
				check_inside(m.health.text, m.health.len, p, plen);
			check_round_trip(&m, role);
		} else if (r != -ENOMSG && r != -EBADMSG) {
			abort();
		}
		wm_derp_client_info_parse(&ci, (const char *)p, plen);
		wm_derp_server_info_parse(&si, (const char *)p, plen);
		pos += plen;
	}
	return 0;
}
