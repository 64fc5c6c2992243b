/* SPDX-License-Identifier: MIT */
#include "filter/match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/bytes.h"
#include "filter/pkt.h"

#define ALL_PORTS UINT32_MAX	/* a prefix's set index meaning every port */

struct key6 {
	uint64_t hi, lo;
};

struct group {
	uint32_t first, n;	/* into the table's keys */
	uint8_t len;
};

struct table {
	struct group *groups;	/* longest prefix length first */
	size_t n_groups;
	uint32_t *k4;		/* AF_INET: the prefixes as host-order numbers */
	struct key6 *k6;	/* AF_INET6 */
	uint32_t *set;		/* per prefix: index into sets, or ALL_PORTS */
};

struct port_set {
	uint32_t first, n;	/* into ranges: sorted, disjoint, not adjacent */
};

struct wm_match {
	struct table tab[2][WM_MATCH_CLASSES];	/* [0] IPv4, [1] IPv6 */
	struct port_set *sets;
	size_t n_sets;
	struct wm_filter_port_range *ranges;
	size_t n_ranges;
};

/* A (prefix, rule) pair while building. */
struct item {
	struct key6 key;	/* IPv4 in the low 32 bits of lo */
	uint8_t len;
	uint32_t rule;
};

static struct key6 key_of(int family, const uint8_t *a)
{
	struct key6 k = { 0, 0 };

	if (family == AF_INET) {
		k.lo = wm_get_be32(a);
		return k;
	}
	k.hi = wm_get_be64(a);
	k.lo = wm_get_be64(a + 8);
	return k;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->key.hi != b->key.hi)
		return a->key.hi < b->key.hi ? -1 : 1;
	if (a->key.lo != b->key.lo)
		return a->key.lo < b->key.lo ? -1 : 1;
	return a->rule < b->rule ? -1 : a->rule > b->rule;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct wm_filter_port_range *a = pa, *b = pb;

	return (int)a->first - (int)b->first;
}

static bool in_class(enum wm_filter_proto p, enum wm_match_class c)
{
	switch (p) {
	case WM_FILTER_PROTO_ANY:
		return true;
	case WM_FILTER_PROTO_TCP:
		return c == WM_MATCH_TCP;
	case WM_FILTER_PROTO_UDP:
		return c == WM_MATCH_UDP;
	case WM_FILTER_PROTO_ICMP:
		return c == WM_MATCH_ICMP;
	}
	return false;
}

/*
 * The union of the ports of rules items[0..n) name, appended to m's sets: its index, ALL_PORTS,
 * or ALL_PORTS - 1 when it is empty. scratch holds the ranges of all rules.
 */
static uint32_t port_set(struct wm_match *m, const struct wm_filter_rule *rules,
			 const struct item *items, size_t n, enum wm_match_class c,
			 struct wm_filter_port_range *scratch)
{
	size_t k = 0, first = m->n_ranges;

	if (c != WM_MATCH_TCP && c != WM_MATCH_UDP)
		return ALL_PORTS;
	for (size_t i = 0; i < n; i++) {
		const struct wm_filter_rule *r = &rules[items[i].rule];

		if (r->proto == WM_FILTER_PROTO_ANY)
			return ALL_PORTS;
		if (i && items[i].rule == items[i - 1].rule)
			continue;	/* one rule naming the prefix twice */
		memcpy(scratch + k, r->ports, r->n_ports * sizeof(*scratch));
		k += r->n_ports;
	}
	if (!k)
		return ALL_PORTS - 1;
	qsort(scratch, k, sizeof(*scratch), range_cmp);
	m->ranges[m->n_ranges++] = scratch[0];
	for (size_t i = 1; i < k; i++) {
		struct wm_filter_port_range *last = &m->ranges[m->n_ranges - 1];

		if ((uint32_t)scratch[i].first <= (uint32_t)last->last + 1) {
			if (scratch[i].last > last->last)
				last->last = scratch[i].last;
		} else {
			m->ranges[m->n_ranges++] = scratch[i];
		}
	}
	if (m->n_ranges - first == 1 && m->ranges[first].first == 0 &&
	    m->ranges[first].last == 65535) {
		m->n_ranges = first;
		return ALL_PORTS;
	}
	m->sets[m->n_sets].first = (uint32_t)first;
	m->sets[m->n_sets].n = (uint32_t)(m->n_ranges - first);
	return (uint32_t)m->n_sets++;
}

static int build_table(struct wm_match *m, struct table *t, int family, enum wm_match_class c,
		       const struct wm_filter_rule *rules, size_t n, struct item *items,
		       struct wm_filter_port_range *scratch)
{
	size_t n_items = 0, n_keys = 0, i, j;

	for (i = 0; i < n; i++) {
		if (!in_class(rules[i].proto, c))
			continue;
		for (j = 0; j < rules[i].n_src; j++) {
			const struct wm_filter_prefix *p = &rules[i].src[j];

			if (p->family != family)
				continue;
			items[n_items].key = key_of(family, p->addr);
			items[n_items].len = p->len;
			items[n_items++].rule = (uint32_t)i;
		}
	}
	if (!n_items)
		return 0;
	qsort(items, n_items, sizeof(*items), item_cmp);
	t->groups = calloc(family == AF_INET ? 33 : 129, sizeof(*t->groups));
	t->set = calloc(n_items, sizeof(*t->set));
	if (family == AF_INET)
		t->k4 = calloc(n_items, sizeof(*t->k4));
	else
		t->k6 = calloc(n_items, sizeof(*t->k6));
	if (!t->groups || !t->set || (!t->k4 && !t->k6))
		return -ENOMEM;
	for (i = 0; i < n_items; i = j) {
		uint32_t s;

		for (j = i + 1; j < n_items && items[j].len == items[i].len &&
				items[j].key.hi == items[i].key.hi && items[j].key.lo == items[i].key.lo;
		     j++)
			;
		s = port_set(m, rules, items + i, j - i, c, scratch);
		if (s == ALL_PORTS - 1)
			continue;	/* only rules with no ports: matches nothing */
		if (!t->n_groups || t->groups[t->n_groups - 1].len != items[i].len) {
			t->groups[t->n_groups].len = items[i].len;
			t->groups[t->n_groups++].first = (uint32_t)n_keys;
		}
		t->groups[t->n_groups - 1].n++;
		if (family == AF_INET)
			t->k4[n_keys] = (uint32_t)items[i].key.lo;
		else
			t->k6[n_keys] = items[i].key;
		t->set[n_keys++] = s;
	}
	return 0;
}

