/* SPDX-License-Identifier: MIT */
/*
 * coord_load: N simulated nodes against a real wiremesh-coord on loopback.
 *
 *   build/bench/coord_load [--nodes N] [--coord PATH] [--timeout S]
 *
 * Starts `wiremesh-coord serve --plain` on 127.0.0.1 with a fresh database, registers N nodes
 * with one reusable auth key, has every node hold a long poll, then lets node 0 report a new
 * endpoint and measures how long until every other node's held poll has returned a netmap that
 * carries it. Prints the fan-out time and the server's memory (VmRSS, VmHWM). Bounded: gives
 * up after --timeout seconds (default 60). Exit 0 when every node saw the change.
 */
#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coord-client/coord_conn.h"
#include "coord-client/coord_msg.h"
#include "coord-client/coord_seal.h"

#define IN_FLIGHT 64			/* registrations at once */
#define QUIET_S 1.0			/* no answers this long: the mesh has settled */
#define SETTLE_MIN_S 5.5		/* past the server's lazy online wake (5 s) */
#define CHANGED_EP "198.51.100.7:41641"

enum phase { P_REGISTER, P_SETTLE, P_CHANGE, P_DONE };

struct node {
	struct bench *b;
	int idx;
	uint8_t priv[32], pub[32];
	struct wm_coord_box box;
	struct wm_coord_conn *conn;
	uint64_t version;
	bool registered, full, saw_change;
	double saw_at;
};

struct bench {
	struct ev_loop *loop;
	struct wm_coord_url url;
	uint8_t server_key[32];
	struct node *nodes;
	int n, next_register, registered, full, saw;
	enum phase phase;
	double t_polls, last_answer, t_change, deadline;
	ev_timer tick;
	pid_t server;
	char dir[64], authkey[64];
	bool failed;
};

static void poll_node(struct node *nd, bool with_change);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(struct bench *b, const char *what, const char *why)
{
	fprintf(stderr, "coord_load: %s: %s\n", what, why);
	b->failed = true;
	ev_break(b->loop, EVBREAK_ALL);
}

static bool send_sealed(struct node *nd, const char *path, struct wm_coord_request *req,
			wm_coord_conn_cb cb, double timeout)
{
	char head[1024], *json;
	uint8_t *buf;
	size_t len;
	ssize_t h, n;

	req->ts = (int64_t)time(NULL);
	randombytes_buf(req->id, sizeof(req->id));
	json = wm_coord_request_encode(req);
	len = strlen(json);
	h = wm_coord_http_request_head(head, sizeof(head), "POST", &nd->b->url, path, nd->pub,
				       WM_COORD_SEALED_TYPE, len + WM_COORD_SEAL_OVERHEAD);
	buf = malloc((size_t)h + len + WM_COORD_SEAL_OVERHEAD);
	memcpy(buf, head, (size_t)h);
	n = wm_coord_seal(&nd->box, buf + h, len + WM_COORD_SEAL_OVERHEAD, json, len);
	nd->conn = wm_coord_conn_start(nd->b->loop, &nd->b->url, NULL, buf, (size_t)(h + n),
				       WM_COORD_RESPONSE_MAX + 64, timeout, cb, nd);
	free(buf);
	free(json);
	return nd->conn != NULL;
}

/* --- register ------------------------------------------------------------------------------ */

static void register_next(struct bench *b);

static void on_registered(void *ctx, int err, const struct wm_coord_http_msg *resp,
			  const char *why)
{
	struct node *nd = ctx;
	struct bench *b = nd->b;

	nd->conn = NULL;
	if (err || resp->http.status != 200) {
		fail(b, "register", err ? why : (const char *)resp->http.body);
		return;
	}
	nd->registered = true;
	b->registered++;
	register_next(b);
	if (b->registered == b->n) {
		b->phase = P_SETTLE;
		b->t_polls = b->last_answer = now_s();
		for (int i = 0; i < b->n; i++)
			poll_node(&b->nodes[i], false);
	}
}

static void register_next(struct bench *b)
{
	while (b->next_register < b->n && b->next_register - b->registered < IN_FLIGHT) {
		struct node *nd = &b->nodes[b->next_register++];
		struct wm_coord_request req = { .type = WM_COORD_REGISTER };

		snprintf(req.u.reg.auth_key, sizeof(req.u.reg.auth_key), "%s", b->authkey);
		randombytes_buf(req.u.reg.disco_key, 32);
		snprintf(req.u.reg.hostname, sizeof(req.u.reg.hostname), "load-%d", nd->idx);
		strcpy(req.u.reg.os, "linux");
		strcpy(req.u.reg.version, "coord_load");
		if (!send_sealed(nd, "/v1/register", &req, on_registered, 30)) {
			fail(b, "register", "cannot start a request");
			return;
		}
	}
}

