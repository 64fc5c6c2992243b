/* SPDX-License-Identifier: MIT */
/*
 * IPv4 addresses for nodes, from 100.64.0.0/10 (RFC 6598 shared address space, as Tailscale
 * uses it). Handed out in order and never again: the cursor in the database only grows, so
 * the address of a removed node never reaches another (docs/coord-protocol.md, "Addresses").
 */
#include "coord-server/store.h"

#define CGNAT_FIRST 0x64400000u		/* 100.64.0.0 */
#define CGNAT_LAST 0x647fffffu		/* 100.127.255.255 */
#define RESERVED_DNS 0x64646464u	/* 100.100.100.100: kept for a mesh DNS service */

/* Addresses ending in .0 or .255 look like network or broadcast addresses to tools that
 * assume a /24; no node gets one. */
static bool assignable(uint32_t a)
{
	uint32_t last = a & 0xff;

	return last != 0 && last != 255 && a != RESERVED_DNS;
}

uint32_t wm_store_alloc_next(uint32_t cursor)
{
	if (cursor < CGNAT_FIRST)
		cursor = CGNAT_FIRST;
	/* At most two steps: .255 then .0 of the next /24. */
	for (int i = 0; i < 3 && cursor <= CGNAT_LAST; i++, cursor++)
		if (assignable(cursor))
			return cursor;
	return 0;
}
