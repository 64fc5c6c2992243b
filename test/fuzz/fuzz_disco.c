/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: disco packets as a node's UDP socket or relay connection hands them over. The input
 * is parsed as an inner message and opened as a sealed packet with a fixed key; almost nothing
 * opens, so it is also sealed properly as an inner message and opened, which must agree with
 * parsing it directly. Whatever parses must encode, seal and open back to the same struct.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "nat/disco.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t peer_pub[WM_DISCO_KEY_LEN], shared[WM_DISCO_SHARED_LEN];
static const uint8_t nonce[WM_DISCO_NONCE_LEN] = { 1, 2, 3 };
static bool ready;

static void setup(void)
{
	/* A fixed shared key; the sender key only has to match what the packet names. */
	for (int i = 0; i < WM_DISCO_SHARED_LEN; i++)
		shared[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < WM_DISCO_KEY_LEN; i++)
		peer_pub[i] = (uint8_t)(0xc0 + i);
	ready = true;
}

/* A parse result must encode and come back identical, bare and sealed. */
static void round_trip(const struct wm_disco_msg *msg, size_t size)
{
	size_t cap = WM_DISCO_HEADER_LEN + size + 64;
	uint8_t *buf = malloc(cap);
	struct wm_disco_msg again;
	ssize_t n;

	n = wm_disco_msg_encode(buf, cap, msg);
	if (n < 0 || (size_t)n > size || wm_disco_msg_parse(buf, (size_t)n, &again) ||
	    memcmp(msg, &again, sizeof(again)))
		abort();
	n = wm_disco_seal(buf, cap, peer_pub, shared, nonce, msg);
	if (n < WM_DISCO_HEADER_LEN || !wm_disco_looks_like(buf, (size_t)n) ||
	    wm_disco_sender(buf, (size_t)n) != buf + WM_DISCO_MAGIC_LEN ||
	    wm_disco_open(buf, (size_t)n, peer_pub, shared, &again) ||
	    memcmp(msg, &again, sizeof(again)))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_disco_msg parsed, opened;
	uint8_t *pkt;
	int r, o;

	if (!ready)
		setup();
	if (size > 1 << 16)
		return 0;

	r = wm_disco_msg_parse(data, size, &parsed);
	if (r == 0)
		round_trip(&parsed, size);
	else if (r != -EBADMSG && r != -ENOMSG)
		abort();
	if (r == 0 && parsed.n_endpoints > WM_DISCO_MAX_ENDPOINTS)
		abort();

	/* As a sealed packet: the input names its own sender, so only the key has to fit. */
	pkt = malloc(WM_DISCO_HEADER_LEN + size);
	memcpy(pkt, data, size);
	if (wm_disco_looks_like(pkt, size) != (size >= WM_DISCO_PREFIX_LEN &&
					      !memcmp(data, WM_DISCO_MAGIC, WM_DISCO_MAGIC_LEN)))
		abort();
	if (size >= WM_DISCO_PREFIX_LEN)
		memcpy(peer_pub, data + WM_DISCO_MAGIC_LEN, WM_DISCO_KEY_LEN);
	o = wm_disco_open(pkt, size, peer_pub, shared, &opened);
	if (o == 0)
		round_trip(&opened, size);
	else if (o != -EBADMSG && o != -ENOMSG)
		abort();
	setup();

	/* The input as the plaintext of a well-sealed packet: opening equals parsing. */
	memcpy(pkt, WM_DISCO_MAGIC, WM_DISCO_MAGIC_LEN);
	memcpy(pkt + WM_DISCO_MAGIC_LEN, peer_pub, WM_DISCO_KEY_LEN);
	memcpy(pkt + WM_DISCO_MAGIC_LEN + WM_DISCO_KEY_LEN, nonce, WM_DISCO_NONCE_LEN);
	if (crypto_box_easy_afternm(pkt + WM_DISCO_HEADER_LEN - WM_DISCO_MAC_LEN, data, size, nonce,
				    shared))
		abort();
	o = wm_disco_open(pkt, WM_DISCO_HEADER_LEN + size, peer_pub, shared, &opened);
	if (o != r || memcmp(&opened, &parsed, sizeof(parsed)))
		abort();
	/* Opening decrypted in place: seal again, then break it. */
	crypto_box_easy_afternm(pkt + WM_DISCO_HEADER_LEN - WM_DISCO_MAC_LEN, data, size, nonce,
				shared);
	pkt[WM_DISCO_HEADER_LEN + size - 1] ^= 0x80;
	if (wm_disco_open(pkt, WM_DISCO_HEADER_LEN + size, peer_pub, shared, &opened) != -EBADMSG)
		abort();
	free(pkt);
	return 0;
}
