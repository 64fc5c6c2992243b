/* SPDX-License-Identifier: MIT */
/* The commands that ask a running node over its control socket: down, status, ip, ping,
 * netcheck. */
#include "daemon/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/control.h"
#include "daemon/state.h"

const char *wm_cli_default_state_dir(void)
{
	const char *env = getenv("WIREMESH_STATE_DIR");

	return env && *env ? env : WM_STATE_DEFAULT_DIR;
}

int wm_cli_socket_path(const char *dir, char *path, size_t cap)
{
	struct wm_state st;

	memset(&st, 0, sizeof(st));
	snprintf(st.dir, sizeof(st.dir), "%s", dir);
	return wm_state_socket_path(&st, path, cap);
}

/*
 * Asks the daemon; prints why not on failure. The reply is malloc'd; an {"error": …} reply is
 * printed and turned into 1.
 */
static int ask(const char *dir, const char *line, double timeout_s, char **reply, json_t **json)
{
	const char *prog = wm_cli_prog;
	char path[512];
	json_error_t jerr;
	size_t len;
	int err;

	*reply = NULL;
	if (json)
		*json = NULL;
	if (wm_cli_socket_path(dir, path, sizeof(path)) < 0) {
		fprintf(stderr, "%s: the state directory path is too long\n", prog);
		return 1;
	}
	err = wm_control_request(path, line, timeout_s, reply, &len);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		fprintf(stderr, "%s: no wiremesh node is running with the state directory %s "
			"(start one with `%s up`, or give --state DIR)\n", prog, dir, prog);
		return 1;
	}
	if (err == -EACCES || err == -EPERM) {
		fprintf(stderr, "%s: not allowed to use %s: run as root or as a member of the "
			"node's operator group\n", prog, path);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
			err == -ETIMEDOUT ? "the node did not answer in time" : strerror(-err));
		return 1;
	}
	if (json) {
		json_t *o = json_loadb(*reply, len, 0, &jerr);
		json_t *e = o ? json_object_get(o, "error") : NULL;

		if (!o || !json_is_object(o)) {
			fprintf(stderr, "%s: the node sent an answer that is not JSON: %s\n", prog,
				jerr.text);
			json_decref(o);
			return 1;
		}
		if (json_is_string(e)) {
			fprintf(stderr, "%s: %s\n", prog, json_string_value(e));
			json_decref(o);
			return 1;
		}
		*json = o;
	}
	return 0;
}

/* What every query command takes besides its own options. */
struct query {
	const char *state_dir;
	const char *node;	/* NODE, for ip and ping */
};

/*
 * Parses argv with the command's own options (handled by own: 0, or 2 after saying why), then
 * --state, --help and at most one NODE when want_node. 0 to go on, else the exit status.
 */
static int parse_query(int argc, char **argv, const char *shorts, const struct option *longs,
		       void (*usage)(FILE *), bool want_node, struct query *q,
		       int (*own)(void *ctx, int opt, const char *arg), void *ctx)
{
	int opt;

	q->state_dir = wm_cli_default_state_dir();
	q->node = NULL;
	while ((opt = wm_cli_getopt(argv[0], argc, argv, shorts, longs, usage)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == WM_CLI_OPT_STATE)
			q->state_dir = optarg;
		else if (opt == '?' || !own || own(ctx, opt, optarg))
			return 2;
	}
	if (want_node && optind < argc)
		q->node = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s %s: unexpected argument '%s'\n\n", wm_cli_prog, argv[0],
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The own-option handler of a command whose options are flags: sets flags[opt]. */
static int set_flag(void *ctx, int opt, const char *arg)
{
	bool *flags = ctx;

	(void)arg;
	if (opt < 0 || opt > 127)
		return 2;
	flags[opt] = true;
	return 0;
}

#define QUERY_COMMON_OPTIONS                                        \
	{ "state", required_argument, NULL, WM_CLI_OPT_STATE },     \
	{ "help", no_argument, NULL, 'h' },                         \
	{ NULL, 0, NULL, 0 }

/* down */

static void print_down_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s down [--logout] [--state DIR]\n"
		"\n"
		"Stops the node: the interface goes away; the state directory stays, so the next\n"
		"`%s up` is the same node with the same addresses. --logout first tells the\n"
		"coordination server to forget this node (it then needs an auth key again).\n",
		wm_cli_prog, wm_cli_prog);
}

