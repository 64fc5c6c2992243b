/* SPDX-License-Identifier: MIT */
/*
 * GSO split and TCP GRO for a TUN with IFF_VNET_HDR. Both follow what Linux
 * does to the same packets (tcp_gso_segment, __udp_gso_segment and
 * tcp_gro_receive), so that a packet leaves the tunnel as the kernel would
 * have put it on a wire, and a coalesced write segments back into the packets
 * that arrived.
 */
#include "tun/offload.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"
#include "common/checksum.h"

#ifdef __linux__
#include <linux/virtio_net.h>
_Static_assert(sizeof(struct virtio_net_hdr) == WM_VNET_HDR_LEN, "virtio_net_hdr size");
_Static_assert(VIRTIO_NET_HDR_F_NEEDS_CSUM == WM_VNET_F_NEEDS_CSUM, "NEEDS_CSUM");
_Static_assert(VIRTIO_NET_HDR_GSO_TCPV4 == WM_VNET_GSO_TCPV4, "GSO_TCPV4");
_Static_assert(VIRTIO_NET_HDR_GSO_TCPV6 == WM_VNET_GSO_TCPV6, "GSO_TCPV6");
_Static_assert(VIRTIO_NET_HDR_GSO_ECN == WM_VNET_GSO_ECN, "GSO_ECN");
#endif

enum {
	IPV4_HDR_MIN = 20,	/* RFC 791 §3.1 */
	IPV6_HDR_LEN = 40,	/* RFC 8200 §3 */
	TCP_HDR_MIN = 20,	/* RFC 9293 §3.1 */
	TCP_HDR_MAX = 60,
	UDP_HDR_LEN = 8,	/* RFC 768 */
	TCP_CSUM_OFF = 16,
	UDP_CSUM_OFF = 6,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	MAX_IP_LEN = 65535,	/* the IPv4 total length field; Linux GRO's 64 KiB limit */
};

enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_ACK = 0x10,
	TCP_URG = 0x20,
	TCP_CWR = 0x80,
};

enum {
	IPV4_DF = 0x4000,
	IPV4_MF = 0x2000,
	IPV4_FRAG_OFF = 0x1fff,
};





int wm_vnet_hdr_parse(struct wm_vnet_hdr *hdr, const uint8_t *buf, size_t len)
{
	if (len < WM_VNET_HDR_LEN)
		return -EINVAL;
	hdr->flags = buf[0];
	hdr->gso_type = buf[1];
	memcpy(&hdr->hdr_len, buf + 2, 2);
	memcpy(&hdr->gso_size, buf + 4, 2);
	memcpy(&hdr->csum_start, buf + 6, 2);
	memcpy(&hdr->csum_offset, buf + 8, 2);
	return 0;
}

void wm_vnet_hdr_write(uint8_t buf[WM_VNET_HDR_LEN], const struct wm_vnet_hdr *hdr)
{
	buf[0] = hdr->flags;
	buf[1] = hdr->gso_type;
	memcpy(buf + 2, &hdr->hdr_len, 2);
	memcpy(buf + 4, &hdr->gso_size, 2);
	memcpy(buf + 6, &hdr->csum_start, 2);
	memcpy(buf + 8, &hdr->csum_offset, 2);
}


/* The pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1); addresses are adjacent in both. */
static uint16_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	size_t alen = v6 ? 16 : 4;
	const uint8_t *src = ip + (v6 ? 8 : 12);

	return wm_checksum_pseudo(src, src + alen, alen, proto, l4_len);
}

static void ipv4_set_csum(uint8_t *ip, size_t ihl)
{
	wm_put_be16(ip + 10, 0);
	wm_put_be16(ip + 10, (uint16_t)~wm_checksum_sum(ip, ihl));
}

/* GSO split */

/* The IP header of a GSO packet: length and proto, or -EINVAL. */
static int parse_ip(const uint8_t *p, size_t len, bool v6, size_t *iph, uint8_t *proto)
{
	if (v6) {
		/* Extension headers (proto not TCP/UDP) are refused by the caller. */
		if (len < IPV6_HDR_LEN || wm_get_be16(p + 4) != len - IPV6_HDR_LEN)
			return -EINVAL;
		*iph = IPV6_HDR_LEN;
		*proto = p[6];
		return 0;
	}
	if (len < IPV4_HDR_MIN)
		return -EINVAL;
	*iph = (size_t)(p[0] & 0xf) * 4;
	if (*iph < IPV4_HDR_MIN || *iph > len || wm_get_be16(p + 2) != len)
		return -EINVAL;
	if (wm_get_be16(p + 6) & (IPV4_MF | IPV4_FRAG_OFF))
		return -EINVAL;
	*proto = p[9];
	return 0;
}

