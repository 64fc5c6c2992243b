/* SPDX-License-Identifier: MIT */
/*
 * `wiremesh-coord routes list|approve|unapprove`: the admin commands about subnet routes
 * (docs/routes.md). Nodes advertise prefixes; nothing reaches other nodes until an
 * administrator approves it here.
 */
#include "coord-server/admin.h"
#include "coord-server/admin_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord-server/admin_print.h"
#include "coord-server/store.h"

static void usage_routes(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord routes list --db PATH [--json]\n"
		"       wiremesh-coord routes approve --db PATH NODE PREFIX\n"
		"       wiremesh-coord routes unapprove --db PATH NODE PREFIX\n"
		"       wiremesh-coord routes approve|unapprove --db PATH NODE exit-node\n"
		"\n"
		"Subnet routes (docs/routes.md): a node run with wiremesh up --advertise-routes\n"
		"offers to route PREFIXes (a LAN behind it). Other nodes get a prefix only once it is\n"
		"approved, and then from one router of it, the primary; when the primary goes\n"
		"offline, another approved router of the same prefix takes over.\n"
		"  list       every advertised or approved prefix: advertised now, approved, primary\n"
		"  approve    let NODE serve PREFIX (it must advertise it); nodes hear within a second\n"
		"  unapprove  withdraw the approval\n"
		"NODE is a node's ID, name or base64 node key; PREFIX is address/length with the host\n"
		"bits zero (192.168.50.0/24, 2001:db8:1::/48).\n"
		"Exit nodes (docs/exit-nodes.md): a node run with wiremesh up --advertise-exit-node\n"
		"advertises 0.0.0.0/0 and ::/0; PREFIX exit-node approves or withdraws both. Every\n"
		"approved exit node serves them (no primary); each client picks one (--exit-node).\n");
}

static int routes_list(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "routes list", "djh", 0, 0, usage_routes, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_coord_print_routes(s, o.json);
	if (ret)
		return admin_db_error(s, "listing routes");
	wm_store_close(s);
	return 0;
}

/* The prefix text with its host bits set means ("192.168.50.1/24": 192.168.50.0/24). */
static bool meant(const char *text, struct wm_netmap_prefix *p)
{
	const char *slash = strchr(text, '/');
	struct wm_netmap_prefix len;
	char buf[96];
	int n = slash ? (int)(slash - text) : 0;

	if (!slash || strlen(text) > 64)
		return false;
	/* The address as a host prefix, then the length on the family's zero address. */
	snprintf(buf, sizeof(buf), "%.*s/32", n, text);
	if (!wm_netmap_prefix_parse(p, buf)) {
		snprintf(buf, sizeof(buf), "%.*s/128", n, text);
		if (!wm_netmap_prefix_parse(p, buf))
			return false;
	}
	snprintf(buf, sizeof(buf), "%s%s", p->family == AF_INET ? "0.0.0.0" : "::", slash);
	if (!wm_netmap_prefix_parse(&len, buf))
		return false;
	p->cidr = len.cidr;
	for (unsigned int bit = p->cidr; bit < (p->family == AF_INET ? 32u : 128u); bit++)
		p->addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return true;
}

/* PREFIX as typed, checked; false having said why (with the prefix meant, if host bits). */
static bool read_prefix(const char *cmd, const char *text, struct wm_netmap_prefix *p,
			bool check)
{
	char why[WM_COORD_ERR_LEN], fixed[WM_NETMAP_PREFIX_TEXT_MAX];

	if (!wm_netmap_prefix_parse(p, text)) {
		/* Host bits set? Say which prefix was meant. */
		if (meant(text, p)) {
			wm_netmap_prefix_format(p, fixed, sizeof(fixed));
			fprintf(stderr, "wiremesh-coord %s: '%s' has bits set past its length: did you mean %s?\n",
				cmd, text, fixed);
		} else {
			fprintf(stderr, "wiremesh-coord %s: '%s' is not a prefix (address/length, e.g. 192.168.50.0/24)\n",
				cmd, text);
		}
		return false;
	}
	if (check && wm_netmap_route_check(p, why, sizeof(why))) {
		fprintf(stderr, "wiremesh-coord %s: '%s' %s\n", cmd, text, why);
		return false;
	}
	return true;
}

