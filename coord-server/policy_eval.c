/* SPDX-License-Identifier: MIT */
/*
 * The questions asked of a compiled policy: the file's tests and `policy explain`. They decide
 * from the same per-node rules the filter is made of (policy_filter.c): for a destination
 * node or an address behind it, the ACLs whose sources hold the address asking, their protocol
 * and the ports their entries open there.
 */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLAIN_MAX_LINES 1000

/* --- deciding ----------------------------------------------------------------------------- */

/* One source address of a test or explain, and the node it belongs to (-1: none). */
struct source {
	int family;
	const uint8_t *addr;
	int node;
};

static bool acl_from(const struct pol_acl *acl, const struct source *s)
{
	for (size_t k = 0; k < acl->n_pfx; k++)
		if (pol_prefix_contains(&acl->pfx[k], s->family, s->addr))
			return true;
	return false;
}

/* Whether ACL i is one of node's rules for traffic from s over proto. */
static bool applies(const struct wm_policy *p, size_t i, size_t node, const struct source *s,
		    enum wm_policy_proto proto)
{
	const struct pol_acl *acl = &p->acls[i];

	return pol_bit(acl->dst_nodes, node) &&
	       (acl->proto == WM_POLICY_ANY || acl->proto == proto) && acl_from(acl, s);
}

/* Whether some dst entry of acl opens daddr on node (whatever its ports). */
static bool opens_anything(const struct wm_policy *p, const struct pol_acl *acl, size_t node,
			   int family, const uint8_t *daddr)
{
	struct pol_range one;

	for (size_t j = 0; j < acl->n_dst; j++) {
		const struct pol_acl single = { .dst = &acl->dst[j], .n_dst = 1 };

		if (pol_acl_ports_at(p, &single, node, family, daddr, &one, 1))
			return true;
	}
	return false;
}

/* The first ACL letting s reach node over proto on a port of want (any port when icmp), with
 * the port in *port; -1 when none does. */
static int first_allowing(const struct wm_policy *p, size_t node, const uint8_t *daddr,
			  const struct source *s, enum wm_policy_proto proto,
			  const struct pol_dst *want, struct pol_range *scratch, long *port)
{
	for (size_t i = 0; i < p->n_acls; i++) {
		size_t np;

		if (!applies(p, i, node, s, proto))
			continue;
		*port = want->ports[0].lo;
		if (!opens_anything(p, &p->acls[i], node, s->family, daddr))
			continue;
		if (!pol_has_ports(proto) || p->acls[i].proto == WM_POLICY_ANY)
			return (int)i;
		np = pol_acl_ports_at(p, &p->acls[i], node, s->family, daddr, scratch,
				      p->max_ports);
		for (size_t a = 0; a < np; a++)
			for (size_t w = 0; w < want->n_ports; w++) {
				uint16_t lo = scratch[a].lo > want->ports[w].lo ? scratch[a].lo
										: want->ports[w].lo;

				if (lo <= scratch[a].hi && lo <= want->ports[w].hi) {
					*port = lo;
					return (int)i;
				}
			}
	}
	return -1;
}

/* Ranges gathered from several ACLs. */
struct ranges {
	struct pol_range *r;
	size_t n, cap;
};

/* The first port of want that no ACL lets s reach on node over proto, or -1 when all are
 * allowed (for icmp: -1 when any ACL allows it); -2 when out of memory. */
static long first_denied(const struct wm_policy *p, size_t node, const uint8_t *daddr,
			 const struct source *s, enum wm_policy_proto proto,
			 const struct pol_dst *want, struct pol_range *scratch, struct ranges *all)
{
	size_t a = 0;

	all->n = 0;
	for (size_t i = 0; i < p->n_acls; i++) {
		size_t np;

		if (!applies(p, i, node, s, proto))
			continue;
		np = pol_acl_ports_at(p, &p->acls[i], node, s->family, daddr, scratch,
				      p->max_ports);
		if (!np && !opens_anything(p, &p->acls[i], node, s->family, daddr))
			continue;
		if (!pol_has_ports(proto) || p->acls[i].proto == WM_POLICY_ANY)
			return -1;
		if (all->n + np > all->cap) {
			size_t cap = (all->n + np) * 2;
			struct pol_range *grown = realloc(all->r, cap * sizeof(*grown));

			if (!grown)
				return -2;
			all->r = grown;
			all->cap = cap;
		}
		memcpy(all->r + all->n, scratch, np * sizeof(*scratch));
		all->n = pol_ranges_merge(all->r, all->n + np);
	}
	/* Both sorted: walk want's ranges along the allowed ones. */
	for (size_t w = 0; w < want->n_ports; w++) {
		uint32_t cur = want->ports[w].lo;

		while (cur <= want->ports[w].hi) {
			while (a < all->n && all->r[a].hi < cur)
				a++;
			if (a == all->n || all->r[a].lo > cur)
				return cur;
			cur = all->r[a].hi + 1u;
		}
	}
	return -1;
}

