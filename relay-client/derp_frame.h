/* SPDX-License-Identifier: MIT */
/*
 * The DERP frame codec, pure: every frame type of Tailscale's relay protocol, encoded into and
 * decoded from caller buffers with the length checked before anything is read. Source of truth:
 * tailscale/tailscale derp/derp.go (types, limits), derp/derp_client.go (what a client accepts),
 * derp/derpserver/derpserver.go (what a server accepts). All integers are big-endian.
 *
 * A frame is type(1) || length(4) || payload(length); the length excludes the 5-byte header.
 */
#ifndef WM_DERP_FRAME_H
#define WM_DERP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* derp/derp.go: sizes and limits. */
#define WM_DERP_KEY_LEN 32
#define WM_DERP_NONCE_LEN 24
#define WM_DERP_FRAME_HEADER_LEN 5
#define WM_DERP_MAGIC "DERP\xf0\x9f\x94\x91"	/* "DERP" + U+1F511, 8 bytes */
#define WM_DERP_MAGIC_LEN 8
#define WM_DERP_PROTOCOL_VERSION 2
#define WM_DERP_MAX_PACKET_SIZE 65536		/* MaxPacketSize: data only, keys excluded */
#define WM_DERP_MAX_INFO_LEN (1u << 20)		/* maxInfoLen: ServerInfo JSON on the client */
#define WM_DERP_KEEPALIVE_SEC 60		/* KeepAlive; the server adds 0-5 s of jitter */
#define WM_DERP_CLIENT_MAX_FRAME (1u << 20)	/* derp_client.go recv: larger frames kill the conn */
#define WM_DERP_SERVER_KEY_MIN (WM_DERP_MAGIC_LEN + WM_DERP_KEY_LEN)	/* recvServerKey: 40 */
#define WM_DERP_SERVER_KEY_MAX 1024		/* recvServerKey reads at most 1 KiB */
#define WM_DERP_CLIENT_INFO_MIN (WM_DERP_KEY_LEN + WM_DERP_NONCE_LEN)	/* recvClientKey: 56 */
#define WM_DERP_CLIENT_INFO_MAX (256u << 10)	/* recvClientKey: 256 KiB */
#define WM_DERP_PING_LEN 8
#define WM_DERP_PING_MAX 1000			/* handleFramePing: longer pings close the conn */
#define WM_DERP_PEER_PRESENT_LEN (WM_DERP_KEY_LEN + 16 + 2 + 1)	/* key, ip16, port, flags */

/* derp/derp.go: frame types. 0x0b-0x0f are unused. */
enum wm_derp_frame_type {
	WM_DERP_FRAME_SERVER_KEY = 0x01,	/* S->C magic(8) || server key(32) [|| future] */
	WM_DERP_FRAME_CLIENT_INFO = 0x02,	/* C->S client key(32) || nonce(24) || box(json) */
	WM_DERP_FRAME_SERVER_INFO = 0x03,	/* S->C nonce(24) || box(json) */
	WM_DERP_FRAME_SEND_PACKET = 0x04,	/* C->S dst key(32) || packet */
	WM_DERP_FRAME_RECV_PACKET = 0x05,	/* S->C src key(32) || packet (protocol v2) */
	WM_DERP_FRAME_KEEP_ALIVE = 0x06,	/* S->C empty */
	WM_DERP_FRAME_NOTE_PREFERRED = 0x07,	/* C->S 1 byte: 1 = my home relay */
	WM_DERP_FRAME_PEER_GONE = 0x08,		/* S->C key(32) [|| reason(1)] */
	WM_DERP_FRAME_PEER_PRESENT = 0x09,	/* S->C key(32) [|| ip(16) || port(2) [|| flags(1)]] */
	WM_DERP_FRAME_FORWARD_PACKET = 0x0a,	/* C->S (mesh) src(32) || dst(32) || packet */
	WM_DERP_FRAME_WATCH_CONNS = 0x10,	/* C->S (mesh) empty */
	WM_DERP_FRAME_CLOSE_PEER = 0x11,	/* C->S (mesh) key(32) */
	WM_DERP_FRAME_PING = 0x12,		/* both: 8 bytes (a server accepts up to 1000) */
	WM_DERP_FRAME_PONG = 0x13,		/* both: the 8 bytes of the ping */
	WM_DERP_FRAME_HEALTH = 0x14,		/* S->C text; empty = healthy again */
	WM_DERP_FRAME_RESTARTING = 0x15,	/* S->C reconnect_in_ms(4) || try_for_ms(4) */
};

/* derp/derp.go PeerGoneReasonType. */
enum wm_derp_peer_gone_reason {
	WM_DERP_PEER_GONE_DISCONNECTED = 0x00,	/* a peer that sent to you left */
	WM_DERP_PEER_GONE_NOT_HERE = 0x01,	/* you sent to a key the server does not have */
};

/* derp/derp.go PeerPresentFlags. */
enum wm_derp_peer_present_flags {
	WM_DERP_PRESENT_REGULAR = 0x01,
	WM_DERP_PRESENT_MESH_PEER = 0x02,
	WM_DERP_PRESENT_PROBER = 0x04,
	WM_DERP_PRESENT_NOT_IDEAL = 0x08,
};

