/* SPDX-License-Identifier: MIT */
/*
 * Field formats of the coordination protocol (docs/coord-protocol.md, "Field formats" and
 * "Addresses"), shared by the message codecs, the client and the server: what a hostname, a DNS
 * label and a printable label may hold, and the IPv6 address that goes with a node's IPv4 one.
 */
#ifndef WM_COORD_FIELDS_H
#define WM_COORD_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

#include "coord-client/netmap.h"

#define WM_COORD_HOSTNAME_MAX 253
#define WM_COORD_ERR_LEN 160		/* room for a parser's error sentence */

/* The IPv6 ULA prefix of the mesh (our own, "Addresses"): fd77:6d65:7368::/48 ("wmesh"). */
#define WM_COORD_ULA_PREFIX WM_NETMAP_ULA_PREFIX

bool wm_coord_hostname_valid(const char *s);	/* 1..253 of [A-Za-z0-9._-] */
bool wm_coord_name_valid(const char *s);	/* DNS label: 1..63 of [a-z0-9-], no '-' at ends */
bool wm_coord_label_valid(const char *s, size_t max);	/* 1..max printable ASCII */

/*
 * Whether s may be the mesh's DNS suffix (docs/dns.md): 0, or -EINVAL with a reason in why
 * worded to follow the suffix ("is not a domain name: ..."). A lowercase domain name of DNS
 * labels joined by single dots, no trailing dot, at most WM_NETMAP_DNS_SUFFIX_MAX characters,
 * and not under "local" (multicast DNS) or "arpa" (reverse lookups).
 */
int wm_coord_dns_suffix_check(const char *s, char *why, size_t whylen);

/* The IPv6 address that goes with an IPv4 one: the ULA prefix, zeros, the 32 bits. */
void wm_coord_ipv6_for(struct in6_addr *out, struct in_addr ipv4);

#endif
