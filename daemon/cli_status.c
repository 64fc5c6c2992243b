/* SPDX-License-Identifier: MIT */
/* `wiremesh status` for people: the JSON the node sends, as a short report and a table. */
#include "daemon/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "daemon/key_expiry.h"

static const char *str(const json_t *o, const char *field)
{
	const char *s = json_string_value(json_object_get(o, field));

	return s ? s : "";
}

static long long num(const json_t *o, const char *field)
{
	return (long long)json_integer_value(json_object_get(o, field));
}

static void format_bytes(char *out, size_t cap, long long n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%lld B", n);
	else
		snprintf(out, cap, "%.1f %s", v, units[u]);
}

static void format_ago(char *out, size_t cap, long long when)
{
	long long d = (long long)time(NULL) - when;

	if (when <= 0)
		snprintf(out, cap, "never");
	else if (d < 0)
		snprintf(out, cap, "just now");
	else if (d < 120)
		snprintf(out, cap, "%llds ago", d);
	else if (d < 7200)
		snprintf(out, cap, "%lldm ago", d / 60);
	else if (d < 172800)
		snprintf(out, cap, "%lldh ago", d / 3600);
	else
		snprintf(out, cap, "%lldd ago", d / 86400);
}

static void format_path(char *out, size_t cap, const json_t *p)
{
	const char *path = str(p, "path");

	const json_t *ms = json_object_get(p, "latency_ms");
	char lat[32] = "";

	if (json_is_number(ms))
		snprintf(lat, sizeof(lat), " (%.1f ms)", json_number_value(ms));
	if (!strcmp(path, "direct"))
		snprintf(out, cap, "direct %s%s", str(p, "endpoint"), lat);
	else if (!strcmp(path, "relay"))
		snprintf(out, cap, "relay region %lld%s", num(p, "relay_region"), lat);
	else if (!json_is_true(json_object_get(p, "online")))
		snprintf(out, cap, "none yet (offline)");
	else
		snprintf(out, cap, "none yet");
}

/* "  DNS: alpha.mesh.internal, …" and what the host does with the resolver (docs/dns.md). */
static void print_dns(const json_t *self)
{
	const json_t *dns = json_object_get(self, "dns");
	const char *suffix = str(dns, "suffix");

	if (!json_is_object(dns))
		return;
	if (*suffix)
		printf("  DNS: this node is %s; nodes are NAME.%s at 100.100.100.100\n",
		       str(self, "dns_name"), suffix);
	else
		printf("  DNS: the coordination server sent no suffix: no mesh names\n");
	printf("  DNS on this host (%s): %s\n", str(dns, "host"), str(dns, "host_note"));
}

/* "  routes: advertises 192.168.50.0/24 (approved), …; source NAT on", and a forwarding warning. */
static void print_own_routes(const json_t *routes)
{
	const json_t *adv = json_object_get(routes, "advertised"), *a;
	size_t i;

	const json_t *exit = json_object_get(routes, "exit_node");

	if (exit)
		printf("  offers exit node (%s)\n", json_is_true(json_object_get(exit, "approved")) ?
		       "approved" : "waiting for approval");
	if (json_array_size(adv)) {
		printf("  routes: advertises");
		json_array_foreach(adv, i, a)
			printf("%s %s (%s)", i ? "," : "", str(a, "prefix"),
			       json_is_true(json_object_get(a, "approved")) ? "approved" :
			       "waiting for approval");
	}
	if (json_array_size(adv) || exit) {
		if (!json_array_size(adv))
			printf("  routes:");
		printf("%s source NAT %s\n", json_array_size(adv) ? ";" : "",
		       json_is_true(json_object_get(routes, "snat")) ? "on" : "off");
		if (!json_is_true(json_object_get(routes, "ip_forwarding")))
			printf("  warning: IP forwarding is off: the advertised routes cannot be reached "
			       "through this node\n");
	}
	if (json_is_true(json_object_get(routes, "accept_routes")))
		printf("  accepting the subnet routes of other nodes\n");
}

