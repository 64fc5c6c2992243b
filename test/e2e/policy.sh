#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Access policy end to end: three mesh nodes — web, db, laptop — in their own namespaces on one
# bridge with the coordination server and a relay, real TCP servers listening on each, and a
# policy on the server. Needs root.
#
#   ns hub 192.0.2.100: wiremesh-coord, wiremesh-relay
#   ns web .1: listens on 80, 22      ns db .2: listens on 5432, 22      ns laptop .3: on 22
#
# Policy 1 (docs/policy.md's example): laptop may reach web:80, web may reach db:5432; nothing
# else. Checks the whole matrix (every node to every port of every other node: allowed ones
# connect, denied ones fail, and fail fast when the node answers with a reset), replies to
# outbound connections (web -> db works although db may not open anything on web), what
# `wiremesh status` says each node may reach, per-peer drop counters, `policy explain`. Then
# policy 2 is set while everything runs (laptop may also reach db:5432, web no longer db) and
# the new matrix holds within seconds; a policy whose tests fail is refused and the old one
# stays in force.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmp-$RUN_ID-sw
NS_HUB=wmp-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
NODES=(web db laptop)
declare -A ADDR=([web]=192.0.2.1 [db]=192.0.2.2 [laptop]=192.0.2.3)
declare -A PORTS=([web]="80 22" [db]="5432 22" [laptop]="22")
declare -A MESH_IP=()
AUTHKEY=''
LISTENERS=()

ns_of() { echo "wmp-$RUN_ID-$1"; }
if_of() { echo "wmp${RUN_ID}${1:0:1}"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	for node in "${NODES[@]}"; do
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 12
		tail -n 5 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- policy in force:"
	coord_admin policy get 2>&1 | head -n 20
}

# ---- topology -------------------------------------------------------------------------------

create_topology() {
	local node
	create_namespace "$NS_SW" && ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up && attach "$NS_HUB" "$HUB" || return 1
	for node in "${NODES[@]}"; do
		attach "$(ns_of "$node")" "${ADDR[$node]}" || return 1
	done
}

up() {
	local node=$1
	note_ifname "$(if_of "$node")"
	LOG_LEVEL=verbose n "$(ns_of "$node")" "$WM_BIN" up --coord "$URL" --authkey "$AUTHKEY" \
		--hostname "$node" --state "$(state_of "$node")" --ifname "$(if_of "$node")" \
		--timeout 10 >"$WORKDIR/$node.up" 2>>"$WORKDIR/$node.log" || return 1
	MESH_IP[$node]=$(wm "$node" ip -4) && [[ ${MESH_IP[$node]} == 100.* ]]
}

# A TCP server on every port of every node: it answers "NODE-PORT" and closes.
start_listeners() {
	local node port
	for node in "${NODES[@]}"; do
		for port in ${PORTS[$node]}; do
			ip netns exec "$(ns_of "$node")" socat -T 5 "TCP-LISTEN:$port,reuseaddr,fork" \
				"SYSTEM:echo $node-$port" >/dev/null 2>&1 &
			LISTENERS+=($!)
			STARTED_PIDS+=($!)
		done
	done
	for node in "${NODES[@]}"; do
		for port in ${PORTS[$node]}; do
			wait_for 5 tcp_listens "$(ns_of "$node")" "$port" || return 1
		done
	done
}

# ---- connections ------------------------------------------------------------------------------

# connects FROM TO PORT: a TCP connection from FROM to TO's mesh address gets TO's banner.
# CONNECT_MS is how long the attempt took (success or failure).
connects() {
	local from=$1 to=$2 port=$3 start out
	start=$(now_ms)
	out=$(n "$(ns_of "$from")" timeout 4 socat -T 3 - "TCP:${MESH_IP[$to]}:$port,connect-timeout=3" \
		</dev/null 2>&1)
	local rc=$?
	CONNECT_MS=$(($(now_ms) - start))
	echo "$from -> $to:$port rc=$rc out=[$out]" >>"$WORKDIR/connects.log"
	[[ $rc == 0 && $out == "$to-$port" ]]
}

