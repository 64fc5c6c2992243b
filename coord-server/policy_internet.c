/* SPDX-License-Identifier: MIT */
/*
 * "autogroup:internet": what an exit node serves under the policy. Everything but the
 * addresses that are not the internet: private networks (an exit node's own LAN is a subnet
 * route, granted on its own), the mesh's own range, loopback, link-local and multicast. Kept
 * as prefixes so that a node's filter can hold it as a rule's destinations: the complement of
 * the excluded ranges, computed once by halving the address space until each half is wholly
 * inside or wholly outside them.
 */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>

static const char *const not_internet4[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/3",
};

static struct wm_netmap_prefix internet4[POL_INTERNET_MAX], internet6[1];
static size_t n_internet4, n_internet6;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static bool overlaps(const struct wm_netmap_prefix *a, const struct wm_netmap_prefix *b)
{
	const struct wm_netmap_prefix *wide = a->cidr <= b->cidr ? a : b;
	const struct wm_netmap_prefix *narrow = wide == a ? b : a;

	return pol_prefix_contains(wide, narrow->family, narrow->addr);
}

static void split(const struct wm_netmap_prefix *pfx, const struct wm_netmap_prefix *ex, size_t n)
{
	struct wm_netmap_prefix half;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (!overlaps(pfx, &ex[i]))
			continue;
		if (ex[i].cidr <= pfx->cidr)
			return;		/* wholly excluded */
		any = true;
	}
	if (!any) {
		if (n_internet4 < POL_INTERNET_MAX)
			internet4[n_internet4++] = *pfx;
		return;
	}
	half = *pfx;
	half.cidr++;
	split(&half, ex, n);
	half.addr[pfx->cidr / 8] |= (uint8_t)(0x80 >> (pfx->cidr % 8));
	split(&half, ex, n);
}

static void build(void)
{
	struct wm_netmap_prefix ex[sizeof(not_internet4) / sizeof(not_internet4[0])];
	struct wm_netmap_prefix all = { .family = AF_INET };

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		pol_prefix_parse(&ex[i], not_internet4[i]);
	split(&all, ex, sizeof(ex) / sizeof(ex[0]));
	/* IPv6: the global unicast space, which holds no ULA (the mesh's fd77:…), link-local or
	 * multicast address. */
	pol_prefix_parse(&internet6[0], "2000::/3");
	n_internet6 = 1;
}

size_t pol_internet(int family, const struct wm_netmap_prefix **out)
{
	pthread_once(&once, build);
	*out = family == AF_INET ? internet4 : internet6;
	return family == AF_INET ? n_internet4 : n_internet6;
}

bool pol_is_internet(int family, const uint8_t *addr)
{
	const struct wm_netmap_prefix *v;
	size_t n = pol_internet(family, &v);

	for (size_t i = 0; i < n; i++)
		if (pol_prefix_contains(&v[i], family, addr))
			return true;
	return false;
}
