#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Mesh mode end to end: a coordination server, a relay and wiremesh nodes joined with
# `wiremesh up`, each in its own namespace on one bridged underlay. Needs root.
#
#                               ns switch: bridge br0
#      +----------------+--------------+--------------+--------------+--------------+
#   ns hub 192.0.2.100  ns a .1        ns b .2        ns c .3        ns d .4        ns e .5
#   wiremesh-coord      wiremesh up    wiremesh up    wiremesh up    (joins later)  (bad keys)
#   wiremesh-relay
#
# Checks: three nodes join with one reusable auth key and get distinct 100.x addresses; every
# node pings every other by 100.x (and one pair over IPv6); `wiremesh status` on each lists
# the other two with the right addresses and a direct path; `wg show` sees the same peers; a
# fourth node joins later and is reached within seconds, without restarting anything;
# `wiremesh-coord nodes remove` makes the others drop it within seconds and its traffic stops;
# kill -9 of the coordination server leaves traffic flowing, and after a restart the nodes
# reconnect with the same ids and addresses; a restarted node keeps its key and address;
# wrong, revoked, expired and reused auth keys are refused with a clear message while the
# server keeps serving the others; the control socket refuses other users; `down` removes the
# interface. Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"


NS_SW=wmm-$RUN_ID-sw
NS_HUB=wmm-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
NODES=(a b c d e)
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2 [c]=192.0.2.3 [d]=192.0.2.4 [e]=192.0.2.5)
declare -A MESH_IP=() MESH_IP6=() NODE_ID=()
COORD_PID='' RELAY_PID='' AUTHKEY=''

ns_of() { echo "wmm-$RUN_ID-$1"; }
if_of() { echo "wmm${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	for node in a b c d; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 12
		echo "--- $node: last lines of its log"
		tail -n 8 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- coordination server (pid $COORD_PID), last lines:"
	tail -n 8 "$WORKDIR/coord.log" 2>/dev/null
}

# ---- topology and servers -----------------------------------------------------------------

create_topology() {
	create_switch || return 1
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB"
}

start_coord() {
	echo "=== $(date +%T) start" >>"$WORKDIR/coord.log"
	ip netns exec "$NS_HUB" "$COORD_BIN" serve --db "$(db)" --plain \
		--listen "$HUB:$COORD_PORT" -v >>"$WORKDIR/coord.log" 2>&1 &
	COORD_PID=$!
	STARTED_PIDS+=("$COORD_PID")
	wait_for 5 n "$NS_HUB" curl -sf "$URL/health"
}

start_relay() {
	ip netns exec "$NS_HUB" "$RELAY_BIN" --plain --listen "$HUB:$RELAY_PORT" \
		--stun "$HUB:3478" >"$WORKDIR/relay.log" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	wait_for 5 n "$NS_HUB" curl -sf "http://$HUB:$RELAY_PORT/generate_204"
}

set_up_servers() {
	start_coord && start_relay || return 1
	coord_admin relays set - <<-EOF || return 1
	{"regions": [{"id": 1, "code": "hub", "name": "Hub",
	  "relays": [{"url": "http://$HUB:$RELAY_PORT/derp", "stun": "$HUB:3478"}]}]}
	EOF
	AUTHKEY=$(coord_admin authkey create --reusable) && [[ $AUTHKEY == wmauth-* ]]
}

# up NODE ARGS...: `wiremesh up` for NODE (its output in $WORKDIR/NODE.up), logging verbosely.
up() {
	local node=$1
	shift
	note_ifname "$(if_of "$node")"
	LOG_LEVEL=verbose n "$(ns_of "$node")" "$WM_BIN" up --coord "$URL" --hostname "$node" \
		--state "$(state_of "$node")" --ifname "$(if_of "$node")" --timeout 10 "$@" \
		>"$WORKDIR/$node.up" 2>>"$WORKDIR/$node.log"
	local rc=$?
	cat "$WORKDIR/$node.up"
	return $rc
}

# ---- reading status -------------------------------------------------------------------------

