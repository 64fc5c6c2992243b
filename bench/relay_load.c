/* SPDX-License-Identifier: MIT */
/*
 * relay_load: many DERP clients (the real client library, one loop) against a wiremesh-relay,
 * bounded in time. Client i exchanges packets with client i^1, each keeping a few packets in
 * flight. Reports connect time, packets/s through the relay and the relay's memory.
 *
 *   relay_load [--clients N] [--seconds T] [--size BYTES] [--window W]
 *              [--relay PATH | --url URL --relay-pid PID]
 *
 * Without --url it starts PATH (default build/wiremesh-relay) with --plain on a free loopback
 * port, and stops it at the end.
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"
#include "relay-client/derp_client.h"

struct node {
	struct wm_derp_client *c;
	uint8_t pub[32];
	struct node *peer;
	uint64_t sent, recv, written_off;
	ev_tstamp last_progress;
	bool connected;
};

static struct {
	unsigned clients, size, window;
	double seconds;
	const char *relay, *url;
	pid_t relay_pid;
} opt = { .clients = 1000, .size = 1200, .window = 4, .seconds = 10,
	  .relay = "build/wiremesh-relay" };

static struct ev_loop *loop;
static struct node *nodes;
static unsigned connected;
static bool measuring;
static uint64_t delivered;
static uint8_t payload[65536];

static void top_up(struct node *n)
{
	if (!measuring || !n->connected || !n->peer->connected)
		return;
	while (n->sent - n->peer->recv - n->written_off < opt.window) {
		wm_derp_client_send(n->c, n->peer->pub, payload, opt.size);
		n->sent++;
	}
}

static void on_packet(void *ctx, const uint8_t src[32], const uint8_t *data, size_t len)
{
	struct node *n = ctx;

	(void)src;
	(void)data;
	(void)len;
	n->recv++;
	n->last_progress = ev_now(loop);
	if (measuring)
		delivered++;
	top_up(n->peer);
}

static void on_state(void *ctx, enum wm_derp_client_state state, const char *why)
{
	struct node *n = ctx;
	bool now = state == WM_DERP_CONNECTED;

	(void)why;
	if (now != n->connected)
		connected += now ? 1 : (unsigned)-1;
	n->connected = now;
	n->last_progress = ev_now(loop);
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (!measuring && connected == opt.clients)
		ev_break(l, EVBREAK_ONE);
	for (unsigned i = 0; measuring && i < opt.clients; i++) {
		struct node *n = &nodes[i];

		/* Packets dropped on the way never arrive: stop waiting for them after a second. */
		if (ev_now(l) - n->peer->last_progress > 1.0 &&
		    n->sent > n->peer->recv + n->written_off) {
			n->written_off = n->sent - n->peer->recv;
			n->peer->last_progress = ev_now(l);
		}
		top_up(n);
	}
}

static void on_deadline(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ONE);
}

static pid_t spawn_relay(char *url, size_t len)
{
	char max[16], line[512];
	int pipefd[2];
	unsigned port;
	FILE *f;
	pid_t pid;

	snprintf(max, sizeof(max), "%u", opt.clients + 64);
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(opt.relay, opt.relay, "--plain", "--listen", "127.0.0.1:0", "--stun", "off",
		      "--max-clients", max, (char *)NULL);
		perror("relay_load: exec");
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	if (pid < 0 || !f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "wiremesh-relay: serving HTTP on 127.0.0.1:%u", &port) != 1) {
		fprintf(stderr, "relay_load: %s did not start\n", opt.relay);
		if (pid > 0)
			kill(pid, SIGKILL);
		return -1;
	}
	fclose(f);
	snprintf(url, len, "http://127.0.0.1:%u/derp", port);
	return pid;
}

