/* SPDX-License-Identifier: MIT */
/*
 * The relay's modules one by one (registry, packet queues, key files), then the relay and the
 * DERP client together on one loop over loopback: packets both ways, peer-gone for a departed
 * sender and for an unknown destination, a newer connection replacing an older one, and
 * --verify-clients. Every loop run has a deadline; none sleeps.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/log.h"
#include "relay-client/derp_client.h"
#include "relay-server/keys.h"
#include "relay-server/metrics.h"
#include "relay-server/pktq.h"
#include "relay-server/registry.h"
#include "relay-server/pages.h"
#include "relay-server/relay.h"

static void make_key(uint8_t key[32], unsigned n)
{
	memset(key, 0, 32);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x40;
}

static unsigned gone_calls;
static struct wm_relay_keyent *gone_last;

static void on_gone(void *ctx, struct wm_relay_keyent *receiver)
{
	(void)ctx;
	gone_calls++;
	gone_last = receiver;
}

START_TEST(test_registry)
{
	struct wm_relay_registry reg;
	struct wm_relay_keyent *a, *b, *c, *ke;
	uint8_t k[32];

	ck_assert_int_eq(wm_relay_registry_init(&reg), 0);
	/* Many keys: the table grows and finds them all. */
	for (unsigned i = 0; i < 3000; i++) {
		make_key(k, i);
		ck_assert_ptr_nonnull(wm_relay_registry_add(&reg, k));
	}
	ck_assert_uint_eq(reg.count, 3000);
	for (unsigned i = 0; i < 3000; i++) {
		make_key(k, i);
		ke = wm_relay_registry_lookup(&reg, k);
		ck_assert_ptr_nonnull(ke);
		ck_assert_mem_eq(ke->key, k, 32);
		ck_assert_ptr_eq(wm_relay_registry_add(&reg, k), ke);
	}
	make_key(k, 5000);
	ck_assert_ptr_null(wm_relay_registry_lookup(&reg, k));

	make_key(k, 1);
	a = wm_relay_registry_lookup(&reg, k);
	make_key(k, 2);
	b = wm_relay_registry_lookup(&reg, k);
	make_key(k, 3);
	c = wm_relay_registry_lookup(&reg, k);
	/* b and c heard from a (c twice: one edge); a heard from b. */
	wm_relay_registry_note_sent(&reg, a, b);
	wm_relay_registry_note_sent(&reg, a, c);
	wm_relay_registry_note_sent(&reg, a, c);
	wm_relay_registry_note_sent(&reg, b, a);
	ck_assert_uint_eq(reg.ecount, 3);
	ck_assert_uint_eq(c->nsources, 1);
	/* a leaves: b and c are told, once each; b's edge to a goes too. */
	wm_relay_registry_remove(&reg, a, on_gone, NULL);
	ck_assert_uint_eq(gone_calls, 2);
	ck_assert_uint_eq(reg.ecount, 0);
	ck_assert_uint_eq(b->nsources, 0);
	ck_assert_ptr_null(b->receivers);
	/* c leaves: nobody heard from it. */
	gone_calls = 0;
	wm_relay_registry_remove(&reg, c, on_gone, NULL);
	ck_assert_uint_eq(gone_calls, 0);
	ck_assert_uint_eq(reg.count, 2998);
	make_key(k, 2);
	ck_assert_ptr_eq(wm_relay_registry_lookup(&reg, k), b);

	/* Sources per receiver are bounded. */
	for (unsigned i = 10; i < 10 + WM_RELAY_MAX_SOURCES + 5; i++) {
		make_key(k, i);
		wm_relay_registry_note_sent(&reg, wm_relay_registry_add(&reg, k), b);
	}
	ck_assert_uint_eq(b->nsources, WM_RELAY_MAX_SOURCES);
	ck_assert_uint_eq(reg.untracked, 5);
	gone_calls = 0;
	wm_relay_registry_remove(&reg, b, on_gone, NULL);
	ck_assert_uint_eq(gone_calls, 0);
	ck_assert_uint_eq(reg.ecount, 0);
	wm_relay_registry_free(&reg);
}
END_TEST

