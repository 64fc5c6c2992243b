/* SPDX-License-Identifier: MIT */
/*
 * Starting a node, whichever command runs it (`wiremesh IFNAME`, `wiremesh up`): the options
 * every node takes, the environment, and one start-up path. It detaches the way wireguard-go
 * does — the parent exits only once the child says it is ready, or why it is not, so that
 * `wiremesh wg0 && wg setconf wg0 …` and `wiremesh up … && ping …` work — then starts the
 * event loop and the node, runs, and unwinds in the reverse order.
 */
#ifndef WM_STARTUP_H
#define WM_STARTUP_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/log.h"
#include "daemon/node.h"

/* getopt_long values of the node options that have no short form. */
enum { WM_STARTUP_OPT_NO_OFFLOAD = 0x1000, WM_STARTUP_OPT_RELAY_CA };

/* The node options, for a command's getopt_long strings and tables, and for its --help. */
#define WM_STARTUP_SHORT_OPTIONS "ft:"
#define WM_STARTUP_LONG_OPTIONS                                                             \
	{ "foreground", no_argument, NULL, 'f' },                                           \
	{ "threads", required_argument, NULL, 't' },                                        \
	{ "no-offload", no_argument, NULL, WM_STARTUP_OPT_NO_OFFLOAD },                     \
	{ "relay-ca", required_argument, NULL, WM_STARTUP_OPT_RELAY_CA }
#define WM_STARTUP_OPTIONS_HELP                                                             \
	"  -f, --foreground       stay in the foreground (default: detach once up)\n"         \
	"  -t, --threads N        cores to use for encryption (default: all online cores)\n" \
	"      --no-offload       no TUN/UDP segmentation offloads (GSO/GRO)\n"              \
	"      --relay-ca FILE    trust this CA (or self-signed certificate) for https\n"    \
	"                         relays\n"

struct wm_startup {
	const char *prog;		/* in messages, and syslog's ident */
	struct wm_node_options node;
	bool foreground;		/* -f, or WG_PROCESS_FOREGROUND=1 */
	enum wm_log_level log_level;	/* LOG_LEVEL; errors only without it */
	bool log_to_stderr;		/* LOG_LEVEL set, not silent: stderr stays the log */
	int ready_fd;			/* to the parent that waits for the report; -1: none */
	struct ev_loop *loop;
	char failure[768];		/* wm_startup_fail's message */
	bool told_service_manager;	/* READY=1 went to $NOTIFY_SOCKET */
	bool notify_failed;		/* said once in the log */
};

/*
 * What a command runs on the node (both optional). start: once the node runs; it reports
 * later, with wm_startup_ready or wm_startup_fail. 0, or -errno with the message (a whole
 * line) in err. Without start, the node is ready once started. stop: when the loop ends,
 * before the node goes.
 */
struct wm_startup_mode {
	int (*start)(void *ctx, struct wm_node *node, char *err, size_t errlen);
	void (*stop)(void *ctx);
};

/* No options given yet; ifname may be NULL until the command knows it. */
void wm_startup_init(struct wm_startup *s, const char *prog, const char *ifname);

/*
 * Takes one getopt_long result (opt, optarg) if it is a node option: 1 when taken, 0 when it
 * is not one, -1 when its value is wrong (said on stderr; the command exits 2).
 */
int wm_startup_option(struct wm_startup *s, int opt, const char *arg);

/*
 * After the options: reads LOG_LEVEL and WG_PROCESS_FOREGROUND, gives the thread count its
 * default (the online cores) and starts the log. 0, or 2 when LOG_LEVEL is not a level
 * (said on stderr).
 */
int wm_startup_environment(struct wm_startup *s);

/*
 * Detaches unless in the foreground, starts the event loop, the node and mode's start, runs
 * the loop, then undoes each in the reverse order; whatever failed is told (to the waiting
 * parent, else on stderr) once all is undone, so that a retry finds nothing left behind.
 * The detached parent exits with 0 or 1 inside; the child, or the foreground process, gets
 * its exit status back. mode may be NULL.
 */
int wm_startup_run(struct wm_startup *s, const struct wm_startup_mode *mode, void *ctx);

/* While nobody has been told yet: "PROG: message" on stderr if someone waits or in front. */
void wm_startup_progress(struct wm_startup *s, const char *message);

/* The node is up: message (may be NULL) goes to whoever waits, else to stdout. */
void wm_startup_ready(struct wm_startup *s, const char *message);

/* The node cannot go on: ends the loop; message is told once all is undone (exit 1). */
void wm_startup_fail(struct wm_startup *s, const char *message);

#endif
