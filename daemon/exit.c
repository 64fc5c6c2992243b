/* SPDX-License-Identifier: MIT */
#include "daemon/exit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/sockmark.h"
#include "tun/netlink.h"

static const int families[2] = { AF_INET, AF_INET6 };

bool wm_exit_offers(const struct wm_netmap_peer *p)
{
	for (size_t i = 0; i < p->n_routes; i++)
		if (wm_netmap_prefix_is_default(&p->routes[i]))
			return true;
	return false;
}

/* `not fwmark M lookup T`: every packet but the node's own goes to the exit table. */
static struct wm_netlink_rule table_rule(int family)
{
	return (struct wm_netlink_rule){
		.family = family,
		.priority = WM_EXIT_PRIORITY_TABLE,
		.table = WM_EXIT_TABLE,
		.fwmark = WM_EXIT_FWMARK,
		.invert = true,
		.suppress_prefixlen = -1,
	};
}

/*
 * `lookup main suppress_prefixlength 0` (LAN access): the main table decides first, save its
 * default routes, so the connected LANs (and every other route but the default) stay outside
 * the tunnel, as wg-quick does it.
 */
static struct wm_netlink_rule suppress_rule(int family)
{
	return (struct wm_netlink_rule){
		.family = family,
		.priority = WM_EXIT_PRIORITY_SUPPRESS,
		.table = RT_TABLE_MAIN,
		.suppress_prefixlen = 0,
	};
}

/* Deletes every rule like r (a killed node's, or ours); the count deleted. */
static int delete_all(const struct wm_netlink_rule *r)
{
	int n = 0;

	while (n < 64 && wm_netlink_rule_del(r) == 0)
		n++;
	return n;
}

int wm_exit_start(struct wm_exit *e, const char *want, bool allow_lan, int ifindex, char *err,
		  size_t errlen)
{
	struct wm_netlink_rule r;
	int stale = 0;

	memset(e, 0, sizeof(*e));
	e->ifindex = ifindex;
	e->allow_lan = allow_lan;
	if (!want || !*want)
		return 0;
	if (strlen(want) >= sizeof(e->want)) {
		snprintf(err, errlen, "--exit-node: '%.40s…' is longer than any node name", want);
		return -1;
	}
	snprintf(e->want, sizeof(e->want), "%s", want);
	e->state = WM_EXIT_NO_SUCH_PEER;
	wm_sockmark_set(WM_EXIT_FWMARK);
	for (size_t i = 0; i < 2; i++) {
		r = table_rule(families[i]);
		stale += delete_all(&r);
		r = suppress_rule(families[i]);
		stale += delete_all(&r);
	}
	if (stale)
		wm_log_error("removed %d policy routing rule(s) a previous run left behind", stale);
	return 0;
}

/* The peer's name is want, or want is its first label ("beta" for "beta.mesh.example"). */
static bool name_matches(const char *name, const char *want)
{
	size_t n = strlen(want);

	return !strcmp(name, want) || (!strncmp(name, want, n) && name[n] == '.');
}

const struct wm_netmap_peer *wm_exit_find(const struct wm_exit *e, const struct wm_netmap *nm)
{
	struct in6_addr v6;
	struct in_addr v4;
	bool is4 = inet_pton(AF_INET, e->want, &v4) == 1;
	bool is6 = !is4 && inet_pton(AF_INET6, e->want, &v6) == 1;

	for (size_t i = 0; i < nm->n_peers; i++) {
		const struct wm_netmap_peer *p = &nm->peers[i];

		if ((is4 && p->ipv4.s_addr == v4.s_addr) ||
		    (is6 && !memcmp(&p->ipv6, &v6, sizeof(v6))) ||
		    (!is4 && !is6 && name_matches(p->name, e->want)))
			return p;
	}
	return NULL;
}

uint64_t wm_exit_choose(struct wm_exit *e, const struct wm_netmap *nm)
{
	const struct wm_netmap_peer *p;

	if (!e->want[0])
		return 0;
	p = wm_exit_find(e, nm);
	e->peer = 0;
	e->offered[0] = e->offered[1] = false;
	e->peer_name[0] = '\0';
	if (!p || p->expired) {
		e->state = WM_EXIT_NO_SUCH_PEER;
		return 0;
	}
	snprintf(e->peer_name, sizeof(e->peer_name), "%s", p->name);
	/*
	 * An exit node that is only offline stays in use: dropping the rules would send the
	 * host's traffic out in the clear by its own uplink, which is what its user chose not
	 * to do. Status says so; unapproving or removing it ends the use.
	 */
	e->peer_online = p->online;
	for (size_t i = 0; i < p->n_routes; i++)
		if (wm_netmap_prefix_is_default(&p->routes[i]))
			e->offered[p->routes[i].family == AF_INET6] = true;
	if (!e->offered[0] && !e->offered[1]) {
		e->state = WM_EXIT_NOT_OFFERED;
		return 0;
	}
	e->state = WM_EXIT_ACTIVE;
	e->peer = p->id;
	return p->id;
}