/* The addresses a test's or explain's source stands for (room for 2 * n + 1). */
static size_t sources(const struct wm_policy *p, const struct pol_alias *a, struct source *out)
{
	size_t n = 0;

	if (a->kind == AL_PREFIX) {
		out[0] = (struct source){ a->pfx.family, a->pfx.addr, -1 };
		for (size_t i = 0; i < p->n; i++)
			if (!memcmp(a->pfx.family == AF_INET ? p->nodes[i].v4 : p->nodes[i].v6,
				    a->pfx.addr, a->pfx.family == AF_INET ? 4 : 16))
				out[0].node = (int)i;
		return 1;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!pol_alias_has(p, a, i))
			continue;
		out[n++] = (struct source){ AF_INET, p->nodes[i].v4, (int)i };
		out[n++] = (struct source){ AF_INET6, p->nodes[i].v6, (int)i };
	}
	return n;
}

/* --- tests -------------------------------------------------------------------------------- */

struct work {
	struct source *src;
	struct pol_range *ports;
	struct ranges all;
};

/*
 * Where entry e's traffic from s goes on node d: d's own address of s's family when e names d,
 * else e's address when it is behind d (a subnet d routes, the internet through it); NULL when
 * d is not a destination of e for s.
 */
static const uint8_t *test_destination(const struct wm_policy *p, const struct pol_dst *e,
				       size_t d, const struct source *s)
{
	const struct pol_node *n = &p->nodes[d];

	if (pol_alias_has(p, &e->a, d))
		return s->family == AF_INET ? n->v4 : n->v6;
	if (e->a.kind == AL_PREFIX && e->a.pfx.family == s->family &&
	    pol_behind(p, d, s->family, e->a.pfx.addr))
		return e->a.pfx.addr;
	return NULL;
}

static int run_entry(const struct wm_policy *p, const struct pol_test *t, size_t ti,
		     const struct pol_dst *e, size_t ei, bool accept, struct work *wk,
		     size_t n_src, char *err, size_t errlen)
{
	const char *list = accept ? "accept" : "deny";
	size_t pairs = 0, dsts = 0;
	char addr[INET6_ADDRSTRLEN], to[WM_NETMAP_NAME_MAX + INET6_ADDRSTRLEN + 8];
	char port_text[24] = "";

	if (e->a.kind == AL_INTERNET) {
		snprintf(err, errlen, "tests[%zu].%s[%zu]: test a public address (\"198.51.100.1:443\") rather than autogroup:internet",
			 ti, list, ei);
		return -EBADMSG;
	}
	for (size_t d = 0; d < p->n; d++) {
		bool named = false;

		for (size_t k = 0; k < n_src; k++) {
			const struct source *s = &wk->src[k];
			const uint8_t *daddr = test_destination(p, e, d, s);
			long port = -1;
			int acl = -1;

			if (!daddr)
				continue;
			named = true;
			if (s->node == (int)d)
				continue;
			pairs++;
			if (accept)
				port = first_denied(p, d, daddr, s, t->proto, e, wk->ports, &wk->all);
			else
				acl = first_allowing(p, d, daddr, s, t->proto, e, wk->ports, &port);
			if (port == -2)
				return -ENOMEM;
			if (accept ? port < 0 : acl < 0)
				continue;
			inet_ntop(s->family, s->addr, addr, sizeof(addr));
			if (pol_has_ports(t->proto))
				snprintf(port_text, sizeof(port_text), ", port %ld", port);
			if (pol_alias_has(p, &e->a, d))
				snprintf(to, sizeof(to), "%s", p->nodes[d].name);
			else
				snprintf(to, sizeof(to), "%s via %s", e->a.text, p->nodes[d].name);
			if (accept) {
				snprintf(err, errlen, "tests[%zu].accept[%zu]: expected \"%s\" (%s) to be accepted from \"%s\", but no ACL allows it (%s to %s%s)",
					 ti, ei, e->text, pol_proto_name(t->proto), t->src.text, addr, to,
					 port_text);
				return -EBADMSG;
			}
			snprintf(err, errlen, "tests[%zu].deny[%zu]: expected \"%s\" (%s) to be denied from \"%s\", but acls[%d] allows it (%s to %s%s)",
				 ti, ei, e->text, pol_proto_name(t->proto), t->src.text, acl, addr, to,
				 port_text);
			return -EBADMSG;
		}
		dsts += named;
	}
	if (!dsts) {
		snprintf(err, errlen, "tests[%zu].%s[%zu]: \"%s\" is no node, nor behind one (nothing to test)",
			 ti, list, ei, e->a.text);
		return -EBADMSG;
	}
	if (!pairs) {
		snprintf(err, errlen, "tests[%zu].%s[%zu]: the source is the destination itself (nothing to test)",
			 ti, list, ei);
		return -EBADMSG;
	}
	return 0;
}

