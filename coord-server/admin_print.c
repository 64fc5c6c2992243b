/* SPDX-License-Identifier: MIT */
#include "coord-server/admin_print.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/encoding.h"
#include "coord-client/coord_msg.h"
#include "coord-server/store.h"

#define TIME_LEN 24

/* "2025-06-01 12:00:00" UTC, or "never"/"-" for 0. */
static void fmt_time(char out[TIME_LEN], int64_t t, const char *zero)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm)) {
		snprintf(out, TIME_LEN, "%s", zero);
		return;
	}
	strftime(out, TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm);
}

static void addresses(const struct wm_store_node *n, char v4[INET_ADDRSTRLEN],
		      char v6[INET6_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = htonl(n->ipv4) };
	struct in6_addr a6;

	wm_coord_ipv6_for(&a6, a);
	inet_ntop(AF_INET, &a, v4, INET_ADDRSTRLEN);
	inet_ntop(AF_INET6, &a6, v6, INET6_ADDRSTRLEN);
}

static json_t *node_json(const struct wm_store_node *n, int64_t now)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], key[WM_KEY_B64_LEN], ep[WM_ENDPOINT_STR_LEN];
	json_t *eps = json_array();

	addresses(n, v4, v6);
	wm_key_to_base64(key, n->node_key);
	for (size_t i = 0; eps && i < n->n_endpoints; i++) {
		wm_endpoint_format(&n->endpoints[i], ep);
		json_array_append_new(eps, json_string(ep));
	}
	return json_pack("{sI ss ss ss ss ss ss sb sI sI sb so sI sb ss ss}", "id",
			 (json_int_t)n->id, "name", n->name, "hostname", n->hostname, "ipv4", v4,
			 "ipv6", v6, "node_key", key, "os", n->os, "online", n->online, "last_seen",
			 (json_int_t)n->last_seen, "key_expiry", (json_int_t)n->key_expiry,
			 "expired", n->key_expiry && now >= n->key_expiry, "endpoints",
			 eps ? eps : json_array(), "home_relay", (json_int_t)n->home_relay,
			 "ephemeral", n->ephemeral, "tag", n->tag, "version", n->version);
}

static void node_row(const struct wm_store_node *n, int64_t now)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], key[WM_KEY_B64_LEN];
	char seen[TIME_LEN], expiry[TIME_LEN];
	bool expired = n->key_expiry && now >= n->key_expiry;

	addresses(n, v4, v6);
	wm_key_to_base64(key, n->node_key);
	key[10] = '\0';
	fmt_time(seen, n->last_seen, "never");
	fmt_time(expiry, n->key_expiry, "never");
	printf("%-5lld %-20s %-15s %-26s %-7s %-19s %-19s%s %-8s %-10s %s…  %s\n", (long long)n->id,
	       n->name, v4, v6, n->online ? "online" : "offline", seen, expiry,
	       expired ? "!" : " ", n->os, n->ephemeral ? "ephemeral" : "-", key,
	       n->tag[0] ? n->tag : "-");
}

int wm_coord_print_nodes(struct wm_store *s, bool json, int64_t now)
{
	struct wm_store_node *nodes;
	json_t *arr;
	size_t n;
	int ret = wm_store_nodes_load(s, &nodes, &n);

	if (ret)
		return ret;
	if (json) {
		arr = json_array();
		for (size_t i = 0; arr && i < n; i++)
			json_array_append_new(arr, node_json(&nodes[i], now));
		if (!arr || json_dumpf(arr, stdout, JSON_INDENT(2)) < 0)
			ret = -ENOMEM;
		printf("\n");
		json_decref(arr);
	} else {
		printf("%-5s %-20s %-15s %-26s %-7s %-19s %-19s  %-8s %-10s %-13s %s\n", "ID", "NAME",
		       "IPV4", "IPV6", "STATUS", "LAST SEEN (UTC)", "KEY EXPIRY (UTC)", "OS", "KIND",
		       "NODE KEY", "TAGS");
		for (size_t i = 0; i < n; i++)
			node_row(&nodes[i], now);
		if (!n)
			printf("(no nodes yet: create an auth key and run wiremesh up)\n");
	}
	free(nodes);
	return ret;
}

