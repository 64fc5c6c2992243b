/* SPDX-License-Identifier: MIT */
/*
 * wiremesh — a userspace WireGuard node.
 *
 *   wiremesh [-f|--foreground] [options] IFNAME
 *
 * The same contract as wireguard-go, so wg, wg setconf and wg-quick (with
 * WG_QUICK_USERSPACE_IMPLEMENTATION=wiremesh) drive it unchanged.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/tcp_listener.h"
#include "engine/aead.h"
#include "daemon/cli.h"
#include "daemon/node.h"
#include "daemon/node_metrics.h"
#include "daemon/startup.h"

#ifndef WM_VERSION
#define WM_VERSION "0.1.0"
#endif

static void print_usage(FILE *out)
{
	const char *prog = wm_cli_prog;

	fprintf(out,
		"Usage: %s [options] IFNAME\n"
		"       %s up --coord URL --authkey KEY [options]   (join a mesh; see %s up --help)\n"
		"       %s status | ip | ping | netcheck | wait | metrics | down\n"
		"                                    (a node in a mesh; each has --help)\n"
		"       %s rotate-key                    (a new node key, same node)\n"
		"\n"
		"A userspace WireGuard implementation: creates the TUN interface IFNAME and serves\n"
		"its configuration socket %s/IFNAME.sock, so that `wg` configures it\n"
		"and `wg-quick` brings it up with WG_QUICK_USERSPACE_IMPLEMENTATION=%s.\n"
		"\n"
		"Options:\n"
		WM_STARTUP_OPTIONS_HELP
		"      --relay REGION=URL\n"
		"                         a DERP relay (http:// or https://…/derp) for region\n"
		"                         REGION; a peer whose endpoint is 127.3.3.40:REGION is\n"
		"                         reached through it\n"
		"      --metrics-listen ADDR:PORT\n"
		"                         serve Prometheus metrics at /metrics (and /healthz)\n"
		"                         over plain HTTP, e.g. 127.0.0.1:9101\n"
		"  -h, --help             show this help\n"
		"  -v, --version          show the version\n"
		"\n"
		"Environment:\n"
		"  LOG_LEVEL=debug|verbose|error|silent   what to log, on stderr (default: errors only; a\n"
		"                                         detached daemon without LOG_LEVEL logs them to\n"
		"                                         syslog and lets go of the caller's output)\n"
		"  WG_PROCESS_FOREGROUND=1                same as --foreground\n"
		"  WG_TUN_FD=N                            use this already-open TUN descriptor\n"
		"  WG_UAPI_FD=N                           use this already-listening UAPI socket\n"
		"  NOTIFY_SOCKET=PATH                     tell systemd (Type=notify) READY=1 once the\n"
		"                                         interface and its socket exist\n"
		"\n"
		"Example:\n"
		"  %s wg0 && wg setconf wg0 wg0.conf && ip addr add 10.0.0.1/24 dev wg0 && ip link set wg0 up\n"
		"Without root: setcap cap_net_admin+ep %s, or attach to a persistent TUN made with\n"
		"  ip tuntap add IFNAME mode tun user USER (see the README).\n",
		prog, prog, prog, prog, prog, WM_UAPI_SOCKET_DIR, prog, prog, prog);
}

static void print_version(void)
{
	printf("wiremesh %s (userspace WireGuard; data path AEAD: %s; handshake: libsodium %s, BLAKE2s from libb2)\n",
	       WM_VERSION, wm_aead_implementation(), sodium_version_string());
}

static int env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long fd;

	if (!v || !*v)
		return -1;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno || *end || fd < 0 || fd > 65535)
		return -2;
	return (int)fd;
}

static bool valid_ifname(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len < WM_TUN_NAME_LEN && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..") && name[0] != '-';
}

enum { OPT_RELAY = 0x2200, OPT_METRICS_LISTEN };

/* --metrics-listen of `wiremesh IFNAME` (daemon/node_metrics.h): served once the node runs. */
struct plain {
	struct wm_startup *s;
	const char *metrics_listen;
	struct wm_node_metrics metrics;
};