int wm_policy_run_tests(const struct wm_policy *p, char *err, size_t errlen)
{
	struct work wk = {
		.src = calloc(2 * p->n + 1, sizeof(*wk.src)),
		.ports = calloc(p->max_ports + 1, sizeof(*wk.ports)),
	};
	int ret = 0;

	if (!wk.src || !wk.ports) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	}
	for (size_t ti = 0; !ret && p->compiled && ti < p->n_tests; ti++) {
		const struct pol_test *t = &p->tests[ti];
		size_t n_src = sources(p, &t->src, wk.src);

		if (!n_src) {
			snprintf(err, errlen, "tests[%zu].src: \"%s\" is no node", ti, t->src.text);
			ret = -EBADMSG;
		}
		for (size_t e = 0; !ret && e < t->n_accept; e++)
			ret = run_entry(p, t, ti, &t->accept[e], e, true, &wk, n_src, err, errlen);
		for (size_t e = 0; !ret && e < t->n_deny; e++)
			ret = run_entry(p, t, ti, &t->deny[e], e, false, &wk, n_src, err, errlen);
	}
	free(wk.src);
	free(wk.ports);
	free(wk.all.r);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return ret;
}

/* --- explain ------------------------------------------------------------------------------ */

static void explain_line(const struct wm_policy *p, struct pol_sbuf *b, const char *who,
			 const char *dst, const char *via, int port, enum wm_policy_proto proto,
			 int acl)
{
	char where[32] = "";

	if (pol_has_ports(proto))
		snprintf(where, sizeof(where), ":%d", port);
	pol_sb_printf(b, "%s -> %s%s%s%s (%s): ", who, dst, where, via ? " via " : "", via ? via : "",
		  pol_proto_name(proto));
	if (acl < 0) {
		pol_sb_printf(b, "denied: no ACL allows it\n");
		return;
	}
	pol_sb_printf(b, "allowed by acls[%d]: ", acl);
	pol_sb_put(b, p->acls[acl].text, strlen(p->acls[acl].text));
	pol_sb_put(b, "\n", 1);
}

static const uint8_t *own_of(const struct wm_policy *p, size_t d, int family)
{
	return family == AF_INET ? p->nodes[d].v4 : p->nodes[d].v6;
}

/* Lines for a destination address behind routers (a LAN host, a public address through an exit
 * node): one per router serving it and source address of its family. Returns the count. */
