/* SPDX-License-Identifier: MIT */
/* The growing text buffer the policy's outputs are written into (filters, explain), and the
 * words and port lists they share. */
#include "coord-server/policy_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pol_sb_put(struct pol_sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *grown;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(b->p, cap))) {
			b->oom = true;
			return;
		}
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void pol_sb_printf(struct pol_sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		pol_sb_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void pol_sb_puts(struct pol_sbuf *b, const char *s)
{
	pol_sb_put(b, s, strlen(s));
}

/* Without printf: filters are written for every node at every netmap change. */
void pol_sb_uint(struct pol_sbuf *b, unsigned long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	pol_sb_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

char *pol_sb_finish(struct pol_sbuf *b, size_t *len)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	if (len)
		*len = b->len;
	return b->p;
}

const char *pol_proto_name(enum wm_policy_proto pr)
{
	static const char *const names[] = { "*", "tcp", "udp", "icmp" };

	return names[pr];
}

bool pol_has_ports(enum wm_policy_proto pr)
{
	return pr == WM_POLICY_TCP || pr == WM_POLICY_UDP;
}

void pol_put_ports(struct pol_sbuf *b, const struct pol_range *r, size_t n)
{
	pol_sb_put(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		pol_sb_puts(b, i ? ",[" : "[");
		pol_sb_uint(b, r[i].lo);
		pol_sb_put(b, ",", 1);
		pol_sb_uint(b, r[i].hi);
		pol_sb_put(b, "]", 1);
	}
	pol_sb_put(b, "]", 1);
}