/* VmRSS and VmHWM of a process, in KiB. */
static void memory(pid_t pid, long *rss, long *peak)
{
	char path[64], line[256];
	FILE *f;

	*rss = *peak = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", peak);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "clients", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' }, { "window", required_argument, NULL, 'w' },
		{ "relay", required_argument, NULL, 'r' }, { "url", required_argument, NULL, 'u' },
		{ "relay-pid", required_argument, NULL, 'p' }, { NULL, 0, NULL, 0 },
	};
	char url[128];
	struct rlimit rl;
	ev_timer tick, deadline;
	ev_tstamp t0, t_conn, t_end;
	uint64_t drops = 0, failures = 0;
	long rss, peak, own_rss, own_peak;
	bool spawned = false;
	int o, status;

	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (o) {
		case 'c': opt.clients = (unsigned)strtoul(optarg, NULL, 10) & ~1u; break;
		case 't': opt.seconds = atof(optarg); break;
		case 's': opt.size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': opt.window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': opt.relay = optarg; break;
		case 'u': opt.url = optarg; break;
		case 'p': opt.relay_pid = (pid_t)atoi(optarg); break;
		default: return 2;
		}
	}
	if (opt.clients < 2 || opt.size > sizeof(payload) || !opt.window || opt.seconds <= 0) {
		fprintf(stderr, "relay_load: bad arguments (see bench/relay_load.c)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	wm_log_init(WM_LOG_SILENT, "load");
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (opt.url) {
		snprintf(url, sizeof(url), "%s", opt.url);
	} else {
		opt.relay_pid = spawn_relay(url, sizeof(url));
		if (opt.relay_pid < 0)
			return 1;
		spawned = true;
	}

	loop = ev_default_loop(0);
	nodes = calloc(opt.clients, sizeof(*nodes));
	t0 = ev_time();
	for (unsigned i = 0; i < opt.clients; i++) {
		struct wm_derp_client_config cfg = {
			.url = url, .on_packet = on_packet, .on_state = on_state, .ctx = &nodes[i],
			.queue_bytes = 64 << 10, .queue_frames = 256,
		};
		int err;

		randombytes_buf(cfg.node_private_key, 32);
		crypto_scalarmult_base(nodes[i].pub, cfg.node_private_key);
		nodes[i].peer = &nodes[i ^ 1];
		nodes[i].c = wm_derp_client_create(loop, &cfg, &err);
		if (!nodes[i].c) {
			fprintf(stderr, "relay_load: client %u: %s\n", i, strerror(-err));
			return 1;
		}
	}
	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	ev_timer_init(&deadline, on_deadline, 30, 0);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	t_conn = ev_time();
	ev_timer_stop(loop, &deadline);
	if (connected != opt.clients)
		fprintf(stderr, "relay_load: only %u of %u clients connected in 30 s\n", connected,
			opt.clients);

	measuring = true;
	for (unsigned i = 0; i < opt.clients; i++)
		top_up(&nodes[i]);
	ev_timer_set(&deadline, opt.seconds, 0);
	ev_timer_start(loop, &deadline);
	ev_run(loop, 0);
	t_end = ev_time();
	measuring = false;

	memory(opt.relay_pid, &rss, &peak);
	memory(getpid(), &own_rss, &own_peak);
	for (unsigned i = 0; i < opt.clients; i++) {
		struct wm_derp_client_stats st;

		wm_derp_client_stats(nodes[i].c, &st);
		drops += st.drops;
		failures += st.failures;
	}
	printf("relay_load: %u clients (%u pairs) connected in %.0f ms; %u still connected\n",
	       opt.clients, opt.clients / 2, (t_conn - t0) * 1000, connected);
	printf("relay_load: %.1f s: %llu packets of %u bytes delivered = %.0f packets/s "
	       "(%.1f MB/s); client queue drops %llu, connection failures %llu\n",
	       t_end - t_conn, (unsigned long long)delivered, opt.size,
	       delivered / (t_end - t_conn), delivered * (double)opt.size / (t_end - t_conn) / 1e6,
	       (unsigned long long)drops, (unsigned long long)failures);
	printf("relay_load: relay RSS %.1f MiB (peak %.1f MiB) = %.1f KiB per client; "
	       "this tool %.1f MiB\n", rss / 1024.0, peak / 1024.0,
	       opt.clients ? (double)rss / opt.clients : 0, own_rss / 1024.0);

	for (unsigned i = 0; i < opt.clients; i++)
		wm_derp_client_destroy(nodes[i].c);
	free(nodes);
	if (spawned) {
		kill(opt.relay_pid, SIGTERM);
		waitpid(opt.relay_pid, &status, 0);
	}
	return connected == opt.clients && delivered > 0 ? 0 : 1;
}