struct key_print {
	bool json;
	int64_t now;
	json_t *arr;
	size_t count;
};

static const char *key_state(const struct wm_store_authkey *k, int64_t now)
{
	if (k->revoked)
		return "revoked";
	if (k->expires && now >= k->expires)
		return "expired";
	if (!k->reusable && k->uses)
		return "used";
	return "valid";
}

static void print_key(void *ctx, const struct wm_store_authkey *k)
{
	struct key_print *p = ctx;
	char created[TIME_LEN], expires[TIME_LEN];

	p->count++;
	if (p->json) {
		json_array_append_new(p->arr, json_pack("{sI ss sb sb ss sI sI sI ss}", "id",
							(json_int_t)k->id, "prefix", k->prefix,
							"reusable", k->reusable, "ephemeral",
							k->ephemeral, "tag", k->tag, "created",
							(json_int_t)k->created, "expires",
							(json_int_t)k->expires, "uses",
							(json_int_t)k->uses, "state",
							key_state(k, p->now)));
		return;
	}
	fmt_time(created, k->created, "-");
	fmt_time(expires, k->expires, "never");
	printf("%-5lld %-17s %-8s %-9s %-19s %-19s %-5lld %-8s %s\n", (long long)k->id, k->prefix,
	       k->reusable ? "reusable" : "once", k->ephemeral ? "ephemeral" : "-", created,
	       expires, (long long)k->uses, key_state(k, p->now), k->tag[0] ? k->tag : "-");
}

