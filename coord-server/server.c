/* SPDX-License-Identifier: MIT */
#include "coord-server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/tcp_listener.h"
#include "common/tls_stream.h"

#define ACCEPT_BATCH 64
#define LISTEN_BACKLOG 4096
#define BUSY_TIMEOUT_MS 2000	/* the loop waits at most this long for an admin's write */

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents);

/* Schedules the fan-out to held polls within delay seconds (keeps an earlier one). */
static void wake(struct wm_coord_server *srv, double delay)
{
	ev_tstamp at = ev_now(srv->loop) + delay;

	if (srv->wake_pending && srv->wake_at <= at)
		return;
	srv->wake_pending = true;
	srv->wake_at = at;
	ev_timer_stop(srv->loop, &srv->wake_timer);
	ev_timer_set(&srv->wake_timer, delay, 0);
	ev_timer_start(srv->loop, &srv->wake_timer);
}

static void api_wake(void *ctx, double delay)
{
	wake(ctx, delay);
}

/* A connection went away: the accept watcher may resume. */
static void conn_gone(void *ctx)
{
	struct wm_coord_server *srv = ctx;

	if (srv->accept_paused && srv->conns.count < WM_COORD_MAX_CONNS) {
		srv->accept_paused = false;
		ev_io_start(srv->loop, &srv->accept_io);
	}
}

/* Answers every held poll whose node lacks the current netmap. */
static void fan_out(struct wm_coord_server *srv)
{
	struct wm_coord_sconn *c, *next;
	int64_t *ids = NULL;
	size_t n = 0;
	double t0 = ev_time();

	if (wm_coord_cache_rebuild(&srv->api.cache, srv->api.store, wm_coord_api_now(),
				   ev_now(srv->loop))) {
		wm_log_error("coord: netmap: %s", wm_store_error(srv->api.store));
		wake(srv, 1.0);
		return;
	}
	if (srv->conns.held)
		ids = malloc(srv->conns.held * sizeof(*ids));
	for (c = srv->conns.list; c; c = next) {
		long long id;

		next = c->next;
		if (c->state != WM_SCONN_HELD || c->have_version == srv->api.cache.version)
			continue;
		id = wm_coord_api_answer_held(&srv->api, c);
		if (id && ids)
			ids[n++] = id;
	}
	/* Answered nodes poll again at once; until then they count as present. */
	wm_store_nodes_touch(srv->api.store, ids, n, wm_coord_api_now());
	free(ids);
	wm_coord_metrics_fanout(&srv->metrics, ev_time() - t0);
	wm_log_debug("coord: netmap %llu to %zu held polls in %.1f ms",
		     (unsigned long long)srv->api.cache.version, n, (ev_time() - t0) * 1e3);
}

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_server *srv = w->data;

	(void)loop;
	(void)revents;
	srv->wake_pending = false;
	fan_out(srv);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Presence: who went offline, which ephemeral nodes are gone, which keys expired. */
static void sweep(struct wm_coord_server *srv)
{
	int64_t now = wm_coord_api_now(), *held = NULL;
	size_t n = 0;
	int changes;

	if (srv->conns.held && (held = malloc(srv->conns.held * sizeof(*held)))) {
		for (struct wm_coord_sconn *c = srv->conns.list; c; c = c->next)
			if (c->state == WM_SCONN_HELD && n < srv->conns.held)
				held[n++] = c->node_id;
		qsort(held, n, sizeof(*held), cmp_id);
	}
	changes = wm_store_sweep(srv->api.store, held, n, now, srv->last_sweep,
				 WM_COORD_ONLINE_GRACE_S, WM_COORD_EPHEMERAL_AFTER_S);
	free(held);
	srv->last_sweep = now;
	if (changes < 0)
		wm_log_error("coord: sweep: %s", wm_store_error(srv->api.store));
	else if (changes > 0)
		wake(srv, WM_COORD_WAKE_URGENT_S);
}

static void on_watch(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_server *srv = w->data;

	(void)loop;
	(void)revents;
	/* Another process (the admin commands) committed: its change may be in netmaps. */
	if (wm_store_changed(srv->api.store))
		wake(srv, WM_COORD_WAKE_URGENT_S);
	if (++srv->ticks % WM_COORD_SWEEP_EVERY == 0)
		sweep(srv);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_coord_server *srv = w->data;

	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct wm_endpoint peer = { 0 };
		socklen_t len = sizeof(peer.addr);
		char text[WM_ENDPOINT_STR_LEN];
		int fd;

		if (srv->conns.count >= WM_COORD_MAX_CONNS) {
			/* Leave the rest in the kernel's backlog until a connection ends. */
			srv->accept_paused = true;
			ev_io_stop(loop, w);
			return;
		}
		fd = accept4(srv->listen_fd, &peer.addr.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				wm_log_error("coord: accept: %s", strerror(errno));
			return;
		}
		wm_endpoint_format(&peer, text);
		wm_coord_sconn_accept(&srv->conns, fd, text);
	}
}

