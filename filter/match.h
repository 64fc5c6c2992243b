/* SPDX-License-Identifier: MIT */
/*
 * The rules compiled for matching (internal to filter/). One table per address family and
 * protocol class (TCP, UDP, ICMP, other), "*" rules entered in all four. A table holds the
 * distinct source prefixes grouped by length, longest first, each group a sorted array searched
 * by bisection, and for each prefix the union of the port ranges of the rules naming it. A
 * lookup tries each length present until a prefix holding the port is found: a handful of
 * bisections in practice, however many rules there are.
 */
#ifndef WM_MATCH_H
#define WM_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filter/rule.h"

enum wm_match_class {
	WM_MATCH_TCP,
	WM_MATCH_UDP,
	WM_MATCH_ICMP,
	WM_MATCH_OTHER,
	WM_MATCH_CLASSES
};

struct wm_match;

/* Compiles rules (rules[i].src with family AF_INET or AF_INET6). 0 or -ENOMEM. */
int wm_match_build(struct wm_match **out, const struct wm_filter_rule *rules, size_t n);

void wm_match_free(struct wm_match *m);

/* The class of an IANA protocol number in a family. */
enum wm_match_class wm_match_class_of(int family, uint8_t proto);

/* Whether some rule lets src send to port in this class (port ignored but for TCP and UDP). */
bool wm_match_lookup(const struct wm_match *m, int family, const uint8_t *src,
		     enum wm_match_class c, uint16_t port);

#endif
