/* SPDX-License-Identifier: MIT */
/*
 * The host's side of the node's resolver (docs/dns.md): where queries for other names go (the
 * nameservers of /etc/resolv.conf, read before anything changes it), and how the host is
 * pointed at 100.100.100.100 without clobbering anything. With systemd-resolved: per-link DNS
 * and the suffix as search and routing domain on the mesh interface (resolvectl), reverted on
 * down. Without it: nothing, unless the user opted in (`--accept-dns`); then /etc/resolv.conf
 * is rewritten in place (it may be a bind mount) with the old text kept in the state
 * directory, and written back on down if nobody changed the file meanwhile.
 */
#ifndef WM_DNS_HOST_H
#define WM_DNS_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/endpoint.h"
#include "coord-client/netmap.h"

#define WM_DNS_MAX_UPSTREAMS 3		/* glibc's MAXNS: more are ignored by the host too */
#define WM_DNS_RESOLV_CONF_MAX 65536	/* bytes of /etc/resolv.conf read */

enum wm_dns_accept {
	WM_DNS_ACCEPT_AUTO,	/* systemd-resolved: per link; else leave the host alone */
	WM_DNS_ACCEPT_YES,	/* --accept-dns: and without resolved, rewrite /etc/resolv.conf */
	WM_DNS_ACCEPT_NO,	/* --accept-dns=false: never touch the host's DNS */
};

enum wm_dns_host_mode {
	WM_DNS_HOST_UNTOUCHED,	/* the host does not use the mesh's resolver */
	WM_DNS_HOST_RESOLVED,	/* per-link settings in systemd-resolved */
	WM_DNS_HOST_RESOLV_CONF,	/* /etc/resolv.conf rewritten */
};

struct wm_dns_host {
	enum wm_dns_accept accept;
	enum wm_dns_host_mode mode;
	char ifname[32];
	char resolv_conf[256];		/* /etc/resolv.conf */
	char resolved_dir[256];		/* /run/systemd/resolve */
	char backup[300];		/* STATE/resolv.conf.orig */
	char suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1];	/* as applied */
	char *original;			/* the text before ours (resolv.conf mode) */
	char *written;			/* what we wrote */
	char note[1024];		/* for status: why this mode, or what failed */
	struct wm_endpoint upstreams[WM_DNS_MAX_UPSTREAMS];
	size_t n_upstreams;
};

/*
 * The nameservers of a resolv.conf text (IPv4 or IPv6, port 53), at most max, skipping the
 * mesh resolver's own addresses. Returns how many.
 */
size_t wm_dns_host_nameservers(const char *text, size_t len, struct wm_endpoint *out,
			       size_t max);

/*
 * The resolv.conf that points the host at the mesh's resolver, from the original text: our
 * nameserver, the suffix first among the search domains, the original's options kept.
 * malloc'd, NULL when out of memory.
 */
char *wm_dns_host_resolv_conf(const char *original, const char *suffix, const char *ifname);

/* Where the host keeps its resolver's configuration; NULL members: the standard places. */
struct wm_dns_host_paths {
	const char *resolv_conf;	/* /etc/resolv.conf */
	const char *resolved_dir;	/* /run/systemd/resolve: systemd-resolved runs */
};

/*
 * Reads the upstreams and decides the mode (nothing is changed yet): accept, the mesh
 * interface, the state directory, paths (NULL: the standard ones). 0 or -errno.
 */
int wm_dns_host_start(struct wm_dns_host *h, enum wm_dns_accept accept, const char *ifname,
		      const char *state_dir, const struct wm_dns_host_paths *paths);

/* Points the host at the resolver for this suffix (again when it changed). */
void wm_dns_host_apply(struct wm_dns_host *h, const char *suffix);

/* Undoes what apply did. */
void wm_dns_host_stop(struct wm_dns_host *h);

/* For status: {"mode": …, "note": …, "upstreams": […]}. */
json_t *wm_dns_host_json(const struct wm_dns_host *h);

const char *wm_dns_host_mode_name(enum wm_dns_host_mode mode);

#endif
