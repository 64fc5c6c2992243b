/* SPDX-License-Identifier: MIT */
#include "nat/candidates.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

/* The mesh's own address ranges (coord-server hands them out; docs/coord-protocol.md). */
static const uint8_t mesh_ula_prefix[6] = { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x68 };

static bool usable_ipv4(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);

	if ((h >> 24) == 127 || (h >> 24) == 0)	/* loopback, "this network" */
		return false;
	if ((h >> 16) == 0xa9fe)		/* 169.254/16 link-local */
		return false;
	if ((h >> 28) >= 0xe)			/* multicast, reserved, broadcast */
		return false;
	if ((h & 0xffc00000U) == 0x64400000U)	/* 100.64.0.0/10: mesh addresses */
		return false;
	return true;
}

static bool usable_ipv6(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
	    IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
		return false;
	return memcmp(a->s6_addr, mesh_ula_prefix, sizeof(mesh_ula_prefix)) != 0;
}

bool wm_candidates_usable(const struct sockaddr *sa, unsigned int ifflags)
{
	if (!sa || !(ifflags & IFF_UP) || (ifflags & IFF_LOOPBACK))
		return false;
	if (sa->sa_family == AF_INET)
		return usable_ipv4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return usable_ipv6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

static int compare_endpoints(const void *pa, const void *pb)
{
	const struct wm_endpoint *a = pa, *b = pb;
	int fa = a->addr.sa.sa_family, fb = b->addr.sa.sa_family, c;

	if (fa != fb)
		return fa == AF_INET ? -1 : 1;
	if (fa == AF_INET) {
		c = memcmp(&a->addr.in4.sin_addr, &b->addr.in4.sin_addr, 4);
		return c ? c : (int)ntohs(a->addr.in4.sin_port) - (int)ntohs(b->addr.in4.sin_port);
	}
	c = memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16);
	return c ? c : (int)ntohs(a->addr.in6.sin6_port) - (int)ntohs(b->addr.in6.sin6_port);
}

size_t wm_candidates_normalize(struct wm_endpoint *eps, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(eps, n, sizeof(*eps), compare_endpoints);
	for (i = 0; i < n; i++)
		if (out == 0 || compare_endpoints(&eps[out - 1], &eps[i]) != 0)
			eps[out++] = eps[i];
	return out;
}

int wm_candidates_local(struct wm_endpoint *out, size_t max, uint16_t port,
			const char *exclude_ifname)
{
	struct ifaddrs *list, *ifa;
	size_t n = 0;

	if (getifaddrs(&list) < 0)
		return -errno;
	for (ifa = list; ifa && n < max; ifa = ifa->ifa_next) {
		struct wm_endpoint *ep = &out[n];

		if (exclude_ifname && ifa->ifa_name && !strcmp(ifa->ifa_name, exclude_ifname))
			continue;
		if (!wm_candidates_usable(ifa->ifa_addr, ifa->ifa_flags))
			continue;
		memset(ep, 0, sizeof(*ep));
		if (ifa->ifa_addr->sa_family == AF_INET) {
			ep->addr.in4.sin_family = AF_INET;
			ep->addr.in4.sin_addr = ((struct sockaddr_in *)(void *)ifa->ifa_addr)->sin_addr;
			ep->addr.in4.sin_port = htons(port);
		} else {
			ep->addr.in6.sin6_family = AF_INET6;
			ep->addr.in6.sin6_addr =
				((struct sockaddr_in6 *)(void *)ifa->ifa_addr)->sin6_addr;
			ep->addr.in6.sin6_port = htons(port);
		}
		n++;
	}
	freeifaddrs(list);
	return (int)wm_candidates_normalize(out, n);
}