remember_addresses() {
	local node=$1 out
	out=$(wm "$node" ip) || return 1
	MESH_IP[$node]=$(sed -n 1p <<<"$out")
	MESH_IP6[$node]=$(sed -n 2p <<<"$out")
	NODE_ID[$node]=$(status_query "$node" 's["self"]["id"]') || return 1
	echo "$node: ${MESH_IP[$node]} ${MESH_IP6[$node]} id ${NODE_ID[$node]}"
	[[ ${MESH_IP[$node]} == 100.* && ${MESH_IP6[$node]} == fd77:6d65:7368:* ]]
}

# lists_peers NODE PEER...: status lists exactly these peers, with the addresses they have.
lists_peers() {
	local node=$1 peer expr="sorted(p) == sorted([" sep=''
	shift
	for peer in "$@"; do
		expr+="$sep'$peer'"
		sep=,
	done
	expr+="])"
	for peer in "$@"; do
		expr+=" and p['$peer']['ipv4'] == '${MESH_IP[$peer]}'"
		expr+=" and p['$peer']['ipv6'] == '${MESH_IP6[$peer]}'"
	done
	status_query "$node" "$expr"
}

path_is() { status_query "$1" "p['$2']['path'] == '$3'"; }

human_status_lists() {
	local node=$1 out peer
	shift
	out=$(wm "$node" status) || return 1
	echo "$out"
	for peer in "$@"; do
		grep -Eq "^$peer +${MESH_IP[$peer]//./\\.} +direct " <<<"$out" || return 1
	done
}

reaches() { pings "$(ns_of "$1")" "${MESH_IP[$2]}"; }

all_pairs_ping() {
	local from to
	for from in "$@"; do
		for to in "$@"; do
			[[ $from == "$to" ]] && continue
			ping_within 10 "$(ns_of "$from")" "${MESH_IP[$to]}" >/dev/null ||
				{ echo "$from cannot reach $to (${MESH_IP[$to]})"; return 1; }
		done
	done
}

coord_state_is() { status_query "$1" "s['coordination']['state'] == '$2'"; }

# fails_saying PATTERN CMD...: CMD fails, and its output matches PATTERN (grep -E), so that a
# failure for another reason does not pass.
fails_saying() {
	local pattern=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	echo "exit status $rc: $out"
	[[ $rc != 0 ]] && grep -Eq -- "$pattern" <<<"$out"
}

# ---- scenarios ------------------------------------------------------------------------------

three_join() {
	local node
	for node in a b c; do
		check "join: $node comes up with the reusable auth key" \
			eval "up $node --authkey '$AUTHKEY' | grep -q 'is up'"
		check "join: $node has a 100.x and an fd77:6d65:7368:: address" remember_addresses "$node"
	done
	check "join: the three addresses differ" test "$(printf '%s\n' "${MESH_IP[a]}" \
		"${MESH_IP[b]}" "${MESH_IP[c]}" | sort -u | wc -l)" = 3
	check "join: the state directory is 0700 and node.key 0600" eval \
		"[[ \$(stat -c %a '$(state_of a)') == 700 && \$(stat -c %a '$(state_of a)/node.key') == 600 ]]"
	check "join: the interface carries the node's /32 and a route to each peer" eval \
		"ip -n $(ns_of a) -br addr show $(if_of a) | grep -q '${MESH_IP[a]}/32' &&
		 ip -n $(ns_of a) route show dev $(if_of a) | grep -q '^${MESH_IP[b]} '"
	local start
	start=$(now_ms)
	check "mesh: every node pings every other by its 100.x address" all_pairs_ping a b c
	echo "# all six directions answered within $(seconds_since "$start") s"
	check "mesh: a pings c over IPv6 (${MESH_IP6[c]})" ping_within 5 "$(ns_of a)" "${MESH_IP6[c]}"
	for node in a b c; do
		local others=()
		[[ $node != a ]] && others+=(a)
		[[ $node != b ]] && others+=(b)
		[[ $node != c ]] && others+=(c)
		check "status: $node lists ${others[*]} with their addresses (--json)" \
			lists_peers "$node" "${others[@]}"
		# Traffic starts on the relay until a disco pong proves the direct path (and one
		# side's packets through the relay may roam the other there for a tick): seconds.
		check "status: $node shows a direct path to ${others[*]} within 5 s (text)" \
			wait_for 5 human_status_lists "$node" "${others[@]}"
	done
	check "status: wg show on a's interface sees the two peers (UAPI still served)" eval \
		"[[ \$(n $(ns_of a) wg show $(if_of a) peers | wc -l) == 2 ]]"
	check "ip: wiremesh ip b (asked on a) names b's addresses" eval \
		"[[ \$(wm a ip b | head -n 1) == '${MESH_IP[b]}' ]]"
	check "ip: an unknown node name is an error, saying so" \
		fails_saying "no node named 'nosuchnode'" wm a ip nosuchnode
}

