/* SPDX-License-Identifier: MIT */
#include "coord-client/netmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void wm_relay_map_free(struct wm_relay_map *rm)
{
	free(rm->regions);
	memset(rm, 0, sizeof(*rm));
}

void wm_netmap_free(struct wm_netmap *nm)
{
	free(nm->peers);
	free(nm->packet_filter);
	wm_relay_map_free(&nm->relays);
	memset(nm, 0, sizeof(*nm));
}

int wm_relay_map_copy(struct wm_relay_map *dst, const struct wm_relay_map *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n_regions)
		return 0;
	dst->regions = malloc(src->n_regions * sizeof(*dst->regions));
	if (!dst->regions)
		return -ENOMEM;
	memcpy(dst->regions, src->regions, src->n_regions * sizeof(*dst->regions));
	dst->n_regions = src->n_regions;
	return 0;
}

int wm_netmap_copy(struct wm_netmap *dst, const struct wm_netmap *src)
{
	*dst = *src;
	dst->peers = NULL;
	dst->packet_filter = NULL;
	memset(&dst->relays, 0, sizeof(dst->relays));
	if (src->n_peers) {
		dst->peers = malloc(src->n_peers * sizeof(*dst->peers));
		if (!dst->peers)
			goto fail;
		memcpy(dst->peers, src->peers, src->n_peers * sizeof(*dst->peers));
	}
	if (src->packet_filter && !(dst->packet_filter = strdup(src->packet_filter)))
		goto fail;
	if (wm_relay_map_copy(&dst->relays, &src->relays))
		goto fail;
	return 0;
fail:
	wm_netmap_free(dst);
	return -ENOMEM;
}

