/* SPDX-License-Identifier: MIT */
#include "daemon/cli.h"

#include <errno.h>
#include <ev.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "daemon/control.h"
#include "daemon/mesh.h"
#include "daemon/node.h"
#include "daemon/startup.h"
#include "daemon/state.h"

static const char *prog = "wiremesh";

/* Options every command takes. */
struct common_opts {
	const char *state_dir;
};

static const char *default_state_dir(void)
{
	const char *env = getenv("WIREMESH_STATE_DIR");

	return env && *env ? env : WM_STATE_DEFAULT_DIR;
}

/* --state DIR / --state=DIR; true when argv[*i] was it (and *i moved past the value). */
static bool take_value(int argc, char **argv, int *i, const char *name, const char **out,
		       bool *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strncmp(a, name, n) && a[n] == '=') {
		*out = a + n + 1;
		return true;
	}
	if (strcmp(a, name))
		return false;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: %s needs a value\n", prog, name);
		*bad = true;
		return true;
	}
	*out = argv[++*i];
	return true;
}

static int socket_path_for(const char *dir, char *path, size_t cap)
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
	char path[512];
	json_error_t jerr;
	size_t len;
	int err;

	*reply = NULL;
	if (json)
		*json = NULL;
	if (socket_path_for(dir, path, sizeof(path)) < 0) {
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

/* up */

static void print_up_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s up --coord URL [--authkey KEY] [options]\n"
		"\n"
		"Joins the mesh of the coordination server at URL: creates the interface (wm0),\n"
		"gets this node's 100.x address, and reaches every other node directly or through a\n"
		"relay. Returns once the node is up; it then runs in the background (-f: in front).\n"
		"The node key, the pinned server key and the last netmap are kept in the state\n"
		"directory, so a restarted node keeps its identity and addresses.\n"
		"\n"
		"Options:\n"
		"  --coord URL          http(s)://host[:port][?key=HEX] of wiremesh-coord\n"
		"  --authkey KEY        an auth key from `wiremesh-coord authkey create` (file:PATH\n"
		"                       reads it from a file); not needed once the node is registered\n"
		"  --hostname NAME      this node's name in the mesh (default: the host name)\n"
		"  --state DIR          state directory (default %s, or $WIREMESH_STATE_DIR)\n"
		"  --ifname NAME        the interface (default %s)\n"
		"  --port N             WireGuard UDP port (default %d, or any free one)\n"
		"  --coord-ca FILE      trust this CA (or self-signed certificate) for https://\n"
		"  --relay-ca FILE      the same for https relays\n"
		"  --operator-group G   members of group G may run status/ip/down too\n"
		"  --timeout SECONDS    how long to wait for the coordination server (default %d);\n"
		"                       a node that never reached it gives up then and exits 1\n"
		"  -f, --foreground     stay in the foreground\n"
		"  -t, --threads N      cores to use for encryption (default: all)\n"
		"      --no-offload     no TUN/UDP segmentation offloads\n"
		"  -h, --help           this help\n"
		"\n"
		"Environment: LOG_LEVEL=debug|verbose|error|silent (default: errors, to syslog once\n"
		"detached; with LOG_LEVEL set the node keeps logging to this command's stderr).\n"
		"\n"
		"Example:\n"
		"  %s up --coord https://coord.example.com --authkey file:/etc/wiremesh/authkey\n"
		"  %s status\n",
		prog, WM_STATE_DEFAULT_DIR, WM_CLI_DEFAULT_IFNAME, WM_MESH_DEFAULT_PORT,
		(int)WM_MESH_READY_TIMEOUT_S, prog, prog);
}

struct up_ctx {
	int ready_fd;
	bool foreground;
	struct ev_loop *loop;
	bool failed;
	char failure[700];	/* reported once the interface is gone */
};

/* Said to whoever waits for `up` (its stderr is still the caller's until the node is up). */
static void on_progress(void *ctx, const char *message)
{
	struct up_ctx *u = ctx;

	if (u->ready_fd >= 0 || u->foreground) {
		fprintf(stderr, "%s: %s\n", prog, message);
		fflush(stderr);
	}
}

