/* SPDX-License-Identifier: MIT */
#include "tun/offload.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HR WM_VNET_HDR_LEN
#define GUARD 64
#define MAXB 160

/* Byte helpers and a deliberately plain RFC 1071 checksum, the oracle. */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint64_t ref_sum(const uint8_t *p, size_t n, uint64_t sum)
{
	for (size_t i = 0; i < n; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	return sum;
}

static uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The pseudo-header spelled out byte by byte (RFC 9293 §3.1, RFC 8200 §8.1). */
static uint64_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4_len)
{
	uint8_t ph[40] = { 0 };

	if (ip[0] >> 4 == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		put16(ph + 10, (uint16_t)l4_len);
		return ref_sum(ph, 12, 0);
	}
	memcpy(ph, ip + 8, 32);
	put32(ph + 32, (uint32_t)l4_len);
	ph[39] = proto;
	return ref_sum(ph, 40, 0);
}

static bool ref_l4_ok(const uint8_t *ip, size_t len, size_t iph, uint8_t proto)
{
	if (proto == 17 && get16(ip + iph + 6) == 0)
		return false;
	return ref_fold(ref_sum(ip + iph, len - iph, ref_pseudo(ip, proto, len - iph))) == 0xffff;
}

static bool ref_ipv4_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(ip, (size_t)(ip[0] & 0xf) * 4, 0)) == 0xffff;
}

/* Packet builder */

struct spec {
	int ver;
	bool udp;
	uint8_t ip_opts;	/* IPv4 option bytes, a multiple of 4 */
	bool v6_ext;		/* an 8-byte extension header before the transport */
	uint8_t ext_type;	/* which: destination options (60), hop-by-hop (0) */
	uint8_t tcp_opts;	/* TCP option bytes, a multiple of 4; 12 or more start with TS */
	uint8_t flags;
	uint16_t gso_size;
	size_t payload;
	uint16_t id;
	bool df;
	uint8_t tos, ttl;
	uint32_t flow;
	uint32_t seq, ack;
	uint16_t window, sport, dport;
	uint8_t src_last;
	uint32_t tsval;
};

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40,
       CWR = 0x80 };

static struct spec spec_default(int ver)
{
	return (struct spec){
		.ver = ver, .tcp_opts = 12, .flags = ACK, .gso_size = 1000, .payload = 1000,
		.id = 0x1234, .df = true, .tos = 0x28, .ttl = 64, .flow = 0x5a5a5,
		.seq = 1000000, .ack = 0x01020304, .window = 0xfff0, .sport = 40000,
		.dport = 443, .src_last = 1, .tsval = 777, .ext_type = 60,
	};
}

static size_t spec_iph(const struct spec *s)
{
	return s->ver == 4 ? 20u + s->ip_opts : 40u + (s->v6_ext ? 8u : 0u);
}

static size_t spec_th(const struct spec *s)
{
	return s->udp ? 8u : 20u + s->tcp_opts;
}

/* The byte at stream position x: payloads are a function of sequence numbers. */
static uint8_t pat(uint32_t x)
{
	return (uint8_t)((x * 2654435761u) >> 24);
}

/* An IP packet; its L4 checksum complete, or only the pseudo-header sum (partial). */
static size_t build_pkt(uint8_t *ip, const struct spec *s, bool partial)
{
	size_t iph = spec_iph(s), th = spec_th(s), l4_len = th + s->payload, len = iph + l4_len;
	uint8_t proto = s->udp ? 17 : 6, *l4 = ip + iph;
	uint16_t c;

	memset(ip, 0, iph + th);
	if (s->ver == 4) {
		ip[0] = (uint8_t)(0x40 | iph / 4);
		ip[1] = s->tos;
		put16(ip + 2, (uint16_t)len);
		put16(ip + 4, s->id);
		put16(ip + 6, s->df ? 0x4000 : 0);
		ip[8] = s->ttl;
		ip[9] = proto;
		ip[12] = 10, ip[15] = s->src_last;
		ip[16] = 10, ip[19] = 99;
		if (s->ip_opts) {
			memset(ip + 20, 1, s->ip_opts);
			ip[20] = 148, ip[21] = 4, ip[22] = 0, ip[23] = 0;	/* router alert */
		}
		put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, iph, 0)));
	} else {
		ip[0] = (uint8_t)(0x60 | s->tos >> 4);
		ip[1] = (uint8_t)(s->tos << 4 | ((s->flow >> 16) & 0xf));
		put16(ip + 2, (uint16_t)s->flow);
		put16(ip + 4, (uint16_t)(len - 40));
		ip[6] = s->v6_ext ? s->ext_type : proto;
		ip[7] = s->ttl;
		ip[8] = 0xfd, ip[23] = s->src_last;
		ip[24] = 0xfd, ip[39] = 99;
		if (s->v6_ext) {
			ip[40] = proto;
			ip[42] = 1, ip[43] = 4;	/* PadN */
		}
	}
	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->udp) {
		put16(l4 + 4, (uint16_t)l4_len);
	} else {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)(th / 4 << 4);
		l4[13] = s->flags;
		put16(l4 + 14, s->window);
		memset(l4 + 20, 1, s->tcp_opts);
		if (s->tcp_opts >= 12) {
			l4[22] = 8, l4[23] = 10;
			put32(l4 + 24, s->tsval);
			put32(l4 + 28, 0x0a0b0c0d);
		}
	}
	for (size_t j = 0; j < s->payload; j++)
		l4[th + j] = pat(s->seq + (uint32_t)j);
	if (partial) {
		c = ref_fold(ref_pseudo(ip, proto, l4_len));
	} else {
		c = (uint16_t)~ref_fold(ref_sum(l4, l4_len, ref_pseudo(ip, proto, l4_len)));
		if (s->udp && c == 0)
			c = 0xffff;
	}
	put16(l4 + (s->udp ? 6 : 16), c);
	return len;
}

static void put_vnet(uint8_t *buf, uint8_t flags, uint8_t type, uint16_t hdr_len, uint16_t gso,
		     uint16_t start, uint16_t off)
{
	struct wm_vnet_hdr h = { flags, type, hdr_len, gso, start, off };

	wm_vnet_hdr_write(buf, &h);
}

/* A TUN read as the kernel makes it: vnet header + super-packet with a partial checksum. */
static size_t build_super(uint8_t *buf, const struct spec *s)
{
	size_t iph = spec_iph(s);
	uint8_t type = s->udp ? WM_VNET_GSO_UDP_L4 :
		       s->ver == 4 ? WM_VNET_GSO_TCPV4 : WM_VNET_GSO_TCPV6;

	put_vnet(buf, WM_VNET_F_NEEDS_CSUM, type, (uint16_t)(iph + spec_th(s)), s->gso_size,
		 (uint16_t)iph, s->udp ? 6 : 16);
	return HR + build_pkt(buf + HR, s, true);
}

/* Output slots with guard bytes behind each. */

struct outs {
	size_t n, cap;
	uint8_t **slot;
	size_t *len;
};

