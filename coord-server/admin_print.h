/* SPDX-License-Identifier: MIT */
/* What the admin commands print: tables for people, JSON (--json) for programs. */
#ifndef WM_COORD_ADMIN_PRINT_H
#define WM_COORD_ADMIN_PRINT_H

#include <stdbool.h>
#include <stdint.h>

struct wm_store;

/* Every node to stdout. 0 or negative errno (the store's error says why). */
int wm_coord_print_nodes(struct wm_store *s, bool json, int64_t now);

/* Every auth key (never the key itself: only its prefix is stored in the clear). */
int wm_coord_print_authkeys(struct wm_store *s, bool json, int64_t now);

/* Every subnet route (docs/routes.md), by prefix then node: advertised, approved, primary. */
int wm_coord_print_routes(struct wm_store *s, bool json);

/* The stored policies, newest first: id, when, whether in force, size (or "cleared"). */
int wm_coord_print_policy_history(struct wm_store *s, bool json);

#endif
