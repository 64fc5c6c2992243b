/* SPDX-License-Identifier: MIT */
/*
 * The words of a policy file (docs/policy.md, "The file"): protocols, names, prefixes, port
 * ranges, and the aliases and destinations built from them, resolved against the hosts, groups
 * and tags parsed so far. policy.c reads the file's sections and calls these for each entry.
 */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord-client/coord_msg.h"

int wm_policy_proto_parse(const char *text)
{
	static const char *const names[] = { "*", "tcp", "udp", "icmp" };	/* enum order */

	for (int i = 0; i < 4; i++)
		if (!strcmp(text, names[i]))
			return i;
	return -1;
}

/* --- names, addresses, ports -------------------------------------------------------------- */

/* 1..max of A-Z a-z 0-9 _ . - (and ':' when colon): tags as `authkey create --tag` takes them. */
bool pol_word_valid(const char *s, size_t max, bool colon)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i]) || (colon && s[i] == ':')))
			return false;
	return true;
}

static bool digits(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "10.0.0.0/8", "fd77::/16", "100.64.0.5" (a /32), "fd77::5" (a /128). 0, -EINVAL (not one),
 * -ERANGE (host bits set: *pfx holds it masked). */
int pol_prefix_parse(struct wm_netmap_prefix *pfx, const char *text)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	int max, cidr;
	bool masked = false;

	memset(pfx, 0, sizeof(*pfx));
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, pfx->addr) == 1)
		pfx->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, pfx->addr) == 1)
		pfx->family = AF_INET6;
	else
		return -EINVAL;
	max = pfx->family == AF_INET ? 32 : 128;
	cidr = max;
	if (slash) {
		if (!digits(slash + 1, strlen(slash + 1), 3))
			return -EINVAL;
		cidr = atoi(slash + 1);
		if (cidr > max)
			return -EINVAL;
	}
	pfx->cidr = (uint8_t)cidr;
	for (int bit = cidr; bit < max; bit++) {
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (pfx->addr[bit / 8] & m) {
			masked = true;
			pfx->addr[bit / 8] &= (uint8_t)~m;
		}
	}
	return masked ? -ERANGE : 0;
}

static void prefix_format(const struct wm_netmap_prefix *pfx, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(pfx->family, pfx->addr, a, sizeof(a));
	snprintf(out, cap, "%s/%u", a, pfx->cidr);
}

static int cmp_range(const void *a, const void *b)
{
	const struct pol_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

size_t pol_ranges_merge(struct pol_range *r, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)r[i].lo <= (uint32_t)r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

/* "*", "80", "8000-8100", "80,443,8000-8100" (spaces around items are fine). Overlapping items
 * are merged, not refused. */
static int ports_parse(struct pol_dst *d, const char *text, const char *where, char *err,
		       size_t errlen)
{
	struct pol_range r[WM_POLICY_MAX_PORT_ITEMS];
	const char *p = text;
	size_t n = 0;

	if (!strcmp(text, "*")) {
		r[n++] = (struct pol_range){ 0, 65535 };
		goto done;
	}
	for (;;) {
		const char *end = strchr(p, ','), *dash;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		unsigned long lo, hi;
		char item[32];

		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (!len)
			return pol_fail(err, errlen, "%s: empty item in ports \"%s\"", where, text);
		if (n == WM_POLICY_MAX_PORT_ITEMS)
			return pol_fail(err, errlen, "%s: more than %d items in ports \"%.40s…\"", where,
				    WM_POLICY_MAX_PORT_ITEMS, text);
		if (len >= sizeof(item))
			return pol_fail(err, errlen, "%s: \"%.*s\" is not a port or range (80, 8000-8100)",
				    where, 24, p);
		memcpy(item, p, len);
		item[len] = '\0';
		dash = strchr(item, '-');
		if (!strcmp(item, "*"))
			return pol_fail(err, errlen, "%s: \"*\" cannot be one item of a list in \"%s\"",
				    where, text);
		if (dash ? !digits(item, (size_t)(dash - item), 5) ||
			   !digits(dash + 1, strlen(dash + 1), 5)
			 : !digits(item, len, 5))
			return pol_fail(err, errlen, "%s: \"%s\" is not a port or range (80, 8000-8100)",
				    where, item);
		lo = strtoul(item, NULL, 10);
		hi = dash ? strtoul(dash + 1, NULL, 10) : lo;
		if (lo > 65535 || hi > 65535)
			return pol_fail(err, errlen, "%s: port %lu is out of range (0-65535)", where,
				    lo > 65535 ? lo : hi);
		if (hi < lo)
			return pol_fail(err, errlen, "%s: port range \"%s\" is reversed (did you mean %lu-%lu?)",
				    where, item, hi, lo);
		r[n++] = (struct pol_range){ (uint16_t)lo, (uint16_t)hi };
		if (!end)
			break;
		p = end + 1;
	}
	n = pol_ranges_merge(r, n);
done:
	d->ports = malloc(n * sizeof(*d->ports));
	if (!d->ports)
		return -ENOMEM;
	memcpy(d->ports, r, n * sizeof(*r));
	d->n_ports = n;
	return 0;
}

/* --- aliases ------------------------------------------------------------------------------ */

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct pol_host *)a)->name, ((const struct pol_host *)b)->name);
}

