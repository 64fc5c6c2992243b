/* SPDX-License-Identifier: MIT */
/*
 * coord-tool: a small coordination client for tests (test/e2e/coord_server.sh).
 *
 *   coord-tool poll --url URL --key-file FILE [--authkey KEY] [--hostname NAME]
 *                   [--endpoint IP:PORT]... [--home-relay N] [--timeout S]
 *                   [--wait-peers N | --wait-peer NAME | --wait-gone NAME | --watch]
 *                   [--ca-file PEM]   (https: the CA or pinned certificate to trust)
 *                   [--rotate | --logout]  (after the first netmap: rotate the node key, the
 *                   new one replacing FILE, then go on; or log out and exit 0)
 *     Runs the real client (coord-client/coord_client.c). Every netmap is printed as one line
 *     "NETMAP <unix ms> <json>" and every state change as "STATE <unix ms> <state> <why>".
 *     It exits 0 when the wait condition holds (--watch: at the timeout), 3 when the server
 *     rejects the node, 1 at the timeout. The node key lives in FILE (made, 0600, if missing).
 *
 *   coord-tool raw --url URL --key-file FILE --kind KIND [--authkey KEY]
 *     Sends one hand-made request and prints "STATUS <http status> <code> <message>":
 *     KIND is register, poll, tampered, replay (the same sealed poll twice; the second answer
 *     is printed), stale, badjson, wrongtype, oversize, unsealed, wrongkey.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "coord-client/coord_client.h"
#include "coord-client/coord_conn.h"
#include "coord-client/coord_http.h"
#include "coord-client/coord_msg.h"
#include "coord-client/coord_seal.h"

struct opts {
	const char *url, *key_file, *authkey, *hostname, *kind, *wait_peer, *wait_gone, *ca_file;
	struct wm_endpoint eps[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_eps;
	int home_relay, wait_peers;
	bool watch, rotate, logout, acted;
	double timeout;
};

struct tool {
	struct ev_loop *loop;
	struct opts o;
	struct wm_coord_client *client;
	ev_timer deadline;
	int exit_code;
	uint8_t new_priv[WM_KEY_LEN];
};

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "coord-tool: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

/* The node key: read from file, or made and written (0600). */
static void load_key(const char *path, uint8_t priv[WM_KEY_LEN])
{
	char text[WM_KEY_B64_LEN + 2] = "";
	FILE *f = fopen(path, "r");
	int fd;

	if (f) {
		if (!fgets(text, sizeof(text), f))
			text[0] = '\0';
		fclose(f);
		text[strcspn(text, "\n")] = '\0';
		if (!wm_key_from_base64(priv, text))
			die("%s does not hold a base64 key", path);
		return;
	}
	crypto_box_keypair((uint8_t[WM_KEY_LEN]){ 0 }, priv);
	wm_key_to_base64(text, priv);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || write(fd, "\n", 1) < 0)
		die("cannot write %s", path);
	close(fd);
}

static bool has_peer(const struct wm_netmap *nm, const char *name)
{
	for (size_t i = 0; i < nm->n_peers; i++)
		if (!nm->peers[i].expired && !strcmp(nm->peers[i].name, name))
			return true;
	return false;
}

static size_t live_peers(const struct wm_netmap *nm)
{
	size_t n = 0;

	for (size_t i = 0; i < nm->n_peers; i++)
		n += !nm->peers[i].expired;
	return n;
}

static void on_netmap(void *ctx, const struct wm_netmap *nm)
{
	struct tool *t = ctx;
	struct wm_coord_poll_resp r = { .version = nm->version, .netmap = *nm };
	char *text = wm_coord_poll_resp_encode(&r);
	bool done = false;

	printf("NETMAP %lld %s\n", now_ms(), text ? text : "{}");
	fflush(stdout);
	free(text);
	if (!t->o.acted && (t->o.rotate || t->o.logout)) {
		t->o.acted = true;
		if (t->o.rotate) {
			crypto_box_keypair((uint8_t[WM_KEY_LEN]){ 0 }, t->new_priv);
			wm_coord_client_rotate_key(t->client, t->new_priv);
		} else {
			wm_coord_client_logout(t->client);
		}
	}
	if (t->o.wait_peers >= 0 && live_peers(nm) == (size_t)t->o.wait_peers)
		done = true;
	if (t->o.wait_peer && has_peer(nm, t->o.wait_peer))
		done = true;
	if (t->o.wait_gone && !has_peer(nm, t->o.wait_gone))
		done = true;
	if (done && !t->o.watch) {
		t->exit_code = 0;
		ev_break(t->loop, EVBREAK_ALL);
	}
}