static void on_ready(void *ctx, bool ok, const char *message)
{
	struct up_ctx *u = ctx;
	char line[700];

	/* The report reaches the user (through the waiting parent, or stderr): logged only in
	 * a verbose log, so that it is not said twice. */
	wm_log_verbose("%s", message);
	if (ok) {
		snprintf(line, sizeof(line), "%s", message);
		wm_startup_report(&u->ready_fd, true, line);
		return;
	}
	/* Told after the teardown, so that a script that retries finds nothing left behind. */
	snprintf(u->failure, sizeof(u->failure), "%s: %s", prog, message);
	u->failed = true;
	ev_break(u->loop, EVBREAK_ALL);
}

/* Reads an auth key given as file:PATH (keeps it out of `ps`). */
static int read_authkey_file(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: --authkey file:%s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (!out[0]) {
		fprintf(stderr, "%s: --authkey file:%s is empty\n", prog, path);
		return -1;
	}
	return 0;
}

static bool parse_number(const char *text, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return !errno && *text && !*end && *out >= min && *out <= max;
}

static int cmd_up(int argc, char **argv)
{
	struct wm_node_options nopt = { .tun_fd = -1, .uapi_fd = -1, .ifname = WM_CLI_DEFAULT_IFNAME };
	struct wm_mesh_options mopt = { .operator_gid = (gid_t)-1 };
	const char *state_dir = default_state_dir(), *value = NULL, *level_text = getenv("LOG_LEVEL");
	const char *what = "start";
	struct up_ctx u = { .ready_fd = -1 };
	char authkey[256], err[512], path[512], *reply;
	size_t reply_len;
	struct wm_state state;
	struct wm_node node;
	struct wm_mesh mesh;
	bool foreground = false, bad = false;
	int i, r, level = WM_LOG_ERROR;
	long n;

	for (i = 2; i < argc && !bad; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_up_usage(stdout);
			return 0;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			foreground = true;
		} else if (!strcmp(a, "--no-offload")) {
			nopt.no_offload = true;
		} else if (take_value(argc, argv, &i, "--coord", &mopt.coord_url, &bad) ||
			   take_value(argc, argv, &i, "--hostname", &mopt.hostname, &bad) ||
			   take_value(argc, argv, &i, "--state", &state_dir, &bad) ||
			   take_value(argc, argv, &i, "--ifname", &nopt.ifname, &bad) ||
			   take_value(argc, argv, &i, "--coord-ca", &mopt.coord_ca, &bad)) {
			continue;
		} else if (take_value(argc, argv, &i, "--authkey", &value, &bad)) {
			if (bad)
				break;
			if (!strncmp(value, "file:", 5)) {
				if (read_authkey_file(value + 5, authkey, sizeof(authkey)) < 0)
					return 2;
			} else {
				snprintf(authkey, sizeof(authkey), "%s", value);
			}
			mopt.auth_key = authkey;
		} else if (take_value(argc, argv, &i, "--relay-ca", &value, &bad)) {
			if (!bad)
				snprintf(nopt.relays.ca_file, sizeof(nopt.relays.ca_file), "%s", value);
		} else if (take_value(argc, argv, &i, "--port", &value, &bad)) {
			if (!bad && !parse_number(value, 1, 65535, &n)) {
				fprintf(stderr, "%s: --port takes 1-65535 (got '%s')\n", prog, value);
				return 2;
			}
			mopt.port = (uint16_t)n;
		} else if (take_value(argc, argv, &i, "--timeout", &value, &bad)) {
			if (!bad && !parse_number(value, 1, 3600, &n)) {
				fprintf(stderr, "%s: --timeout takes 1-3600 seconds (got '%s')\n", prog,
					value);
				return 2;
			}
			mopt.ready_timeout_s = (double)n;
		} else if (take_value(argc, argv, &i, "--threads", &value, &bad) ||
			   take_value(argc, argv, &i, "-t", &value, &bad)) {
			if (!bad && !parse_number(value, 1, 256, &n)) {
				fprintf(stderr, "%s: --threads takes 1-256 (got '%s')\n", prog, value);
				return 2;
			}
			nopt.threads = (unsigned)n;
		} else if (take_value(argc, argv, &i, "--operator-group", &value, &bad)) {
			struct group *g;

			if (bad)
				break;
			g = getgrnam(value);
			if (!g) {
				fprintf(stderr, "%s: --operator-group: no group named '%s'\n", prog, value);
				return 2;
			}
			mopt.operator_gid = g->gr_gid;
		} else {
			fprintf(stderr, "%s up: unknown argument '%s'\n\n", prog, a);
			print_up_usage(stderr);
			return 2;
		}
	}
	if (bad)
		return 2;
	if (!mopt.coord_url) {
		fprintf(stderr, "%s up: --coord URL is needed (the wiremesh-coord server to join)\n\n",
			prog);
		print_up_usage(stderr);
		return 2;
	}
	if (strncmp(mopt.coord_url, "http://", 7) && strncmp(mopt.coord_url, "https://", 8)) {
		fprintf(stderr, "%s up: --coord takes an http:// or https:// URL (got '%s')\n", prog,
			mopt.coord_url);
		return 2;
	}
	if (level_text && (level = wm_log_parse_level(level_text)) < 0) {
		fprintf(stderr, "%s: LOG_LEVEL must be debug, verbose, error or silent (got '%s')\n",
			prog, level_text);
		return 2;
	}
	if (!nopt.threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		nopt.threads = cores > 0 && cores <= 256 ? (unsigned)cores : 1;
	}
	wm_log_init((enum wm_log_level)level, nopt.ifname);

	/* Errors about the state directory are the user's to fix: say them before detaching. */
	if (wm_state_open(&state, state_dir, mopt.operator_gid, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	if (socket_path_for(state_dir, path, sizeof(path)) == 0 &&
	    wm_control_request(path, "ip", 2.0, &reply, &reply_len) == 0) {
		free(reply);
		fprintf(stderr, "%s: a node is already up with the state directory %s "
			"(`%s status` shows it; `%s down` stops it)\n", prog, state_dir, prog, prog);
		wm_state_close(&state);
		return 1;
	}

	u.foreground = foreground;
	mopt.on_progress = on_progress;
	if (!foreground &&
	    (r = wm_startup_detach(&u.ready_fd, level_text && level != WM_LOG_SILENT, prog)) < 0) {
		fprintf(stderr, "%s: cannot detach: %s\n", prog, strerror(-r));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	u.loop = ev_default_loop(EVFLAG_AUTO);
	if (!u.loop) {
		wm_startup_report(&u.ready_fd, false, "wiremesh: cannot start the event loop");
		return 1;
	}
	r = wm_node_start(&node, u.loop, &nopt, &what);
	if (r < 0) {
		const char *hint = wm_startup_hint(r);

		snprintf(err, sizeof(err), "%s: %s: cannot %s: %s%s%s", prog, nopt.ifname, what,
			 strerror(-r), hint ? "\nhint: " : "", hint ? hint : "");
		wm_startup_report(&u.ready_fd, false, err);
		wm_state_close(&state);
		return 1;
	}
	r = wm_mesh_start(&mesh, &node, &state, &mopt, on_ready, &u, err, sizeof(err));
	if (r < 0) {
		char line[600];

		snprintf(line, sizeof(line), "%s: %s", prog, err);
		wm_startup_report(&u.ready_fd, false, line);
		wm_node_stop(&node);
		wm_state_close(&state);
		return 1;
	}
	ev_run(u.loop, 0);
	wm_mesh_stop(&mesh);
	wm_node_stop(&node);
	wm_state_close(&state);
	if (u.failed)
		wm_startup_report(&u.ready_fd, false, u.failure);
	else if (u.ready_fd >= 0)
		wm_startup_report(&u.ready_fd, false, "wiremesh: stopped before it was up");
	wm_log_verbose("shut down");
	return u.failed ? 1 : 0;
}

/* down, status, ip */

static int parse_common(int argc, char **argv, struct common_opts *c, const char **flags,
			bool *flag_set, const char **positional, void (*usage)(FILE *))
{
	bool bad = false;
	int i, k;

	c->state_dir = default_state_dir();
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (take_value(argc, argv, &i, "--state", &c->state_dir, &bad)) {
			if (bad)
				return 2;
			continue;
		}
		for (k = 0; flags && flags[k]; k++)
			if (!strcmp(a, flags[k]))
				break;
		if (flags && flags[k]) {
			flag_set[k] = true;
			continue;
		}
		if (a[0] != '-' && positional && !*positional) {
			*positional = a;
			continue;
		}
		fprintf(stderr, "%s %s: unexpected argument '%s'\n\n", prog, argv[1], a);
		usage(stderr);
		return 2;
	}
	return -1;	/* go on */
}

static void print_down_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s down [--logout] [--state DIR]\n"
		"\n"
		"Stops the node: the interface goes away; the state directory stays, so the next\n"
		"`%s up` is the same node with the same addresses. --logout first tells the\n"
		"coordination server to forget this node (it then needs an auth key again).\n",
		prog, prog);
}

