/* SPDX-License-Identifier: MIT */
/*
 * The access filter's cost per received packet (filter/filter.h), one line per figure, each
 * measured for about BENCH_SECONDS (environment, default 1) on one core as the median of five
 * slices, with their spread. Every round judges a batch of 64 distinct 1420-byte packets:
 *
 *   (a) no policy (the netmap's packet_filter is null);
 *   (b) a 10-rule policy, packets a rule accepts (TCP to 443 from 64 sources), with a
 *       connection table of 10,000 unrelated flows that the lookup misses first;
 *   (c) replies of flows this node started: 64 of 10,000 established TCP flows in the table,
 *       under the same policy (no rule matches them);
 *   (d) a 1000-rule policy (2000 host prefixes, a few wider ones, TCP and UDP ports), packets
 *       a rule accepts; and packets no rule accepts (every prefix length is searched);
 * plus the outbound hook on an established flow, and building a reject answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter/conntrack.h"
#include "filter/filter.h"
#include "filter/pkt.h"
#include "filter/reject.h"

enum {
	PACKET = 1420,
	BATCH = 64,
	SLICES = 5,
	FLOWS = 10000,
};

static double seconds_per_item = 1.0, spread;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rounds per second of round(ctx): the median of SLICES slices; spread in percent. */
static double measure(void (*round)(void *), void *ctx)
{
	double rate[SLICES], start, elapsed, t, slice = seconds_per_item / SLICES;
	uint64_t rounds, chunk = 1, i;

	round(ctx);
	for (int s = 0; s < SLICES; s++) {
		rounds = 0;
		start = now_s();
		do {
			for (i = 0; i < chunk; i++)
				round(ctx);
			rounds += chunk;
			elapsed = now_s() - start;
			if (elapsed < slice / 64)
				chunk *= 2;
		} while (elapsed < slice);
		rate[s] = (double)rounds / elapsed;
	}
	for (int s = 1; s < SLICES; s++)
		for (int k = s; k > 0 && rate[k - 1] > rate[k]; k--) {
			t = rate[k];
			rate[k] = rate[k - 1];
			rate[k - 1] = t;
		}
	spread = 100 * (rate[SLICES - 1] - rate[0]) / 2 / rate[SLICES / 2];
	return rate[SLICES / 2];
}

static void die(const char *what)
{
	fprintf(stderr, "bench_filter: %s\n", what);
	exit(1);
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* A full-size IPv4 packet src -> dst (host-order addresses), TCP or UDP. */
static void packet4(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
		    uint16_t dport, uint8_t flags)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	put16(p + 2, PACKET);
	p[8] = 64;
	p[9] = proto;
	put16(p + 12, (uint16_t)(src >> 16));
	put16(p + 14, (uint16_t)src);
	put16(p + 16, (uint16_t)(dst >> 16));
	put16(p + 18, (uint16_t)dst);
	put16(p + 20, sport);
	put16(p + 22, dport);
	if (proto == WM_IPPROTO_TCP) {
		p[32] = 5 << 4;
		p[33] = flags;
	} else {
		put16(p + 24, PACKET - 20);
	}
}

struct job {
	const struct wm_filter *f;
	struct wm_conntrack *ct;
	uint8_t *pkts[BATCH];
	uint64_t now;
	unsigned int accepted;
};

static void judge_batch(void *ctx)
{
	struct job *j = ctx;
	enum wm_filter_reason why;

	for (int i = 0; i < BATCH; i++)
		j->accepted += wm_filter_inbound(j->f, j->ct, j->pkts[i], PACKET, j->now, &why) ==
			       WM_FILTER_ACCEPT;
	j->now += 1000;
}

static void outbound_batch(void *ctx)
{
	struct job *j = ctx;

	for (int i = 0; i < BATCH; i++)
		wm_conntrack_outbound(j->ct, j->pkts[i], PACKET, j->now);
	j->now += 1000;
}

static void reject_batch(void *ctx)
{
	static uint8_t out[WM_FILTER_REJECT_MAX];
	struct job *j = ctx;

	for (int i = 0; i < BATCH; i++)
		j->accepted += wm_filter_reject(j->pkts[i], PACKET, out, sizeof(out)) > 0;
}

