/* SPDX-License-Identifier: MIT */
/*
 * derp-tool: drives a DERP relay for the end-to-end tests. Keys come from small seeds, so a
 * test names its clients "a", "b", "c" and can list their public keys for --verify-clients.
 *
 *   derp-tool pubkey SEED                          print the public key (base64)
 *   derp-tool pair  URL [--count N --size S --window W --timeout T --ca FILE]
 *                  two clients (seeds a, b) exchange N packets each, checked in order
 *   derp-tool soak  URL --seconds T [--expect-reconnect]  the same, continuously, surviving
 *                  relay restarts; passes when traffic flows after the last reconnect
 *   derp-tool flood URL --seed S --to SEED --seconds T    send as fast as the queue takes
 *   derp-tool stuck URL --seed S --seconds T     handshake (plain HTTP), then never read
 *   derp-tool raw   URL CASE [--seed S]          misbehave; passes when the relay closes the
 *                  connection (or, for the cases that must be tolerated, answers)
 *   derp-tool stun  ADDR:PORT                    STUN binding: mapped == our address?
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/key.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "relay-client/derp_client.h"
#include "relay-client/derp_http.h"
#include "relay-client/derp_info.h"
#include "common/stun.h"

static struct {
	const char *url, *ca, *seed, *to;
	unsigned long count, size, window;
	double timeout, seconds;
	bool expect_reconnect, verbose;
} opt = { .count = 1000, .size = 1000, .window = 16, .timeout = 20, .seconds = 5,
	  .seed = "a" };

static void key_from_seed(const char *seed, uint8_t priv[32], uint8_t pub[32])
{
	crypto_hash_sha256_state st;
	uint8_t h[32];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)"wiremesh derp-tool ", 19);
	crypto_hash_sha256_update(&st, (const uint8_t *)seed, strlen(seed));
	crypto_hash_sha256_final(&st, h);
	wm_key_clamp(h);
	memcpy(priv, h, 32);
	crypto_scalarmult_base(pub, priv);
}

/* ---- two library clients exchanging numbered packets --------------------------------------- */

struct side {
	const char *name;
	struct wm_derp_client *c;
	uint8_t priv[32], pub[32];
	struct side *peer;
	uint64_t sent, recv, written_off, bad, next_seq;
	uint64_t recv_since_connect, downs;
	ev_tstamp last_progress;
	bool connected;
};

static struct ev_loop *loop;
static struct side sides[2];
static bool soak;

static void fill_packet(uint8_t *buf, size_t len, uint64_t seq)
{
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(seq >> (56 - 8 * i));
	for (size_t i = 8; i < len; i++)
		buf[i] = (uint8_t)(seq + i);
}

static bool check_packet(const uint8_t *buf, size_t len, uint64_t *seq)
{
	if (len != opt.size || len < 8)
		return false;
	*seq = 0;
	for (int i = 0; i < 8; i++)
		*seq = *seq << 8 | buf[i];
	for (size_t i = 8; i < len; i++)
		if (buf[i] != (uint8_t)(*seq + i))
			return false;
	return true;
}

static void top_up(struct side *s)
{
	uint8_t buf[65536];

	/* Until both are registered, packets would go to an unknown key and be dropped. */
	if (!s->connected || !s->peer->connected)
		return;
	while ((soak || s->sent < opt.count) &&
	       s->sent - s->peer->recv - s->written_off < opt.window) {
		fill_packet(buf, opt.size, s->sent);
		wm_derp_client_send(s->c, s->peer->pub, buf, opt.size);
		s->sent++;
	}
}

static void on_packet(void *ctx, const uint8_t src[32], const uint8_t *data, size_t len)
{
	struct side *s = ctx;
	uint64_t seq = 0;

	if (memcmp(src, s->peer->pub, 32) || !check_packet(data, len, &seq) ||
	    (!soak && seq != s->next_seq) || seq < s->next_seq) {
		if (getenv("DBG")) fprintf(stderr, "bad: len %zu seq %llu next %llu srcok %d\n", len, (unsigned long long)seq, (unsigned long long)s->next_seq, !memcmp(src, s->peer->pub, 32));
		s->bad++;
		return;
	}
	s->next_seq = seq + 1;
	s->recv++;
	s->recv_since_connect++;
	s->last_progress = ev_now(loop);
	top_up(s->peer);
}

