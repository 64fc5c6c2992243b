/* SPDX-License-Identifier: MIT */
#include "filter/filter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "filter/dest.h"
#include "filter/match.h"
#include "filter/pkt.h"

enum {
	ICMP_QUOTE_OFFSET = 8,	/* the quoted packet follows type, code, checksum, 4 bytes */
	CIDR_TEXT_MAX = 64,
};

struct reach_peer {
	uint64_t id;
	size_t first, n;	/* into reach_rules */
};

struct wm_filter {
	struct wm_dest *dest;
	struct wm_filter_rule *rules;
	size_t n_rules;
	struct reach_peer *reach;
	size_t n_reach;
	struct wm_filter_rule *reach_rules;
	struct wm_filter_prefix *prefixes;		/* what the rules point into */
	struct wm_filter_port_range *ranges;
};

/* ---- Parsing --------------------------------------------------------------------------------- */

struct parser {
	struct wm_filter *f;
	size_t n_prefixes, cap_prefixes;
	size_t n_ranges, cap_ranges;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err && ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool host_bits_clear(const struct wm_filter_prefix *p)
{
	size_t bytes = p->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < bytes; i++) {
		size_t bit = i * 8;
		uint8_t keep = bit >= p->len ? 0 : bit + 8 <= p->len ? 0xff
								   : (uint8_t)(0xff << (8 - (p->len - bit)));

		if (p->addr[i] & ~keep)
			return false;
	}
	return true;
}

/* "a.b.c.d/n", "x:y::z/n", or an address alone (a host prefix). */
static bool parse_cidr(const char *s, struct wm_filter_prefix *p, bool *host_bits)
{
	char addr[CIDR_TEXT_MAX];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	*host_bits = false;
	if (alen >= sizeof(addr))
		return false;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	memset(p->addr, 0, sizeof(p->addr));
	p->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, addr, p->addr) != 1)
		return false;
	max = p->family == AF_INET ? 32 : 128;
	p->len = (uint8_t)max;
	if (slash) {
		const char *d = slash + 1;
		int v = 0;

		if (!*d || strlen(d) > 3 || (d[0] == '0' && d[1]))
			return false;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return false;
			v = v * 10 + (*d - '0');
		}
		if (v > max)
			return false;
		p->len = (uint8_t)v;
	}
	*host_bits = !host_bits_clear(p);
	return !*host_bits;
}

static int parse_proto(struct parser *ps, const json_t *v, const char *at,
		       enum wm_filter_proto *proto)
{
	const char *s = json_string_value(v);

	if (!v)
		return fail(ps, "%s: \"proto\" is missing", at);
	if (!s)
		return fail(ps, "%s.proto: must be a string", at);
	if (!strcmp(s, "tcp"))
		*proto = WM_FILTER_PROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = WM_FILTER_PROTO_UDP;
	else if (!strcmp(s, "icmp"))
		*proto = WM_FILTER_PROTO_ICMP;
	else if (!strcmp(s, "*"))
		*proto = WM_FILTER_PROTO_ANY;
	else
		return fail(ps, "%s.proto: \"%.32s\" is not tcp, udp, icmp or *", at, s);
	return 0;
}

static int parse_ports(struct parser *ps, const json_t *v, const char *at,
		       struct wm_filter_rule *r)
{
	struct wm_filter_port_range *out = ps->f->ranges + ps->n_ranges;
	size_t i, n;
	json_t *e;