# matrix EXPECTED...: EXPECTED lists "from>to:port" that must connect; every other combination
# must not. Prints the result per pair; fails on any mismatch. Records how long denials took.
matrix() {
	local allowed=" $* " from to port want got bad=0 slow=0
	for from in "${NODES[@]}"; do
		for to in "${NODES[@]}"; do
			[[ $from == "$to" ]] && continue
			for port in ${PORTS[$to]}; do
				want=deny
				[[ $allowed == *" $from>$to:$port "* ]] && want=accept
				if connects "$from" "$to" "$port"; then got=accept; else got=deny; fi
				echo "$from -> $to:$port: $got in ${CONNECT_MS} ms (want $want)"
				[[ $got != "$want" ]] && bad=$((bad + 1))
				[[ $got == deny && $CONNECT_MS -gt 2500 ]] && slow=$((slow + 1))
			done
		done
	done
	DENIED_SLOW=$slow
	((bad == 0))
}

# matrix_within SECONDS EXPECTED...: the matrix holds within SECONDS (policy changes propagate).
matrix_within() {
	local seconds=$1
	shift
	wait_for "$seconds" matrix "$@"
}

# refused_saying PATTERN FILE: `policy set FILE` fails with exit status 1 and a message matching
# PATTERN (grep -E), so that a refusal for another reason (or a crash) does not pass.
refused_saying() {
	local out rc
	out=$(coord_admin policy set "$2" 2>&1)
	rc=$?
	echo "exit status $rc: $out"
	[[ $rc == 1 ]] && grep -Eq -- "$1" <<<"$out"
}

# here_once NODE PEER RULE: NODE's status lists RULE (as the text shows it, "tcp/80") as the one
# thing PEER may reach here, once: in --json (one entry) and in the text.
here_once() {
	local node=$1 peer=$2 rule=$3 out
	status_query "$node" "len(p['$peer']['policy']['may_reach_here']) == 1" || return 1
	out=$(wm "$node" status) || return 1
	echo "$out"
	grep -Eq "may reach here: $rule(;|\$)" <<<"$out"
}

# ---- policies -----------------------------------------------------------------------------------

write_policy1() {
	cat >"$WORKDIR/policy1.json" <<-'EOF'
	{
	  "tags": {"tag:web": ["web"]},
	  "acls": [
	    {"action": "accept", "src": ["laptop"], "proto": "tcp", "dst": ["tag:web:80"]},
	    {"action": "accept", "src": ["tag:web"], "proto": "tcp", "dst": ["db:5432"]}
	  ],
	  "tests": [
	    {"src": "laptop", "accept": ["web:80"], "deny": ["web:22", "db:5432", "db:22"]},
	    {"src": "web", "accept": ["db:5432"], "deny": ["db:22", "laptop:22"]}
	  ]
	}
	EOF
	cat >"$WORKDIR/policy2.json" <<-'EOF'
	{
	  "acls": [
	    {"action": "accept", "src": ["laptop"], "proto": "tcp", "dst": ["web:80", "db:5432"]}
	  ],
	  "tests": [
	    {"src": "laptop", "accept": ["web:80", "db:5432"], "deny": ["web:22"]},
	    {"src": "web", "deny": ["db:5432"]}
	  ]
	}
	EOF
	cat >"$WORKDIR/failing.json" <<-'EOF'
	{
	  "acls": [{"action": "accept", "src": ["*"], "proto": "*", "dst": ["*:*"]}],
	  "tests": [{"src": "laptop", "deny": ["db:22"]}]
	}
	EOF
	printf '{"acls": [{"action": "accept", "src": ["laptop"], "proto": "tcp", "dst": ["nosuchnode:80"]}]}' \
		>"$WORKDIR/unknown-alias.json"
	printf '{"acls": [' >"$WORKDIR/malformed.json"
}

POLICY1=("laptop>web:80" "web>db:5432")
POLICY2=("laptop>web:80" "laptop>db:5432")
ALL=()
for_all() {
	local from to port
	for from in "${NODES[@]}"; do
		for to in "${NODES[@]}"; do
			[[ $from == "$to" ]] && continue
			for port in ${PORTS[$to]}; do
				ALL+=("$from>$to:$port")
			done
		done
	done
}

