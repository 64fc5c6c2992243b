#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Exit nodes end to end: x offers to be an exit node, client a sends all its traffic through
# it (--exit-node x), and an "internet" host i that only x can reach serves HTTP. Beside a
# there is a LAN with a host l. Needs root.
#
#                           ns switch: bridge br0 (the underlay, 192.0.2.0/24)
#      +--------------------+--------------------+--------------------+
#   ns hub 192.0.2.100   ns a .1              ns x .2              ns e .5
#   wiremesh-coord       --exit-node x        --advertise-         joins later: a new
#   wiremesh-relay       eth1 192.168.77.1    exit-node            peer while a uses x
#                          |                  eth1 198.51.100.1
#                        ns l 192.168.77.10     |
#                        http.server          ns i 198.51.100.10 ("the internet"):
#                        (a's LAN)            http.server, reached only from x
#
# No namespace has a default route: a reaches i only through the tunnel, and x's answer to a
# request a sends to l (which x cannot reach) is "unreachable".
#
# Checks:
#   input      up --advertise-routes 0.0.0.0/0 exits 2 naming --advertise-exit-node;
#              --exit-node with --advertise-exit-node, and --exit-node-allow-lan-access
#              alone, exit 2
#   offer      x's status: offers exit node (waiting for approval); routes list shows
#              0.0.0.0/0 and ::/0 advertised, not approved, marked as an exit node
#   waiting    a up --exit-node x while unapproved: status "waiting: not offered", a's rules
#              and routes exactly as before up (no table 41641), and i unreachable
#   active     routes approve x exit-node: a's state becomes active within 10 s; the two
#              rules ("not fwmark 0xa2a9 lookup 41641", both families) and the default routes
#              in table 41641 through a's interface; a reaches i, and i sees x's address;
#              status texts (a: "exit node: x (active)", "offers exit node (in use)" under x;
#              x: "offers exit node (approved)")
#   own        while a uses x: a's TCP sockets to the coordination server and the relay and
#              its WireGuard UDP socket carry the mark 0xa2a9; the relay stays connected; a
#              new peer e joins, a lists it and pings it, and e pings a
#   no LAN     without --exit-node-allow-lan-access a does not reach l (its packets go to x)
#   policy     a policy letting a use the internet (autogroup:internet) over TCP and nothing
#              else: a still reaches i through x, its ping of x itself is dropped; with the
#              internet taken out of a's ACL (x:22 only), a no longer reaches i; the policy's
#              autoApprovers (exitNode: x) approve x's default routes again at its next poll
#              after routes unapprove; policy clear
#   down       wiremesh down on a: ip rule, ip -6 rule, ip route show table all and ip -6
#              route show table all are byte for byte as before up
#   LAN        a up again with --exit-node-allow-lan-access: the suppress rule is there; a
#              reaches l directly (l sees a's LAN address) and still reaches i through x
#   unapprove  routes unapprove x exit-node: a goes back to waiting, its rules are as before
#              up and table 41641 is empty; i is unreachable again
#   withdraw   approved again, a is active; x restarted without --advertise-exit-node (it
#              stops offering): a's rules and table are restored again
#   offline    x offering again (its approval kept), a active; kill -9 of x: once the server
#              marks x offline, a says so and keeps its rules (its traffic waits for x rather
#              than leaving in the clear by a's own uplink)
#   leaves     nodes remove x: a waits (no such node), its rules and table restored
#   down again a's rules and routes are byte for byte as before up
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmx-$RUN_ID-sw
NS_HUB=wmx-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
HTTP_PORT=8000
NET_HOST=198.51.100.10
X_NET=198.51.100.1
LAN_HOST=192.168.77.10
A_LAN=192.168.77.1
I_URL=http://$NET_HOST:$HTTP_PORT/
L_URL=http://$LAN_HOST:$HTTP_PORT/
MARK=0xa2a9
TABLE=41641
NODES=(a x e)
declare -A ADDR=([a]=192.0.2.1 [x]=192.0.2.2 [e]=192.0.2.5)
declare -A MESH_IP=()
COORD_PID='' RELAY_PID='' AUTHKEY=''