static void outs_init(struct outs *o, size_t n, size_t cap)
{
	o->n = n;
	o->cap = cap;
	o->slot = calloc(n ? n : 1, sizeof(*o->slot));
	o->len = calloc(n ? n : 1, sizeof(*o->len));
	ck_assert(o->slot && o->len);
	for (size_t i = 0; i < n; i++) {
		o->slot[i] = malloc(cap + GUARD);
		ck_assert_ptr_nonnull(o->slot[i]);
		memset(o->slot[i], 0xa5, cap + GUARD);
	}
}

static void outs_free(struct outs *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->slot[i]);
	free(o->slot);
	free(o->len);
}

static bool outs_untouched(const struct outs *o, size_t from)
{
	for (size_t i = 0; i < o->n; i++)
		for (size_t j = i < from ? o->cap : 0; j < o->cap + GUARD; j++)
			if (o->slot[i][j] != 0xa5)
				return false;
	return true;
}

/* Splits a copy of in held in a buffer of exactly in_len bytes, so over-reads trip ASan. */
static int split(const uint8_t *in, size_t in_len, struct outs *o)
{
	uint8_t *copy = malloc(in_len ? in_len : 1);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, in, in_len);
	r = wm_gso_split(copy, in_len, o->slot, o->len, o->cap, o->n);
	ck_assert_msg(!memcmp(copy, in, in_len), "split wrote to its input");
	free(copy);
	return r;
}

/* Checks every segment of a split of the super-packet built from s. */
static void verify_split(const struct spec *s, const uint8_t *orig, const struct outs *o, int n)
{
	size_t iph = spec_iph(s), th = spec_th(s), hdr = iph + th, gso = s->gso_size;
	size_t nseg = (s->payload + gso - 1) / gso;
	uint8_t proto = s->udp ? 17 : 6;
	uint8_t *cat = malloc(s->payload + 1);
	size_t at = 0;

	ck_assert_ptr_nonnull(cat);
	ck_assert_int_eq(n, (int)nseg);
	for (size_t k = 0; k < nseg; k++) {
		size_t plen = s->payload - k * gso < gso ? s->payload - k * gso : gso;
		const uint8_t *p = o->slot[k], *l4 = p + iph, *ol4 = orig + iph;

		ck_assert_uint_eq(o->len[k], hdr + plen);
		if (s->ver == 4) {
			ck_assert_uint_eq(p[0], orig[0]);
			ck_assert_uint_eq(p[1], orig[1]);
			ck_assert_uint_eq(get16(p + 2), hdr + plen);
			ck_assert_uint_eq(get16(p + 4), (uint16_t)(s->id + k));
			ck_assert(!memcmp(p + 6, orig + 6, 4));
			ck_assert(!memcmp(p + 12, orig + 12, iph - 12));
			ck_assert_msg(ref_ipv4_ok(p), "segment %zu: IPv4 header checksum", k);
		} else {
			ck_assert(!memcmp(p, orig, 4));
			ck_assert_uint_eq(get16(p + 4), hdr + plen - 40);
			ck_assert(!memcmp(p + 6, orig + 6, iph - 6));
		}
		ck_assert(!memcmp(l4, ol4, 4));
		if (s->udp) {
			ck_assert_uint_eq(get16(l4 + 4), 8 + plen);
		} else {
			uint8_t want = s->flags;

			if (k + 1 < nseg)
				want &= (uint8_t)~(FIN | PSH);
			if (k > 0)
				want &= (uint8_t)~CWR;
			ck_assert_uint_eq(get32(l4 + 4), (uint32_t)(s->seq + k * gso));
			ck_assert(!memcmp(l4 + 8, ol4 + 8, 5));
			ck_assert_msg(l4[13] == want, "segment %zu: flags %#x, want %#x", k, l4[13],
				      want);
			ck_assert(!memcmp(l4 + 14, ol4 + 14, 2));
			ck_assert(!memcmp(l4 + 18, ol4 + 18, th - 18));
		}
		ck_assert_msg(ref_l4_ok(p, o->len[k], iph, proto), "segment %zu: L4 checksum", k);
		memcpy(cat + at, p + hdr, plen);
		at += plen;
	}
	ck_assert_uint_eq(at, s->payload);
	ck_assert(!memcmp(cat, orig + hdr, s->payload));
	free(cat);
}

/* Builds s as a super-packet, splits it into nslots of cap, verifies; returns the count. */
static int split_spec(const struct spec *s, size_t nslots, size_t cap)
{
	uint8_t *in = malloc(HR + 65536 + 128);
	struct outs o;
	size_t len;
	int n;

	ck_assert_ptr_nonnull(in);
	len = build_super(in, s);
	outs_init(&o, nslots, cap);
	n = split(in, len, &o);
	verify_split(s, in + HR, &o, n);
	ck_assert(outs_untouched(&o, (size_t)n));
	outs_free(&o);
	free(in);
	return n;
}

START_TEST(test_vnet_hdr)
{
	struct wm_vnet_hdr h = { 1, 4, 0x1122, 0x3344, 0x5566, 0x7788 }, g;
	uint8_t buf[HR + 1];
	uint16_t v;

	wm_vnet_hdr_write(buf, &h);
	ck_assert_uint_eq(buf[0], 1);
	ck_assert_uint_eq(buf[1], 4);
	memcpy(&v, buf + 4, 2);		/* host order, as TUN without TUNSETVNETLE/BE */
	ck_assert_uint_eq(v, 0x3344);
	ck_assert_int_eq(wm_vnet_hdr_parse(&g, buf, HR), 0);
	ck_assert(!memcmp(&g, &h, sizeof(g)));
	ck_assert_int_eq(wm_vnet_hdr_parse(&g, buf, HR - 1), -EINVAL);
	ck_assert_int_eq(wm_vnet_hdr_parse(&g, buf, 0), -EINVAL);
}
END_TEST

START_TEST(test_split_tcp4)
{
	struct spec s = spec_default(4);

	s.tcp_opts = 0;
	s.gso_size = 1460;
	s.payload = 1460 * 10;		/* exact multiple */
	ck_assert_int_eq(split_spec(&s, 64, 1500), 10);

	s.tcp_opts = 12;		/* timestamps; last segment shorter */
	s.gso_size = 1448;
	s.payload = 1448 * 7 + 333;
	ck_assert_int_eq(split_spec(&s, 64, 1500), 8);

	s.df = false;			/* the ID counts up either way, and wraps */
	s.id = 0xfffe;
	s.payload = 65535 - 20 - 32;	/* the largest IPv4 packet */
	ck_assert_int_eq(split_spec(&s, 64, 1500), 46);
}
END_TEST

START_TEST(test_split_tcp6)
{
	struct spec s = spec_default(6);

	s.tcp_opts = 0;
	s.gso_size = 1220;
	s.payload = 1220 * 3 + 1;
	ck_assert_int_eq(split_spec(&s, 8, 1280), 4);

	s.tcp_opts = 40;
	s.gso_size = 1000;
	s.payload = 64000;
	ck_assert_int_eq(split_spec(&s, 64, 1280), 64);
}
END_TEST