/* --- polls --------------------------------------------------------------------------------- */

static size_t count(const uint8_t *p, size_t len, const char *what)
{
	size_t n = 0, wl = strlen(what);
	const uint8_t *end = p + len, *at;

	while ((at = memmem(p, (size_t)(end - p), what, wl))) {
		n++;
		p = at + wl;
	}
	return n;
}

/* Looks at an answer without parsing all of it: version, peer count, the changed endpoint. */
static void look(struct node *nd, const uint8_t *plain, size_t len)
{
	struct bench *b = nd->b;
	const char *v = memmem(plain, len < 200 ? len : 200, "\"version\":", 10);

	if (v)
		nd->version = strtoull(v + 10, NULL, 10);
	if (!nd->full && count(plain, len, "\"node_key\"") == (size_t)b->n - 1) {
		nd->full = true;
		b->full++;
	}
	if (b->phase == P_CHANGE && nd->idx != 0 && !nd->saw_change &&
	    memmem(plain, len, CHANGED_EP, strlen(CHANGED_EP))) {
		nd->saw_change = true;
		nd->saw_at = now_s() - b->t_change;
		if (++b->saw == b->n - 1) {
			b->phase = P_DONE;
			ev_break(b->loop, EVBREAK_ALL);
		}
	}
}

static void on_polled(void *ctx, int err, const struct wm_coord_http_msg *resp, const char *why)
{
	struct node *nd = ctx;
	struct bench *b = nd->b;
	uint8_t *plain;
	ssize_t n;

	nd->conn = NULL;
	if (err || resp->http.status != 200) {
		fail(b, "poll", err ? why : (const char *)resp->http.body);
		return;
	}
	b->last_answer = now_s();
	plain = malloc(resp->http.body_len);
	n = wm_coord_open(&nd->box, plain, resp->http.body_len, resp->http.body, resp->http.body_len);
	if (n < 0) {
		free(plain);
		fail(b, "poll", "answer does not open");
		return;
	}
	look(nd, plain, (size_t)n);
	free(plain);
	if (b->phase != P_DONE)
		poll_node(nd, false);
}

static void poll_node(struct node *nd, bool with_change)
{
	struct wm_coord_request req = { .type = WM_COORD_POLL };

	req.u.poll.version = nd->version;
	req.u.poll.wait = true;
	if (with_change || (nd->idx == 0 && nd->b->phase == P_CHANGE)) {
		wm_endpoint_parse(&req.u.poll.endpoints[0], CHANGED_EP);
		req.u.poll.n_endpoints = 1;
	}
	if (!send_sealed(nd, "/v1/poll", &req, on_polled, 75))
		fail(nd->b, "poll", "cannot start a request");
}

/* Once settled, node 0 moves: its held poll is dropped and a new one carries the endpoint. */
static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct bench *b = w->data;
	double t = now_s();

	(void)loop;
	(void)revents;
	if (t > b->deadline) {
		fail(b, "timeout", b->phase == P_CHANGE ? "not every node saw the change"
							 : "the mesh did not settle");
		return;
	}
	if (b->phase != P_SETTLE || b->full < b->n || t - b->last_answer < QUIET_S ||
	    t - b->t_polls < SETTLE_MIN_S)
		return;
	b->phase = P_CHANGE;
	printf("coord_load: %d nodes registered and holding polls (settled in %.1f s)\n", b->n,
	       t - b->t_polls);
	wm_coord_conn_cancel(b->nodes[0].conn);
	b->t_change = now_s();
	poll_node(&b->nodes[0], true);
}

/* --- the server ---------------------------------------------------------------------------- */

