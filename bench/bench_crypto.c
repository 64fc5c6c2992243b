/* SPDX-License-Identifier: MIT */
/*
 * Micro benchmarks, one line per figure, each measured for about
 * BENCH_SECONDS (environment, default 1) of wall time on one core and
 * reported as the median of five slices, with their spread:
 *
 *   - ChaCha20-Poly1305 seal and open of 1420-byte packets, one at a time and
 *     in batches of 64 (a loop over the batch through the same call), for
 *     libsodium and OpenSSL's EVP called directly, and for wm_aead (what the
 *     engine runs); plus what the ways of loading key and nonce into an EVP
 *     context cost, per call;
 *   - full handshakes per second between two in-process devices;
 *   - allowed-IPs lookups per second in a table of 10,000 random prefixes;
 *   - the in-process data path: a batch of 64 packets sealed by one device
 *     (wm_send_packets) and opened by the other (wm_receive_packets).
 *
 * BENCH_ONLY=group,... runs some: libsodium, openssl, wm_aead, handshake,
 * allowedips, datapath, rng. The data path's "AEAD alone" comparison uses the
 * last AEAD group run (wm_aead, when all run).
 */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/aead.h"
#include "engine/allowedips.h"
#include "engine/peer.h"
#include "engine/receive.h"
#include "engine/send.h"
#include "test/inproc.h"

#ifdef WM_WITH_OPENSSL
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#define HAVE_EVP 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#endif
#endif

enum {
	PACKET = 1420,		/* WireGuard's default MTU: a full-sized inner packet */
	BATCH = 64,
	SLOT = WM_PACKET_HEADROOM + PACKET + WM_PACKET_TAILROOM + 64,
	PREFIXES = 10000,
	LOOKUP_ADDRS = 1 << 16,
	LOOKUPS_PER_ROUND = 1024,
};

static double seconds_per_item = 1.0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Calls round(ctx) for `seconds`, in SLICES equal slices, and returns the
 * median slice's rounds per second: other work on a shared machine shows up
 * as a slow slice, not as a slow figure. spread is (fastest - slowest) / 2 in
 * percent of the median, to judge the noise.
 */
enum { SLICES = 5 };
static double spread;

static double measure(void (*round)(void *), void *ctx, double seconds)
{
	double rate[SLICES], start, elapsed, t;
	uint64_t rounds, chunk = 1, i;
	int s, k;

	round(ctx);	/* warm caches, lazy initialisation */
	for (s = 0; s < SLICES; s++) {
		rounds = 0;
		start = now_s();
		do {
			for (i = 0; i < chunk; i++)
				round(ctx);
			rounds += chunk;
			elapsed = now_s() - start;
			if (elapsed < seconds / SLICES / 64)
				chunk *= 2;
		} while (elapsed < seconds / SLICES);
		rate[s] = (double)rounds / elapsed;
	}
	for (s = 1; s < SLICES; s++)	/* insertion sort: five numbers */
		for (k = s; k > 0 && rate[k - 1] > rate[k]; k--) {
			t = rate[k];
			rate[k] = rate[k - 1];
			rate[k - 1] = t;
		}
	spread = 100 * (rate[SLICES - 1] - rate[0]) / 2 / rate[SLICES / 2];
	return rate[SLICES / 2];
}

static void die(const char *what)
{
	fprintf(stderr, "bench_crypto: %s\n", what);
	exit(1);
}

static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void nonce_for(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* ---- AEAD backends, called the way the engine would call them -------------------------------- */

struct aead_impl {
	const char *name;
	bool (*seal)(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key);
	bool (*open)(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key);
};

static bool sodium_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	uint8_t nonce[12];

	nonce_for(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, NULL, 0, NULL, nonce,
							 key) == 0;
}

static bool sodium_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	uint8_t nonce[12];

	nonce_for(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, NULL, 0, nonce,
							 key) == 0;
}

static bool engine_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	return wm_aead_seal(dst, src, len, NULL, 0, counter, key);
}

static bool engine_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	return wm_aead_open(dst, src, len, NULL, 0, counter, key);
}

