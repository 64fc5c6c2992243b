/* SPDX-License-Identifier: MIT */
#include "filter/dest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct dest_group {
	const struct wm_filter_prefix *dst;	/* the group's destinations; none: any */
	size_t n_dst;
	struct wm_match *match;
};

struct wm_dest {
	struct dest_group *groups;
	size_t n_groups;
};

bool wm_filter_prefix_covers(const struct wm_filter_prefix *p, int family, const uint8_t *addr)
{
	size_t full = p->len / 8, rest = p->len % 8;

	if (p->family != family || memcmp(p->addr, addr, full))
		return false;
	return !rest || !((p->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

static int prefix_cmp(const struct wm_filter_prefix *a, const struct wm_filter_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, sizeof(a->addr))))
		return c;
	return (int)a->len - (int)b->len;
}

/* Orders rules by their dst lists, as written (the server sends each list in one order). */
static int dst_list_cmp(const void *pa, const void *pb, void *arg)
{
	const struct wm_filter_rule *rules = arg;
	const struct wm_filter_rule *a = &rules[*(const size_t *)pa], *b = &rules[*(const size_t *)pb];
	int c;

	for (size_t i = 0; i < a->n_dst && i < b->n_dst; i++)
		if ((c = prefix_cmp(&a->dst[i], &b->dst[i])))
			return c;
	if (a->n_dst != b->n_dst)
		return a->n_dst < b->n_dst ? -1 : 1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;	/* stable: rule order */
}

static bool same_dst(const struct wm_filter_rule *a, const struct wm_filter_rule *b)
{
	if (a->n_dst != b->n_dst)
		return false;
	for (size_t i = 0; i < a->n_dst; i++)
		if (prefix_cmp(&a->dst[i], &b->dst[i]))
			return false;
	return true;
}

/* Compiles rules order[0..n) (one dst list) into g. */
static int build_group(struct dest_group *g, const struct wm_filter_rule *rules,
		       const size_t *order, size_t n, struct wm_filter_rule *scratch)
{
	for (size_t i = 0; i < n; i++)
		scratch[i] = rules[order[i]];
	g->dst = rules[order[0]].dst;
	g->n_dst = rules[order[0]].n_dst;
	return wm_match_build(&g->match, scratch, n);
}

int wm_dest_build(struct wm_dest **out, const struct wm_filter_rule *rules, size_t n)
{
	struct wm_filter_rule *scratch = malloc((n + 1) * sizeof(*scratch));
	size_t *order = malloc((n + 1) * sizeof(*order)), i, j;
	struct wm_dest *d = calloc(1, sizeof(*d));
	int ret = -ENOMEM;

	if (!scratch || !order || !d || !(d->groups = calloc(n + 1, sizeof(*d->groups))))
		goto out;
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), dst_list_cmp, (void *)rules);
	ret = 0;
	for (i = 0; i < n && !ret; i = j) {
		for (j = i + 1; j < n && same_dst(&rules[order[i]], &rules[order[j]]); j++)
			;
		ret = build_group(&d->groups[d->n_groups++], rules, order + i, j - i, scratch);
	}
out:
	free(scratch);
	free(order);
	if (ret) {
		wm_dest_free(d);
		d = NULL;
	}
	*out = d;
	return ret;
}

void wm_dest_free(struct wm_dest *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_groups; i++)
		wm_match_free(d->groups[i].match);
	free(d->groups);
	free(d);
}

static bool group_reaches(const struct dest_group *g, int family, const uint8_t *dst)
{
	if (!dst || !g->n_dst)
		return true;
	for (size_t i = 0; i < g->n_dst; i++)
		if (wm_filter_prefix_covers(&g->dst[i], family, dst))
			return true;
	return false;
}

bool wm_dest_lookup(const struct wm_dest *d, int family, const uint8_t *src, const uint8_t *dst,
		    enum wm_match_class c, uint16_t port)
{
	for (size_t i = 0; i < d->n_groups; i++) {
		const struct dest_group *g = &d->groups[i];

		if (g->match && group_reaches(g, family, dst) &&
		    wm_match_lookup(g->match, family, src, c, port))
			return true;
	}
	return false;
}
