#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Subnet routes end to end: routers b and c advertise the LAN 192.168.50.0/24 behind them,
# client a takes it with --accept-routes, client e does not, and the LAN host h, which has no
# route to the mesh, serves HTTP. Needs root.
#
#                               ns switch: bridge br0 (the underlay)
#      +----------------+--------------+--------------+--------------+
#   ns hub 192.0.2.100  ns a .1        ns b .2        ns c .3        ns e .5
#   wiremesh-coord      --accept-      --advertise-   --advertise-   (no --accept-routes)
#   wiremesh-relay      routes, curl   routes         routes
#                                      eth1 .50.2     eth1 .50.3
#                                           +--------------+--------------+
#                               ns lan: bridge br1 (192.168.50.0/24)      ns h 192.168.50.10
#                                                                         http.server, no
#                                                                         route to the mesh
#
# Checks:
#   input      up --advertise-routes refuses (exit 2, saying why) a prefix in the mesh's range,
#              one with host bits set and the default route (an exit node)
#   forwarding b up with net.ipv4.ip_forward=0 warns "IP forwarding is off" and its status
#              says ip_forwarding false; after sysctl -w …=1, status says true
#   unapproved b's route is listed advertised, not approved; a has no route for it and does
#              not reach h
#   approve    once approved, a lists it under b (status --json and text), routes it through
#              its interface and reaches h over HTTP, h seeing b's LAN address (source NAT);
#              e ignores it (no route, not in WireGuard's allowed IPs, h unreachable) but
#              still pings b; b's nftables table exists; approving a prefix b does not
#              advertise is refused
#   policy     a pings h; a policy that lets a reach h's HTTP port (a LAN address as destination) and
#              nothing else: a still reaches h over HTTP, its ping of h is dropped by b; moved
#              to another port, a no longer reaches h; its autoApprovers entry approves
#              10.77.0.0/16 when b advertises it, without routes approve; policy clear
#   no SNAT    b again with --snat-subnet-routes=false: no table, and with a route back in h,
#              h sees a's mesh address; then b again with source NAT
#   failover   c advertises the same prefix and is approved: one primary (b); kill -9 of b
#              (the server marks it offline after 15 s without a poll) moves the route to c
#              on a within 40 s, and h then sees c's LAN address
#   paths      a never chose a direct path to a router at an address inside the route it
#              accepted (b's and c's LAN addresses are among their candidates; packets to
#              them would enter the tunnel itself)
#   unapprove  unapproving c, then b, takes the route away from a (status and interface)
#   down       wiremesh down on c removes its nftables table
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmr-$RUN_ID-sw
NS_HUB=wmr-$RUN_ID-hub
NS_LAN=wmr-$RUN_ID-lan
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
HTTP_PORT=8000
PREFIX=192.168.50.0/24
LAN_HOST=192.168.50.10
H_URL=http://$LAN_HOST:$HTTP_PORT/
MESH_RANGE=100.64.0.0/10
NODES=(a b c e)
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2 [c]=192.0.2.3 [e]=192.0.2.5)
declare -A LAN_ADDR=([b]=192.168.50.2 [c]=192.168.50.3)
declare -A MESH_IP=()
COORD_PID='' RELAY_PID='' HTTP_PID='' AUTHKEY=''

