/* SPDX-License-Identifier: MIT */
/*
 * Compiling a policy against the mesh's nodes (docs/policy.md, "What a node gets"): every alias
 * resolved to nodes (and prefixes), every ACL to the set of nodes that can be its source, the
 * set it names as destinations, and its source prefixes aggregated and cut into rule-sized
 * JSON chunks once, so that each node's filter is a cheap walk over the ACLs.
 */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord-client/coord_msg.h"

#define WHERE_LEN 96

void pol_compiled_free(struct wm_policy *p)
{
	for (size_t i = 0; i < p->n_acls; i++) {
		struct pol_acl *a = &p->acls[i];

		for (size_t j = 0; j < a->n_chunks; j++)
			free(a->chunk[j]);
		free(a->chunk);
		free(a->chunk_len);
		free(a->src_nodes);
		free(a->dst_nodes);
		free(a->pfx);
		a->chunk = NULL;
		a->chunk_len = NULL;
		a->src_nodes = a->dst_nodes = NULL;
		a->pfx = NULL;
		a->n_chunks = a->n_pfx = 0;
	}
	for (size_t i = 0; i < p->n_groups; i++) {
		free(p->groups[i].bits);
		p->groups[i].bits = NULL;
	}
	for (size_t i = 0; i < p->n_tagdefs; i++) {
		free(p->tagdefs[i].bits);
		p->tagdefs[i].bits = NULL;
	}
	for (size_t i = 0; i < p->n_tags; i++)
		free(p->tags[i]);
	free(p->tags);
	free(p->nodes);
	free(p->by_name);
	p->tags = NULL;
	p->nodes = NULL;
	p->by_name = NULL;
	p->n = p->n_tags = p->words = 0;
	p->compiled = false;
}

/* --- nodes and names ---------------------------------------------------------------------- */

/*
 * The tags of a stored list ("web,tag:db"), as aliases name them ("tag:web", "tag:db"), in
 * out: at most WM_STORE_TAGS_MAX, empty ones skipped. How many.
 */
static size_t tags_split(char out[WM_STORE_TAGS_MAX][POL_TAG_MAX + 1], const char *list)
{
	size_t n = 0;

	while (*list && n < WM_STORE_TAGS_MAX) {
		size_t len = strcspn(list, ",");

		if (len && len <= WM_STORE_TAG_MAX)
			snprintf(out[n++], POL_TAG_MAX + 1, "%s%.*s",
				 strncmp(list, "tag:", 4) ? "tag:" : "", (int)len, list);
		list += len + (list[len] == ',');
	}
	return n;
}

/* A stored list as aliases name its tags: "web,tag:db" gives "tag:web,tag:db". */
static void tag_normal(char out[POL_TAGS_LEN + 1], const char *list)
{
	char tags[WM_STORE_TAGS_MAX][POL_TAG_MAX + 1];
	size_t n = tags_split(tags, list), at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(out + at, POL_TAGS_LEN + 1 - at, "%s%s", i ? "," : "",
				       tags[i]);
}

static void node_from_store(struct pol_node *pn, const struct wm_store_node *n)
{
	struct in_addr a = { .s_addr = htonl(n->ipv4) };
	struct in6_addr a6;

	memset(pn, 0, sizeof(*pn));
	pn->id = n->id;
	snprintf(pn->name, sizeof(pn->name), "%s", n->name);
	tag_normal(pn->tag, n->tag);
	memcpy(pn->v4, &a, 4);
	wm_coord_ipv6_for(&a6, a);
	memcpy(pn->v6, &a6, 16);
}

bool wm_policy_same_nodes(const struct wm_policy *p, const struct wm_store_node *nodes,
			  size_t n, const struct wm_store_route *routes, size_t n_routes)
{
	struct pol_node *fresh;
	bool same = true;

	if (!p->compiled || p->n != n)
		return false;
	if (!(fresh = calloc(n + 1, sizeof(*fresh))))
		return false;
	for (size_t i = 0; i < n; i++)
		node_from_store(&fresh[i], &nodes[i]);
	if (pol_attach_routes(fresh, n, routes, n_routes))
		same = false;
	for (size_t i = 0; same && i < n; i++) {
		const struct pol_node *pn = &fresh[i];

		same = pn->id == p->nodes[i].id && !strcmp(pn->name, p->nodes[i].name) &&
		       !strcmp(pn->tag, p->nodes[i].tag) && !memcmp(pn->v4, p->nodes[i].v4, 4) &&
		       pol_same_routes(pn, &p->nodes[i]);
	}
	free(fresh);
	return same;
}