START_TEST(test_split_seq_wraps)
{
	struct spec s = spec_default(6);

	s.seq = 0xffffffffu - 2500;
	s.payload = 5000;
	ck_assert_int_eq(split_spec(&s, 8, 1280), 5);
}
END_TEST

START_TEST(test_split_ipv4_options)
{
	struct spec s = spec_default(4);

	/* Options travel in every segment, as Linux's GSO copies them. */
	s.ip_opts = 4;
	s.payload = 4321;
	ck_assert_int_eq(split_spec(&s, 8, 1500), 5);
	s.ip_opts = 40;
	ck_assert_int_eq(split_spec(&s, 8, 1500), 5);
}
END_TEST

START_TEST(test_split_flags)
{
	struct spec s = spec_default(4);

	s.flags = ACK | PSH | FIN;	/* only on the last */
	s.payload = 3500;
	ck_assert_int_eq(split_spec(&s, 8, 1500), 4);

	s.flags = ACK | CWR | ECE | PSH; /* CWR only on the first, ECE on all */
	{
		uint8_t *in = malloc(HR + 8192);
		struct outs o;
		size_t len = build_super(in, &s);

		in[1] |= WM_VNET_GSO_ECN;
		outs_init(&o, 8, 1500);
		verify_split(&s, in + HR, &o, split(in, len, &o));
		ck_assert(o.slot[0][20 + 13] & CWR);
		ck_assert(!(o.slot[1][20 + 13] & CWR));
		ck_assert(o.slot[3][20 + 13] & PSH);
		outs_free(&o);
		free(in);
	}

	s = spec_default(6);
	s.flags = ACK | FIN;		/* a single segment keeps everything */
	s.payload = 999;
	ck_assert_int_eq(split_spec(&s, 1, 1280), 1);
}
END_TEST

START_TEST(test_split_udp)
{
	struct spec s = spec_default(4);

	s.udp = true;
	s.gso_size = 1200;
	s.payload = 1200 * 5 + 17;
	ck_assert_int_eq(split_spec(&s, 8, 1500), 6);
	s.ver = 6;
	s.payload = 1200 * 4;
	ck_assert_int_eq(split_spec(&s, 8, 1500), 4);
	s.gso_size = 1;			/* one byte each */
	s.payload = 300;
	ck_assert_int_eq(split_spec(&s, 300, 64), 300);
}
END_TEST

/* A UDP checksum that computes to zero goes out as all ones (RFC 768; RFC 8200 §8.1). */
START_TEST(test_split_udp_zero_csum)
{
	uint8_t in[HR + 2048];
	struct outs o;

	outs_init(&o, 4, 1500);
	for (int ver = 4; ver <= 6; ver += 2) {
		struct spec s = spec_default(ver);
		size_t iph = spec_iph(&s), len;
		uint8_t *ip = in + HR, *last;
		uint16_t r;

		s.udp = true;
		s.payload = 600;
		s.gso_size = 300;
		len = build_super(in, &s);
		/* Choose the last datagram's final word so that its sum is 0xffff. */
		last = ip + len - HR - 2;
		put16(last, 0);
		r = ref_fold(ref_sum(ip + iph + 8 + 300, 300, ref_pseudo(ip, 17, 308) + 308 +
				     (uint16_t)(ip[iph] << 8 | ip[iph + 1]) +
				     (uint16_t)(ip[iph + 2] << 8 | ip[iph + 3])));
		put16(last, (uint16_t)~r);
		ck_assert_int_eq(split(in, len, &o), 2);
		ck_assert_uint_eq(get16(o.slot[1] + iph + 6), 0xffff);
		ck_assert(ref_l4_ok(o.slot[1], o.len[1], iph, 17));
		ck_assert(ref_l4_ok(o.slot[0], o.len[0], iph, 17));

		/* The same datagram as GSO_NONE with NEEDS_CSUM. */
		memcpy(ip, o.slot[1], o.len[1]);
		put16(ip + iph + 6, ref_fold(ref_pseudo(ip, 17, o.len[1] - iph)));
		put_vnet(in, WM_VNET_F_NEEDS_CSUM, WM_VNET_GSO_NONE, 0, 0, (uint16_t)iph, 6);
		ck_assert_int_eq(split(in, HR + o.len[1], &o), 1);
		ck_assert_uint_eq(get16(o.slot[0] + iph + 6), 0xffff);
	}
	outs_free(&o);
}
END_TEST

START_TEST(test_split_hdr_len_hint)
{
	struct spec s = spec_default(4);
	uint8_t *in = malloc(HR + 8192);
	struct wm_vnet_hdr h;
	struct outs o;
	size_t len;

	s.payload = 4000;
	len = build_super(in, &s);
	wm_vnet_hdr_parse(&h, in, len);
	outs_init(&o, 8, 1500);
	/* The forward path reports the whole linear buffer; zero says nothing. Both ignored. */
	for (int i = 0; i < 2; i++) {
		h.hdr_len = i ? (uint16_t)(len - HR) : 0;
		wm_vnet_hdr_write(in, &h);
		verify_split(&s, in + HR, &o, split(in, len, &o));
	}
	outs_free(&o);
	free(in);
}
END_TEST

/* GSO_NONE with NEEDS_CSUM comes out exactly as the fully checksummed packet. */
START_TEST(test_split_none_csum)
{
	static const struct { int ver; bool udp, ext; } cases[] = {
		{ 4, false, false }, { 4, true, false }, { 6, false, false }, { 6, true, false },
		{ 6, false, true },
	};
	uint8_t in[HR + 2048], want[2048];
	struct outs o;

	outs_init(&o, 1, 1500);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec s = spec_default(cases[i].ver);
		size_t len, iph;

		s.udp = cases[i].udp;
		s.v6_ext = cases[i].ext;
		s.payload = 777 + i;
		iph = spec_iph(&s);
		len = build_pkt(want, &s, false);
		build_pkt(in + HR, &s, true);
		put_vnet(in, WM_VNET_F_NEEDS_CSUM, WM_VNET_GSO_NONE, 0, 0, (uint16_t)iph,
			 s.udp ? 6 : 16);
		ck_assert_int_eq(split(in, HR + len, &o), 1);
		ck_assert_uint_eq(o.len[0], len);
		ck_assert_msg(!memcmp(o.slot[0], want, len), "case %zu", i);
		ck_assert(ref_l4_ok(o.slot[0], len, iph, s.udp ? 17 : 6));

		/* Without NEEDS_CSUM (DATA_VALID or nothing) the bytes pass as they are. */
		put_vnet(in, WM_VNET_F_DATA_VALID, WM_VNET_GSO_NONE, 0, 0, 0, 0);
		ck_assert_int_eq(split(in, HR + len, &o), 1);
		ck_assert(!memcmp(o.slot[0], in + HR, len));
	}
	outs_free(&o);
}
END_TEST

/* One malformed input: a mutation of a valid super-packet, expected result. */
struct bad {
	const char *what;
	int ver;
	bool udp;
	int err;
	void (*mutate)(uint8_t *in, size_t *len, const struct spec *s);
};

