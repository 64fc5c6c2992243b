/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_fields.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "coord-client/netmap.h"

bool wm_coord_hostname_valid(const char *s)
{
	size_t n = strnlen(s, WM_COORD_HOSTNAME_MAX + 1);

	if (n == 0 || n > WM_COORD_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool wm_coord_name_valid(const char *s)
{
	size_t n = strnlen(s, WM_NETMAP_NAME_MAX + 1);

	if (n == 0 || n > WM_NETMAP_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool wm_coord_label_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

void wm_coord_ipv6_for(struct in6_addr *out, struct in_addr ipv4)
{
	static const uint8_t prefix[] = WM_COORD_ULA_PREFIX;

	memset(out, 0, sizeof(*out));
	memcpy(out->s6_addr, prefix, sizeof(prefix));
	memcpy(out->s6_addr + 12, &ipv4.s_addr, 4);
}

/* Whether the domain name s is label or ends in ".label". */
static bool under(const char *s, size_t n, const char *label)
{
	size_t k = strlen(label);

	return n >= k && !strcmp(s + n - k, label) && (n == k || s[n - k - 1] == '.');
}

int wm_coord_dns_suffix_check(const char *s, char *why, size_t whylen)
{
	size_t n = strnlen(s, WM_NETMAP_DNS_SUFFIX_MAX + 1), start = 0;
	char label[WM_NETMAP_NAME_MAX + 2];

	if (n == 0 || n > WM_NETMAP_DNS_SUFFIX_MAX) {
		snprintf(why, whylen, "must be 1-%d characters long, so that NAME.SUFFIX fits a "
			 "domain name", WM_NETMAP_DNS_SUFFIX_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i - start > WM_NETMAP_NAME_MAX) {
			snprintf(why, whylen, "is not a domain name: a label is longer than %d "
				 "characters", WM_NETMAP_NAME_MAX);
			return -EINVAL;
		}
		memcpy(label, s + start, i - start);
		label[i - start] = '\0';
		if (!wm_coord_name_valid(label)) {
			snprintf(why, whylen, "is not a domain name: \"%s\" is not a DNS label "
				 "(a-z, 0-9 and '-', not at either end)", label);
			return -EINVAL;
		}
		start = i + 1;
	}
	if (under(s, n, "local")) {
		snprintf(why, whylen, "is under .local, which belongs to multicast DNS (RFC 6762)");
		return -EINVAL;
	}
	if (under(s, n, "arpa")) {
		snprintf(why, whylen, "is under .arpa, which holds reverse lookups");
		return -EINVAL;
	}
	return 0;
}
