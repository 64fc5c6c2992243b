/* SPDX-License-Identifier: MIT */
/*
 * The UAPI UNIX socket (/var/run/wireguard/IFNAME.sock) on the event loop:
 * accepts connections, frames requests, answers them through engine/uapi,
 * never blocking — a slow or stuck client cannot stall packets.
 */
#ifndef WM_UAPI_SERVER_H
#define WM_UAPI_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/unix_listener.h"
#include "engine/uapi.h"

enum {
	WM_UAPI_MAX_CONNECTIONS = 64,
	WM_UAPI_MAX_REQUEST = 32 << 20,	/* a `wg setconf` of many thousand peers fits */
};

#define WM_UAPI_SOCKET_DIR "/var/run/wireguard"

struct wm_uapi_conn;

/* Called for each request: handle it and append the reply. Returns wm_uapi_handle's value. */
typedef int (*wm_uapi_request_fn)(void *ctx, const char *req, size_t len, struct wm_uapi_buf *reply);

struct wm_uapi_server {
	struct ev_loop *loop;
	ev_io accept_watcher;
	int fd;
	bool owns_path;
	char path[WM_UNIX_PATH_MAX];
	struct wm_uapi_conn *conns;
	unsigned conn_count;
	wm_uapi_request_fn handle;
	void *ctx;
};

/*
 * Listens on WM_UAPI_SOCKET_DIR/ifname.sock (mode 0700; a socket left by a
 * process that died is replaced), or adopts listen_fd when >= 0 (wg-quick's
 * WG_UAPI_FD). -EADDRINUSE when another process serves that socket already,
 * -EEXIST when something other than a socket is there. 0 or -errno; *what
 * names the step that failed.
 */
int wm_uapi_server_start(struct wm_uapi_server *srv, struct ev_loop *loop, const char *ifname,
			 int listen_fd, wm_uapi_request_fn handle, void *ctx, const char **what);

/* Closes every connection and the listener, and removes the socket file. */
void wm_uapi_server_stop(struct wm_uapi_server *srv);

#endif