/* --- the connections' ops: requests go to the endpoints -------------------------------- */

static struct wm_coord_server *server_of(const struct wm_coord_sconn *c)
{
	return c->set->ctx;
}

static void on_request(struct wm_coord_sconn *c)
{
	wm_coord_api_handle(&server_of(c)->api, c);
}

static void on_refuse(struct wm_coord_sconn *c, int status, const char *code, const char *msg)
{
	wm_coord_api_error(c, status, code, "%s", msg);
}

/* Presence: a node whose poll was held counts as there until it polls again. */
static void on_hold_expired(struct wm_coord_sconn *c)
{
	struct wm_coord_server *srv = server_of(c);
	int64_t id = wm_coord_api_answer_held(&srv->api, c);

	if (id)
		wm_store_nodes_touch(srv->api.store, &id, 1, wm_coord_api_now());
}

static void on_held_closed(struct wm_coord_sconn *c)
{
	wm_store_nodes_touch(server_of(c)->api.store, &c->node_id, 1, wm_coord_api_now());
}

static const struct wm_coord_sconn_ops conn_ops = {
	.request = on_request,
	.refuse = on_refuse,
	.hold_expired = on_hold_expired,
	.held_closed = on_held_closed,
	.gone = conn_gone,
};

/* --- serve ------------------------------------------------------------------------------ */

