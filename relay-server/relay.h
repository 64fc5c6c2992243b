/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-relay: a DERP relay and STUN server on one libev loop. relay.c binds the listeners,
 * accepts connections (conn.c) and gives them the DERP session (session.c) and the plain pages
 * (pages.c); its state is in state.h.
 */
#ifndef WM_RELAY_H
#define WM_RELAY_H

#include <stddef.h>

#include <ev.h>

#include "relay-server/state.h"

/* Binds the listeners and loads keys and certificates. 0, or a negative errno with the reason
 * in err. The relay runs as long as the loop does. */
int wm_relay_start(struct wm_relay *r, struct ev_loop *loop, const struct wm_relay_config *cfg,
		   char *err, size_t errlen);

/* Closes every connection and listener and frees everything. */
void wm_relay_stop(struct wm_relay *r);

/* Rereads the --verify-clients file; on error the old list stays. 0 or a negative errno. */
int wm_relay_reload_allowlist(struct wm_relay *r, char *err, size_t errlen);

#endif
