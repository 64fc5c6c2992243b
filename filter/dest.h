/* SPDX-License-Identifier: MIT */
/*
 * The rules matched by destination as well as source (internal to filter/). A rule names the
 * destinations it opens ("dst": this node's own addresses, a subnet it routes, the internet
 * through an exit node); rules naming the same destinations share one matcher (match.h), so a
 * lookup is a containment test per distinct destination set (a handful: the node, each routed
 * prefix an ACL names, the internet) followed by the source lookup of that set's matcher.
 * A rule without "dst" (from a server that predates destinations) matches any destination.
 */
#ifndef WM_FILTER_DEST_H
#define WM_FILTER_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/match.h"
#include "filter/rule.h"

struct wm_dest;

/* Groups rules by their dst lists and compiles each group. 0 or -ENOMEM. */
int wm_dest_build(struct wm_dest **out, const struct wm_filter_rule *rules, size_t n);

void wm_dest_free(struct wm_dest *d);

/* Whether some rule lets src send to dst (NULL: whatever the destination) at port in class c. */
bool wm_dest_lookup(const struct wm_dest *d, int family, const uint8_t *src, const uint8_t *dst,
		    enum wm_match_class c, uint16_t port);

/* Whether addr (4 or 16 bytes by family) is inside p. */
bool wm_filter_prefix_covers(const struct wm_filter_prefix *p, int family, const uint8_t *addr);

#endif