static void on_state(void *ctx, enum wm_coord_state state, const char *why)
{
	static const char *const names[] = { "away", "connected", "rejected", "logged-out" };
	struct tool *t = ctx;

	printf("STATE %lld %s %s\n", now_ms(), names[state], why);
	fflush(stdout);
	if (state == WM_COORD_LOGGED_OUT) {
		t->exit_code = 0;
		ev_break(t->loop, EVBREAK_ALL);
	}
	if (state == WM_COORD_REJECTED) {
		fprintf(stderr, "coord-tool: rejected: %s\n", why);
		t->exit_code = 3;
		ev_break(t->loop, EVBREAK_ALL);
	}
}

/* The rotated key replaces the key file, so that the node comes back as itself. */
static void on_rotated(void *ctx, int err, const char *why)
{
	struct tool *t = ctx;
	char text[WM_KEY_B64_LEN];
	FILE *f;

	printf("ROTATED %lld %s\n", now_ms(), err ? why : "ok");
	fflush(stdout);
	if (err)
		return;
	wm_key_to_base64(text, t->new_priv);
	f = fopen(t->o.key_file, "w");
	if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f))
		die("cannot write %s", t->o.key_file);
	sodium_memzero(t->new_priv, sizeof(t->new_priv));
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tool *t = w->data;

	(void)revents;
	t->exit_code = t->o.watch ? 0 : 1;
	if (!t->o.watch)
		fprintf(stderr, "coord-tool: timed out\n");
	ev_break(loop, EVBREAK_ALL);
}

static int run_poll(struct tool *t)
{
	struct wm_coord_client_config cfg = { 0 };
	char err[256];
	int ret;

	load_key(t->o.key_file, cfg.node_private_key);
	randombytes_buf(cfg.disco_public_key, WM_KEY_LEN);
	cfg.url = t->o.url;
	cfg.ca_file = t->o.ca_file;
	cfg.auth_key = t->o.authkey;
	cfg.hostname = t->o.hostname ? t->o.hostname : "test-node";
	cfg.os = "linux";
	cfg.version = "coord-tool";
	cfg.on_netmap = on_netmap;
	cfg.on_state = on_state;
	cfg.on_rotated = on_rotated;
	cfg.ctx = t;
	t->client = wm_coord_client_create(t->loop, &cfg, &ret, err, sizeof(err));
	sodium_memzero(cfg.node_private_key, WM_KEY_LEN);
	if (!t->client) {
		fprintf(stderr, "coord-tool: %s\n", err);
		return 2;
	}
	wm_coord_client_set_endpoints(t->client, t->o.eps, t->o.n_eps);
	wm_coord_client_set_home_relay(t->client, t->o.home_relay);
	t->exit_code = 1;
	ev_timer_init(&t->deadline, on_deadline, t->o.timeout, 0);
	t->deadline.data = t;
	ev_timer_start(t->loop, &t->deadline);
	ev_run(t->loop, 0);
	wm_coord_client_destroy(t->client);
	return t->exit_code;
}

/* --- raw requests ------------------------------------------------------------------------ */

struct raw {
	struct ev_loop *loop;
	int status;
	char code[32], msg[WM_COORD_ERROR_MAX + 1];
	bool done;
};

static void on_raw(void *ctx, int err, const struct wm_coord_http_msg *resp, const char *why)
{
	struct raw *r = ctx;

	r->done = true;
	if (err) {
		r->status = 0;
		snprintf(r->msg, sizeof(r->msg), "%s", why);
	} else {
		r->status = resp->http.status;
		if (resp->http.status != 200 &&
		    wm_coord_error_parse((const char *)resp->http.body, resp->http.body_len, r->code,
					 sizeof(r->code), r->msg, sizeof(r->msg)))
			snprintf(r->msg, sizeof(r->msg), "(not a JSON error body)");
	}
	ev_break(r->loop, EVBREAK_ALL);
}