ns_of() { echo "wmx-$RUN_ID-$1"; }
if_of() { echo "wmx${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	echo "--- wiremesh-coord routes list"
	coord_admin routes list 2>&1 | head -n 8
	for node in a x; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 16
		echo "--- $node: last lines of its log"
		tail -n 6 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- a: ip rule; ip route show table $TABLE"
	ip -n "$(ns_of a)" rule 2>&1
	ip -n "$(ns_of a)" route show table "$TABLE" 2>&1
}

# ---- topology and servers --------------------------------------------------------------------

# link NS1 ADDR1 IF1 NS2 ADDR2 IF2: a veth pair between two namespaces, a /24 on each end.
link() {
	ip -n "$1" link add "$3" type veth peer name "$6" netns "$4" &&
		ip -n "$1" addr add "$2/24" dev "$3" && ip -n "$1" link set "$3" up &&
		ip -n "$4" addr add "$5/24" dev "$6" && ip -n "$4" link set "$6" up
}

create_topology() {
	create_switch || return 1
	create_namespace "$(ns_of i)" && create_namespace "$(ns_of l)" &&
		link "$(ns_of x)" "$X_NET" eth1 "$(ns_of i)" "$NET_HOST" eth0 &&
		link "$(ns_of a)" "$A_LAN" eth1 "$(ns_of l)" "$LAN_HOST" eth0 &&
		n "$(ns_of x)" sysctl -qw net.ipv4.ip_forward=1 &&
		n "$(ns_of x)" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB" &&
		wait_for 5 n "$(ns_of x)" ping -n -q -c 1 -W 1 "$NET_HOST" &&
		wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$LAN_HOST" &&
		wait_for 30 ipv6_settled
}

# ipv6_settled: a's interfaces have their IPv6 link-local addresses, none still tentative. The
# kernel adds their "local" routes only once duplicate address detection is done (a second or
# more on a loaded machine): the snapshot of a's tables taken before `up` must not race it.
ipv6_settled() {
	local ns dev
	ns=$(ns_of a)
	[[ -z $(ip -n "$ns" -6 addr show tentative) ]] || return 1
	for dev in eth0 eth1; do
		ip -n "$ns" -6 addr show dev "$dev" scope link | grep -q fe80 || return 1
	done
}

# start_http HOST ADDR: a web server in HOST's namespace; its log names each client.
start_http() {
	local pid
	mkdir -p "$WORKDIR/www-$1" && echo "host $1" >"$WORKDIR/www-$1/index.html"
	ip netns exec "$(ns_of "$1")" "$PYTHON" -m http.server --bind "$2" \
		--directory "$WORKDIR/www-$1" "$HTTP_PORT" >>"$WORKDIR/http-$1.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_for 5 tcp_listens "$(ns_of "$1")" "$HTTP_PORT"
}

# ---- reading state ---------------------------------------------------------------------------

# snapshot NAME: a's rules and every routing table, both families, into $WORKDIR/NAME.*.
snapshot() {
	local ns
	ns=$(ns_of a)
	ip -n "$ns" rule show >"$WORKDIR/$1.rule4" &&
		ip -n "$ns" -6 rule show >"$WORKDIR/$1.rule6" &&
		ip -n "$ns" route show table all >"$WORKDIR/$1.route4" &&
		ip -n "$ns" -6 route show table all >"$WORKDIR/$1.route6"
}

# same_as NAME KINDS...: a's rules/routes now are byte for byte those of snapshot NAME.
same_as() {
	local name=$1 kind rc=0
	shift
	snapshot now || return 1
	for kind in "$@"; do
		if ! cmp -s "$WORKDIR/$name.$kind" "$WORKDIR/now.$kind"; then
			echo "$kind differs:"
			diff "$WORKDIR/$name.$kind" "$WORKDIR/now.$kind"
			rc=1
		else
			echo "$kind: $(wc -l <"$WORKDIR/now.$kind") line(s), identical"
		fi
	done
	return $rc
}