/* "  exit node: NAME (active)" on a node run with --exit-node. */
static void print_exit_node(const json_t *e)
{
	const char *why = str(e, "why");

	if (!e)
		return;
	printf("  exit node: %s (%s%s%s%s)%s\n", *str(e, "peer") ? str(e, "peer") : str(e, "want"),
	       str(e, "state"), *why ? ": " : "", why,
	       json_is_false(json_object_get(e, "peer_online")) && !strcmp(str(e, "state"), "active") ?
	       "; it is offline: traffic waits for it" : "",
	       json_is_true(json_object_get(e, "allow_lan_access")) ? "; LAN access allowed" : "");
}

/* A week before the key expires, and after: what happens and what to run. */
static void print_key_expiry(const json_t *self, const char *state, const char *message)
{
	char note[512];
	enum wm_key_expiry_state k;

	k = wm_key_expiry_note(note, sizeof(note), num(self, "key_expiry"), (int64_t)time(NULL),
			       wm_key_expiry_refusal(state, message));
	if (k != WM_KEY_FINE)
		printf("  %s: %s\n", k == WM_KEY_EXPIRED ? "error" : "warning", note);
}

static void print_self(const json_t *o)
{
	const json_t *self = json_object_get(o, "self"), *coord = json_object_get(o, "coordination");
	const json_t *relays = json_object_get(o, "relays"), *r, *c;
	size_t i;

	printf("%s: %s  %s  %s\n", str(o, "interface"), *str(self, "name") ? str(self, "name") :
	       "(not registered yet)", str(self, "ipv4"), str(self, "ipv6"));
	printf("  key %s, UDP port %lld\n", str(self, "public_key"), num(self, "listen_port"));
	{
		const json_t *mtu = json_object_get(self, "mtu");

		printf("  MTU %lld (interface %lld): %lld TCP handshake(s) clamped, %lld packet(s) "
		       "too big\n", num(mtu, "tunnel"), num(mtu, "interface"),
		       num(mtu, "mss_clamped"), num(mtu, "too_big_dropped"));
	}
	const char *state = str(coord, "state"), *message = str(coord, "message");
	bool say = *message && strcmp(message, state);

	printf("  coordination: %s (%s)%s%s\n", state, str(coord, "url"), say ? ": " : "",
	       say ? message : "");
	print_key_expiry(self, state, message);
	if (!strcmp(str(coord, "netmap_from"), "saved state"))
		printf("  using the netmap saved before the last restart\n");
	json_array_foreach(relays, i, r)
		printf("  relay region %lld: %s%s, %s\n", num(r, "region"), str(r, "url"),
		       json_is_true(json_object_get(r, "home")) ? " (home)" : "",
		       json_is_true(json_object_get(r, "connected")) ? "connected" : "not connected");
	{
		const json_t *nat = json_object_get(self, "nat");

		if (json_is_true(json_object_get(nat, "checked")))
			printf("  NAT: UDP %s%s\n",
			       json_is_true(json_object_get(nat, "udp")) ? "works" : "blocked",
			       json_is_true(json_object_get(nat, "mapping_varies_by_dest")) ?
			       ", mapping varies by destination (hard NAT)" : "");
	}
	print_own_routes(json_object_get(self, "routes"));
	print_dns(self);
	print_exit_node(json_object_get(self, "exit_node"));
	printf("  candidates:");
	json_array_foreach(json_object_get(self, "candidates"), i, c)
		printf(" %s", json_string_value(c));
	printf("%s\n", json_array_size(json_object_get(self, "candidates")) ? "" : " none");
}

/* Whether a rule's dst is a node's own two addresses (an IPv4 /32 and an IPv6 /128), as the
 * server writes it for the node itself, or absent (an older server: anything). */
