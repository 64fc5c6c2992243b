/* SPDX-License-Identifier: MIT */
/*
 * The commands of the wiremesh program: `up` runs a node that joins a mesh (cli.c); `status`,
 * `ip`, `ping`, `netcheck` and `down` ask a running one over its control socket in the state
 * directory (cli_query.c); cli_status.c prints status. Every command parses with getopt_long
 * through wm_cli_getopt, as `wiremesh IFNAME` (main.c) does.
 */
#ifndef WM_CLI_H
#define WM_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define WM_CLI_DEFAULT_IFNAME "wm0"

/* getopt_long value of --state DIR, which every mesh command takes. */
enum { WM_CLI_OPT_STATE = 0x2000 };

/* The program's name as called (argv[0] without its directory), for messages and usage. */
extern const char *wm_cli_prog;

/* True when word names one of the commands (up, down, status, ip, ping, netcheck, wait). */
bool wm_cli_is_command(const char *word);

/* Runs argv[1] with its arguments; the process's exit status. */
int wm_cli_main(int argc, char **argv);

/*
 * getopt_long over argv (argv[0]: the command, or the program for `wiremesh IFNAME`) that
 * says what is wrong as "PROG[ CMD]: unknown option '--x'" followed by usage, or "PROG[ CMD]:
 * --x needs a value". The option, -1 after the last one, or '?' once it said why (the
 * command exits 2). cmd is NULL for `wiremesh IFNAME`.
 */
int wm_cli_getopt(const char *cmd, int argc, char **argv, const char *shorts,
		  const struct option *longs, void (*usage)(FILE *out));

/* $WIREMESH_STATE_DIR, or WM_STATE_DEFAULT_DIR. */
const char *wm_cli_default_state_dir(void);

/* The control socket of the state directory dir into path; 0 or -ENAMETOOLONG. */
int wm_cli_socket_path(const char *dir, char *path, size_t cap);

/* The commands that ask a running node (cli_query.c): argv[0] is the command's name. */
int wm_cli_down(int argc, char **argv);
int wm_cli_status(int argc, char **argv);
int wm_cli_ip(int argc, char **argv);
int wm_cli_ping(int argc, char **argv);
int wm_cli_netcheck(int argc, char **argv);
int wm_cli_metrics(int argc, char **argv);

/* `wiremesh wait` (cli_wait.c): until the node is up, or the timeout. */
int wm_cli_wait(int argc, char **argv);
int wm_cli_rotate_key(int argc, char **argv);

/* `wiremesh status`'s text form of a status JSON reply (cli_status.c): 0, or 1 when the reply
 * is not one. */
int wm_cli_print_status(const char *json_text, bool color);

#endif