ns_of() { echo "wmr-$RUN_ID-$1"; }
if_of() { echo "wmr${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }
nat_table() { echo "wiremesh-$(if_of "$1")"; }

print_diagnostics() {
	local node
	echo "--- wiremesh-coord routes list"
	coord_admin routes list 2>&1 | head -n 8
	for node in a b c; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 14
		echo "--- $node: last lines of its log"
		tail -n 6 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- b: nft list table inet $(nat_table b)"
	n "$(ns_of b)" nft list table inet "$(nat_table b)" 2>&1 | head -n 12
	echo "--- a: ip route"
	ip -n "$(ns_of a)" route 2>&1
	echo "--- coordination server, last lines:"
	tail -n 6 "$WORKDIR/coord.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
}

# ---- topology and servers (as in mtu.sh) -----------------------------------------------------

# attach_lan NS ADDR IFNAME: NS (which exists) joins the bridge br1 of $NS_LAN on IFNAME.
attach_lan() {
	local ns=$1 addr=$2 ifname=$3 port=l${1##*-}
	ip -n "$NS_LAN" link add "$port" type veth peer name "$ifname" netns "$ns" &&
		ip -n "$NS_LAN" link set "$port" master br1 up &&
		ip -n "$ns" addr add "$addr/24" dev "$ifname" &&
		ip -n "$ns" link set "$ifname" up
}

create_topology() {
	local node
	create_switch || return 1
	create_namespace "$NS_LAN" &&
		ip -n "$NS_LAN" link add br1 type bridge &&
		ip -n "$NS_LAN" link set br1 up &&
		create_namespace "$(ns_of h)" &&
		attach_lan "$(ns_of h)" "$LAN_HOST" eth0 || return 1
	for node in b c; do
		attach_lan "$(ns_of "$node")" "${LAN_ADDR[$node]}" eth1 &&
			n "$(ns_of "$node")" sysctl -qw net.ipv4.ip_forward=1 || return 1
	done
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB" &&
		wait_for 5 n "$(ns_of b)" ping -n -q -c 1 -W 1 "$LAN_HOST" &&
		wait_for 5 n "$(ns_of c)" ping -n -q -c 1 -W 1 "$LAN_HOST"
}

# The LAN host's web server; its log (stderr) names each client's address.
start_http() {
	mkdir -p "$WORKDIR/www" && echo "LAN host h" >"$WORKDIR/www/index.html"
	ip netns exec "$(ns_of h)" "$PYTHON" -m http.server --bind "$LAN_HOST" \
		--directory "$WORKDIR/www" "$HTTP_PORT" >>"$WORKDIR/http-h.log" 2>&1 &
	HTTP_PID=$!
	STARTED_PIDS+=("$HTTP_PID")
	wait_for 5 tcp_listens "$(ns_of h)" "$HTTP_PORT"
}

# ---- reading state ---------------------------------------------------------------------------

# routes_under NODE PEER JSON-LIST: NODE's status lists exactly these routes under PEER (a
# peer that is not listed has none).
routes_under() { status_query "$1" "p.get('$2', {'routes': []})['routes'] == $3"; }

# self_routes_is NODE EXPR: EXPR holds for r, the "self": {"routes": …} of NODE's status.
self_routes_is() {
	status_query "$1" "(lambda r: $2)(s['self']['routes'])"
}

# has_mesh_route NODE: NODE routes the prefix through its mesh interface.
has_mesh_route() {
	ip -n "$(ns_of "$1")" route show dev "$(if_of "$1")" | grep -q "^${PREFIX%/*}/24 "
}

# allows_prefix NODE: NODE's WireGuard allowed IPs carry the prefix (for some peer).
allows_prefix() {
	wg_in "$(ns_of "$1")" show "$(if_of "$1")" allowed-ips | grep -qF "$PREFIX"
}

has_nat_table() { n "$(ns_of "$1")" nft list table inet "$(nat_table "$1")"; }

# routes_list_is EXPR: EXPR holds for rs, the rows of `routes list --json` for the prefix.
ROUTES_PY='
import json, sys
rs = [r for r in json.load(sys.stdin) if r["prefix"] == sys.argv[2]]
r = eval("(" + sys.argv[1] + ")")
print(rs, "->", r)
sys.exit(0 if r else 1)'
routes_list_is() { coord_admin routes list --json | "$PYTHON" -c "$ROUTES_PY" "$1" "$PREFIX"; }

# ---- traffic ---------------------------------------------------------------------------------

# reaches_h NODE SECONDS: NODE's curl gets h's page within SECONDS (the route and a handshake
# may take a moment); h's log from then on is in $WORKDIR/http-h.last.
reaches_h() {
	local node=$1 limit=$2 mark
	mark=$(wc -l <"$WORKDIR/http-h.log")
	wait_for "$limit" n "$(ns_of "$node")" curl -sSf --max-time 3 -o /dev/null "$H_URL" ||
		return 1
	tail -n +$((mark + 1)) "$WORKDIR/http-h.log" >"$WORKDIR/http-h.last"
}

# h_saw ADDR: of the requests since reaches_h, the last came from ADDR.
h_saw() {
	local last
	last=$(grep '"GET / ' "$WORKDIR/http-h.last" | tail -n 1)
	echo "h's log: $last"
	[[ $last == "$1 "* ]]
}

# bad_up PREFIX: `up --advertise-routes PREFIX` on a state directory of its own.
bad_up() {
	n "$(ns_of b)" "$WM_BIN" up --coord "$URL" --state "$WORKDIR/state-bad" \
		--ifname "$(if_of x)" --timeout 10 --authkey "$AUTHKEY" --advertise-routes "$1"
}

# no_path_through_route NODE: NODE's log never has it choose a direct path to an endpoint in
# the prefix it routes through the mesh (its packets to that endpoint would enter the tunnel).
no_path_through_route() {
	! grep -F "path now direct ${PREFIX%0/24}" "$WORKDIR/$1.log"
}

# wiremesh_pid NODE: the wiremesh daemon running in NODE's namespace.
wiremesh_pid() {
	local pid
	for pid in $(ip netns pids "$(ns_of "$1")"); do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == wiremesh ]] && echo "$pid" && return 0
	done
	return 1
}