/* --- prefixes --------------------------------------------------------------------------- */

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static bool host_bits_zero(const struct wm_netmap_prefix *p)
{
	for (size_t bit = p->cidr; bit < addr_len(p->family) * 8; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

bool wm_netmap_prefix_parse(struct wm_netmap_prefix *p, const char *text)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/'), *digits;
	size_t n;
	unsigned int cidr = 0;

	memset(p, 0, sizeof(*p));
	if (!slash || (n = (size_t)(slash - text)) == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, text, n);
	addr[n] = '\0';
	/* 1-3 decimal digits, no sign, no space, no leading zero ("/024" is not a length). */
	digits = slash + 1;
	n = strspn(digits, "0123456789");
	if (n == 0 || n > 3 || digits[n] || (n > 1 && digits[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		cidr = cidr * 10 + (unsigned int)(digits[i] - '0');
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = AF_INET6;
	else
		return false;
	if (cidr > addr_len(p->family) * 8)
		return false;
	p->cidr = (uint8_t)cidr;
	return host_bits_zero(p);
}

void wm_netmap_prefix_format(const struct wm_netmap_prefix *p, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN];

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	snprintf(out, cap, "%s/%u", addr, p->cidr);
}

int wm_netmap_prefix_cmp(const struct wm_netmap_prefix *a, const struct wm_netmap_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, addr_len(a->family));
	if (c)
		return c < 0 ? -1 : 1;
	return a->cidr < b->cidr ? -1 : a->cidr > b->cidr;
}

/* Whether the first bits of a and b agree: one prefix contains the other. */
static bool overlap(const uint8_t *a, unsigned int a_len, const uint8_t *b, unsigned int b_len)
{
	unsigned int bits = a_len < b_len ? a_len : b_len;

	if (memcmp(a, b, bits / 8))
		return false;
	return bits % 8 == 0 || !((a[bits / 8] ^ b[bits / 8]) & (0xff00 >> (bits % 8)));
}

/* What a subnet route may not touch (docs/routes.md): the mesh's own ranges and addresses no
 * router forwards. */
static const struct {
	int family;
	uint8_t addr[16];
	unsigned int len;
	const char *why;
} reserved[] = {
	{ AF_INET, WM_NETMAP_IPV4_PREFIX, 10, "overlaps the mesh's own addresses (100.64.0.0/10)" },
	{ AF_INET6, WM_NETMAP_ULA_PREFIX, 48, "overlaps the mesh's own IPv6 prefix (fd77:6d65:7368::/48)" },
	{ AF_INET, { 127 }, 8, "overlaps loopback (127.0.0.0/8)" },
	{ AF_INET6, { [15] = 1 }, 128, "overlaps loopback (::1)" },
	{ AF_INET, { 169, 254 }, 16, "overlaps link-local addresses (169.254.0.0/16)" },
	{ AF_INET6, { 0xfe, 0x80 }, 10, "overlaps link-local addresses (fe80::/10)" },
	{ AF_INET, { 224 }, 4, "overlaps multicast (224.0.0.0/4)" },
	{ AF_INET6, { 0xff }, 8, "overlaps multicast (ff00::/8)" },
};

int wm_netmap_route_check(const struct wm_netmap_prefix *p, char *why, size_t whylen)
{
	const char *reason = NULL;

	if ((p->family != AF_INET && p->family != AF_INET6) || p->cidr > addr_len(p->family) * 8)
		reason = "is not a prefix";
	else if (!host_bits_zero(p))
		reason = "has bits set past its length (not a prefix)";
	else if (p->cidr == 0)
		return 0;	/* an exit node: it contains every range below, by design */
	for (size_t i = 0; !reason && i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (reserved[i].family == p->family &&
		    overlap(p->addr, p->cidr, reserved[i].addr, reserved[i].len))
			reason = reserved[i].why;
	if (!reason)
		return 0;
	if (why && whylen)
		snprintf(why, whylen, "%s", reason);
	return -EINVAL;
}

bool wm_netmap_prefix_is_default(const struct wm_netmap_prefix *p)
{
	return (p->family == AF_INET || p->family == AF_INET6) && p->cidr == 0;
}

const struct wm_netmap_peer *wm_netmap_find_peer(const struct wm_netmap *nm, uint64_t id)
{
	for (size_t i = 0; i < nm->n_peers; i++)
		if (nm->peers[i].id == id)
			return &nm->peers[i];
	return NULL;
}

/* --- diff ------------------------------------------------------------------------------- */

static int cmp_peer_id(const void *a, const void *b)
{
	const struct wm_netmap_peer *x = *(const struct wm_netmap_peer *const *)a;
	const struct wm_netmap_peer *y = *(const struct wm_netmap_peer *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* The live (not expired) peers of nm sorted by id, in *out (malloc'd). Count, or -ENOMEM. */
static ssize_t live_sorted(const struct wm_netmap *nm, const struct wm_netmap_peer ***out)
{
	const struct wm_netmap_peer **v;
	size_t n = 0;

	*out = NULL;
	if (!nm || !nm->n_peers)
		return 0;
	v = malloc(nm->n_peers * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < nm->n_peers; i++)
		if (!nm->peers[i].expired)
			v[n++] = &nm->peers[i];
	qsort(v, n, sizeof(*v), cmp_peer_id);
	*out = v;
	return (ssize_t)n;
}

static bool endpoints_equal(const struct wm_netmap_peer *a, const struct wm_netmap_peer *b)
{
	if (a->n_endpoints != b->n_endpoints)
		return false;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (!wm_endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	return true;
}

static bool prefixes_equal(const struct wm_netmap_peer *a, const struct wm_netmap_peer *b)
{
	if (a->n_allowed_ips != b->n_allowed_ips)
		return false;
	for (size_t i = 0; i < a->n_allowed_ips; i++)
		if (wm_netmap_prefix_cmp(&a->allowed_ips[i], &b->allowed_ips[i]))
			return false;
	return true;
}

static int cmp_prefix(const void *a, const void *b)
{
	return wm_netmap_prefix_cmp(a, b);
}

/* The same set of routes, in any order (a list holds no prefix twice). */
static bool routes_equal(const struct wm_netmap_peer *a, const struct wm_netmap_peer *b)
{
	struct wm_netmap_prefix x[WM_NETMAP_MAX_ROUTES], y[WM_NETMAP_MAX_ROUTES];
	size_t n = a->n_routes < WM_NETMAP_MAX_ROUTES ? a->n_routes : WM_NETMAP_MAX_ROUTES;

	if (a->n_routes != b->n_routes)
		return false;
	memcpy(x, a->routes, n * sizeof(x[0]));
	memcpy(y, b->routes, n * sizeof(y[0]));
	qsort(x, n, sizeof(x[0]), cmp_prefix);
	qsort(y, n, sizeof(y[0]), cmp_prefix);
	for (size_t i = 0; i < n; i++)
		if (wm_netmap_prefix_cmp(&x[i], &y[i]))
			return false;
	return true;
}

static unsigned int peer_changes(const struct wm_netmap_peer *a, const struct wm_netmap_peer *b)
{
	unsigned int what = 0;

	if (sodium_memcmp(a->node_key, b->node_key, WM_KEY_LEN))
		what |= WM_NETMAP_CHANGED_NODE_KEY;
	if (sodium_memcmp(a->disco_key, b->disco_key, WM_KEY_LEN))
		what |= WM_NETMAP_CHANGED_DISCO_KEY;
	if (!endpoints_equal(a, b))
		what |= WM_NETMAP_CHANGED_ENDPOINTS;
	if (!prefixes_equal(a, b))
		what |= WM_NETMAP_CHANGED_ALLOWED_IPS;
	if (!routes_equal(a, b))
		what |= WM_NETMAP_CHANGED_ROUTES;
	if (a->home_relay != b->home_relay)
		what |= WM_NETMAP_CHANGED_HOME_RELAY;
	if (strcmp(a->name, b->name))
		what |= WM_NETMAP_CHANGED_NAME;
	if (a->ipv4.s_addr != b->ipv4.s_addr || memcmp(&a->ipv6, &b->ipv6, sizeof(a->ipv6)))
		what |= WM_NETMAP_CHANGED_ADDRESSES;
	if (a->online != b->online || a->last_seen != b->last_seen)
		what |= WM_NETMAP_CHANGED_ONLINE;
	if (a->key_expiry != b->key_expiry)
		what |= WM_NETMAP_CHANGED_KEY_EXPIRY;
	return what;
}

/* Walks both sorted lists like a merge. */
static void merge(struct wm_netmap_diff *d, const struct wm_netmap_peer **o, size_t no,
		  const struct wm_netmap_peer **n, size_t nn)
{
	size_t i = 0, j = 0;

	while (i < no || j < nn) {
		if (j == nn || (i < no && o[i]->id < n[j]->id)) {
			d->removed[d->n_removed++] = o[i++];
		} else if (i == no || n[j]->id < o[i]->id) {
			d->added[d->n_added++] = n[j++];
		} else {
			unsigned int what = peer_changes(o[i], n[j]);

			if (what) {
				d->changed[d->n_changed].old_peer = o[i];
				d->changed[d->n_changed].new_peer = n[j];
				d->changed[d->n_changed++].what = what;
			}
			i++;
			j++;
		}
	}
}

int wm_netmap_diff(struct wm_netmap_diff *d, const struct wm_netmap *old_nm,
		   const struct wm_netmap *new_nm)
{
	const struct wm_netmap_peer **o = NULL, **n = NULL;
	ssize_t no, nn;
	int ret = -ENOMEM;

	memset(d, 0, sizeof(*d));
	no = live_sorted(old_nm, &o);
	nn = live_sorted(new_nm, &n);
	if (no < 0 || nn < 0)
		goto out;
	/* calloc(0) may return NULL: ask for at least one of each. */
	d->removed = calloc((size_t)no + 1, sizeof(*d->removed));
	d->added = calloc((size_t)nn + 1, sizeof(*d->added));
	d->changed = calloc((size_t)nn + 1, sizeof(*d->changed));
	if (!d->removed || !d->added || !d->changed) {
		wm_netmap_diff_free(d);
		goto out;
	}
	merge(d, o, (size_t)no, n, (size_t)nn);
	ret = 0;
out:
	free(o);
	free(n);
	return ret;
}

void wm_netmap_diff_free(struct wm_netmap_diff *d)
{
	free(d->added);
	free(d->removed);
	free(d->changed);
	memset(d, 0, sizeof(*d));
}