	if (!v) {
		if (r->proto == WM_FILTER_PROTO_TCP || r->proto == WM_FILTER_PROTO_UDP)
			return fail(ps, "%s: \"ports\" is missing (required for tcp and udp)", at);
		return 0;
	}
	if (!json_is_array(v))
		return fail(ps, "%s.ports: must be an array of [first, last] ranges", at);
	n = json_array_size(v);
	if (n > WM_FILTER_MAX_PORT_RANGES)
		return fail(ps, "%s.ports: %zu ranges, at most %d", at, n, WM_FILTER_MAX_PORT_RANGES);
	json_array_foreach(v, i, e) {
		json_t *a = json_array_get(e, 0), *b = json_array_get(e, 1);
		json_int_t first, last;

		if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(a) ||
		    !json_is_integer(b))
			return fail(ps, "%s.ports[%zu]: must be [first, last], two integers", at, i);
		first = json_integer_value(a);
		last = json_integer_value(b);
		if (first < 0 || first > 65535 || last < 0 || last > 65535)
			return fail(ps, "%s.ports[%zu]: ports are 0-65535", at, i);
		if (first > last)
			return fail(ps, "%s.ports[%zu]: reversed range [%lld, %lld]", at, i,
				    (long long)first, (long long)last);
		out[i].first = (uint16_t)first;
		out[i].last = (uint16_t)last;
	}
	/* Ports mean nothing for icmp and "*": keep the rule as sent, match ignores them. */
	if (r->proto == WM_FILTER_PROTO_TCP || r->proto == WM_FILTER_PROTO_UDP) {
		r->ports = out;
		r->n_ports = n;
		ps->n_ranges += n;
	}
	return 0;
}

/* A list of prefixes ("src" or "dst"), "*" standing for both families' everything. */
static int parse_prefixes(struct parser *ps, const json_t *v, const char *at, const char *name,
			  const struct wm_filter_prefix **list, size_t *count)
{
	struct wm_filter_prefix *out = ps->f->prefixes + ps->n_prefixes;
	size_t i, n = 0;
	bool host_bits;
	json_t *e;

	if (!json_is_array(v))
		return fail(ps, "%s.%s: must be an array of prefixes", at, name);
	if (json_array_size(v) > WM_FILTER_MAX_SRC)
		return fail(ps, "%s.%s: %zu prefixes, at most %d", at, name, json_array_size(v),
			    WM_FILTER_MAX_SRC);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		if (!s)
			return fail(ps, "%s.%s[%zu]: must be a string", at, name, i);
		if (!strcmp(s, "*")) {
			memset(&out[n], 0, 2 * sizeof(*out));
			out[n++].family = AF_INET;
			out[n++].family = AF_INET6;
			continue;
		}
		if (!parse_cidr(s, &out[n], &host_bits))
			return fail(ps, "%s.%s[%zu]: \"%.64s\" %s", at, name, i, s,
				    host_bits ? "has bits set past its prefix length"
					      : "is not an address or prefix");
		n++;
	}
	*list = out;
	*count = n;
	ps->n_prefixes += n;
	return 0;
}

static int parse_src(struct parser *ps, const json_t *v, const char *at, struct wm_filter_rule *r)
{
	if (!v)
		return fail(ps, "%s: \"src\" is missing", at);
	return parse_prefixes(ps, v, at, "src", &r->src, &r->n_src);
}

/*
 * "dst": the destinations the rule opens. Absent (a server from before destinations) means any;
 * present, it must name something: an empty list would read as "any" to the matcher.
 */
static int parse_dst(struct parser *ps, const json_t *v, const char *at, struct wm_filter_rule *r)
{
	int ret;

	if (!v)
		return 0;
	if ((ret = parse_prefixes(ps, v, at, "dst", &r->dst, &r->n_dst)))
		return ret;
	if (!r->n_dst)
		return fail(ps, "%s.dst: must name at least one prefix", at);
	return 0;
}

static int parse_rule(struct parser *ps, const json_t *o, const char *at, bool reach,
		      struct wm_filter_rule *r)
{
	const char *key;
	json_t *v;
	int ret;