#ifdef HAVE_EVP
static EVP_CIPHER *evp_cipher;
static EVP_CIPHER_CTX *evp_ctx;		/* cipher set once; key and nonce per packet */
static EVP_CIPHER_CTX *evp_keyed_ctx;	/* key set once too (a context cached per keypair) */

static void evp_setup(const uint8_t *key)
{
	evp_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	evp_ctx = EVP_CIPHER_CTX_new();
	evp_keyed_ctx = EVP_CIPHER_CTX_new();
	if (!evp_cipher || !evp_ctx || !evp_keyed_ctx ||
	    !EVP_CipherInit_ex(evp_ctx, evp_cipher, NULL, NULL, NULL, 1) ||
	    !EVP_CipherInit_ex(evp_keyed_ctx, evp_cipher, NULL, key, NULL, 1))
		die("OpenSSL has no ChaCha20-Poly1305");
}

/* Seals with ctx already holding what `cipher`, `key` and `nonce` leave NULL. */
static bool evp_seal_with(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const uint8_t *key,
			  uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter)
{
	uint8_t nonce[12];
	int n, fin;

	nonce_for(nonce, counter);
	return EVP_CipherInit_ex(ctx, cipher, NULL, key, nonce, 1) &&
	       EVP_CipherUpdate(ctx, dst, &n, src, (int)len) &&
	       EVP_CipherFinal_ex(ctx, dst + n, &fin) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, dst + len) == 1;
}

static bool evp_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key)
{
	return evp_seal_with(evp_ctx, NULL, key, dst, src, len, counter);
}

static bool evp_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key)
{
	uint8_t nonce[12];
	int n, fin;

	nonce_for(nonce, counter);
	return EVP_CipherInit_ex(evp_ctx, NULL, NULL, key, nonce, 0) &&
	       EVP_CIPHER_CTX_ctrl(evp_ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(src + len - 16)) &&
	       EVP_CipherUpdate(evp_ctx, dst, &n, src, (int)len - 16) &&
	       EVP_CipherFinal_ex(evp_ctx, dst + n, &fin) > 0;
}

/* The cipher passed on every call: OpenSSL 3 then rebuilds the provider context each time. */
static bool evp_seal_cipher_each_time(uint8_t *dst, const uint8_t *src, size_t len,
				      uint64_t counter, const uint8_t *key)
{
	return evp_seal_with(evp_ctx, evp_cipher, key, dst, src, len, counter);
}

/* No nonce, no tag: one endless message, which is what `openssl speed -evp` times. */
static bool evp_stream(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		       const uint8_t *key)
{
	int n;

	(void)counter;
	(void)key;
	return EVP_CipherUpdate(evp_keyed_ctx, dst, &n, src, (int)len) && n == (int)len;
}

static bool evp_seal_cached_key(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
				const uint8_t *key)
{
	(void)key;
	return evp_seal_with(evp_keyed_ctx, NULL, NULL, dst, src, len, counter);
}
#endif

/* ---- AEAD rounds ---------------------------------------------------------------------------- */

struct aead_job {
	const struct aead_impl *impl;
	uint8_t key[32];
	uint8_t *in[BATCH];	/* plaintext (seal, in place) or sealed packets (open) */
	uint8_t *out[BATCH];	/* where open writes */
	size_t batch;
	uint64_t counter;
	uint64_t failures;
};

static void seal_round(void *arg)
{
	struct aead_job *j = arg;
	size_t i;

	for (i = 0; i < j->batch; i++)
		if (!j->impl->seal(j->in[i], j->in[i], PACKET, j->counter++, j->key))
			j->failures++;
}

static void open_round(void *arg)
{
	struct aead_job *j = arg;
	size_t i;

	/* Out of place, so the same sealed packets open every round. */
	for (i = 0; i < j->batch; i++)
		if (!j->impl->open(j->out[i], j->in[i], PACKET + 16, i, j->key))
			j->failures++;
}