# exit_state_is STATE: a's status --json says the exit node is in that state.
exit_state_is() { status_query a "s['self']['exit_node']['state'] == '$1'"; }

# table_empty: nothing in a's table 41641, either family.
table_empty() {
	[[ -z $(ip -n "$(ns_of a)" route show table "$TABLE" 2>/dev/null) &&
		-z $(ip -n "$(ns_of a)" -6 route show table "$TABLE" 2>/dev/null) ]]
}

# policy_routing_in_place [LAN]: a's rules and table as an exit node's client needs them.
policy_routing_in_place() {
	local ns want_suppress=${1:-}
	ns=$(ns_of a)
	ip -n "$ns" rule show | grep -x "32761:	not from all fwmark $MARK lookup $TABLE" &&
		ip -n "$ns" -6 rule show | grep -x "32761:	not from all fwmark $MARK lookup $TABLE" &&
		ip -n "$ns" route show table "$TABLE" | grep -x "default dev $(if_of a) scope link " &&
		ip -n "$ns" -6 route show table "$TABLE" | grep "^default dev $(if_of a) " ||
		return 1
	if [[ -n $want_suppress ]]; then
		ip -n "$ns" rule show | grep -x "32760:	from all lookup main suppress_prefixlength 0" &&
			ip -n "$ns" -6 rule show | grep -x "32760:	from all lookup main suppress_prefixlength 0"
	else
		! ip -n "$ns" rule show | grep suppress_prefixlength
	fi
}

# routes_list_is EXPR: EXPR holds for rs, the rows of `routes list --json` for x.
ROUTES_PY='
import json, sys
rs = sorted((r for r in json.load(sys.stdin) if r["node"] == "x"), key=lambda r: r["prefix"])
r = eval("(" + sys.argv[1] + ")")
print(rs, "->", r)
sys.exit(0 if r else 1)'
routes_list_is() { coord_admin routes list --json | "$PYTHON" -c "$ROUTES_PY" "$1"; }

# ---- traffic ---------------------------------------------------------------------------------

# reaches HOST URL SECONDS: a's curl gets HOST's page within SECONDS; HOST's log from then on
# is in $WORKDIR/http-HOST.last.
reaches() {
	local host=$1 url=$2 limit=$3 mark
	mark=$(wc -l <"$WORKDIR/http-$host.log")
	wait_for "$limit" n "$(ns_of a)" curl -sSf --max-time 3 -o /dev/null "$url" || return 1
	tail -n +$((mark + 1)) "$WORKDIR/http-$host.log" >"$WORKDIR/http-$host.last"
}

# saw HOST ADDR: of the requests since `reaches`, the last came from ADDR.
saw() {
	local last
	last=$(grep '"GET / ' "$WORKDIR/http-$1.last" | tail -n 1)
	echo "$1's log: $last"
	[[ $last == "$2 "* ]]
}

# not_reached HOST URL: a's curl fails, and HOST's log shows no request meanwhile.
not_reached() {
	local before
	before=$(wc -l <"$WORKDIR/http-$1.log")
	! n "$(ns_of a)" curl -sS --max-time 3 -o /dev/null "$2" || return 1
	[[ $(wc -l <"$WORKDIR/http-$1.log") == "$before" ]]
}

bad_up() {
	n "$(ns_of a)" "$WM_BIN" up --coord "$URL" --state "$WORKDIR/state-bad" \
		--ifname "$(if_of z)" --timeout 10 --authkey "$AUTHKEY" "$@"
}

