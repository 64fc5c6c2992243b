/* SPDX-License-Identifier: MIT */
/*
 * What a compiled policy gives each node (docs/policy.md, "What a node gets"): its
 * packet_filter — the rules for traffic to it or through it, one per destination an ACL opens
 * there — and the peers it sees.
 */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_RESERVE 8		/* "]}}" and the NUL after the last entry */

/* --- the filter --------------------------------------------------------------------------- */

/* The end of a rule or reach entry: "proto":…,"ports":[…],"acl":N}. */
static void put_proto_ports(struct pol_sbuf *b, enum wm_policy_proto proto,
			    const struct pol_range *r, size_t n, size_t acl)
{
	pol_sb_puts(b, "\"proto\":\"");
	pol_sb_puts(b, pol_proto_name(proto));
	pol_sb_puts(b, "\",\"ports\":");
	pol_put_ports(b, r, n);
	pol_sb_puts(b, ",\"acl\":");
	pol_sb_uint(b, acl);
	pol_sb_put(b, "}", 1);
}

/*
 * The destinations an ACL opens on a node, each becoming rules of its own with the ports its
 * entries give it: the node itself (the entries that name it), everything ("*"), the public
 * internet (autogroup:internet, on an exit node), and the subnets a prefix entry overlaps (one
 * target per entry). Kept apart so a port opened on the router does not open its LAN.
 */
enum target_kind {
	T_SELF,
	T_ALL,
	T_INTERNET,
	T_SUBNET,
};

struct target {
	enum target_kind kind;
	const struct pol_dst *entry;	/* T_SUBNET */
};

static void put_prefix(struct pol_sbuf *b, const struct wm_netmap_prefix *pfx, bool first)
{
	char text[WM_NETMAP_PREFIX_TEXT_MAX];

	wm_netmap_prefix_format(pfx, text, sizeof(text));
	pol_sb_puts(b, first ? "\"" : ",\"");
	pol_sb_puts(b, text);
	pol_sb_put(b, "\"", 1);
}

/* "dst":[…], for target t of node (its prefixes are the narrower of entry and route). */
static void put_dst(struct pol_sbuf *b, const struct wm_policy *p, size_t node,
		    const struct target *t)
{
	const struct pol_node *n = &p->nodes[node];
	const struct wm_netmap_prefix *net;
	struct wm_netmap_prefix own;
	bool first = true;

	pol_sb_puts(b, "\"dst\":[");
	switch (t->kind) {
	case T_ALL:
		pol_sb_puts(b, "\"*\"");
		break;
	case T_SELF:
		own = (struct wm_netmap_prefix){ .family = AF_INET, .cidr = 32 };
		memcpy(own.addr, n->v4, 4);
		put_prefix(b, &own, true);
		own = (struct wm_netmap_prefix){ .family = AF_INET6, .cidr = 128 };
		memcpy(own.addr, n->v6, 16);
		put_prefix(b, &own, false);
		break;
	case T_INTERNET:
		for (int f = 0; f < 2; f++) {
			size_t k = (f ? n->exit6 : n->exit4) ? pol_internet(f ? AF_INET6 : AF_INET, &net) : 0;

			for (size_t i = 0; i < k; i++, first = false)
				put_prefix(b, &net[i], first);
		}
		break;
	case T_SUBNET:
		for (size_t r = 0; r < n->n_routes; r++) {
			const struct wm_netmap_prefix *rt = &n->routes[r], *pfx = &t->entry->a.pfx;

			if (pol_prefix_contains(pfx, rt->family, rt->addr) && pfx->cidr <= rt->cidr)
				put_prefix(b, rt, first);
			else if (pol_prefix_contains(rt, pfx->family, pfx->addr) && rt->cidr <= pfx->cidr)
				put_prefix(b, pfx, first);
			else
				continue;
			first = false;
		}
		break;
	}
	pol_sb_put(b, "],", 2);
}