static void send_raw(struct ev_loop *loop, const struct wm_coord_url *u, const char *path,
		     const char *type, const uint8_t *node_key, const uint8_t *body, size_t len,
		     struct raw *r)
{
	char head[1024];
	ssize_t n = wm_coord_http_request_head(head, sizeof(head), "POST", u, path, node_key, type,
					       len);
	uint8_t *req = malloc((size_t)n + len + 1);
	struct wm_coord_conn *c;

	memcpy(req, head, (size_t)n);
	memcpy(req + n, body, len);
	memset(r, 0, sizeof(*r));
	r->loop = loop;
	c = wm_coord_conn_start(loop, u, NULL, req, (size_t)n + len, 1 << 24, 10.0, on_raw, r);
	free(req);
	if (!c)
		die("%s", "cannot start a request");
	ev_run(loop, 0);
}

static void fetch_server_key(struct ev_loop *loop, const struct wm_coord_url *u,
			     uint8_t key[WM_KEY_LEN]);

static char *make_json(const struct opts *o, int64_t ts)
{
	struct wm_coord_request req = { .ts = ts };

	randombytes_buf(req.id, sizeof(req.id));
	if (!strcmp(o->kind, "register")) {
		req.type = WM_COORD_REGISTER;
		snprintf(req.u.reg.auth_key, sizeof(req.u.reg.auth_key), "%s",
			 o->authkey ? o->authkey : "");
		randombytes_buf(req.u.reg.disco_key, WM_KEY_LEN);
		snprintf(req.u.reg.hostname, sizeof(req.u.reg.hostname), "%s",
			 o->hostname ? o->hostname : "raw");
		strcpy(req.u.reg.os, "linux");
		strcpy(req.u.reg.version, "raw");
	} else {
		req.type = WM_COORD_POLL;
		req.u.poll.wait = false;
	}
	if (!strcmp(o->kind, "badjson"))
		return strdup("{\"type\":\"poll\",\"ts\":1,");
	if (!strcmp(o->kind, "wrongtype"))
		return strdup("{\"type\":\"poll\",\"ts\":\"soon\",\"id\":\"00\",\"version\":[]}");
	return wm_coord_request_encode(&req);
}

static int run_raw(struct ev_loop *loop, const struct opts *o)
{
	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN], server[WM_KEY_LEN], *box;
	const char *kind = o->kind, *path = "/v1/poll";
	struct wm_coord_box b;
	struct wm_coord_url u;
	struct raw r;
	char err[256], *json;
	size_t len;
	ssize_t n;

	if (wm_coord_url_parse(&u, o->url, err, sizeof(err)) || u.tls)
		die("%s (raw wants an http:// URL)", err);
	load_key(o->key_file, priv);
	wm_coord_public_key(pub, priv);
	if (u.has_key)
		memcpy(server, u.server_key, WM_KEY_LEN);
	else
		fetch_server_key(loop, &u, server);
	if (!strcmp(kind, "wrongkey"))
		randombytes_buf(server, WM_KEY_LEN);	/* seals to a key the server lacks */
	if (!wm_coord_box_init(&b, server, priv))
		die("%s", "unusable server key");
	if (!strcmp(kind, "register"))
		path = "/v1/register";
	json = make_json(o, (int64_t)time(NULL) - (strcmp(kind, "stale") ? 0 : 600));
	len = strlen(json);
	if (!strcmp(kind, "oversize")) {
		len = 1 << 20;
		json = realloc(json, len);
		memset(json, ' ', len);
	}
	box = malloc(len + WM_COORD_SEAL_OVERHEAD);
	n = wm_coord_seal(&b, box, len + WM_COORD_SEAL_OVERHEAD, json, len);
	if (!strcmp(kind, "tampered"))
		box[n / 2] ^= 0x40;
	if (!strcmp(kind, "unsealed"))
		send_raw(loop, &u, path, WM_COORD_JSON_TYPE, pub, (uint8_t *)json, len, &r);
	else
		send_raw(loop, &u, path, WM_COORD_SEALED_TYPE, pub, box, (size_t)n, &r);
	if (!strcmp(kind, "replay"))
		send_raw(loop, &u, path, WM_COORD_SEALED_TYPE, pub, box, (size_t)n, &r);
	printf("STATUS %d %s %s\n", r.status, r.code[0] ? r.code : "-", r.msg);
	free(box);
	free(json);
	sodium_memzero(priv, sizeof(priv));
	return r.done && r.status ? 0 : 1;
}

