/* SPDX-License-Identifier: MIT */
#include "coord-client/netmap_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"
#include "common/json.h"
#include "coord-client/coord_fields.h"

#define INT_FIELD_MAX (INT64_C(1) << 53)	/* exact in every JSON reader */

/* --- self ------------------------------------------------------------------------------- */

json_t *wm_netmap_json_self_new(const struct wm_netmap_self *s)
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "id", json_integer((json_int_t)s->id));

	ok = wm_json_put(o, "name", json_string(s->name)) && ok;
	ok = wm_json_put(o, "ipv4", wm_json_ipv4_new(s->ipv4)) && ok;
	ok = wm_json_put(o, "ipv6", wm_json_ipv6_new(&s->ipv6)) && ok;
	ok = wm_json_put(o, "key_expiry", json_integer(s->key_expiry)) && ok;
	if (s->n_approved_routes)
		ok = wm_json_put(o, "approved_routes",
				 wm_netmap_json_prefixes_new(s->approved_routes,
							     s->n_approved_routes)) && ok;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int parse_name(const json_t *o, char name[WM_NETMAP_NAME_MAX + 1], char *err,
		      size_t errlen)
{
	int ret = wm_json_string(o, "name", true, name, WM_NETMAP_NAME_MAX + 1, err, errlen);

	if (!ret && !wm_coord_name_valid(name))
		ret = wm_json_fail(err, errlen, "field \"name\" is not a DNS label");
	return ret;
}

int wm_netmap_json_self(const json_t *o, struct wm_netmap_self *s, char *err, size_t errlen)
{
	int64_t id = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o))
		return wm_json_fail(err, errlen, "field \"self\" must be an object");
	if ((ret = wm_json_int(o, "id", true, 1, INT_FIELD_MAX, &id, err, errlen)) ||
	    (ret = parse_name(o, s->name, err, errlen)) ||
	    (ret = wm_json_ipv4(o, "ipv4", &s->ipv4, err, errlen)) ||
	    (ret = wm_json_ipv6(o, "ipv6", &s->ipv6, err, errlen)) ||
	    (ret = wm_json_int(o, "key_expiry", true, 0, INT_FIELD_MAX, &s->key_expiry, err,
				     errlen)) ||
	    (ret = wm_netmap_json_routes(o, "approved_routes", s->approved_routes,
					 &s->n_approved_routes, err, errlen)))
		return ret;
	s->id = (uint64_t)id;
	return 0;
}

char *wm_coord_self_encode(const struct wm_netmap_self *s)
{
	json_t *o = wm_netmap_json_self_new(s);

	return wm_json_finish(o, o != NULL);
}

/* --- prefixes: allowed IPs and subnet routes ------------------------------------------- */