static bool opens_the_node(const json_t *dst)
{
	const char *a = json_string_value(json_array_get(dst, 0));
	const char *b = json_string_value(json_array_get(dst, 1));
	size_t la, lb;

	if (!json_is_array(dst))
		return true;
	if (json_array_size(dst) != 2 || !a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	return la > 3 && lb > 4 && !strcmp(a + la - 3, "/32") && !strcmp(b + lb - 4, "/128");
}

/* "tcp/80,443 udp/53 icmp tcp/80 to 192.168.50.0/24" from a list of rules; "nothing" when
 * empty. */
static void format_rules(char *out, size_t cap, const json_t *rules)
{
	const json_t *r, *dst, *d;
	size_t i, j, used = 0;

	if (json_is_string(rules)) {
		snprintf(out, cap, "%s", json_string_value(rules));
		return;
	}
	out[0] = '\0';
	json_array_foreach(rules, i, r) {
		const char *proto = str(r, "proto"), *ports = str(r, "ports");

		if (used + 2 >= cap)
			break;
		used += (size_t)snprintf(out + used, cap - used, "%s%s%s%s", i ? " " : "",
					 !strcmp(proto, "*") ? "any" : proto, *ports ? "/" : "", ports);
		dst = json_object_get(r, "dst");
		if (opens_the_node(dst))
			continue;
		json_array_foreach(dst, j, d)
			if (used + 2 < cap)
				used += (size_t)snprintf(out + used, cap - used, "%s%s",
							 j ? "," : " to ", json_string_value(d));
	}
	if (!json_array_size(rules))
		snprintf(out, cap, "nothing");
}

static void print_policy(const json_t *p)
{
	const json_t *pol = json_object_get(p, "policy"), *drops, *v;
	char here[256], there[256];
	const char *reason;
	uint64_t dropped = 0;

	if (!json_is_object(pol) || json_is_string(json_object_get(pol, "may_reach_here")))
		return;
	format_rules(there, sizeof(there), json_object_get(pol, "may_reach_there"));
	format_rules(here, sizeof(here), json_object_get(pol, "may_reach_here"));
	drops = json_object_get(pol, "drops");
	json_object_foreach((json_t *)drops, reason, v)
		dropped += (uint64_t)json_integer_value(v);
	printf("%-20s may reach there: %s; may reach here: %s", "", there, here);
	if (dropped)
		printf("; %llu packet(s) dropped", (unsigned long long)dropped);
	printf("\n");
}

/* The peer's subnet routes, and whether it offers to be an exit node (default routes). */
static void print_peer_routes(const json_t *p, bool accepted)
{
	const json_t *routes = json_object_get(p, "routes"), *r;
	size_t i, shown = 0;

	if (json_is_true(json_object_get(p, "exit_node")))
		printf("%-20s offers exit node%s\n", "",
		       json_is_true(json_object_get(p, "exit_node_in_use")) ? " (in use)" : "");
	json_array_foreach(routes, i, r) {
		const char *text = json_string_value(r);

		if (!text || !strcmp(text, "0.0.0.0/0") || !strcmp(text, "::/0"))
			continue;
		if (!shown++)
			printf("%-20s routes:", "");
		printf("%s %s", shown > 1 ? "," : "", text);
	}
	if (shown)
		printf("%s\n", accepted ? "" : " (not used here: up --accept-routes uses them)");
}

int wm_cli_print_status(const char *json_text, bool color)
{
	json_t *o = json_loads(json_text, 0, NULL), *peers, *p;
	char path[96], hs[32], rx[32], tx[32];
	size_t i;

	(void)color;
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return 1;
	}
	print_self(o);
	peers = json_object_get(o, "peers");
	if (!json_array_size(peers)) {
		printf("\nno peers yet\n");
		json_decref(o);
		return 0;
	}
	printf("\n%-20s %-15s %-38s %-10s %10s %10s\n", "PEER", "ADDRESS", "PATH", "HANDSHAKE",
	       "RX", "TX");
	json_array_foreach(peers, i, p) {
		format_path(path, sizeof(path), p);
		format_ago(hs, sizeof(hs), num(p, "last_handshake"));
		format_bytes(rx, sizeof(rx), num(p, "rx_bytes"));
		format_bytes(tx, sizeof(tx), num(p, "tx_bytes"));
		printf("%-20s %-15s %-38s %-10s %10s %10s\n", str(p, "name"), str(p, "ipv4"), path,
		       hs, rx, tx);
		print_peer_routes(p, json_is_true(json_object_get(json_object_get(
						 json_object_get(o, "self"), "routes"), "accept_routes")));
		print_policy(p);
	}
	json_decref(o);
	return 0;
}
