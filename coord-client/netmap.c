/* SPDX-License-Identifier: MIT */
#include "coord-client/netmap.h"

#include <errno.h>
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
	for (size_t i = 0; i < a->n_allowed_ips; i++) {
		const struct wm_netmap_prefix *x = &a->allowed_ips[i], *y = &b->allowed_ips[i];

		if (x->family != y->family || x->cidr != y->cidr ||
		    memcmp(x->addr, y->addr, x->family == AF_INET ? 4 : 16))
			return false;
	}
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
