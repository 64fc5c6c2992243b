/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the TUN offloads. Each input is a TUN read (vnet header + packet)
 * for wm_gso_split, into large and into small output slots. The segments it
 * yields, with up to three edits taken from the input's last 12 bytes
 * (checksums repaired unless the edit says not to), form a batch for
 * wm_gro_coalesce; an input that does not split is read as length-prefixed
 * packets instead. Beyond memory safety it checks the promises: segments
 * carry valid checksums and the whole payload; a coalesced packet splits back
 * into exactly the packets merged into it, in order; nothing else changes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tun/offload.h"

enum {
	HR = WM_VNET_HDR_LEN,
	BIG_SLOTS = 128,
	BIG_CAP = 65536,
	SMALL_SLOTS = 8,
	SMALL_CAP = 1500,
	BATCH = 140,
	GRO_CAP = 65536 + 512,
};

static uint8_t *big[BIG_SLOTS], *small[SMALL_SLOTS], *mem[BATCH], *orig[BATCH], *resplit;
static size_t big_len[BIG_SLOTS], small_len[SMALL_SLOTS], orig_len[BATCH], wr[BATCH];
static struct wm_gro_packet pkts[BATCH];
static bool ready;

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	CHECK(p);
	return p;
}

static void setup(void)
{
	for (int i = 0; i < BIG_SLOTS; i++)
		big[i] = xmalloc(BIG_CAP);
	for (int i = 0; i < SMALL_SLOTS; i++)
		small[i] = xmalloc(SMALL_CAP);
	for (int i = 0; i < BATCH; i++) {
		mem[i] = xmalloc(HR + GRO_CAP);
		orig[i] = xmalloc(GRO_CAP);
	}
	resplit = xmalloc(HR + GRO_CAP);
	ready = true;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint64_t sum(const uint8_t *p, size_t n, uint64_t s)
{
	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

struct view {
	bool v6;
	uint8_t proto;
	size_t iph, l4h, csum;	/* IP header, transport header, checksum offset */
};

/* A plain IPv4/IPv6 TCP or UDP packet with consistent lengths (what split emits). */
static bool parse(const uint8_t *p, size_t len, struct view *v)
{
	if (len >= 20 && p[0] >> 4 == 4) {
		v->v6 = false;
		v->iph = (size_t)(p[0] & 0xf) * 4;
		v->proto = p[9];
		if (v->iph < 20 || get16(p + 2) != len || (get16(p + 6) & 0x3fff))
			return false;
	} else if (len >= 40 && p[0] >> 4 == 6) {
		v->v6 = true;
		v->iph = 40;
		v->proto = p[6];
		if (get16(p + 4) != len - 40)
			return false;
	} else {
		return false;
	}
	if (v->proto == 6 && len >= v->iph + 20) {
		v->l4h = (size_t)(p[v->iph + 12] >> 4) * 4;
		v->csum = v->iph + 16;
		return v->l4h >= 20 && v->iph + v->l4h <= len;
	}
	if (v->proto == 17 && len >= v->iph + 8) {
		v->l4h = 8;
		v->csum = v->iph + 6;
		return true;
	}
	return false;
}

static uint64_t pseudo(const uint8_t *p, const struct view *v, size_t l4_len)
{
	return sum(p + (v->v6 ? 8 : 12), v->v6 ? 32 : 8, 0) + v->proto + l4_len;
}

static bool csums_ok(const uint8_t *p, size_t len, const struct view *v)
{
	if (!v->v6 && fold(sum(p, v->iph, 0)) != 0xffff)
		return false;
	if (v->proto == 17 && get16(p + v->csum) == 0)
		return false;
	return fold(sum(p + v->iph, len - v->iph, pseudo(p, v, len - v->iph))) == 0xffff;
}

static void fix_csums(uint8_t *p, size_t len)
{
	struct view v;
	uint16_t c;

	if (!parse(p, len, &v))
		return;
	if (!v.v6) {
		put16(p + 10, 0);
		put16(p + 10, (uint16_t)~fold(sum(p, v.iph, 0)));
	}
	put16(p + v.csum, 0);
	c = (uint16_t)~fold(sum(p + v.iph, len - v.iph, pseudo(p, &v, len - v.iph)));
	put16(p + v.csum, c || v.proto == 6 ? c : 0xffff);
}

static void check_split(int r, const size_t *lens, size_t cap, size_t max)
{
	CHECK(r == -22 || r == -105 || (r >= 1 && (size_t)r <= max));	/* EINVAL, ENOBUFS */
	for (int k = 0; k < r; k++)
		CHECK(lens[k] >= 1 && lens[k] <= cap);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/*
 * Segments of a GSO read: valid, their payloads adding up to the original's,
 * sequence numbers and IPv4 IDs counting up, FIN/PSH last and CWR first only.
 */
static void check_segments(const uint8_t *in, size_t in_len, int n)
{
	const uint8_t *ip = in + HR;
	size_t payload = 0;
	struct view v;

	if (in[1] == WM_VNET_GSO_NONE)
		return;
	for (int k = 0; k < n; k++) {
		const uint8_t *p = big[k];

		CHECK(parse(p, big_len[k], &v));
		CHECK(csums_ok(p, big_len[k], &v));
		if (!v.v6)
			CHECK(get16(p + 4) == (uint16_t)(get16(ip + 4) + k));
		if (v.proto == 6) {
			uint8_t fl = ip[v.iph + 13];

			if (k + 1 < n)
				fl &= (uint8_t)~0x09;
			if (k > 0)
				fl &= (uint8_t)~0x80;
			CHECK(p[v.iph + 13] == fl);
			CHECK(get32(p + v.iph + 4) == get32(ip + v.iph + 4) + (uint32_t)payload);
		}
		payload += big_len[k] - v.iph - v.l4h;
	}
	CHECK(payload == in_len - HR - v.iph - v.l4h);
}

static size_t add(size_t nb, const uint8_t *p, size_t len)
{
	memcpy(mem[nb] + HR, p, len);
	memset(mem[nb], 0xee, HR);
	pkts[nb] = (struct wm_gro_packet){ mem[nb] + HR, len, GRO_CAP };
	return nb + 1;
}

/* b is TCP of a's flow (a is a packet the coalescer took): version, addresses, ports. */
static bool same_flow(const uint8_t *a, const uint8_t *b, size_t blen)
{
	size_t iph = a[0] >> 4 == 4 ? 20 : 40;

	if (blen < iph + 20 || a[0] >> 4 != b[0] >> 4 || b[iph == 20 ? 9 : 6] != 6 ||
	    (iph == 20 && b[0] != 0x45))
		return false;
	if (iph == 20 ? memcmp(a + 12, b + 12, 8) : memcmp(a + 8, b + 8, 32))
		return false;
	return !memcmp(a + iph, b + iph, 4);
}

static size_t hdr_len(const uint8_t *p)
{
	size_t iph = p[0] >> 4 == 4 ? 20 : 40;

	return iph + (size_t)(p[iph + 12] >> 4) * 4;
}

/* A re-split segment against the packet it came from: equal but for IDs and checksums. */
static void check_member(const uint8_t *seg, size_t len, const uint8_t *o, size_t olen)
{
	size_t iph = o[0] >> 4 == 4 ? 20 : 40;

	CHECK(len == olen);
	if (iph == 20) {
		CHECK(!memcmp(seg, o, 4) && !memcmp(seg + 6, o + 6, 4));
		if (!(o[6] & 0x40))
			CHECK(!memcmp(seg + 4, o + 4, 2));	/* without DF, IDs count up */
		CHECK(!memcmp(seg + 12, o + 12, 8));
	} else {
		CHECK(!memcmp(seg, o, 40));
	}
	CHECK(!memcmp(seg + iph, o + iph, 16));
	CHECK(!memcmp(seg + iph + 18, o + iph + 18, len - iph - 18));
}

/* The packet after m merged into i: the next of its flow, which must not be written. */
static size_t next_member(size_t i, size_t m, size_t nb, const bool *written)
{
	for (m++; m < nb; m++) {
		if (same_flow(orig[i], orig[m], orig_len[m])) {
			CHECK(!written[m]);
			return m;
		}
	}
	__builtin_trap();
}

static void check_gro(size_t nb, int nw)
{
	bool written[BATCH] = { false }, used[BATCH] = { false };
	size_t in_total = 0, out_total = 0;

	CHECK(nw >= 0 && (size_t)nw <= nb);
	for (int k = 0; k < nw; k++) {
		CHECK(wr[k] < nb && (k == 0 || wr[k] > wr[k - 1]));
		written[wr[k]] = true;
	}
	for (size_t i = 0; i < nb; i++) {
		in_total += orig_len[i];
		if (!written[i])
			in_total -= hdr_len(orig[i]);
	}
	for (int k = 0; k < nw; k++) {
		size_t i = wr[k], len = pkts[i].len, m = i;
		const uint8_t *p = pkts[i].data;
		struct wm_vnet_hdr h;
		int r;

		out_total += len;
		CHECK(len <= GRO_CAP);
		wm_vnet_hdr_parse(&h, p - HR, HR);
		if (h.gso_type == WM_VNET_GSO_NONE) {
			static const uint8_t zero[HR];

			CHECK(!memcmp(p - HR, zero, HR));
			CHECK(len == orig_len[i] && !memcmp(p, orig[i], len));
			continue;
		}
		CHECK(len <= 65535 && h.flags == WM_VNET_F_NEEDS_CSUM);
		CHECK(h.gso_size > 0 && h.hdr_len + h.gso_size < len);
		memcpy(resplit, p - HR, HR + len);
		r = wm_gso_split(resplit, HR + len, big, big_len, BIG_CAP, BIG_SLOTS);
		CHECK(r >= 2);
		/* It splits back into i and the packets of its flow merged into it. */
		for (int s = 0; s < r; s++) {
			if (s > 0)
				m = next_member(i, m, nb, written);
			check_member(big[s], big_len[s], orig[m], orig_len[m]);
			used[m] = true;
		}
	}
	for (size_t i = 0; i < nb; i++)
		CHECK(written[i] || used[i]);
	CHECK(in_total == out_total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nb = 0;
	int n;

	if (!ready)
		setup();
	if (size > HR + 65600)
		return 0;

	n = wm_gso_split(data, size, small, small_len, SMALL_CAP, SMALL_SLOTS);
	check_split(n, small_len, SMALL_CAP, SMALL_SLOTS);
	n = wm_gso_split(data, size, big, big_len, BIG_CAP, BIG_SLOTS);
	check_split(n, big_len, BIG_CAP, BIG_SLOTS);
	if (n > 0)
		check_segments(data, size, n);

	if (n > 0) {
		for (int k = 0; k < n && nb < BATCH; k++)
			nb = add(nb, big[k], big_len[k]);
		for (size_t e = 0; size >= 12 && e < 3; e++) {
			const uint8_t *ed = data + size - 12 + 4 * e;
			size_t k = ed[0] % nb, off = get16(ed + 1) % pkts[k].len;

			if (!ed[3])
				continue;
			pkts[k].data[off] ^= ed[3];
			if (!(ed[0] & 0x80))
				fix_csums(pkts[k].data, pkts[k].len);
		}
	} else {
		for (size_t at = 0; at + 2 <= size && nb < BATCH;) {
			size_t len = get16(data + at);

			at += 2;
			if (len > size - at)
				len = size - at;
			nb = add(nb, data + at, len);
			at += len;
		}
	}
	for (size_t i = 0; i < nb; i++) {
		memcpy(orig[i], pkts[i].data, pkts[i].len);
		orig_len[i] = pkts[i].len;
	}
	check_gro(nb, wm_gro_coalesce(pkts, nb, wr));
	return 0;
}
