/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the receive path with arbitrary datagrams: message classification,
 * MAC checks, cookie replies, Noise consumption of initiations and responses.
 * Inputs of handshake sizes get a correct MAC1 so the fuzzer reaches the Noise
 * code behind it. The first byte picks whether the device is under load.
 */
#include <stdint.h>
#include <string.h>

#include "engine/crypto.h"
#include "engine/receive.h"
#include "test/inproc.h"

static struct wm_inproc_net net;
static bool ready;

static void fix_mac1(struct wm_device *dev, uint8_t *msg, size_t len)
{
	wm_crypto_mac(msg + len - 2 * WM_MAC_LEN, dev->cookie_checker.mac1_key, WM_SYMMETRIC_KEY_LEN,
		      msg, len - 2 * WM_MAC_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[WM_INPROC_MAX_PACKET];
	struct wm_device *dev;
	struct wm_packet p = { 0 };

	if (!ready) {
		wm_inproc_init(&net, 2, 7);
		wm_inproc_pair(&net, 0, 1);
		ready = true;
	}
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	dev = net.nodes[1].dev;
	wm_device_set_load_threshold(dev, data[0] & 1 ? 0 : WM_UNDER_LOAD_HANDSHAKES_PER_SECOND);
	memcpy(buf, data + 1, size - 1);
	size--;
	if ((size == WM_MSG_INITIATION_LEN || size == WM_MSG_RESPONSE_LEN) && (data[0] & 2))
		fix_mac1(dev, buf, size);
	p.data = buf;
	p.len = size;
	p.endpoint = net.nodes[0].addr;
	net.now += WM_NSEC_PER_SEC / 10;
	wm_receive_packets(dev, &p, 1, net.now);
	net.inflight_count = 0;	/* replies go nowhere */
	return 0;
}