json_t *wm_netmap_json_prefixes_new(const struct wm_netmap_prefix *p, size_t n)
{
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		wm_netmap_prefix_format(&p[i], text, sizeof(text));
		if (json_array_append_new(a, json_string(text))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* An entry's text for an error: itself when short and printable, else nothing. */
static const char *shown(const char *s, size_t len)
{
	if (len >= WM_NETMAP_PREFIX_TEXT_MAX || !wm_coord_label_valid(s, len))
		return "";
	return s;
}

/*
 * An array of at most max prefixes (host bits zero) under field; routes: optional (none when
 * absent), each must pass wm_netmap_route_check() and none may repeat.
 */
static int read_prefixes(const json_t *o, const char *field, bool routes,
			 struct wm_netmap_prefix *out, size_t max, size_t *n, char *err,
			 size_t errlen)
{
	json_t *a = json_object_get(o, field), *item;
	char why[WM_COORD_ERR_LEN], text[WM_NETMAP_PREFIX_TEXT_MAX];
	size_t i;

	*n = 0;
	if (routes && (!a || json_is_null(a)))
		return 0;
	if (!json_is_array(a))
		return wm_json_fail(err, errlen, "field \"%s\" must be an array", field);
	if (json_array_size(a) > max)
		return wm_json_fail(err, errlen, "field \"%s\" has too many entries (%zu, at most %zu)",
				    field, json_array_size(a), max);
	json_array_foreach(a, i, item) {
		const char *s = json_string_value(item);
		size_t len = json_string_length(item);
		const char *t = s ? shown(s, len) : "";

		if (!s || strlen(s) != len || !wm_netmap_prefix_parse(&out[i], s))
			return wm_json_fail(err, errlen,
					    "field \"%s\" entry %zu %s%s%sis not a prefix (address/length, host bits zero)",
					    field, i, *t ? "(" : "", t, *t ? ") " : "");
		if (!routes)
			continue;
		wm_netmap_prefix_format(&out[i], text, sizeof(text));
		if (wm_netmap_route_check(&out[i], why, sizeof(why)))
			return wm_json_fail(err, errlen, "field \"%s\" entry %zu (%s) %s", field, i,
					    text, why);
		for (size_t k = 0; k < i; k++)
			if (!wm_netmap_prefix_cmp(&out[k], &out[i]))
				return wm_json_fail(err, errlen,
						    "field \"%s\" entry %zu (%s) repeats entry %zu",
						    field, i, text, k);
	}
	*n = json_array_size(a);
	return 0;
}

int wm_netmap_json_routes(const json_t *o, const char *field,
			  struct wm_netmap_prefix out[WM_NETMAP_MAX_ROUTES], size_t *n, char *err,
			  size_t errlen)
{
	return read_prefixes(o, field, true, out, WM_NETMAP_MAX_ROUTES, n, err, errlen);
}

/* --- peers ------------------------------------------------------------------------------ */

static json_t *peer_new(const struct wm_netmap_peer *p)
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "id", json_integer((json_int_t)p->id));

	ok = wm_json_put(o, "name", json_string(p->name)) && ok;
	ok = wm_json_put(o, "node_key", wm_json_key_new(p->node_key)) && ok;
	ok = wm_json_put(o, "disco_key", wm_json_key_new(p->disco_key)) && ok;
	ok = wm_json_put(o, "ipv4", wm_json_ipv4_new(p->ipv4)) && ok;
	ok = wm_json_put(o, "ipv6", wm_json_ipv6_new(&p->ipv6)) && ok;
	ok = wm_json_put(o, "allowed_ips",
			 wm_netmap_json_prefixes_new(p->allowed_ips, p->n_allowed_ips)) && ok;
	if (p->n_routes)
		ok = wm_json_put(o, "routes", wm_netmap_json_prefixes_new(p->routes, p->n_routes)) &&
		     ok;
	ok = wm_json_put(o, "endpoints",
			       wm_json_endpoints_new(p->endpoints, p->n_endpoints)) && ok;
	ok = wm_json_put(o, "home_relay", json_integer(p->home_relay)) && ok;
	ok = wm_json_put(o, "online", json_boolean(p->online)) && ok;
	ok = wm_json_put(o, "last_seen", json_integer(p->last_seen)) && ok;
	ok = wm_json_put(o, "key_expiry", json_integer(p->key_expiry)) && ok;
	ok = wm_json_put(o, "expired", json_boolean(p->expired)) && ok;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *wm_coord_peer_encode(const struct wm_netmap_peer *p)
{
	json_t *o = peer_new(p);

	return wm_json_finish(o, o != NULL);
}

static int parse_peer(const json_t *o, struct wm_netmap_peer *p, char *err, size_t errlen)
{
	int64_t id = 0, relay = 0;
	int ret;

	if (!json_is_object(o))
		return wm_json_fail(err, errlen, "a peer must be an object");
	if ((ret = wm_json_int(o, "id", true, 1, INT_FIELD_MAX, &id, err, errlen)) ||
	    (ret = parse_name(o, p->name, err, errlen)) ||
	    (ret = wm_json_key(o, "node_key", p->node_key, err, errlen)) ||
	    (ret = wm_json_key(o, "disco_key", p->disco_key, err, errlen)) ||
	    (ret = wm_json_ipv4(o, "ipv4", &p->ipv4, err, errlen)) ||
	    (ret = wm_json_ipv6(o, "ipv6", &p->ipv6, err, errlen)) ||
	    (ret = read_prefixes(o, "allowed_ips", false, p->allowed_ips,
				 WM_NETMAP_MAX_ALLOWED_IPS, &p->n_allowed_ips, err, errlen)) ||
	    (ret = wm_netmap_json_routes(o, "routes", p->routes, &p->n_routes, err, errlen)) ||
	    (ret = wm_json_endpoints(o, "endpoints", p->endpoints, WM_NETMAP_MAX_ENDPOINTS,
					   &p->n_endpoints, err, errlen)) ||
	    (ret = wm_json_int(o, "home_relay", false, 0, WM_RELAYMAP_REGION_ID_MAX, &relay,
				     err, errlen)) ||
	    (ret = wm_json_bool(o, "online", false, &p->online, err, errlen)) ||
	    (ret = wm_json_int(o, "last_seen", false, 0, INT_FIELD_MAX, &p->last_seen, err,
				     errlen)) ||
	    (ret = wm_json_int(o, "key_expiry", true, 0, INT_FIELD_MAX, &p->key_expiry, err,
				     errlen)) ||
	    (ret = wm_json_bool(o, "expired", false, &p->expired, err, errlen)))
		return ret;
	p->id = (uint64_t)id;
	p->home_relay = (int)relay;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int check_unique_ids(const struct wm_netmap *nm, char *err, size_t errlen)
{
	uint64_t *ids;
	int ret = 0;

	if (nm->n_peers < 2)
		return 0;
	ids = malloc(nm->n_peers * sizeof(*ids));
	if (!ids)
		return wm_json_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < nm->n_peers; i++)
		ids[i] = nm->peers[i].id;
	qsort(ids, nm->n_peers, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < nm->n_peers && !ret; i++)
		if (ids[i] == ids[i - 1])
			ret = wm_json_fail(err, errlen, "peer id %llu appears twice",
						 (unsigned long long)ids[i]);
	free(ids);
	return ret;
}

static int parse_peers(const json_t *a, struct wm_netmap *nm, char *err, size_t errlen)
{
	size_t n, i;
	json_t *item;
	int ret;

	if (!json_is_array(a))
		return wm_json_fail(err, errlen, "field \"peers\" must be an array");
	n = json_array_size(a);
	if (n > WM_NETMAP_MAX_PEERS)
		return wm_json_fail(err, errlen, "field \"peers\" has too many entries (%zu, at most %d)",
					  n, WM_NETMAP_MAX_PEERS);
	if (n && !(nm->peers = calloc(n, sizeof(*nm->peers))))
		return wm_json_fail(err, errlen, "out of memory for %zu peers", n);
	json_array_foreach(a, i, item) {
		ret = parse_peer(item, &nm->peers[i], err, errlen);
		if (ret) {
			char inner[WM_COORD_ERR_LEN];

			snprintf(inner, sizeof(inner), "%s", err ? err : "");
			return wm_json_fail(err, errlen, "peer %zu: %s", i, inner);
		}
	}
	nm->n_peers = n;
	return check_unique_ids(nm, err, errlen);
}

/* --- relay map -------------------------------------------------------------------------- */

static json_t *relay_new(const struct wm_relay_node *r)
{
	json_t *o = json_object();
	char stun[WM_RELAYMAP_HOST_MAX + 10];
	bool ok = wm_json_put(o, "url", json_string(r->url));

	if (r->stun_host[0]) {
		snprintf(stun, sizeof(stun), strchr(r->stun_host, ':') ? "[%s]:%u" : "%s:%u",
			 r->stun_host, r->stun_port);
		ok = wm_json_put(o, "stun", json_string(stun)) && ok;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *region_new(const struct wm_relay_region *g)
{
	json_t *o = json_object(), *a = json_array();
	bool ok = wm_json_put(o, "id", json_integer(g->id));

	for (size_t i = 0; a && i < g->n_relays; i++)
		ok = !json_array_append_new(a, relay_new(&g->relays[i])) && ok;
	ok = wm_json_put(o, "code", json_string(g->code)) && ok;
	ok = wm_json_put(o, "name", json_string(g->name)) && ok;
	ok = wm_json_put(o, "relays", a) && ok;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *wm_netmap_json_relay_map_new(const struct wm_relay_map *rm)
{
	json_t *o = json_object(), *a = json_array();
	bool ok = true;

	for (size_t i = 0; a && i < rm->n_regions; i++)
		ok = !json_array_append_new(a, region_new(&rm->regions[i])) && ok;
	ok = wm_json_put(o, "regions", a) && ok;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *wm_coord_relay_map_encode(const struct wm_relay_map *rm)
{
	json_t *o = wm_netmap_json_relay_map_new(rm);

	return wm_json_finish(o, o != NULL);
}

static bool host_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > WM_RELAYMAP_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-'))
			return false;
	return true;
}

/* "host:port", "1.2.3.4:port" or "[v6]:port". */
static bool stun_from_text(struct wm_relay_node *r, const char *text)
{
	const char *colon;
	char *end;
	size_t n;
	unsigned long port;
	struct in6_addr a6;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':' || (n = (size_t)(close - text - 1)) == 0 ||
		    n > WM_RELAYMAP_HOST_MAX)
			return false;
		memcpy(r->stun_host, text + 1, n);
		r->stun_host[n] = '\0';
		if (inet_pton(AF_INET6, r->stun_host, &a6) != 1)
			return false;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (n = (size_t)(colon - text)) == 0 || n > WM_RELAYMAP_HOST_MAX)
			return false;
		memcpy(r->stun_host, text, n);
		r->stun_host[n] = '\0';
		if (!host_valid(r->stun_host))
			return false;
	}
	if (colon[1] < '0' || colon[1] > '9')
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return false;
	r->stun_port = (uint16_t)port;
	return true;
}

/* A relay URL as the node's relay client will dial it. */
static bool url_valid(const char *u)
{
	struct wm_http_url hu;

	return !wm_http_url_parse(&hu, u, NULL, 0);
}

static int parse_relay(const json_t *o, struct wm_relay_node *r, char *err, size_t errlen)
{
	char stun[WM_RELAYMAP_HOST_MAX + 10];
	int ret;

	if (!json_is_object(o))
		return wm_json_fail(err, errlen, "a relay must be an object");
	if ((ret = wm_json_string(o, "url", true, r->url, sizeof(r->url), err, errlen)) ||
	    (ret = wm_json_string(o, "stun", false, stun, sizeof(stun), err, errlen)))
		return ret;
	if (!url_valid(r->url))
		return wm_json_fail(err, errlen, "field \"url\" must be an http:// or https:// URL");
	if (stun[0] && !stun_from_text(r, stun))
		return wm_json_fail(err, errlen, "field \"stun\" must be host:port");
	return 0;
}

static int parse_region(const json_t *o, struct wm_relay_region *g, char *err, size_t errlen)
{
	int64_t id = 0;
	json_t *a, *item;
	size_t i;
	int ret;

	if (!json_is_object(o))
		return wm_json_fail(err, errlen, "a region must be an object");
	if ((ret = wm_json_int(o, "id", true, 1, WM_RELAYMAP_REGION_ID_MAX, &id, err,
				     errlen)) ||
	    (ret = wm_json_string(o, "code", true, g->code, sizeof(g->code), err, errlen)) ||
	    (ret = wm_json_string(o, "name", false, g->name, sizeof(g->name), err, errlen)))
		return ret;
	g->id = (int)id;
	if (!wm_coord_name_valid(g->code))
		return wm_json_fail(err, errlen, "field \"code\" must be lowercase letters, digits and '-'");
	if (!g->name[0])
		strcpy(g->name, g->code);
	else if (!wm_coord_label_valid(g->name, WM_RELAYMAP_REGION_NAME_MAX))
		return wm_json_fail(err, errlen, "field \"name\" must be printable ASCII");
	a = json_object_get(o, "relays");
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > WM_RELAYMAP_MAX_RELAYS)
		return wm_json_fail(err, errlen, "field \"relays\" must be an array of 1-%d relays",
					  WM_RELAYMAP_MAX_RELAYS);
	json_array_foreach(a, i, item) {
		if ((ret = parse_relay(item, &g->relays[i], err, errlen)))
			return ret;
	}
	g->n_relays = json_array_size(a);
	return 0;
}

