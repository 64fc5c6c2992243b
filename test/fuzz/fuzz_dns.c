/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: DNS queries as the node's resolver gets them from the host (daemon/dns.c). Beyond
 * not crashing: an answer parses as a response to the same id, within the UDP size; a SERVFAIL
 * built for the input does too.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "daemon/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wm_dns_names names;

static void make_names(void)
{
	static struct wm_netmap_peer peers[2];
	struct wm_netmap nm;

	memset(&nm, 0, sizeof(nm));
	strcpy(nm.dns_suffix, "mesh.internal");
	strcpy(nm.self.name, "alpha");
	inet_pton(AF_INET, "100.64.0.1", &nm.self.ipv4);
	strcpy(peers[0].name, "beta");
	inet_pton(AF_INET, "100.64.0.2", &peers[0].ipv4);
	strcpy(peers[1].name, "gamma");
	inet_pton(AF_INET, "100.64.0.3", &peers[1].ipv4);
	nm.peers = peers;
	nm.n_peers = 2;
	if (wm_dns_names_build(&names, &nm))
		abort();
}

/* out[0..len) is a response with id that ldns reads, at most WM_DNS_UDP_MAX bytes. */
static void check_response(const uint8_t *out, size_t len, uint16_t id)
{
	if (len > WM_DNS_UDP_MAX || !wm_dns_is_response(out, len, id))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[WM_DNS_UDP_MAX];
	size_t out_len = 0;
	const char *why = NULL;
	uint16_t id;

	if (!names.names)
		make_names();
	switch (wm_dns_answer(&names, data, size, out, sizeof(out), &out_len, &why)) {
	case WM_DNS_ANSWER:
		if (size < 2)
			abort();
		id = (uint16_t)(data[0] << 8 | data[1]);
		check_response(out, out_len, id);
		break;
	case WM_DNS_DROP:
		if (!why)
			abort();
		break;
	case WM_DNS_FORWARD:
		break;
	}
	if (wm_dns_servfail(data, size, out, sizeof(out), &out_len))
		check_response(out, out_len, (uint16_t)(data[0] << 8 | data[1]));
	return 0;
}