START_TEST(test_pktq)
{
	struct wm_relay_pool pool;
	struct wm_relay_pktq q = { 0 };
	struct wm_relay_pkt *p;
	uint8_t src[32] = { 1 }, data[3000] = { 7 };
	unsigned drops = 0;

	wm_relay_pool_init(&pool, 40 * WM_RELAY_PKT_SMALL);
	for (unsigned i = 0; i < WM_RELAY_QUEUE_DEPTH + 3; i++) {
		p = wm_relay_pkt_new(&pool, src, data, 100 + i);
		ck_assert_ptr_nonnull(p);
		drops += wm_relay_pktq_push(&q, &pool, p);
	}
	ck_assert_uint_eq(drops, 3);
	/* The oldest went: the head is the fourth packet. */
	p = wm_relay_pktq_pop(&q);
	ck_assert_uint_eq(p->len, 103);
	ck_assert_mem_eq(p->src, src, 32);
	wm_relay_pkt_put(&pool, p);
	ck_assert_uint_eq(pool.bytes_used, 31 * WM_RELAY_PKT_SMALL);
	/* The budget: 40 small buffers in all, the 41st is refused. */
	{
		struct wm_relay_pkt *held[9];

		for (unsigned i = 0; i < 9; i++)
			ck_assert_ptr_nonnull(held[i] = wm_relay_pkt_new(&pool, src, data, 10));
		ck_assert_ptr_null(wm_relay_pkt_new(&pool, src, data, 10));
		ck_assert_uint_eq(pool.over_budget, 1);
		for (unsigned i = 0; i < 9; i++)
			wm_relay_pkt_put(&pool, held[i]);
	}
	ck_assert_uint_eq(wm_relay_pktq_clear(&q, &pool), WM_RELAY_QUEUE_DEPTH - 1);
	ck_assert_uint_eq(pool.bytes_used, 0);
	p = wm_relay_pkt_new(&pool, src, data, sizeof(data));
	ck_assert_uint_eq(pool.bytes_used, sizeof(data));
	ck_assert_mem_eq(p->data, data, sizeof(data));
	wm_relay_pkt_put(&pool, p);
	ck_assert_ptr_null(wm_relay_pkt_new(&pool, src, data, 65537));
	wm_relay_pool_free(&pool);
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/wm-relay-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_keys)
{
	uint8_t k1[32], k2[32], want[32];
	char path[128], err[300], text[400], b64[WM_KEY_B64_LEN], hex[WM_KEY_HEX_LEN];
	struct wm_relay_allowlist al;
	struct stat st;
	bool created;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/relay.key", tmpdir);
	ck_assert_int_eq(wm_relay_key_file_load(path, k1, &created, err, sizeof(err)), 0);
	ck_assert(created);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(wm_relay_key_file_load(path, k2, &created, err, sizeof(err)), 0);
	ck_assert(!created);
	ck_assert_mem_eq(k1, k2, 32);
	ck_assert_uint_eq(k1[0] & 7, 0);	/* clamped */

	/* derper's JSON, hex with the privkey: prefix. */
	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)(0x10 + i);
	wm_key_to_hex(hex, want);
	snprintf(text, sizeof(text), "{\"PrivateKey\": \"privkey:%s\"}\n", hex);
	write_file(path, text);
	ck_assert_int_eq(wm_relay_key_file_load(path, k2, &created, err, sizeof(err)), 0);
	ck_assert_mem_eq(k2, want, 32);
	write_file(path, "not a key\n");
	ck_assert_int_eq(wm_relay_key_file_load(path, k2, &created, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));

	ck_assert(wm_relay_parse_key(hex, k2));
	snprintf(text, sizeof(text), "nodekey:%s", hex);
	ck_assert(wm_relay_parse_key(text, k2));
	ck_assert_mem_eq(k2, want, 32);
	ck_assert(!wm_relay_parse_key("nodekey:zz", k2));

	snprintf(path, sizeof(path), "%s/allowed", tmpdir);
	wm_key_to_base64(b64, want);
	snprintf(text, sizeof(text), "# clients\n\n  %s  \nnodekey:%s # again\n", b64, hex);
	write_file(path, text);
	ck_assert_int_eq(wm_relay_allowlist_load(&al, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(al.count, 2);
	ck_assert(wm_relay_allowlist_has(&al, want));
	ck_assert(!wm_relay_allowlist_has(&al, k1));
	wm_relay_allowlist_free(&al);
	write_file(path, "# ok\n\nbogus\n");
	ck_assert_int_eq(wm_relay_allowlist_load(&al, path, err, sizeof(err)), -EINVAL);
	snprintf(text, sizeof(text), "%s:3:", path);
	ck_assert_msg(strstr(err, text), "error names no line: %s", err);
	remove_tmpdir();
}
END_TEST

/* ---- the relay and two clients on one loop ------------------------------------------------- */

struct peer {
	struct wm_derp_client *c;
	uint8_t priv[32], pub[32];
	int connected, downs;
	unsigned packets, gone, gone_reason;
	uint8_t last_src[32], gone_key[32];
	char last_data[64];
};

static struct ev_loop *loop;
static struct wm_relay relay;
static char url[64];
static struct peer pa, pb, pc;
static bool (*until)(void);

static void on_packet(void *ctx, const uint8_t src[32], const uint8_t *data, size_t len)
{
	struct peer *p = ctx;

	p->packets++;
	memcpy(p->last_src, src, 32);
	snprintf(p->last_data, sizeof(p->last_data), "%.*s", (int)len, (const char *)data);
}

static void on_state(void *ctx, enum wm_derp_client_state state, const char *why)
{
	struct peer *p = ctx;

	(void)why;
	if (state == WM_DERP_CONNECTED)
		p->connected++;
	if (state == WM_DERP_DOWN)
		p->downs++;
}

static void on_peer_gone(void *ctx, const uint8_t key[32], uint8_t reason)
{
	struct peer *p = ctx;

	p->gone++;
	p->gone_reason = reason;
	memcpy(p->gone_key, key, 32);
}

/* A prepare watcher runs after the iteration's callbacks, just before the loop would block. */
static void on_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
	(void)w;
	(void)revents;
	if (until())
		ev_break(l, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

/* Runs the loop until cond() holds (true) or 5 s pass (false). */
static bool run_until(bool (*cond)(void))
{
	ev_prepare prepare;
	ev_timer deadline;

	until = cond;
	ev_prepare_init(&prepare, on_prepare);
	ev_prepare_start(loop, &prepare);
	ev_timer_init(&deadline, on_deadline, 5.0, 0);
	ev_timer_start(loop, &deadline);
	if (!cond())
		ev_run(loop, 0);
	ev_prepare_stop(loop, &prepare);
	ev_timer_stop(loop, &deadline);
	return cond();
}

static void start_relay(const char *verify_file)
{
	struct wm_relay_config cfg = { .listen = "127.0.0.1:0", .plain = true,
				       .verify_file = verify_file };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char err[300];

	loop = ev_loop_new(EVFLAG_AUTO);
	randombytes_buf(cfg.private_key, 32);
	ck_assert_msg(wm_relay_start(&relay, loop, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(getsockname(relay.listen_fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/derp", ntohs(sin.sin_port));
}

static void connect_peer(struct peer *p, unsigned seed)
{
	struct wm_derp_client_config cfg = { .url = url, .on_packet = on_packet,
					     .on_state = on_state, .on_peer_gone = on_peer_gone,
					     .ctx = p, .preferred = true };
	int err;

	memset(p->priv, 0, 32);
	p->priv[0] = (uint8_t)(seed * 8);
	p->priv[5] = (uint8_t)seed;
	p->priv[31] = 0x40;
	crypto_scalarmult_base(p->pub, p->priv);
	memcpy(cfg.node_private_key, p->priv, 32);
	p->c = wm_derp_client_create(loop, &cfg, &err);
	ck_assert_ptr_nonnull(p->c);
}

static void stop_all(void)
{
	struct peer *peers[] = { &pa, &pb, &pc };

	for (size_t i = 0; i < 3; i++) {
		wm_derp_client_destroy(peers[i]->c);
		memset(peers[i], 0, sizeof(*peers[i]));
	}
	wm_relay_stop(&relay);
	ev_loop_destroy(loop);
}

static bool both_connected(void) { return pa.connected && pb.connected; }
static bool b_has_packet(void) { return pb.packets >= 1; }
static bool a_has_packet(void) { return pa.packets >= 1; }
static bool b_told_gone(void) { return pb.gone >= 1; }
static bool a_told_gone(void) { return pa.gone >= 1; }
static bool replaced(void) { return pa.downs >= 1 && pc.connected && relay.n.replaced >= 1; }
static bool b_refused(void) { return pb.downs >= 2 && relay.n.not_allowed >= 2; }

START_TEST(test_exchange_and_peer_gone)
{
	start_relay(NULL);
	connect_peer(&pa, 1);
	connect_peer(&pb, 2);
	ck_assert(run_until(both_connected));
	ck_assert_uint_eq(relay.nclients, 2);
	ck_assert_uint_eq(relay.nhome, 2);	/* both sent NotePreferred(true) */

	ck_assert_int_eq(wm_derp_client_send(pa.c, pb.pub, (const uint8_t *)"hello b", 7), 0);
	ck_assert(run_until(b_has_packet));
	ck_assert_mem_eq(pb.last_src, pa.pub, 32);
	ck_assert_str_eq(pb.last_data, "hello b");
	ck_assert_int_eq(wm_derp_client_send(pb.c, pa.pub, (const uint8_t *)"hello a", 7), 0);
	ck_assert(run_until(a_has_packet));
	ck_assert_str_eq(pa.last_data, "hello a");

	/* An unknown destination: PeerGone "not here" to the sender. */
	{
		uint8_t nobody[32] = { 9, 9, 9 };

		wm_derp_client_send(pa.c, nobody, (const uint8_t *)"x", 1);
		ck_assert(run_until(a_told_gone));
		ck_assert_uint_eq(pa.gone_reason, 1);
		ck_assert_mem_eq(pa.gone_key, nobody, 32);
	}
	/* a sent to b and leaves: b is told "disconnected". */
	wm_derp_client_destroy(pa.c);
	pa.c = NULL;
	ck_assert(run_until(b_told_gone));
	ck_assert_uint_eq(pb.gone_reason, 0);
	ck_assert_mem_eq(pb.gone_key, pa.pub, 32);
	ck_assert_uint_eq(relay.n.packets_recv, 3);
	ck_assert_uint_eq(relay.n.packets_sent, 2);
	{
		char json[4096];

		ck_assert_uint_gt(wm_relay_status_json(&relay, json, sizeof(json)), 0);
		ck_assert_ptr_nonnull(strstr(json, "\"packets_received\":3,"));
		ck_assert_ptr_nonnull(strstr(json, "\"drops_unknown_dest\":1,"));
	}
	{
		/* The same counters in the Prometheus text format (/metrics). */
		size_t len;
		char *text = wm_relay_metrics_text(&relay, &len);

		ck_assert_ptr_nonnull(text);
		ck_assert_uint_eq(len, strlen(text));
		ck_assert_ptr_nonnull(strstr(text, "\nwiremesh_relay_received_packets_total 3\n"));
		ck_assert_ptr_nonnull(strstr(text, "\nwiremesh_relay_forwarded_packets_total 2\n"));
		ck_assert_ptr_nonnull(strstr(text, "\nwiremesh_relay_dropped_packets_total"
						   "{reason=\"unknown_dest\"} 1\n"));
		ck_assert_ptr_nonnull(strstr(text, "\nwiremesh_relay_clients 1\n"));	/* b */
		ck_assert_ptr_nonnull(strstr(text, "# TYPE wiremesh_relay_queued_bytes gauge\n"));
		free(text);
	}
	stop_all();
}
END_TEST

static bool c_has_packet(void) { return pc.packets >= 1; }

START_TEST(test_newer_connection_replaces)
{
	struct wm_derp_client_stats st;

	start_relay(NULL);
	connect_peer(&pa, 1);
	connect_peer(&pb, 2);
	ck_assert(run_until(both_connected));
	connect_peer(&pc, 1);	/* the same key as a */
	ck_assert(run_until(replaced));
	ck_assert_uint_eq(relay.nclients, 2);
	wm_derp_client_destroy(pa.c);	/* before it comes back and replaces c in turn */
	pa.c = NULL;
	/* Packets for the key now reach the newer connection. */
	wm_derp_client_send(pb.c, pc.pub, (const uint8_t *)"to c", 4);
	ck_assert(run_until(c_has_packet));
	ck_assert_str_eq(pc.last_data, "to c");
	ck_assert_mem_eq(pc.last_src, pb.pub, 32);
	wm_derp_client_stats(pc.c, &st);
	ck_assert_uint_eq(st.connects, 1);
	ck_assert_uint_eq(st.reconnects, 0);
	stop_all();
}
END_TEST

START_TEST(test_verify_clients)
{
	char path[128], b64[WM_KEY_B64_LEN], text[100];
	uint8_t priv[32] = { 8 }, pub[32];

	make_tmpdir();
	/* Only a (seed 1) is listed. */
	priv[5] = 1;
	priv[31] = 0x40;
	crypto_scalarmult_base(pub, priv);
	wm_key_to_base64(b64, pub);
	snprintf(path, sizeof(path), "%s/allowed", tmpdir);
	snprintf(text, sizeof(text), "%s\n", b64);
	write_file(path, text);
	start_relay(path);
	connect_peer(&pa, 1);
	connect_peer(&pb, 2);
	ck_assert(run_until(b_refused));
	ck_assert_int_eq(pb.connected, 0);
	ck_assert_int_ge(pa.connected, 1);
	stop_all();
	remove_tmpdir();
}
END_TEST

static Suite *relay_suite(void)
{
	Suite *s = suite_create("derp_relay");
	TCase *units = tcase_create("units"), *live = tcase_create("loopback");

	tcase_add_test(units, test_registry);
	tcase_add_test(units, test_pktq);
	tcase_add_test(units, test_keys);
	suite_add_tcase(s, units);
	tcase_set_timeout(live, 20);
	tcase_add_test(live, test_exchange_and_peer_gone);
	tcase_add_test(live, test_newer_connection_replaces);
	tcase_add_test(live, test_verify_clients);
	suite_add_tcase(s, live);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	wm_log_init(WM_LOG_SILENT, "test");	/* the relay and clients log what they see */
	sr = srunner_create(relay_suite());
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