int wm_netmap_json_relay_map(const json_t *v, struct wm_relay_map *rm, char *err, size_t errlen)
{
	json_t *a, *item;
	size_t n, i;
	int ret;

	memset(rm, 0, sizeof(*rm));
	if (!json_is_object(v))
		return wm_json_fail(err, errlen, "the relay map must be an object with \"regions\"");
	a = json_object_get(v, "regions");
	if (!json_is_array(a))
		return wm_json_fail(err, errlen, "field \"regions\" must be an array");
	n = json_array_size(a);
	if (n > WM_RELAYMAP_MAX_REGIONS)
		return wm_json_fail(err, errlen, "field \"regions\" has too many entries (at most %d)",
					  WM_RELAYMAP_MAX_REGIONS);
	if (n && !(rm->regions = calloc(n, sizeof(*rm->regions))))
		return wm_json_fail(err, errlen, "out of memory");
	json_array_foreach(a, i, item) {
		char inner[WM_COORD_ERR_LEN];

		if ((ret = parse_region(item, &rm->regions[i], err, errlen))) {
			snprintf(inner, sizeof(inner), "%s", err ? err : "");
			wm_relay_map_free(rm);
			return wm_json_fail(err, errlen, "region %zu: %s", i, inner);
		}
		for (size_t j = 0; j < i; j++) {
			if (rm->regions[j].id == rm->regions[i].id) {
				wm_relay_map_free(rm);
				return wm_json_fail(err, errlen, "region %zu: id %d appears twice", i,
							  (int)json_integer_value(json_object_get(item, "id")));
			}
		}
		rm->n_regions = i + 1;
	}
	return 0;
}

