/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: /etc/resolv.conf as the node's resolver reads it (daemon/dns_host.c). Beyond not
 * crashing: at most the bound of nameservers, each IPv4 or IPv6 on port 53 and never the
 * resolver itself; the text written for --accept-dns names the resolver and the suffix first,
 * and read back it has no upstream at all.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/dns_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_endpoint eps[WM_DNS_MAX_UPSTREAMS];
	char *text = malloc(size + 1), *ours;
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = wm_dns_host_nameservers(text, size, eps, WM_DNS_MAX_UPSTREAMS);
	if (n > WM_DNS_MAX_UPSTREAMS)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint16_t port = eps[i].addr.sa.sa_family == AF_INET ? eps[i].addr.in4.sin_port :
				eps[i].addr.in6.sin6_port;

		if ((eps[i].addr.sa.sa_family != AF_INET && eps[i].addr.sa.sa_family != AF_INET6) ||
		    ntohs(port) != 53 ||
		    (eps[i].addr.sa.sa_family == AF_INET &&
		     eps[i].addr.in4.sin_addr.s_addr == htonl(0x64646464)))
			abort();
	}
	ours = wm_dns_host_resolv_conf(text, "mesh.internal", "wm0");
	if (ours) {
		if (!strstr(ours, "\nnameserver 100.100.100.100\n") ||
		    !strstr(ours, "\nsearch mesh.internal") ||
		    wm_dns_host_nameservers(ours, strlen(ours), eps, WM_DNS_MAX_UPSTREAMS))
			abort();
		free(ours);
	}
	free(text);
	return 0;
}
