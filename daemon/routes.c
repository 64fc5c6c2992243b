/* SPDX-License-Identifier: MIT */
#include "daemon/routes.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"

static bool has_family(const struct wm_netmap_prefix *v, size_t n, int family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].family == family)
			return true;
	return false;
}

/* A sysctl that is "1" (or more); false when it cannot be read. */
static bool sysctl_on(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v > 0;
}

void wm_routes_check_forwarding(struct wm_routes *r)
{
	r->forwarding_v4 = !has_family(r->advertise, r->n_advertise, AF_INET) ||
			   sysctl_on("/proc/sys/net/ipv4/ip_forward");
	r->forwarding_v6 = !has_family(r->advertise, r->n_advertise, AF_INET6) ||
			   sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");
}

int wm_routes_start(struct wm_routes *r, const char *ifname, const struct wm_routes_options *opt,
		    char *err, size_t errlen)
{
	size_t exit_routes = opt->advertise_exit ? 2 : 0;
	char why[512];

	memset(r, 0, sizeof(*r));
	if (opt->n_advertise + exit_routes > WM_NETMAP_MAX_ROUTES) {
		snprintf(err, errlen, "at most %zu advertised routes%s", WM_NETMAP_MAX_ROUTES -
			 exit_routes, exit_routes ? " with --advertise-exit-node" : "");
		return -1;
	}
	if (opt->n_advertise)
		memcpy(r->advertise, opt->advertise, opt->n_advertise * sizeof(*opt->advertise));
	r->n_advertise = opt->n_advertise;
	/* An exit node is a router for the default routes (docs/exit-nodes.md). */
	if (exit_routes) {
		wm_netmap_prefix_parse(&r->advertise[r->n_advertise++], "0.0.0.0/0");
		wm_netmap_prefix_parse(&r->advertise[r->n_advertise++], "::/0");
	}
	r->accept = opt->accept;
	r->snat = r->n_advertise && !opt->no_snat;
	wm_routes_check_forwarding(r);
	if (r->snat && wm_snat_set(&r->nat, ifname, r->advertise, r->n_advertise, why,
				   sizeof(why)) < 0) {
		snprintf(err, errlen, "cannot set up source NAT for the advertised routes: %s "
			 "(--snat-subnet-routes=false runs without it)", why);
		return -1;
	}
	return 0;
}

void wm_routes_stop(struct wm_routes *r)
{
	wm_snat_remove(&r->nat);
}

size_t wm_routes_peer_prefixes(const struct wm_routes *r, const struct wm_netmap_peer *p,
			       struct wm_netmap_prefix out[WM_ROUTES_PEER_PREFIXES_MAX])
{
	size_t n = p->n_allowed_ips, i;

	memcpy(out, p->allowed_ips, n * sizeof(*out));
	for (i = 0; i < p->n_routes; i++)
		if (wm_netmap_prefix_is_default(&p->routes[i]) ? r->exit_peer && p->id == r->exit_peer
							       : r->accept)
			out[n++] = p->routes[i];
	return n;
}

bool wm_routes_is_exit_node(const struct wm_routes *r)
{
	for (size_t i = 0; i < r->n_advertise; i++)
		if (wm_netmap_prefix_is_default(&r->advertise[i]))
			return true;
	return false;
}

void wm_routes_warning(const struct wm_routes *r, char *out, size_t cap)
{
	if (r->forwarding_v4 && r->forwarding_v6) {
		out[0] = '\0';
		return;
	}
	snprintf(out, cap, "IP forwarding is off, so the advertised %s cannot be reached "
		 "through this node (%s%s%s)", wm_routes_is_exit_node(r) ? "routes (and the "
		 "internet, as an exit node)" : "routes", r->forwarding_v4 ? "" :
		 "sysctl -w net.ipv4.ip_forward=1", r->forwarding_v4 || r->forwarding_v6 ? "" : "; ",
		 r->forwarding_v6 ? "" : "sysctl -w net.ipv6.conf.all.forwarding=1");
}

json_t *wm_routes_json(const struct wm_routes *r, const struct wm_netmap_self *self)
{
	json_t *o = json_object(), *adv = json_array();
	char text[WM_NETMAP_PREFIX_TEXT_MAX];
	bool exit_approved = false;
	size_t i, k;

	for (i = 0; o && adv && i < r->n_advertise; i++) {
		bool approved = false;

		for (k = 0; self && k < self->n_approved_routes; k++)
			approved = approved || !wm_netmap_prefix_cmp(&self->approved_routes[k], &r->advertise[i]);
		if (wm_netmap_prefix_is_default(&r->advertise[i])) {
			/* Shown as an exit node: approved when either default route is. */
			exit_approved = exit_approved || approved;
			continue;
		}
		wm_netmap_prefix_format(&r->advertise[i], text, sizeof(text));
		json_array_append_new(adv, json_pack("{ss sb}", "prefix", text, "approved",
						     approved));
	}
	if (!o || !adv) {
		json_decref(o);
		json_decref(adv);
		return NULL;
	}
	json_object_set_new(o, "advertised", adv);
	if (wm_routes_is_exit_node(r))
		json_object_set_new(o, "exit_node", json_pack("{sb}", "approved", exit_approved));
	json_object_set_new(o, "accept_routes", json_boolean(r->accept));
	json_object_set_new(o, "snat", json_boolean(r->snat));
	json_object_set_new(o, "ip_forwarding", json_boolean(r->forwarding_v4 && r->forwarding_v6));
	return o;
}

int wm_routes_parse_list(const char *text, struct wm_netmap_prefix *out, size_t *n, char *err,
			 size_t errlen)
{
	char item[128], why[256];
	const char *p = text;

	*n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(item)) {
			snprintf(err, errlen, "an empty or overlong entry in '%s'", text);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (*n == WM_NETMAP_MAX_ROUTES) {
			snprintf(err, errlen, "at most %d routes", WM_NETMAP_MAX_ROUTES);
			return -1;
		}
		if (!wm_netmap_prefix_parse(&out[*n], item)) {
			snprintf(err, errlen, "'%s' is not a prefix (address/length with the host "
				 "bits zero, e.g. 192.168.50.0/24)", item);
			return -1;
		}
		if (wm_netmap_prefix_is_default(&out[*n])) {
			snprintf(err, errlen, "'%s' is a default route: that makes an exit node, "
				 "not a subnet route (use --advertise-exit-node)", item);
			return -1;
		}
		if (wm_netmap_route_check(&out[*n], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "'%s': %s", item, why);
			return -1;
		}
		for (size_t k = 0; k < *n; k++)
			if (!wm_netmap_prefix_cmp(&out[k], &out[*n])) {
				snprintf(err, errlen, "'%s' is given twice", item);
				return -1;
			}
		(*n)++;
		p += len;
		if (*p == ',' && !*++p) {
			snprintf(err, errlen, "a trailing comma in '%s'", text);
			return -1;
		}
	}
	if (!*n) {
		snprintf(err, errlen, "no routes given");
		return -1;
	}
	return 0;
}