static int cmd_down(int argc, char **argv)
{
	static const char *flags[] = { "--logout", NULL };
	bool set[1] = { false };
	struct common_opts c;
	char *reply, path[512];
	json_t *o;
	int r, i;

	if ((r = parse_common(argc, argv, &c, flags, set, NULL, print_down_usage)) >= 0)
		return r;
	if (set[0]) {
		if (ask(c.state_dir, "logout", 30.0, &reply, &o))
			return 1;
		free(reply);
		json_decref(o);
		printf("logged out: the coordination server forgot this node\n");
	} else {
		if (ask(c.state_dir, "down", 10.0, &reply, &o))
			return 1;
		free(reply);
		json_decref(o);
	}
	/* Wait until it has gone (the socket disappears as the daemon exits). */
	socket_path_for(c.state_dir, path, sizeof(path));
	for (i = 0; i < 100; i++) {
		if (access(path, F_OK) < 0)
			break;
		usleep(50 * 1000);
	}
	printf("%s\n", i < 100 ? "down" : "asked to stop; the node has not exited yet");
	return i < 100 ? 0 : 1;
}

static void print_status_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s status [--json] [--state DIR]\n"
		"\n"
		"This node (name, addresses, coordination server, relays), then every peer: name,\n"
		"100.x address, the path in use (direct IP:port, relay region, or none yet), the\n"
		"last handshake and bytes received and sent. --json prints it all for programs.\n",
		prog);
}

