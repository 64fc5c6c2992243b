/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-demo: two WireGuard engines in one process, joined by an
 * in-memory network, with a clock moved by hand. It shows the handshake,
 * data both ways, a keepalive, a rekey, and what each side would report.
 * Nothing leaves the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "test/inproc.h"

static const char *const names[] = { "alice", "bob" };

static const char *message_name(const uint8_t *data, size_t len)
{
	if (len < 4)
		return "runt";
	switch (data[0]) {
	case WM_MSG_HANDSHAKE_INITIATION: return "handshake initiation";
	case WM_MSG_HANDSHAKE_RESPONSE: return "handshake response";
	case WM_MSG_HANDSHAKE_COOKIE: return "cookie reply";
	case WM_MSG_DATA: return len == WM_MSG_DATA_MIN_LEN ? "keepalive" : "transport data";
	default: return "unknown";
	}
}

static size_t node_index(struct wm_inproc_net *net, const struct wm_endpoint *ep)
{
	return wm_endpoint_equal(ep, &net->nodes[0].addr) ? 0 : 1;
}

static void show_wire_filtered(struct wm_inproc_net *net, size_t *shown, bool handshakes_only)
{
	for (; *shown < net->log_count; (*shown)++) {
		const struct wm_inproc_datagram *dg = &net->log[*shown];
		size_t from = node_index(net, &dg->from);

		if (handshakes_only && dg->data[0] == WM_MSG_DATA)
			continue;

		printf("    %-5s -> %-5s  %-20s %4zu bytes on the wire\n", names[from], names[1 - from],
		       message_name(dg->data, dg->len), dg->len);
	}
}

static void show_wire(struct wm_inproc_net *net, size_t *shown)
{
	show_wire_filtered(net, shown, false);
}

static void show_status(struct wm_inproc_net *net, size_t i)
{
	struct wm_inproc_node *n = &net->nodes[i];
	struct wm_peer *p = wm_device_lookup_peer(n->dev, net->nodes[1 - i].public_key);
	char key[WM_KEY_B64_LEN], ep[WM_ENDPOINT_STR_LEN];
	uint64_t age = 0;

	wm_key_to_base64(key, p->public_key);
	wm_endpoint_format(&p->endpoint, ep);
	if (p->last_handshake_wall_ns)
		age = (wm_device_wall_time(n->dev, net->now) - p->last_handshake_wall_ns) / WM_NSEC_PER_SEC;
	printf("  %s: peer %s\n", names[i], key);
	printf("      endpoint %s, latest handshake %llu s ago, transfer %llu B received, %llu B sent\n",
	       ep, (unsigned long long)age, (unsigned long long)p->rx_bytes,
	       (unsigned long long)p->tx_bytes);
}

static void send_packet(struct wm_inproc_net *net, size_t from, size_t payload, size_t *shown)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net->nodes[from], &net->nodes[1 - from], false,
					   payload, 0);
	size_t before = net->nodes[1 - from].tun_count;
	enum wm_verdict v = wm_inproc_send_ip(net, from, pkt, len);

	printf("  %s's TUN gives the engine a %zu-byte IPv4 packet for 10.0.0.%zu: %s\n", names[from],
	       len, 2 - from, v == WM_VERDICT_SEND ? "sealed and sent" :
	       v == WM_VERDICT_CONSUMED ? "no session yet, staged; handshake started" : "dropped");
	wm_inproc_deliver(net);
	show_wire(net, shown);
	if (net->nodes[1 - from].tun_count > before) {
		const struct wm_inproc_tun_packet *t = &net->nodes[1 - from].tun[before];
		printf("  %s's engine writes %zu bytes to its TUN: %s\n", names[1 - from], t->len,
		       t->len == len && !memcmp(t->data, pkt, len) ? "identical to what was sent" :
								     "DIFFERENT (bug)");
	}
}

int main(int argc, char **argv)
{
	struct wm_inproc_net *net = calloc(1, sizeof(*net));
	char key[WM_KEY_B64_LEN];
	size_t shown = 0, i;
	int ok = 1;

	if (argc > 1) {
		fprintf(stderr, "usage: %s\n  Runs two WireGuard engines in memory and narrates what crosses.\n",
			argv[0]);
		return strcmp(argv[1], "--help") ? 2 : 0;
	}
	wm_inproc_init(net, 2, 42);
	wm_inproc_pair(net, 0, 1);
	net->record = true;

	printf("Two WireGuard engines in one process, an in-memory network, a hand-moved clock.\n\n");
	for (i = 0; i < 2; i++) {
		char ep[WM_ENDPOINT_STR_LEN];

		wm_key_to_base64(key, net->nodes[i].public_key);
		wm_endpoint_format(&net->nodes[i].addr, ep);
		printf("  %-5s public key %s  endpoint %s  address 10.0.0.%zu\n", names[i], key, ep, i + 1);
	}

	printf("\n1. alice sends the first packet: Noise_IKpsk2 handshake, then the data\n");
	send_packet(net, 0, 56, &shown);
	printf("\n2. bob answers over the new session\n");
	send_packet(net, 1, 1200, &shown);
	printf("\n3. alice sends again and bob has nothing to say for ten seconds: bob's engine sends a keepalive\n");
	send_packet(net, 0, 100, &shown);
	wm_inproc_advance(net, 11 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	show_wire(net, &shown);

	printf("\n4. two minutes of traffic later the initiator renews the keys (REKEY_AFTER_TIME)\n");
	{
		uint64_t before = net->nodes[0].handshake_initiations_sent;
		uint64_t id = wm_device_lookup_peer(net->nodes[0].dev, net->nodes[1].public_key)
				      ->keypairs.current->internal_id;
		while (net->nodes[0].handshake_initiations_sent == before) {
			uint8_t pkt[WM_INPROC_MAX_PACKET];
			size_t len = wm_inproc_make_packet(pkt, &net->nodes[0], &net->nodes[1], false, 64, 0);
			wm_inproc_send_ip(net, 0, pkt, len);
			wm_inproc_advance(net, 5 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
		}
		show_wire_filtered(net, &shown, true);
		send_packet(net, 0, 64, &shown);
		ok &= wm_device_lookup_peer(net->nodes[0].dev, net->nodes[1].public_key)
			      ->keypairs.current->internal_id != id;
		printf("  alice now sends under a new keypair: %s\n", ok ? "yes" : "NO (bug)");
	}

	printf("\n5. what each side reports (as `wg show` would)\n");
	show_status(net, 0);
	show_status(net, 1);
	ok &= net->nodes[0].tun_count > 0 && net->nodes[1].tun_count > 0;
	printf("\n%s\n", ok ? "Done: handshake, data both ways, keepalive and rekey all worked."
			     : "Something went wrong (see above).");
	wm_inproc_free(net);
	free(net);
	return ok ? 0 : 1;
}