# marked_sockets: a's TCP connections to the coordination server and the relay, and its UDP
# socket, carry the mark (ss -e shows it).
marked_sockets() {
	local ns
	ns=$(ns_of a)
	n "$ns" ss -Htnuae 2>/dev/null >"$WORKDIR/ss.out" || return 1
	cat "$WORKDIR/ss.out"
	grep -E "^tcp +ESTAB .* $HUB:$COORD_PORT .*fwmark:$MARK" "$WORKDIR/ss.out" &&
		grep -E "^tcp +ESTAB .* $HUB:$RELAY_PORT .*fwmark:$MARK" "$WORKDIR/ss.out" &&
		grep -E "^udp .*:41641 .*fwmark:$MARK" "$WORKDIR/ss.out"
}

wiremesh_pid() {
	local pid
	for pid in $(ip netns pids "$(ns_of "$1")"); do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == wiremesh ]] && echo "$pid" && return 0
	done
	return 1
}

# ---- scenarios -------------------------------------------------------------------------------

bad_input() {
	check "input: --advertise-routes 0.0.0.0/0 exits 2, naming --advertise-exit-node" \
		fails_with_2_saying "use --advertise-exit-node" bad_up --advertise-routes 0.0.0.0/0
	check "input: --advertise-routes ::/0 exits 2 as well" \
		fails_with_2_saying "advertise-exit-node" bad_up --advertise-routes ::/0
	check "input: --exit-node with --advertise-exit-node exits 2" \
		fails_with_2_saying "either offers" bad_up --exit-node x --advertise-exit-node
	check "input: --exit-node-allow-lan-access without --exit-node exits 2" \
		fails_with_2_saying "goes with --exit-node" bad_up --exit-node-allow-lan-access
	check "input: nothing was left running (no interface, no daemon)" eval \
		"! ip -n $(ns_of a) link show $(if_of z) 2>/dev/null && ! wiremesh_pid a >/dev/null"
}

offer() {
	if ! check "offer: x comes up with --advertise-exit-node" comes_up x --advertise-exit-node
	then
		return 1
	fi
	check "offer: x's status: offers exit node (waiting for approval); source NAT on" eval \
		"wm x status | grep -F 'offers exit node (waiting for approval)' &&
		 wm x status | grep -F 'source NAT on'"
	check "offer: routes list: 0.0.0.0/0 and ::/0 advertised, not approved, exit node" \
		wait_for 10 routes_list_is "[(r['prefix'], r['advertised'], r['approved'],
		r['exit_node']) for r in rs] == [('0.0.0.0/0', True, False, True), ('::/0', True,
		False, True)]"
	check "offer: routes list (text) marks them (exit node)" eval \
		"coord_admin routes list | grep -F '0.0.0.0/0' | grep -F '(exit node)'"
	check "offer: x's nftables table masquerades what leaves by another interface" eval \
		"n $(ns_of x) nft list table inet wiremesh-$(if_of x) |
		 grep -F 'iifname \"$(if_of x)\" oifname != \"$(if_of x)\" meta nfproto ipv4 masquerade'"
}

waiting() {
	check "before: a cannot reach i (no route to the internet at all)" \
		not_reached i "$I_URL"
	snapshot before
	if ! check "waiting: a comes up with --exit-node x while x is unapproved" \
		comes_up a --exit-node x; then
		return 1
	fi
	check "waiting: a's status says waiting: not offered" wait_for 5 exit_state_is \
		"waiting: not offered"
	check "waiting: a's rules are exactly as before up (ip rule, ip -6 rule)" \
		same_as before rule4 rule6
	check "waiting: a's table $TABLE is empty" table_empty
	check "waiting: a does not reach i" not_reached i "$I_URL"
}

active() {
	local start
	check "active: wiremesh-coord routes approve x exit-node" \
		coord_admin routes approve x exit-node
	start=$(now_ms)
	check "active: within 10 s a's exit node is active" wait_for 10 exit_state_is active
	echo "# exit node active on a $(seconds_since "$start") s after the approval"
	check "active: a's rules (not fwmark $MARK lookup $TABLE, both families) and table" \
		policy_routing_in_place
	check "active: a reaches i ($I_URL) within 15 s" reaches i "$I_URL" 15
	check "active: i saw x's address $X_NET (through the exit node, source NAT)" saw i "$X_NET"
	check "active: a's status (text): exit node: x (active)" eval \
		"wm a status | grep -F 'exit node: x (active)'"
	check "active: a's status (text) marks x: offers exit node (in use)" eval \
		"wm a status | grep -F 'offers exit node (in use)'"
	check "active: x's status: offers exit node (approved)" eval \
		"wait_for 10 eval \"wm x status | grep -F 'offers exit node (approved)'\""
}

