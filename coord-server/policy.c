/* SPDX-License-Identifier: MIT */
/* Parsing and checking a policy file (docs/policy.md, "The file"): its sections; the words
 * inside them are policy_words.c's. */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coord-client/coord_msg.h"

#define WHERE_LEN 96

/* --- sections ----------------------------------------------------------------------------- */

/* arr must be an array of at most WM_POLICY_MAX_LIST strings (non-empty when need). */
static int string_list(const json_t *arr, bool need, const char *where, char *err, size_t errlen)
{
	size_t n;

	if (!json_is_array(arr))
		return pol_fail(err, errlen, "%s: must be a list of strings", where);
	n = json_array_size(arr);
	if (need && !n)
		return pol_fail(err, errlen, "%s: must not be empty", where);
	if (n > WM_POLICY_MAX_LIST)
		return pol_fail(err, errlen, "%s: %zu entries (at most %d)", where, n, WM_POLICY_MAX_LIST);
	for (size_t i = 0; i < n; i++)
		if (!json_is_string(json_array_get(arr, i)))
			return pol_fail(err, errlen, "%s[%zu]: must be a string", where, i);
	return 0;
}

static int section_object(const json_t *v, const char *name, char *err, size_t errlen)
{
	if (!json_is_object(v))
		return pol_fail(err, errlen, "%s: must be an object", name);
	if (json_object_size(v) > WM_POLICY_MAX_NAMES)
		return pol_fail(err, errlen, "%s: %zu entries (at most %d)", name, json_object_size(v),
			    WM_POLICY_MAX_NAMES);
	return 0;
}

static int parse_hosts(struct wm_policy *p, const json_t *v, char *err, size_t errlen)
{
	const char *name;
	json_t *val;
	int ret;

	if ((ret = section_object(v, "hosts", err, errlen)))
		return ret;
	p->hosts = calloc(json_object_size(v) + 1, sizeof(*p->hosts));
	if (!p->hosts)
		return -ENOMEM;
	json_object_foreach((json_t *)v, name, val) {
		struct pol_host *h = &p->hosts[p->n_hosts];
		struct in_addr a;

		if (!pol_word_valid(name, WM_NETMAP_NAME_MAX, false) || !strcmp(name, "*") ||
		    inet_pton(AF_INET, name, &a) == 1)
			return pol_fail(err, errlen, "hosts: \"%.80s\" is not a host name (1-%d of A-Z a-z 0-9 _ . -, not an address)",
				    name, WM_NETMAP_NAME_MAX);
		if (!json_is_string(val))
			return pol_fail(err, errlen, "hosts[\"%s\"]: must be an address or prefix string", name);
		ret = pol_prefix_parse(&h->pfx, json_string_value(val));
		if (ret == -EINVAL)
			return pol_fail(err, errlen, "hosts[\"%s\"]: \"%.80s\" is not a valid address or prefix",
				    name, json_string_value(val));
		if (ret)
			return pol_fail(err, errlen, "hosts[\"%s\"]: \"%s\" has bits set past /%u", name,
				    json_string_value(val), h->pfx.cidr);
		if (!(h->name = strdup(name)))
			return -ENOMEM;
		p->n_hosts++;
	}
	pol_sort_names(p);
	return 0;
}