static void on_state(void *ctx, enum wm_derp_client_state state, const char *why)
{
	struct side *s = ctx;

	if (opt.verbose)
		fprintf(stderr, "%s: %s (%s)\n", s->name,
			state == WM_DERP_CONNECTED ? "connected"
			: state == WM_DERP_CONNECTING ? "connecting" : "down", why);
	if (state == WM_DERP_DOWN && s->connected)
		s->downs++;
	s->connected = state == WM_DERP_CONNECTED;
	if (s->connected) {
		s->recv_since_connect = 0;
		s->last_progress = ev_now(loop);
		top_up(s);
		top_up(s->peer);
	}
}

static bool pair_done(void)
{
	return !soak && sides[0].recv >= opt.count && sides[1].recv >= opt.count;
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	for (int i = 0; i < 2; i++) {
		struct side *s = &sides[i];

		/* Packets lost while a relay restarts never arrive: stop waiting for them. */
		if (soak && ev_now(l) - s->peer->last_progress > 1.0 &&
		    s->sent > s->peer->recv + s->written_off) {
			s->written_off = s->sent - s->peer->recv;
			s->peer->last_progress = ev_now(l);
		}
		top_up(s);
	}
	if (pair_done())
		ev_break(l, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ALL);
}

static int run_pair(void)
{
	static const char *const names[2] = { "a", "b" };
	ev_timer tick, deadline;
	struct wm_derp_client_stats st[2];
	ev_tstamp start;
	int err, ok;

	loop = ev_default_loop(0);
	for (int i = 0; i < 2; i++) {
		struct wm_derp_client_config cfg = {
			.url = opt.url, .ca_file = opt.ca, .on_packet = on_packet,
			.on_state = on_state, .ctx = &sides[i], .preferred = true,
		};

		sides[i].name = names[i];
		sides[i].peer = &sides[1 - i];
		key_from_seed(names[i], sides[i].priv, sides[i].pub);
		memcpy(cfg.node_private_key, sides[i].priv, 32);
		sides[i].c = wm_derp_client_create(loop, &cfg, &err);
		if (!sides[i].c) {
			fprintf(stderr, "derp-tool: cannot create client: %s\n", strerror(-err));
			return 1;
		}
	}
	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	ev_timer_init(&deadline, on_deadline, soak ? opt.seconds : opt.timeout, 0);
	ev_timer_start(loop, &deadline);
	start = ev_now(loop);
	ev_run(loop, 0);
	ev_now_update(loop);
	for (int i = 0; i < 2; i++)
		wm_derp_client_stats(sides[i].c, &st[i]);
	printf("%s: a got %llu/%llu from b, b got %llu/%llu from a in %.0f ms; bad %llu/%llu; "
	       "reconnects %llu/%llu; last error '%s'\n",
	       soak ? "soak" : "pair", (unsigned long long)sides[0].recv,
	       (unsigned long long)sides[1].sent, (unsigned long long)sides[1].recv,
	       (unsigned long long)sides[0].sent, (ev_now(loop) - start) * 1000,
	       (unsigned long long)sides[0].bad, (unsigned long long)sides[1].bad,
	       (unsigned long long)st[0].reconnects, (unsigned long long)st[1].reconnects,
	       st[0].last_error);
	if (soak) {
		ok = sides[0].recv_since_connect >= 10 && sides[1].recv_since_connect >= 10 &&
		     sides[0].connected && sides[1].connected;
		if (opt.expect_reconnect)
			ok = ok && st[0].reconnects >= 1 && st[1].reconnects >= 1;
		printf("soak: after the last reconnect a got %llu, b got %llu: %s\n",
		       (unsigned long long)sides[0].recv_since_connect,
		       (unsigned long long)sides[1].recv_since_connect, ok ? "resumed" : "FAILED");
	} else {
		ok = pair_done() && !sides[0].bad && !sides[1].bad;
	}
	if (!ok)
		for (int i = 0; i < 2; i++)
			printf("  %s: packets out %llu in %llu, queued %zu, drops %llu\n", sides[i].name,
			       (unsigned long long)st[i].packets_out,
			       (unsigned long long)st[i].packets_in, st[i].queued_frames,
			       (unsigned long long)st[i].drops);
	for (int i = 0; i < 2; i++)
		wm_derp_client_destroy(sides[i].c);
	return ok ? 0 : 1;
}