static int cmp_group(const void *a, const void *b)
{
	return strcmp(((const struct pol_group *)a)->name, ((const struct pol_group *)b)->name);
}

static int cmp_tagdef(const void *a, const void *b)
{
	return strcmp(((const struct pol_tagdef *)a)->name, ((const struct pol_tagdef *)b)->name);
}

static const struct pol_host *find_host(const struct wm_policy *p, const char *name)
{
	struct pol_host key = { .name = (char *)name };

	return p->n_hosts ? bsearch(&key, p->hosts, p->n_hosts, sizeof(key), cmp_host) : NULL;
}

static int find_group(const struct wm_policy *p, const char *name)
{
	struct pol_group key = { .name = (char *)name }, *g;

	g = p->n_groups ? bsearch(&key, p->groups, p->n_groups, sizeof(key), cmp_group) : NULL;
	return g ? (int)(g - p->groups) : -1;
}

static int find_tagdef(const struct wm_policy *p, const char *name)
{
	struct pol_tagdef key = { .name = (char *)name }, *t;

	t = p->n_tagdefs ? bsearch(&key, p->tagdefs, p->n_tagdefs, sizeof(key), cmp_tagdef) : NULL;
	return t ? (int)(t - p->tagdefs) : -1;
}

void pol_alias_free(struct pol_alias *a)
{
	free(a->text);
	a->text = NULL;
}