int wm_cli_down(int argc, char **argv)
{
	static const struct option longs[] = { { "logout", no_argument, NULL, 'l' },
					       QUERY_COMMON_OPTIONS };
	bool flags[128] = { false };
	struct query q;
	char *reply, path[512];
	json_t *o;
	int r, i;

	if ((r = parse_query(argc, argv, "h", longs, print_down_usage, false, &q, set_flag,
			     flags)) >= 0)
		return r;
	if (flags['l']) {
		if (ask(q.state_dir, "logout", 30.0, &reply, &o))
			return 1;
		printf("logged out: the coordination server forgot this node\n");
	} else if (ask(q.state_dir, "down", 10.0, &reply, &o)) {
		return 1;
	}
	free(reply);
	json_decref(o);
	/* Wait until it has gone (the socket disappears as the daemon exits). */
	wm_cli_socket_path(q.state_dir, path, sizeof(path));
	for (i = 0; i < 100; i++) {
		if (access(path, F_OK) < 0)
			break;
		usleep(50 * 1000);
	}
	printf("%s\n", i < 100 ? "down" : "asked to stop; the node has not exited yet");
	return i < 100 ? 0 : 1;
}

/* rotate-key */

static void print_rotate_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s rotate-key [--state DIR]\n"
		"\n"
		"Gives this node a new node key (docs/identity.md): the coordination server moves\n"
		"the node (name, addresses) to it and renews its key expiry; peers learn the new\n"
		"key from their next netmap while traffic goes on. The key file in the state\n"
		"directory is replaced once the server took the new key.\n",
		wm_cli_prog);
}

int wm_cli_rotate_key(int argc, char **argv)
{
	static const struct option longs[] = { QUERY_COMMON_OPTIONS };
	struct query q;
	char *reply;
	json_t *o;
	int r;

	if ((r = parse_query(argc, argv, "h", longs, print_rotate_usage, false, &q, NULL,
			     NULL)) >= 0)
		return r;
	if (ask(q.state_dir, "rotate-key", 2 * 20.0 + 5, &reply, &o))
		return 1;
	printf("rotated: the node key is now %s\n",
	       json_string_value(json_object_get(o, "public_key")) ?: "?");
	free(reply);
	json_decref(o);
	return 0;
}

/* status */

static void print_status_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s status [--json] [--state DIR]\n"
		"\n"
		"This node (name, addresses, coordination server, relays), then every peer: name,\n"
		"100.x address, the path in use (direct IP:port, relay region, or none yet), the\n"
		"last handshake and bytes received and sent. --json prints it all for programs.\n",
		wm_cli_prog);
}

/*
 * A command that asks the node one request and prints the answer: as it came with --json,
 * else as print_text says (its result is the exit status).
 */
static int ask_and_print(int argc, char **argv, void (*usage)(FILE *), const char *request,
			 int (*print_text)(const char *reply, json_t *o))
{
	static const struct option longs[] = { { "json", no_argument, NULL, 'j' },
					       QUERY_COMMON_OPTIONS };
	bool flags[128] = { false };
	struct query q;
	char *reply;
	json_t *o;
	int r;

	if ((r = parse_query(argc, argv, "h", longs, usage, false, &q, set_flag, flags)) >= 0)
		return r;
	if (ask(q.state_dir, request, 10.0, &reply, &o))
		return 1;
	if (flags['j']) {
		fputs(reply, stdout);
		r = 0;
	} else {
		r = print_text(reply, o);
	}
	json_decref(o);
	free(reply);
	return r;
}

