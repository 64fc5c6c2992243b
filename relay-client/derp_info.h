/* SPDX-License-Identifier: MIT */
/*
 * The sealed JSON of the DERP handshake: ClientInfo (client -> server, in FrameClientInfo after
 * the client's key) and ServerInfo (server -> client). Sealed with NaCl crypto_box (X25519,
 * XSalsa20-Poly1305) as nonce(24) || MAC(16) || ciphertext, the layout of libsodium's
 * crypto_box_easy with the nonce in front (types/key/node.go SealTo/OpenFrom).
 */
#ifndef WM_DERP_INFO_H
#define WM_DERP_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "relay-client/derp_frame.h"

#define WM_DERP_BOX_MAC_LEN 16
#define WM_DERP_BOX_OVERHEAD (WM_DERP_NONCE_LEN + WM_DERP_BOX_MAC_LEN)
#define WM_DERP_INFO_JSON_MAX 256	/* what we write; what we read is bounded by the frame */

/* derp_client.go clientInfo. meshKey and AppName are not used and ignored when read. */
struct wm_derp_client_info {
	int64_t version;	/* omitted when 0 */
	bool can_ack_pings;	/* always written */
	bool is_prober;		/* omitted when false */
};

/* derp.go ServerInfo. */
struct wm_derp_server_info {
	int64_t version;
	int64_t token_bucket_bytes_per_second;	/* omitted when 0 */
	int64_t token_bucket_bytes_burst;	/* omitted when 0 */
};

/* Writes the JSON the Go client writes ({"version":2,"CanAckPings":true}): length or -ENOSPC. */
ssize_t wm_derp_client_info_format(char *out, size_t cap, const struct wm_derp_client_info *in);

/* Reads client info JSON the way Go decodes it: keys case-insensitive, unknown keys and nulls
 * ignored, a wrong value type rejected. 0 or -EBADMSG. */
int wm_derp_client_info_parse(struct wm_derp_client_info *out, const char *json, size_t len);

/* The same two for the server's JSON ({"version":2}). */
ssize_t wm_derp_server_info_format(char *out, size_t cap, const struct wm_derp_server_info *in);
int wm_derp_server_info_parse(struct wm_derp_server_info *out, const char *json, size_t len);

/*
 * Seals msg from my_priv to their_pub under nonce into out (nonce || MAC || ciphertext): the
 * sealed length, -ENOSPC when cap is short, -EINVAL when their_pub is a low-order point.
 */
ssize_t wm_derp_seal(uint8_t *out, size_t cap, const uint8_t *msg, size_t len,
		     const uint8_t their_pub[WM_DERP_KEY_LEN], const uint8_t my_priv[WM_DERP_KEY_LEN],
		     const uint8_t nonce[WM_DERP_NONCE_LEN]);

/* Opens a sealed message into out: the plaintext length, -EBADMSG when it is short or fails to
 * authenticate, -ENOSPC when cap is short. */
ssize_t wm_derp_open(uint8_t *out, size_t cap, const uint8_t *sealed, size_t len,
		     const uint8_t their_pub[WM_DERP_KEY_LEN],
		     const uint8_t my_priv[WM_DERP_KEY_LEN]);

#endif