int wm_match_build(struct wm_match **out, const struct wm_filter_rule *rules, size_t n)
{
	size_t n_prefixes = 0, n_ranges = 0, n_copies = 0;
	struct wm_filter_port_range *scratch;
	struct item *items;
	struct wm_match *m;
	int ret = -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		n_prefixes += rules[i].n_src;
		n_ranges += rules[i].n_ports;
		n_copies += rules[i].n_src * rules[i].n_ports;
	}
	m = calloc(1, sizeof(*m));
	items = malloc((n_prefixes + 1) * sizeof(*items));
	scratch = malloc((n_ranges + 1) * sizeof(*scratch));
	if (!m || !items || !scratch)
		goto out;
	/*
	 * A TCP or UDP rule puts its prefixes in one table, a "*" rule needs no set: at most one set
	 * per prefix, holding at most the ranges of the rules naming it.
	 */
	m->sets = malloc((n_prefixes + 1) * sizeof(*m->sets));
	m->ranges = malloc((n_copies + 1) * sizeof(*m->ranges));
	if (!m->sets || !m->ranges)
		goto out;
	ret = 0;
	for (int f = 0; f < 2 && !ret; f++)
		for (int c = 0; c < WM_MATCH_CLASSES && !ret; c++)
			ret = build_table(m, &m->tab[f][c], f ? AF_INET6 : AF_INET, c, rules, n,
					  items, scratch);
out:
	free(items);
	free(scratch);
	if (ret) {
		wm_match_free(m);
		m = NULL;
	}
	*out = m;
	return ret;
}

void wm_match_free(struct wm_match *m)
{
	if (!m)
		return;
	for (int f = 0; f < 2; f++) {
		for (int c = 0; c < WM_MATCH_CLASSES; c++) {
			free(m->tab[f][c].groups);
			free(m->tab[f][c].k4);
			free(m->tab[f][c].k6);
			free(m->tab[f][c].set);
		}
	}
	free(m->sets);
	free(m->ranges);
	free(m);
}

enum wm_match_class wm_match_class_of(int family, uint8_t proto)
{
	if (proto == WM_IPPROTO_TCP)
		return WM_MATCH_TCP;
	if (proto == WM_IPPROTO_UDP)
		return WM_MATCH_UDP;
	if (proto == (family == AF_INET ? WM_IPPROTO_ICMP : WM_IPPROTO_ICMPV6))
		return WM_MATCH_ICMP;
	return WM_MATCH_OTHER;
}

static bool port_in(const struct wm_match *m, uint32_t s, uint16_t port)
{
	const struct wm_filter_port_range *r;
	size_t lo, hi;

	if (s == ALL_PORTS)
		return true;
	r = m->ranges + m->sets[s].first;
	lo = 0;
	hi = m->sets[s].n;
	while (lo < hi) {	/* the first range ending at or after port */
		size_t mid = (lo + hi) / 2;

		if (r[mid].last < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->sets[s].n && r[lo].first <= port;
}

static bool lookup4(const struct wm_match *m, const struct table *t, const uint8_t *a,
		    uint16_t port)
{
	uint32_t addr = wm_get_be32(a);

	for (size_t g = 0; g < t->n_groups; g++) {
		const struct group *gr = &t->groups[g];
		uint32_t want = gr->len ? addr & ~(uint32_t)0 << (32 - gr->len) : 0;
		const uint32_t *k = t->k4 + gr->first;
		size_t lo = 0, hi = gr->n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (k[mid] < want)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < gr->n && k[lo] == want && port_in(m, t->set[gr->first + lo], port))
			return true;
	}
	return false;
}

static bool lookup6(const struct wm_match *m, const struct table *t, const uint8_t *a,
		    uint16_t port)
{
	struct key6 addr = key_of(AF_INET6, a), want;

	for (size_t g = 0; g < t->n_groups; g++) {
		const struct group *gr = &t->groups[g];
		const struct key6 *k = t->k6 + gr->first;
		size_t lo = 0, hi = gr->n;

		if (gr->len > 64) {
			want.hi = addr.hi;
			want.lo = addr.lo & ~(uint64_t)0 << (128 - gr->len);
		} else {
			want.hi = gr->len ? addr.hi & ~(uint64_t)0 << (64 - gr->len) : 0;
			want.lo = 0;
		}
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (k[mid].hi < want.hi || (k[mid].hi == want.hi && k[mid].lo < want.lo))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < gr->n && k[lo].hi == want.hi && k[lo].lo == want.lo &&
		    port_in(m, t->set[gr->first + lo], port))
			return true;
	}
	return false;
}

bool wm_match_lookup(const struct wm_match *m, int family, const uint8_t *src,
		     enum wm_match_class c, uint16_t port)
{
	if (family == AF_INET)
		return lookup4(m, &m->tab[0][c], src, port);
	return lookup6(m, &m->tab[1][c], src, port);
}