int wm_coord_relay_map_parse(struct wm_relay_map *rm, const char *text, size_t len, char *err,
			     size_t errlen)
{
	json_t *o = wm_json_load_object(text, len, JSON_REJECT_DUPLICATES, err, errlen);
	int ret;

	memset(rm, 0, sizeof(*rm));
	if (!o)
		return -EBADMSG;
	ret = wm_netmap_json_relay_map(o, rm, err, errlen);
	json_decref(o);
	return ret;
}

/* --- the netmap ------------------------------------------------------------------------ */

bool wm_netmap_json_put(json_t *o, const struct wm_netmap *nm)
{
	json_t *peers = json_array(), *pf = json_null();
	bool ok = true;

	for (size_t i = 0; peers && i < nm->n_peers; i++)
		ok = !json_array_append_new(peers, peer_new(&nm->peers[i])) && ok;
	if (nm->packet_filter) {
		json_decref(pf);
		pf = json_loads(nm->packet_filter, JSON_DECODE_ANY, NULL);
	}
	ok = wm_json_put(o, "self", wm_netmap_json_self_new(&nm->self)) && ok;
	ok = wm_json_put(o, "relays", wm_netmap_json_relay_map_new(&nm->relays)) && ok;
	ok = wm_json_put(o, "packet_filter", pf) && ok;
	if (nm->dns_suffix[0])
		ok = wm_json_put(o, "dns", wm_netmap_json_dns_new(nm->dns_suffix)) && ok;
	return wm_json_put(o, "peers", peers) && ok;
}