/* Whether entry d gives ports to target t of node. */
static bool entry_serves(const struct wm_policy *p, size_t node, const struct pol_dst *d,
			 const struct target *t)
{
	switch (t->kind) {
	case T_SELF:
		return d->a.kind != AL_ALL && pol_alias_has(p, &d->a, node);
	case T_ALL:
		return d->a.kind == AL_ALL;
	case T_INTERNET:
		return d->a.kind == AL_INTERNET;
	case T_SUBNET:
		return d == t->entry;
	}
	return false;
}

/* The ports of target t (merged into out); false when no entry of acl serves it. */
static bool target_ports(const struct wm_policy *p, size_t node, const struct pol_acl *acl,
			 const struct target *t, struct pol_range *out, size_t *np)
{
	bool any = false;

	*np = 0;
	for (size_t j = 0; j < acl->n_dst; j++) {
		const struct pol_dst *d = &acl->dst[j];

		if (!entry_serves(p, node, d, t))
			continue;
		any = true;
		for (size_t k = 0; k < d->n_ports && *np < p->max_ports; k++)
			out[(*np)++] = d->ports[k];
	}
	*np = pol_ranges_merge(out, *np);
	return any;
}

/* The targets acl has on node (room for 3 + n_dst). */
static size_t acl_targets(const struct wm_policy *p, size_t node, const struct pol_acl *acl,
			  struct target *out)
{
	const struct pol_node *n = &p->nodes[node];
	size_t k = 0;

	out[k++] = (struct target){ T_SELF, NULL };
	out[k++] = (struct target){ T_ALL, NULL };
	if (n->exit4 || n->exit6)
		out[k++] = (struct target){ T_INTERNET, NULL };
	for (size_t j = 0; n->n_routes && j < acl->n_dst; j++) {
		const struct pol_alias *a = &acl->dst[j].a;

		if (a->kind == AL_PREFIX && pol_routes_overlap(p, node, &a->pfx))
			out[k++] = (struct target){ T_SUBNET, &acl->dst[j] };
	}
	return k;
}

/* One target's rules: its source chunks × port chunks. false when the bounds are reached. */
static bool put_target(const struct wm_policy *p, size_t node, size_t i, const struct target *t,
		       struct pol_sbuf *b, struct pol_range *ports, size_t *rules, bool *truncated)
{
	const struct pol_acl *acl = &p->acls[i];
	size_t np = 0, parts = 1;

	if (!target_ports(p, node, acl, t, ports, &np))
		return true;
	if (pol_has_ports(acl->proto))
		parts = (np + WM_POLICY_RULE_PORTS_MAX - 1) / WM_POLICY_RULE_PORTS_MAX;
	else
		np = 0;
	for (size_t c = 0; c < acl->n_chunks; c++) {
		for (size_t k = 0; k < parts; k++) {
			size_t mark = b->len, first = k * WM_POLICY_RULE_PORTS_MAX;
			size_t cnt = np - first;

			if (cnt > WM_POLICY_RULE_PORTS_MAX)
				cnt = WM_POLICY_RULE_PORTS_MAX;
			if (*rules == WM_POLICY_MAX_RULES) {
				*truncated = true;
				return false;
			}
			pol_sb_puts(b, *rules ? ",{\"src\":" : "{\"src\":");
			pol_sb_put(b, acl->chunk[c], acl->chunk_len[c]);
			pol_sb_put(b, ",", 1);
			put_dst(b, p, node, t);
			put_proto_ports(b, acl->proto, ports + first, np ? cnt : 0, i);
			if (b->len + TAIL_RESERVE > WM_PACKET_FILTER_MAX) {
				b->len = mark;
				*truncated = true;
				return false;
			}
			(*rules)++;
		}
	}
	return true;
}

/* Rules for traffic through node: per ACL that names it or something behind it, per target. */
static void put_rules(const struct wm_policy *p, size_t node, struct pol_sbuf *b,
		      struct pol_range *ports, bool *truncated)
{
	size_t rules = 0;

