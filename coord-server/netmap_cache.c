/* SPDX-License-Identifier: MIT */
#include "coord-server/netmap_cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/log.h"
#include "coord-client/coord_msg.h"
#include "coord-server/policy.h"

#define DENY_ALL "{\"acls\":[]}"

void wm_coord_node_self(struct wm_netmap_self *out, const struct wm_store_node *n)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint64_t)n->id;
	snprintf(out->name, sizeof(out->name), "%s", n->name);
	out->ipv4.s_addr = htonl(n->ipv4);
	wm_coord_ipv6_for(&out->ipv6, out->ipv4);
	out->key_expiry = n->key_expiry;
}

void wm_coord_node_peer(struct wm_netmap_peer *out, const struct wm_store_node *n, int64_t now)
{
	memset(out, 0, sizeof(*out));
	out->id = (uint64_t)n->id;
	snprintf(out->name, sizeof(out->name), "%s", n->name);
	memcpy(out->node_key, n->node_key, WM_KEY_LEN);
	memcpy(out->disco_key, n->disco_key, WM_KEY_LEN);
	out->ipv4.s_addr = htonl(n->ipv4);
	wm_coord_ipv6_for(&out->ipv6, out->ipv4);
	/* Its own /32 and /128; the subnet routes it serves are apart (routes, not allowed_ips). */
	out->allowed_ips[0].family = AF_INET;
	memcpy(out->allowed_ips[0].addr, &out->ipv4, 4);
	out->allowed_ips[0].cidr = 32;
	out->allowed_ips[1].family = AF_INET6;
	memcpy(out->allowed_ips[1].addr, &out->ipv6, 16);
	out->allowed_ips[1].cidr = 128;
	out->n_allowed_ips = 2;
	memcpy(out->endpoints, n->endpoints, n->n_endpoints * sizeof(n->endpoints[0]));
	out->n_endpoints = n->n_endpoints;
	out->home_relay = n->home_relay;
	out->online = n->online;
	out->last_seen = n->last_seen;
	out->key_expiry = n->key_expiry;
	out->expired = n->key_expiry && now >= n->key_expiry;
}

static int cmp_route_node(const void *key, const void *elem)
{
	int64_t id = *(const int64_t *)key, other = ((const struct wm_store_route *)elem)->node_id;

	return id < other ? -1 : id > other;
}

size_t wm_coord_node_routes(const struct wm_store_route *routes, size_t n, int64_t id,
			    bool served, struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES])
{
	const struct wm_store_route *r = n ? bsearch(&id, routes, n, sizeof(*routes),
						     cmp_route_node) : NULL;
	size_t count = 0;

	if (!r)
		return 0;
	while (r > routes && r[-1].node_id == id)
		r--;
	for (; r < routes + n && r->node_id == id && count < WM_NETMAP_MAX_ROUTES; r++)
		if (r->advertised && r->approved && (!served || r->primary))
			out[count++] = r->prefix;
	return count;
}

static void free_frags(char **frag, size_t n)
{
	for (size_t i = 0; frag && i < n; i++)
		free(frag[i]);
	free(frag);
}

void wm_coord_cache_free(struct wm_coord_cache *c)
{
	free_frags(c->frag, c->n);
	free(c->frag_len);
	free(c->nodes);
	free(c->routes);
	free(c->relays);
	wm_policy_free(c->policy);
	free(c->policy_text);
	memset(c, 0, sizeof(*c));
}

/* The stored relay map, re-encoded after a check: a hand-edited database cannot break netmaps. */
static char *checked_relays(struct wm_store *s)
{
	struct wm_relay_map rm;
	char *text = wm_store_relays_get(s), *out;

	if (!text)
		return NULL;
	if (wm_coord_relay_map_parse(&rm, text, strlen(text), NULL, 0))
		memset(&rm, 0, sizeof(rm));
	free(text);
	out = wm_coord_relay_map_encode(&rm);
	wm_relay_map_free(&rm);
	return out;
}

/* The stored policy compiled for fresh's nodes into fresh->policy (NULL: none), or *reuse set
 * when old's still fits them (the caller moves it over once nothing can fail). */