static void figure(const char *what, const char *how, void (*round)(void *), struct job *j,
		   bool want_accept)
{
	double per_s;

	j->accepted = 0;
	per_s = measure(round, j) * BATCH;
	/* All accepted or all dropped, as set up: the figure measures what it says. */
	if (want_accept != (j->accepted > 0))
		die(what);
	printf("%-30s %-48s %7.1f ns/packet %7.2f Mpps  ±%.0f%%\n", what, how, 1e9 / per_s,
	       per_s / 1e6, spread);
	fflush(stdout);
}

static struct wm_filter *parse(const char *text)
{
	struct wm_filter *f;
	char err[256];

	if (wm_filter_parse(&f, text, strlen(text), err, sizeof(err)))
		die(err);
	return f;
}

/* 100.64.0.0/10 node addresses by number. */
#define NODE(n) (0x64400000u + (uint32_t)(n))
#define SELF NODE(1)

static const char policy10[] =
	"{\"rules\": ["
	"{\"src\": [\"100.64.0.10/32\", \"fd77:6d65:7368::6440:a/128\"], \"proto\": \"tcp\", \"ports\": [[22, 22]]},"
	"{\"src\": [\"100.64.0.11/32\", \"fd77:6d65:7368::6440:b/128\"], \"proto\": \"tcp\", \"ports\": [[5432, 5432]]},"
	"{\"src\": [\"100.64.0.12/32\"], \"proto\": \"udp\", \"ports\": [[53, 53]]},"
	"{\"src\": [\"100.64.0.0/10\", \"fd77:6d65:7368::/48\"], \"proto\": \"icmp\"},"
	"{\"src\": [\"100.64.1.0/26\", \"fd77:6d65:7368::1:0/120\"], \"proto\": \"tcp\", \"ports\": [[80, 80], [443, 443]]},"
	"{\"src\": [\"100.64.0.13/32\"], \"proto\": \"tcp\", \"ports\": [[8000, 8100]]},"
	"{\"src\": [\"100.64.0.14/32\"], \"proto\": \"*\"},"
	"{\"src\": [\"100.64.0.15/32\", \"100.64.0.16/32\"], \"proto\": \"udp\", \"ports\": [[60000, 61000]]},"
	"{\"src\": [\"10.0.0.0/8\"], \"proto\": \"tcp\", \"ports\": [[3389, 3389]]},"
	"{\"src\": [\"100.64.2.0/24\"], \"proto\": \"tcp\", \"ports\": [[9100, 9100]]}"
	"]}";