static size_t explain_behind(const struct wm_policy *p, struct pol_sbuf *b, const struct pol_dst *da,
			     const struct source *s, size_t n_src, enum wm_policy_proto proto,
			     int port, struct pol_range *scratch)
{
	char who[WM_NETMAP_NAME_MAX + INET6_ADDRSTRLEN + 4];
	char addr[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	size_t lines = 0;

	if (da->a.kind != AL_PREFIX)
		return 0;
	inet_ntop(da->a.pfx.family, da->a.pfx.addr, dst, sizeof(dst));
	for (size_t d = 0; d < p->n && lines < EXPLAIN_MAX_LINES; d++) {
		for (size_t k = 0; k < n_src && lines < EXPLAIN_MAX_LINES; k++) {
			long unused;
			int acl;

			if (s[k].node == (int)d || pol_alias_has(p, &da->a, d) ||
			    !test_destination(p, da, d, &s[k]))
				continue;
			acl = first_allowing(p, d, da->a.pfx.addr, &s[k], proto, da, scratch, &unused);
			inet_ntop(s[k].family, s[k].addr, addr, sizeof(addr));
			if (s[k].node >= 0)
				snprintf(who, sizeof(who), "%s (%s)", p->nodes[s[k].node].name, addr);
			else
				snprintf(who, sizeof(who), "%s", addr);
			explain_line(p, b, who, dst, p->nodes[d].name, port, proto, acl);
			lines++;
		}
	}
	return lines;
}

/* Resolves an alias typed on the command line; -EBADMSG when it names nothing. */
static int explain_alias(struct wm_policy *p, struct pol_alias *a, const char *what, char *err,
			 size_t errlen)
{
	bool strict = p->strict;

	p->strict = false;
	pol_alias_resolve(p, a, what, err, errlen);
	p->strict = strict;
	if ((a->kind == AL_NODE && a->node < 0) ||
	    (a->kind == AL_TAG && a->tag < 0 && a->group < 0)) {
		snprintf(err, errlen, "%s: no node %s \"%s\"", what,
			 a->kind == AL_NODE ? "is named" : "carries", a->text);
		return -EBADMSG;
	}
	return 0;
}

int wm_policy_explain(struct wm_policy *p, const char *src, const char *dst,
		      enum wm_policy_proto proto, char **out, char *err, size_t errlen)
{
	struct pol_alias sa;
	struct pol_dst da;
	struct source *s = NULL;
	struct pol_range *scratch = NULL;
	struct pol_sbuf b = { 0 };
	size_t refs = p->refs, n_src, lines = 0, more = 0;
	int ret, port = 0;

	*out = NULL;
	ret = pol_alias_parse(p, &sa, src, "SRC", err, errlen);
	if (ret)
		goto parsed;
	ret = pol_dst_parse(p, &da, dst, proto == WM_POLICY_ICMP, "DST", err, errlen);
	if (ret) {
		pol_dst_free(&da);
		goto parsed;
	}
	if (pol_has_ports(proto) && (da.n_ports != 1 || da.ports[0].lo != da.ports[0].hi)) {
		snprintf(err, errlen, "DST: give one port (%s wants DST:PORT)", pol_proto_name(proto));
		ret = -EBADMSG;
	}
	port = da.n_ports ? da.ports[0].lo : 0;
	if (!ret && (sa.kind == AL_ALL || (sa.kind == AL_PREFIX &&
					   sa.pfx.cidr != (sa.pfx.family == AF_INET ? 32 : 128)))) {
		snprintf(err, errlen, "SRC: give a node, tag, group or one address, not \"%s\"", src);
		ret = -EBADMSG;
	}
	if (!ret && !(ret = explain_alias(p, &sa, "SRC", err, errlen)))
		ret = explain_alias(p, &da.a, "DST", err, errlen);
	if (!ret) {
		s = calloc(2 * p->n + 1, sizeof(*s));
		scratch = calloc(p->max_ports + 1, sizeof(*scratch));
		ret = s && scratch ? 0 : -ENOMEM;
	}
	n_src = ret ? 0 : sources(p, &sa, s);
	if (!ret)
		lines += explain_behind(p, &b, &da, s, n_src, proto, port, scratch);
	for (size_t d = 0; !ret && d < p->n; d++) {
		if (!pol_alias_has(p, &da.a, d))
			continue;
		for (size_t k = 0; k < n_src; k++) {
			char who[WM_NETMAP_NAME_MAX + INET6_ADDRSTRLEN + 4], addr[INET6_ADDRSTRLEN];
			long unused;
			int acl, acl6 = -2;

			if (s[k].node == (int)d)
				continue;
			acl = first_allowing(p, d, own_of(p, d, s[k].family), &s[k], proto, &da,
					     scratch, &unused);
			/* A node's two addresses on one line when they get the same answer. */
			if (sa.kind != AL_PREFIX)
				acl6 = first_allowing(p, d, own_of(p, d, s[k + 1].family), &s[k + 1],
						      proto, &da, scratch, &unused);
			if (lines++ >= EXPLAIN_MAX_LINES) {
				more++;
				k += sa.kind != AL_PREFIX;
				continue;
			}
			inet_ntop(s[k].family, s[k].addr, addr, sizeof(addr));
			if (sa.kind == AL_PREFIX) {
				explain_line(p, &b, src, p->nodes[d].name, NULL, port, proto, acl);
				continue;
			}
			k++;
			if (acl == acl6) {
				explain_line(p, &b, p->nodes[s[k].node].name, p->nodes[d].name,
					     NULL, port, proto, acl);
				continue;
			}
			snprintf(who, sizeof(who), "%s (%s)", p->nodes[s[k].node].name, addr);
			explain_line(p, &b, who, p->nodes[d].name, NULL, port, proto, acl);
			inet_ntop(s[k].family, s[k].addr, addr, sizeof(addr));
			snprintf(who, sizeof(who), "%s (%s)", p->nodes[s[k].node].name, addr);
			explain_line(p, &b, who, p->nodes[d].name, NULL, port, proto, acl6);
		}
	}
	if (more)
		pol_sb_printf(&b, "… and %zu more\n", more);
	if (!ret && !lines) {
		snprintf(err, errlen, "nothing to explain: the source is the destination");
		ret = -EBADMSG;
	}
	free(s);
	free(scratch);
	pol_dst_free(&da);
parsed:
	pol_alias_free(&sa);
	p->refs = refs;
	if (ret)
		free(b.p);
	else if (!(*out = pol_sb_finish(&b, NULL)))
		ret = -ENOMEM;
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return ret;
}
