/* SPDX-License-Identifier: MIT */
/*
 * STUN binding requests and responses (RFC 8489, same wire format as RFC 5389), pure, in the
 * shape Tailscale uses (net/stun/stun.go): a 40-byte request carrying SOFTWARE "tailnode" and
 * FINGERPRINT, and a response carrying one XOR-MAPPED-ADDRESS. Used by the relay's STUN server
 * and by the node's endpoint discovery.
 */
#ifndef WM_STUN_H
#define WM_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/endpoint.h"

#define WM_STUN_PORT 3478
#define WM_STUN_HEADER_LEN 20			/* RFC 8489 §5 */
#define WM_STUN_MAGIC_COOKIE 0x2112a442u	/* RFC 8489 §5 */
#define WM_STUN_TXID_LEN 12
#define WM_STUN_REQUEST_LEN 40			/* header + SOFTWARE(4+8) + FINGERPRINT(4+4) */
#define WM_STUN_RESPONSE_MAX (WM_STUN_HEADER_LEN + 4 + 20)	/* one IPv6 XOR-MAPPED-ADDRESS */

/* RFC 8489 §18.3 attribute types; 0x8020 is a pre-RFC XOR-MAPPED-ADDRESS some servers send. */
enum wm_stun_attr {
	WM_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	WM_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	WM_STUN_ATTR_XOR_MAPPED_ADDRESS_ALT = 0x8020,
	WM_STUN_ATTR_SOFTWARE = 0x8022,
	WM_STUN_ATTR_FINGERPRINT = 0x8028,
};

struct wm_stun_request {
	uint8_t txid[WM_STUN_TXID_LEN];
	bool software_tailnode;		/* SOFTWARE is exactly "tailnode" */
	bool has_fingerprint;		/* a valid FINGERPRINT ends the message */
};

/* stun.go Is: at least a header, the top two bits zero, the magic cookie in place. */
bool wm_stun_is(const uint8_t *buf, size_t len);

/* Writes the 40-byte request Tailscale clients send (stun.go Request). */
void wm_stun_request_encode(uint8_t out[WM_STUN_REQUEST_LEN], const uint8_t txid[WM_STUN_TXID_LEN]);

/*
 * Parses a binding request: 0, or -EBADMSG when it is not STUN, not a Binding request, its
 * length field disagrees with len, an attribute is truncated, or a FINGERPRINT is not last or
 * does not match (RFC 8489 §14.7).
 */
int wm_stun_request_parse(struct wm_stun_request *req, const uint8_t *buf, size_t len);

/* A Binding success response with one XOR-MAPPED-ADDRESS for from (stun.go Response): the
 * length, -EAFNOSUPPORT for an unset endpoint, -ENOSPC when cap is short. */
ssize_t wm_stun_response_encode(uint8_t *out, size_t cap, const uint8_t txid[WM_STUN_TXID_LEN],
				const struct wm_endpoint *from);

/*
 * Parses a Binding success response (stun.go ParseResponse): 0 with the transaction ID and the
 * mapped address (XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS; IPv4-mapped IPv6 becomes IPv4),
 * -ENOMSG when it is STUN but not a success response, -EBADMSG otherwise.
 */
int wm_stun_response_parse(const uint8_t *buf, size_t len, uint8_t txid[WM_STUN_TXID_LEN],
			   struct wm_endpoint *mapped);

#endif
