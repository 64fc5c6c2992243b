/* SPDX-License-Identifier: MIT */
/*
 * "autoApprovers" (docs/policy.md): which nodes' advertised routes are approved without an
 * administrator's `routes approve`.
 *
 *     "autoApprovers": {
 *       "routes":   {"192.168.50.0/24": ["tag:router"], "10.0.0.0/8": ["group:ops", "gw-a"]},
 *       "exitNode": ["tag:exit"]
 *     }
 *
 * A route is approved when a "routes" entry's prefix holds it (a router advertising
 * 192.168.50.128/25 under the entry above is approved too) and the entry's list names the
 * node; the default routes of an exit node, when "exitNode" names it. Lists name nodes, tags
 * and groups: who may draw traffic to itself is decided about nodes, never addresses.
 */
#include "coord-server/policy_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHERE_LEN 128

static int parse_who(struct wm_policy *p, struct pol_auto *e, const json_t *list,
		     const char *where, char *err, size_t errlen)
{
	char at[WHERE_LEN];
	size_t i;
	json_t *v;
	int ret;

	if (!json_is_array(list) || !json_array_size(list))
		return pol_fail(err, errlen, "%s: must be a non-empty list of node names, tags and groups",
			    where);
	if (json_array_size(list) > WM_POLICY_MAX_LIST)
		return pol_fail(err, errlen, "%s: %zu entries (at most %d)", where,
			    json_array_size(list), WM_POLICY_MAX_LIST);
	if (!(e->who = calloc(json_array_size(list), sizeof(*e->who))))
		return -ENOMEM;
	json_array_foreach(list, i, v) {
		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		if (!json_is_string(v))
			return pol_fail(err, errlen, "%s: must be a string", at);
		if ((ret = pol_alias_parse(p, &e->who[i], json_string_value(v), at, err, errlen)))
			return ret;
		e->n++;
		if (e->who[i].kind != AL_NODE && e->who[i].kind != AL_TAG &&
		    e->who[i].kind != AL_GROUP)
			return pol_fail(err, errlen, "%s: \"%s\" is not a node name, tag or group (approval is given to nodes, not addresses)",
				    at, e->who[i].text);
	}
	return 0;
}

static int parse_route_entry(struct wm_policy *p, struct pol_auto *e, const char *key,
			     const json_t *list, char *err, size_t errlen)
{
	char where[WHERE_LEN], why[160];
	int ret;

	snprintf(where, sizeof(where), "autoApprovers.routes[\"%.60s\"]", key);
	ret = pol_prefix_parse(&e->pfx, key);
	if (ret == -ERANGE)
		return pol_fail(err, errlen, "%s: has bits set past /%u", where, e->pfx.cidr);
	if (ret || !strchr(key, '/'))
		return pol_fail(err, errlen, "%s: not a prefix (ADDRESS/LENGTH)", where);
	if (e->pfx.cidr == 0)
		return pol_fail(err, errlen, "%s: a default route is an exit node: list who may offer one under \"exitNode\"",
			    where);
	if (wm_netmap_route_check(&e->pfx, why, sizeof(why)))
		return pol_fail(err, errlen, "%s: %s", where, why);
	return parse_who(p, e, list, where, err, errlen);
}

int pol_auto_parse(struct wm_policy *p, const json_t *v, char *err, size_t errlen)
{
	const json_t *routes = json_object_get(v, "routes"), *exit = json_object_get(v, "exitNode");
	const char *key;
	json_t *val;
	int ret;

	if (!json_is_object(v))
		return pol_fail(err, errlen, "autoApprovers: must be an object with \"routes\" and/or \"exitNode\"");
	json_object_foreach((json_t *)v, key, val)
		if (strcmp(key, "routes") && strcmp(key, "exitNode"))
			return pol_fail(err, errlen, "autoApprovers: unknown key \"%.60s\" (known: routes, exitNode)",
				    key);
	if (routes && !json_is_object(routes))
		return pol_fail(err, errlen, "autoApprovers.routes: must be an object of PREFIX: [names]");
	if (routes && json_object_size(routes) > WM_POLICY_MAX_NAMES)
		return pol_fail(err, errlen, "autoApprovers.routes: %zu entries (at most %d)",
			    json_object_size(routes), WM_POLICY_MAX_NAMES);
	p->autos = calloc((routes ? json_object_size(routes) : 0) + 1, sizeof(*p->autos));
	if (!p->autos)
		return -ENOMEM;
	if (routes)
		json_object_foreach((json_t *)routes, key, val) {
			ret = parse_route_entry(p, &p->autos[p->n_autos++], key, val, err, errlen);
			if (ret)
				return ret;
		}
	if (exit) {
		struct pol_auto *e = &p->autos[p->n_autos++];

		e->exit = true;
		return parse_who(p, e, exit, "autoApprovers.exitNode", err, errlen);
	}
	return 0;
}

int pol_auto_resolve(struct wm_policy *p, char *err, size_t errlen)
{
	char where[WHERE_LEN];
	int ret;

	for (size_t i = 0; i < p->n_autos; i++) {
		for (size_t j = 0; j < p->autos[i].n; j++) {
			snprintf(where, sizeof(where), "autoApprovers.%s[%zu]",
				 p->autos[i].exit ? "exitNode" : "routes", j);
			if ((ret = pol_alias_resolve(p, &p->autos[i].who[j], where, err, errlen)))
				return ret;
		}
	}
	return 0;
}

void pol_auto_free(struct wm_policy *p)
{
	for (size_t i = 0; i < p->n_autos; i++) {
		for (size_t j = 0; j < p->autos[i].n; j++)
			pol_alias_free(&p->autos[i].who[j]);
		free(p->autos[i].who);
	}
	free(p->autos);
	p->autos = NULL;
	p->n_autos = 0;
}

static bool names_node(const struct wm_policy *p, const struct pol_auto *e, size_t node)
{
	for (size_t j = 0; j < e->n; j++)
		if (pol_alias_has(p, &e->who[j], node))
			return true;
	return false;
}

bool wm_policy_auto_approves(const struct wm_policy *p, size_t node,
			     const struct wm_netmap_prefix *route)
{
	if (!p->compiled || node >= p->n)
		return false;
	for (size_t i = 0; i < p->n_autos; i++) {
		const struct pol_auto *e = &p->autos[i];
		bool fits = route->cidr == 0 ? e->exit
					     : !e->exit && e->pfx.cidr <= route->cidr &&
						       pol_prefix_contains(&e->pfx, route->family,
									   route->addr);

		if (fits && names_node(p, e, node))
			return true;
	}
	return false;
}