static void m_gso0(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[4] = in[5] = 0;
}

static void set_hdr_field(uint8_t *in, size_t off, uint16_t v)
{
	memcpy(in + off, &v, 2);
}

static void m_start_lo(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	set_hdr_field(in, 6, (uint16_t)(spec_iph(s) - 4));
}

static void m_start_hi(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	set_hdr_field(in, 6, (uint16_t)(spec_iph(s) + 2));
}

static void m_start_huge(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	set_hdr_field(in, 6, 0xfff0);
	set_hdr_field(in, 8, 0xfff0);
}

static void m_offset(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	set_hdr_field(in, 8, s->udp ? 16 : 6);
}

static void m_no_csum(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[0] = 0;
}

static void m_flags(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[0] |= 4;
}

static void m_type_ufo(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[1] = 3;
}

static void m_type_ecn(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[1] |= WM_VNET_GSO_ECN;
}

static void m_type_swap(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	in[1] = s->ver == 4 ? WM_VNET_GSO_TCPV6 : WM_VNET_GSO_TCPV4;
}

static void m_type_udp(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[1] = WM_VNET_GSO_UDP_L4;
	set_hdr_field(in, 8, 6);
}

static void m_type_tcp(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	in[1] = s->ver == 4 ? WM_VNET_GSO_TCPV4 : WM_VNET_GSO_TCPV6;
	set_hdr_field(in, 8, 16);
}

static void m_hdr_len(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)s;
	set_hdr_field(in, 2, (uint16_t)(*len - HR + 1));
}

static void m_version(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[HR] = (uint8_t)((in[HR] & 0xf) | 0x50);
}

static void m_ihl(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[HR] = 0x44;
}

static void m_iplen(uint8_t *in, size_t *len, const struct spec *s)
{
	uint8_t *ip = in + HR;

	(void)len;
	if (s->ver == 4)
		put16(ip + 2, (uint16_t)(get16(ip + 2) - 1));
	else
		put16(ip + 4, (uint16_t)(get16(ip + 4) + 1));
}

static void m_mf(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[HR + 6] |= 0x20;
}

static void m_fragoff(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[HR + 7] = 1;
}

static void m_proto(uint8_t *in, size_t *len, const struct spec *s)
{
	in[HR + (s->ver == 4 ? 9 : 6)] = s->udp ? 6 : 17;
	(void)len;
}

/* Truncates the packet after n bytes of the TCP header, lengths made consistent. */
static void truncate_l4(uint8_t *in, size_t *len, const struct spec *s, size_t n)
{
	uint8_t *ip = in + HR;
	size_t iplen = spec_iph(s) + n;

	if (s->ver == 4)
		put16(ip + 2, (uint16_t)iplen);
	else
		put16(ip + 4, (uint16_t)(iplen - 40));
	*len = HR + iplen;
	set_hdr_field(in, 2, 0);	/* so that only the packet is at fault */
}

static void m_trunc_tcp(uint8_t *in, size_t *len, const struct spec *s)
{
	truncate_l4(in, len, s, 13);
}

static void m_trunc_opts(uint8_t *in, size_t *len, const struct spec *s)
{
	truncate_l4(in, len, s, spec_th(s) - 1);
}

static void m_no_payload(uint8_t *in, size_t *len, const struct spec *s)
{
	truncate_l4(in, len, s, spec_th(s));
}

static void m_trunc_udp(uint8_t *in, size_t *len, const struct spec *s)
{
	truncate_l4(in, len, s, 7);
}

static void m_trunc_ip(uint8_t *in, size_t *len, const struct spec *s)
{
	*len = HR + (s->ver == 4 ? 19 : 39);
	(void)in;
}

static void m_doff_small(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len;
	in[HR + spec_iph(s) + 12] = 4 << 4;
}

static void m_doff_big(uint8_t *in, size_t *len, const struct spec *s)
{
	in[HR + spec_iph(s) + 12] = 15 << 4;
	truncate_l4(in, len, s, spec_th(s) + 10);	/* 42 bytes after the TCP header: < 60 */
}

static void m_ext(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)len, (void)s;
	in[HR + 6] = 0;		/* hop-by-hop in front of TCP */
}

static void m_only_hdr(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)in, (void)s;
	*len = HR;
}

static void m_short_hdr(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)in, (void)s;
	*len = HR - 1;
}

static void m_none_csum_out(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)s;
	in[1] = WM_VNET_GSO_NONE;
	set_hdr_field(in, 6, (uint16_t)(*len - HR - 10));
	set_hdr_field(in, 8, 9);	/* the field's second byte one past the end */
}

static void m_none_start_out(uint8_t *in, size_t *len, const struct spec *s)
{
	(void)s;
	in[1] = WM_VNET_GSO_NONE;
	set_hdr_field(in, 6, (uint16_t)(*len - HR + 1));
	set_hdr_field(in, 8, 0);
}

