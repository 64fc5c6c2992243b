/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the coordination JSON parsers. The first byte picks the parser (request, netmap,
 * register/rotate answer, relay map, error, key, logout). Beyond not crashing: what parses is
 * encoded again and must parse to the same thing (subnet routes included, and every route that
 * parses is one wm_netmap_route_check() allows: an exit node's default routes too).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coord-client/coord_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same routes, in the same order, each one a subnet route may be. */
static void same_routes(const struct wm_netmap_prefix *a, size_t na,
			const struct wm_netmap_prefix *b, size_t nb)
{
	if (na != nb || na > WM_NETMAP_MAX_ROUTES)
		abort();
	for (size_t i = 0; i < na; i++)
		if (wm_netmap_prefix_cmp(&a[i], &b[i]) || wm_netmap_route_check(&a[i], NULL, 0))
			abort();
}

static void check_request(const char *text, size_t len)
{
	struct wm_coord_request a, b;
	char *again;

	if (wm_coord_request_parse(&a, text, len, NULL, 0))
		return;
	again = wm_coord_request_encode(&a);
	if (!again || wm_coord_request_parse(&b, again, strlen(again), NULL, 0) ||
	    memcmp(a.id, b.id, sizeof(a.id)) || a.ts != b.ts || a.type != b.type)
		abort();
	if (a.type == WM_COORD_POLL)
		same_routes(a.u.poll.routes, a.u.poll.n_routes, b.u.poll.routes, b.u.poll.n_routes);
	free(again);
}

static void check_netmap(const char *text, size_t len)
{
	struct wm_coord_poll_resp a, b;
	char *again;

	if (wm_coord_poll_resp_parse(&a, text, len, NULL, 0))
		return;
	again = wm_coord_poll_resp_encode(&a);
	if (!again || wm_coord_poll_resp_parse(&b, again, strlen(again), NULL, 0) ||
	    a.netmap.n_peers != b.netmap.n_peers || a.version != b.version)
		abort();
	for (size_t i = 0; i < a.netmap.n_peers; i++) {
		if (a.netmap.peers[i].id != b.netmap.peers[i].id ||
		    memcmp(a.netmap.peers[i].node_key, b.netmap.peers[i].node_key, 32))
			abort();
		same_routes(a.netmap.peers[i].routes, a.netmap.peers[i].n_routes,
			    b.netmap.peers[i].routes, b.netmap.peers[i].n_routes);
	}
	same_routes(a.netmap.self.approved_routes, a.netmap.self.n_approved_routes,
		    b.netmap.self.approved_routes, b.netmap.self.n_approved_routes);
	free(again);
	wm_netmap_free(&a.netmap);
	wm_netmap_free(&b.netmap);
}

static void check_register(const char *text, size_t len, enum wm_coord_msg_type type)
{
	struct wm_coord_register_resp a, b;
	char *again;

	if (wm_coord_register_resp_parse(&a, type, text, len, NULL, 0))
		return;
	again = wm_coord_register_resp_encode(&a, type);
	if (!again || wm_coord_register_resp_parse(&b, type, again, strlen(again), NULL, 0) ||
	    memcmp(&a.self, &b.self, sizeof(a.self)) || a.relays.n_regions != b.relays.n_regions)
		abort();
	free(again);
	wm_relay_map_free(&a.relays);
	wm_relay_map_free(&b.relays);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	struct wm_relay_map rm;
	uint8_t key[32], id[16];
	char code[32], msg[256], err[WM_COORD_ERR_LEN];

	if (size < 1)
		return 0;
	size--;
	switch (data[0] % 8) {
	case 0: check_request(text, size); break;
	case 1: check_netmap(text, size); break;
	case 2: check_register(text, size, WM_COORD_REGISTER); break;
	case 3: check_register(text, size, WM_COORD_ROTATE); break;
	case 4:
		if (!wm_coord_relay_map_parse(&rm, text, size, err, sizeof(err)))
			wm_relay_map_free(&rm);
		break;
	case 5: wm_coord_error_parse(text, size, code, sizeof(code), msg, sizeof(msg)); break;
	case 6: wm_coord_key_resp_parse(key, text, size, err, sizeof(err)); break;
	default: wm_coord_logout_resp_parse(id, text, size, err, sizeof(err)); break;
	}
	return 0;
}