fourth_joins() {
	local start node
	start=$(now_ms)
	check "join later: d comes up" eval "up d --authkey '$AUTHKEY' | grep -q 'is up'"
	check "join later: d has addresses" remember_addresses d
	for node in a b c; do
		check "join later: $node reaches d within 10 s, nothing restarted" \
			ping_within 10 "$(ns_of "$node")" "${MESH_IP[d]}"
	done
	echo "# d joined and was reached from a, b and c in $(seconds_since "$start") s"
	check "join later: a lists b, c and d" lists_peers a b c d
}

node_removed() {
	local start
	check "remove: wiremesh-coord nodes remove d" coord_admin nodes remove "${NODE_ID[d]}"
	start=$(now_ms)
	check "remove: a, b and c drop d within 5 s" eval \
		"wait_for 5 lists_peers a b c && wait_for 5 lists_peers b a c && wait_for 5 lists_peers c a b"
	echo "# d dropped everywhere in $(seconds_since "$start") s"
	check_not "remove: a no longer reaches d" pings_for_a_while "$(ns_of a)" "${MESH_IP[d]}"
	check_not "remove: d no longer reaches a" pings_for_a_while "$(ns_of d)" "${MESH_IP[a]}"
	check "remove: d's status says the server refused it" wait_for 5 coord_state_is d rejected
	check "remove: d's route to a is gone" eval \
		"! ip -n $(ns_of d) route show dev $(if_of d) | grep -q '${MESH_IP[a]}'"
	wm d down >/dev/null 2>&1
}

coord_killed() {
	check "coord down: kill -9 the coordination server" eval \
		"kill -KILL $COORD_PID && wait $COORD_PID 2>/dev/null; ! is_running $COORD_PID"
	check "coord down: a and b notice (status: away)" eval \
		"wait_for 10 coord_state_is a away && wait_for 10 coord_state_is b away"
	check "coord down: traffic between a, b and c goes on" all_pairs_ping a b c
	check "coord down: b restarted meanwhile comes up from its saved netmap" eval \
		"wm b down && up b | grep -q 'saved netmap'"
	check "coord down: b restarted keeps its address and reaches a and c" eval \
		"remember_addresses b && [[ \${MESH_IP[b]} == ${MESH_IP[b]} ]] && all_pairs_ping a b c"
	local start
	check "coord back: the server restarts on the same database" start_coord
	start=$(now_ms)
	check "coord back: every node reconnects within 40 s" eval \
		"wait_for 40 coord_state_is a connected && wait_for 40 coord_state_is b connected &&
		 wait_for 40 coord_state_is c connected"
	echo "# reconnected in $(seconds_since "$start") s"
	local node ids_before="${NODE_ID[a]} ${NODE_ID[b]} ${NODE_ID[c]}"
	local ips_before="${MESH_IP[a]} ${MESH_IP[b]} ${MESH_IP[c]}"
	for node in a b c; do
		remember_addresses "$node" >/dev/null
	done
	check "coord back: same ids and addresses as before" eval \
		"[[ '${ids_before}' == \"\${NODE_ID[a]} \${NODE_ID[b]} \${NODE_ID[c]}\" &&
		    '${ips_before}' == \"\${MESH_IP[a]} \${MESH_IP[b]} \${MESH_IP[c]}\" ]]"
	check "coord back: a still lists b and c" lists_peers a b c
	check "coord back: traffic still flows" all_pairs_ping a b c
}

