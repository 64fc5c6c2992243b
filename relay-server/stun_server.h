/* SPDX-License-Identifier: MIT */
/*
 * The relay's STUN binding server (net/stunserver/stunserver.go) on the relay's loop: every
 * well-formed binding request is answered with the address it came from, sent from the address
 * it came to.
 */
#ifndef WM_RELAY_STUN_SERVER_H
#define WM_RELAY_STUN_SERVER_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct wm_relay_stun;

struct wm_relay_stun_counters {
	uint64_t requests, replies, bad;
};

/* Serves STUN on the UDP address sa (text names it in errors), counting into n. NULL with the
 * reason in err. */
struct wm_relay_stun *wm_relay_stun_start(struct ev_loop *loop, const char *text,
					  const struct sockaddr *sa, socklen_t len,
					  struct wm_relay_stun_counters *n, char *err,
					  size_t errlen);

void wm_relay_stun_stop(struct wm_relay_stun *s);

/* The socket, to learn the bound address. */
int wm_relay_stun_fd(const struct wm_relay_stun *s);

#endif
