/* SPDX-License-Identifier: MIT */
/*
 * The node's identity over time (docs/identity.md): rotating the node key (`wiremesh
 * rotate-key`, and `up --force-reauth` once registered) and saying how long the key has left.
 *
 * A rotation keeps traffic flowing: the server moves this node's id and addresses to the new
 * key and tells the peers in the next netmap; only once it has answered does this node switch
 * its WireGuard identity, its relay connections and the key file in the state directory. Each
 * peer then starts a session with the new key as it replaces its entry for this node.
 */
#include "daemon/mesh.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/rng.h"
#include "engine/crypto.h"
#include "engine/send.h"

static void answer(struct wm_mesh *m, const char *text)
{
	if (!m->rotate_conn)
		return;
	wm_control_reply(m->rotate_conn, text, strlen(text));
	m->rotate_conn = NULL;
}

int wm_mesh_rotate_key(struct wm_mesh *m, struct wm_control_conn *conn, char *why, size_t cap)
{
	uint8_t pub[WM_KEY_LEN];
	int r;

	if (m->rotating) {
		snprintf(why, cap, "a key rotation is already under way");
		return -EBUSY;
	}
	if (!m->coord || m->rejected || m->coord_state == WM_COORD_LOGGED_OUT) {
		snprintf(why, cap, "the coordination server does not accept this node now (%s): "
			 "a new key needs `%s`", m->coord_why[0] ? m->coord_why : "stopped",
			 WM_MESH_REAUTH_HINT);
		return -EPERM;
	}
	if (wm_crypto_init()) {
		snprintf(why, cap, "cannot initialise libsodium");
		return -EIO;
	}
	wm_crypto_generate_keypair(m->next_key, pub, &wm_rng_system);
	r = wm_coord_client_rotate_key(m->coord, m->next_key);
	if (r < 0) {
		wm_crypto_wipe(m->next_key, sizeof(m->next_key));
		snprintf(why, cap, "cannot start a key rotation: %s", strerror(-r));
		return r;
	}
	m->rotating = true;
	m->rotate_conn = conn;
	wm_log_verbose("rotating the node key");
	return 0;
}

/* Switches the engine, the relays and the state directory to the key the server took. */
static int take_next_key(struct wm_mesh *m)
{
	int r = wm_device_set_private_key(m->node->dev, m->next_key);

	if (r < 0)
		return r;
	wm_relays_sync_key(&m->node->relays, &m->node->dev->identity);
	/* Between the server's answer and this write a crash would leave the old key on disk,
	 * which the server no longer knows: the node then needs an auth key again. */
	return wm_state_save_node_key(m->state, m->next_key);
}

void wm_mesh_on_rotated(void *ctx, int err, const char *why)
{
	struct wm_mesh *m = ctx;
	char text[WM_KEY_B64_LEN], reply[512];
	int r;

	if (!m->rotating)
		return;
	m->rotating = false;
	if (err < 0) {
		wm_crypto_wipe(m->next_key, sizeof(m->next_key));
		wm_log_error("key rotation refused: %s", why);
		snprintf(reply, sizeof(reply), "{\"error\":\"the coordination server refused the new "
			 "key: %s\"}\n", why);
		answer(m, reply);
		return;
	}
	r = take_next_key(m);
	wm_crypto_wipe(m->next_key, sizeof(m->next_key));
	wm_key_to_base64(text, m->node->dev->identity.public_key);
	if (r < 0) {
		wm_log_error("rotated the node key to %s, but cannot save it: %s", text,
			     strerror(-r));
		snprintf(reply, sizeof(reply), "{\"error\":\"the server took the new key %s, but it "
			 "cannot be saved in the state directory: %s\"}\n", text, strerror(-r));
		answer(m, reply);
		return;
	}
	m->rotations++;
	wm_log_verbose("node key rotated: now %s", text);
	snprintf(reply, sizeof(reply), "{\"ok\":true,\"public_key\":\"%s\"}\n", text);
	answer(m, reply);
}

/*
 * The rotated node switched to its new key when the server answered, before the server told
 * anyone: its first initiation under that key may reach a peer that does not know the key yet
 * and be dropped, and it tries again only after REKEY_TIMEOUT. The peer, now that it knows,
 * starts the session itself; the packets the rotated node staged go out once it completes.
 */
void wm_mesh_greet_rekeyed(struct wm_mesh *m, const struct wm_netmap_diff *d)
{
	uint64_t now = wm_clock_monotonic_ns();

	for (size_t i = 0; i < d->n_changed; i++) {
		struct wm_peer *peer;

		if (!(d->changed[i].what & WM_NETMAP_CHANGED_NODE_KEY))
			continue;
		peer = wm_device_lookup_peer(m->node->dev, d->changed[i].new_peer->node_key);
		if (peer && peer->endpoint.addr.sa.sa_family != AF_UNSPEC)
			wm_send_handshake_initiation(peer, now, false);
	}
}

void wm_mesh_reauth_after_register(struct wm_mesh *m)
{
	char why[256];

	if (!m->force_reauth)
		return;
	m->force_reauth = false;
	if (wm_mesh_rotate_key(m, NULL, why, sizeof(why)) < 0)
		wm_log_error("--force-reauth: %s", why);
}
