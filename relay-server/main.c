/* SPDX-License-Identifier: MIT */
/*
 * wiremesh-relay — a DERP relay (Tailscale's relay protocol) and STUN server.
 *
 *   wiremesh-relay --listen ADDR:PORT [--cert FILE --key FILE | --plain] [--stun ADDR:PORT|off]
 *                  [--key-file PATH] [--verify-clients FILE] [--max-clients N]
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/key.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "relay-server/relay.h"

#ifndef WM_VERSION
#define WM_VERSION "0.1.0"
#endif

#define DEFAULT_LISTEN_TLS ":443"
#define DEFAULT_LISTEN_PLAIN ":3340"	/* derper -dev serves plain HTTP here */
#define DEFAULT_STUN ":3478"		/* cmd/derper -stun-port */
#define SPARE_FDS 32			/* listeners, STUN, logs, resolver */

static void print_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--listen ADDR:PORT] (--cert FILE --key FILE | --plain) [OPTION]...\n"
		"\n"
		"A DERP relay for wiremesh and Tailscale-protocol nodes: forwards WireGuard packets\n"
		"between nodes that cannot reach each other directly, by their public keys, and\n"
		"answers STUN binding requests so nodes learn their public address.\n"
		"\n"
		"Options:\n"
		"  -l, --listen ADDR:PORT     where to serve DERP (default " DEFAULT_LISTEN_TLS
		", or " DEFAULT_LISTEN_PLAIN " with --plain);\n"
		"                             :PORT is every address, [v6]:PORT an IPv6 one\n"
		"      --cert FILE            TLS certificate chain (PEM), e.g. Let's Encrypt's fullchain.pem\n"
		"      --key FILE             its private key (PEM)\n"
		"      --plain                plain HTTP without TLS (tests, loopback, behind a TLS proxy)\n"
		"      --stun ADDR:PORT|off   the STUN server's UDP address (default " DEFAULT_STUN ")\n"
		"      --key-file PATH        the relay's own private key; created (mode 0600) when\n"
		"                             missing (default: a new key at every start)\n"
		"      --verify-clients FILE  admit only the public keys listed in FILE (base64 or hex,\n"
		"                             one per line, # comments); SIGHUP rereads it\n"
		"      --max-clients N        connections at once (default %d)\n"
		"      --max-queued-mb N      memory for packets waiting to be written (default %u)\n"
		"      --handshake-timeout S  seconds a connection has to finish TLS, HTTP and the\n"
		"                             DERP handshake (default %d)\n"
		"      --write-timeout S      seconds a client may not read before it is dropped\n"
		"                             (default %d)\n"
		"  -v, --verbose              log every connection (also LOG_LEVEL=verbose|debug)\n"
		"  -h, --help                 show this help\n"
		"      --version              show the version\n"
		"\n"
		"Counters: GET /debug/vars (JSON). Nodes connect to https://HOST[:PORT]/derp.\n"
		"Example:\n"
		"  %s --listen :443 --cert /etc/letsencrypt/live/relay.example.org/fullchain.pem \\\n"
		"      --key /etc/letsencrypt/live/relay.example.org/privkey.pem \\\n"
		"      --key-file /var/lib/wiremesh-relay/relay.key\n",
		prog, WM_RELAY_MAX_CLIENTS, WM_RELAY_QUEUE_BUDGET >> 20,
		WM_RELAY_HANDSHAKE_TIMEOUT_MS / 1000, WM_RELAY_WRITE_TIMEOUT_MS / 1000, prog);
}

static int parse_uint(const char *opt, const char *text, unsigned long min, unsigned long max,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || !*text || *end || text[0] == '-' || v < min || v > max) {
		fprintf(stderr, "wiremesh-relay: %s '%s': expected a number from %lu to %lu\n", opt,
			text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Each connection needs a descriptor: raise the soft limit, and fit max_clients under it. */
static unsigned fit_descriptors(unsigned max_clients)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return max_clients;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_clients + SPARE_FDS) {
		unsigned fit = rl.rlim_cur > SPARE_FDS ? (unsigned)(rl.rlim_cur - SPARE_FDS) : 1;

		fprintf(stderr, "wiremesh-relay: only %llu descriptors (ulimit -n): serving %u "
			"clients, not %u\n", (unsigned long long)rl.rlim_cur, fit, max_clients);
		return fit;
	}
	return max_clients;
}

static struct wm_relay relay;

static void bound_address(int fd, char out[WM_ENDPOINT_STR_LEN])
{
	struct wm_endpoint ep;
	socklen_t len = sizeof(ep.addr);

	memset(&ep, 0, sizeof(ep));
	if (getsockname(fd, &ep.addr.sa, &len))
		snprintf(out, WM_ENDPOINT_STR_LEN, "?");
	else
		wm_endpoint_format(&ep, out);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	char err[300];

	(void)revents;
	if (w->signum == SIGHUP) {
		if (wm_relay_reload_allowlist(&relay, err, sizeof(err)))
			wm_log_error("keeping the old client list: %s", err);
		else if (relay.verify)
			wm_log_error("reloaded %s: %zu keys", relay.cfg.verify_file,
				     relay.allow.count);
		return;
	}
	ev_break(loop, EVBREAK_ALL);
}

