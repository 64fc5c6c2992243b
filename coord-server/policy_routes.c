/* SPDX-License-Identifier: MIT */
/*
 * The policy and routes (docs/policy.md, "A prefix as a destination", autogroup:internet):
 * which nodes serve which subnets and the internet, and what an ACL's destination entry opens
 * on a node — its own addresses, the subnets it routes, the public internet through an exit
 * node.
 */
#include "coord-server/policy_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int cmp_index_by_id(const void *a, const void *b, void *arg)
{
	const struct pol_node *nodes = arg;
	int64_t x = nodes[*(const size_t *)a].id, y = nodes[*(const size_t *)b].id;

	return x < y ? -1 : x > y;
}

/* The index of the node with this id, by bisection over by_id; -1 when none. */
static long node_by_id(const struct pol_node *nodes, const size_t *by_id, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nodes[by_id[mid]].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && nodes[by_id[lo]].id == id ? (long)by_id[lo] : -1;
}

/*
 * Gives nodes[0..n) the routes they may serve: approved and advertised now, primary or not (a
 * standby's filter is ready before it takes over). The default routes make an exit node.
 */
int pol_attach_routes(struct pol_node *nodes, size_t n, const struct wm_store_route *routes,
			 size_t n_routes)
{
	size_t *by_id = malloc((n + 1) * sizeof(*by_id));

	if (!by_id)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		by_id[i] = i;
	qsort_r(by_id, n, sizeof(*by_id), cmp_index_by_id, nodes);
	for (size_t r = 0; r < n_routes; r++) {
		const struct wm_store_route *rt = &routes[r];
		long i = rt->approved && rt->advertised ? node_by_id(nodes, by_id, n, rt->node_id) : -1;
		struct pol_node *pn = i >= 0 ? &nodes[i] : NULL;

		if (!pn)
			continue;
		if (rt->prefix.cidr == 0)
			*(rt->prefix.family == AF_INET ? &pn->exit4 : &pn->exit6) = true;
		else if (pn->n_routes < WM_NETMAP_MAX_ROUTES)
			pn->routes[pn->n_routes++] = rt->prefix;
	}
	free(by_id);
	return 0;
}

bool pol_same_routes(const struct pol_node *a, const struct pol_node *b)
{
	return a->n_routes == b->n_routes && a->exit4 == b->exit4 && a->exit6 == b->exit6 &&
	       !memcmp(a->routes, b->routes, a->n_routes * sizeof(a->routes[0]));
}

static bool prefixes_overlap(const struct wm_netmap_prefix *a, const struct wm_netmap_prefix *b)
{
	const struct wm_netmap_prefix *wide = a->cidr <= b->cidr ? a : b;
	const struct wm_netmap_prefix *narrow = wide == a ? b : a;

	return pol_prefix_contains(wide, narrow->family, narrow->addr);
}

static bool routes_overlap(const struct pol_node *n, const struct wm_netmap_prefix *pfx)
{
	for (size_t r = 0; r < n->n_routes; r++)
		if (prefixes_overlap(&n->routes[r], pfx))
			return true;
	return false;
}

bool pol_routes_overlap(const struct wm_policy *p, size_t i, const struct wm_netmap_prefix *pfx)
{
	return routes_overlap(&p->nodes[i], pfx);
}

static bool routes_hold(const struct pol_node *n, int family, const uint8_t *addr)
{
	for (size_t r = 0; r < n->n_routes; r++)
		if (pol_prefix_contains(&n->routes[r], family, addr))
			return true;
	return false;
}

static bool exit_for(const struct pol_node *n, int family)
{
	return family == AF_INET ? n->exit4 : n->exit6;
}

bool pol_dst_has(const struct wm_policy *p, const struct pol_alias *a, size_t i)
{
	const struct pol_node *n = &p->nodes[i];

	if (pol_alias_has(p, a, i))
		return true;
	if (a->kind == AL_PREFIX)
		return routes_overlap(n, &a->pfx);
	if (a->kind == AL_INTERNET)
		return n->exit4 || n->exit6;
	return false;
}

bool pol_behind(const struct wm_policy *p, size_t i, int family, const uint8_t *addr)
{
	const struct pol_node *n = &p->nodes[i];

	return routes_hold(n, family, addr) || (exit_for(n, family) && pol_is_internet(family, addr));
}

static bool own_address(const struct pol_node *n, int family, const uint8_t *addr)
{
	return !memcmp(family == AF_INET ? n->v4 : n->v6, addr, family == AF_INET ? 4 : 16);
}

/* Whether destination alias a opens addr on node i (one of its own addresses or one behind). */
static bool dst_opens(const struct wm_policy *p, const struct pol_alias *a, size_t i, int family,
		      const uint8_t *addr)
{
	const struct pol_node *n = &p->nodes[i];

	if (own_address(n, family, addr))
		return pol_alias_has(p, a, i);
	switch (a->kind) {
	case AL_ALL:
		return pol_behind(p, i, family, addr);
	case AL_PREFIX:
		/* A prefix opens subnets it overlaps, never the internet behind an exit node. */
		return pol_prefix_contains(&a->pfx, family, addr) && routes_hold(n, family, addr);
	case AL_INTERNET:
		return exit_for(n, family) && pol_is_internet(family, addr);
	default:
		return false;
	}
}

size_t pol_acl_ports_at(const struct wm_policy *p, const struct pol_acl *acl, size_t i,
			int family, const uint8_t *addr, struct pol_range *out, size_t cap)
{
	size_t n = 0;

	for (size_t j = 0; j < acl->n_dst; j++) {
		const struct pol_dst *d = &acl->dst[j];

		if (!dst_opens(p, &d->a, i, family, addr))
			continue;
		for (size_t k = 0; k < d->n_ports && n < cap; k++)
			out[n++] = d->ports[k];
	}
	return pol_ranges_merge(out, n);
}