int wm_coord_print_authkeys(struct wm_store *s, bool json, int64_t now)
{
	struct key_print p = { .json = json, .now = now };
	int ret;

	if (json) {
		p.arr = json_array();
		if (!p.arr)
			return -ENOMEM;
	} else {
		printf("%-5s %-17s %-8s %-9s %-19s %-19s %-5s %-8s %s\n", "ID", "KEY", "USE", "KIND",
		       "CREATED (UTC)", "EXPIRES (UTC)", "USES", "STATE", "TAG");
	}
	ret = wm_store_authkey_list(s, print_key, &p);
	if (json) {
		if (!ret)
			json_dumpf(p.arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(p.arr);
	} else if (!ret && !p.count) {
		printf("(no auth keys: wiremesh-coord authkey create --db PATH)\n");
	}
	return ret;
}

static int cmp_node_id(const void *key, const void *elem)
{
	int64_t id = *(const int64_t *)key, other = ((const struct wm_store_node *)elem)->id;

	return id < other ? -1 : id > other;
}

/* nodes as wm_store_nodes_load() gives them: by id. */
static const struct wm_store_node *node_of(const struct wm_store_node *nodes, size_t n,
					   int64_t id)
{
	return n ? bsearch(&id, nodes, n, sizeof(*nodes), cmp_node_id) : NULL;
}

static int cmp_route_prefix(const void *a, const void *b)
{
	const struct wm_store_route *x = a, *y = b;
	int c = wm_netmap_prefix_cmp(&x->prefix, &y->prefix);

	return c ? c : x->node_id < y->node_id ? -1 : x->node_id > y->node_id;
}

static const char *yes(bool b)
{
	return b ? "yes" : "no";
}

/* The rows, by prefix then node, as a table; *waiting counts those awaiting approval. */
static void route_rows(const struct wm_store_route *r, size_t n, const struct wm_store_node *nodes,
		       size_t n_nodes, size_t *waiting)
{
	char prefix[WM_NETMAP_PREFIX_TEXT_MAX];

	printf("%-5s %-20s %-24s %-10s %-8s %s\n", "ID", "NODE", "PREFIX", "ADVERTISED",
	       "APPROVED", "PRIMARY");
	for (size_t i = 0; i < n; i++) {
		const struct wm_store_node *node = node_of(nodes, n_nodes, r[i].node_id);

		wm_netmap_prefix_format(&r[i].prefix, prefix, sizeof(prefix));
		printf("%-5lld %-20s %-24s %-10s %-8s %s%s\n", (long long)r[i].node_id,
		       node ? node->name : "?", prefix, yes(r[i].advertised), yes(r[i].approved),
		       yes(r[i].primary), wm_netmap_prefix_is_default(&r[i].prefix) ?
		       " (exit node)" : "");
		*waiting += r[i].advertised && !r[i].approved;
	}
}

static json_t *routes_json(const struct wm_store_route *r, size_t n,
			   const struct wm_store_node *nodes, size_t n_nodes)
{
	char prefix[WM_NETMAP_PREFIX_TEXT_MAX];
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++) {
		const struct wm_store_node *node = node_of(nodes, n_nodes, r[i].node_id);

		wm_netmap_prefix_format(&r[i].prefix, prefix, sizeof(prefix));
		if (json_array_append_new(arr, json_pack("{sI ss ss sb sb sb sb sb}", "node_id",
							 (json_int_t)r[i].node_id, "node",
							 node ? node->name : "", "prefix", prefix,
							 "advertised", r[i].advertised, "approved",
							 r[i].approved, "primary", r[i].primary,
							 "online", node && node->online, "exit_node",
							 wm_netmap_prefix_is_default(&r[i].prefix)))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int wm_coord_print_routes(struct wm_store *s, bool json)
{
	struct wm_store_node *nodes = NULL;
	struct wm_store_route *routes = NULL;
	size_t n_nodes = 0, n = 0, waiting = 0;
	json_t *arr;
	int ret = wm_store_nodes_load(s, &nodes, &n_nodes);

	if (!ret)
		ret = wm_store_routes_load(s, &routes, &n);
	if (ret) {
		free(nodes);
		return ret;
	}
	if (n)
		qsort(routes, n, sizeof(*routes), cmp_route_prefix);
	if (json) {
		arr = routes_json(routes, n, nodes, n_nodes);
		if (!arr || json_dumpf(arr, stdout, JSON_INDENT(2)) < 0)
			ret = -ENOMEM;
		printf("\n");
		json_decref(arr);
	} else {
		route_rows(routes, n, nodes, n_nodes, &waiting);
		if (!n)
			printf("(no routes: a node offers them with wiremesh up --advertise-routes PREFIX,...)\n");
		else if (waiting)
			printf("(%zu route%s wait%s for approval: wiremesh-coord routes approve --db PATH NODE PREFIX)\n",
			       waiting, waiting == 1 ? "" : "s", waiting == 1 ? "s" : "");
	}
	free(routes);
	free(nodes);
	return ret;
}

struct policy_print {
	json_t *arr;
	size_t count;
};

static void print_policy(void *ctx, const struct wm_store_policy *pol, size_t size)
{
	struct policy_print *p = ctx;
	char created[TIME_LEN], text[32];

	p->count++;
	if (p->arr) {
		json_array_append_new(p->arr, json_pack("{sI sI sb sb sI}", "id", (json_int_t)pol->id,
							"created", (json_int_t)pol->created,
							"current", pol->current, "cleared", !size,
							"size", (json_int_t)size));
		return;
	}
	fmt_time(created, pol->created, "-");
	if (size)
		snprintf(text, sizeof(text), "%zu bytes", size);
	printf("%-5lld %-19s %-7s %s\n", (long long)pol->id, created, pol->current ? "yes" : "-",
	       size ? text : "(cleared: no policy)");
}

int wm_coord_print_policy_history(struct wm_store *s, bool json)
{
	struct policy_print p = { 0 };
	int ret;

	if (json && !(p.arr = json_array()))
		return -ENOMEM;
	if (!json)
		printf("%-5s %-19s %-7s %s\n", "ID", "SET (UTC)", "CURRENT", "TEXT");
	ret = wm_store_policy_history(s, print_policy, &p);
	if (json) {
		if (!ret)
			json_dumpf(p.arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(p.arr);
	} else if (!ret && !p.count) {
		printf("(no policy was ever set: every node may reach every other)\n");
	}
	return ret;
}
