/* SPDX-License-Identifier: MIT */
/*
 * wiremesh — a userspace WireGuard node.
 *
 *   wiremesh [-f|--foreground] IFNAME
 *
 * The same contract as wireguard-go, so wg, wg setconf and wg-quick (with
 * WG_QUICK_USERSPACE_IMPLEMENTATION=wiremesh) drive it unchanged.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/log.h"
#include "engine/aead.h"
#include "daemon/cli.h"
#include "daemon/node.h"
#include "daemon/startup.h"

#ifndef WM_VERSION
#define WM_VERSION "0.1.0"
#endif

static void print_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [-f|--foreground] IFNAME\n"
		"       %s up --coord URL --authkey KEY [options]   (join a mesh; see %s up --help)\n"
		"       %s status | ip | ping | netcheck | down      (a node in a mesh; each has --help)\n"
		"\n"
		"A userspace WireGuard implementation: creates the TUN interface IFNAME and serves\n"
		"its configuration socket %s/IFNAME.sock, so that `wg` configures it\n"
		"and `wg-quick` brings it up with WG_QUICK_USERSPACE_IMPLEMENTATION=%s.\n"
		"\n"
		"Options:\n"
		"  -f, --foreground  stay in the foreground (default: detach once the interface is up)\n"
		"  -t, --threads N   cores to use for encryption (default: all online cores)\n"
		"      --no-offload  no TUN/UDP segmentation offloads (GSO/GRO)\n"
		"      --relay REGION=URL  a DERP relay (http:// or https://…/derp) for region REGION;\n"
		"                    a peer whose endpoint is 127.3.3.40:REGION is reached through it\n"
		"      --relay-ca FILE  trust this CA (or self-signed certificate) for https relays\n"
		"  -h, --help        show this help\n"
		"  -v, --version     show the version\n"
		"\n"
		"Environment:\n"
		"  LOG_LEVEL=debug|verbose|error|silent   what to log, on stderr (default: errors only; a\n"
		"                                         detached daemon without LOG_LEVEL logs them to\n"
		"                                         syslog and lets go of the caller's output)\n"
		"  WG_PROCESS_FOREGROUND=1                same as --foreground\n"
		"  WG_TUN_FD=N                            use this already-open TUN descriptor\n"
		"  WG_UAPI_FD=N                           use this already-listening UAPI socket\n"
		"\n"
		"Example:\n"
		"  %s wg0 && wg setconf wg0 wg0.conf && ip addr add 10.0.0.1/24 dev wg0 && ip link set wg0 up\n"
		"Without root: setcap cap_net_admin+ep %s, or attach to a persistent TUN made with\n"
		"  ip tuntap add IFNAME mode tun user USER (see the README).\n",
		prog, prog, prog, prog, WM_UAPI_SOCKET_DIR, prog, prog, prog);
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

int main(int argc, char **argv)
{
	struct wm_node_options opt = { .tun_fd = -1, .uapi_fd = -1 };
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *level_text = getenv("LOG_LEVEL"), *fg = getenv("WG_PROCESS_FOREGROUND");
	bool foreground = fg && !strcmp(fg, "1");
	struct wm_node node;
	struct ev_loop *loop;
	const char *what = "start";
	int i, err, level = WM_LOG_ERROR, ready_fd = -1;

	if (argc > 1 && wm_cli_is_command(argv[1]))
		return wm_cli_main(argc, argv);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			foreground = true;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
			char *end;
			long t;

			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a number of threads\n", prog, a);
				return 2;
			}
			t = strtol(argv[++i], &end, 10);
			if (*end || t < 1 || t > 256) {
				fprintf(stderr, "%s: --threads takes a number from 1 to 256 (got '%s')\n", prog, argv[i]);
				return 2;
			}
			opt.threads = (unsigned)t;
		} else if (!strcmp(a, "--relay") || !strcmp(a, "--relay-ca")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a value\n", prog, a);
				return 2;
			}
			if (!strcmp(a, "--relay-ca")) {
				if (strlen(argv[++i]) >= sizeof(opt.relays.ca_file)) {
					fprintf(stderr, "%s: --relay-ca path too long\n", prog);
					return 2;
				}
				strcpy(opt.relays.ca_file, argv[i]);
			} else if ((err = wm_relays_add(&opt.relays, argv[++i])) < 0) {
				fprintf(stderr, "%s: --relay %s: %s\n", prog, argv[i],
					err == -EEXIST ? "that region is given twice" :
					err == -ENOSPC ? "too many relays" :
					"expected REGION=URL, e.g. 1=https://relay.example.com/derp");
				return 2;
			}
		} else if (!strcmp(a, "--no-offload")) {
			opt.no_offload = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_usage(stdout, prog);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			print_version();
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "%s: unknown option '%s'\n\n", prog, a);
			print_usage(stderr, prog);
			return 2;
		} else if (!opt.ifname) {
			opt.ifname = a;
		} else {
			fprintf(stderr, "%s: one interface name only (got '%s' and '%s')\n", prog, opt.ifname, a);
			return 2;
		}
	}
	if (!opt.ifname) {
		print_usage(stderr, prog);
		return 2;
	}
	if (!valid_ifname(opt.ifname)) {
		fprintf(stderr, "%s: '%s' is not a valid interface name (1-%d characters, no '/')\n", prog,
			opt.ifname, WM_TUN_NAME_LEN - 1);
		return 2;
	}
	if (level_text && (level = wm_log_parse_level(level_text)) < 0) {
		fprintf(stderr, "%s: LOG_LEVEL must be debug, verbose, error or silent (got '%s')\n", prog,
			level_text);
		return 2;
	}
	if (!opt.threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		opt.threads = cores > 0 && cores <= 256 ? (unsigned)cores : 1;
	}
	opt.tun_fd = env_fd("WG_TUN_FD");
	opt.uapi_fd = env_fd("WG_UAPI_FD");
	if (opt.tun_fd == -2 || opt.uapi_fd == -2) {
		fprintf(stderr, "%s: WG_TUN_FD and WG_UAPI_FD must be file descriptor numbers\n", prog);
		return 2;
	}
	wm_log_init((enum wm_log_level)level, opt.ifname);

	if (!foreground &&
	    (err = wm_startup_detach(&ready_fd, level_text && level != WM_LOG_SILENT, prog)) < 0) {
		fprintf(stderr, "%s: cannot detach: %s\n", prog, strerror(-err));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "%s: cannot start the event loop\n", prog);
		wm_startup_report(&ready_fd, false, NULL);
		return 1;
	}
	err = wm_node_start(&node, loop, &opt, &what);
	if (err < 0) {
		const char *hint = wm_startup_hint(err);

		fprintf(stderr, "%s: %s: cannot %s: %s\n", prog, opt.ifname, what, strerror(-err));
		if (hint)
			fprintf(stderr, "%s: hint: %s\n", prog, hint);
		wm_startup_report(&ready_fd, false, NULL);
		return 1;
	}
	wm_startup_report(&ready_fd, true, NULL);
	ev_run(loop, 0);
	wm_node_stop(&node);
	wm_log_verbose("shut down");
	return 0;
}