static void on_key(void *ctx, int err, const struct wm_coord_http_msg *resp, const char *why)
{
	uint8_t *key = ctx;
	char e[WM_COORD_ERR_LEN];

	if (err || resp->http.status != 200 ||
	    wm_coord_key_resp_parse(key, (const char *)resp->http.body, resp->http.body_len, e, sizeof(e)))
		die("cannot fetch the server key: %s", err ? why : "bad answer");
}

static void fetch_server_key(struct ev_loop *loop, const struct wm_coord_url *u,
			     uint8_t key[WM_KEY_LEN])
{
	char head[512];
	ssize_t n = wm_coord_http_request_head(head, sizeof(head), "GET", u, "/v1/key", NULL, NULL,
					       0);

	if (!wm_coord_conn_start(loop, u, NULL, head, (size_t)n, 4096, 10.0, on_key, key))
		die("%s", "cannot start a request");
	ev_run(loop, 0);
}

/* --- options ----------------------------------------------------------------------------- */

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "url", required_argument, NULL, 'u' },	{ "key-file", required_argument, NULL, 'k' },
		{ "authkey", required_argument, NULL, 'a' },	{ "hostname", required_argument, NULL, 'n' },
		{ "endpoint", required_argument, NULL, 'e' },	{ "home-relay", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },	{ "wait-peers", required_argument, NULL, 'p' },
		{ "wait-peer", required_argument, NULL, 'P' },	{ "wait-gone", required_argument, NULL, 'g' },
		{ "watch", no_argument, NULL, 'w' },		{ "kind", required_argument, NULL, 'K' },
		{ "ca-file", required_argument, NULL, 'c' },	{ "rotate", no_argument, NULL, 'R' },
		{ "logout", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->timeout = 10;
	o->wait_peers = -1;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'u': o->url = optarg; break;
		case 'k': o->key_file = optarg; break;
		case 'a': o->authkey = optarg; break;
		case 'n': o->hostname = optarg; break;
		case 'r': o->home_relay = atoi(optarg); break;
		case 't': o->timeout = atof(optarg); break;
		case 'p': o->wait_peers = atoi(optarg); break;
		case 'P': o->wait_peer = optarg; break;
		case 'g': o->wait_gone = optarg; break;
		case 'w': o->watch = true; break;
		case 'K': o->kind = optarg; break;
		case 'c': o->ca_file = optarg; break;
		case 'R': o->rotate = true; break;
		case 'L': o->logout = true; break;
		case 'e':
			if (o->n_eps == WM_NETMAP_MAX_ENDPOINTS ||
			    wm_endpoint_parse(&o->eps[o->n_eps++], optarg))
				die("bad --endpoint %s", optarg);
			break;
		default: exit(2);
		}
	}
	if (!o->url || !o->key_file)
		die("%s", "--url and --key-file are required (see the comment at the top of test/coord_tool.c)");
}

int main(int argc, char **argv)
{
	struct tool t = { 0 };

	if (argc < 2 || sodium_init() < 0)
		die("%s", "usage: coord-tool poll|raw --url URL --key-file FILE …");
	parse(argc - 1, argv + 1, &t.o);
	t.loop = ev_default_loop(0);
	if (!strcmp(argv[1], "poll"))
		return run_poll(&t);
	if (!strcmp(argv[1], "raw")) {
		if (!t.o.kind)
			die("%s", "raw needs --kind");
		return run_raw(t.loop, &t.o);
	}
	die("unknown mode '%s' (poll or raw)", argv[1]);
	return 2;
}
