/* SPDX-License-Identifier: MIT */
/*
 * Access policy (docs/policy.md): the admin's JSON file of groups, tags, hosts, ACLs and tests,
 * parsed and checked with errors that name the place ("acls[2].dst[0]: unknown alias "dbb""),
 * then compiled against the mesh's nodes into what each node gets in its netmap: the
 * "packet_filter" (the inbound rules whose destination is that node, and what it may reach on
 * each peer) and the set of peers it sees (those that can talk to it in some direction).
 * Pure: no I/O, no clock, bounded in size and time; the fuzzer runs it on anything.
 */
#ifndef WM_COORD_POLICY_H
#define WM_COORD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-server/store.h"

/* Bounds of a policy file. */
#define WM_POLICY_FILE_MAX (1u << 20)	/* bytes */
#define WM_POLICY_MAX_ACLS 1024
#define WM_POLICY_MAX_TESTS 256
#define WM_POLICY_MAX_NAMES 1024	/* entries of "groups", "tags", "hosts" (each) */
#define WM_POLICY_MAX_LIST 1024		/* members of a group or tag; src, dst, accept, deny */
#define WM_POLICY_MAX_REFS 65536	/* aliases in the whole file */
#define WM_POLICY_MAX_PORT_ITEMS 64	/* in one "80,443,8000-8100" */

/* Bounds of one node's compiled filter (the contract with the node, docs/policy.md). */
#define WM_POLICY_MAX_RULES 4096
#define WM_POLICY_RULE_SRC_MAX 64	/* prefixes per rule */
#define WM_POLICY_RULE_PORTS_MAX 64	/* port ranges per rule */

#define WM_POLICY_ERR_LEN 384		/* room for an error sentence */

enum wm_policy_proto {
	WM_POLICY_ANY,			/* "*": any IP protocol, ports ignored */
	WM_POLICY_TCP,
	WM_POLICY_UDP,
	WM_POLICY_ICMP,			/* ICMPv4 and ICMPv6, ports ignored */
};

struct wm_policy;

/* Parses and checks the file's text (at most WM_POLICY_FILE_MAX bytes): structure, names,
 * addresses, ports, protocols, references between its own sections. Names of nodes and tags
 * are checked by wm_policy_compile(). 0, -EBADMSG or -EFBIG (err names the place), -ENOMEM. */
int wm_policy_parse(struct wm_policy **out, const char *text, size_t len, char *err,
		    size_t errlen);

void wm_policy_free(struct wm_policy *p);

/*
 * Resolves the policy against nodes (their names, addresses and auth-key tags are copied, so
 * the array may go away afterwards; node i here is index i in every call below) and the routes
 * they may serve (routes: the approved ones that are advertised count). strict (the
 * admin's check): a node name that is no node, a tag that no node, auth key (known_tags) or
 * "tags" entry carries, a host named like a node, or a node whose filter would exceed the
 * bounds is an error. Otherwise (serving a policy already in force) unknown names match
 * nothing and an oversized filter is cut short. May be called again with other nodes.
 * 0, -EBADMSG (err), -ENOMEM.
 */
int wm_policy_compile(struct wm_policy *p, const struct wm_store_node *nodes, size_t n,
		      const struct wm_store_route *routes, size_t n_routes,
		      const char *const *known_tags, size_t n_known, bool strict, char *err,
		      size_t errlen);

/* Whether nodes has the same ids, names, addresses and tags, in order, and routes the same
 * approved routes, as the last compile (then the compiled policy can serve them as is). */
bool wm_policy_same_nodes(const struct wm_policy *p, const struct wm_store_node *nodes,
			  size_t n, const struct wm_store_route *routes, size_t n_routes);

/* The packet_filter JSON of node (compact, malloc'd), or NULL when out of memory. *truncated
 * says whether rules had to be left out to keep within the bounds (they deny, never allow). */
char *wm_policy_filter(const struct wm_policy *p, size_t node, size_t *len, bool *truncated);

/* The peers node sees: bit i of bits (words 64-bit words, at least (n + 63) / 64) for node i,
 * never node itself. */
void wm_policy_visible(const struct wm_policy *p, size_t node, uint64_t *bits, size_t words);

/* Runs the "tests" section against the compiled filters. 0, or -EBADMSG with err naming the
 * failing test ("tests[0].accept[1]: expected …"). */
int wm_policy_run_tests(const struct wm_policy *p, char *err, size_t errlen);

/*
 * Why traffic from src to dst is allowed or not, for `policy explain` (compiled p): src is an
 * alias or one address, dst "ALIAS:PORT" (the port optional for icmp) naming nodes by alias or
 * address. One line per source and destination node ("laptop -> web:80 (tcp): allowed by
 * acls[0]: {…}", a node's two addresses apart only when they differ) in *out (malloc'd).
 * 0, -EBADMSG (err says what is wrong with src or dst), -ENOMEM.
 */
int wm_policy_explain(struct wm_policy *p, const char *src, const char *dst,
		      enum wm_policy_proto proto, char **out, char *err, size_t errlen);

/*
 * Whether the policy's "autoApprovers" approve route (a subnet prefix, or 0.0.0.0/0 or ::/0 of
 * an exit node) when node advertises it: a "routes" entry whose prefix holds route names the
 * node (by name, tag or group), or for a default route the "exitNode" list does.
 */
bool wm_policy_auto_approves(const struct wm_policy *p, size_t node,
			     const struct wm_netmap_prefix *route);

/* Counts, for messages. */
size_t wm_policy_n_acls(const struct wm_policy *p);
size_t wm_policy_n_tests(const struct wm_policy *p);

/* The index of the first ACL (from start) that reaches no node as a destination, or -1: a
 * warning for the admin (it allows nothing until such a node joins). */
int wm_policy_idle_acl(const struct wm_policy *p, size_t start);

/* "tcp" → WM_POLICY_TCP etc.; -1 when unknown. */
int wm_policy_proto_parse(const char *text);

#endif