static int load_policy(struct wm_coord_cache *fresh, const struct wm_coord_cache *old,
		       struct wm_store *s, bool *reuse)
{
	char err[WM_POLICY_ERR_LEN];
	struct wm_store_policy sp;
	int ret = wm_store_policy_current(s, &sp);

	*reuse = false;
	if (ret || !sp.text)
		return ret;
	fresh->policy_text = sp.text;
	if (old->policy && !strcmp(old->policy_text, sp.text) &&
	    wm_policy_same_nodes(old->policy, fresh->nodes, fresh->n, fresh->routes,
				 fresh->n_routes)) {
		*reuse = true;
		return 0;
	}
	ret = wm_policy_parse(&fresh->policy, sp.text, strlen(sp.text), err, sizeof(err));
	if (!ret)
		ret = wm_policy_compile(fresh->policy, fresh->nodes, fresh->n, fresh->routes,
					fresh->n_routes, NULL, 0, false, err,
					sizeof(err));
	/* It was checked when set; what fails now is a hand-edited database: deny everything. */
	if (ret && ret != -ENOMEM) {
		if (!old->policy_text || strcmp(old->policy_text, sp.text))
			wm_log_error("coord: stored policy %lld: %s; denying everything until a good one is set",
				     (long long)sp.id, err);
		wm_policy_free(fresh->policy);
		ret = wm_policy_parse(&fresh->policy, DENY_ALL, strlen(DENY_ALL), NULL, 0);
		if (!ret)
			ret = wm_policy_compile(fresh->policy, fresh->nodes, fresh->n, fresh->routes,
						fresh->n_routes, NULL, 0,
						false, NULL, 0);
	}
	return ret;
}

/* A stored suffix that does not pass the check (a hand-edited database): the default. */
static int checked_dns_suffix(struct wm_store *s, char out[WM_NETMAP_DNS_SUFFIX_MAX + 1])
{
	char why[160];
	int ret = wm_store_dns_suffix_get(s, out);

	if (!ret && wm_coord_dns_suffix_check(out, why, sizeof(why)) < 0) {
		wm_log_error("coord: the stored DNS suffix \"%s\" %s; serving %s", out, why,
			     WM_STORE_DNS_SUFFIX_DEFAULT);
		snprintf(out, WM_NETMAP_DNS_SUFFIX_MAX + 1, "%s", WM_STORE_DNS_SUFFIX_DEFAULT);
	}
	return ret;
}

int wm_coord_cache_rebuild(struct wm_coord_cache *c, struct wm_store *s, int64_t now,
			   double loop_now)
{
	struct wm_coord_cache fresh = { 0 };
	struct wm_netmap_peer peer;
	bool reuse;
	int ret;

	/* The version first: a change racing with the load makes the cache look older, never
	 * newer, than what it holds, and the next wake rebuilds it. */
	fresh.version = wm_store_netmap_version(s);
	ret = wm_store_nodes_load(s, &fresh.nodes, &fresh.n);
	if (ret)
		return ret;
	if ((ret = wm_store_routes_load(s, &fresh.routes, &fresh.n_routes))) {
		wm_coord_cache_free(&fresh);
		return ret;
	}
	fresh.relays = checked_relays(s);
	if ((ret = checked_dns_suffix(s, fresh.dns_suffix))) {
		wm_coord_cache_free(&fresh);
		return ret;
	}
	if ((ret = load_policy(&fresh, c, s, &reuse))) {
		wm_coord_cache_free(&fresh);
		return ret;
	}
	fresh.frag = calloc(fresh.n + 1, sizeof(*fresh.frag));
	fresh.frag_len = calloc(fresh.n + 1, sizeof(*fresh.frag_len));
	if (!fresh.relays || !fresh.frag || !fresh.frag_len)
		goto nomem;
	for (size_t i = 0; i < fresh.n; i++) {
		wm_coord_node_peer(&peer, &fresh.nodes[i], now);
		peer.n_routes = wm_coord_node_routes(fresh.routes, fresh.n_routes,
						     fresh.nodes[i].id, true, peer.routes);
		fresh.frag[i] = wm_coord_peer_encode(&peer);
		if (!fresh.frag[i])
			goto nomem;
		fresh.frag_len[i] = strlen(fresh.frag[i]);
		fresh.frags_total += fresh.frag_len[i] + 1;
	}
	fresh.built_at = loop_now;
	fresh.built_unix = now;
	if (reuse) {
		fresh.policy = c->policy;
		c->policy = NULL;
	}
	wm_coord_cache_free(c);
	*c = fresh;
	return 0;
nomem:
	wm_coord_cache_free(&fresh);
	return -ENOMEM;
}