/* 1000 rules: two host prefixes each, some wider ones, TCP and UDP ports. Rule i: node 1000+i. */
static char *policy1000(uint16_t ports[1000])
{
	size_t cap = 1000 * 200, len = 0;
	char *t = malloc(cap);
	uint64_t seed = 1000;

	if (!t)
		die("out of memory");
	len += (size_t)snprintf(t + len, cap - len, "{\"rules\": [");
	for (int i = 0; i < 1000; i++) {
		uint32_t a = NODE(1000 + i);

		ports[i] = (uint16_t)(1 + next_random(&seed) % 60000);
		len += (size_t)snprintf(t + len, cap - len,
			"%s{\"src\": [\"100.%u.%u.%u/32\", \"fd77:6d65:7368::%x:%x/128\"%s], "
			"\"proto\": \"%s\", \"ports\": [[%u, %u], [%u, %u]]}", i ? "," : "",
			(a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff, a >> 16, a & 0xffff,
			i % 50 == 0 ? ", \"10.0.0.0/8\", \"172.16.0.0/12\"" : "",
			i % 3 ? "tcp" : "udp", ports[i], ports[i], ports[i] + 100, ports[i] + 110);
	}
	snprintf(t + len, cap - len, "]}");
	return t;
}

int main(void)
{
	const char *env = getenv("BENCH_SECONDS");
	struct wm_filter *f10, *f1000;
	struct wm_conntrack ct;
	uint16_t ports[1000];
	uint8_t *pool;
	struct job j;
	char *text;
	uint64_t seed = 1;

	if (env && atof(env) > 0)
		seconds_per_item = atof(env);
	pool = aligned_alloc(64, BATCH * 1472);
	if (!pool || wm_conntrack_init(&ct, 0, 42))
		die("out of memory");
	memset(&j, 0, sizeof(j));
	for (int i = 0; i < BATCH; i++)
		j.pkts[i] = pool + i * 1472;
	f10 = parse(policy10);
	text = policy1000(ports);
	f1000 = parse(text);
	free(text);
	printf("# %.1f s per figure; batches of %d packets of %d bytes\n", seconds_per_item, BATCH,
	       PACKET);

	/* Flows this node started: 10,000 TCP connections to 100.64.3.x:443, established. */
	for (uint32_t i = 0; i < FLOWS; i++) {
		uint8_t p[40];

		packet4(p, SELF, NODE(0x300 + i % 200), WM_IPPROTO_TCP, (uint16_t)(20000 + i), 443,
			WM_TCP_SYN);
		put16(p + 2, 40);
		wm_conntrack_outbound(&ct, p, 40, 0);
		packet4(p, NODE(0x300 + i % 200), SELF, WM_IPPROTO_TCP, 443, (uint16_t)(20000 + i),
			WM_TCP_SYN | WM_TCP_ACK);
		put16(p + 2, 40);
		if (wm_filter_inbound(f10, &ct, p, 40, 1, NULL) != WM_FILTER_ACCEPT)
			die("handshake");
	}

	j.ct = &ct;
	j.now = 2;
	for (int i = 0; i < BATCH; i++)
		packet4(j.pkts[i], NODE(0x100 + i), SELF, WM_IPPROTO_TCP, 40000, 443, WM_TCP_ACK);
	j.f = NULL;
	figure("(a) no policy", "filter NULL", judge_batch, &j, true);
	j.f = f10;
	figure("(b) 10 rules, rule accepts", "TCP :443 from 100.64.1.0/26, 64 sources", judge_batch,
	       &j, true);

	for (int i = 0; i < BATCH; i++) {
		uint32_t k = (uint32_t)(next_random(&seed) % FLOWS);

		packet4(j.pkts[i], NODE(0x300 + k % 200), SELF, WM_IPPROTO_TCP, 443,
			(uint16_t)(20000 + k), WM_TCP_ACK);
	}
	figure("(c) 10 rules, flow accepts", "replies of 64 of 10,000 established flows",
	       judge_batch, &j, true);

	j.f = f1000;
	for (int i = 0; i < BATCH; i++) {
		int r = (int)(next_random(&seed) % 1000);

		packet4(j.pkts[i], NODE(1000 + r), SELF, r % 3 ? WM_IPPROTO_TCP : WM_IPPROTO_UDP,
			40000, (uint16_t)(ports[r] + 105), 0);
	}
	figure("(d) 1000 rules, rule accepts", "2000+ prefixes, 64 sources, TCP and UDP", judge_batch,
	       &j, true);
	for (int i = 0; i < BATCH; i++)
		put16(j.pkts[i] + 22, 1);
	figure("(d) 1000 rules, no rule", "the same packets to port 1: dropped", judge_batch, &j,
	       false);

	for (int i = 0; i < BATCH; i++) {
		uint32_t k = (uint32_t)(next_random(&seed) % FLOWS);

		packet4(j.pkts[i], SELF, NODE(0x300 + k % 200), WM_IPPROTO_TCP,
			(uint16_t)(20000 + k), 443, WM_TCP_ACK);
	}
	figure("outbound hook", "64 of 10,000 established flows", outbound_batch, &j, false);
	for (int i = 0; i < BATCH; i++)
		packet4(j.pkts[i], NODE(0x100 + i), SELF, WM_IPPROTO_UDP, 40000, 161, 0);
	figure("reject answer", "ICMP unreachable quoting 548 bytes", reject_batch, &j, true);

	wm_filter_free(f10);
	wm_filter_free(f1000);
	wm_conntrack_free(&ct);
	free(pool);
	return 0;
}
