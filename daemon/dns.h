/* SPDX-License-Identifier: MIT */
/*
 * The node's DNS answers (docs/dns.md), sans I/O: a table of the mesh's names built from a
 * netmap, and what to do with one DNS query. Names under the mesh's suffix are answered here
 * (A and AAAA of a node, NXDOMAIN at once for any other name under the suffix), and so are
 * reverse names of nodes' addresses (PTR); everything else is for the host's upstream
 * resolvers. Messages are parsed and built with ldns.
 */
#ifndef WM_DNS_H
#define WM_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-client/netmap.h"

/* The resolver's addresses: Tailscale's well-known one, and ::53 in the mesh's ULA /48 (a
 * node's IPv6 address carries its 100.64.0.0/10 address in the low 32 bits, so never 0.0.0.83). */
#define WM_DNS_ADDR4 { 100, 100, 100, 100 }
#define WM_DNS_ADDR6 { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 }
#define WM_DNS_PORT 53

/* RFC 1035 4.2.1: 512 bytes without EDNS; with it, at most what fits a 1280-byte IPv6 path
 * (the DNS flag day 2020 value), whatever the client offers. */
#define WM_DNS_UDP_MIN 512
#define WM_DNS_UDP_MAX 1232
/* Answers about mesh names live briefly, so that a rename is seen soon; so do NXDOMAINs. */
#define WM_DNS_TTL 60
#define WM_DNS_NEGATIVE_TTL 5

struct wm_dns_name {
	char label[WM_NETMAP_NAME_MAX + 1];
	struct in_addr ipv4;
	struct in6_addr ipv6;
};

/* The mesh's names: this node and every peer that is not expired, sorted by label. */
struct wm_dns_names {
	char suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1];	/* empty: no mesh names */
	uint32_t serial;				/* the netmap version, for the SOA */
	struct wm_dns_name *names;
	size_t n;
};

/* Builds t from nm (t is overwritten; free it with wm_dns_names_free). 0 or -ENOMEM. */
int wm_dns_names_build(struct wm_dns_names *t, const struct wm_netmap *nm);
void wm_dns_names_free(struct wm_dns_names *t);

/* The node with this label (lowercase), or NULL. */
const struct wm_dns_name *wm_dns_names_find(const struct wm_dns_names *t, const char *label);

enum wm_dns_verdict {
	WM_DNS_ANSWER,		/* out holds the answer */
	WM_DNS_FORWARD,		/* not a mesh name: ask the upstream resolvers */
	WM_DNS_DROP,		/* not a DNS query at all (malformed, or a response): no answer */
};

/*
 * What to do with the query q[0..len): answer it into out (cap bytes; *out_len set), forward
 * it, or drop it. Answers fit the client's UDP size (512, or its EDNS size up to
 * WM_DNS_UDP_MAX); cap must be at least WM_DNS_UDP_MAX. A query that parses but is not one
 * standard question gets FORMERR or NOTIMP. why (may be NULL) gets a few words for the log
 * and the counters ("malformed", "a response", ...) on a drop.
 */
enum wm_dns_verdict wm_dns_answer(const struct wm_dns_names *t, const uint8_t *q, size_t len,
				  uint8_t *out, size_t cap, size_t *out_len, const char **why);

/* SERVFAIL for the query q (the upstream resolvers did not answer). false when q does not
 * parse or out is too small. */
bool wm_dns_servfail(const uint8_t *q, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Whether r[0..len) is a DNS response with id (from an upstream resolver). */
bool wm_dns_is_response(const uint8_t *r, size_t len, uint16_t id);

#endif