static int print_status_text(const char *reply, json_t *o)
{
	int r = wm_cli_print_status(reply, isatty(STDOUT_FILENO));

	(void)o;
	return r < 0 ? 0 : r;
}

int wm_cli_status(int argc, char **argv)
{
	return ask_and_print(argc, argv, print_status_usage, "status", print_status_text);
}

/* ip */

static void print_ip_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s ip [-4|-6] [NODE] [--state DIR]\n"
		"\n"
		"Prints this node's mesh addresses, or those of the node named NODE.\n", wm_cli_prog);
}

int wm_cli_ip(int argc, char **argv)
{
	static const struct option longs[] = { QUERY_COMMON_OPTIONS };
	bool flags[128] = { false };
	struct query q;
	char line[128], *reply;
	json_t *o, *v4, *v6;
	int r;

	if ((r = parse_query(argc, argv, "46h", longs, print_ip_usage, true, &q, set_flag,
			     flags)) >= 0)
		return r;
	if (q.node && strlen(q.node) > 63) {
		fprintf(stderr, "%s ip: '%s' is not a node name\n", wm_cli_prog, q.node);
		return 2;
	}
	snprintf(line, sizeof(line), q.node ? "ip %s" : "ip", q.node);
	if (ask(q.state_dir, line, 10.0, &reply, &o))
		return 1;
	v4 = json_object_get(o, "ipv4");
	v6 = json_object_get(o, "ipv6");
	if (!flags['6'] && json_is_string(v4))
		printf("%s\n", json_string_value(v4));
	if (!flags['4'] && json_is_string(v6))
		printf("%s\n", json_string_value(v6));
	json_decref(o);
	free(reply);
	return 0;
}

/* ping */

static void print_ping_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s ping NODE [-c COUNT] [--until-direct] [--state DIR]\n"
		"\n"
		"Sends disco pings to NODE over every path it might be reached on (its addresses and\n"
		"its relay) and prints each first answer: the path it came back on and the round\n"
		"trip. Pinging also makes the node look for a direct path. COUNT (default 5) rounds,\n"
		"one a second; --until-direct stops at the first direct answer.\n", wm_cli_prog);
}

struct ping_opts {
	long count;
	bool until_direct;
};

static int ping_option(void *ctx, int opt, const char *arg)
{
	struct ping_opts *p = ctx;
	char *end;

	if (opt == 'd') {
		p->until_direct = true;
		return 0;
	}
	errno = 0;
	p->count = strtol(arg, &end, 10);
	if (errno || !*arg || *end || p->count < 1 || p->count > 1000) {
		fprintf(stderr, "%s ping: -c takes 1-1000 (got '%s')\n", wm_cli_prog, arg);
		return 2;
	}
	return 0;
}

static void print_pong(const json_t *o)
{
	const char *via = json_string_value(json_object_get(o, "via"));
	double ms = json_number_value(json_object_get(o, "latency_ms"));

	if (via && !strcmp(via, "direct"))
		printf("pong from %s (%s) via %s in %.2f ms\n",
		       json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "ipv4")),
		       json_string_value(json_object_get(o, "endpoint")), ms);
	else
		printf("pong from %s (%s) via relay region %lld in %.2f ms\n",
		       json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "ipv4")),
		       (long long)json_integer_value(json_object_get(o, "relay_region")), ms);
	fflush(stdout);
}