static int cmd_status(int argc, char **argv)
{
	static const char *flags[] = { "--json", NULL };
	bool set[1] = { false };
	struct common_opts c;
	char *reply;
	json_t *o;
	int r;

	if ((r = parse_common(argc, argv, &c, flags, set, NULL, print_status_usage)) >= 0)
		return r;
	if (ask(c.state_dir, "status", 10.0, &reply, &o))
		return 1;
	json_decref(o);
	if (set[0])
		fputs(reply, stdout);
	else
		r = wm_cli_print_status(reply, isatty(STDOUT_FILENO));
	free(reply);
	return r < 0 ? 0 : r;
}

static void print_ip_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s ip [-4|-6] [NODE] [--state DIR]\n"
		"\n"
		"Prints this node's mesh addresses, or those of the node named NODE.\n", prog);
}

static int cmd_ip(int argc, char **argv)
{
	static const char *flags[] = { "-4", "-6", NULL };
	bool set[2] = { false, false };
	const char *node = NULL;
	struct common_opts c;
	char line[128], *reply;
	json_t *o, *v4, *v6;
	int r;

	if ((r = parse_common(argc, argv, &c, flags, set, &node, print_ip_usage)) >= 0)
		return r;
	if (node && strlen(node) > 63) {
		fprintf(stderr, "%s ip: '%s' is not a node name\n", prog, node);
		return 2;
	}
	snprintf(line, sizeof(line), node ? "ip %s" : "ip", node);
	if (ask(c.state_dir, line, 10.0, &reply, &o))
		return 1;
	v4 = json_object_get(o, "ipv4");
	v6 = json_object_get(o, "ipv6");
	if (!set[1] && json_is_string(v4))
		printf("%s\n", json_string_value(v4));
	if (!set[0] && json_is_string(v6))
		printf("%s\n", json_string_value(v6));
	json_decref(o);
	free(reply);
	return 0;
}

