/* SPDX-License-Identifier: MIT */
#include "daemon/snat.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <nftables/libnftables.h>

#include "common/log.h"

enum { SCRIPT_MAX = 4096 };

/* Runs an nftables script as one transaction; 0, or -1 with its error text in err. */
static int run(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *why;
	int r;

	if (!nft) {
		snprintf(err, errlen, "cannot start libnftables");
		return -1;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	r = nft_run_cmd_from_buffer(nft, script);
	if (r) {
		why = nft_ctx_get_error_buffer(nft);
		snprintf(err, errlen, "%s", why && *why ? why : "nftables refused the rules");
		err[strcspn(err, "\n")] = '\0';
	}
	nft_ctx_free(nft);
	return r ? -1 : 0;
}

struct script {
	char text[SCRIPT_MAX];
	size_t used;
	bool overflow;
};

static void add(struct script *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct script *sc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sc->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sc->text + sc->used, sizeof(sc->text) - sc->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sc->text) - sc->used)
		sc->overflow = true;
	else
		sc->used += (size_t)n;
}

/* iifname "IF" ip daddr { a, b } masquerade: for the routes of one family, if it has any. */
static void masquerade_rule(struct script *sc, const struct wm_snat *s, int family,
			    const struct wm_netmap_prefix *routes, size_t n)
{
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	bool first = true;
	size_t i;

	/*
	 * An exit node (a default route): whatever came from the mesh and leaves by any other
	 * interface. Forwarded back into the mesh (one node to another through this one), the
	 * packet keeps its mesh source, which the receiving peer knows.
	 */
	for (i = 0; i < n; i++)
		if (routes[i].family == family && wm_netmap_prefix_is_default(&routes[i])) {
			add(sc, "    iifname \"%s\" oifname != \"%s\" meta nfproto %s masquerade\n",
			    s->ifname, s->ifname, family == AF_INET ? "ipv4" : "ipv6");
			return;
		}
	for (i = 0; i < n; i++) {
		if (routes[i].family != family)
			continue;
		wm_netmap_prefix_format(&routes[i], text, sizeof(text));
		if (first)
			add(sc, "    iifname \"%s\" %s daddr { ", s->ifname,
			    family == AF_INET ? "ip" : "ip6");
		add(sc, "%s%s", first ? "" : ", ", text);
		first = false;
	}
	if (!first)
		add(sc, " } masquerade\n");
}

int wm_snat_set(struct wm_snat *s, const char *ifname, const struct wm_netmap_prefix *routes,
		size_t n, char *err, size_t errlen)
{
	static struct script sc;	/* 4 KiB: not on the event loop's stack */

	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	snprintf(s->table, sizeof(s->table), "wiremesh-%s", ifname);
	if (!n) {
		wm_snat_remove(s);
		return 0;
	}
	sc.used = 0;
	sc.overflow = false;
	/* Declaring the table first makes the delete succeed whether or not it was there. */
	add(&sc, "table inet %s {}\ndelete table inet %s\n", s->table, s->table);
	add(&sc, "table inet %s {\n  chain postrouting {\n", s->table);
	add(&sc, "    type nat hook postrouting priority srcnat; policy accept;\n");
	masquerade_rule(&sc, s, AF_INET, routes, n);
	masquerade_rule(&sc, s, AF_INET6, routes, n);
	add(&sc, "  }\n}\n");
	if (sc.overflow) {
		snprintf(err, errlen, "too many routes for one nftables script");
		return -1;
	}
	if (run(sc.text, err, errlen) < 0)
		return -1;
	s->installed = true;
	return 0;
}

void wm_snat_remove(struct wm_snat *s)
{
	char script[128], err[256];

	if (!s->installed)
		return;
	snprintf(script, sizeof(script), "delete table inet %s\n", s->table);
	if (run(script, err, sizeof(err)) < 0)
		wm_log_error("cannot remove the nftables table %s: %s", s->table, err);
	s->installed = false;
}