# ---- scenarios -------------------------------------------------------------------------------

bad_input() {
	check "input: --advertise-routes 100.64.0.0/24 exits 2, naming the mesh's range" \
		fails_with_2_saying "mesh.*100\.64\.0\.0/10" bad_up 100.64.0.0/24
	check "input: --advertise-routes 192.168.50.1/24 exits 2, naming the host bits" \
		fails_with_2_saying "host bits" bad_up 192.168.50.1/24
	check "input: --advertise-routes 0.0.0.0/0 exits 2, saying that is an exit node" \
		fails_with_2_saying "exit node" bad_up 0.0.0.0/0
	check "input: nothing was left running (no interface, no state)" eval \
		"! ip -n $(ns_of b) link show $(if_of x) 2>/dev/null && ! wiremesh_pid b >/dev/null"
}

forwarding_off() {
	n "$(ns_of b)" sysctl -qw net.ipv4.ip_forward=0
	if ! check "forwarding: b comes up advertising $PREFIX with net.ipv4.ip_forward=0" \
		comes_up b --advertise-routes "$PREFIX"; then
		return 1
	fi
	check "forwarding: up's report (stdout) says IP forwarding is off" \
		grep -q "IP forwarding is off" "$WORKDIR/b.up"
	check "forwarding: b's status --json says ip_forwarding false" \
		self_routes_is b "r['ip_forwarding'] is False"
	check "forwarding: b's status (text) warns that IP forwarding is off" eval \
		"wm b status | grep -i 'warning.*IP forwarding is off'"
	n "$(ns_of b)" sysctl -qw net.ipv4.ip_forward=1
	check "forwarding: after sysctl -w net.ipv4.ip_forward=1, status says ip_forwarding true" \
		self_routes_is b "r['ip_forwarding'] is True"
	check "forwarding: and the text status no longer warns" eval \
		"! wm b status | grep -i 'IP forwarding is off'"
	return 0
}

unapproved() {
	check "unapproved: a comes up with --accept-routes" comes_up a --accept-routes
	check "unapproved: routes list shows b's $PREFIX advertised, not approved" \
		wait_for 10 routes_list_is \
		"len(rs) == 1 and rs[0]['node'] == 'b' and rs[0]['advertised'] and not rs[0]['approved']"
	check "unapproved: b's status shows it advertised, not approved, source NAT on" \
		self_routes_is b \
		"r['advertised'] == [{'prefix': '$PREFIX', 'approved': False}] and r['snat'] is True"
	check "unapproved: a lists b without routes, accept_routes true" eval \
		"status_query a \"'b' in p\" && routes_under a b '[]' &&
		 self_routes_is a \"r['accept_routes'] is True\""
	check "unapproved: a has no route to $PREFIX through its interface" eval "! has_mesh_route a"
	check_not "unapproved: a does not reach h ($H_URL)" \
		n "$(ns_of a)" curl -sSf --max-time 3 -o /dev/null "$H_URL"
	return 0
}

approve() {
	local start
	check "approve: e comes up without --accept-routes" comes_up e
	check "approve: approving a prefix b does not advertise is refused" \
		eval "! coord_admin routes approve b 10.1.0.0/16"
	check "approve: wiremesh-coord routes approve b $PREFIX" coord_admin routes approve b "$PREFIX"
	start=$(now_ms)
	check "approve: within 10 s a's status lists $PREFIX under b" \
		wait_for 10 routes_under a b "['$PREFIX']"
	echo "# approved route on a after $(seconds_since "$start") s"
	check "approve: routes list shows it approved and b primary" routes_list_is \
		"len(rs) == 1 and rs[0]['approved'] and rs[0]['primary']"
	check "approve: b's status shows it approved" wait_for 10 self_routes_is b \
		"r['advertised'] == [{'prefix': '$PREFIX', 'approved': True}]"
	check "approve: b's text status: routes: advertises $PREFIX (approved); source NAT on" \
		eval "wm b status | grep -F 'routes: advertises $PREFIX (approved); source NAT on'"
	check "approve: a's text status shows routes: $PREFIX under b" \
		eval "wm a status | grep -F 'routes: $PREFIX'"
	check "approve: a routes $PREFIX through its interface, in WireGuard's allowed IPs" \
		eval "wait_for 5 has_mesh_route a && allows_prefix a"
	start=$(now_ms)
	check "approve: a reaches h over HTTP within 15 s" reaches_h a 15
	echo "# a reached h $(seconds_since "$start") s after the route appeared"
	check "approve: h saw b's LAN address ${LAN_ADDR[b]} (source NAT)" h_saw "${LAN_ADDR[b]}"
	check "approve: e still pings b's mesh address" ping_within 10 "$(ns_of e)" "${MESH_IP[b]}"
	check "approve: e's status lists b's route but accept_routes is false" eval \
		"routes_under e b \"['$PREFIX']\" && self_routes_is e \"r['accept_routes'] is False\""
	check "approve: e has no route to $PREFIX and no allowed IPs for it" \
		eval "! has_mesh_route e && ! allows_prefix e"
	check_not "approve: e does not reach h" \
		n "$(ns_of e)" curl -sSf --max-time 3 -o /dev/null "$H_URL"
	check "nft: b has its table inet $(nat_table b)" eval \
		"has_nat_table b | grep masquerade"
	return 0
}

