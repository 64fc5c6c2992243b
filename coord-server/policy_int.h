/* SPDX-License-Identifier: MIT */
/* Internals shared by policy.c (parsing), policy_compile.c and policy_eval.c. */
#ifndef WM_COORD_POLICY_INT_H
#define WM_COORD_POLICY_INT_H

#include "common/json.h"
#include "coord-client/coord_msg.h"
#include "coord-server/policy.h"

#define POL_TAG_MAX (4 + WM_STORE_TAG_MAX)	/* "tag:" + a stored tag */
#define POL_TAGS_LEN (WM_STORE_TAGS_MAX * (POL_TAG_MAX + 1))	/* a node's, joined by "," */

enum pol_kind {
	AL_ALL,			/* "*" */
	AL_NODE,		/* a node's name */
	AL_TAG,			/* "tag:X" */
	AL_GROUP,		/* "group:X" */
	AL_PREFIX,		/* a host, an address or a prefix */
	AL_INTERNET,		/* "autogroup:internet": public addresses through exit nodes */
};

struct pol_alias {
	enum pol_kind kind;
	char *text;			/* as written, for messages */
	int group;			/* AL_GROUP: index in groups; AL_TAG: its "tags" entry or -1 */
	struct wm_netmap_prefix pfx;	/* AL_PREFIX */
	bool host;			/* AL_PREFIX named in "hosts" */
	/* Set by compiling: */
	int node;			/* AL_NODE: its index, -1 when no node has the name */
	int tag;			/* AL_TAG: in the tag table, -1 when no node carries it */
};

struct pol_range {
	uint16_t lo, hi;
};

/* "alias:ports", a destination of an ACL or test. */
struct pol_dst {
	char *text;			/* as written */
	struct pol_alias a;
	struct pol_range *ports;	/* sorted, merged */
	size_t n_ports;
};

struct pol_acl {
	enum wm_policy_proto proto;
	struct pol_alias *src;
	size_t n_src;
	struct pol_dst *dst;
	size_t n_dst;
	char *text;			/* the ACL's compact JSON, for explain */
	/* Set by compiling: */
	uint64_t *src_nodes;		/* nodes with an address inside some src */
	uint64_t *dst_nodes;		/* nodes some dst names */
	struct wm_netmap_prefix *pfx;	/* the source prefixes, aggregated */
	size_t n_pfx;
	char **chunk;			/* pfx as JSON arrays of at most WM_POLICY_RULE_SRC_MAX */
	size_t *chunk_len, n_chunks;
};

struct pol_group {
	char *name;
	struct pol_alias *members;	/* AL_NODE or AL_TAG */
	size_t n;
	uint64_t *bits;			/* compiled */
};

struct pol_tagdef {
	char *name;			/* "tag:X" */
	struct pol_alias *nodes;	/* AL_NODE */
	size_t n;
	uint64_t *bits;			/* compiled */
};

struct pol_host {
	char *name;
	struct wm_netmap_prefix pfx;
};

/* An "autoApprovers" entry: the routes inside pfx (exit: the default routes of an exit node)
 * are approved without an administrator when a node that who names advertises them. */
struct pol_auto {
	struct wm_netmap_prefix pfx;
	bool exit;
	struct pol_alias *who;
	size_t n;
};

struct pol_test {
	struct pol_alias src;
	enum wm_policy_proto proto;
	struct pol_dst *accept, *deny;
	size_t n_accept, n_deny;
};

/* A node as the policy sees it. */
struct pol_node {
	int64_t id;
	char name[WM_NETMAP_NAME_MAX + 1];
	char tag[POL_TAGS_LEN + 1];	/* "tag:X,tag:Y" from its auth key, or "" */
	int tag_idx[WM_STORE_TAGS_MAX];	/* each in the tag table */
	size_t n_tag_idx;
	uint8_t v4[4], v6[16];
	/* Its approved, advertised routes: subnets, and the default routes of an exit node. */
	struct wm_netmap_prefix routes[WM_NETMAP_MAX_ROUTES];
	size_t n_routes;
	bool exit4, exit6;
};

/* "autogroup:internet" as prefixes: the public address space (policy_internet.c). */
#define POL_INTERNET_MAX 64

struct wm_policy {
	struct pol_group *groups;
	struct pol_tagdef *tagdefs;
	struct pol_host *hosts;
	struct pol_acl *acls;
	struct pol_test *tests;
	struct pol_auto *autos;
	size_t n_groups, n_tagdefs, n_hosts, n_acls, n_tests, n_autos;
	size_t refs;			/* aliases parsed so far (bounded) */
	size_t max_ports;		/* the most port ranges an ACL's dsts have together */
	/* Set by compiling: */
	bool compiled, strict;
	struct pol_node *nodes;
	size_t n, words;
	size_t *by_name;		/* node indices sorted by name */
	char **tags;			/* every tag a node carries or "tags" names, sorted */
	size_t n_tags;
	const char *const *known;	/* auth keys' tags, during wm_policy_compile() only */
	size_t n_known;
};

/* Writes the sentence into err (may be NULL) and returns -EBADMSG. */
#define pol_fail wm_json_fail

/* Frees what compiling added (also before compiling again). */
void pol_compiled_free(struct wm_policy *p);