START_TEST(test_split_malformed)
{
	static const struct bad cases[] = {
		{ "gso_size 0", 4, false, -EINVAL, m_gso0 },
		{ "gso_size 0 udp", 6, true, -EINVAL, m_gso0 },
		{ "csum_start inside IP", 4, false, -EINVAL, m_start_lo },
		{ "csum_start past L4", 6, false, -EINVAL, m_start_hi },
		{ "csum_start huge", 4, true, -EINVAL, m_start_huge },
		{ "csum_offset", 4, false, -EINVAL, m_offset },
		{ "csum_offset udp", 6, true, -EINVAL, m_offset },
		{ "no NEEDS_CSUM", 4, false, -EINVAL, m_no_csum },
		{ "unknown flag", 6, false, -EINVAL, m_flags },
		{ "UFO", 4, true, -EINVAL, m_type_ufo },
		{ "UDP_L4|ECN", 4, true, -EINVAL, m_type_ecn },
		{ "TCPV6 on IPv4", 4, false, -EINVAL, m_type_swap },
		{ "TCPV4 on IPv6", 6, false, -EINVAL, m_type_swap },
		{ "UDP_L4 on TCP", 4, false, -EINVAL, m_type_udp },
		{ "TCPV4 on UDP", 4, true, -EINVAL, m_type_tcp },
		{ "TCPV6 on UDP", 6, true, -EINVAL, m_type_tcp },
		{ "hdr_len past the packet", 4, false, -EINVAL, m_hdr_len },
		{ "IP version 5 (v4)", 4, false, -EINVAL, m_version },
		{ "IP version 5 (udp)", 6, true, -EINVAL, m_version },
		{ "IHL 4", 4, false, -EINVAL, m_ihl },
		{ "IPv4 total length", 4, false, -EINVAL, m_iplen },
		{ "IPv6 payload length", 6, false, -EINVAL, m_iplen },
		{ "IPv4 MF", 4, false, -EINVAL, m_mf },
		{ "IPv4 fragment offset", 4, true, -EINVAL, m_fragoff },
		{ "IPv4 proto", 4, false, -EINVAL, m_proto },
		{ "IPv6 next header", 6, true, -EINVAL, m_proto },
		{ "IPv6 extension header", 6, false, -EINVAL, m_ext },
		{ "truncated IPv4 header", 4, false, -EINVAL, m_trunc_ip },
		{ "truncated IPv6 header", 6, true, -EINVAL, m_trunc_ip },
		{ "truncated TCP header", 4, false, -EINVAL, m_trunc_tcp },
		{ "truncated TCP options", 6, false, -EINVAL, m_trunc_opts },
		{ "truncated UDP header", 4, true, -EINVAL, m_trunc_udp },
		{ "TCP data offset 4", 4, false, -EINVAL, m_doff_small },
		{ "TCP data offset past the packet", 6, false, -EINVAL, m_doff_big },
		{ "GSO without payload", 4, false, -EINVAL, m_no_payload },
		{ "GSO without payload (udp)", 6, true, -EINVAL, m_no_payload },
		{ "vnet header only", 4, false, -EINVAL, m_only_hdr },
		{ "short vnet header", 4, false, -EINVAL, m_short_hdr },
		{ "NONE csum field past end", 4, false, -EINVAL, m_none_csum_out },
		{ "NONE csum_start past end", 6, true, -EINVAL, m_none_start_out },
	};
	uint8_t *in = malloc(HR + 8192);
	struct outs o;

	outs_init(&o, 16, 1500);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec s = spec_default(cases[i].ver);
		size_t len;
		int r;

		s.udp = cases[i].udp;
		s.payload = 3000;
		len = build_super(in, &s);
		ck_assert_int_ge(split(in, len, &o), 1);	/* valid before the mutation */
		for (size_t k = 0; k < o.n; k++)
			memset(o.slot[k], 0xa5, o.cap + GUARD);
		cases[i].mutate(in, &len, &s);
		r = split(in, len, &o);
		ck_assert_msg(r == cases[i].err, "%s: got %d", cases[i].what, r);
		ck_assert_msg(outs_untouched(&o, 0), "%s: wrote output", cases[i].what);
	}
	outs_free(&o);
	free(in);
}
END_TEST

START_TEST(test_split_nobufs)
{
	struct spec s = spec_default(4);
	uint8_t *in = malloc(HR + 65536);
	struct outs o;
	size_t len;

	s.payload = 5000;		/* 5 segments of 1052 bytes */
	len = build_super(in, &s);
	outs_init(&o, 4, 1500);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	ck_assert(outs_untouched(&o, 0));
	outs_free(&o);
	outs_init(&o, 8, 1051);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	ck_assert(outs_untouched(&o, 0));
	outs_free(&o);
	outs_init(&o, 5, 1052);		/* exactly enough */
	ck_assert_int_eq(split(in, len, &o), 5);
	outs_free(&o);
	outs_init(&o, 0, 1500);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	outs_free(&o);

	/* Small segments of a large packet: many slots needed. */
	s.gso_size = 64;
	s.payload = 60000;
	len = build_super(in, &s);
	outs_init(&o, 100, 1500);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	ck_assert(outs_untouched(&o, 0));
	outs_free(&o);
	ck_assert_int_eq(split_spec(&s, 938, 128), 938);

	/* GSO_NONE larger than a slot, or no slot. */
	put_vnet(in, 0, WM_VNET_GSO_NONE, 0, 0, 0, 0);
	outs_init(&o, 1, len - HR - 1);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	ck_assert(outs_untouched(&o, 0));
	outs_free(&o);
	outs_init(&o, 0, 65536);
	ck_assert_int_eq(split(in, len, &o), -ENOBUFS);
	outs_free(&o);
	free(in);
}
END_TEST

/* GRO batches */

struct batch {
	size_t n;
	struct wm_gro_packet p[MAXB];
	uint8_t *mem[MAXB];
	uint8_t *orig[MAXB];
	size_t orig_len[MAXB];
	size_t write[MAXB];
};

static void batch_add_raw(struct batch *b, const uint8_t *ip, size_t len, size_t cap)
{
	size_t i = b->n++;

	ck_assert_uint_lt(i, MAXB);
	if (cap < len)
		cap = len;
	b->mem[i] = malloc(HR + cap);
	b->orig[i] = malloc(len ? len : 1);
	ck_assert(b->mem[i] && b->orig[i]);
	memset(b->mem[i], 0xee, HR);
	memcpy(b->mem[i] + HR, ip, len);
	memcpy(b->orig[i], ip, len);
	b->orig_len[i] = len;
	b->p[i] = (struct wm_gro_packet){ b->mem[i] + HR, len, cap };
}

static void batch_add(struct batch *b, const struct spec *s, size_t cap)
{
	uint8_t ip[65536 + 128];

	batch_add_raw(b, ip, build_pkt(ip, s, false), cap);
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->mem[i]);
		free(b->orig[i]);
	}
	b->n = 0;
}

static int batch_run(struct batch *b)
{
	return wm_gro_coalesce(b->p, b->n, b->write);
}

/*
 * Checks a coalesced batch against the expected grouping: group[i] is the
 * index of the packet that i was merged into (i itself for a packet written).
 */
