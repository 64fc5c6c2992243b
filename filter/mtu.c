/* SPDX-License-Identifier: MIT */
#include "filter/mtu.h"

#include "common/bytes.h"
#include "filter/pkt.h"

enum {
	TCP_OPT_END = 0,
	TCP_OPT_NOP = 1,
	TCP_OPT_MSS = 2,
	TCP_OPT_MSS_LEN = 4,
	IPV4_DF = 0x40,		/* in the byte at offset 6 (RFC 791) */
};

/*
 * RFC 1624 equation 3 for a 16-bit field at an odd offset from the start of the checksummed
 * data: its bytes straddle two words, which in a ones'-complement sum is the same as the field
 * with its bytes swapped.
 */
static void update_checksum(uint8_t *csum, uint16_t old, uint16_t new, bool odd)
{
	uint32_t sum;

	if (odd) {
		old = (uint16_t)(old << 8 | old >> 8);
		new = (uint16_t)(new << 8 | new >> 8);
	}
	sum = (uint16_t)~wm_get_be16(csum) + (uint32_t)(uint16_t)~old + new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	wm_put_be16(csum, (uint16_t)~sum);
}

/* The offset of the MSS option's value in the TCP header at tcp (hl bytes long), or 0. */
static size_t find_mss(const uint8_t *tcp, size_t hl)
{
	size_t at = WM_MTU_TCP_HEADER;

	while (at < hl) {
		if (tcp[at] == TCP_OPT_END)
			return 0;
		if (tcp[at] == TCP_OPT_NOP) {
			at++;
			continue;
		}
		if (at + 1 >= hl || tcp[at + 1] < 2 || at + tcp[at + 1] > hl)
			return 0;	/* malformed options: leave the packet alone */
		if (tcp[at] == TCP_OPT_MSS)
			return tcp[at + 1] == TCP_OPT_MSS_LEN ? at + 2 : 0;
		at += tcp[at + 1];
	}
	return 0;
}

bool wm_mtu_clamp_mss(uint8_t *pkt, size_t len, size_t mtu)
{
	struct wm_pkt p;
	uint8_t *tcp;
	size_t hl, at, most;
	uint16_t mss;

	if (!wm_pkt_parse(&p, pkt, len, false) || p.proto != WM_IPPROTO_TCP ||
	    p.frag != WM_PKT_FRAG_NONE || !(p.tcp_flags & WM_TCP_SYN))
		return false;
	tcp = pkt + p.l4_off;
	hl = (size_t)(tcp[12] >> 4) * 4;
	if (hl < WM_MTU_TCP_HEADER || p.l4_off + hl > p.len || mtu <= p.l4_off + WM_MTU_TCP_HEADER)
		return false;
	at = find_mss(tcp, hl);
	most = mtu - p.l4_off - WM_MTU_TCP_HEADER;
	if (!at || wm_get_be16(tcp + at) <= most)
		return false;
	mss = wm_get_be16(tcp + at);
	wm_put_be16(tcp + at, (uint16_t)most);
	update_checksum(tcp + 16, mss, (uint16_t)most, at & 1);
	return true;
}

enum wm_mtu_verdict wm_mtu_check(const uint8_t *pkt, size_t len, size_t mtu)
{
	if (len <= mtu)
		return WM_MTU_FITS;
	if (len >= 20 && pkt[0] >> 4 == 4 && (pkt[6] & IPV4_DF))
		return WM_MTU_TOO_BIG;
	return WM_MTU_PASS;
}