/* Who decodes: the frame types each side knows differ, the rest is skipped. */
enum wm_derp_role {
	WM_DERP_ROLE_CLIENT,	/* decoding what a server sent */
	WM_DERP_ROLE_SERVER,	/* decoding what a client sent */
};

/* One decoded frame. Pointers alias the payload that was decoded. */
struct wm_derp_msg {
	uint8_t type;
	union {
		uint8_t key[WM_DERP_KEY_LEN];	/* SERVER_KEY, CLOSE_PEER */
		struct {
			uint8_t key[WM_DERP_KEY_LEN];	/* the client's public key */
			const uint8_t *sealed;		/* nonce || box */
			size_t sealed_len;
		} client_info;
		struct {
			const uint8_t *sealed;		/* nonce || box */
			size_t sealed_len;
		} server_info;
		struct {
			uint8_t key[WM_DERP_KEY_LEN];	/* destination (SEND) or source (RECV) */
			const uint8_t *data;
			size_t len;
		} packet;
		struct {
			uint8_t src[WM_DERP_KEY_LEN], dst[WM_DERP_KEY_LEN];
			const uint8_t *data;
			size_t len;
		} forward;
		bool preferred;
		struct {
			uint8_t key[WM_DERP_KEY_LEN];
			uint8_t reason;		/* 0 when the frame has none (old servers) */
		} peer_gone;
		struct {
			uint8_t key[WM_DERP_KEY_LEN];
			bool has_endpoint;
			uint8_t ip[16];		/* IPv6, or IPv4-mapped */
			uint16_t port;
			uint8_t flags;		/* 0 when absent (old servers) */
		} peer_present;
		uint8_t ping[WM_DERP_PING_LEN];	/* PING, PONG */
		struct {
			const char *text;	/* not NUL-terminated */
			size_t len;
		} health;
		struct {
			uint32_t reconnect_in_ms, try_for_ms;
		} restarting;
		struct {
			const uint8_t *data;	/* any other type, for encoding only */
			size_t len;
		} raw;
	};
};

/* Writes the 5-byte header. */
void wm_derp_frame_header_encode(uint8_t out[WM_DERP_FRAME_HEADER_LEN], uint8_t type,
				 uint32_t payload_len);

/* Reads the header from buf: 0, or -EAGAIN when fewer than 5 bytes are there. */
int wm_derp_frame_header_decode(const uint8_t *buf, size_t len, uint8_t *type,
				uint32_t *payload_len);

/* What a reader does with a frame whose header it has seen. */
enum wm_derp_read_action {
	WM_DERP_READ_WHOLE = 0,	/* wait for the whole payload and hand the frame over */
	WM_DERP_READ_SKIP = 1,	/* discard the payload unread (it may not fit any buffer) */
};

/* A stream reader's decisions, for a relay client and a relay server alike. */
struct wm_derp_reader_ops {
	/* The next frame's header: a wm_derp_read_action, or a negative value that stops the
	 * reader. Called again for the same frame while its payload is incomplete. */
	int (*header)(void *ctx, uint8_t type, uint32_t len);
	/* A whole frame, the payload valid during the call: 0 goes on, negative stops. */
	int (*frame)(void *ctx, uint8_t type, const uint8_t *payload, size_t len);
};

/* The reader's state between calls: what is left of a skipped payload. */
struct wm_derp_reader {
	size_t skip;
};

/*
 * Splits the stream bytes buf[0, len) into frames for ops. Returns how many bytes it consumed
 * (the caller drops them and keeps the rest, a partial frame, for the next call), or the first
 * negative value a callback returned (then the caller is done with the stream).
 */
ssize_t wm_derp_reader_feed(struct wm_derp_reader *r, const uint8_t *buf, size_t len,
			    const struct wm_derp_reader_ops *ops, void *ctx);

/* Payload length m would encode to, or -EMSGSIZE when a field is over its limit. */
ssize_t wm_derp_frame_payload_len(const struct wm_derp_msg *m);

/*
 * Encodes m as a whole frame into out: the frame length, -ENOSPC when cap is too small, or
 * -EMSGSIZE when a packet exceeds WM_DERP_MAX_PACKET_SIZE or a field its limit.
 */
ssize_t wm_derp_frame_encode(uint8_t *out, size_t cap, const struct wm_derp_msg *m);

/*
 * Decodes one payload of the given type as role receives it. 0 and *m filled; -ENOMSG for a
 * type that role does not handle (skip it: both Tailscale peers do); -EBADMSG for a known
 * type with a length the protocol forbids (a server closes the connection; a client drops
 * the frame, except during the handshake).
 */
int wm_derp_frame_decode(struct wm_derp_msg *m, enum wm_derp_role role, uint8_t type,
			 const uint8_t *payload, size_t len);

/* True when the packet starts like a disco message (disco/disco.go LooksLikeDiscoWrapper). */
bool wm_derp_looks_like_disco(const uint8_t *data, size_t len);

/* A short name for logs ("send-packet", "0x0b"). buf holds unknown names. */
const char *wm_derp_frame_name(uint8_t type, char buf[8]);

#endif
