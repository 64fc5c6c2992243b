/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes transport data after decryption: the two engines share a real
 * session, and each input becomes the plaintext of a correctly sealed data
 * message (counter from the input), so the inner-packet checks, padding trim,
 * allowed-IPs source check, replay window and keypair rotation all see
 * attacker-chosen bytes. Raw inputs are also fed undecorated.
 */
#include <stdint.h>
#include <string.h>

#include "engine/crypto.h"
#include "engine/receive.h"
#include "test/inproc.h"

static struct wm_inproc_net net;
static bool ready;

static void establish(void)
{
	uint8_t pkt[256];
	size_t len;

	wm_inproc_init(&net, 2, 11);
	wm_inproc_pair(&net, 0, 1);
	len = wm_inproc_make_packet(pkt, &net.nodes[0], &net.nodes[1], false, 20, 0);
	wm_inproc_send_ip(&net, 0, pkt, len);
	wm_inproc_deliver(&net);
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[WM_INPROC_MAX_PACKET];
	struct wm_device *dev;
	struct wm_keypair *kp;
	struct wm_packet p = { 0 };
	uint64_t counter = 0;
	size_t plain;

	if (!ready)
		establish();
	dev = net.nodes[1].dev;
	kp = wm_device_lookup_peer(net.nodes[0].dev, net.nodes[1].public_key)->keypairs.current;
	if (!kp || size > WM_INPROC_MAX_PACKET - 64)
		return 0;

	/* As is. */
	memcpy(buf, data, size);
	p.data = buf;
	p.len = size;
	p.endpoint = net.nodes[0].addr;
	wm_receive_packets(dev, &p, 1, net.now);

	/* Sealed with the real key: the first 8 bytes choose the counter. */
	if (size >= 8) {
		memcpy(&counter, data, 8);
		data += 8;
		size -= 8;
	}
	plain = size;
	buf[0] = WM_MSG_DATA;
	buf[1] = buf[2] = buf[3] = 0;
	memcpy(buf + 4, &kp->remote_index, 4);
	counter = htole64(counter);
	memcpy(buf + 8, &counter, 8);
	wm_crypto_aead_seal(buf + 16, data, plain, NULL, 0, le64toh(counter), kp->send_key);
	memset(&p, 0, sizeof(p));
	p.data = buf;
	p.len = 16 + plain + WM_AUTHTAG_LEN;
	p.endpoint = net.nodes[0].addr;
	wm_receive_packets(dev, &p, 1, net.now);
	if (p.verdict == WM_VERDICT_TUN && (p.data < buf || p.data + p.len > buf + sizeof(buf)))
		__builtin_trap();	/* the plaintext must lie inside the datagram */
	net.inflight_count = 0;
	return 0;
}
