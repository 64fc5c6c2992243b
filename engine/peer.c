/* SPDX-License-Identifier: MIT */
#include "engine/peer.h"

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"

bool wm_peer_stage_packet(struct wm_peer *peer, const uint8_t *data, size_t len, bool *evicted)
{
	struct wm_staged_packet *sp;
	uint8_t *buf;

	*evicted = false;
	if (len > WM_MSG_MAX_LEN)
		return false;
	buf = malloc(WM_PACKET_HEADROOM + len + WM_PACKET_TAILROOM);
	if (!buf)
		return false;
	if (len)
		memcpy(buf + WM_PACKET_HEADROOM, data, len);

	if (peer->staged_count == WM_MAX_STAGED_PACKETS) {
		/* Full: the oldest goes, as in the Linux implementation. */
		sp = &peer->staged[peer->staged_head];
		free(sp->buf);
		sp->buf = NULL;
		peer->staged_head = (peer->staged_head + 1) % WM_MAX_STAGED_PACKETS;
		peer->staged_count--;
		*evicted = true;
	}
	sp = &peer->staged[(peer->staged_head + peer->staged_count) % WM_MAX_STAGED_PACKETS];
	sp->buf = buf;
	sp->len = (uint16_t)len;
	peer->staged_count++;
	return true;
}

void wm_peer_clear_staged(struct wm_peer *peer)
{
	while (peer->staged_count) {
		struct wm_staged_packet *sp = &peer->staged[peer->staged_head];

		free(sp->buf);
		sp->buf = NULL;
		peer->staged_head = (peer->staged_head + 1) % WM_MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	peer->staged_head = 0;
}

void wm_peer_clear_session(struct wm_peer *peer, struct wm_index_table *index)
{
	wm_noise_handshake_clear(&peer->handshake, index);
	wm_keypairs_clear(&peer->keypairs, index);
	wm_peer_clear_staged(peer);
}

void wm_peer_set_endpoint(struct wm_peer *peer, const struct wm_endpoint *endpoint)
{
	peer->endpoint = *endpoint;
}

void wm_peer_short_name(const struct wm_peer *peer, char out[12])
{
	char b64[WM_KEY_B64_LEN];

	wm_key_to_base64(b64, peer->public_key);
	memcpy(out, b64, 8);
	memcpy(out + 8, "...", 4);
}