/* The names of "tags" or "groups" first (members may refer to tags), members after. */
static int parse_named(struct wm_policy *p, const json_t *v, bool groups, char *err,
		       size_t errlen)
{
	const char *section = groups ? "groups" : "tags", *prefix = groups ? "group:" : "tag:";
	size_t plen = strlen(prefix);
	const char *name;
	json_t *val;
	int ret;

	if ((ret = section_object(v, section, err, errlen)))
		return ret;
	if (groups)
		p->groups = calloc(json_object_size(v) + 1, sizeof(*p->groups));
	else
		p->tagdefs = calloc(json_object_size(v) + 1, sizeof(*p->tagdefs));
	if (groups ? !p->groups : !p->tagdefs)
		return -ENOMEM;
	json_object_foreach((json_t *)v, name, val) {
		char *copy;

		if (strncmp(name, prefix, plen) || !pol_word_valid(name + plen, WM_STORE_TAG_MAX, true))
			return pol_fail(err, errlen, "%s: \"%.80s\" must be named \"%sNAME\" (NAME 1-%d of A-Z a-z 0-9 : _ . -)",
				    section, name, prefix, WM_STORE_TAG_MAX);
		if (!(copy = strdup(name)))
			return -ENOMEM;
		if (groups)
			p->groups[p->n_groups++].name = copy;
		else
			p->tagdefs[p->n_tagdefs++].name = copy;
	}
	pol_sort_names(p);
	for (size_t k = 0; k < (groups ? p->n_groups : p->n_tagdefs); k++) {
		char where[WHERE_LEN];
		const char *key = groups ? p->groups[k].name : p->tagdefs[k].name;
		struct pol_alias **members = groups ? &p->groups[k].members : &p->tagdefs[k].nodes;
		size_t *count = groups ? &p->groups[k].n : &p->tagdefs[k].n;
		json_t *list = json_object_get(v, key);

		snprintf(where, sizeof(where), "%s[\"%s\"]", section, key);
		if ((ret = string_list(list, false, where, err, errlen)))
			return ret;
		*members = calloc(json_array_size(list) + 1, sizeof(**members));
		if (!*members)
			return -ENOMEM;
		for (size_t i = 0; i < json_array_size(list); i++) {
			const char *m = json_string_value(json_array_get(list, i));
			struct pol_alias *a = &(*members)[i];

			snprintf(where, sizeof(where), "%s[\"%s\"][%zu]", section, key, i);
			if (groups && !strncmp(m, "group:", 6))
				return pol_fail(err, errlen, "%s: a group holds node names and tags, not other groups (\"%.80s\")",
					    where, m);
			if (!groups && (!strncmp(m, "group:", 6) || !strncmp(m, "tag:", 4)))
				return pol_fail(err, errlen, "%s: \"%.80s\" is not a node name", where, m);
			if ((ret = pol_alias_parse(p, a, m, where, err, errlen)))
				return ret;
			(*count)++;
			if (a->kind != AL_NODE && !(groups && a->kind == AL_TAG))
				return pol_fail(err, errlen, "%s: \"%.80s\" is not a node name%s", where,
					    m, groups ? " or tag" : "");
		}
	}
	return 0;
}

/* Checks o has only the keys in known (NULL-terminated). */
static int known_keys(const json_t *o, const char *const known[], const char *where, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)o, key, val) {
		bool ok = false;

		for (int i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		if (!ok)
			return pol_fail(err, errlen, "%s: unknown key \"%.60s\"", where, key);
	}
	return 0;
}

static int parse_acl(struct wm_policy *p, struct pol_acl *acl, const json_t *o, size_t idx,
		     char *err, size_t errlen)
{
	static const char *const keys[] = { "action", "src", "proto", "dst", NULL };
	json_t *action = json_object_get(o, "action"), *proto = json_object_get(o, "proto");
	json_t *src = json_object_get(o, "src"), *dst = json_object_get(o, "dst");
	char where[WHERE_LEN];
	size_t ports = 0;
	int ret, pr;

	snprintf(where, sizeof(where), "acls[%zu]", idx);
	if (!json_is_object(o))
		return pol_fail(err, errlen, "%s: must be an object", where);
	if ((ret = known_keys(o, keys, where, err, errlen)))
		return ret;
	if (!json_is_string(action) || strcmp(json_string_value(action), "accept"))
		return pol_fail(err, errlen, "%s.action: must be \"accept\" (the only action: what no ACL accepts is denied)",
			    where);
	pr = proto && json_is_string(proto) ? wm_policy_proto_parse(json_string_value(proto))
					      : proto ? -1 : WM_POLICY_ANY;
	if (pr < 0)
		return pol_fail(err, errlen, "%s.proto: must be \"tcp\", \"udp\", \"icmp\" or \"*\"", where);
	acl->proto = (enum wm_policy_proto)pr;
	if (!src || !dst)
		return pol_fail(err, errlen, "%s: missing \"%s\"", where, src ? "dst" : "src");
	snprintf(where, sizeof(where), "acls[%zu].src", idx);
	if ((ret = string_list(src, true, where, err, errlen)))
		return ret;
	snprintf(where, sizeof(where), "acls[%zu].dst", idx);
	if ((ret = string_list(dst, true, where, err, errlen)))
		return ret;
	acl->src = calloc(json_array_size(src), sizeof(*acl->src));
	acl->dst = calloc(json_array_size(dst), sizeof(*acl->dst));
	acl->text = json_dumps(o, JSON_COMPACT);
	if (!acl->src || !acl->dst || !acl->text)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(src); i++) {
		snprintf(where, sizeof(where), "acls[%zu].src[%zu]", idx, i);
		ret = pol_alias_parse(p, &acl->src[i], json_string_value(json_array_get(src, i)),
				      where, err, errlen);
		if (ret)
			return ret;
		acl->n_src++;
		if (acl->src[i].kind == AL_INTERNET)
			return pol_fail(err, errlen, "%s: autogroup:internet is a destination only (traffic from the internet comes through no exit node)",
				    where);
	}
	for (size_t i = 0; i < json_array_size(dst); i++) {
		struct pol_dst *d = &acl->dst[i];

		snprintf(where, sizeof(where), "acls[%zu].dst[%zu]", idx, i);
		ret = pol_dst_parse(p, d, json_string_value(json_array_get(dst, i)), false, where,
				    err, errlen);
		acl->n_dst += !!d->a.text;
		if (ret)
			return ret;
		/* Ports with "*" or icmp would be ignored: the admin meant something else. */
		if ((acl->proto == WM_POLICY_ANY || acl->proto == WM_POLICY_ICMP) &&
		    !(d->n_ports == 1 && d->ports[0].lo == 0 && d->ports[0].hi == 65535))
			return pol_fail(err, errlen, "%s: ports mean nothing with \"proto\": \"%s\" (%s); use \"tcp\" or \"udp\", or \"%s:*\"",
				    where, acl->proto == WM_POLICY_ANY ? "*" : "icmp",
				    acl->proto == WM_POLICY_ANY ? "it allows every protocol and port"
								: "icmp has no ports",
				    d->a.text);
		ports += d->n_ports;
	}
	if (ports > p->max_ports)
		p->max_ports = ports;
	return 0;
}