	for (size_t i = 0; i < p->n_acls; i++) {
		const struct pol_acl *acl = &p->acls[i];
		struct target *t;
		size_t n;
		bool more = true;

		if (!pol_bit(acl->dst_nodes, node))
			continue;
		if (!(t = malloc((acl->n_dst + 3) * sizeof(*t)))) {
			b->oom = true;
			return;
		}
		n = acl_targets(p, node, acl, t);
		for (size_t k = 0; k < n && more; k++)
			more = put_target(p, node, i, &t[k], b, ports, &rules, truncated);
		free(t);
		if (!more)
			return;
	}
}

/* Whether some dst entry of acl names the node i itself (not only what is behind it). */
static bool names_itself(const struct wm_policy *p, const struct pol_acl *acl, size_t i)
{
	for (size_t j = 0; j < acl->n_dst; j++)
		if (pol_alias_has(p, &acl->dst[j].a, i))
			return true;
	return false;
}

/* For each peer, what node may reach on it: the ACLs with node among their sources (what it
 * may reach behind a router is in that router's rules, not here). */
static void put_reach(const struct wm_policy *p, size_t node, struct pol_sbuf *b,
		      struct pol_range *ports, bool *truncated)
{
	size_t *mine = malloc((p->n_acls + 1) * sizeof(*mine)), n_mine = 0;
	bool first = true;

	if (!mine) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_acls; i++)
		if (pol_bit(p->acls[i].src_nodes, node) && p->acls[i].n_pfx)
			mine[n_mine++] = i;
	for (size_t peer = 0; n_mine && peer < p->n; peer++) {
		size_t mark = b->len;
		bool any = false;

		if (peer == node)
			continue;
		for (size_t k = 0; k < n_mine; k++) {
			const struct pol_acl *acl = &p->acls[mine[k]];
			size_t np = 0;

			if (!pol_bit(acl->dst_nodes, peer) || !names_itself(p, acl, peer))
				continue;
			if (!any) {
				pol_sb_puts(b, first ? "\"" : ",\"");
				pol_sb_uint(b, (unsigned long long)p->nodes[peer].id);
				pol_sb_puts(b, "\":[");
			}
			if (pol_has_ports(acl->proto))
				np = pol_acl_ports(p, acl, peer, ports, p->max_ports);
			pol_sb_puts(b, any ? ",{" : "{");
			put_proto_ports(b, acl->proto, ports, np, mine[k]);
			any = true;
		}
		if (!any)
			continue;
		pol_sb_put(b, "]", 1);
		if (b->len + TAIL_RESERVE > WM_PACKET_FILTER_MAX) {
			b->len = mark;
			*truncated = true;
			break;
		}
		first = false;
	}
	free(mine);
}

char *wm_policy_filter(const struct wm_policy *p, size_t node, size_t *len, bool *truncated)
{
	struct pol_range *ports = malloc((p->max_ports + 1) * sizeof(*ports));
	struct pol_sbuf b = { 0 };

	*truncated = false;
	if (!ports || !p->compiled || node >= p->n) {
		free(ports);
		return NULL;
	}
	pol_sb_put(&b, "{\"rules\":[", 10);
	put_rules(p, node, &b, ports, truncated);
	pol_sb_put(&b, "],\"reach\":{", 11);
	put_reach(p, node, &b, ports, truncated);
	pol_sb_put(&b, "}}", 2);
	free(ports);
	return pol_sb_finish(&b, len);
}

void wm_policy_visible(const struct wm_policy *p, size_t node, uint64_t *bits, size_t words)
{
	size_t w = words < p->words ? words : p->words;

	memset(bits, 0, words * sizeof(*bits));
	if (!p->compiled || node >= p->n)
		return;
	for (size_t i = 0; i < p->n_acls; i++) {
		const struct pol_acl *acl = &p->acls[i];

		if (pol_bit(acl->dst_nodes, node))
			for (size_t k = 0; k < w; k++)
				bits[k] |= acl->src_nodes[k];
		if (pol_bit(acl->src_nodes, node))
			for (size_t k = 0; k < w; k++)
				bits[k] |= acl->dst_nodes[k];
	}
	if (node / 64 < words)
		bits[node / 64] &= ~(UINT64_C(1) << (node % 64));
}