# policy_file PORT: a may reach h's PORT over TCP, nothing else; b's 10.77.0.0/16 is approved
# by autoApprovers.
policy_file() {
	cat <<EOF
{"autoApprovers": {"routes": {"10.77.0.0/16": ["b"]}},
 "acls": [{"action": "accept", "src": ["a"], "proto": "tcp", "dst": ["$LAN_HOST:$1"]}],
 "tests": [{"src": "a", "accept": ["$LAN_HOST:$1"], "deny": ["$LAN_HOST:22", "b:$1"]}]}
EOF
}

# approved_77: routes list --json shows b's 10.77.0.0/16 approved.
approved_77() {
	coord_admin routes list --json | "$PYTHON" -c 'import json, sys
rs = [r for r in json.load(sys.stdin) if r["prefix"] == "10.77.0.0/16"]
sys.exit(0 if len(rs) == 1 and rs[0]["node"] == "b" and rs[0]["approved"] else 1)'
}

policy() {
	local start
	check "policy: before any policy, a pings h" ping_within 10 "$(ns_of a)" "$LAN_HOST"
	policy_file "$HTTP_PORT" >"$WORKDIR/policy.json"
	check "policy: a policy naming h ($LAN_HOST:$HTTP_PORT) as a's only destination is set" \
		coord_admin policy set "$WORKDIR/policy.json"
	check "policy: within 10 s b drops a's ping of h (the policy opens TCP $HTTP_PORT only)" \
		wait_for 10 eval "! n $(ns_of a) ping -c 1 -W 1 $LAN_HOST"
	check_not "policy: and keeps dropping it" n "$(ns_of a)" ping -c 2 -W 2 "$LAN_HOST"
	start=$(now_ms)
	check "policy: a still reaches h over HTTP (within 15 s)" reaches_h a 15
	echo "# a reached h $(seconds_since "$start") s after its ping was dropped"
	policy_file $((HTTP_PORT + 1)) >"$WORKDIR/policy.json"
	check "policy: moved to port $((HTTP_PORT + 1))" coord_admin policy set "$WORKDIR/policy.json"
	check "policy: then a does not reach h over HTTP (within 10 s)" wait_for 10 eval \
		"! n $(ns_of a) curl -sSf --max-time 2 -o /dev/null $H_URL"
	check "policy: b up again advertising 10.77.0.0/16 as well" eval \
		"wm b down && comes_up b --advertise-routes '$PREFIX,10.77.0.0/16'"
	check "policy: autoApprovers approved b's 10.77.0.0/16 (routes list), nobody ran approve" \
		wait_for 10 approved_77
	check "policy: wiremesh-coord policy clear" coord_admin policy clear
	check "policy: without a policy a reaches h again (within 40 s)" eval \
		"wait_for 30 routes_under a b \"['10.77.0.0/16', '$PREFIX']\" && reaches_h a 40"
	return 0
}