/* GSO_NONE: one packet, its partial checksum completed as skb_checksum_help() would. */
static int split_none(const struct wm_vnet_hdr *h, const uint8_t *pkt, size_t len,
		      uint8_t *const out[], size_t out_len[], size_t cap, size_t max_out)
{
	bool partial = h->flags & WM_VNET_F_NEEDS_CSUM;
	size_t at = (size_t)h->csum_start + h->csum_offset;
	uint16_t c;

	if (h->gso_type != WM_VNET_GSO_NONE || (partial && at + 2 > len))
		return -EINVAL;
	if (max_out < 1 || len > cap)
		return -ENOBUFS;
	memcpy(out[0], pkt, len);
	if (partial) {
		/* The field holds the pseudo-header sum, which the sum takes in. */
		c = (uint16_t)~wm_checksum_sum(out[0] + h->csum_start, len - h->csum_start);
		wm_put_be16(out[0] + at, c ? c : 0xffff);
	}
	out_len[0] = len;
	return 1;
}

int wm_gso_split(const uint8_t *in, size_t in_len, uint8_t *const out[], size_t out_len[],
		 size_t out_cap_each, size_t max_out)
{
	struct wm_vnet_hdr h;
	const uint8_t *pkt;
	size_t len, iph, hdr, payload, nseg, gso, k;
	uint8_t type, proto;
	bool tcp, v6;
	uint16_t psum;

	if (wm_vnet_hdr_parse(&h, in, in_len))
		return -EINVAL;
	pkt = in + WM_VNET_HDR_LEN;
	len = in_len - WM_VNET_HDR_LEN;
	if (len == 0 || (h.flags & ~(WM_VNET_F_NEEDS_CSUM | WM_VNET_F_DATA_VALID)))
		return -EINVAL;
	if ((h.gso_type & ~WM_VNET_GSO_ECN) == WM_VNET_GSO_NONE)
		return split_none(&h, pkt, len, out, out_len, out_cap_each, max_out);

	type = h.gso_type & ~WM_VNET_GSO_ECN;
	if (type == WM_VNET_GSO_TCPV4 || type == WM_VNET_GSO_TCPV6)
		tcp = true;
	else if (h.gso_type == WM_VNET_GSO_UDP_L4)
		tcp = false;
	else
		return -EINVAL;
	/* Linux marks every GSO packet CHECKSUM_PARTIAL; hdr_len is at most the packet. */
	if (!(h.flags & WM_VNET_F_NEEDS_CSUM) || h.gso_size == 0 || h.hdr_len > len)
		return -EINVAL;
	if (pkt[0] >> 4 == 4 && type != WM_VNET_GSO_TCPV6)
		v6 = false;
	else if (pkt[0] >> 4 == 6 && type != WM_VNET_GSO_TCPV4)
		v6 = true;
	else
		return -EINVAL;
	if (parse_ip(pkt, len, v6, &iph, &proto) || proto != (tcp ? PROTO_TCP : PROTO_UDP))
		return -EINVAL;
	if (h.csum_start != iph || h.csum_offset != (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF))
		return -EINVAL;
	if (tcp) {
		if (len < iph + TCP_HDR_MIN)
			return -EINVAL;
		hdr = iph + (size_t)(pkt[iph + 12] >> 4) * 4;
		if (hdr < iph + TCP_HDR_MIN || hdr > len)
			return -EINVAL;
	} else {
		hdr = iph + UDP_HDR_LEN;
		if (hdr > len)
			return -EINVAL;
	}
	payload = len - hdr;
	if (payload == 0)
		return -EINVAL;
	gso = h.gso_size;
	nseg = (payload + gso - 1) / gso;
	if (nseg > max_out || hdr + (payload < gso ? payload : gso) > out_cap_each)
		return -ENOBUFS;

	/* The addresses are the same in every segment; only the length varies. */
	psum = pseudo_sum(pkt, v6, proto, 0);
	for (k = 0; k < nseg; k++) {
		size_t at = hdr + k * gso;
		size_t n = len - at < gso ? len - at : gso;
		size_t l4_len = hdr - iph + n;
		uint8_t *o = out[k], *l4 = o + iph;
		uint16_t c;

		memcpy(o, pkt, hdr);
		memcpy(o + hdr, pkt + at, n);
		if (v6) {
			wm_put_be16(o + 4, (uint16_t)(hdr + n - IPV6_HDR_LEN));
		} else {
			wm_put_be16(o + 2, (uint16_t)(hdr + n));
			wm_put_be16(o + 4, (uint16_t)(wm_get_be16(pkt + 4) + k));
			ipv4_set_csum(o, iph);
		}
		if (tcp) {
			wm_put_be32(l4 + 4, wm_get_be32(pkt + iph + 4) + (uint32_t)(k * gso));
			if (k + 1 < nseg)
				l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (k > 0)
				l4[13] &= (uint8_t)~TCP_CWR;
			wm_put_be16(l4 + TCP_CSUM_OFF, 0);
		} else {
			wm_put_be16(l4 + 4, (uint16_t)l4_len);
			wm_put_be16(l4 + UDP_CSUM_OFF, 0);
		}
		c = (uint16_t)~wm_checksum_fold((uint64_t)psum + l4_len + wm_checksum_sum(l4, l4_len));
		/* RFC 768: a computed zero is sent as all ones; 0 means "none". */
		if (!tcp && c == 0)
			c = 0xffff;
		wm_put_be16(l4 + (tcp ? TCP_CSUM_OFF : UDP_CSUM_OFF), c);
		out_len[k] = hdr + n;
	}
	return (int)nseg;
}