/* policy_words.c: a name of 1..max characters of A-Z a-z 0-9 _ . - (and ':' when colon). */
bool pol_word_valid(const char *s, size_t max, bool colon);

/* "10.0.0.0/8", "fd77::5" (a /128)…: 0, -EINVAL, or -ERANGE when host bits are set. */
int pol_prefix_parse(struct wm_netmap_prefix *pfx, const char *text);

/* Sorts hosts, groups and tags by name, as the lookups of aliases expect. */
void pol_sort_names(struct wm_policy *p);

/* Parsing an alias as written somewhere (where names the place for errors). 0 or -EBADMSG. */
int pol_alias_parse(struct wm_policy *p, struct pol_alias *a, const char *text, const char *where,
		    char *err, size_t errlen);
void pol_alias_free(struct pol_alias *a);

/* "alias:ports" (ports optional when port_optional and text has no ':'). 0 or -EBADMSG. */
int pol_dst_parse(struct wm_policy *p, struct pol_dst *d, const char *text, bool port_optional,
		  const char *where, char *err, size_t errlen);

void pol_dst_free(struct pol_dst *d);

/* Resolves a parsed alias against the compiled nodes (strict: unknown names are errors). */
int pol_alias_resolve(const struct wm_policy *p, struct pol_alias *a, const char *where,
		      char *err, size_t errlen);

/* Whether node i is named by a (as a destination: by name, tag, group, or an address inside). */
bool pol_alias_has(const struct wm_policy *p, const struct pol_alias *a, size_t i);

/* Whether addr (family's bytes) is inside prefix. */
bool pol_prefix_contains(const struct wm_netmap_prefix *pfx, int family, const uint8_t *addr);

/* The ports node i gets from acl: the union of its dsts naming i, into out (room for cap),
 * sorted and merged. Returns the count. */
size_t pol_acl_ports(const struct wm_policy *p, const struct pol_acl *acl, size_t i,
		     struct pol_range *out, size_t cap);

/* The ports acl opens on node i at the destination address addr (family's bytes: one of the
 * node's own, or one behind it), into out as pol_acl_ports. */
size_t pol_acl_ports_at(const struct wm_policy *p, const struct pol_acl *acl, size_t i,
			int family, const uint8_t *addr, struct pol_range *out, size_t cap);

/* Whether destination alias a reaches node i in any way: the node itself, a subnet it routes,
 * or the internet through it. */
bool pol_dst_has(const struct wm_policy *p, const struct pol_alias *a, size_t i);

/* policy_routes.c: gives nodes[0..n) the routes they may serve (approved and advertised, primary
 * or standby: a standby's filter is ready before it takes over; the default routes make an
 * exit node). 0 or -ENOMEM. */
int pol_attach_routes(struct pol_node *nodes, size_t n, const struct wm_store_route *routes,
		      size_t n_routes);

/* Whether two nodes serve the same routes. */
bool pol_same_routes(const struct pol_node *a, const struct pol_node *b);

/* Whether pfx overlaps a subnet route of node i. */
bool pol_routes_overlap(const struct wm_policy *p, size_t i, const struct wm_netmap_prefix *pfx);

/* Whether addr is a destination behind node i: inside its subnet routes, or public when it is
 * an exit node for the family. */
bool pol_behind(const struct wm_policy *p, size_t i, int family, const uint8_t *addr);

/* policy_internet.c: the public address space of family as prefixes (the addresses an exit
 * node serves under autogroup:internet); returns the count (at most POL_INTERNET_MAX). */
size_t pol_internet(int family, const struct wm_netmap_prefix **out);

/* Whether addr is public (inside pol_internet of its family). */
bool pol_is_internet(int family, const uint8_t *addr);

/* policy_auto.c: the "autoApprovers" section, parsed (0 or -EBADMSG), resolved against the
 * compiled nodes (as pol_alias_resolve), and freed. */
int pol_auto_parse(struct wm_policy *p, const json_t *v, char *err, size_t errlen);
int pol_auto_resolve(struct wm_policy *p, char *err, size_t errlen);
void pol_auto_free(struct wm_policy *p);

/* policy_sbuf.c: a growing text buffer; oom set once an allocation failed (then finish gives
 * NULL and frees the text). */
struct pol_sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void pol_sb_put(struct pol_sbuf *b, const char *s, size_t n);
void pol_sb_printf(struct pol_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pol_sb_puts(struct pol_sbuf *b, const char *s);
void pol_sb_uint(struct pol_sbuf *b, unsigned long long v);
char *pol_sb_finish(struct pol_sbuf *b, size_t *len);

/* "*", "tcp", "udp", "icmp"; whether the protocol has ports; "[[lo,hi],…]". */
const char *pol_proto_name(enum wm_policy_proto pr);
bool pol_has_ports(enum wm_policy_proto pr);
void pol_put_ports(struct pol_sbuf *b, const struct pol_range *r, size_t n);

/* Sorts and merges ranges in place; returns the new count. */
size_t pol_ranges_merge(struct pol_range *r, size_t n);

static inline bool pol_bit(const uint64_t *bits, size_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

static inline void pol_set(uint64_t *bits, size_t i)
{
	bits[i / 64] |= UINT64_C(1) << (i % 64);
}

#endif
