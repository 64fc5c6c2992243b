/* SPDX-License-Identifier: MIT */
#include "engine/crypt.h"

#include "engine/crypto.h"

void wm_crypt_packets(struct wm_packet *pkts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct wm_packet *p = &pkts[i];
		uint8_t *body = p->data + WM_MSG_DATA_HEADER_LEN;
		size_t body_len = p->len - WM_MSG_DATA_HEADER_LEN;

		if (p->verdict == WM_VERDICT_SEAL) {
			wm_crypto_aead_seal(body, body, body_len - WM_AUTHTAG_LEN, NULL, 0, p->counter,
					    p->key);
			p->verdict = WM_VERDICT_SEND;
		} else if (p->verdict == WM_VERDICT_OPEN) {
			if (wm_crypto_aead_open(body, body, body_len, NULL, 0, p->counter, p->key)) {
				p->verdict = WM_VERDICT_OPENED;
			} else {
				p->verdict = WM_VERDICT_OPEN_FAILED;
			}
		} else {
			continue;
		}
		wm_crypto_wipe(p->key, sizeof(p->key));
	}
}
