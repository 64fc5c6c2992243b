/* SPDX-License-Identifier: MIT */
/*
 * A rule of the compiled access filter as the coordination server sends it (docs/policy.md):
 * a protocol, source prefixes, destination prefixes and destination port ranges. Shared by the filter (filter.h),
 * which parses and reports rules, and the matcher (match.h), which compiles them for lookups.
 */
#ifndef WM_FILTER_RULE_H
#define WM_FILTER_RULE_H

#include <stddef.h>
#include <stdint.h>

enum wm_filter_proto {
	WM_FILTER_PROTO_ANY,		/* "*" */
	WM_FILTER_PROTO_TCP,
	WM_FILTER_PROTO_UDP,
	WM_FILTER_PROTO_ICMP,		/* ICMP in IPv4, ICMPv6 in IPv6 */
};

struct wm_filter_prefix {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* host bits zero */
	uint8_t len;
};

struct wm_filter_port_range {
	uint16_t first, last;		/* inclusive */
};

/* A rule as sent (for status); in "reach" entries src and dst are empty. */
struct wm_filter_rule {
	enum wm_filter_proto proto;
	int acl;			/* the policy's ACL index; -1 when not given */
	const struct wm_filter_prefix *src;
	size_t n_src;
	const struct wm_filter_prefix *dst;	/* the destinations it opens; none: any */
	size_t n_dst;
	const struct wm_filter_port_range *ports;	/* empty for icmp and "*" */
	size_t n_ports;
};

#endif
