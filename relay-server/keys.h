/* SPDX-License-Identifier: MIT */
/*
 * The relay's key material on disk: its own private key (created 0600 when missing) and the
 * optional list of client public keys it admits. Errors name the file and line.
 */
#ifndef WM_RELAY_KEYS_H
#define WM_RELAY_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wm_relay_allowlist {
	uint8_t (*keys)[32];	/* sorted */
	size_t count;
};

/*
 * Accepts a key as base64 (wg(8)), 64 hex digits, or with Tailscale's "nodekey:"/"privkey:"
 * prefix before the hex. False when it is none of those.
 */
bool wm_relay_parse_key(const char *text, uint8_t key[32]);

/*
 * Reads the private key at path (any form wm_relay_parse_key takes, or derper's JSON
 * {"PrivateKey":"privkey:…"}); when the file does not exist, writes a new key there in base64
 * with mode 0600 and sets *created. 0, or a negative errno with the reason in err.
 */
int wm_relay_key_file_load(const char *path, uint8_t key[32], bool *created, char *err,
			   size_t errlen);

/* Reads one public key per line (base64, hex or nodekey:hex; blank lines and # comments
 * skipped). 0, or a negative errno with the file and line in err. */
int wm_relay_allowlist_load(struct wm_relay_allowlist *al, const char *path, char *err,
			    size_t errlen);

bool wm_relay_allowlist_has(const struct wm_relay_allowlist *al, const uint8_t key[32]);

void wm_relay_allowlist_free(struct wm_relay_allowlist *al);

#endif
