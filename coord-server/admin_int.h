/* SPDX-License-Identifier: MIT */
/* What the admin commands (admin.c, admin_policy_cli.c) share: options, the database, files. */
#ifndef WM_COORD_ADMIN_INT_H
#define WM_COORD_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "coord-server/store.h"

struct admin_opts {
	const char *db, *expiry, *tag, *proto, *id, *file;
	bool json, reusable, ephemeral;
	char *args[4];
	int nargs;
};

/*
 * Parses the options every command knows (allowed: the letters this one takes) and nargs_min
 * to nargs_max arguments; --db is required. 0, or 2 having printed what is wrong and the usage.
 */
int admin_parse(int argc, char **argv, const char *cmd, const char *allowed, int nargs_min,
		int nargs_max, void (*usage)(FILE *), struct admin_opts *o);

/* Opens the database; NULL having said why. */
struct wm_store *admin_open_db(const char *path);

/* Says what failed with the store's reason, closes it, returns 1. */
int admin_db_error(struct wm_store *s, const char *what);

/* Runs the subcommand argv[1] of group name (subs and fns NULL-terminated alike); "help". */
int admin_group(int argc, char **argv, const char *name, void (*usage)(FILE *),
		const char *const subs[], int (*const fns[])(int, char **));

/* The whole file ("-": stdin), at most max bytes (EFBIG beyond), NUL-terminated; NULL with errno. */
char *admin_read_file(const char *path, size_t max, size_t *len);

#endif