/* GRO */

/* What a packet is to the coalescer. */
enum kind {
	K_OTHER,	/* not TCP: never touches a TCP run */
	K_PAIR,		/* maybe TCP, ports unknown: ends the runs between its addresses */
	K_TCP,		/* TCP that cannot be merged: ends its flow's run */
	K_CAND,		/* TCP that may merge */
};

struct pkt_info {
	enum kind kind;
	bool v6;
	size_t iph, th, payload;
	uint32_t seq;
	uint8_t flags;
};

/* An open run: a leader that later segments of its flow may still join. */
struct run {
	size_t leader;
	uint32_t next_seq;
	uint16_t gso_size;
	uint16_t segs;
	uint8_t iph, th;
	bool v6;
	bool checked;	/* the leader's checksums were verified */
};

enum { MAX_RUNS = 64 };	/* open runs per batch; the oldest closes beyond this */

/* IPv6 extension headers (RFC 8200 §4, RFC 7045 §4 and the IANA list): TCP may lie behind. */
static bool ipv6_ext(uint8_t nh)
{
	switch (nh) {
	case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140:
	case 253: case 254:
		return true;
	default:
		return false;
	}
}

static void classify(const uint8_t *p, size_t len, struct pkt_info *f)
{
	uint8_t fl;

	f->kind = K_OTHER;
	if (len >= IPV4_HDR_MIN && p[0] >> 4 == 4) {
		if (p[9] != PROTO_TCP)
			return;
		f->kind = K_PAIR;
		f->v6 = false;
		f->iph = (size_t)(p[0] & 0xf) * 4;
		if ((wm_get_be16(p + 6) & IPV4_FRAG_OFF) || f->iph < IPV4_HDR_MIN ||
		    f->iph + TCP_HDR_MIN > len)
			return;
		f->kind = K_TCP;
		if (f->iph != IPV4_HDR_MIN || wm_get_be16(p + 2) != len || (wm_get_be16(p + 6) & IPV4_MF))
			return;
	} else if (len >= IPV6_HDR_LEN && p[0] >> 4 == 6) {
		if (p[6] != PROTO_TCP && !ipv6_ext(p[6]))
			return;
		f->kind = K_PAIR;
		f->v6 = true;
		f->iph = IPV6_HDR_LEN;
		if (p[6] != PROTO_TCP || len < IPV6_HDR_LEN + TCP_HDR_MIN)
			return;
		f->kind = K_TCP;
		if (wm_get_be16(p + 4) != len - IPV6_HDR_LEN)
			return;
	} else {
		return;
	}
	f->th = (size_t)(p[f->iph + 12] >> 4) * 4;
	if (len > MAX_IP_LEN || f->th < TCP_HDR_MIN || f->iph + f->th >= len)
		return;
	fl = p[f->iph + 13];
	if (!(fl & TCP_ACK) || (fl & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR)))
		return;
	f->kind = K_CAND;
	f->payload = len - f->iph - f->th;
	f->seq = wm_get_be32(p + f->iph + 4);
	f->flags = fl;
}