/* One figure: what was measured, how, the value (with the last measure()'s spread). */
static void print_figure(const char *what, const char *how, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void print_figure(const char *what, const char *how, const char *fmt, ...)
{
	char value[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	printf("%-30s %-48s %s  ±%.0f%%\n", what, how, value, spread);
	fflush(stdout);
}

static void print_rate(const char *what, const char *impl, double per_s, double bytes_each)
{
	print_figure(what, impl, "%6.2f GB/s  %6.0f ns/packet", per_s * bytes_each / 1e9,
		     1e9 / per_s);
}

/* Seal and open, one at a time and in batches; returns the batched seal and open rates (GB/s). */
static void bench_aead(const struct aead_impl *impl, uint8_t *pool, double *seal_gbs,
		       double *open_gbs)
{
	struct aead_job j = { .impl = impl };
	static const size_t batches[] = { 1, BATCH };
	char what[64];
	double r;
	size_t b, i;

	for (i = 0; i < 32; i++)
		j.key[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < BATCH; i++) {
		j.in[i] = pool + 2 * i * SLOT;
		j.out[i] = pool + (2 * i + 1) * SLOT;
		memset(j.in[i], (int)i, PACKET);
	}
	for (b = 0; b < 2; b++) {
		j.batch = batches[b];
		r = measure(seal_round, &j, seconds_per_item) * (double)j.batch;
		snprintf(what, sizeof(what), "aead seal %d B x%zu", PACKET, j.batch);
		print_rate(what, impl->name, r, PACKET);
		if (b == 1)
			*seal_gbs = r * PACKET / 1e9;
	}
	/* Sealed packets to open: packet i under counter i. */
	for (i = 0; i < BATCH; i++) {
		memset(j.in[i], (int)i, PACKET);
		if (!impl->seal(j.in[i], j.in[i], PACKET, i, j.key))
			die("seal failed");
	}
	for (b = 0; b < 2; b++) {
		j.batch = batches[b];
		r = measure(open_round, &j, seconds_per_item) * (double)j.batch;
		snprintf(what, sizeof(what), "aead open %d B x%zu", PACKET, j.batch);
		print_rate(what, impl->name, r, PACKET);
		if (b == 1)
			*open_gbs = r * PACKET / 1e9;
	}
	if (j.failures)
		die("an AEAD call failed during the benchmark");
}

#ifdef HAVE_EVP
struct init_job {
	const EVP_CIPHER *cipher;
	const uint8_t *key;
	uint64_t counter;
};

static void init_round(void *arg)
{
	struct init_job *j = arg;
	uint8_t nonce[12];

	nonce_for(nonce, j->counter++);
	if (!EVP_CipherInit_ex(evp_ctx, j->cipher, NULL, j->key, nonce, 1))
		die("EVP_CipherInit_ex failed");
}

/* What loading key and nonce costs per packet, alone and inside a full seal. */
static void bench_evp_init(uint8_t *pool)
{
	static const struct aead_impl each = { "EVP, cipher+key+nonce per packet",
					       evp_seal_cipher_each_time, NULL };
	static const struct aead_impl keyed = { "EVP, key cached, nonce per packet",
						evp_seal_cached_key, NULL };
	static const struct aead_impl stream = { "EVP, one stream (= openssl speed)", evp_stream,
						 NULL };
	struct aead_job j = { .batch = 1 };
	struct init_job ij = { .key = pool };	/* any 32 bytes */
	double quick = seconds_per_item / 4;

	double r;

	ij.cipher = NULL;
	r = measure(init_round, &ij, quick);
	print_figure("evp init per packet", "key+nonce (what wm_aead does)", "%6.0f ns", 1e9 / r);
	ij.key = NULL;
	r = measure(init_round, &ij, quick);
	print_figure("evp init per packet", "nonce only (key cached per keypair)", "%6.0f ns",
		     1e9 / r);
	ij.cipher = evp_cipher;
	ij.key = pool;
	r = measure(init_round, &ij, quick);
	print_figure("evp init per packet", "cipher+key+nonce (context rebuilt)", "%6.0f ns",
		     1e9 / r);

	j.in[0] = pool + SLOT;
	memset(j.in[0], 1, PACKET);
	memset(j.key, 7, sizeof(j.key));
	j.impl = &keyed;
	r = measure(seal_round, &j, seconds_per_item);
	print_rate("aead seal 1420 B x1", keyed.name, r, PACKET);
	j.impl = &each;
	r = measure(seal_round, &j, seconds_per_item);
	print_rate("aead seal 1420 B x1", each.name, r, PACKET);
	/* Last: it leaves evp_keyed_ctx mid-message. */
	j.impl = &stream;
	r = measure(seal_round, &j, seconds_per_item);
	print_rate("aead seal 1420 B x1", stream.name, r, PACKET);
	if (j.failures)
		die("an EVP call failed during the benchmark");
}
#endif

/* ---- handshakes ----------------------------------------------------------------------------- */

struct handshake_job {
	struct wm_inproc_net net;
	struct wm_peer *initiator;
	uint64_t done, last_id;
};

static void handshake_round(void *arg)
{
	struct handshake_job *j = arg;
	struct wm_keypair *kp;

	/* Past REKEY_TIMEOUT and the initiation flood limit, so nothing is refused. */
	j->net.now += 6 * WM_NSEC_PER_SEC;
	wm_send_handshake_initiation(j->initiator, j->net.now, false);
	wm_inproc_deliver(&j->net);
	kp = j->initiator->keypairs.current;
	if (!kp || kp->internal_id == j->last_id)
		die("a handshake did not complete");
	j->last_id = kp->internal_id;
	j->done++;
}

static void bench_handshakes(void)
{
	struct handshake_job *j = calloc(1, sizeof(*j));
	double r;

	if (!j)
		die("out of memory");
	wm_inproc_init(&j->net, 2, 42);
	wm_inproc_pair(&j->net, 0, 1);
	j->initiator = wm_device_lookup_peer(j->net.nodes[0].dev, j->net.nodes[1].public_key);
	r = measure(handshake_round, j, seconds_per_item);
	print_figure("handshake", "initiation+response+confirm, 2 devices",
		     "%6.0f /s     %6.1f us each", r, 1e6 / r);
	wm_inproc_free(&j->net);
	free(j);
}

/* ---- allowed IPs ---------------------------------------------------------------------------- */

struct lookup_job {
	struct wm_allowedips table;
	uint8_t (*addr)[16];
	int *family;
	size_t next;
	uint64_t hits;
};

static void lookup_round(void *arg)
{
	struct lookup_job *j = arg;
	size_t i, k;

	for (i = 0; i < LOOKUPS_PER_ROUND; i++) {
		k = (j->next + i) & (LOOKUP_ADDRS - 1);
		if (wm_allowedips_lookup(&j->table, j->family[k], j->addr[k]))
			j->hits++;
	}
	j->next += LOOKUPS_PER_ROUND;
}

static void random_addr(uint64_t *rng, uint8_t addr[16])
{
	uint64_t a = next_random(rng), b = next_random(rng);

	memcpy(addr, &a, 8);
	memcpy(addr + 8, &b, 8);
}

static void bench_allowedips(void)
{
	enum { PEERS = 256 };
	struct lookup_job j = { 0 };
	struct wm_peer *peers = calloc(PEERS, sizeof(*peers));
	uint8_t (*prefix)[16] = calloc(PREFIXES, sizeof(*prefix));
	uint8_t *cidr = calloc(PREFIXES, 1);
	uint64_t rng = 7, total;
	size_t i, v4 = 0, v6 = 0;
	char how[64];
	double r;

	j.addr = calloc(LOOKUP_ADDRS, sizeof(*j.addr));
	j.family = calloc(LOOKUP_ADDRS, sizeof(*j.family));
	if (!peers || !prefix || !cidr || !j.addr || !j.family)
		die("out of memory");
	wm_allowedips_init(&j.table);
	/* 80% IPv4 /8../32, 20% IPv6 /16../128. */
	for (i = 0; i < PREFIXES; i++) {
		bool is6 = i % 5 == 4;

		random_addr(&rng, prefix[i]);
		cidr[i] = is6 ? (uint8_t)(16 + next_random(&rng) % 113)
			      : (uint8_t)(8 + next_random(&rng) % 25);
		if (wm_allowedips_insert(&j.table, is6 ? AF_INET6 : AF_INET, prefix[i], cidr[i],
					 &peers[next_random(&rng) % PEERS]))
			die("allowedips insert failed");
		if (is6)
			v6++;
		else
			v4++;
	}
	/* Half the addresses fall inside a stored prefix (random host bits), half anywhere. */
	for (i = 0; i < LOOKUP_ADDRS; i++) {
		size_t p = next_random(&rng) % PREFIXES;

		j.family[i] = p % 5 == 4 ? AF_INET6 : AF_INET;
		random_addr(&rng, j.addr[i]);
		if (i % 2 == 0) {
			size_t bytes = cidr[p] / 8, bits = cidr[p] % 8;

			memcpy(j.addr[i], prefix[p], bytes);
			if (bits) {
				uint8_t mask = (uint8_t)(0xff << (8 - bits));

				j.addr[i][bytes] = (uint8_t)((prefix[p][bytes] & mask) |
							     (j.addr[i][bytes] & ~mask));
			}
		}
	}
	r = measure(lookup_round, &j, seconds_per_item) * LOOKUPS_PER_ROUND;
	total = j.next + LOOKUPS_PER_ROUND;	/* the warm-up round counted too */
	snprintf(how, sizeof(how), "%zu v4 + %zu v6 prefixes, %.0f%% hits", v4, v6,
		 100.0 * (double)j.hits / (double)total);
	print_figure("allowedips lookup", how, "%6.2f M/s    %6.1f ns each", r / 1e6, 1e9 / r);
	wm_allowedips_free(&j.table);
	free(j.addr);
	free(j.family);
	free(prefix);
	free(cidr);
	free(peers);
}

/* ---- the in-process data path --------------------------------------------------------------- */

struct datapath_job {
	struct wm_inproc_net net;
	uint8_t *slot[BATCH];
	uint8_t packet[PACKET];
	struct wm_packet tx[BATCH], rx[BATCH];
	uint64_t failures;
};

static void datapath_round(void *arg)
{
	struct datapath_job *j = arg;
	struct wm_inproc_node *a = &j->net.nodes[0], *b = &j->net.nodes[1];
	size_t i;

	/* The copy stands in for the TUN read that fills the buffers in the daemon. */
	for (i = 0; i < BATCH; i++) {
		memcpy(j->slot[i] + WM_PACKET_HEADROOM, j->packet, PACKET);
		j->tx[i] = (struct wm_packet){ .data = j->slot[i] + WM_PACKET_HEADROOM,
					       .len = PACKET };
	}
	wm_send_packets(a->dev, j->tx, BATCH, j->net.now);
	for (i = 0; i < BATCH; i++) {
		if (j->tx[i].verdict != WM_VERDICT_SEND)
			j->failures++;
		j->rx[i] = (struct wm_packet){ .data = j->tx[i].data, .len = j->tx[i].len,
					       .endpoint = a->addr };
	}
	wm_receive_packets(b->dev, j->rx, BATCH, j->net.now);
	for (i = 0; i < BATCH; i++)
		if (j->rx[i].verdict != WM_VERDICT_TUN || j->rx[i].len != PACKET)
			j->failures++;
}

static void bench_datapath(double seal_gbs, double open_gbs)
{
	struct datapath_job *j = calloc(1, sizeof(*j));
	uint8_t *slots = aligned_alloc(64, BATCH * SLOT);
	double r, gbits, bound;
	size_t i, len;

	if (!j || !slots)
		die("out of memory");
	wm_inproc_init(&j->net, 2, 43);
	wm_inproc_pair(&j->net, 0, 1);
	len = wm_inproc_make_packet(j->packet, &j->net.nodes[0], &j->net.nodes[1], false,
				    PACKET - 20, 0x5a);
	if (len != PACKET)
		die("bad test packet");
	/* The first packet waits for the handshake, which the in-memory network completes. */
	wm_inproc_send_ip(&j->net, 0, j->packet, len);
	wm_inproc_deliver(&j->net);
	if (j->net.nodes[1].tun_count != 1)
		die("no session between the two devices");
	for (i = 0; i < BATCH; i++)
		j->slot[i] = slots + i * SLOT;
	r = measure(datapath_round, j, seconds_per_item);
	if (j->failures)
		die("the data path dropped packets");
	gbits = r * BATCH * PACKET * 8 / 1e9;
	if (seal_gbs > 0 && open_gbs > 0) {
		/* Sealing then opening each packet on one core, with nothing else: the ceiling. */
		bound = 8 / (1 / seal_gbs + 1 / open_gbs);
		print_figure("datapath 64 x 1420 B", "wm_send_packets -> wm_receive_packets",
			     "%6.2f Gbit/s (AEAD alone %.2f: engine %.0f%%)", gbits, bound,
			     100 * (1 - gbits / bound));
	} else {
		print_figure("datapath 64 x 1420 B", "wm_send_packets -> wm_receive_packets",
			     "%6.2f Gbit/s", gbits);
	}
	wm_inproc_free(&j->net);
	free(slots);
	free(j);
}

/* ---- small things on the hot path ----------------------------------------------------------- */

static void rng_round(void *arg)
{
	uint32_t r;

	(void)arg;
	wm_rng_fill(&wm_rng_system, &r, sizeof(r));
}

static void print_machine(void)
{
	char line[256], *model = NULL;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && (model = strchr(line, ':'))) {
			model += 2;
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	printf("# cpu: %s; %.1f s per figure; wm_aead runs %s\n", model ? model : "unknown",
	       seconds_per_item, wm_aead_implementation());
}

/* BENCH_ONLY="handshake,datapath" runs only those groups; unset runs all. */
static bool wanted(const char *group)
{
	const char *only = getenv("BENCH_ONLY"), *p;
	size_t n = strlen(group);

	if (!only || !*only)
		return true;
	for (p = only; (p = strstr(p, group)); p += n)
		if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

int main(void)
{
	const char *env = getenv("BENCH_SECONDS");
	double seal_gbs = 0, open_gbs = 0;
	char name[96];
	uint8_t *pool;

	if (env && atof(env) > 0)
		seconds_per_item = atof(env);
	if (wm_crypto_init() < 0)
		die("libsodium failed to initialise");
	pool = aligned_alloc(64, 2 * BATCH * SLOT);
	if (!pool)
		die("out of memory");
	print_machine();

	if (wanted("libsodium")) {
		struct aead_impl s = { name, sodium_seal, sodium_open };

		snprintf(name, sizeof(name), "libsodium %s", sodium_version_string());
		bench_aead(&s, pool, &seal_gbs, &open_gbs);
	}
#ifdef HAVE_EVP
	if (wanted("openssl")) {
		struct aead_impl e = { name, evp_seal, evp_open };
		uint8_t key[32];

		memset(key, 7, sizeof(key));
		snprintf(name, sizeof(name), "openssl-%s EVP",
			 OpenSSL_version(OPENSSL_VERSION_STRING));
		evp_setup(key);
		bench_aead(&e, pool, &seal_gbs, &open_gbs);
		bench_evp_init(pool);
	}
#endif
	if (wanted("wm_aead")) {
		struct aead_impl w = { name, engine_seal, engine_open };

		snprintf(name, sizeof(name), "wm_aead: %s", wm_aead_implementation());
		bench_aead(&w, pool, &seal_gbs, &open_gbs);
	}
	if (wanted("handshake"))
		bench_handshakes();
	if (wanted("allowedips"))
		bench_allowedips();
	if (wanted("datapath"))
		bench_datapath(seal_gbs, open_gbs);
	if (wanted("rng")) {
		double r = measure(rng_round, NULL, seconds_per_item / 4);

		print_figure("system rng 4 bytes", "wm_rng_system (getrandom per call)",
			     "%6.0f ns", 1e9 / r);
	}
	free(pool);
	return 0;
}