enum {
	OPT_CERT = 256, OPT_KEY, OPT_PLAIN, OPT_STUN, OPT_KEY_FILE, OPT_VERIFY, OPT_MAX_CLIENTS,
	OPT_MAX_QUEUED, OPT_HANDSHAKE_TIMEOUT, OPT_WRITE_TIMEOUT, OPT_VERSION,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "plain", no_argument, NULL, OPT_PLAIN },
		{ "stun", required_argument, NULL, OPT_STUN },
		{ "key-file", required_argument, NULL, OPT_KEY_FILE },
		{ "verify-clients", required_argument, NULL, OPT_VERIFY },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "max-queued-mb", required_argument, NULL, OPT_MAX_QUEUED },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT },
		{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct wm_relay_config cfg = { .stun_listen = DEFAULT_STUN,
				       .max_clients = WM_RELAY_MAX_CLIENTS };
	const char *key_file = NULL, *level_env = getenv("LOG_LEVEL");
	enum wm_log_level level = WM_LOG_ERROR;
	char err[400], hex[WM_KEY_HEX_LEN];
	char listen_text[WM_ENDPOINT_STR_LEN], stun_text[WM_ENDPOINT_STR_LEN];
	ev_signal sig_int, sig_term, sig_hup;
	struct ev_loop *loop;
	unsigned long v;
	int opt;

	if (level_env && wm_log_parse_level(level_env) >= 0)
		level = (enum wm_log_level)wm_log_parse_level(level_env);
	while ((opt = getopt_long(argc, argv, "l:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': cfg.listen = optarg; break;
		case OPT_CERT: cfg.cert_file = optarg; break;
		case OPT_KEY: cfg.key_file = optarg; break;
		case OPT_PLAIN: cfg.plain = true; break;
		case OPT_STUN: cfg.stun_listen = strcmp(optarg, "off") ? optarg : NULL; break;
		case OPT_KEY_FILE: key_file = optarg; break;
		case OPT_VERIFY: cfg.verify_file = optarg; break;
		case 'v': level = WM_LOG_VERBOSE; break;
		case 'h':
			print_usage(stdout, argv[0]);
			return 0;
		case OPT_VERSION:
			printf("wiremesh-relay %s (DERP protocol version %d; libsodium %s)\n",
			       WM_VERSION, WM_DERP_PROTOCOL_VERSION, sodium_version_string());
			return 0;
		case OPT_MAX_CLIENTS:
			if (parse_uint("--max-clients", optarg, 1, 1000000, &v))
				return 2;
			cfg.max_clients = (unsigned)v;
			break;
		case OPT_MAX_QUEUED:
			if (parse_uint("--max-queued-mb", optarg, 1, 1 << 20, &v))
				return 2;
			cfg.queue_budget = (size_t)v << 20;
			break;
		case OPT_HANDSHAKE_TIMEOUT:
		case OPT_WRITE_TIMEOUT:
			if (parse_uint(opt == OPT_WRITE_TIMEOUT ? "--write-timeout"
								: "--handshake-timeout",
				       optarg, 1, 3600, &v))
				return 2;
			if (opt == OPT_WRITE_TIMEOUT)
				cfg.write_timeout_ms = (unsigned)v * 1000;
			else
				cfg.handshake_timeout_ms = (unsigned)v * 1000;
			break;
		default:
			fprintf(stderr, "Try '%s --help'.\n", argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wiremesh-relay: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return 2;
	}
	if (cfg.plain && (cfg.cert_file || cfg.key_file)) {
		fprintf(stderr, "wiremesh-relay: --plain serves without TLS: drop --cert/--key, "
			"or drop --plain\n");
		return 2;
	}
	if (!cfg.plain && (!cfg.cert_file || !cfg.key_file)) {
		fprintf(stderr, "wiremesh-relay: HTTPS needs --cert FILE and --key FILE "
			"(or --plain for plain HTTP)\n");
		return 2;
	}
	if (!cfg.listen)
		cfg.listen = cfg.plain ? DEFAULT_LISTEN_PLAIN : DEFAULT_LISTEN_TLS;
	if (sodium_init() < 0) {
		fprintf(stderr, "wiremesh-relay: libsodium failed to initialize\n");
		return 1;
	}
	wm_log_init(level, "relay");

	if (key_file) {
		bool created;

		if (wm_relay_key_file_load(key_file, cfg.private_key, &created, err, sizeof(err))) {
			fprintf(stderr, "wiremesh-relay: %s\n", err);
			return 1;
		}
		if (created)
			fprintf(stderr, "wiremesh-relay: created a new key in %s\n", key_file);
	} else {
		randombytes_buf(cfg.private_key, sizeof(cfg.private_key));
		wm_key_clamp(cfg.private_key);
	}
	cfg.max_clients = fit_descriptors(cfg.max_clients);

	signal(SIGPIPE, SIG_IGN);
	loop = ev_default_loop(EVFLAG_AUTO);
	if (wm_relay_start(&relay, loop, &cfg, err, sizeof(err))) {
		fprintf(stderr, "wiremesh-relay: %s\n", err);
		sodium_memzero(cfg.private_key, sizeof(cfg.private_key));
		return 1;
	}
	sodium_memzero(cfg.private_key, sizeof(cfg.private_key));
	ev_signal_init(&sig_int, on_signal, SIGINT);
	ev_signal_init(&sig_term, on_signal, SIGTERM);
	ev_signal_init(&sig_hup, on_signal, SIGHUP);
	ev_signal_start(loop, &sig_int);
	ev_signal_start(loop, &sig_term);
	ev_signal_start(loop, &sig_hup);

	/* The addresses as bound, so ":0" shows the port the kernel chose. */
	wm_key_to_hex(hex, relay.public_key);
	bound_address(relay.listen_fd, listen_text);
	if (relay.stun)
		bound_address(wm_relay_stun_fd(relay.stun), stun_text);
	printf("wiremesh-relay: serving %s on %s, STUN %s, public key %s%s\n",
	       cfg.plain ? "HTTP" : "HTTPS", listen_text, relay.stun ? stun_text : "off", hex,
	       relay.verify ? ", clients verified" : "");
	fflush(stdout);
	ev_run(loop, 0);

	wm_relay_stop(&relay);
	ev_loop_destroy(loop);
	return 0;
}
