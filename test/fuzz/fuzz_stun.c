/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: STUN datagrams as the relay's server and a node's discovery see them. Beyond not
 * crashing: a request that parses gets a response that parses back to the same transaction and
 * address, and a parsed response always yields an IPv4 or IPv6 endpoint.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_stun_request req;
	struct wm_endpoint from, mapped;
	uint8_t resp[WM_STUN_RESPONSE_MAX], txid[WM_STUN_TXID_LEN];
	ssize_t n;
	int r;

	if (!wm_stun_request_parse(&req, data, size)) {
		if (!wm_stun_is(data, size))
			abort();
		/* The source address is taken from the input too, when there is enough of it. */
		memset(&from, 0, sizeof(from));
		if (size >= 40 && (data[size - 1] & 1)) {
			from.addr.in6.sin6_family = AF_INET6;
			memcpy(&from.addr.in6.sin6_addr, data + size - 18, 16);
			memcpy(&from.addr.in6.sin6_port, data + size - 2, 2);
		} else {
			from.addr.in4.sin_family = AF_INET;
			memcpy(&from.addr.in4.sin_addr, data + 8, 4);
			memcpy(&from.addr.in4.sin_port, data + 12, 2);
		}
		n = wm_stun_response_encode(resp, sizeof(resp), req.txid, &from);
		if (n <= 0 || wm_stun_response_parse(resp, (size_t)n, txid, &mapped) ||
		    memcmp(txid, req.txid, sizeof(txid)))
			abort();
		/* An IPv4-mapped IPv6 source comes back as IPv4; anything else unchanged. */
		if (!wm_endpoint_equal(&mapped, &from) && !(from.addr.sa.sa_family == AF_INET6 &&
							    mapped.addr.sa.sa_family == AF_INET))
			abort();
	}
	r = wm_stun_response_parse(data, size, txid, &mapped);
	if (r == 0) {
		if (mapped.addr.sa.sa_family != AF_INET && mapped.addr.sa.sa_family != AF_INET6)
			abort();
		if (memcmp(txid, data + 8, sizeof(txid)))
			abort();
	} else if (r != -EBADMSG && r != -ENOMSG) {
		abort();
	}
	return 0;
}
