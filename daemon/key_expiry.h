/* SPDX-License-Identifier: MIT */
/*
 * What `wiremesh status` says about this node's key (docs/identity.md): nothing while it has
 * more than WM_KEY_EXPIRY_WARN_S left (or never expires), a warning in the last days, and once
 * the server refused the node for it, why the node has no mesh and what to run. Pure: the
 * caller gives the clock.
 */
#ifndef WM_KEY_EXPIRY_H
#define WM_KEY_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_KEY_EXPIRY_WARN_S (7 * 86400)	/* Tailscale warns a week ahead too */
/* What a node whose key expired (or will) runs to get a fresh one. */
#define WM_MESH_REAUTH_HINT "wiremesh up --force-reauth --authkey KEY"

enum wm_key_expiry_state {
	WM_KEY_FINE,		/* never expires, or more than a week left */
	WM_KEY_EXPIRES_SOON,	/* within WM_KEY_EXPIRY_WARN_S */
	WM_KEY_EXPIRED,		/* past its expiry, or the server said so */
};

/*
 * The state of a key expiring at key_expiry (unix seconds, 0: never) at now; refused_expired
 * says the server refused the node because its key expired (its clock is the one that counts).
 * A sentence for the user in out (empty when fine). The state.
 */
enum wm_key_expiry_state wm_key_expiry_note(char *out, size_t cap, int64_t key_expiry,
					    int64_t now, bool refused_expired);

/* Whether a refusal message of the coordination server means the key expired. */
bool wm_key_expiry_refusal(const char *coord_state, const char *message);

#endif