/* ---- one client sending as fast as it may ------------------------------------------------- */

static struct wm_derp_client *flooder;
static uint8_t flood_to[32];

static void on_flood_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	uint8_t buf[1200] = { 0 };

	(void)l;
	(void)w;
	(void)revents;
	for (int i = 0; i < 64; i++)
		wm_derp_client_send(flooder, flood_to, buf, sizeof(buf));
}

static int run_flood(void)
{
	struct wm_derp_client_config cfg = { .url = opt.url, .ca_file = opt.ca };
	struct wm_derp_client_stats st;
	uint8_t pub[32];
	ev_timer tick, deadline;
	int err;

	loop = ev_default_loop(0);
	key_from_seed(opt.seed, cfg.node_private_key, pub);
	key_from_seed(opt.to, pub, flood_to);
	flooder = wm_derp_client_create(loop, &cfg, &err);
	if (!flooder)
		return 1;
	ev_timer_init(&tick, on_flood_tick, 0.001, 0.001);
	ev_timer_start(loop, &tick);
	ev_timer_init(&deadline, on_deadline, opt.seconds, 0);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	wm_derp_client_stats(flooder, &st);
	printf("flood: %llu packets out, %llu dropped in our queue\n",
	       (unsigned long long)st.packets_out, (unsigned long long)st.drops);
	wm_derp_client_destroy(flooder);
	return 0;
}

/* ---- raw, blocking, plain-HTTP conversations ---------------------------------------------- */

static int raw_connect(struct wm_derp_url *u, int rcvbuf)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char port[8];
	struct timeval tv = { .tv_sec = (time_t)opt.timeout };
	int fd;

	if (wm_derp_url_parse(u, opt.url) || u->tls) {
		fprintf(stderr, "derp-tool: raw modes need an http:// URL\n");
		return -1;
	}
	snprintf(port, sizeof(port), "%u", u->port);
	if (getaddrinfo(u->host, port, &hints, &res))
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen)) {
		perror("derp-tool: connect");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* Reads until len bytes are there: false on close, error or timeout. */
static bool recv_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Upgrade and read the server key. False when the relay did not go along. */
static bool raw_upgrade(int fd, const struct wm_derp_url *u, uint8_t server_key[32])
{
	char req[600];
	uint8_t buf[4096], *frame;
	size_t len = 0;
	ssize_t hl = -EAGAIN, n;
	int status = 0;
	struct wm_derp_msg m;

	n = wm_derp_http_request_format(req, sizeof(req), u);
	if (n < 0 || !send_all(fd, req, (size_t)n))
		return false;
	while (hl == -EAGAIN && len < sizeof(buf)) {
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		hl = wm_derp_http_response_parse((const char *)buf, len, &status);
	}
	if (hl < 0 || status != 101)
		return false;
	frame = buf + hl;
	len -= (size_t)hl;
	if (len < 45 && !recv_all(fd, frame + len, 45 - len))
		return false;
	if (wm_derp_frame_decode(&m, WM_DERP_ROLE_CLIENT, frame[0], frame + 5, 40))
		return false;
	memcpy(server_key, m.key, 32);
	return true;
}

static bool raw_client_info(int fd, const char *seed, const uint8_t server_key[32])
{
	struct wm_derp_client_info info = { .version = 2, .can_ack_pings = true };
	uint8_t priv[32], pub[32], nonce[24], sealed[300], frame[400];
	struct wm_derp_msg m = { .type = WM_DERP_FRAME_CLIENT_INFO };
	char json[128];
	ssize_t j, s, f;

	key_from_seed(seed, priv, pub);
	j = wm_derp_client_info_format(json, sizeof(json), &info);
	randombytes_buf(nonce, sizeof(nonce));
	s = wm_derp_seal(sealed, sizeof(sealed), (uint8_t *)json, (size_t)j, server_key, priv, nonce);
	memcpy(m.client_info.key, pub, 32);
	m.client_info.sealed = sealed;
	m.client_info.sealed_len = (size_t)s;
	f = wm_derp_frame_encode(frame, sizeof(frame), &m);
	return f > 0 && send_all(fd, frame, (size_t)f);
}

/* True when the relay closes (or resets) the connection before the timeout. */
static bool closes(int fd)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;	/* timed out with the connection still open */
	}
}