int wm_cli_ping(int argc, char **argv)
{
	static const struct option longs[] = { { "count", required_argument, NULL, 'c' },
					       { "until-direct", no_argument, NULL, 'd' },
					       QUERY_COMMON_OPTIONS };
	struct ping_opts p = { .count = 5 };
	struct query q;
	char line[128], *reply;
	int r, i, pongs = 0;
	bool direct;
	json_t *o;

	if ((r = parse_query(argc, argv, "c:h", longs, print_ping_usage, true, &q, ping_option,
			     &p)) >= 0)
		return r;
	if (!q.node || strlen(q.node) > 63) {
		print_ping_usage(stderr);
		return 2;
	}
	snprintf(line, sizeof(line), "ping %s", q.node);
	for (i = 0; i < p.count; i++) {
		if (i)
			sleep(1);
		if (ask(q.state_dir, line, 10.0, &reply, &o))
			continue;
		print_pong(o);
		pongs++;
		direct = !strcmp(json_string_value(json_object_get(o, "via")) ?: "", "direct");
		json_decref(o);
		free(reply);
		if (direct && p.until_direct)
			break;
	}
	return pongs ? 0 : 1;
}

/* netcheck */

static void print_netcheck_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s netcheck [--json] [--state DIR]\n"
		"\n"
		"Runs a STUN round against every relay region's STUN server from the node's\n"
		"WireGuard socket and reports: whether UDP gets out, this node's public (reflexive)\n"
		"address(es), whether its NAT maps each destination to another port (a \"hard\" NAT:\n"
		"direct paths then need the other side to be reachable), and the latency to each\n"
		"relay region.\n", wm_cli_prog);
}

static int print_netcheck(const char *reply, json_t *o)
{
	const json_t *v;
	size_t i;

	(void)reply;
	printf("UDP: %s\n", json_is_true(json_object_get(o, "udp")) ? "yes" : "no (blocked?)");
	printf("Reflexive address(es):");
	json_array_foreach(json_object_get(o, "reflexive"), i, v)
		printf(" %s", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(o, "reflexive")) ? "" : " none");
	printf("Mapping varies by destination: %s\n",
	       !json_is_true(json_object_get(o, "mapping_known")) ? "unknown (needs two STUN servers)" :
	       json_is_true(json_object_get(o, "mapping_varies_by_dest")) ?
	       "yes (hard NAT: direct paths need the peer to be reachable)" : "no");
	printf("Nearest relay: region %lld\n",
	       (long long)json_integer_value(json_object_get(o, "preferred_region")));
	json_array_foreach(json_object_get(o, "regions"), i, v) {
		const json_t *ms = json_object_get(v, "latency_ms");
		long long region = (long long)json_integer_value(json_object_get(v, "region"));

		if (json_is_number(ms))
			printf("  region %lld: %.2f ms\n", region, json_number_value(ms));
		else
			printf("  region %lld: no answer\n", region);
	}
	return 0;
}

int wm_cli_netcheck(int argc, char **argv)
{
	return ask_and_print(argc, argv, print_netcheck_usage, "netcheck", print_netcheck);
}

/* metrics */

static void print_metrics_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s metrics [--state DIR]\n"
		"\n"
		"The node's metrics in the Prometheus text format, as --metrics-listen serves them\n"
		"at /metrics (docs/metrics.md lists them).\n", wm_cli_prog);
}

int wm_cli_metrics(int argc, char **argv)
{
	static const struct option longs[] = { QUERY_COMMON_OPTIONS };
	struct query q;
	char *reply;
	json_t *o;
	int r;

	if ((r = parse_query(argc, argv, "h", longs, print_metrics_usage, false, &q, NULL,
			     NULL)) >= 0)
		return r;
	if (ask(q.state_dir, "metrics", 10.0, &reply, NULL))
		return 1;
	/* The text format never starts with '{': that is the node's error in JSON. */
	o = reply[0] == '{' ? json_loads(reply, 0, NULL) : NULL;
	if (o) {
		fprintf(stderr, "%s: %s\n", wm_cli_prog,
			json_string_value(json_object_get(o, "error")) ?: reply);
		json_decref(o);
		free(reply);
		return 1;
	}
	fputs(reply, stdout);
	free(reply);
	return 0;
}