static int plain_start(void *ctx, struct wm_node *node, char *err, size_t errlen)
{
	struct plain *pl = ctx;
	char why[160];
	int r;

	pl->metrics.node = node;
	pl->metrics.start_time = wm_node_metrics_now();
	r = wm_metrics_server_start(&pl->metrics.listener, node->loop, pl->metrics_listen,
				    wm_node_metrics_page, &pl->metrics, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "%s: --metrics-listen: %s", pl->s->prog, why);
		return r;
	}
	wm_startup_ready(pl->s, NULL);
	return 0;
}

static void plain_stop(void *ctx)
{
	struct plain *pl = ctx;

	if (pl->metrics.node)
		wm_metrics_server_stop(&pl->metrics.listener);
}

/* `wiremesh IFNAME`'s own options; 0, or 2 once it said what is wrong. */
static int ifname_option(struct wm_startup *s, struct plain *pl, int opt, const char *arg)
{
	struct wm_endpoint ep;
	int err;

	if (opt == OPT_METRICS_LISTEN) {
		if (wm_listen_addr_parse(&ep, arg)) {
			fprintf(stderr, "%s: --metrics-listen takes ADDR:PORT, [V6ADDR]:PORT or :PORT "
				"(got '%.80s')\n", s->prog, arg);
			return 2;
		}
		pl->metrics_listen = arg;
		return 0;
	}
	if (opt != OPT_RELAY)
		return 2;	/* '?': wm_cli_getopt said why */
	if ((err = wm_relays_add(&s->node.relays, arg)) < 0) {
		fprintf(stderr, "%s: --relay %s: %s\n", s->prog, arg,
			err == -EEXIST ? "that region is given twice" :
			err == -ENOSPC ? "too many relays" :
			"expected REGION=URL, e.g. 1=https://relay.example.com/derp");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		WM_STARTUP_LONG_OPTIONS,
		{ "relay", required_argument, NULL, OPT_RELAY },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct wm_startup_mode plain_mode = { .start = plain_start,
							     .stop = plain_stop };
	struct wm_startup s;
	struct plain pl = { .s = &s };
	const char *prog;
	int opt, r;

	if (argc > 1 && wm_cli_is_command(argv[1]))
		return wm_cli_main(argc, argv);
	prog = wm_cli_prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	wm_startup_init(&s, prog, NULL);
	while ((opt = wm_cli_getopt(NULL, argc, argv, WM_STARTUP_SHORT_OPTIONS "hv", longs,
				    print_usage)) != -1) {
		if (opt == 'h') {
			print_usage(stdout);
			return 0;
		}
		if (opt == 'v') {
			print_version();
			return 0;
		}
		if ((r = wm_startup_option(&s, opt, optarg)) < 0)
			return 2;
		if (!r && ifname_option(&s, &pl, opt, optarg))
			return 2;
	}
	if (optind >= argc) {
		print_usage(stderr);
		return 2;
	}
	if (argc - optind > 1) {
		fprintf(stderr, "%s: one interface name only (got '%s' and '%s')\n", prog,
			argv[optind], argv[optind + 1]);
		return 2;
	}
	s.node.ifname = argv[optind];
	if (!valid_ifname(s.node.ifname)) {
		fprintf(stderr, "%s: '%s' is not a valid interface name (1-%d characters, no '/')\n",
			prog, s.node.ifname, WM_TUN_NAME_LEN - 1);
		return 2;
	}
	s.node.tun_fd = env_fd("WG_TUN_FD");
	s.node.uapi_fd = env_fd("WG_UAPI_FD");
	if (s.node.tun_fd == -2 || s.node.uapi_fd == -2) {
		fprintf(stderr, "%s: WG_TUN_FD and WG_UAPI_FD must be file descriptor numbers\n",
			prog);
		return 2;
	}
	if ((r = wm_startup_environment(&s)))
		return r;
	return wm_startup_run(&s, pl.metrics_listen ? &plain_mode : NULL, &pl);
}
