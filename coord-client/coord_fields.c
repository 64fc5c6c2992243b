/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_fields.h"

#include <stdint.h>
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