	memset(r, 0, sizeof(*r));
	r->acl = -1;
	if (!json_is_object(o))
		return fail(ps, "%s: must be an object", at);
	json_object_foreach((json_t *)o, key, v) {
		if (!reach && strcmp(key, "src") && strcmp(key, "dst") && strcmp(key, "proto") &&
		    strcmp(key, "ports") && strcmp(key, "acl"))
			return fail(ps, "%s: unknown field \"%.32s\"", at, key);
	}
	if ((ret = parse_proto(ps, json_object_get(o, "proto"), at, &r->proto)) ||
	    (!reach && (ret = parse_src(ps, json_object_get(o, "src"), at, r))) ||
	    (!reach && (ret = parse_dst(ps, json_object_get(o, "dst"), at, r))) ||
	    (ret = parse_ports(ps, json_object_get(o, "ports"), at, r)))
		return ret;
	v = json_object_get(o, "acl");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > INT32_MAX)
			return fail(ps, "%s.acl: must be an integer 0-%d", at, INT32_MAX);
		r->acl = (int)json_integer_value(v);
	}
	return 0;
}

/* A peer id key: decimal, no sign, no leading zero, fits 64 bits. */
static bool parse_id(const char *s, uint64_t *id)
{
	uint64_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*id = v;
	return true;
}

