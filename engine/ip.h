/* SPDX-License-Identifier: MIT */
/* Just enough of IPv4/IPv6 headers to route a packet and check its source. */
#ifndef WM_IP_H
#define WM_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WM_IPV4_HEADER_LEN = 20,
	WM_IPV6_HEADER_LEN = 40,
};

struct wm_ip_info {
	int family;		/* AF_INET or AF_INET6 */
	const uint8_t *src;	/* 4 or 16 bytes inside the packet */
	const uint8_t *dst;
	size_t total_len;	/* what the header says; never more than the buffer */
};

/* Reads the version and addresses; false when the header is short or claims more than len. */
bool wm_ip_parse(struct wm_ip_info *ip, const uint8_t *pkt, size_t len);

#endif