static bool same_addrs(const uint8_t *a, const uint8_t *b, bool v6)
{
	return v6 ? !memcmp(a + 8, b + 8, 32) : !memcmp(a + 12, b + 12, 8);
}

/* The open run of p's flow (same addresses and ports), or -1. */
static int find_run(const struct wm_gro_packet *pkts, const struct run *runs, size_t nruns,
		    const uint8_t *p, const struct pkt_info *f)
{
	for (size_t r = 0; r < nruns; r++) {
		const uint8_t *q = pkts[runs[r].leader].data;

		if (runs[r].v6 == f->v6 && same_addrs(q, p, f->v6) &&
		    !memcmp(q + runs[r].iph, p + f->iph, 4))
			return (int)r;
	}
	return -1;
}

/* Makes a leader with followers a GSO packet the kernel segments back. */
static void finish_run(struct wm_gro_packet *pkts, const struct run *run)
{
	struct wm_gro_packet *q = &pkts[run->leader];
	uint8_t *ip = q->data;
	struct wm_vnet_hdr h = {
		.flags = WM_VNET_F_NEEDS_CSUM,
		.gso_type = run->v6 ? WM_VNET_GSO_TCPV6 : WM_VNET_GSO_TCPV4,
		.hdr_len = (uint16_t)(run->iph + run->th),
		.gso_size = run->gso_size,
		.csum_start = run->iph,
		.csum_offset = TCP_CSUM_OFF,
	};

	if (run->segs < 2)
		return;
	if (run->v6) {
		wm_put_be16(ip + 4, (uint16_t)(q->len - IPV6_HDR_LEN));
	} else {
		wm_put_be16(ip + 2, (uint16_t)q->len);
		ipv4_set_csum(ip, run->iph);
	}
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, not complemented. */
	wm_put_be16(ip + run->iph + TCP_CSUM_OFF, pseudo_sum(ip, run->v6, PROTO_TCP, q->len - run->iph));
	wm_vnet_hdr_write(ip - WM_VNET_HDR_LEN, &h);
}

static void close_run(struct wm_gro_packet *pkts, struct run *runs, size_t *nruns, size_t r)
{
	finish_run(pkts, &runs[r]);
	memmove(&runs[r], &runs[r + 1], (*nruns - r - 1) * sizeof(runs[0]));
	(*nruns)--;
}

static bool csum_ok(const uint8_t *p, size_t len, size_t iph, bool v6)
{
	if (!v6 && wm_checksum_sum(p, iph) != 0xffff)
		return false;
	return wm_checksum_fold((uint64_t)pseudo_sum(p, v6, PROTO_TCP, len - iph) +
		    wm_checksum_sum(p + iph, len - iph)) == 0xffff;
}

/* Headers that must match for p to follow the leader q (tcp_gro_receive, inet_gro_receive). */
static bool headers_match(const uint8_t *q, const uint8_t *p, const struct run *run)
{
	const uint8_t *qt = q + run->iph, *pt = p + run->iph;

	if (run->v6) {
		/* version, traffic class, flow label; hop limit */
		if (memcmp(q, p, 4) || q[7] != p[7])
			return false;
	} else {
		/* TOS, flags, TTL; without DF the IDs must count up as GSO will make them */
		if (q[1] != p[1] || wm_get_be16(q + 6) != wm_get_be16(p + 6) || q[8] != p[8])
			return false;
		if (!(wm_get_be16(q + 6) & IPV4_DF) &&
		    wm_get_be16(p + 4) != (uint16_t)(wm_get_be16(q + 4) + run->segs))
			return false;
	}
	/*
	 * ACK number, data offset, flags but PSH (the leader has none), window, and
	 * (beyond Linux, so that no bit is lost) the urgent pointer, then options.
	 */
	return !memcmp(qt + 8, pt + 8, 5) && (qt[13] | TCP_PSH) == (pt[13] | TCP_PSH) &&
	       !memcmp(qt + 14, pt + 14, 2) && !memcmp(qt + 18, pt + 18, run->th - 18);
}

