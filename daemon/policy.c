/* SPDX-License-Identifier: MIT */
#include "daemon/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/rng.h"
#include "daemon/node.h"
#include "daemon/paths.h"
#include "filter/reject.h"

static bool reject_allowed(struct wm_policy *pol, uint64_t now)
{
	if (now - pol->reject_window >= 1000000000ULL) {
		pol->reject_window = now;
		pol->reject_count = 0;
	}
	return pol->reject && pol->reject_count++ < WM_POLICY_REJECTS_PER_SECOND;
}

static void send_reject(struct wm_policy *pol, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint8_t buf[WM_PACKET_HEADROOM + WM_FILTER_REJECT_MAX + WM_PACKET_TAILROOM];
	size_t n;

	if (!reject_allowed(pol, now))
		return;
	n = wm_filter_reject(pkt, len, buf + WM_PACKET_HEADROOM, WM_FILTER_REJECT_MAX);
	if (!n)
		return;
	pol->rejects_sent++;
	wm_node_send_plaintext(pol->node, buf + WM_PACKET_HEADROOM, n);
}

static bool on_inbound(void *ctx, struct wm_peer *peer, const uint8_t *pkt, size_t len,
		       uint64_t now)
{
	struct wm_policy *pol = ctx;
	enum wm_filter_reason why;
	struct wm_mesh_peer *mp;

	if (wm_filter_inbound(pol->filter, &pol->ct, pkt, len, now, &why) == WM_FILTER_ACCEPT)
		return true;
	pol->drops[why]++;
	mp = peer ? wm_paths_find_node_key(pol->paths, peer->public_key) : NULL;
	if (mp)
		mp->drops[why]++;
	send_reject(pol, pkt, len, now);
	return false;
}

static void on_outbound(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct wm_policy *pol = ctx;

	/* Without a policy nothing is judged, so nothing needs remembering: the no-policy data
	 * path stays as fast as it was. Flows in progress when a policy arrives are learned from
	 * their next outgoing packet. */
	if (pol->filter)
		wm_conntrack_outbound(&pol->ct, pkt, len, now);
}

static void on_expire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_policy *pol = w->data;

	(void)loop;
	(void)revents;
	wm_conntrack_expire(&pol->ct, wm_clock_monotonic_ns());
}

int wm_policy_start(struct wm_policy *pol, struct wm_node *node, struct wm_paths *paths)
{
	uint64_t seed;
	int err;

	memset(pol, 0, sizeof(*pol));
	pol->node = node;
	pol->paths = paths;
	pol->reject = true;
	wm_rng_fill(&wm_rng_system, &seed, sizeof(seed));
	if ((err = wm_conntrack_init(&pol->ct, 0, seed)) < 0)
		return err;
	ev_timer_init(&pol->expire_timer, on_expire, WM_POLICY_EXPIRE_S, WM_POLICY_EXPIRE_S);
	pol->expire_timer.data = pol;
	ev_timer_start(node->loop, &pol->expire_timer);
	node->hooks.inbound = on_inbound;
	node->hooks.outbound = on_outbound;
	node->hooks.policy_ctx = pol;
	return 0;
}

void wm_policy_stop(struct wm_policy *pol)
{
	if (!pol->node)
		return;
	pol->node->hooks.inbound = NULL;
	pol->node->hooks.outbound = NULL;
	ev_timer_stop(pol->node->loop, &pol->expire_timer);
	wm_filter_free(pol->filter);
	free(pol->text);
	wm_conntrack_free(&pol->ct);
	pol->node = NULL;
}

void wm_policy_apply(struct wm_policy *pol, const char *text)
{
	struct wm_filter *f = NULL;
	char err[256];
	size_t n = 0;

	if (text && !strcmp(text, "null"))
		text = NULL;
	if ((!text && !pol->text && !pol->parse_failed) ||
	    (text && pol->text && !strcmp(text, pol->text)))
		return;
	if (text && wm_filter_parse(&f, text, strlen(text), err, sizeof(err)) < 0) {
		wm_log_error("the access policy from the coordination server does not parse (%s); "
			     "%s", err, pol->filter ? "keeping the one in force" :
			     "denying new inbound connections until a good one arrives");
		pol->parse_failed = true;
		if (!pol->filter)
			wm_filter_parse(&pol->filter, "{\"rules\":[]}", 12, NULL, 0);
		return;
	}
	pol->parse_failed = false;
	wm_filter_free(pol->filter);
	pol->filter = f;
	free(pol->text);
	pol->text = text ? strdup(text) : NULL;
	if (f)
		wm_filter_rules(f, &n);
	wm_log_verbose("access policy: %s", f ? "in force" : "none (everything allowed)");
	if (f)
		wm_log_verbose("access policy: %zu inbound rule(s)", n);
}