static void check_groups(struct batch *b, int nw, const int *group)
{
	size_t k = 0;

	for (size_t i = 0; i < b->n; i++) {
		ck_assert_int_le(group[i], (int)i);
		if (group[i] == (int)i) {
			ck_assert_int_lt((int)k, nw);
			ck_assert_msg(b->write[k] == i, "write[%zu] = %zu, want %zu", k,
				      b->write[k], i);
			k++;
		}
	}
	ck_assert_int_eq(nw, (int)k);

	for (size_t l = 0; l < b->n; l++) {
		const uint8_t *o = b->orig[l], *ip = b->p[l].data;
		size_t members = 0, iph, th, len, gso, at;
		uint8_t psh = 0, zero[HR] = { 0 };
		struct wm_vnet_hdr h;
		uint8_t *copy;

		if (group[l] != (int)l)
			continue;
		for (size_t i = l; i < b->n; i++)
			members += group[i] == (int)l;
		if (members == 1) {
			ck_assert_msg(!memcmp(ip - HR, zero, HR), "packet %zu: vnet header", l);
			ck_assert_uint_eq(b->p[l].len, b->orig_len[l]);
			ck_assert_msg(!memcmp(ip, o, b->orig_len[l]), "packet %zu changed", l);
			continue;
		}
		iph = o[0] >> 4 == 4 ? 20 : 40;
		th = (size_t)(o[iph + 12] >> 4) * 4;
		gso = b->orig_len[l] - iph - th;
		len = b->orig_len[l];
		for (size_t i = l + 1, seen = 1; i < b->n; i++) {
			if (group[i] != (int)l)
				continue;
			size_t pl = b->orig_len[i] - iph - th;

			seen++;
			ck_assert_msg(seen == members ? pl <= gso : pl == gso,
				      "packet %zu: payload %zu in a run of %zu", i, pl, gso);
			len += pl;
			psh |= b->orig[i][iph + 13] & PSH;
		}
		ck_assert_uint_eq(b->p[l].len, len);
		ck_assert_uint_le(len, 65535);
		wm_vnet_hdr_parse(&h, ip - HR, HR);
		ck_assert_uint_eq(h.flags, WM_VNET_F_NEEDS_CSUM);
		ck_assert_uint_eq(h.gso_type, iph == 20 ? WM_VNET_GSO_TCPV4 : WM_VNET_GSO_TCPV6);
		ck_assert_uint_eq(h.hdr_len, iph + th);
		ck_assert_uint_eq(h.gso_size, gso);
		ck_assert_uint_eq(h.csum_start, iph);
		ck_assert_uint_eq(h.csum_offset, 16);
		if (iph == 20) {
			ck_assert_uint_eq(get16(ip + 2), len);
			ck_assert(!memcmp(ip, o, 2) && !memcmp(ip + 4, o + 4, 6));
			ck_assert(!memcmp(ip + 12, o + 12, 8));
			ck_assert(ref_ipv4_ok(ip));
		} else {
			ck_assert_uint_eq(get16(ip + 4), len - 40);
			ck_assert(!memcmp(ip, o, 4) && !memcmp(ip + 6, o + 6, 34));
		}
		ck_assert(!memcmp(ip + iph, o + iph, 13));
		ck_assert_uint_eq(ip[iph + 13], o[iph + 13] | psh);
		ck_assert(!memcmp(ip + iph + 14, o + iph + 14, 2));
		ck_assert(!memcmp(ip + iph + 18, o + iph + 18, th - 18));
		/* The checksum field holds the pseudo-header sum; completing it must verify. */
		ck_assert_uint_eq(get16(ip + iph + 16), ref_fold(ref_pseudo(ip, 6, len - iph)));
		copy = malloc(len);
		memcpy(copy, ip, len);
		put16(copy + iph + 16,
		      (uint16_t)~ref_fold(ref_sum(copy + iph, len - iph, 0)));
		ck_assert(ref_l4_ok(copy, len, iph, 6));
		free(copy);
		/* The payload is the members' payloads in order. */
		at = iph + th;
		for (size_t i = l; i < b->n; i++) {
			size_t pl = b->orig_len[i] - iph - th;

			if (group[i] != (int)l)
				continue;
			ck_assert_msg(!memcmp(ip + at, b->orig[i] + iph + th, pl),
				      "payload of %zu", i);
			at += pl;
		}
	}
}

/* Appends n in-order segments of payload pl to the batch, starting at s->seq. */
static void add_run(struct batch *b, struct spec *s, size_t n, size_t pl)
{
	for (size_t i = 0; i < n; i++) {
		s->payload = pl;
		batch_add(b, s, 65536 + 4096);
		s->seq += (uint32_t)pl;
		s->id++;
	}
}

static void roundtrip(const struct spec *s)
{
	size_t nseg = (s->payload + s->gso_size - 1) / s->gso_size;
	uint8_t *in = malloc(HR + 65536 + 128);
	struct batch *b = calloc(1, sizeof(*b));
	struct outs o;
	size_t len;
	int n;

	ck_assert(in && b);
	len = build_super(in, s);
	outs_init(&o, nseg, 2048);
	n = split(in, len, &o);
	verify_split(s, in + HR, &o, n);
	for (int k = 0; k < n; k++)
		batch_add_raw(b, o.slot[k], o.len[k], k ? o.len[k] : 65535);
	n = batch_run(b);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(b->write[0], 0);
	if (nseg == 1) {
		ck_assert_uint_eq(b->p[0].len, o.len[0]);
		ck_assert(!memcmp(b->p[0].data, o.slot[0], o.len[0]));
		ck_assert_uint_eq(b->p[0].data[-HR + 1], WM_VNET_GSO_NONE);
	} else {
		/* Back to the kernel's super-packet, vnet header included, byte for byte. */
		ck_assert_uint_eq(b->p[0].len + HR, len);
		ck_assert_msg(!memcmp(b->p[0].data - HR, in, len), "round trip differs");
	}
	batch_free(b);
	free(b);
	outs_free(&o);
	free(in);
}

START_TEST(test_roundtrip)
{
	struct spec s = spec_default(4);

	s.flags = ACK | PSH;
	s.payload = 1000 * 20 + 1;
	roundtrip(&s);
	s.df = false;
	s.tcp_opts = 0;
	roundtrip(&s);
	s = spec_default(6);
	s.payload = 64000;
	s.gso_size = 1208;
	roundtrip(&s);
}
END_TEST

static uint32_t rnd(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

/* Random super-packets (fixed seed): split verified against the oracle, then merged back. */
START_TEST(test_random_roundtrip)
{
	static const uint8_t tcp_opts[] = { 0, 4, 12, 20, 40 };
	uint32_t x = 12345;

	for (int iter = 0; iter < 300; iter++) {
		struct spec s;
		size_t hdr, maxpl;

		s = spec_default(rnd(&x) & 1 ? 4 : 6);
		s.tcp_opts = tcp_opts[rnd(&x) % 5];
		s.flags = ACK | (rnd(&x) & 1 ? PSH : 0) | (rnd(&x) % 8 == 0 ? ECE : 0);
		s.df = rnd(&x) & 1;
		s.id = (uint16_t)rnd(&x);
		s.seq = (uint32_t)rnd(&x) << 8;
		s.gso_size = (uint16_t)(rnd(&x) % 8 == 0 ? 1 + rnd(&x) % 64 : 500 + rnd(&x) % 1400);
		hdr = spec_iph(&s) + spec_th(&s);
		maxpl = 65535 - hdr;
		if (maxpl > (size_t)s.gso_size * 150)
			maxpl = (size_t)s.gso_size * 150;
		s.payload = 1 + rnd(&x) % maxpl;
		if (iter % 3 == 0 && s.ver == 4)
			s.ip_opts = (uint8_t)(4 * (rnd(&x) % 11));
		if (s.ip_opts) {
			if (s.payload + hdr + s.ip_opts > 65535)
				s.payload = 65535 - hdr - s.ip_opts;
			split_spec(&s, (s.payload + s.gso_size - 1) / s.gso_size, 2048);
		} else {
			roundtrip(&s);
		}
	}
}
END_TEST

START_TEST(test_gro_two_flows)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec a = spec_default(4), c = spec_default(4);

	c.sport = 40001;
	for (int i = 0; i < 3; i++) {
		add_run(b, &a, 1, 1000);
		add_run(b, &c, 1, 1000);
	}
	check_groups(b, batch_run(b), (int[]){ 0, 1, 0, 1, 0, 1 });
	batch_free(b);

	/* The same ports between other addresses. */
	a = spec_default(6), c = spec_default(6);
	c.src_last = 2;
	add_run(b, &a, 2, 500);
	add_run(b, &c, 2, 500);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 2 });
	batch_free(b);
	free(b);
}
END_TEST