static int cmp_by_name(const void *a, const void *b, void *arg)
{
	const struct pol_node *nodes = arg;

	return strcmp(nodes[*(const size_t *)a].name, nodes[*(const size_t *)b].name);
}

static int find_node(const struct wm_policy *p, const char *name)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, p->nodes[p->by_name[mid]].name);

		if (!c)
			return (int)p->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int find_tag(const struct wm_policy *p, const char *name)
{
	char *const *t = p->n_tags ? bsearch(&name, p->tags, p->n_tags, sizeof(*p->tags), cmp_str)
				   : NULL;

	return t ? (int)(t - p->tags) : -1;
}

/* Every tag a node carries or "tags" declares, sorted and unique; each node's index in it. */
static int tag_table(struct wm_policy *p)
{
	size_t n = 0;

	char tags[WM_STORE_TAGS_MAX][POL_TAG_MAX + 1];

	p->tags = calloc(p->n * WM_STORE_TAGS_MAX + p->n_tagdefs + 1, sizeof(*p->tags));
	if (!p->tags)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_tagdefs; i++)
		if (!(p->tags[n++] = strdup(p->tagdefs[i].name)))
			goto nomem;
	for (size_t i = 0; i < p->n; i++) {
		size_t k = tags_split(tags, p->nodes[i].tag);

		for (size_t j = 0; j < k; j++)
			if (!(p->tags[n++] = strdup(tags[j])))
				goto nomem;
	}
	qsort(p->tags, n, sizeof(*p->tags), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (p->n_tags && !strcmp(p->tags[p->n_tags - 1], p->tags[i]))
			free(p->tags[i]);
		else
			p->tags[p->n_tags++] = p->tags[i];
	}
	for (size_t i = 0; i < p->n; i++) {
		struct pol_node *pn = &p->nodes[i];
		size_t k = tags_split(tags, pn->tag);

		pn->n_tag_idx = 0;
		for (size_t j = 0; j < k; j++) {
			int t = find_tag(p, tags[j]);

			if (t >= 0)
				pn->tag_idx[pn->n_tag_idx++] = t;
		}
	}
	return 0;
nomem:
	p->n_tags = n;
	return -ENOMEM;
}

static bool known_tag(const struct wm_policy *p, const char *tag)
{
	char tags[WM_STORE_TAGS_MAX][POL_TAG_MAX + 1];

	for (size_t i = 0; i < p->n_known; i++) {
		size_t k = tags_split(tags, p->known[i] ? p->known[i] : "");

		for (size_t j = 0; j < k; j++)
			if (!strcmp(tags[j], tag))
				return true;
	}
	return false;
}

int pol_alias_resolve(const struct wm_policy *p, struct pol_alias *a, const char *where,
		      char *err, size_t errlen)
{
	if (a->kind == AL_NODE) {
		a->node = find_node(p, a->text);
		if (a->node < 0 && p->strict)
			return pol_fail(err, errlen, "%s: unknown alias \"%s\" (no node, host or group has that name)",
				    where, a->text);
	} else if (a->kind == AL_TAG) {
		a->tag = find_tag(p, a->text);
		if (a->tag < 0 && p->strict && !known_tag(p, a->text))
			return pol_fail(err, errlen, "%s: unknown tag \"%s\" (no node or auth key carries it; declare it in \"tags\" to use it first)",
				    where, a->text);
	}
	return 0;
}

bool pol_prefix_contains(const struct wm_netmap_prefix *pfx, int family, const uint8_t *addr)
{
	unsigned int full = pfx->cidr / 8, rest = pfx->cidr % 8;

	if (pfx->family != family || memcmp(pfx->addr, addr, full))
		return false;
	return !rest || !((pfx->addr[full] ^ addr[full]) & (0xff00 >> rest));
}