/* Status. */

static json_t *ports_json(const struct wm_filter_rule *r)
{
	char text[512] = "";
	size_t i, used = 0;

	if (r->proto == WM_FILTER_PROTO_ANY || r->proto == WM_FILTER_PROTO_ICMP)
		return json_null();
	for (i = 0; i < r->n_ports && used < sizeof(text) - 16; i++) {
		if (r->ports[i].first == 0 && r->ports[i].last == 65535)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s*", i ? "," : "");
		else if (r->ports[i].first == r->ports[i].last)
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%u", i ? "," : "",
						 r->ports[i].first);
		else
			used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%u-%u",
						 i ? "," : "", r->ports[i].first, r->ports[i].last);
	}
	return json_string(text);
}

static const char *proto_name(enum wm_filter_proto p)
{
	switch (p) {
	case WM_FILTER_PROTO_TCP:
		return "tcp";
	case WM_FILTER_PROTO_UDP:
		return "udp";
	case WM_FILTER_PROTO_ICMP:
		return "icmp";
	case WM_FILTER_PROTO_ANY:
		break;
	}
	return "*";
}

static json_t *prefixes_json(const struct wm_filter_prefix *v, size_t n)
{
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 5];
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		inet_ntop(v[i].family, v[i].addr, addr, sizeof(addr));
		snprintf(text, sizeof(text), "%s/%u", addr, v[i].len);
		json_array_append_new(a, json_string(text));
	}
	return a;
}

static json_t *rule_json(const struct wm_filter_rule *r, bool with_src)
{
	json_t *o = json_object();

	json_object_set_new(o, "proto", json_string(proto_name(r->proto)));
	json_object_set_new(o, "ports", ports_json(r));
	if (r->acl >= 0)
		json_object_set_new(o, "acl", json_integer(r->acl));
	if (with_src)
		json_object_set_new(o, "src", prefixes_json(r->src, r->n_src));
	/* What the rule opens: this node's own two addresses, or what is behind it. */
	if (r->n_dst)
		json_object_set_new(o, "dst", prefixes_json(r->dst, r->n_dst));
	return o;
}

json_t *wm_policy_rules_json(const struct wm_policy *pol)
{
	const struct wm_filter_rule *rules;
	json_t *o, *a;
	size_t i, n;

	if (!pol->filter)
		return json_null();
	rules = wm_filter_rules(pol->filter, &n);
	o = json_object();
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, rule_json(&rules[i], true));
	json_object_set_new(o, "rules", a);
	json_object_set_new(o, "flows", json_integer((json_int_t)wm_conntrack_count(&pol->ct)));
	json_object_set_new(o, "rejects_sent", json_integer((json_int_t)pol->rejects_sent));
	json_object_set_new(o, "parse_failed", json_boolean(pol->parse_failed));
	return o;
}

json_t *wm_policy_peer_json(const struct wm_policy *pol, uint64_t peer_id,
			    const struct in_addr *ipv4, const struct in6_addr *ipv6,
			    const uint64_t drops[WM_FILTER_REASON_COUNT])
{
	const struct wm_filter_rule *rules, *reach;
	json_t *o = json_object(), *here, *there, *d = json_object();
	size_t idx[64], i, n, k, total;

	for (i = 0; drops && i < WM_FILTER_REASON_COUNT; i++)
		if (drops[i])
			json_object_set_new(d, wm_filter_reason_name(i), json_integer((json_int_t)drops[i]));
	json_object_set_new(o, "drops", d);
	if (!pol->filter) {
		json_object_set_new(o, "may_reach_here", json_string("everything (no policy)"));
		json_object_set_new(o, "may_reach_there", json_string("everything (no policy)"));
		return o;
	}
	rules = wm_filter_rules(pol->filter, &n);
	here = json_array();
	/* One query for both addresses: a rule naming both must be listed once. */
	total = wm_filter_rules_for_peer(pol->filter, (const uint8_t *)ipv4, ipv6->s6_addr, idx, 64);
	for (k = 0; k < total && k < 64; k++)
		json_array_append_new(here, rule_json(&rules[idx[k]], false));
	json_object_set_new(o, "may_reach_here", here);
	there = json_array();
	reach = wm_filter_reach(pol->filter, peer_id, &n);
	for (i = 0; reach && i < n; i++)
		json_array_append_new(there, rule_json(&reach[i], false));
	json_object_set_new(o, "may_reach_there", there);
	return o;
}