enum append_result { APPENDED, NOT_ADJACENT, BAD_LEADER, BAD_PACKET };

static enum append_result try_append(struct wm_gro_packet *pkts, struct run *run,
				     const struct wm_gro_packet *p, const struct pkt_info *f)
{
	struct wm_gro_packet *q = &pkts[run->leader];
	size_t room = q->cap > q->len ? q->cap - q->len : 0;

	if (f->th != run->th || f->seq != run->next_seq || f->payload > run->gso_size ||
	    f->payload > room || q->len + f->payload > MAX_IP_LEN ||
	    !headers_match(q->data, p->data, run))
		return NOT_ADJACENT;
	/* Merged segments get a fresh checksum from the kernel: a bad one must not. */
	if (!run->checked) {
		if (!csum_ok(q->data, q->len, run->iph, run->v6))
			return BAD_LEADER;
		run->checked = true;
	}
	if (!csum_ok(p->data, p->len, f->iph, f->v6))
		return BAD_PACKET;
	memmove(q->data + q->len, p->data + f->iph + f->th, f->payload);
	q->len += f->payload;
	run->next_seq += (uint32_t)f->payload;
	run->segs++;
	if (f->flags & TCP_PSH)
		q->data[run->iph + 13] |= TCP_PSH;
	return APPENDED;
}

/* A candidate joins its flow's run (true), or ends it and may lead its own (false). */
static bool gro_candidate(struct wm_gro_packet *pkts, size_t i, const struct pkt_info *f,
			  struct run *runs, size_t *nruns)
{
	int r = find_run(pkts, runs, *nruns, pkts[i].data, f);
	struct run *run;

	if (r >= 0) {
		enum append_result res = try_append(pkts, &runs[r], &pkts[i], f);

		if (res == APPENDED) {
			/* PSH or a short segment is the last of a run. */
			if ((f->flags & TCP_PSH) || f->payload < runs[r].gso_size)
				close_run(pkts, runs, nruns, (size_t)r);
			return true;
		}
		close_run(pkts, runs, nruns, (size_t)r);
		if (res == BAD_PACKET)
			return false;
	}
	if (f->flags & TCP_PSH)
		return false;
	if (*nruns == MAX_RUNS)
		close_run(pkts, runs, nruns, 0);
	run = &runs[(*nruns)++];
	*run = (struct run){
		.leader = i,
		.next_seq = f->seq + (uint32_t)f->payload,
		.gso_size = (uint16_t)f->payload,
		.segs = 1,
		.iph = (uint8_t)f->iph,
		.th = (uint8_t)f->th,
		.v6 = f->v6,
	};
	return false;
}

int wm_gro_coalesce(struct wm_gro_packet *pkts, size_t n, size_t write[])
{
	static const struct wm_vnet_hdr plain;
	struct run runs[MAX_RUNS];
	size_t nruns = 0, nw = 0;

	if (n > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = pkts[i].data;
		struct pkt_info f;
		int r;

		classify(p, pkts[i].len, &f);
		if (f.kind == K_CAND) {
			if (gro_candidate(pkts, i, &f, runs, &nruns))
				continue;
		} else if (f.kind == K_TCP) {
			r = find_run(pkts, runs, nruns, p, &f);
			if (r >= 0)
				close_run(pkts, runs, &nruns, (size_t)r);
		} else if (f.kind == K_PAIR) {
			for (size_t k = nruns; k-- > 0;) {
				if (runs[k].v6 == f.v6 && same_addrs(pkts[runs[k].leader].data, p, f.v6))
					close_run(pkts, runs, &nruns, k);
			}
		}
		wm_vnet_hdr_write(pkts[i].data - WM_VNET_HDR_LEN, &plain);
		write[nw++] = i;
	}
	while (nruns)
		close_run(pkts, runs, &nruns, nruns - 1);
	return (int)nw;
}