START_TEST(test_gro_gap_and_ack)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s = spec_default(4);

	add_run(b, &s, 2, 1000);
	s.seq += 1000;			/* a lost segment */
	add_run(b, &s, 2, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 2 });
	batch_free(b);

	s = spec_default(6);		/* a retransmission */
	add_run(b, &s, 2, 1000);
	s.seq -= 1000;
	add_run(b, &s, 1, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2 });
	batch_free(b);

	s = spec_default(4);
	add_run(b, &s, 2, 1000);
	s.ack++;
	add_run(b, &s, 2, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 2 });
	batch_free(b);
	free(b);
}
END_TEST

START_TEST(test_gro_flags)
{
	static const uint8_t bad[] = { ACK | SYN, SYN, ACK | FIN, ACK | RST, RST, ACK | URG,
				       ACK | CWR, 0, PSH };
	struct batch *b = calloc(1, sizeof(*b));

	for (size_t i = 0; i < sizeof(bad); i++) {
		struct spec s = spec_default(i & 1 ? 6 : 4);

		add_run(b, &s, 1, 1000);
		s.flags = bad[i];
		add_run(b, &s, 1, 1000);
		s.flags = ACK;
		add_run(b, &s, 2, 1000);
		check_groups(b, batch_run(b), (int[]){ 0, 1, 2, 2 });
		batch_free(b);

		/* Not even among themselves. */
		s.flags = bad[i];
		add_run(b, &s, 3, 1000);
		check_groups(b, batch_run(b), (int[]){ 0, 1, 2 });
		batch_free(b);
	}

	/* PSH ends a run: merged as the last, never followed. */
	struct spec s = spec_default(4);

	add_run(b, &s, 1, 1000);
	s.flags = ACK | PSH;
	add_run(b, &s, 1, 1000);
	s.flags = ACK;
	add_run(b, &s, 3, 1000);
	s.flags = ACK | PSH;
	add_run(b, &s, 2, 1000);
	s.flags = ACK;
	add_run(b, &s, 2, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 2, 2, 2, 6, 7, 7 });
	batch_free(b);

	/* ECE is fine when all carry it; a change is not. */
	s = spec_default(6);
	s.flags = ACK | ECE;
	add_run(b, &s, 2, 1000);
	s.flags = ACK;
	add_run(b, &s, 1, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2 });
	batch_free(b);

	/* No payload (a pure ACK) keeps its place in the flow. */
	s = spec_default(4);
	add_run(b, &s, 2, 1000);
	add_run(b, &s, 1, 0);
	add_run(b, &s, 2, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 3, 3 });
	batch_free(b);
	free(b);
}
END_TEST

START_TEST(test_gro_sizes)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s = spec_default(4);
	int g[MAXB];
	int n;

	/* A shorter segment ends the run; a longer one cannot follow. */
	add_run(b, &s, 2, 1000);
	add_run(b, &s, 1, 500);
	add_run(b, &s, 1, 1000);
	add_run(b, &s, 1, 1001);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 0, 3, 4 });
	batch_free(b);

	/* At most 65535 bytes: 46 * 1400 + 52 of headers fit, 47 do not. */
	s = spec_default(4);
	add_run(b, &s, 100, 1400);
	for (int i = 0; i < 100; i++)
		g[i] = i < 46 ? 0 : i < 92 ? 46 : 92;
	n = batch_run(b);
	check_groups(b, n, g);
	batch_free(b);

	/* IPv6: the payload length field counts 40 bytes fewer; the limit stays 65535. */
	s = spec_default(6);
	add_run(b, &s, 50, 1400);
	for (int i = 0; i < 50; i++)
		g[i] = i < 46 ? 0 : 46;
	check_groups(b, batch_run(b), g);
	batch_free(b);

	/* A leader without room cannot grow; the next one can. */
	s = spec_default(6);
	s.payload = 1000;
	batch_add(b, &s, 0);
	s.seq += 1000;
	add_run(b, &s, 1, 1000);
	s.payload = 1000;
	add_run(b, &s, 1, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 1, 1 });
	batch_free(b);
	free(b);
}
END_TEST

/* A header field differing between two consecutive segments keeps them apart. */
START_TEST(test_gro_header_fields)
{
	struct batch *b = calloc(1, sizeof(*b));

	for (int field = 0; field < 12; field++) {
		struct spec s = spec_default(field < 6 ? 4 : 6);

		add_run(b, &s, 1, 1000);
		switch (field) {
		case 0: s.ttl--; break;
		case 1: s.tos = 0; break;
		case 2: s.df = false; break;
		case 3: s.window++; break;
		case 4: s.tsval++; break;
		case 5: s.tcp_opts = 0; break;
		case 6: s.flow++; break;
		case 7: s.ttl++; break;
		case 8: s.tos ^= 4; break;
		case 9: s.tcp_opts = 16; break;
		case 10: s.dport++; break;
		}
		add_run(b, &s, 2, 1000);
		if (field == 11) {	/* an urgent pointer without URG, checksum kept valid */
			for (int k = 1; k < 3; k++) {
				uint8_t *t = b->p[k].data + 40;

				put16(t + 18, 0x1234);
				put16(t + 16, 0);
				put16(t + 16, (uint16_t)~ref_fold(ref_sum(t, b->p[k].len - 40,
						ref_pseudo(b->p[k].data, 6, b->p[k].len - 40))));
				memcpy(b->orig[k], b->p[k].data, b->p[k].len);
			}
		}
		check_groups(b, batch_run(b), (int[]){ 0, 1, 1 });
		batch_free(b);
	}

	/* IPv4 IDs: without DF they must count up; with DF anything goes. */
	for (int df = 0; df < 2; df++) {
		struct spec s = spec_default(4);

		s.df = df;
		add_run(b, &s, 2, 1000);
		s.id += 7;
		add_run(b, &s, 1, 1000);
		check_groups(b, batch_run(b), df ? (int[]){ 0, 0, 0 } : (int[]){ 0, 0, 2 });
		batch_free(b);
	}
	free(b);
}
END_TEST

START_TEST(test_gro_not_candidates)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s = spec_default(6);

	/* IPv6 extension headers: never merged, and they end the flow's run. */
	for (int ext = 0; ext < 2; ext++) {
		s.ext_type = ext ? 0 : 60;
		s.v6_ext = true;
		add_run(b, &s, 3, 1000);
		check_groups(b, batch_run(b), (int[]){ 0, 1, 2 });
		batch_free(b);
		s.v6_ext = false;
		add_run(b, &s, 2, 1000);
		s.v6_ext = true;	/* no payload: only the ext header keeps 3 out of 0's run */
		add_run(b, &s, 1, 0);
		s.v6_ext = false;
		add_run(b, &s, 2, 1000);
		check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 3, 3 });
		batch_free(b);
	}

	/* IPv4 options likewise. */
	s = spec_default(4);
	s.ip_opts = 4;
	add_run(b, &s, 3, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 1, 2 });
	batch_free(b);

	/* UDP is not coalesced and leaves TCP runs alone. */
	s = spec_default(4);
	struct spec u = spec_default(4);

	u.udp = true;
	add_run(b, &s, 1, 1000);
	add_run(b, &u, 3, 1000);
	add_run(b, &s, 1, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 1, 2, 3, 0 });
	batch_free(b);
	free(b);
}
END_TEST