static int parse_test_list(struct wm_policy *p, struct pol_test *t, const json_t *o, size_t idx,
			   bool accept, char *err, size_t errlen)
{
	const char *key = accept ? "accept" : "deny";
	json_t *list = json_object_get(o, key);
	struct pol_dst **out = accept ? &t->accept : &t->deny;
	size_t *n = accept ? &t->n_accept : &t->n_deny;
	char where[WHERE_LEN];
	int ret;

	if (!list)
		return 0;
	snprintf(where, sizeof(where), "tests[%zu].%s", idx, key);
	if ((ret = string_list(list, false, where, err, errlen)))
		return ret;
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(list); i++) {
		snprintf(where, sizeof(where), "tests[%zu].%s[%zu]", idx, key, i);
		ret = pol_dst_parse(p, &(*out)[i], json_string_value(json_array_get(list, i)),
				    t->proto == WM_POLICY_ICMP, where, err, errlen);
		*n += !!(*out)[i].a.text;
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_test(struct wm_policy *p, struct pol_test *t, const json_t *o, size_t idx,
		      char *err, size_t errlen)
{
	static const char *const keys[] = { "src", "proto", "accept", "deny", NULL };
	json_t *src = json_object_get(o, "src"), *proto = json_object_get(o, "proto");
	char where[WHERE_LEN];
	int ret, pr;

	snprintf(where, sizeof(where), "tests[%zu]", idx);
	if (!json_is_object(o))
		return pol_fail(err, errlen, "%s: must be an object", where);
	if ((ret = known_keys(o, keys, where, err, errlen)))
		return ret;
	pr = proto && json_is_string(proto) ? wm_policy_proto_parse(json_string_value(proto))
					      : proto ? -1 : WM_POLICY_TCP;
	if (pr <= 0)
		return pol_fail(err, errlen, "%s.proto: must be \"tcp\" (the default), \"udp\" or \"icmp\"",
			    where);
	t->proto = (enum wm_policy_proto)pr;
	if (!json_is_string(src))
		return pol_fail(err, errlen, "%s.src: missing, or not a string", where);
	snprintf(where, sizeof(where), "tests[%zu].src", idx);
	if ((ret = pol_alias_parse(p, &t->src, json_string_value(src), where, err, errlen)))
		return ret;
	if (t->src.kind == AL_ALL || t->src.kind == AL_INTERNET)
		return pol_fail(err, errlen, "%s: \"%s\" cannot be a test's source: name a node, tag, group or address",
			    where, t->src.text);
	if (t->src.kind == AL_PREFIX &&
	    t->src.pfx.cidr != (t->src.pfx.family == AF_INET ? 32 : 128))
		return pol_fail(err, errlen, "%s: a test's source must be one address, not the prefix \"%s\"",
			    where, t->src.text);
	if ((ret = parse_test_list(p, t, o, idx, true, err, errlen)) ||
	    (ret = parse_test_list(p, t, o, idx, false, err, errlen)))
		return ret;
	if (!t->n_accept && !t->n_deny)
		return pol_fail(err, errlen, "tests[%zu]: nothing to test (give \"accept\" or \"deny\" entries)",
			    idx);
	return 0;
}

static int parse_array(struct wm_policy *p, const json_t *v, bool acls, char *err, size_t errlen)
{
	size_t max = acls ? WM_POLICY_MAX_ACLS : WM_POLICY_MAX_TESTS, n;
	const char *name = acls ? "acls" : "tests";
	int ret;

	if (!json_is_array(v))
		return pol_fail(err, errlen, "%s: must be a list", name);
	n = json_array_size(v);
	if (n > max)
		return pol_fail(err, errlen, "%s: %zu entries (at most %zu)", name, n, max);
	if (acls)
		p->acls = calloc(n + 1, sizeof(*p->acls));
	else
		p->tests = calloc(n + 1, sizeof(*p->tests));
	if (acls ? !p->acls : !p->tests)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (acls) {
			p->n_acls++;
			ret = parse_acl(p, &p->acls[i], json_array_get(v, i), i, err, errlen);
		} else {
			p->n_tests++;
			ret = parse_test(p, &p->tests[i], json_array_get(v, i), i, err, errlen);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_top(struct wm_policy *p, const json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "groups", "tags", "hosts", "acls", "tests",
					    "autoApprovers", NULL };
	const char *key;
	json_t *v;
	int ret;

	json_object_foreach((json_t *)o, key, v) {
		bool ok = false;

		for (int i = 0; keys[i]; i++)
			ok |= !strcmp(key, keys[i]);
		if (!ok)
			return pol_fail(err, errlen, "unknown top-level key \"%.60s\" (known: groups, tags, hosts, acls, tests, autoApprovers)",
				    key);
	}
	if (!json_object_get(o, "acls"))
		return pol_fail(err, errlen, "missing \"acls\" (an empty list denies everything; to allow everything, set no policy)");
	/* In this order: aliases in later sections refer to names of earlier ones. */
	if ((v = json_object_get(o, "hosts")) && (ret = parse_hosts(p, v, err, errlen)))
		return ret;
	if ((v = json_object_get(o, "tags")) && (ret = parse_named(p, v, false, err, errlen)))
		return ret;
	if ((v = json_object_get(o, "groups")) && (ret = parse_named(p, v, true, err, errlen)))
		return ret;
	if ((ret = parse_array(p, json_object_get(o, "acls"), true, err, errlen)))
		return ret;
	if ((v = json_object_get(o, "tests")) && (ret = parse_array(p, v, false, err, errlen)))
		return ret;
	if ((v = json_object_get(o, "autoApprovers")) && (ret = pol_auto_parse(p, v, err, errlen)))
		return ret;
	return 0;
}

int wm_policy_parse(struct wm_policy **out, const char *text, size_t len, char *err,
		    size_t errlen)
{
	struct wm_policy *p;
	json_error_t je;
	json_t *o;
	int ret;

	*out = NULL;
	if (len > WM_POLICY_FILE_MAX) {
		pol_fail(err, errlen, "the policy is %zu bytes (at most %u)", len, WM_POLICY_FILE_MAX);
		return -EFBIG;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return pol_fail(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return pol_fail(err, errlen, "the policy must be a JSON object ({\"acls\": [ … ]})");
	}
	p = calloc(1, sizeof(*p));
	ret = p ? parse_top(p, o, err, errlen) : -ENOMEM;
	json_decref(o);
	if (ret) {
		if (ret == -ENOMEM)
			pol_fail(err, errlen, "out of memory");
		wm_policy_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

size_t wm_policy_n_acls(const struct wm_policy *p)
{
	return p->n_acls;
}

size_t wm_policy_n_tests(const struct wm_policy *p)
{
	return p->n_tests;
}

/* --- freeing ------------------------------------------------------------------------------ */

void wm_policy_free(struct wm_policy *p)
{
	if (!p)
		return;
	pol_compiled_free(p);
	for (size_t i = 0; i < p->n_hosts; i++)
		free(p->hosts[i].name);
	for (size_t i = 0; i < p->n_groups; i++) {
		for (size_t j = 0; j < p->groups[i].n; j++)
			pol_alias_free(&p->groups[i].members[j]);
		free(p->groups[i].members);
		free(p->groups[i].name);
	}
	for (size_t i = 0; i < p->n_tagdefs; i++) {
		for (size_t j = 0; j < p->tagdefs[i].n; j++)
			pol_alias_free(&p->tagdefs[i].nodes[j]);
		free(p->tagdefs[i].nodes);
		free(p->tagdefs[i].name);
	}
	for (size_t i = 0; i < p->n_acls; i++) {
		struct pol_acl *a = &p->acls[i];

		for (size_t j = 0; j < a->n_src; j++)
			pol_alias_free(&a->src[j]);
		for (size_t j = 0; j < a->n_dst; j++)
			pol_dst_free(&a->dst[j]);
		free(a->src);
		free(a->dst);
		free(a->text);
	}
	for (size_t i = 0; i < p->n_tests; i++) {
		struct pol_test *t = &p->tests[i];

		pol_alias_free(&t->src);
		for (size_t j = 0; j < t->n_accept; j++)
			pol_dst_free(&t->accept[j]);
		for (size_t j = 0; j < t->n_deny; j++)
			pol_dst_free(&t->deny[j]);
		free(t->accept);
		free(t->deny);
	}
	pol_auto_free(p);
	free(p->hosts);
	free(p->groups);
	free(p->tagdefs);
	free(p->acls);
	free(p->tests);
	free(p);
}