json_t *wm_netmap_json_dns_new(const char *suffix)
{
	json_t *o = json_object();

	if (!wm_json_put(o, "suffix", json_string(suffix))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "dns": {"suffix": "..."}, optional (no mesh names without it). */
static int parse_dns(const json_t *o, struct wm_netmap *nm, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "dns");
	char why[160];
	int ret;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return wm_json_fail(err, errlen, "field \"dns\" must be an object");
	if ((ret = wm_json_string(v, "suffix", true, nm->dns_suffix, sizeof(nm->dns_suffix), err,
				  errlen)))
		return ret;
	if (wm_coord_dns_suffix_check(nm->dns_suffix, why, sizeof(why)) < 0) {
		nm->dns_suffix[0] = '\0';
		return wm_json_fail(err, errlen, "field \"dns\": the suffix %s", why);
	}
	return 0;
}

static int parse_packet_filter(const json_t *o, struct wm_netmap *nm, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "packet_filter");

	if (!v || json_is_null(v))
		return 0;
	nm->packet_filter = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!nm->packet_filter)
		return wm_json_fail(err, errlen, "out of memory for the packet filter");
	if (strlen(nm->packet_filter) > WM_PACKET_FILTER_MAX)
		return wm_json_fail(err, errlen, "field \"packet_filter\" is too large");
	return 0;
}

int wm_netmap_json_read(const json_t *o, struct wm_netmap *nm, char *err, size_t errlen)
{
	json_t *self = json_object_get(o, "self");
	int ret;

	if (!self)
		return wm_json_fail(err, errlen, "missing field \"self\"");
	if ((ret = wm_netmap_json_self(self, &nm->self, err, errlen)) ||
	    (ret = wm_netmap_json_relay_map(json_object_get(o, "relays"), &nm->relays, err,
					    errlen)) ||
	    (ret = parse_peers(json_object_get(o, "peers"), nm, err, errlen)) ||
	    (ret = parse_packet_filter(o, nm, err, errlen)) ||
	    (ret = parse_dns(o, nm, err, errlen)))
		return ret;
	for (size_t i = 0; i < nm->n_peers; i++)
		if (nm->peers[i].id == nm->self.id)
			return wm_json_fail(err, errlen, "peer %zu is this node itself", i);
	return 0;
}