own_traffic() {
	local start
	check "own: a's coordination and relay TCP and its UDP socket carry fwmark $MARK" \
		marked_sockets
	check "own: a's relay stays connected" status_query a \
		"any(r.get('connected') for r in s['relays'])"
	if ! check "own: a new peer e comes up while a uses x" comes_up e; then
		return 1
	fi
	start=$(now_ms)
	check "own: within 10 s a lists e (a's coordination polls work)" \
		wait_for 10 status_query a "'e' in p"
	echo "# e in a's netmap $(seconds_since "$start") s after it came up"
	check "own: a pings e's mesh address" ping_within 15 "$(ns_of a)" "${MESH_IP[e]}"
	check "own: e pings a's mesh address" ping_within 15 "$(ns_of e)" "${MESH_IP[a]}"
	check "own: a still reaches i through x" reaches i "$I_URL" 10
	check "no LAN: without --exit-node-allow-lan-access a does not reach l ($LAN_HOST)" \
		not_reached l "$L_URL"
}

# policy_file DST: a may reach DST over TCP; e may ping x; x is approved as an exit node by
# autoApprovers.
policy_file() {
	cat <<EOF
{"autoApprovers": {"exitNode": ["x"]},
 "acls": [{"action": "accept", "src": ["a"], "proto": "tcp", "dst": ["$1"]},
          {"action": "accept", "src": ["e"], "proto": "icmp", "dst": ["x:*"]}]}
EOF
}

exit_approved() {
	routes_list_is "sorted(r['prefix'] for r in rs if r['node'] == 'x' and r['approved']) ==
		['0.0.0.0/0', '::/0']"
}

policy() {
	check "policy: before any policy, a pings x's mesh address" \
		ping_within 10 "$(ns_of a)" "${MESH_IP[x]}"
	policy_file "autogroup:internet:*" >"$WORKDIR/policy.json"
	check "policy: a policy letting a reach autogroup:internet over TCP only is set" \
		coord_admin policy set "$WORKDIR/policy.json"
	check "policy: within 10 s x drops a's ping of x itself (not the internet)" \
		wait_for 10 eval "! n $(ns_of a) ping -c 1 -W 1 ${MESH_IP[x]}"
	check "policy: a still reaches i through x, i seeing $X_NET" eval \
		"reaches i '$I_URL' 15 && saw i '$X_NET'"
	policy_file "x:22" >"$WORKDIR/policy.json"
	check "policy: the internet taken out of a's ACL (x:22 only)" \
		coord_admin policy set "$WORKDIR/policy.json"
	check "policy: then within 10 s a no longer reaches i (x's filter drops it)" \
		wait_for 10 not_reached i "$I_URL"
	check "policy: a still uses x as its exit node (its traffic is dropped, not rerouted)" \
		exit_state_is active
	check "policy: wiremesh-coord routes unapprove x exit-node" \
		coord_admin routes unapprove x exit-node
	check "policy: autoApprovers approve x's default routes again at its next poll (60 s)" \
		wait_for 60 exit_approved
	check "policy: wiremesh-coord policy clear" coord_admin policy clear
	check "policy: without a policy a reaches i again (within 20 s)" reaches i "$I_URL" 20
}

down_restores() {
	check "down: wiremesh down on a" wm a down
	check "down: ip rule, ip -6 rule, ip route / ip -6 route show table all as before up" \
		wait_for 5 same_as before rule4 rule6 route4 route6
}

