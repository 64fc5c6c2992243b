/* SPDX-License-Identifier: MIT */
/*
 * The systemd notification protocol (sd_notify(3)), spoken directly: one datagram of
 * "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET. Done here rather than with
 * libsystemd so that the node needs no extra library and works the same under any service
 * manager that sets NOTIFY_SOCKET (systemd, s6 adapters, a test's socket). Nothing is sent,
 * and nothing fails, when NOTIFY_SOCKET is unset.
 */
#ifndef WM_SD_NOTIFY_H
#define WM_SD_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

/*
 * Turns NOTIFY_SOCKET's value into an address: "/path" (a file system socket) or "@name" (an
 * abstract one). 0, or -EINVAL (empty, relative, or another family such as vsock:) or
 * -ENAMETOOLONG.
 */
int wm_sd_notify_address(const char *text, struct sockaddr_un *sa, socklen_t *len);

/*
 * Sends state ("READY=1", "STATUS=…", "STOPPING=1", several joined by '\n') to $NOTIFY_SOCKET.
 * 1 when sent, 0 when NOTIFY_SOCKET is unset, -errno when it could not be sent (the caller
 * logs it; a service manager that does not listen is not the node's failure).
 */
int wm_sd_notify(const char *state);

/* "STATUS=<message>" with only the message's first line (the protocol is line based). */
int wm_sd_notify_status(const char *message);

#endif