/* Reads frames until one of type want arrives. */
static bool await_frame(int fd, uint8_t want)
{
	uint8_t head[5], body[70000];

	for (;;) {
		uint32_t len;
		uint8_t type;

		if (!recv_all(fd, head, 5))
			return false;
		wm_derp_frame_header_decode(head, 5, &type, &len);
		if (len > sizeof(body) || !recv_all(fd, body, len))
			return false;
		if (type == want)
			return true;
	}
}

static int run_raw(const char *what)
{
	struct wm_derp_url u;
	uint8_t server_key[32], frame[128];
	int fd = raw_connect(&u, 0);
	bool ok = false;

	if (fd < 0)
		return 1;
	if (!strcmp(what, "bad-http")) {
		char buf[256] = "";

		ok = send_all(fd, "BLAH\r\n\r\n", 8) && recv(fd, buf, sizeof(buf) - 1, 0) > 0 &&
		     !strncmp(buf, "HTTP/1.1 400", 12) && closes(fd);
	} else if (!strcmp(what, "no-request")) {
		ok = closes(fd);
	} else if (!strcmp(what, "huge-head")) {
		char line[1024];

		memset(line, 'x', sizeof(line));
		ok = send_all(fd, "GET /derp HTTP/1.1\r\nX: ", 23);
		for (int i = 0; ok && i < 16; i++)
			ok = send_all(fd, line, sizeof(line));
		ok = closes(fd);
	} else if (!raw_upgrade(fd, &u, server_key)) {
		fprintf(stderr, "derp-tool: the upgrade failed\n");
	} else if (!strcmp(what, "no-client-info")) {
		ok = closes(fd);
	} else if (!strcmp(what, "wrong-first-frame") || !strcmp(what, "huge-client-info") ||
		   !strcmp(what, "bad-client-info")) {
		uint8_t type = what[0] == 'w' ? WM_DERP_FRAME_SEND_PACKET : WM_DERP_FRAME_CLIENT_INFO;
		uint32_t len = what[0] == 'h' ? 0x7fffffff : 60;

		memset(frame, 0x55, sizeof(frame));
		wm_derp_frame_header_encode(frame, type, len);
		ok = send_all(fd, frame, 5 + 60) && closes(fd);
	} else if (!strcmp(what, "handshake") || !strcmp(what, "not-allowed")) {
		bool accepted = raw_client_info(fd, opt.seed, server_key) &&
				await_frame(fd, WM_DERP_FRAME_SERVER_INFO);

		ok = what[0] == 'h' ? accepted : !accepted;
	} else if (raw_client_info(fd, opt.seed, server_key) &&
		   await_frame(fd, WM_DERP_FRAME_SERVER_INFO)) {
		/* Registered: now misbehave in the data phase. */
		static const struct {
			const char *name;
			uint8_t type;
			uint32_t len;
			bool tolerated;
		} cases[] = {
			{ "oversized-packet", WM_DERP_FRAME_SEND_PACKET, 0xfffffff0u, false },
			{ "oversized-unknown", 0x0b, 0x7fffffffu, false },
			{ "short-packet", WM_DERP_FRAME_SEND_PACKET, 10, false },
			{ "bad-preferred", WM_DERP_FRAME_NOTE_PREFERRED, 2, false },
			{ "mesh-frame", WM_DERP_FRAME_WATCH_CONNS, 0, false },
			{ "short-ping", WM_DERP_FRAME_PING, 4, false },
			{ "unknown-frame", 0x0b, 10, true },	/* skipped: a ping after it is answered */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint32_t body = cases[i].len > 40 ? 40 : cases[i].len;

			if (strcmp(what, cases[i].name))
				continue;
			memset(frame, 0, sizeof(frame));
			wm_derp_frame_header_encode(frame, cases[i].type, cases[i].len);
			ok = send_all(fd, frame, 5 + body);
			if (cases[i].tolerated) {
				wm_derp_frame_header_encode(frame, WM_DERP_FRAME_PING, 8);
				ok = ok && send_all(fd, frame, 13) &&
				     await_frame(fd, WM_DERP_FRAME_PONG);
			} else {
				ok = ok && closes(fd);
			}
		}
	}
	close(fd);
	printf("raw %s: %s\n", what, ok ? "as expected" : "NOT as expected");
	return ok ? 0 : 1;
}

