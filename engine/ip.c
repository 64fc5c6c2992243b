/* SPDX-License-Identifier: MIT */
#include "engine/ip.h"

#include <sys/socket.h>

#include "common/bytes.h"

bool wm_ip_parse(struct wm_ip_info *ip, const uint8_t *pkt, size_t len)
{
	if (len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4:
		if (len < WM_IPV4_HEADER_LEN || (pkt[0] & 0x0f) < 5)
			return false;
		ip->family = AF_INET;
		ip->total_len = wm_get_be16(pkt + 2);
		ip->src = pkt + 12;
		ip->dst = pkt + 16;
		return ip->total_len >= (size_t)(pkt[0] & 0x0f) * 4 && ip->total_len <= len;
	case 6:
		if (len < WM_IPV6_HEADER_LEN)
			return false;
		ip->family = AF_INET6;
		ip->total_len = WM_IPV6_HEADER_LEN + (size_t)wm_get_be16(pkt + 4);
		ip->src = pkt + 8;
		ip->dst = pkt + 24;
		return ip->total_len <= len;
	default:
		return false;
	}
}