no_snat() {
	local start
	check "no SNAT: b down" wm b down
	check "no SNAT: b's table is gone after down" eval "! has_nat_table b"
	if ! check "no SNAT: b up again with --snat-subnet-routes=false" \
		comes_up b --advertise-routes "$PREFIX" --snat-subnet-routes=false; then
		return 1
	fi
	check "no SNAT: b's status says snat false, the route still approved" self_routes_is b \
		"r['snat'] is False and r['advertised'] == [{'prefix': '$PREFIX', 'approved': True}]"
	check "no SNAT: b has no nftables table of its own" eval "! has_nat_table b"
	ip -n "$(ns_of h)" route add "$MESH_RANGE" via "${LAN_ADDR[b]}"
	# b lost its WireGuard sessions; a notices when its own stay unanswered (WireGuard's
	# REKEY_TIMEOUT + KEEPALIVE_TIMEOUT: 15 s), so its traffic may wait that long.
	start=$(now_ms)
	check "no SNAT: with a route back in h, a reaches h within 40 s" eval \
		"wait_for 30 routes_under a b \"['$PREFIX']\" && reaches_h a 40"
	echo "# a reached h $(seconds_since "$start") s after b came back"
	check "no SNAT: h saw a's mesh address ${MESH_IP[a]}" h_saw "${MESH_IP[a]}"
	ip -n "$(ns_of h)" route del "$MESH_RANGE" via "${LAN_ADDR[b]}"
	check "no SNAT: b back with source NAT (down, up), its table again" eval \
		"wm b down && comes_up b --advertise-routes '$PREFIX' && has_nat_table b"
	start=$(now_ms)
	check "no SNAT: a reaches h through b again within 40 s, h seeing ${LAN_ADDR[b]}" eval \
		"wait_for 30 routes_under a b \"['$PREFIX']\" && reaches_h a 40 && h_saw ${LAN_ADDR[b]}"
	echo "# a reached h $(seconds_since "$start") s after b came back"
	return 0
}

failover() {
	local pid start took
	check "failover: c comes up advertising $PREFIX too" comes_up c --advertise-routes "$PREFIX"
	check "failover: wiremesh-coord routes approve c $PREFIX" \
		coord_admin routes approve c "$PREFIX"
	check "failover: routes list --json: both approved, exactly one primary, b" \
		wait_for 10 routes_list_is "len(rs) == 2 and all(r['approved'] for r in rs) and
		[r['node'] for r in rs if r['primary']] == ['b']"
	check "failover: a lists c, without routes; $PREFIX stays under b" wait_for 10 eval \
		"status_query a \"'c' in p\" && routes_under a c '[]' && routes_under a b \"['$PREFIX']\""
	if ! pid=$(wiremesh_pid b); then
		not_ok "failover: no wiremesh process in b's namespace"
		return 1
	fi
	check "failover: kill -9 of b's wiremesh (pid $pid)" eval \
		"kill -KILL $pid && wait_for 5 eval '! is_running $pid'"
	start=$(now_ms)
	check "failover: within 40 s a lists $PREFIX under c" wait_for 40 eval \
		"routes_under a c \"['$PREFIX']\" && routes_under a b '[]'"
	took=$(seconds_since "$start")
	check "failover: routes list: c is now the primary" wait_for 10 routes_list_is \
		"[r['node'] for r in rs if r['primary']] == ['c']"
	check "failover: a reaches h within 15 s more" reaches_h a 15
	echo "# failover: the route moved to c $took s after kill -9 of b; h answered" \
		"$(seconds_since "$start") s after it"
	check "failover: h saw c's LAN address ${LAN_ADDR[c]}" h_saw "${LAN_ADDR[c]}"
	check "paths: a never took a direct path to a router through the route it accepted" \
		no_path_through_route a
	check "unapprove: wiremesh-coord routes unapprove c $PREFIX" \
		coord_admin routes unapprove c "$PREFIX"
	check "unapprove: within 10 s a no longer lists it under c" wait_for 10 routes_under a c '[]'
	# b (offline) is still approved and may serve the prefix again; withdraw it there too.
	check "unapprove: wiremesh-coord routes unapprove b $PREFIX" \
		coord_admin routes unapprove b "$PREFIX"
	check "unapprove: within 10 s a drops the route (status and interface)" eval \
		"wait_for 10 routes_under a b '[]' && routes_under a c '[]' &&
		 wait_for 5 eval '! has_mesh_route a'"
	return 0
}

down() {
	check "down: c has its nftables table before down" has_nat_table c
	check "down: wiremesh down on c removes its table and interface" eval \
		"wm c down && ! has_nat_table c && ! ip -n $(ns_of c) link show $(if_of c) 2>/dev/null"
}

# ---- main -------------------------------------------------------------------------------------

is_root "routes" || exit 0
has_tools "routes" ip nft wg curl ping sysctl python3 timeout awk || exit 0
are_built "routes" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_hub >>"$WORKDIR/setup.log" 2>&1 ||
	! start_http >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "routes: namespaces, bridges, coordination server, relay and h's web server"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
ok "routes: topology (underlay and LAN), wiremesh-coord, wiremesh-relay, h's web server up"

bad_input
if forwarding_off; then
	unapproved
	approve
	policy
	no_snat && failover && down
fi

echo "# routes: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
