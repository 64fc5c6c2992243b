/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: sealed bodies as the server receives them. The input is opened with a fixed key
 * pair; almost nothing opens, so the second half of the input is also sealed properly and fed
 * to the request parser, as the server does after opening.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord-client/coord_msg.h"
#include "coord-client/coord_seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wm_coord_box node_side, server_side;
static bool ready;

static void setup(void)
{
	uint8_t node_priv[32], server_priv[32], node_pub[32], server_pub[32];

	for (int i = 0; i < 32; i++) {
		node_priv[i] = (uint8_t)(i * 3 + 1);
		server_priv[i] = (uint8_t)(i * 5 + 2);
	}
	wm_coord_public_key(node_pub, node_priv);
	wm_coord_public_key(server_pub, server_priv);
	if (!wm_coord_box_init(&node_side, server_pub, node_priv) ||
	    !wm_coord_box_init(&server_side, node_pub, server_priv))
		abort();
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *plain, *box;
	struct wm_coord_request req;
	ssize_t n;

	if (!ready)
		setup();
	if (size > WM_COORD_REQUEST_MAX + WM_COORD_SEAL_OVERHEAD)
		return 0;
	plain = malloc(size + 1);
	n = wm_coord_open(&server_side, plain, size, data, size);
	if (n >= 0)
		wm_coord_request_parse(&req, (const char *)plain, (size_t)n, NULL, 0);
	box = malloc(size + WM_COORD_SEAL_OVERHEAD);
	n = wm_coord_seal(&node_side, box, size + WM_COORD_SEAL_OVERHEAD, data, size);
	if (n < 0 || wm_coord_open(&server_side, plain, size, box, (size_t)n) != (ssize_t)size ||
	    memcmp(plain, data, size))
		abort();
	box[n - 1] ^= 1;
	if (wm_coord_open(&server_side, plain, size, box, (size_t)n) >= 0)
		abort();
	wm_coord_request_parse(&req, (const char *)data, size, NULL, 0);
	free(box);
	free(plain);
	return 0;
}