START_TEST(test_gro_fragments_and_junk)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s = spec_default(4);
	uint8_t ip[2048], junk[3] = { 0x45, 0, 0 };
	size_t len;

	/* A non-first fragment between the same hosts may be of the flow: it ends the run. */
	add_run(b, &s, 2, 1000);
	len = build_pkt(ip, &s, false);
	put16(ip + 6, 0x00b9);
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, 20, 0)));
	batch_add_raw(b, ip, len, 65535);
	add_run(b, &s, 2, 1000);
	batch_add_raw(b, junk, sizeof(junk), 65535);
	batch_add_raw(b, junk, 0, 65535);
	add_run(b, &s, 1, 1000);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 3, 3, 5, 6, 3 });
	batch_free(b);

	ck_assert_int_eq(wm_gro_coalesce(b->p, 0, b->write), 0);
	free(b);
}
END_TEST

START_TEST(test_gro_bad_checksums)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s = spec_default(4);

	/* A bad follower stays as it was (the kernel drops it); the run ends. */
	add_run(b, &s, 2, 1000);
	add_run(b, &s, 2, 1000);
	b->p[2].data[40 + 500] ^= 1;
	memcpy(b->orig[2], b->p[2].data, b->orig_len[2]);
	check_groups(b, batch_run(b), (int[]){ 0, 0, 2, 3 });
	batch_free(b);

	/* A bad leader: it goes alone, the next leads. */
	s = spec_default(6);
	add_run(b, &s, 3, 1000);
	b->p[0].data[40 + 32 + 3] ^= 0x10;	/* payload */
	memcpy(b->orig[0], b->p[0].data, b->orig_len[0]);
	check_groups(b, batch_run(b), (int[]){ 0, 1, 1 });
	batch_free(b);

	/* A bad IPv4 header checksum. */
	s = spec_default(4);
	add_run(b, &s, 3, 1000);
	b->p[1].data[10] ^= 1;
	memcpy(b->orig[1], b->p[1].data, b->orig_len[1]);
	check_groups(b, batch_run(b), (int[]){ 0, 1, 2 });
	batch_free(b);
	free(b);
}
END_TEST

START_TEST(test_gro_many_flows)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct spec s[80];
	int g[MAXB];
	size_t tot_in = 0, tot_out = 0;
	int n;

	/* 64 flows interleaved: every one coalesces. */
	for (int i = 0; i < 64; i++) {
		s[i] = spec_default(i & 1 ? 6 : 4);
		s[i].sport = (uint16_t)(1000 + i);
	}
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 64; i++)
			add_run(b, &s[i], 1, 100 + (size_t)i);
	for (int i = 0; i < 128; i++)
		g[i] = i % 64;
	check_groups(b, batch_run(b), g);
	batch_free(b);

	/* 80: some runs close early; nothing is lost or reordered. */
	for (int i = 0; i < 80; i++) {
		s[i] = spec_default(4);
		s[i].sport = (uint16_t)(1000 + i);
	}
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 80; i++)
			add_run(b, &s[i], 1, 100);
	for (size_t i = 0; i < b->n; i++)
		tot_in += b->orig_len[i] - 52;
	n = batch_run(b);
	ck_assert_int_ge(n, 80);
	ck_assert_int_le(n, 160);
	for (int k = 0; k < n; k++) {
		ck_assert(k == 0 || b->write[k] > b->write[k - 1]);
		tot_out += b->p[b->write[k]].len - 52;
	}
	ck_assert_uint_eq(tot_in, tot_out);
	batch_free(b);
	free(b);
}
END_TEST

/* Allocation counting: glibc's allocator wrapped, or ASan's hooks under ASan. */
static volatile int counting, allocs;

#if defined(__SANITIZE_ADDRESS__)
#define WM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WM_TEST_ASAN 1
#endif
#endif

#ifdef WM_TEST_ASAN
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
	(void)p, (void)n;
	if (counting)
		allocs++;
}

static void on_free(const volatile void *p)
{
	(void)p;
	if (counting)
		allocs++;
}

static void count_allocs(void)
{
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (counting && p)
		allocs++;
	__libc_free(p);
}

static void count_allocs(void)
{
}
#endif

START_TEST(test_no_allocation)
{
	void *(*volatile do_malloc)(size_t) = malloc;
	struct spec s = spec_default(4);
	struct batch *b = calloc(1, sizeof(*b));
	uint8_t *in = malloc(HR + 65536);
	struct outs o;
	size_t len;
	int n;

	count_allocs();
	/* The counter itself works. */
	counting = 1;
	free(do_malloc(16));
	counting = 0;
	ck_assert_int_ge(allocs, 1);

	s.payload = 40000;
	len = build_super(in, &s);
	outs_init(&o, 64, 1500);
	allocs = 0;
	counting = 1;
	n = wm_gso_split(in, len, o.slot, o.len, o.cap, o.n);
	counting = 0;
	ck_assert_int_eq(n, 40);
	for (int k = 0; k < n; k++)
		batch_add_raw(b, o.slot[k], o.len[k], 65535);
	counting = 1;
	n = wm_gro_coalesce(b->p, b->n, b->write);
	counting = 0;
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(allocs, 0);
	batch_free(b);
	outs_free(&o);
	free(in);
	free(b);
}
END_TEST

static Suite *offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *split = tcase_create("split");
	TCase *gro = tcase_create("gro");

	tcase_add_test(split, test_vnet_hdr);
	tcase_add_test(split, test_split_tcp4);
	tcase_add_test(split, test_split_tcp6);
	tcase_add_test(split, test_split_seq_wraps);
	tcase_add_test(split, test_split_ipv4_options);
	tcase_add_test(split, test_split_flags);
	tcase_add_test(split, test_split_udp);
	tcase_add_test(split, test_split_udp_zero_csum);
	tcase_add_test(split, test_split_hdr_len_hint);
	tcase_add_test(split, test_split_none_csum);
	tcase_add_test(split, test_split_malformed);
	tcase_add_test(split, test_split_nobufs);
	tcase_set_timeout(split, 60);
	suite_add_tcase(s, split);

	tcase_add_test(gro, test_roundtrip);
	tcase_add_test(gro, test_random_roundtrip);
	tcase_add_test(gro, test_gro_two_flows);
	tcase_add_test(gro, test_gro_gap_and_ack);
	tcase_add_test(gro, test_gro_flags);
	tcase_add_test(gro, test_gro_sizes);
	tcase_add_test(gro, test_gro_header_fields);
	tcase_add_test(gro, test_gro_not_candidates);
	tcase_add_test(gro, test_gro_fragments_and_junk);
	tcase_add_test(gro, test_gro_bad_checksums);
	tcase_add_test(gro, test_gro_many_flows);
	tcase_add_test(gro, test_no_allocation);
	tcase_set_timeout(gro, 120);
	suite_add_tcase(s, gro);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(offload_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