static int run_cmd(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");

	if (!p || !fgets(out, (int)cap, p)) {
		if (p)
			pclose(p);
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	return pclose(p);
}

static int start_server(struct bench *b, const char *coord)
{
	char db[96], line[512], cmd[512];
	int pipefd[2];
	FILE *f;
	unsigned port;

	snprintf(db, sizeof(db), "%s/coord.db", b->dir);
	snprintf(cmd, sizeof(cmd), "%s authkey create --reusable --db %s", coord, db);
	if (run_cmd(cmd, b->authkey, sizeof(b->authkey)))
		return -1;
	if (pipe(pipefd))
		return -1;
	b->server = fork();
	if (b->server == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(coord, coord, "serve", "--db", db, "--plain", "--listen", "127.0.0.1:0",
		      (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	if (b->server < 0 || !f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "wiremesh-coord: listening on 127.0.0.1:%u", &port) != 1)
		return -1;
	fclose(f);
	snprintf(cmd, sizeof(cmd), "http://127.0.0.1:%u", port);
	return wm_coord_url_parse(&b->url, cmd, NULL, 0);
}

static void server_memory(pid_t pid, long *rss_kb, long *hwm_kb)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	*rss_kb = *hwm_kb = -1;
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld kB", rss_kb);
		sscanf(line, "VmHWM: %ld kB", hwm_kb);
	}
	fclose(f);
}

static void on_key(void *ctx, int err, const struct wm_coord_http_msg *resp, const char *why)
{
	struct bench *b = ctx;

	if (err || resp->http.status != 200 ||
	    wm_coord_key_resp_parse(b->server_key, (const char *)resp->http.body, resp->http.body_len, NULL, 0))
		fail(b, "server key", err ? why : "bad answer");
	ev_break(b->loop, EVBREAK_ALL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(struct bench *b)
{
	double *lat = malloc((size_t)b->n * sizeof(*lat));
	long rss, hwm;
	int k = 0;

	for (int i = 1; i < b->n; i++)
		if (b->nodes[i].saw_change)
			lat[k++] = b->nodes[i].saw_at;
	qsort(lat, (size_t)k, sizeof(*lat), cmp_double);
	server_memory(b->server, &rss, &hwm);
	if (k)
		printf("coord_load: endpoint change reached %d/%d nodes: median %.0f ms, max %.0f ms\n",
		       k, b->n - 1, lat[k / 2] * 1e3, lat[k - 1] * 1e3);
	printf("coord_load: server memory: VmRSS %ld KiB, peak VmHWM %ld KiB\n", rss, hwm);
	free(lat);
}

static void raise_nofile(int n)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)(3 * n + 64)) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)(3 * n + 64) ? rl.rlim_max : (rlim_t)(3 * n + 64);
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct bench b = { .n = 500, .server = -1 };
	const char *coord = "build/wiremesh-coord";
	double timeout = 60;
	char head[256], cmd[128];
	int ret = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--nodes"))
			b.n = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--coord"))
			coord = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atof(argv[i + 1]);
	}
	if (b.n < 2 || b.n > 5000 || sodium_init() < 0) {
		fprintf(stderr, "usage: coord_load [--nodes 2..5000] [--coord PATH] [--timeout S]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(b.n);
	strcpy(b.dir, "/tmp/wm-coord-load-XXXXXX");
	if (!mkdtemp(b.dir) || start_server(&b, coord)) {
		fprintf(stderr, "coord_load: cannot start %s\n", coord);
		goto out;
	}
	b.loop = ev_default_loop(0);
	ssize_t n = wm_coord_http_request_head(head, sizeof(head), "GET", &b.url, "/v1/key", NULL,
					       NULL, 0);
	wm_coord_conn_start(b.loop, &b.url, NULL, head, (size_t)n, 4096, 10, on_key, &b);
	ev_run(b.loop, 0);
	if (b.failed)
		goto out;
	b.nodes = calloc((size_t)b.n, sizeof(*b.nodes));
	for (int i = 0; i < b.n; i++) {
		b.nodes[i].b = &b;
		b.nodes[i].idx = i;
		crypto_box_keypair(b.nodes[i].pub, b.nodes[i].priv);
		wm_coord_box_init(&b.nodes[i].box, b.server_key, b.nodes[i].priv);
	}
	b.deadline = now_s() + timeout;
	ev_timer_init(&b.tick, on_tick, 0.05, 0.05);
	b.tick.data = &b;
	ev_timer_start(b.loop, &b.tick);
	register_next(&b);
	ev_run(b.loop, 0);
	report(&b);
	ret = b.failed || b.phase != P_DONE;
out:
	for (int i = 0; b.nodes && i < b.n; i++)
		wm_coord_conn_cancel(b.nodes[i].conn);
	free(b.nodes);
	if (b.server > 0) {
		kill(b.server, SIGTERM);
		waitpid(b.server, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b.dir);
	if (system(cmd))
		ret = 1;
	return ret;
}