int pol_alias_parse(struct wm_policy *p, struct pol_alias *a, const char *text, const char *where,
		    char *err, size_t errlen)
{
	const struct pol_host *h;
	int ret;

	memset(a, 0, sizeof(*a));
	a->group = a->node = a->tag = -1;
	if (++p->refs > WM_POLICY_MAX_REFS)
		return pol_fail(err, errlen, "%s: too many aliases (at most %d in a policy)", where,
			    WM_POLICY_MAX_REFS);
	if (!text[0])
		return pol_fail(err, errlen, "%s: empty alias", where);
	if (!strcmp(text, "*")) {
		a->kind = AL_ALL;
	} else if (!strcmp(text, "autogroup:internet")) {
		a->kind = AL_INTERNET;
	} else if (!strncmp(text, "autogroup:", 10)) {
		return pol_fail(err, errlen, "%s: unknown autogroup \"%.80s\" (the one there is: autogroup:internet)",
			    where, text);
	} else if (!strncmp(text, "tag:", 4)) {
		if (!pol_word_valid(text + 4, WM_STORE_TAG_MAX, true))
			return pol_fail(err, errlen, "%s: \"%.80s\" is not a tag (tag:NAME, NAME 1-%d of A-Z a-z 0-9 : _ . -)",
				    where, text, WM_STORE_TAG_MAX);
		a->kind = AL_TAG;
		a->group = find_tagdef(p, text);
	} else if (!strncmp(text, "group:", 6)) {
		a->kind = AL_GROUP;
		a->group = find_group(p, text);
		if (a->group < 0)
			return pol_fail(err, errlen, "%s: unknown group \"%.80s\" (not in \"groups\")", where,
				    text);
	} else if ((h = find_host(p, text))) {
		a->kind = AL_PREFIX;
		a->pfx = h->pfx;
		a->host = true;
	} else if ((ret = pol_prefix_parse(&a->pfx, text)) != -EINVAL) {
		char fixed[INET6_ADDRSTRLEN + 4];

		prefix_format(&a->pfx, fixed, sizeof(fixed));
		if (ret)
			return pol_fail(err, errlen, "%s: \"%s\" has bits set past /%u (did you mean %s?)",
				    where, text, a->pfx.cidr, fixed);
		a->kind = AL_PREFIX;
	} else if (strpbrk(text, "/:") ||
		   (strchr(text, '.') && strspn(text, "0123456789.") == strlen(text))) {
		return pol_fail(err, errlen, "%s: \"%.80s\" is not a valid address or prefix", where, text);
	} else if (wm_coord_name_valid(text)) {
		a->kind = AL_NODE;
	} else {
		return pol_fail(err, errlen, "%s: unknown alias \"%.80s\" (not a node name, tag:, group:, host, address, prefix or *)",
			    where, text);
	}
	a->text = strdup(text);
	return a->text ? 0 : -ENOMEM;
}

int pol_dst_parse(struct wm_policy *p, struct pol_dst *d, const char *text, bool port_optional,
		  const char *where, char *err, size_t errlen)
{
	char alias[512];
	const char *ports = NULL, *colon, *orig = text;
	size_t alen;
	int ret;

	memset(d, 0, sizeof(*d));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || (close[1] && close[1] != ':'))
			return pol_fail(err, errlen, "%s: \"%.80s\": expected [ADDRESS]:PORTS", where, text);
		alen = (size_t)(close - text - 1);
		text++;
		ports = close[1] ? close + 2 : NULL;
	} else {
		colon = strrchr(text, ':');
		/* An icmp test may name just the alias: "web", "tag:web". */
		if (colon && port_optional && colon[1] != '*' && (colon[1] < '0' || colon[1] > '9'))
			colon = NULL;
		alen = colon ? (size_t)(colon - text) : strlen(text);
		ports = colon ? colon + 1 : NULL;
	}
	if ((!ports && !port_optional) ||
	    (ports && *ports != '*' && *ports != ' ' && (*ports < '0' || *ports > '9')))
		return pol_fail(err, errlen, "%s: \"%.80s\" needs ports: \"%.60s:80\", \":80-90\", \":80,443\" or \":*\"",
			    where, text, text);
	if (alen >= sizeof(alias))
		return pol_fail(err, errlen, "%s: alias too long (%zu bytes)", where, alen);
	memcpy(alias, text, alen);
	alias[alen] = '\0';
	if ((ret = pol_alias_parse(p, &d->a, alias, where, err, errlen)))
		return ret;
	if (!(d->text = strdup(orig)))
		return -ENOMEM;
	if (ports)
		return ports_parse(d, ports, where, err, errlen);
	return ports_parse(d, "*", where, err, errlen);
}

void pol_dst_free(struct pol_dst *d)
{
	free(d->text);
	pol_alias_free(&d->a);
	free(d->ports);
}

void pol_sort_names(struct wm_policy *p)
{
	/* Sections not read yet have no arrays: qsort must not see NULL, even for none. */
	if (p->n_hosts)
		qsort(p->hosts, p->n_hosts, sizeof(*p->hosts), cmp_host);
	if (p->n_groups)
		qsort(p->groups, p->n_groups, sizeof(*p->groups), cmp_group);
	if (p->n_tagdefs)
		qsort(p->tagdefs, p->n_tagdefs, sizeof(*p->tagdefs), cmp_tagdef);
}
