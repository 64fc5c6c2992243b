/* SPDX-License-Identifier: MIT */
#include "daemon/dns_packet.h"

#include <string.h>
#include <sys/socket.h>

#include "common/checksum.h"
#include "daemon/dns.h"

static const uint8_t resolver4[4] = WM_DNS_ADDR4;
static const uint8_t resolver6[16] = WM_DNS_ADDR6;

bool wm_dns_packet_is_for_resolver(const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return !memcmp(pkt + 16, resolver4, 4);
	if (len >= 40 && pkt[0] >> 4 == 6)
		return !memcmp(pkt + 24, resolver6, 16);
	return false;
}

bool wm_dns_packet_query(const uint8_t *pkt, size_t len, struct wm_pkt *p,
			 const uint8_t **query, size_t *query_len)
{
	size_t udp_len;

	if (!wm_pkt_parse(p, pkt, len, false) || p->proto != WM_IPPROTO_UDP ||
	    p->frag != WM_PKT_FRAG_NONE || p->dport != WM_DNS_PORT || !p->sport)
		return false;
	udp_len = (size_t)pkt[p->l4_off + 4] << 8 | pkt[p->l4_off + 5];
	if (udp_len < 8 || p->l4_off + udp_len > p->len)
		return false;
	*query = pkt + p->l4_off + 8;
	*query_len = udp_len - 8;
	return true;
}

static void put16(uint8_t *at, uint16_t v)
{
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
}

size_t wm_dns_packet_reply(const struct wm_pkt *p, const uint8_t *msg, size_t n, uint8_t *out,
			   size_t cap)
{
	size_t alen = p->family == AF_INET ? 4 : 16, ip_len = p->family == AF_INET ? 20 : 40;
	size_t total = ip_len + 8 + n;
	uint8_t *udp = out + ip_len;
	uint16_t sum;

	if (total > cap || total > 65535)
		return 0;
	memset(out, 0, ip_len + 8);
	if (p->family == AF_INET) {
		out[0] = 0x45;
		put16(out + 2, (uint16_t)total);
		out[6] = 0x40;			/* Don't Fragment: it never leaves this host */
		out[8] = 64;
		out[9] = WM_IPPROTO_UDP;
		memcpy(out + 12, p->dst, 4);
		memcpy(out + 16, p->src, 4);
		put16(out + 10, (uint16_t)~wm_checksum_sum(out, 20));
	} else {
		out[0] = 0x60;
		put16(out + 4, (uint16_t)(8 + n));
		out[6] = WM_IPPROTO_UDP;
		out[7] = 64;
		memcpy(out + 8, p->dst, 16);
		memcpy(out + 24, p->src, 16);
	}
	put16(udp, p->dport);
	put16(udp + 2, p->sport);
	put16(udp + 4, (uint16_t)(8 + n));
	memcpy(udp + 8, msg, n);
	sum = wm_checksum_fold((uint64_t)wm_checksum_pseudo(p->dst, p->src, alen, WM_IPPROTO_UDP,
							    8 + n) + wm_checksum_sum(udp, 8 + n));
	sum = (uint16_t)~sum;
	put16(udp + 6, sum ? sum : 0xffff);	/* RFC 768: zero would mean "no checksum" */
	return total;
}
