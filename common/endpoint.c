/* SPDX-License-Identifier: MIT */
#include "common/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

socklen_t wm_endpoint_socklen(const struct wm_endpoint *ep)
{
	if (ep->addr.sa.sa_family == AF_INET)
		return sizeof(ep->addr.in4);
	if (ep->addr.sa.sa_family == AF_INET6)
		return sizeof(ep->addr.in6);
	return 0;
}

bool wm_endpoint_equal(const struct wm_endpoint *a, const struct wm_endpoint *b)
{
	if (a->addr.sa.sa_family != b->addr.sa.sa_family)
		return false;
	if (a->addr.sa.sa_family == AF_INET)
		return a->addr.in4.sin_port == b->addr.in4.sin_port &&
		       a->addr.in4.sin_addr.s_addr == b->addr.in4.sin_addr.s_addr;
	if (a->addr.sa.sa_family == AF_INET6)
		return a->addr.in6.sin6_port == b->addr.in6.sin6_port &&
		       a->addr.in6.sin6_scope_id == b->addr.in6.sin6_scope_id &&
		       !memcmp(&a->addr.in6.sin6_addr, &b->addr.in6.sin6_addr, 16);
	return true;
}

bool wm_endpoint_has_src(const struct wm_endpoint *ep)
{
	if (ep->addr.sa.sa_family == AF_INET)
		return ep->src.v4.s_addr != 0;
	if (ep->addr.sa.sa_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&ep->src.v6);
	return false;
}

void wm_endpoint_clear_src(struct wm_endpoint *ep)
{
	memset(&ep->src, 0, sizeof(ep->src));
	ep->src_ifindex = 0;
}

static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long value;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

int wm_endpoint_parse(struct wm_endpoint *ep, const char *text)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon;
	char *zone;
	uint16_t port, port_or_scope;
	size_t len;

	memset(ep, 0, sizeof(*ep));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		len = (size_t)(close - text - 1);
		if (len == 0 || len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, len);
		host[len] = '\0';
		if (parse_port(close + 2, &port) < 0)
			return -EINVAL;
		zone = strchr(host, '%');
		if (zone) {
			/* A link-local address names its interface: "fe80::1%eth0" or "%2". */
			*zone++ = '\0';
			ep->addr.in6.sin6_scope_id = if_nametoindex(zone);
			if (!ep->addr.in6.sin6_scope_id && parse_port(zone, &port_or_scope) == 0)
				ep->addr.in6.sin6_scope_id = port_or_scope;
			if (!ep->addr.in6.sin6_scope_id)
				return -EINVAL;
		}
		if (inet_pton(AF_INET6, host, &ep->addr.in6.sin6_addr) != 1)
			return -EINVAL;
		ep->addr.in6.sin6_family = AF_INET6;
		ep->addr.in6.sin6_port = htons(port);
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon || strchr(text, ':') != colon)
		return -EINVAL;
	len = (size_t)(colon - text);
	if (len == 0 || len >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, len);
	host[len] = '\0';
	if (parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &ep->addr.in4.sin_addr) != 1)
		return -EINVAL;
	ep->addr.in4.sin_family = AF_INET;
	ep->addr.in4.sin_port = htons(port);
	return 0;
}

void wm_endpoint_format(const struct wm_endpoint *ep, char out[WM_ENDPOINT_STR_LEN])
{
	char host[INET6_ADDRSTRLEN];

	if (ep->addr.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr.in4.sin_addr, host, sizeof(host));
		snprintf(out, WM_ENDPOINT_STR_LEN, "%s:%u", host, ntohs(ep->addr.in4.sin_port));
	} else if (ep->addr.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr.in6.sin6_addr, host, sizeof(host));
		snprintf(out, WM_ENDPOINT_STR_LEN, "[%s]:%u", host, ntohs(ep->addr.in6.sin6_port));
	} else {
		snprintf(out, WM_ENDPOINT_STR_LEN, "(none)");
	}
}

size_t wm_endpoint_source_bytes(const struct wm_endpoint *ep, uint8_t out[18])
{
	if (ep->addr.sa.sa_family == AF_INET) {
		memcpy(out, &ep->addr.in4.sin_addr, 4);
		memcpy(out + 4, &ep->addr.in4.sin_port, 2);
		return 6;
	}
	if (ep->addr.sa.sa_family == AF_INET6) {
		memcpy(out, &ep->addr.in6.sin6_addr, 16);
		memcpy(out + 16, &ep->addr.in6.sin6_port, 2);
		return 18;
	}
	return 0;
}
