/* SPDX-License-Identifier: MIT */
/*
 * The DERP protocol on an upgraded relay connection (derp/derpserver/derpserver.go): server key,
 * client info, registration (a newer connection for a key replaces the older one), then frames:
 * packets routed by destination key into the receiver's bounded queues, pings, note-preferred,
 * and peer-gone both for departed senders and (rate limited) for unknown destinations. These
 * are the relay's struct wm_relay_conn_ops; the connections' ctx is the struct wm_relay.
 */
#ifndef WM_RELAY_SESSION_H
#define WM_RELAY_SESSION_H

#include <stdbool.h>

#include "relay-server/conn.h"

/* Writes the 101 reply (unless fast start) and the server key frame. */
bool wm_relay_session_greet(struct wm_relay_conn *c, bool fast_start);

/* Parses the frames in rbuf. -1 when the connection was closed. */
int wm_relay_session_input(struct wm_relay_conn *c);

/* Moves queued frames into the write buffer, up to a batch. */
void wm_relay_session_fill(struct wm_relay_conn *c);

/* Called while closing: unregisters the key (peer-gone to those it sent to) and returns
 * queued packets to the pool. */
void wm_relay_session_end(struct wm_relay_conn *c);

#endif
