/* SPDX-License-Identifier: MIT */
/*
 * The mesh node's state directory (`wiremesh up --state DIR`): what a restarted node needs to
 * keep its identity and to work while the coordination server is away. Plain blocking file I/O
 * (rare operations). Every file is replaced atomically (temp file, fsync, rename, fsync of the
 * directory) and read with a size bound; every file is mode 0600 in a directory of mode 0700
 * (0710 with an operator group, which may then reach the control socket but list nothing).
 *
 *   node.key       the node's WireGuard private key, as `wg genkey` writes it
 *   server.key     the coordination server's public key, pinned on first use (hex)
 *   netmap.json    the last netmap, as the JSON of a poll answer (coord-client/coord_msg.h)
 *   coord.url      the coordination URL the state belongs to
 *   wiremesh.sock  the control socket (made by the daemon, not here)
 */
#ifndef WM_STATE_H
#define WM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coord-client/netmap.h"

#define WM_STATE_DEFAULT_DIR "/var/lib/wiremesh"
#define WM_STATE_SOCKET_NAME "wiremesh.sock"
#define WM_STATE_URL_MAX 2048		/* longest coordination URL kept */

enum { WM_STATE_DIR_MAX = 256 };

struct wm_state {
	char dir[WM_STATE_DIR_MAX];	/* absolute, no trailing '/' */
	int dirfd;			/* -1 when closed */
};

/*
 * Opens DIR, creating it (mode 0700; its parent must exist) when missing. An existing directory
 * not owned by the effective uid is refused (-EPERM); its mode is set to 0700, or to 0710 with
 * group operator_gid when operator_gid != (gid_t)-1. 0 or -errno with a sentence in err that
 * names the path and what to do.
 */
int wm_state_open(struct wm_state *st, const char *dir, gid_t operator_gid, char *err,
		  size_t errlen);

/* Closes the directory; safe to call twice. */
void wm_state_close(struct wm_state *st);

/*
 * Loads node.key, or when it is missing generates a clamped X25519 private key and writes it
 * (*created says which). A key file readable by others is set to 0600 first; a malformed one is
 * -EBADMSG (err names it) and is never replaced. 0 or -errno.
 */
int wm_state_node_key(struct wm_state *st, uint8_t key[WM_KEY_LEN], bool *created, char *err,
		      size_t errlen);

/* Replaces node.key (after a key rotation). 0 or -errno. */
int wm_state_save_node_key(struct wm_state *st, const uint8_t key[WM_KEY_LEN]);

/* server.key: 0 with *found false when absent; -EBADMSG (err) when malformed. */
int wm_state_load_server_key(struct wm_state *st, uint8_t key[WM_KEY_LEN], bool *found,
			     char *err, size_t errlen);

int wm_state_save_server_key(struct wm_state *st, const uint8_t key[WM_KEY_LEN]);

/* Replaces netmap.json with nm; a netmap of version 0 (none) removes it. 0 or -errno. */
int wm_state_save_netmap(struct wm_state *st, const struct wm_netmap *nm);

/*
 * netmap.json into nm (owned by the caller then: wm_netmap_free()). 0 with *found false when
 * absent; -EBADMSG or -EFBIG with err when damaged, which the caller reports and ignores.
 */
int wm_state_load_netmap(struct wm_state *st, struct wm_netmap *nm, bool *found, char *err,
			 size_t errlen);

/*
 * coord.url: 0 with *found false when absent; -EBADMSG when it is not one line of printable
 * text; -ERANGE when it does not fit in cap.
 */
int wm_state_load_url(struct wm_state *st, char *url, size_t cap, bool *found);

/* 0, or -EINVAL for an empty URL, one longer than WM_STATE_URL_MAX or one with control chars. */
int wm_state_save_url(struct wm_state *st, const char *url);

/*
 * DIR/wiremesh.sock into out. -ENAMETOOLONG when it does not fit in cap or in a sockaddr_un
 * (107 characters).
 */
int wm_state_socket_path(const struct wm_state *st, char *out, size_t cap);

#endif