bool pol_alias_has(const struct wm_policy *p, const struct pol_alias *a, size_t i)
{
	const struct pol_node *n = &p->nodes[i];

	switch (a->kind) {
	case AL_ALL:
		return true;
	case AL_NODE:
		return a->node == (int)i;
	case AL_TAG:
		for (size_t t = 0; a->tag >= 0 && t < n->n_tag_idx; t++)
			if (n->tag_idx[t] == a->tag)
				return true;
		return a->group >= 0 && pol_bit(p->tagdefs[a->group].bits, i);
	case AL_GROUP:
		return pol_bit(p->groups[a->group].bits, i);
	case AL_PREFIX:
		return pol_prefix_contains(&a->pfx, AF_INET, n->v4) ||
		       pol_prefix_contains(&a->pfx, AF_INET6, n->v6);
	case AL_INTERNET:
		return false;	/* no node is the internet; exit nodes serve it (pol_dst_has) */
	}
	return false;
}

/* Sets the bit of every node a names. */
static void alias_nodes(const struct wm_policy *p, const struct pol_alias *a, uint64_t *bits)
{
	if (a->kind == AL_NODE) {
		if (a->node >= 0)
			pol_set(bits, (size_t)a->node);
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		if (pol_alias_has(p, a, i))
			pol_set(bits, i);
}

size_t pol_acl_ports(const struct wm_policy *p, const struct pol_acl *acl, size_t i,
		     struct pol_range *out, size_t cap)
{
	size_t n = 0;

	for (size_t j = 0; j < acl->n_dst; j++) {
		const struct pol_dst *d = &acl->dst[j];

		if (!pol_alias_has(p, &d->a, i))
			continue;
		for (size_t k = 0; k < d->n_ports && n < cap; k++)
			out[n++] = d->ports[k];
	}
	return pol_ranges_merge(out, n);
}

/* --- source prefixes ---------------------------------------------------------------------- */

static int cmp_prefix(const void *a, const void *b)
{
	const struct wm_netmap_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	return c ? c : (x->cidr < y->cidr ? -1 : x->cidr > y->cidr);
}

static bool prefix_covers(const struct wm_netmap_prefix *outer, const struct wm_netmap_prefix *in)
{
	return outer->cidr <= in->cidr && pol_prefix_contains(outer, in->family, in->addr);
}

/* a and b are the two halves of one prefix (a the lower). */
static bool siblings(const struct wm_netmap_prefix *a, const struct wm_netmap_prefix *b)
{
	struct wm_netmap_prefix parent = *a;
	unsigned int bit;
	uint8_t mask;

	if (a->family != b->family || a->cidr != b->cidr || !a->cidr)
		return false;
	bit = a->cidr - 1u;
	mask = (uint8_t)(0x80 >> (bit % 8));
	parent.cidr = (uint8_t)bit;
	return !(a->addr[bit / 8] & mask) && (b->addr[bit / 8] & mask) &&
	       pol_prefix_contains(&parent, b->family, b->addr);
}

/* Sorts, drops prefixes inside others, joins halves into wholes. Returns the new count. */
static size_t aggregate(struct wm_netmap_prefix *v, size_t n)
{
	size_t out = 0;

	qsort(v, n, sizeof(*v), cmp_prefix);
	for (size_t i = 0; i < n; i++) {
		if (out && prefix_covers(&v[out - 1], &v[i]))
			continue;
		v[out++] = v[i];
		while (out >= 2 && siblings(&v[out - 2], &v[out - 1])) {
			unsigned int bit = v[out - 2].cidr - 1u;

			v[out - 2].cidr = (uint8_t)bit;
			out--;
		}
	}
	return out;
}

static void node_prefixes(const struct pol_node *n, struct wm_netmap_prefix out[2])
{
	memset(out, 0, 2 * sizeof(*out));
	out[0].family = AF_INET;
	memcpy(out[0].addr, n->v4, 4);
	out[0].cidr = 32;
	out[1].family = AF_INET6;
	memcpy(out[1].addr, n->v6, 16);
	out[1].cidr = 128;
}

/* The ACL's source prefixes: the addresses of the nodes it names, and its prefixes. */
static int acl_prefixes(struct wm_policy *p, struct pol_acl *acl, uint64_t *named)
{
	size_t cap = 2 * (p->n + acl->n_src) + 1, n = 0;
	struct wm_netmap_prefix *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	memset(named, 0, p->words * sizeof(*named));
	for (size_t j = 0; j < acl->n_src; j++) {
		const struct pol_alias *a = &acl->src[j];

		if (a->kind == AL_PREFIX) {
			v[n++] = a->pfx;
		} else if (a->kind == AL_ALL) {
			v[n].family = AF_INET;
			v[n++].cidr = 0;
			v[n].family = AF_INET6;
			v[n++].cidr = 0;
		} else {
			alias_nodes(p, a, named);
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (pol_bit(named, i)) {
			node_prefixes(&p->nodes[i], &v[n]);
			n += 2;
		}
	acl->n_pfx = aggregate(v, n);
	/* Room was made for every node; "*" or a tag of neighbours keeps a few. */
	acl->pfx = realloc(v, (acl->n_pfx + 1) * sizeof(*v)) ?: v;
	return 0;
}

/* acl->pfx as JSON arrays of at most WM_POLICY_RULE_SRC_MAX: ["100.64.0.2/31","fd77:…/127"]. */
static int acl_chunks(struct pol_acl *acl)
{
	size_t per = WM_POLICY_RULE_SRC_MAX, n = (acl->n_pfx + per - 1) / per;

	acl->chunk = calloc(n + 1, sizeof(*acl->chunk));
	acl->chunk_len = calloc(n + 1, sizeof(*acl->chunk_len));
	if (!acl->chunk || !acl->chunk_len)
		return -ENOMEM;
	for (size_t c = 0; c < n; c++) {
		size_t first = c * per, last = first + per < acl->n_pfx ? first + per : acl->n_pfx;
		char *s = malloc((last - first) * (INET6_ADDRSTRLEN + 8) + 3), *q = s;

		if (!s)
			return -ENOMEM;
		acl->chunk[acl->n_chunks++] = s;
		*q++ = '[';
		for (size_t k = first; k < last; k++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(acl->pfx[k].family, acl->pfx[k].addr, a, sizeof(a));
			q += sprintf(q, "%s\"%s/%u\"", k > first ? "," : "", a, acl->pfx[k].cidr);
		}
		*q++ = ']';
		*q = '\0';
		acl->chunk_len[c] = (size_t)(q - s);
	}
	return 0;
}

/* --- compiling ---------------------------------------------------------------------------- */

static uint64_t *bits_new(const struct wm_policy *p)
{
	return calloc(p->words ? p->words : 1, sizeof(uint64_t));
}

/* Names of tags, groups and hosts first: ACLs and tests refer to them. */
static int compile_names(struct wm_policy *p, char *err, size_t errlen)
{
	char where[WHERE_LEN];
	int ret;

	for (size_t i = 0; p->strict && i < p->n_hosts; i++)
		if (find_node(p, p->hosts[i].name) >= 0)
			return pol_fail(err, errlen, "hosts[\"%s\"]: \"%s\" is also a node's name (rename the host)",
				    p->hosts[i].name, p->hosts[i].name);
	for (size_t i = 0; i < p->n_tagdefs; i++) {
		struct pol_tagdef *t = &p->tagdefs[i];

		if (!(t->bits = bits_new(p)))
			return -ENOMEM;
		for (size_t j = 0; j < t->n; j++) {
			snprintf(where, sizeof(where), "tags[\"%s\"][%zu]", t->name, j);
			if ((ret = pol_alias_resolve(p, &t->nodes[j], where, err, errlen)))
				return ret;
			alias_nodes(p, &t->nodes[j], t->bits);
		}
	}
	for (size_t i = 0; i < p->n_groups; i++) {
		struct pol_group *g = &p->groups[i];

		if (!(g->bits = bits_new(p)))
			return -ENOMEM;
		for (size_t j = 0; j < g->n; j++) {
			snprintf(where, sizeof(where), "groups[\"%s\"][%zu]", g->name, j);
			if ((ret = pol_alias_resolve(p, &g->members[j], where, err, errlen)))
				return ret;
			alias_nodes(p, &g->members[j], g->bits);
		}
	}
	return 0;
}

static int compile_acl(struct wm_policy *p, size_t idx, uint64_t *scratch, char *err,
		       size_t errlen)
{
	struct pol_acl *acl = &p->acls[idx];
	char where[WHERE_LEN];
	int ret;

	if (!(acl->src_nodes = bits_new(p)) || !(acl->dst_nodes = bits_new(p)))
		return -ENOMEM;
	for (size_t j = 0; j < acl->n_src; j++) {
		snprintf(where, sizeof(where), "acls[%zu].src[%zu]", idx, j);
		if ((ret = pol_alias_resolve(p, &acl->src[j], where, err, errlen)))
			return ret;
		alias_nodes(p, &acl->src[j], acl->src_nodes);
	}
	for (size_t j = 0; j < acl->n_dst; j++) {
		snprintf(where, sizeof(where), "acls[%zu].dst[%zu]", idx, j);
		if ((ret = pol_alias_resolve(p, &acl->dst[j].a, where, err, errlen)))
			return ret;
		if (acl->dst[j].a.kind == AL_NODE) {
			alias_nodes(p, &acl->dst[j].a, acl->dst_nodes);
			continue;
		}
		for (size_t i = 0; i < p->n; i++)
			if (pol_dst_has(p, &acl->dst[j].a, i))
				pol_set(acl->dst_nodes, i);
	}
	if ((ret = acl_prefixes(p, acl, scratch)) || (ret = acl_chunks(acl)))
		return ret;
	return 0;
}

static int compile_test(struct wm_policy *p, size_t idx, char *err, size_t errlen)
{
	struct pol_test *t = &p->tests[idx];
	char where[WHERE_LEN];
	int ret;

	snprintf(where, sizeof(where), "tests[%zu].src", idx);
	if ((ret = pol_alias_resolve(p, &t->src, where, err, errlen)))
		return ret;
	for (size_t j = 0; j < t->n_accept + t->n_deny; j++) {
		bool acc = j < t->n_accept;
		size_t k = acc ? j : j - t->n_accept;

		snprintf(where, sizeof(where), "tests[%zu].%s[%zu]", idx, acc ? "accept" : "deny", k);
		ret = pol_alias_resolve(p, acc ? &t->accept[k].a : &t->deny[k].a, where, err,
					errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* Strict: every node's filter must fit the bounds the node accepts. */
static int check_filters(const struct wm_policy *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < p->n; i++) {
		bool truncated = false;
		size_t len;
		char *text = wm_policy_filter(p, i, &len, &truncated);

		free(text);
		if (!text)
			return -ENOMEM;
		if (truncated)
			return pol_fail(err, errlen, "node \"%s\": its filter would be over the bounds (%d rules of at most %d sources and %d port ranges, %u bytes); use fewer ACLs or prefixes that cover more nodes",
				    p->nodes[i].name, WM_POLICY_MAX_RULES, WM_POLICY_RULE_SRC_MAX,
				    WM_POLICY_RULE_PORTS_MAX, WM_PACKET_FILTER_MAX);
	}
	return 0;
}

int wm_policy_compile(struct wm_policy *p, const struct wm_store_node *nodes, size_t n,
		      const struct wm_store_route *routes, size_t n_routes,
		      const char *const *known_tags, size_t n_known, bool strict, char *err,
		      size_t errlen)
{
	uint64_t *scratch = NULL;
	int ret = -ENOMEM;

	pol_compiled_free(p);
	p->strict = strict;
	p->n = n;
	p->words = (n + 63) / 64;
	p->nodes = calloc(n + 1, sizeof(*p->nodes));
	p->by_name = calloc(n + 1, sizeof(*p->by_name));
	if (!p->nodes || !p->by_name)
		goto out;
	for (size_t i = 0; i < n; i++) {
		node_from_store(&p->nodes[i], &nodes[i]);
		p->by_name[i] = i;
	}
	qsort_r(p->by_name, n, sizeof(*p->by_name), cmp_by_name, p->nodes);
	if ((ret = pol_attach_routes(p->nodes, n, routes, n_routes)) || (ret = tag_table(p)))
		goto out;
	p->known = known_tags;
	p->n_known = n_known;
	if ((ret = compile_names(p, err, errlen)) || (ret = pol_auto_resolve(p, err, errlen)))
		goto out;
	if (!(scratch = bits_new(p))) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n_acls; i++)
		if ((ret = compile_acl(p, i, scratch, err, errlen)))
			goto out;
	for (size_t i = 0; i < p->n_tests; i++)
		if ((ret = compile_test(p, i, err, errlen)))
			goto out;
	p->compiled = true;
	if (strict)
		ret = check_filters(p, err, errlen);
out:
	p->known = NULL;
	p->n_known = 0;
	free(scratch);
	if (ret == -ENOMEM)
		pol_fail(err, errlen, "out of memory");
	if (ret)
		pol_compiled_free(p);
	return ret;
}

int wm_policy_idle_acl(const struct wm_policy *p, size_t start)
{
	for (size_t i = start; p->compiled && i < p->n_acls; i++) {
		bool any = false;

		for (size_t w = 0; w < p->words; w++)
			any |= p->acls[i].dst_nodes[w] != 0;
		if (!any)
			return (int)i;
	}
	return -1;
}