scenarios() {
	local start
	check "no policy: every node reaches every port of every other" matrix_within 10 "${ALL[@]}"

	check "policy check: the example policy passes its tests" \
		coord_admin policy check "$WORKDIR/policy1.json"
	check "policy set: the example policy is applied" \
		coord_admin policy set "$WORKDIR/policy1.json"
	start=$(now_ms)
	check "policy 1: laptop reaches web:80 only, web reaches db:5432 only, nothing else" \
		matrix_within 10 "${POLICY1[@]}"
	echo "# policy 1 in force everywhere $(seconds_since "$start") s after policy set"
	if ((DENIED_SLOW == 0)); then
		ok "policy 1: every denied connection failed within 2.5 s (reset or unreachable)"
	else
		not_ok "policy 1: $DENIED_SLOW denied connections hung instead of failing fast"
	fi
	check "policy 1: web's status says laptop may reach tcp/80 here" status_query web \
		"'80' in json.dumps(p['laptop']['policy']['may_reach_here'])"
	check "policy 1: laptop's status says it may reach web on tcp/80" status_query laptop \
		"'80' in json.dumps(p['web']['policy']['may_reach_there'])"
	check "policy 1: web's status lists laptop's one rule once (--json and text)" \
		here_once web laptop tcp/80
	check "policy 1: db's status lists web's one rule once (--json and text)" \
		here_once db web tcp/5432
	check "policy 1: laptop, which no rule lets talk to db either way, does not list db" \
		status_query laptop "'db' not in p"
	check "policy 1: db counted the drops of web's and laptop's attempts, with a reason" \
		status_query db "sum(p['web']['policy']['drops'].values()) > 0"
	check "policy 1: status --json carries the rules" status_query db \
		"len(s['policy']['rules']) >= 1"
	check "explain: laptop -> web:80 is allowed by acls[0]" eval \
		"coord_admin policy explain laptop web:80 | tee /dev/stderr | grep -qi 'allow.*acls\\[0\\]'"
	check "explain: laptop -> db:5432 is denied" eval \
		"coord_admin policy explain laptop db:5432 | tee /dev/stderr | grep -qi 'den'"

	check "policy set: a policy whose tests fail is refused, naming the test" \
		refused_saying 'tests\[0\]\.deny\[0\]: expected' "$WORKDIR/failing.json"
	check "policy set: an unknown alias is refused, naming it" \
		refused_saying 'acls\[0\]\.dst\[0\]: unknown alias "nosuchnode"' "$WORKDIR/unknown-alias.json"
	check "policy set: malformed JSON is refused, naming the place" \
		refused_saying 'line 1, column' "$WORKDIR/malformed.json"
	check "policy 1 stays in force after the refused ones" matrix "${POLICY1[@]}"

	check "policy set: policy 2 replaces it while everything runs" \
		coord_admin policy set "$WORKDIR/policy2.json"
	start=$(now_ms)
	check "policy 2: laptop reaches web:80 and db:5432, web no longer db, within 10 s" \
		matrix_within 10 "${POLICY2[@]}"
	echo "# policy 2 in force everywhere $(seconds_since "$start") s after policy set"
}

# ---- main -------------------------------------------------------------------------------------

is_root "policy" || exit 0
has_tools "policy" ip curl socat python3 timeout awk || exit 0
are_built "policy" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)
for_all
write_policy1

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_hub >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "policy: namespaces, coordination server and relay"
	indent <"$WORKDIR/setup.log"
	exit 1
fi
for node in "${NODES[@]}"; do
	if ! up "$node" >>"$WORKDIR/setup.log" 2>&1; then
		not_ok "policy: $node joins the mesh"
		indent <"$WORKDIR/setup.log"
		exit 1
	fi
done
if ! start_listeners >>"$WORKDIR/setup.log" 2>&1; then
	not_ok "policy: TCP servers on every node"
	exit 1
fi
ok "policy: web, db and laptop are up (${MESH_IP[web]}, ${MESH_IP[db]}, ${MESH_IP[laptop]}), TCP servers listen"

scenarios
for node in "${NODES[@]}"; do
	wm "$node" down >/dev/null 2>&1
done
echo "# policy: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