static void print_ping_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s ping NODE [-c COUNT] [--until-direct] [--state DIR]\n"
		"\n"
		"Sends disco pings to NODE over every path it might be reached on (its addresses and\n"
		"its relay) and prints each first answer: the path it came back on and the round\n"
		"trip. Pinging also makes the node look for a direct path. COUNT (default 5) rounds,\n"
		"one a second; --until-direct stops at the first direct answer.\n", prog);
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

static int cmd_ping(int argc, char **argv)
{
	static const char *flags[] = { "--until-direct", NULL };
	bool set[1] = { false };
	const char *node = NULL, *count_text = NULL;
	struct common_opts c;
	char line[128], *reply;
	int r, i, pongs = 0;
	long count = 5;
	json_t *o;

	/* -c N is taken out first; the rest is common. */
	for (i = 2; i < argc; i++)
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--count")) && i + 1 < argc) {
			count_text = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(argv[0]));
			argc -= 2;
			break;
		}
	if (count_text && !parse_number(count_text, 1, 1000, &count)) {
		fprintf(stderr, "%s ping: -c takes 1-1000 (got '%s')\n", prog, count_text);
		return 2;
	}
	if ((r = parse_common(argc, argv, &c, flags, set, &node, print_ping_usage)) >= 0)
		return r;
	if (!node || strlen(node) > 63) {
		print_ping_usage(stderr);
		return 2;
	}
	snprintf(line, sizeof(line), "ping %s", node);
	for (i = 0; i < count; i++) {
		if (i)
			sleep(1);
		if (ask(c.state_dir, line, 10.0, &reply, &o))
			continue;
		print_pong(o);
		pongs++;
		r = !strcmp(json_string_value(json_object_get(o, "via")) ?: "", "direct");
		json_decref(o);
		free(reply);
		if (r && set[0])
			break;
	}
	return pongs ? 0 : 1;
}

static void print_netcheck_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s netcheck [--json] [--state DIR]\n"
		"\n"
		"Runs a STUN round against every relay region's STUN server from the node's\n"
		"WireGuard socket and reports: whether UDP gets out, this node's public (reflexive)\n"
		"address(es), whether its NAT maps each destination to another port (a \"hard\" NAT:\n"
		"direct paths then need the other side to be reachable), and the latency to each\n"
		"relay region.\n", prog);
}

static int cmd_netcheck(int argc, char **argv)
{
	static const char *flags[] = { "--json", NULL };
	bool set[1] = { false };
	struct common_opts c;
	json_t *o, *v;
	char *reply;
	size_t i;
	int r;

	if ((r = parse_common(argc, argv, &c, flags, set, NULL, print_netcheck_usage)) >= 0)
		return r;
	if (ask(c.state_dir, "netcheck", 10.0, &reply, &o))
		return 1;
	if (set[0]) {
		fputs(reply, stdout);
	} else {
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
			json_t *ms = json_object_get(v, "latency_ms");

			if (json_is_number(ms))
				printf("  region %lld: %.2f ms\n",
				       (long long)json_integer_value(json_object_get(v, "region")),
				       json_number_value(ms));
			else
				printf("  region %lld: no answer\n",
				       (long long)json_integer_value(json_object_get(v, "region")));
		}
	}
	json_decref(o);
	free(reply);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "ping", cmd_ping },
	{ "netcheck", cmd_netcheck },
	{ "up", cmd_up },
	{ "down", cmd_down },
	{ "status", cmd_status },
	{ "ip", cmd_ip },
};

bool wm_cli_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(word, commands[i].name))
			return true;
	return false;
}

int wm_cli_main(int argc, char **argv)
{
	size_t i;

	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc, argv);
	return 2;
}
