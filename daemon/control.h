/* SPDX-License-Identifier: MIT */
/*
 * The control socket of mesh mode (STATE_DIR/wiremesh.sock): `wiremesh status`, `down`, `ip`
 * ask the running daemon through it. One request line per connection, one reply read until
 * EOF. The server side lives on the event loop and never blocks it; the client side is a
 * plain blocking call for the CLI process.
 */
#ifndef WM_CONTROL_H
#define WM_CONTROL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/unix_listener.h"

#define WM_CONTROL_SOCKET_NAME "wiremesh.sock"
/* What a peer that may not use the socket reads before it is closed. */
#define WM_CONTROL_REFUSAL "error: permission denied\n"

enum {
	WM_CONTROL_MAX_CONNECTIONS = 32,
	WM_CONTROL_MAX_LINE = 4096,		/* request bytes, not counting the '\n' */
	WM_CONTROL_MAX_REPLY = 64 << 20,	/* what the client accepts */
};

#define WM_CONTROL_READ_TIMEOUT_S 5.0	/* from accept to a complete request line */
#define WM_CONTROL_WRITE_TIMEOUT_S 30.0	/* a reply that makes no progress that long is dropped */

struct wm_control_conn;

/*
 * Called once per request line (without its '\n', NUL-free). The handler calls
 * wm_control_reply() on conn exactly once, at once or later; until then conn stays valid,
 * even if the client went away, unless wm_control_stop() frees it first.
 */
typedef void (*wm_control_request_fn)(void *ctx, struct wm_control_conn *conn, const char *line);

struct wm_control_server {
	struct ev_loop *loop;
	ev_io accept_watcher;
	int fd;
	bool owns_path;
	char path[WM_UNIX_PATH_MAX];
	gid_t operator_gid;
	uid_t self_uid;
	struct wm_control_conn *conns;
	unsigned conn_count;		/* open connections, pending ones included */
	wm_control_request_fn handle;
	void *ctx;
	/* Set by start to the defaults above; may be lowered afterwards (tests do). */
	double read_timeout_s, write_timeout_s;
};

/*
 * Listens on path: a stale socket nobody answers on is replaced; one that answers gives
 * -EADDRINUSE, anything else at path -EEXIST. Mode 0600, or 0660 with group operator_gid
 * unless that is (gid_t)-1. Peers other than root, this euid, or (when set) a process with
 * operator_gid as primary or supplementary group or whose user is listed in it are sent
 * WM_CONTROL_REFUSAL and closed. 0 or -errno; wm_control_stop() is safe after either.
 */
int wm_control_start(struct wm_control_server *srv, struct ev_loop *loop, const char *path,
		     gid_t operator_gid, wm_control_request_fn fn, void *ctx);

/*
 * Answers conn's request: copies data (the caller keeps its buffer), writes it as the socket
 * drains, then closes. An empty reply reads as "closed without answer" at the client.
 */
void wm_control_reply(struct wm_control_conn *conn, const char *data, size_t len);

/*
 * Closes every connection, the listener, and removes the socket file. Connections still
 * waiting for wm_control_reply() are freed too: the owner must forget every conn it holds
 * when it calls this (the daemon does it only at shutdown, after cancelling its work).
 */
void wm_control_stop(struct wm_control_server *srv);

/*
 * Frames a request from the len bytes a connection sent so far: the line's length once they
 * hold a '\n' within WM_CONTROL_MAX_LINE + 1 bytes (it becomes the line's NUL; what follows is
 * ignored); -EAGAIN while more may complete it, -EMSGSIZE once that many came without one,
 * -EBADMSG when the line holds a NUL. Pure: the server's reader calls it after every read.
 */
int wm_control_parse_line(char *buf, size_t len);

/*
 * Client, blocking: connects to path, sends line + '\n', reads the whole reply into a
 * malloc'd NUL-terminated *reply (*len bytes without the NUL). timeout_s (> 0) bounds it all.
 * 0 or -errno: -ENOENT (no socket: not running), -ECONNREFUSED (stale socket: not running),
 * -EACCES (not allowed), -ETIMEDOUT, -EMSGSIZE (reply over WM_CONTROL_MAX_REPLY, or line over
 * WM_CONTROL_MAX_LINE), -ECONNRESET (closed without answer), -EINVAL (line holds '\n').
 */
int wm_control_request(const char *path, const char *line, double timeout_s, char **reply,
		       size_t *len);

#endif
