/* SPDX-License-Identifier: MIT */
/*
 * The cross-platform userspace configuration protocol (wireguard.com/xplatform), sans I/O:
 * the daemon reads a request from the UNIX socket, hands it over whole, and writes back the
 * reply. A "set" is parsed completely into a diff (wireguard-tools' model: fields with flags
 * saying which are present) before anything changes, so a malformed request leaves the device
 * as it was. Errors are answered as wireguard-go answers them: "errno=-22" and so on.
 */
#ifndef WM_UAPI_H
#define WM_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/encoding.h"
#include "common/endpoint.h"

struct wm_device;

/* No valid line comes near this; longer ones are refused rather than buffered. */
#define WM_UAPI_MAX_LINE 4096

/* The daemon's side of things the engine cannot do itself; members may be NULL. */
struct wm_uapi_hooks {
	/*
	 * Bind the UDP port (0 = any); report the bound one. 0 or -errno (e.g. -EADDRINUSE).
	 * Called before anything else is changed (after set_fwmark), so a failure leaves the
	 * config untouched. May be asked for the port already bound.
	 */
	int (*bind_port)(void *ctx, uint16_t requested, uint16_t *bound);
	/* Apply SO_MARK to the sockets. 0 or -errno. Called first; undone when binding fails. */
	int (*set_fwmark)(void *ctx, uint32_t mark);
	void *ctx;
};

/* Growable output; data stays NUL-terminated after len. Release with wm_uapi_buf_free. */
struct wm_uapi_buf {
	char *data;
	size_t len, cap;
};

/* Frees data after wiping it (a get dump holds the private key); the buf is empty after. */
void wm_uapi_buf_free(struct wm_uapi_buf *buf);

/* Room for extra more bytes and the NUL after len; a block it outgrows is wiped. 0 or -ENOMEM. */
int wm_uapi_buf_reserve(struct wm_uapi_buf *buf, size_t extra);

/* Drops the first n bytes (a request served), wiping every byte past the new len. */
void wm_uapi_buf_consume(struct wm_uapi_buf *buf, size_t n);

/*
 * Handles one complete request ("get=1\n\n" or "set=1\n...\n\n", not NUL-terminated) and
 * appends the whole reply: the dump then "errno=0\n\n", or "errno=N\n\n" with N a negative
 * errno. Returns 0, -ENOMEM, or -EPROTO when the request is neither get=1 nor set=1 (or a
 * get cut short); the reply is then left as it was and, as wireguard-go does, the daemon
 * closes the connection without answering.
 */
int wm_uapi_handle(struct wm_device *dev, const struct wm_uapi_hooks *hooks, const char *req,
		   size_t len, struct wm_uapi_buf *reply, uint64_t now);

/*
 * For a daemon reading a stream: the length of the first request in buf through *request_len
 * and 0; -EAGAIN while more bytes are needed; -EMSGSIZE when a line runs past
 * WM_UAPI_MAX_LINE (close the connection). At end of stream a set cut short may still be
 * handled: wireguard-go applies what came.
 */
int wm_uapi_frame(const char *buf, size_t len, size_t *request_len);

/* Appends the get dump (without the errno line). 0 or -ENOMEM (buf then unchanged). */
int wm_uapi_get(struct wm_device *dev, struct wm_uapi_buf *out, uint64_t now);

/* Parses and applies the lines after "set=1\n". 0 or a negative errno; see wm_uapi_apply. */
int wm_uapi_set(struct wm_device *dev, const struct wm_uapi_hooks *hooks, const char *body,
		size_t len, uint64_t now);

/* The parsed form of a set, also for tests and for a daemon that wants the error message. */
enum wm_uapi_device_flags {
	WM_UAPI_HAS_PRIVATE_KEY = 1 << 0,	/* all zeros = remove the key */
	WM_UAPI_HAS_LISTEN_PORT = 1 << 1,
	WM_UAPI_HAS_FWMARK = 1 << 2,
	WM_UAPI_REPLACE_PEERS = 1 << 3,
};

enum wm_uapi_peer_flags {
	WM_UAPI_PEER_REMOVE = 1 << 0,		/* every other field is then ignored */
	WM_UAPI_PEER_UPDATE_ONLY = 1 << 1,	/* do not create it */
	WM_UAPI_PEER_HAS_PRESHARED_KEY = 1 << 2,
	WM_UAPI_PEER_HAS_ENDPOINT = 1 << 3,
	WM_UAPI_PEER_HAS_KEEPALIVE = 1 << 4,
	WM_UAPI_PEER_REPLACE_ALLOWEDIPS = 1 << 5,	/* before the allowed-IP changes */
};

struct wm_uapi_allowedip {
	uint8_t addr[16];	/* host bits cleared */
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t cidr;
	bool remove;		/* "allowed_ip=-PREFIX" */
};

struct wm_uapi_peer {
	uint8_t public_key[WM_KEY_LEN];
	uint8_t preshared_key[WM_KEY_LEN];
	struct wm_endpoint endpoint;
	uint16_t persistent_keepalive_interval;
	unsigned flags;
	size_t first_allowedip, allowedip_count;	/* a run of diff->allowedips, in order */
};

struct wm_uapi_diff {
	unsigned flags;
	uint8_t private_key[WM_KEY_LEN];	/* clamped, as wireguard-go stores it */
	uint16_t listen_port;
	uint32_t fwmark;
	struct wm_uapi_peer *peers;		/* in request order; one key may repeat */
	size_t peer_count;
	struct wm_uapi_allowedip *allowedips;
	size_t allowedip_count;
	/* On a parse error: the 1-based line and what was wrong with it. */
	unsigned error_line;
	const char *error;
};

/*
 * Parses a set body. 0; -EINVAL (bad key or value, or a line too long or holding a NUL);
 * -EPROTO (a line without '='); -ENOMEM. Allocates at most in proportion to len.
 * Free with wm_uapi_diff_free whatever it returns.
 */
int wm_uapi_parse_set(struct wm_uapi_diff *diff, const char *body, size_t len);

/*
 * Applies a parsed set: hooks first, then the device. 0, the hook's -errno or -ENOSPC
 * (too many peers) with nothing changed, or -ENOMEM part way through.
 */
int wm_uapi_apply(struct wm_device *dev, const struct wm_uapi_hooks *hooks,
		  const struct wm_uapi_diff *diff, uint64_t now);

/* Frees the diff's arrays and wipes its keys. */
void wm_uapi_diff_free(struct wm_uapi_diff *diff);

#endif