# refused WHAT PATTERN ARGS...: `up` on e fails, naming the problem; nothing is left running.
refused() {
	local what=$1 pattern=$2 out rc
	shift 2
	rm -rf "$(state_of e)"
	out=$(up e "$@" 2>&1)
	rc=$?
	out+=$'\n'$(cat "$WORKDIR/e.log")
	echo "$out" | tail -n 3
	if [[ $rc == 0 ]]; then
		echo "up succeeded"
		return 1
	fi
	if ls "$(state_of e)/wiremesh.sock" >/dev/null 2>&1 || ip -n "$(ns_of e)" link show "$(if_of e)" >/dev/null 2>&1
	then
		echo "e left a running node behind"
		return 1
	fi
	grep -qi -- "$pattern" <<<"$out"
}

bad_keys() {
	local single expiring
	: >"$WORKDIR/e.log"
	check "bad key: a made-up auth key is refused, saying so" \
		refused "wrong" "auth key" --authkey wmauth-00000000000000000000000000000000
	single=$(coord_admin authkey create) || single=''
	check "bad key: a single-use key works once (e joins)" eval \
		"rm -rf $(state_of e); up e --authkey '$single' | grep -q 'is up'"
	wm e down >/dev/null 2>&1
	: >"$WORKDIR/e.log"
	check "bad key: the single-use key is refused the second time" \
		refused "reused" "auth key" --authkey "$single"
	coord_admin authkey revoke "$single" >/dev/null 2>&1
	local revoked
	revoked=$(coord_admin authkey create --reusable) && coord_admin authkey revoke "$revoked" >/dev/null
	: >"$WORKDIR/e.log"
	check "bad key: a revoked key is refused" refused "revoked" "auth key" --authkey "$revoked"
	expiring=$(coord_admin authkey create --reusable --expiry 1s)
	sleep 1.5
	: >"$WORKDIR/e.log"
	check "bad key: an expired key is refused" refused "expired" "auth key" --authkey "$expiring"
	check "bad key: no --authkey for an unknown node is refused" refused "none" "auth key"
	check "bad key: the server still serves a, b and c" eval \
		"coord_state_is a connected && coord_state_is b connected && all_pairs_ping a b c"
	check "cli: up without --coord is a usage error, saying so" \
		fails_saying "--coord URL is needed" n "$(ns_of e)" "$WM_BIN" up
	check "cli: up with a non-http URL is a usage error, saying so" \
		fails_saying "takes an http:// or https:// URL" \
		n "$(ns_of e)" "$WM_BIN" up --coord ftp://x --state "$(state_of e)"
}

second_up_refused() {
	local out rc
	out=$(n "$(ns_of a)" "$WM_BIN" up --coord "$URL" --state "$(state_of a)" \
		--ifname "x$RUN_ID" 2>&1)
	rc=$?
	echo "$out (exit status $rc)"
	[[ $rc != 0 && $out == *"already up"* ]]
}

control_socket() {
	check "control: another user may not use the control socket, and is told so" \
		fails_saying "not allowed to use" n "$(ns_of a)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$WM_BIN" status --state "$(state_of a)"
	check "control: a second up with the same state directory is refused" second_up_refused
	check "down: wiremesh down on c removes its interface" eval \
		"wm c down && ! ip -n $(ns_of c) link show $(if_of c) 2>/dev/null"
	check "down: status of a stopped node is an error, saying so" \
		fails_saying "no wiremesh node is running" wm c status
}

# ---- main -------------------------------------------------------------------------------------

is_root "mesh" || exit 0
has_tools "mesh" ip wg curl ping python3 setpriv timeout awk || exit 0
are_built "mesh" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! set_up_servers >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "mesh: namespaces, bridge, coordination server and relay"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
ok "mesh: topology, wiremesh-coord and wiremesh-relay are up; auth key created"

three_join
fourth_joins
node_removed
coord_killed
bad_keys
control_socket

echo "# mesh: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
