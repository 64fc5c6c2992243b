/* SPDX-License-Identifier: MIT */
/*
 * The admin commands of wiremesh-coord. They open the same database as `serve` (WAL lets both
 * work at once); a running server notices their changes within WM_COORD_WATCH_S and tells the
 * nodes. Each takes the words after its group name ("create --reusable …") and returns the
 * exit status, having printed what went wrong.
 */
#ifndef WM_COORD_ADMIN_H
#define WM_COORD_ADMIN_H

#include <stdint.h>

int wm_coord_admin_authkey(int argc, char **argv);
int wm_coord_admin_nodes(int argc, char **argv);
int wm_coord_admin_relays(int argc, char **argv);
int wm_coord_admin_key(int argc, char **argv);
int wm_coord_admin_policy(int argc, char **argv);
int wm_coord_admin_routes(int argc, char **argv);
int wm_coord_admin_dns(int argc, char **argv);

/* "90", "90s", "30m", "12h", "7d" to seconds; -1 when malformed. */
int64_t wm_coord_parse_duration(const char *text);

#endif