/* Enough descriptors for every connection the limits allow. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < WM_COORD_MAX_CONNS + 64) {
		rl.rlim_cur = rl.rlim_max < WM_COORD_MAX_CONNS + 64 ? rl.rlim_max
								       : WM_COORD_MAX_CONNS + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void usage_serve(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord serve --db PATH [--listen ADDR:PORT] (--cert FILE --key FILE | --plain)\n"
		"\n"
		"Runs the coordination server on one event loop, with its state in the SQLite\n"
		"database PATH (created, mode 0600, if missing).\n"
		"\n"
		"  --db PATH           the database (shared with the admin commands)\n"
		"  --listen ADDR:PORT  where to accept connections (default :443 with TLS, :8080 plain;\n"
		"                      port 0 picks a free one; the chosen address is printed)\n"
		"  --cert FILE         PEM certificate chain for HTTPS\n"
		"  --key FILE          PEM private key for HTTPS\n"
		"  --plain             plain HTTP, for loopback and tests\n"
		"  --metrics-listen ADDR:PORT\n"
		"                      serve Prometheus metrics at /metrics (and /healthz) there,\n"
		"                      plain HTTP; keep it on loopback or an admin network\n"
		"  -v, --verbose       log every refused request (twice: debug)\n"
		"  -h, --help          this help\n");
}

struct serve_opts {
	const char *db, *listen, *cert, *key, *metrics_listen;
	bool plain;
	int verbose;
};

static int parse_serve(int argc, char **argv, struct serve_opts *o)
{
	static const struct option longs[] = {
		{ "db", required_argument, NULL, 'd' },	 { "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
		{ "plain", no_argument, NULL, 'p' },	 { "verbose", no_argument, NULL, 'v' },
		{ "metrics-listen", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },	 { NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "vh", longs, NULL)) != -1) {
		switch (ch) {
		case 'd': o->db = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'p': o->plain = true; break;
		case 'm': o->metrics_listen = optarg; break;
		case 'v': o->verbose++; break;
		case 'h': usage_serve(stdout); exit(0);
		default: goto usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wiremesh-coord serve: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	if (!o->db) {
		fprintf(stderr, "wiremesh-coord serve: --db PATH is required\n");
		goto usage;
	}
	if (o->plain == (o->cert || o->key) || (!o->plain && !(o->cert && o->key))) {
		fprintf(stderr, "wiremesh-coord serve: give --cert and --key for HTTPS, or --plain\n");
		goto usage;
	}
	if (!o->listen)
		o->listen = o->plain ? ":8080" : ":443";
	return 0;
usage:
	fprintf(stderr, "Try 'wiremesh-coord serve --help'.\n");
	return 2;
}

static int setup(struct wm_coord_server *srv, const struct serve_opts *o)
{
	char err[256];

	if (wm_store_open(&srv->api.store, o->db, BUSY_TIMEOUT_MS, err, sizeof(err)) ||
	    wm_store_server_key(srv->api.store, srv->api.priv, srv->api.pub)) {
		fprintf(stderr, "wiremesh-coord: %s\n", srv->api.store ? wm_store_error(srv->api.store) : err);
		return 1;
	}
	wm_store_set_auto_approver(srv->api.store, wm_coord_api_auto_approves, &srv->api);
	if (!o->plain && !(srv->tls = wm_tls_server_config_new(o->cert, o->key, err, sizeof(err)))) {
		fprintf(stderr, "wiremesh-coord: %s\n", err);
		return 1;
	}
	srv->conns.tls = srv->tls;
	srv->listen_fd = wm_tcp_listen(o->listen, LISTEN_BACKLOG, err, sizeof(err));
	if (srv->listen_fd < 0) {
		fprintf(stderr, "wiremesh-coord: --listen: %s\n", err);
		return 1;
	}
	if (wm_coord_replay_init(&srv->api.replay, 0, wm_coord_api_real_now()) ||
	    wm_coord_ratelimit_init(&srv->api.rl, 0, 0, 0)) {
		fprintf(stderr, "wiremesh-coord: out of memory\n");
		return 1;
	}
	srv->last_sweep = wm_coord_api_now();
	if (o->metrics_listen && wm_coord_metrics_start(&srv->metrics, srv->loop, o->metrics_listen,
							err, sizeof(err)) < 0) {
		fprintf(stderr, "wiremesh-coord: --metrics-listen: %s\n", err);
		return 1;
	}
	return 0;
}

static void announce(const struct wm_coord_server *srv, const struct serve_opts *o)
{
	struct wm_endpoint ep = { 0 };
	socklen_t len = sizeof(ep.addr);
	char addr[WM_ENDPOINT_STR_LEN], hex[WM_KEY_HEX_LEN];

	getsockname(srv->listen_fd, &ep.addr.sa, &len);
	wm_endpoint_format(&ep, addr);
	wm_key_to_hex(hex, srv->api.pub);
	printf("wiremesh-coord: listening on %s (%s), database %s\n"
	       "wiremesh-coord: server key %s (nodes may pin it: %s://HOST:PORT/?key=%s)\n",
	       addr, o->plain ? "plain HTTP" : "HTTPS", o->db, hex, o->plain ? "http" : "https", hex);
	fflush(stdout);
}

static void teardown(struct wm_coord_server *srv)
{
	wm_coord_metrics_stop(&srv->metrics);
	while (srv->conns.list)
		wm_coord_sconn_close(srv->conns.list);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	wm_coord_cache_free(&srv->api.cache);
	wm_coord_replay_free(&srv->api.replay);
	wm_coord_ratelimit_free(&srv->api.rl);
	wm_tls_config_free(srv->tls);
	wm_store_close(srv->api.store);
	sodium_memzero(srv->api.priv, sizeof(srv->api.priv));
}

int wm_coord_serve_main(int argc, char **argv)
{
	struct wm_coord_server srv = { .listen_fd = -1 };
	struct serve_opts o = { 0 };
	ev_signal sigint, sigterm;
	int ret = parse_serve(argc, argv, &o);

	if (ret)
		return ret;
	wm_log_init(o.verbose >= 2 ? WM_LOG_DEBUG : o.verbose ? WM_LOG_VERBOSE : WM_LOG_ERROR,
		    "coord");
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	srv.loop = ev_default_loop(EVFLAG_AUTO);
	srv.conns = (struct wm_coord_sconns){ .loop = srv.loop, .ops = &conn_ops, .ctx = &srv };
	srv.api.loop = srv.loop;
	srv.api.conns = &srv.conns;
	srv.api.wake = api_wake;
	srv.api.ctx = &srv;
	wm_coord_metrics_init(&srv.metrics, &srv.api, &srv.conns, ev_time());
	if (!srv.loop || setup(&srv, &o)) {
		teardown(&srv);
		return 1;
	}
	ev_io_init(&srv.accept_io, on_accept, srv.listen_fd, EV_READ);
	srv.accept_io.data = &srv;
	ev_io_start(srv.loop, &srv.accept_io);
	ev_init(&srv.wake_timer, on_wake);
	srv.wake_timer.data = &srv;
	ev_timer_init(&srv.watch_timer, on_watch, WM_COORD_WATCH_S, WM_COORD_WATCH_S);
	srv.watch_timer.data = &srv;
	ev_timer_start(srv.loop, &srv.watch_timer);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_start(srv.loop, &sigint);
	ev_signal_start(srv.loop, &sigterm);
	announce(&srv, &o);
	ev_run(srv.loop, 0);
	teardown(&srv);
	return 0;
}