static int reach_cmp(const void *pa, const void *pb)
{
	const struct reach_peer *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

static int parse_reach(struct parser *ps, const json_t *o)
{
	struct wm_filter *f = ps->f;
	size_t total = 0, i;
	const char *key;
	char at[96];
	json_t *v, *e;
	int ret;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return fail(ps, "reach: must be an object of peer ids");
	json_object_foreach((json_t *)o, key, v) {
		if (!json_is_array(v))
			return fail(ps, "reach[\"%.24s\"]: must be an array", key);
		total += json_array_size(v);
	}
	if (total > WM_FILTER_MAX_REACH)
		return fail(ps, "reach: %zu entries, at most %d", total, WM_FILTER_MAX_REACH);
	f->reach = calloc(json_object_size(o) + 1, sizeof(*f->reach));
	f->reach_rules = calloc(total + 1, sizeof(*f->reach_rules));
	if (!f->reach || !f->reach_rules)
		return -ENOMEM;
	total = 0;
	json_object_foreach((json_t *)o, key, v) {
		struct reach_peer *p = &f->reach[f->n_reach++];

		if (!parse_id(key, &p->id))
			return fail(ps, "reach: key \"%.24s\" is not a peer id", key);
		p->first = total;
		json_array_foreach(v, i, e) {
			snprintf(at, sizeof(at), "reach[\"%s\"][%zu]", key, i);
			if ((ret = parse_rule(ps, e, at, true, &f->reach_rules[total++])))
				return ret;
		}
		p->n = total - p->first;
	}
	qsort(f->reach, f->n_reach, sizeof(*f->reach), reach_cmp);
	return 0;
}

/* Room for every prefix and range the rules and reach entries could hold ("*" is two). */
static int size_pools(struct parser *ps, const json_t *rules, const json_t *reach)
{
	const char *key;
	size_t i, j;
	json_t *r, *v, *e;

	json_array_foreach(rules, i, r) {
		ps->cap_prefixes += 2 * json_array_size(json_object_get(r, "src"));
		ps->cap_prefixes += 2 * json_array_size(json_object_get(r, "dst"));
		ps->cap_ranges += json_array_size(json_object_get(r, "ports"));
	}
	if (json_is_object(reach))
		json_object_foreach((json_t *)reach, key, v)
			json_array_foreach(v, j, e)
				ps->cap_ranges += json_array_size(json_object_get(e, "ports"));
	ps->f->prefixes = calloc(ps->cap_prefixes + 1, sizeof(*ps->f->prefixes));
	ps->f->ranges = calloc(ps->cap_ranges + 1, sizeof(*ps->f->ranges));
	return ps->f->prefixes && ps->f->ranges ? 0 : -ENOMEM;
}

static int parse_filter(struct parser *ps, const json_t *root)
{
	const json_t *rules = json_object_get(root, "rules"), *reach = json_object_get(root, "reach");
	struct wm_filter *f = ps->f;
	char at[32];
	size_t i, n;
	json_t *r;
	int ret;

	if (!json_is_object(root))
		return fail(ps, "packet filter: must be an object or null");
	if (!rules)
		return fail(ps, "packet filter: \"rules\" is missing");
	if (!json_is_array(rules))
		return fail(ps, "rules: must be an array");
	n = json_array_size(rules);
	if (n > WM_FILTER_MAX_RULES)
		return fail(ps, "rules: %zu rules, at most %d", n, WM_FILTER_MAX_RULES);
	if ((ret = size_pools(ps, rules, reach)))
		return ret;
	f->rules = calloc(n + 1, sizeof(*f->rules));
	if (!f->rules)
		return -ENOMEM;
	json_array_foreach(rules, i, r) {
		snprintf(at, sizeof(at), "rules[%zu]", i);
		if ((ret = parse_rule(ps, r, at, false, &f->rules[i])))
			return ret;
	}
	f->n_rules = n;
	if ((ret = parse_reach(ps, reach)))
		return ret;
	return wm_dest_build(&f->dest, f->rules, f->n_rules);
}

int wm_filter_parse(struct wm_filter **out, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	if (len > WM_FILTER_TEXT_MAX)
		return fail(&ps, "packet filter: %zu bytes, at most %d", len, WM_FILTER_TEXT_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return fail(&ps, "packet filter: line %d column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	if (json_is_null(root)) {
		json_decref(root);
		return 0;
	}
	ps.f = calloc(1, sizeof(*ps.f));
	ret = ps.f ? parse_filter(&ps, root) : -ENOMEM;
	json_decref(root);
	if (ret) {
		if (ret == -ENOMEM)
			fail(&ps, "out of memory");
		wm_filter_free(ps.f);
		return ret;
	}
	*out = ps.f;
	return 0;
}

void wm_filter_free(struct wm_filter *f)
{
	if (!f)
		return;
	wm_dest_free(f->dest);
	free(f->rules);
	free(f->reach);
	free(f->reach_rules);
	free(f->prefixes);
	free(f->ranges);
	free(f);
}

/* ---- Verdicts -------------------------------------------------------------------------------- */

/*
 * An ICMP error p: is the packet it quotes one this node sent (its source is p's destination) in
 * a tracked flow, or in one the quoted destination may open to this node by the rules?
 */
static bool related(const struct wm_filter *f, struct wm_conntrack *ct, const struct wm_pkt *p,
		    const uint8_t *pkt, uint64_t now)
{
	size_t off = p->l4_off + ICMP_QUOTE_OFFSET;
	struct wm_pkt q;

	if (!wm_pkt_parse(&q, pkt + off, p->len - off, true) || q.family != p->family ||
	    memcmp(q.src, p->dst, p->family == AF_INET ? 4 : 16) || q.frag == WM_PKT_FRAG_LATER)
		return false;
	if (ct && wm_conntrack_sent(ct, &q, now))
		return true;
	return wm_dest_lookup(f->dest, q.family, q.dst, q.src, wm_match_class_of(q.family, q.proto),
			      q.sport);
}

enum wm_filter_verdict wm_filter_inbound(const struct wm_filter *f, struct wm_conntrack *ct,
					 const uint8_t *pkt, size_t len, uint64_t now,
					 enum wm_filter_reason *why)
{
	enum wm_filter_reason r;
	enum wm_match_class c;
	struct wm_pkt p;

	if (!f) {
		r = WM_FILTER_OK_NO_POLICY;
		goto out;
	}
	if (!wm_pkt_parse(&p, pkt, len, false)) {
		r = WM_FILTER_DROP_MALFORMED;
		goto out;
	}
	if (p.frag == WM_PKT_FRAG_LATER) {
		r = ct && wm_conntrack_frag_known(ct, &p, now) ? WM_FILTER_OK_FRAGMENT
							       : WM_FILTER_DROP_FRAGMENT;
		goto out;
	}
	c = wm_match_class_of(p.family, p.proto);
	if (ct && wm_conntrack_inbound(ct, &p, now))
		r = WM_FILTER_OK_FLOW;
	else if (wm_dest_lookup(f->dest, p.family, p.src, p.dst, c, p.dport))
		r = WM_FILTER_OK_RULE;
	else if (wm_pkt_is_icmp_error(&p))
		r = related(f, ct, &p, pkt, now) ? WM_FILTER_OK_RELATED : WM_FILTER_DROP_UNRELATED;
	else
		r = c == WM_MATCH_OTHER ? WM_FILTER_DROP_PROTOCOL : WM_FILTER_DROP_NO_RULE;
	if (p.frag == WM_PKT_FRAG_FIRST && ct && r < WM_FILTER_DROP_NO_RULE)
		wm_conntrack_frag_note(ct, &p, now);
out:
	if (why)
		*why = r;
	return r < WM_FILTER_DROP_NO_RULE ? WM_FILTER_ACCEPT : WM_FILTER_DROP;
}

bool wm_filter_allows(const struct wm_filter *f, int family, const uint8_t *addr,
		      const uint8_t *dst, uint8_t proto, uint16_t port)
{
	if (!f)
		return true;
	if (family != AF_INET && family != AF_INET6)
		return false;
	return wm_dest_lookup(f->dest, family, addr, dst, wm_match_class_of(family, proto), port);
}

const char *wm_filter_reason_name(enum wm_filter_reason r)
{
	static const char *const names[WM_FILTER_REASON_COUNT] = {
		[WM_FILTER_OK_NO_POLICY] = "ok_no_policy",
		[WM_FILTER_OK_RULE] = "ok_rule",
		[WM_FILTER_OK_FLOW] = "ok_flow",
		[WM_FILTER_OK_RELATED] = "ok_related",
		[WM_FILTER_OK_FRAGMENT] = "ok_fragment",
		[WM_FILTER_DROP_NO_RULE] = "drop_no_rule",
		[WM_FILTER_DROP_MALFORMED] = "drop_malformed",
		[WM_FILTER_DROP_FRAGMENT] = "drop_fragment",
		[WM_FILTER_DROP_PROTOCOL] = "drop_protocol",
		[WM_FILTER_DROP_UNRELATED] = "drop_unrelated",
	};

	return (unsigned int)r < WM_FILTER_REASON_COUNT ? names[r] : "unknown";
}

/* ---- Status ---------------------------------------------------------------------------------- */

const struct wm_filter_rule *wm_filter_rules(const struct wm_filter *f, size_t *n)
{
	*n = f ? f->n_rules : 0;
	return f ? f->rules : NULL;
}

static bool src_covers(const struct wm_filter_rule *r, int family, const uint8_t *addr)
{
	for (size_t j = 0; addr && j < r->n_src; j++)
		if (wm_filter_prefix_covers(&r->src[j], family, addr))
			return true;
	return false;
}

size_t wm_filter_rules_for_peer(const struct wm_filter *f, const uint8_t ipv4[4],
				const uint8_t ipv6[16], size_t *idx, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; f && i < f->n_rules; i++) {
		if (!src_covers(&f->rules[i], AF_INET, ipv4) &&
		    !src_covers(&f->rules[i], AF_INET6, ipv6))
			continue;
		if (n < cap)
			idx[n] = i;
		n++;
	}
	return n;
}

size_t wm_filter_rules_for_source(const struct wm_filter *f, int family, const uint8_t *addr,
				  size_t *idx, size_t cap)
{
	return wm_filter_rules_for_peer(f, family == AF_INET ? addr : NULL,
					family == AF_INET6 ? addr : NULL, idx, cap);
}

const struct wm_filter_rule *wm_filter_reach(const struct wm_filter *f, uint64_t peer_id,
					     size_t *n)
{
	struct reach_peer key = { .id = peer_id }, *p;

	*n = 0;
	if (!f || !f->n_reach)
		return NULL;
	p = bsearch(&key, f->reach, f->n_reach, sizeof(*f->reach), reach_cmp);
	if (!p || !p->n)
		return NULL;
	*n = p->n;
	return f->reach_rules + p->first;
}
