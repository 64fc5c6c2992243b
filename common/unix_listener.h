/* SPDX-License-Identifier: MIT */
/*
 * A listening UNIX stream socket at a path, for the daemon's servers on the event loop (the
 * UAPI socket, the control socket): a socket file left by a process that died is replaced, one
 * a live process answers on is not; the file is never more open than its final mode.
 */
#ifndef WM_UNIX_LISTENER_H
#define WM_UNIX_LISTENER_H

#include <sys/types.h>

/* What fits in a sockaddr_un's sun_path, with its NUL. */
enum { WM_UNIX_PATH_MAX = 108 };

/*
 * Listens on path with the given backlog; the socket is non-blocking and close-on-exec. A socket
 * file nobody answers on is removed first; one that answers (or whose backlog is full) gives
 * -EADDRINUSE, anything else at path -EEXIST. The file is made with mode's owner bits, then
 * given owner and group (each unless (uid_t)-1 / (gid_t)-1) and then mode. The listening
 * descriptor, or -errno (-ENAMETOOLONG: path over WM_UNIX_PATH_MAX - 1) with nothing left at
 * path.
 */
int wm_unix_listener_open(const char *path, mode_t mode, uid_t owner, gid_t group, int backlog);

/* One waiting connection, non-blocking and close-on-exec: its descriptor, or -errno (-EAGAIN
 * when none waits). */
int wm_unix_listener_accept(int listen_fd);

/* Closes listen_fd (when >= 0) and removes the socket file at path (when not NULL). */
void wm_unix_listener_close(int listen_fd, const char *path);

#endif