/* "10.1.0.0/16, 192.168.50.0/24" or "nothing": what the node advertises now. */
static void advertised_list(struct wm_store *s, int64_t id, char *out, size_t cap)
{
	char one[WM_NETMAP_PREFIX_TEXT_MAX];
	struct wm_store_route *rows;
	size_t n, len = 0;

	snprintf(out, cap, "nothing");
	if (wm_store_node_routes(s, id, &rows, &n))
		return;
	for (size_t i = 0; i < n && len < cap; i++) {
		if (!rows[i].advertised)
			continue;
		wm_netmap_prefix_format(&rows[i].prefix, one, sizeof(one));
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", one);
	}
	free(rows);
}

/* One approval changed on node (PREFIX as text); 0, 1 when it failed and said why, or -1
 * for a database error (not yet reported). */
static int change_one(struct wm_store *s, const char *cmd, const struct wm_store_node *node,
		      const struct wm_netmap_prefix *prefix, bool approve)
{
	char text[WM_NETMAP_PREFIX_TEXT_MAX], list[WM_NETMAP_MAX_ROUTES * (WM_NETMAP_PREFIX_TEXT_MAX + 2)];
	int ret = wm_store_route_approve(s, node->id, prefix, approve, (int64_t)time(NULL));

	wm_netmap_prefix_format(prefix, text, sizeof(text));
	if (ret == -ENOENT && approve) {
		advertised_list(s, node->id, list, sizeof(list));
		fprintf(stderr, "wiremesh-coord %s: node %s does not advertise %s (it advertises %s): a prefix is approved once its node offers it (wiremesh up --%s)\n",
			cmd, node->name, text, list, wm_netmap_prefix_is_default(prefix) ?
			"advertise-exit-node" : "advertise-routes");
		return 1;
	}
	if (ret == -ENOENT) {
		fprintf(stderr, "wiremesh-coord %s: %s is not approved on node %s\n", cmd, text,
			node->name);
		return 1;
	}
	if (ret == -EALREADY) {
		printf("%s: %s on node %lld (%s) was approved already\n", cmd + 7, text,
		       (long long)node->id, node->name);
		return 0;
	}
	if (ret)
		return -1;
	printf("%s: %s on node %lld (%s)%s\n", cmd + 7, text, (long long)node->id, node->name,
	       wm_netmap_prefix_is_default(prefix) ? " (exit node)" : "");
	return 0;
}

/*
 * approve and unapprove: find NODE, check PREFIX, change, report. PREFIX "exit-node" means
 * both default routes (0.0.0.0/0 and ::/0), which an exit node advertises together.
 */
static int route_change(int argc, char **argv, const char *cmd, bool approve)
{
	struct wm_netmap_prefix prefixes[2];
	struct wm_store_node node;
	struct wm_store *s;
	struct admin_opts o;
	size_t n = 1;
	int ret = admin_parse(argc, argv, cmd, "dh", 2, 2, usage_routes, &o), failed = 0;

	if (ret)
		return ret;
	if (!strcmp(o.args[1], "exit-node")) {
		wm_netmap_prefix_parse(&prefixes[0], "0.0.0.0/0");
		wm_netmap_prefix_parse(&prefixes[1], "::/0");
		n = 2;
	} else if (!read_prefix(cmd, o.args[1], &prefixes[0], approve)) {
		/* An approval must be a route a node may serve; any approval may be withdrawn. */
		return 1;
	}
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_store_node_find(s, o.args[0], &node);
	if (ret == -ENOENT) {
		fprintf(stderr, "wiremesh-coord %s: no node '%s' (give its ID, name or node key)\n",
			cmd, o.args[0]);
		wm_store_close(s);
		return 1;
	}
	if (ret)
		return admin_db_error(s, "finding the node");
	for (size_t i = 0; i < n; i++) {
		ret = change_one(s, cmd, &node, &prefixes[i], approve);
		if (ret < 0)
			return admin_db_error(s, cmd);
		failed |= ret;
	}
	wm_store_close(s);
	return failed ? 1 : 0;
}

static int routes_approve(int argc, char **argv)
{
	return route_change(argc, argv, "routes approve", true);
}

static int routes_unapprove(int argc, char **argv)
{
	return route_change(argc, argv, "routes unapprove", false);
}

int wm_coord_admin_routes(int argc, char **argv)
{
	static const char *const subs[] = { "list", "approve", "unapprove", NULL };
	static int (*const fns[])(int, char **) = { routes_list, routes_approve, routes_unapprove };

	return admin_group(argc, argv, "routes", usage_routes, subs, fns);
}