static int run_stuck(void)
{
	struct wm_derp_url u;
	uint8_t server_key[32];
	int fd = raw_connect(&u, 4096);

	if (fd < 0 || !raw_upgrade(fd, &u, server_key) ||
	    !raw_client_info(fd, opt.seed, server_key)) {
		fprintf(stderr, "derp-tool: stuck client could not connect\n");
		return 1;
	}
	printf("stuck: connected as %s, not reading for %.0f s\n", opt.seed, opt.seconds);
	fflush(stdout);
	usleep((useconds_t)(opt.seconds * 1e6));
	close(fd);
	return 0;
}

static int run_stun(const char *server)
{
	struct wm_endpoint to, local, mapped;
	uint8_t req[WM_STUN_REQUEST_LEN], resp[512], txid[12], rtxid[12];
	char a[WM_ENDPOINT_STR_LEN], b[WM_ENDPOINT_STR_LEN];
	struct timeval tv = { .tv_sec = 2 };
	socklen_t len = sizeof(local.addr);
	ssize_t n;
	int fd;

	memset(&local, 0, sizeof(local));
	if (wm_endpoint_parse(&to, server)) {
		fprintf(stderr, "derp-tool: stun wants ADDR:PORT\n");
		return 1;
	}
	fd = socket(to.addr.sa.sa_family, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	randombytes_buf(txid, sizeof(txid));
	wm_stun_request_encode(req, txid);
	if (connect(fd, &to.addr.sa, wm_endpoint_socklen(&to)) || send(fd, req, sizeof(req), 0) < 0 ||
	    getsockname(fd, &local.addr.sa, &len))
		return 1;
	n = recv(fd, resp, sizeof(resp), 0);
	close(fd);
	if (n < 0 || wm_stun_response_parse(resp, (size_t)n, rtxid, &mapped) ||
	    memcmp(txid, rtxid, 12)) {
		printf("stun: no valid answer\n");
		return 1;
	}
	wm_endpoint_format(&mapped, a);
	wm_endpoint_format(&local, b);
	printf("stun: mapped %s, local %s\n", a, b);
	return wm_endpoint_equal(&mapped, &local) ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' }, { "size", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' }, { "timeout", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 'S' }, { "ca", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'k' }, { "to", required_argument, NULL, 'T' },
		{ "expect-reconnect", no_argument, NULL, 'r' }, { "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int o;

	if (sodium_init() < 0)
		return 1;
	if (getenv("LOG_LEVEL"))
		wm_log_init((enum wm_log_level)wm_log_parse_level(getenv("LOG_LEVEL")), "derp-tool");
	while ((o = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (o) {
		case 'n': opt.count = strtoul(optarg, NULL, 10); break;
		case 's': opt.size = strtoul(optarg, NULL, 10); break;
		case 'w': opt.window = strtoul(optarg, NULL, 10); break;
		case 't': opt.timeout = atof(optarg); break;
		case 'S': opt.seconds = atof(optarg); break;
		case 'c': opt.ca = optarg; break;
		case 'k': opt.seed = optarg; break;
		case 'T': opt.to = optarg; break;
		case 'r': opt.expect_reconnect = true; break;
		case 'v': opt.verbose = true; break;
		default: return 2;
		}
	}
	if (optind >= argc || opt.size < 8 || opt.size > 65536 || !opt.window) {
		fprintf(stderr, "usage: see the comment at the top of test/derp_tool.c\n");
		return 2;
	}
	mode = argv[optind++];
	if (!strcmp(mode, "pubkey") && optind < argc) {
		uint8_t priv[32], pub[32];
		char b64[WM_KEY_B64_LEN];

		key_from_seed(argv[optind], priv, pub);
		wm_key_to_base64(b64, pub);
		puts(b64);
		return 0;
	}
	if (!strcmp(mode, "stun") && optind < argc)
		return run_stun(argv[optind]);
	if (optind >= argc)
		return 2;
	opt.url = argv[optind++];
	if (!strcmp(mode, "pair") || !strcmp(mode, "soak")) {
		soak = mode[0] == 's';
		return run_pair();
	}
	if (!strcmp(mode, "flood") && opt.to)
		return run_flood();
	if (!strcmp(mode, "stuck"))
		return run_stuck();
	if (!strcmp(mode, "raw") && optind < argc)
		return run_raw(argv[optind]);
	fprintf(stderr, "derp-tool: unknown mode or missing argument (see test/derp_tool.c)\n");
	return 2;
}