lan_access() {
	if ! check "LAN: a up again with --exit-node x --exit-node-allow-lan-access" \
		comes_up a --exit-node x --exit-node-allow-lan-access; then
		return 1
	fi
	check "LAN: a active, with the suppress rule (lookup main suppress_prefixlength 0)" eval \
		"wait_for 10 exit_state_is active && policy_routing_in_place lan"
	check "LAN: a reaches l directly within 5 s" reaches l "$L_URL" 5
	check "LAN: l saw a's LAN address $A_LAN (not through the tunnel)" saw l "$A_LAN"
	check "LAN: a still reaches i through x, i seeing $X_NET" eval \
		"reaches i '$I_URL' 15 && saw i '$X_NET'"
}

goes_away() {
	local start pid
	check "unapprove: wiremesh-coord routes unapprove x exit-node" \
		coord_admin routes unapprove x exit-node
	start=$(now_ms)
	check "unapprove: within 10 s a waits again (not offered)" \
		wait_for 10 exit_state_is "waiting: not offered"
	echo "# a stopped using x $(seconds_since "$start") s after the unapproval"
	check "unapprove: a's rules are as before up, table $TABLE empty" eval \
		"wait_for 5 same_as before rule4 rule6 && table_empty"
	check "unapprove: a does not reach i" not_reached i "$I_URL"
	check "withdraw: approved again, a is active within 10 s" eval \
		"coord_admin routes approve x exit-node && wait_for 10 exit_state_is active &&
		 policy_routing_in_place lan"
	check "withdraw: x down, then up without --advertise-exit-node" eval \
		"wm x down && comes_up x"
	check "withdraw: within 10 s a waits again, rules as before up, table $TABLE empty" eval \
		"wait_for 10 exit_state_is 'waiting: not offered' && same_as before rule4 rule6 &&
		 table_empty"
	check "leaves: x up with --advertise-exit-node again; a is active within 10 s" eval \
		"wm x down && comes_up x --advertise-exit-node && wait_for 10 exit_state_is active &&
		 policy_routing_in_place lan"
	if pid=$(wiremesh_pid x) && check "offline: kill -9 of x's wiremesh (pid $pid)" eval \
		"kill -KILL $pid && wait_for 5 eval '! is_running $pid'"; then
		start=$(now_ms)
		check "offline: within 40 s a's status says x is offline, still active" \
			wait_for 40 status_query a \
			"(s['self']['exit_node']['peer_online'], s['self']['exit_node']['state']) == (False, 'active')"
		echo "# x offline on a $(seconds_since "$start") s after kill -9"
		check "offline: a's rules and table stay (its traffic waits, not out in the clear)" \
			policy_routing_in_place lan
		check "offline: a's text status says: it is offline: traffic waits for it" eval \
			"wm a status | grep -F 'exit node: x (active; it is offline: traffic waits for it'"
	else
		not_ok "offline: no wiremesh process in x's namespace to kill"
	fi
	check "leaves: wiremesh-coord nodes remove x" coord_admin nodes remove x
	check "leaves: within 10 s a says no such node, rules as before up, table $TABLE empty" \
		eval "wait_for 10 exit_state_is 'waiting: no such node' &&
		 same_as before rule4 rule6 && table_empty"
	check "down again: a down; rules and all routing tables byte for byte as before up" eval \
		"wm a down && wait_for 5 same_as before rule4 rule6 route4 route6"
}

# ---- main -------------------------------------------------------------------------------------

is_root "exit" || exit 0
has_tools "exit" ip nft curl ping ss sysctl python3 timeout awk cmp diff || exit 0
are_built "exit" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_hub >>"$WORKDIR/setup.log" 2>&1 ||
	! start_http i "$NET_HOST" >>"$WORKDIR/setup.log" 2>&1 ||
	! start_http l "$LAN_HOST" >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "exit: namespaces, coordination server, relay and the web servers of i and l"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
ok "exit: topology (underlay, internet, a's LAN), wiremesh-coord, wiremesh-relay, web servers up"

bad_input
if offer && waiting; then
	active
	own_traffic
	policy
	down_restores
	lan_access && goes_away
fi

echo "# exit: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
