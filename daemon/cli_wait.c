/* SPDX-License-Identifier: MIT */
/*
 * `wiremesh wait`: blocks until the node of a state directory is up (the answer `up` gives,
 * and Type=notify's READY=1: an address from the coordination server, which it reached), for
 * scripts and container start ordering. It asks the control socket's status again and again;
 * a node not started yet (no socket) is waited for too.
 */
#include "daemon/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/clock.h"
#include "daemon/control.h"

#define WAIT_DEFAULT_TIMEOUT_S 60
#define WAIT_MAX_TIMEOUT_S 86400
#define WAIT_POLL_MS 200
#define WAIT_ASK_TIMEOUT_S 5.0

static void print_wait_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s wait [--timeout SECONDS] [--state DIR]\n"
		"\n"
		"Waits until the node of the state directory is up: it has its mesh address from\n"
		"the coordination server, which it reached (what `%s up` waits for, and what a\n"
		"Type=notify service reports as READY=1). A node that is not running yet is waited\n"
		"for too. Exits 0 once up (printing the node's name and addresses), 1 when the\n"
		"timeout passes first (saying what it saw last), 2 on wrong options.\n"
		"\n"
		"Options:\n"
		"      --timeout SECONDS  how long to wait, 1-%d (default %d)\n"
		"      --state DIR        state directory (default %s, or\n"
		"                         $WIREMESH_STATE_DIR)\n"
		"  -h, --help             this help\n"
		"\n"
		"Example:\n"
		"  %s wait --timeout 30 && ping -c 1 \"$(%s ip -4 peer1)\"\n",
		wm_cli_prog, wm_cli_prog, WAIT_MAX_TIMEOUT_S, WAIT_DEFAULT_TIMEOUT_S,
		wm_cli_default_state_dir(), wm_cli_prog, wm_cli_prog);
}

struct wait_opts {
	const char *state_dir;
	long timeout_s;
};

enum { OPT_TIMEOUT = 0x2200 };

/* 0 to go on, else the exit status (help: 0, wrong options: 2). */
static int parse_wait(int argc, char **argv, struct wait_opts *w)
{
	static const struct option longs[] = {
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "state", required_argument, NULL, WM_CLI_OPT_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	w->state_dir = wm_cli_default_state_dir();
	w->timeout_s = WAIT_DEFAULT_TIMEOUT_S;
	while ((opt = wm_cli_getopt(argv[0], argc, argv, "h", longs, print_wait_usage)) != -1) {
		switch (opt) {
		case 'h':
			print_wait_usage(stdout);
			return 0;
		case WM_CLI_OPT_STATE:
			w->state_dir = optarg;
			break;
		case OPT_TIMEOUT:
			errno = 0;
			w->timeout_s = strtol(optarg, &end, 10);
			if (errno || !*optarg || *end || w->timeout_s < 1 ||
			    w->timeout_s > WAIT_MAX_TIMEOUT_S) {
				fprintf(stderr, "%s wait: --timeout takes 1-%d seconds (got '%s')\n",
					wm_cli_prog, WAIT_MAX_TIMEOUT_S, optarg);
				return 2;
			}
			break;
		default:
			return 2;	/* wm_cli_getopt said why */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s wait: unexpected argument '%s'\n\n", wm_cli_prog, argv[optind]);
		print_wait_usage(stderr);
		return 2;
	}
	return -1;
}

enum answer { NOT_UP, UP, GIVE_UP };

/* What a status reply says: UP (printed), or NOT_UP with why in seen. */
static enum answer read_status(const char *reply, size_t len, char *seen, size_t cap)
{
	json_t *o = json_loadb(reply, len, 0, NULL), *self, *coord;
	enum answer a = NOT_UP;

	if (!o || !json_is_object(o)) {
		snprintf(seen, cap, "the node's status answer is not JSON");
		json_decref(o);
		return NOT_UP;
	}
	self = json_object_get(o, "self");
	coord = json_object_get(o, "coordination");
	if (json_is_true(json_object_get(o, "up"))) {
		printf("up: %s %s %s\n", json_string_value(json_object_get(self, "name")) ?: "?",
		       json_string_value(json_object_get(self, "ipv4")) ?: "?",
		       json_string_value(json_object_get(self, "ipv6")) ?: "?");
		a = UP;
	} else {
		const char *msg = json_string_value(json_object_get(coord, "message"));

		snprintf(seen, cap, "the node runs but is not up yet (coordination server %s: %s%s%s)",
			 json_string_value(json_object_get(coord, "url")) ?: "?",
			 json_string_value(json_object_get(coord, "state")) ?: "?",
			 msg && *msg ? ", " : "", msg && *msg ? msg : "");
	}
	json_decref(o);
	return a;
}

/* One question to the node: UP, NOT_UP with why in seen, or GIVE_UP (said why). */
static enum answer ask_once(const char *path, const char *dir, double timeout_s, char *seen,
			    size_t cap)
{
	char *reply;
	size_t len;
	enum answer a;
	int err;

	err = wm_control_request(path, "status", timeout_s, &reply, &len);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		snprintf(seen, cap, "no wiremesh node is running with the state directory %s", dir);
		return NOT_UP;
	}
	if (err == -EACCES || err == -EPERM) {
		fprintf(stderr, "%s wait: not allowed to use %s: run as root or as a member of the "
			"node's operator group\n", wm_cli_prog, path);
		return GIVE_UP;
	}
	if (err < 0) {
		snprintf(seen, cap, "%s: %s", path,
			 err == -ETIMEDOUT ? "the node did not answer in time" : strerror(-err));
		return NOT_UP;
	}
	a = read_status(reply, len, seen, cap);
	free(reply);
	return a;
}

int wm_cli_wait(int argc, char **argv)
{
	struct wait_opts w;
	char path[512], seen[1024] = "";
	uint64_t deadline, now;
	double left;
	enum answer a;
	int r;

	if ((r = parse_wait(argc, argv, &w)) >= 0)
		return r;
	if (wm_cli_socket_path(w.state_dir, path, sizeof(path)) < 0) {
		fprintf(stderr, "%s wait: the state directory path is too long\n", wm_cli_prog);
		return 2;
	}
	deadline = wm_clock_monotonic_ns() + (uint64_t)w.timeout_s * 1000000000ull;
	for (;;) {
		now = wm_clock_monotonic_ns();
		left = now < deadline ? (double)(deadline - now) / 1e9 : 0.0;
		if (left <= 0.0)
			break;
		a = ask_once(path, w.state_dir, left < WAIT_ASK_TIMEOUT_S ? left :
			     WAIT_ASK_TIMEOUT_S, seen, sizeof(seen));
		if (a == UP)
			return 0;
		if (a == GIVE_UP)
			return 1;
		usleep(WAIT_POLL_MS * 1000);
	}
	fprintf(stderr, "%s wait: not up after %ld s: %s\n", wm_cli_prog, w.timeout_s,
		seen[0] ? seen : "no answer");
	return 1;
}