static int cmp_node_id(const void *key, const void *elem)
{
	int64_t id = *(const int64_t *)key, other = ((const struct wm_store_node *)elem)->id;

	return id < other ? -1 : id > other;
}

const struct wm_store_node *wm_coord_cache_node(const struct wm_coord_cache *c, int64_t id)
{
	if (!c->n)
		return NULL;
	return bsearch(&id, c->nodes, c->n, sizeof(*c->nodes), cmp_node_id);
}

char *wm_coord_cache_netmap(const struct wm_coord_cache *c, const struct wm_store_node *node,
			    const uint8_t id[WM_COORD_REQ_ID_LEN], size_t *len)
{
	struct wm_netmap_self self;
	char hex[2 * WM_COORD_REQ_ID_LEN + 1], head[256], *self_json, *out, *p, *filter = NULL;
	size_t self_idx = (size_t)(node - c->nodes), cap, filter_len = 4;
	uint64_t *seen = NULL;
	bool first = true, truncated;
	int n;

	/* Without a policy every node gets every peer and "packet_filter": null, as before. */
	if (c->policy) {
		filter = wm_policy_filter(c->policy, self_idx, &filter_len, &truncated);
		seen = malloc(((c->n + 63) / 64 + 1) * sizeof(*seen));
		if (!filter || !seen) {
			free(filter);
			free(seen);
			return NULL;
		}
		if (truncated)
			wm_log_error("coord: node %s: its packet filter is over the bounds (%u bytes, %d rules): the rest denies",
				     node->name, WM_PACKET_FILTER_MAX, WM_POLICY_MAX_RULES);
		wm_policy_visible(c->policy, self_idx, seen, (c->n + 63) / 64 + 1);
	}
	wm_coord_node_self(&self, node);
	self.n_approved_routes = wm_coord_node_routes(c->routes, c->n_routes, node->id, false,
						      self.approved_routes);
	self_json = wm_coord_self_encode(&self);
	if (!self_json) {
		free(filter);
		free(seen);
		return NULL;
	}
	sodium_bin2hex(hex, sizeof(hex), id, WM_COORD_REQ_ID_LEN);
	n = snprintf(head, sizeof(head), "{\"type\":\"netmap\",\"id\":\"%s\",\"version\":%llu,"
		     "\"unchanged\":false,\"self\":", hex, (unsigned long long)c->version);
	cap = (size_t)n + strlen(self_json) + strlen(c->relays) + filter_len + c->frags_total +
	      strlen(c->dns_suffix) + 96;
	out = malloc(cap);
	if (!out) {
		free(self_json);
		free(filter);
		free(seen);
		return NULL;
	}
	p = out + sprintf(out, "%s%s,\"relays\":%s,\"dns\":{\"suffix\":\"%s\"},"
			  "\"packet_filter\":%s,\"peers\":[", head, self_json, c->relays,
			  c->dns_suffix, filter ? filter : "null");
	free(self_json);
	free(filter);
	for (size_t i = 0; i < c->n; i++) {
		if (i == self_idx || (seen && !(seen[i / 64] >> (i % 64) & 1)))
			continue;
		if (!first)
			*p++ = ',';
		first = false;
		memcpy(p, c->frag[i], c->frag_len[i]);
		p += c->frag_len[i];
	}
	free(seen);
	p += sprintf(p, "]}");
	*len = (size_t)(p - out);
	return out;
}