/* Rules first, then the route: the table is empty again once the rules stop pointing at it. */
static void uninstall(struct wm_exit *e, size_t i)
{
	static const uint8_t zero[16];
	struct wm_netlink_rule r = table_rule(families[i]);
	int err;

	if ((err = wm_netlink_rule_del(&r)) < 0 && err != -ENOENT)
		wm_log_error("cannot remove the exit node's rule: %s", strerror(-err));
	if (e->allow_lan) {
		r = suppress_rule(families[i]);
		if ((err = wm_netlink_rule_del(&r)) < 0 && err != -ENOENT)
			wm_log_error("cannot remove the LAN access rule: %s", strerror(-err));
	}
	err = wm_netlink_route_del_in(e->ifindex, families[i], zero, 0, WM_EXIT_TABLE);
	/* Gone already with the interface: nothing to say. */
	if (err < 0 && err != -ESRCH && err != -ENODEV)
		wm_log_error("cannot remove the exit node's default route: %s", strerror(-err));
	e->installed[i] = false;
}

/* The route into the table, then the rules that use it: never a rule towards an empty table. */
static int install(struct wm_exit *e, size_t i)
{
	static const uint8_t zero[16];
	struct wm_netlink_rule r;
	const char *what = "the default route in table 41641";
	int err = wm_netlink_route_add_in(e->ifindex, families[i], zero, 0, WM_EXIT_TABLE);

	e->installed[i] = true;	/* partly, at least: uninstall takes whatever is there */
	if (!err && e->allow_lan) {
		r = suppress_rule(families[i]);
		what = "the LAN access rule";
		err = wm_netlink_rule_add(&r);
	}
	if (!err) {
		r = table_rule(families[i]);
		what = "the rule towards table 41641";
		err = wm_netlink_rule_add(&r);
	}
	if (err < 0) {
		snprintf(e->why, sizeof(e->why), "cannot add %s (IPv%d): %s", what,
			 families[i] == AF_INET ? 4 : 6, strerror(-err));
		uninstall(e, i);
	}
	return err;
}

void wm_exit_apply(struct wm_exit *e)
{
	for (size_t i = 0; i < 2; i++) {
		bool want = e->state == WM_EXIT_ACTIVE && e->offered[i];

		if (!want && e->installed[i])
			uninstall(e, i);
		else if (want && !e->installed[i] && install(e, i) < 0) {
			wm_log_error("exit node %s: %s", e->peer_name, e->why);
			e->state = WM_EXIT_FAILED;
		}
	}
	if (e->state == WM_EXIT_FAILED)
		for (size_t i = 0; i < 2; i++)
			if (e->installed[i])
				uninstall(e, i);
}

void wm_exit_stop(struct wm_exit *e)
{
	for (size_t i = 0; i < 2; i++)
		if (e->installed[i])
			uninstall(e, i);
	e->state = e->want[0] ? WM_EXIT_NO_SUCH_PEER : WM_EXIT_OFF;
}

const char *wm_exit_state_name(enum wm_exit_state state)
{
	switch (state) {
	case WM_EXIT_OFF:
		return "off";
	case WM_EXIT_NO_SUCH_PEER:
		return "waiting: no such node";
	case WM_EXIT_NOT_OFFERED:
		return "waiting: not offered";
	case WM_EXIT_ACTIVE:
		return "active";
	case WM_EXIT_FAILED:
		return "failed";
	}
	return "?";
}

json_t *wm_exit_json(const struct wm_exit *e)
{
	json_t *o;

	if (!e->want[0])
		return NULL;
	o = json_pack("{ss ss sb}", "want", e->want, "state", wm_exit_state_name(e->state),
		      "allow_lan_access", e->allow_lan);
	if (o && e->peer_name[0]) {
		json_object_set_new(o, "peer", json_string(e->peer_name));
		json_object_set_new(o, "peer_online", json_boolean(e->peer_online));
	}
	if (o && e->state == WM_EXIT_FAILED)
		json_object_set_new(o, "why", json_string(e->why));
	return o;
}
