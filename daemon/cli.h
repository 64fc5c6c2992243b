/* SPDX-License-Identifier: MIT */
/*
 * The mesh commands of the wiremesh program: `up` runs a node that joins a mesh; `status`,
 * `ip` and `down` ask a running one over its control socket (in the state directory).
 */
#ifndef WM_CLI_H
#define WM_CLI_H

#include <stdbool.h>

#define WM_CLI_DEFAULT_IFNAME "wm0"

/* True when word names one of the commands (up, down, status, ip). */
bool wm_cli_is_command(const char *word);

/* Runs argv[1] with its arguments; the process's exit status. */
int wm_cli_main(int argc, char **argv);

/* `wiremesh status`'s text form of a status JSON reply (cli_status.c): 0, or 1 when the reply
 * is not one. */
int wm_cli_print_status(const char *json_text, bool color);

#endif
