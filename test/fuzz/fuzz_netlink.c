/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: what the kernel sends back on a NETLINK_ROUTE socket, as the node reads it: the
 * answer to a configuration request (tun/netlink_linux.c) and link/address change events. The
 * parsers must stay inside the datagram whatever its length fields say, and agree with each
 * other about what they saw.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun/netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	uint32_t seq = 0;
	int ifindex = -1, r;

	if (size >= 4)
		memcpy(&seq, data, 4);
	/* An exact-size heap copy, so a read past the end is caught by ASan. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = wm_netlink_parse_reply(copy, size, seq, &ifindex);
	if (r != 0 && r != 1 && r != -EBADMSG && (r >= 0 || r < -4095))
		abort();
	/* An interface index, when one was reported, is a real one (> 0). */
	if (r == 0 && ifindex != -1 && ifindex <= 0)
		abort();
	(void)wm_netlink_is_change(copy, size);
	free(copy);
	return 0;
}
