#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The identity lifecycle end to end (docs/identity.md): key expiry and its warnings, tagged
# nodes that never expire, key rotation under traffic, --force-reauth, nodes expire/delete,
# ephemeral nodes, auth key revocation. Needs root.
#
#                         ns switch: bridge br0 (the underlay)
#      +----------------+--------------+--------------+--------------+
#   ns hub 192.0.2.100  ns a .1        ns b .2        ns t .3        ns e .5
#   wiremesh-coord      plain key      plain key      tag:server     ephemeral key, then
#   wiremesh-relay                    (tags server, web)             the revoked key
#
# The server's clock is moved with the test-only WIREMESH_COORD_TEST_TIME_OFFSET (never by
# sleeping): first 177 days back, so that the plain nodes join with 3 days left; then the
# server restarts 4 days ahead, past their expiry.
#
# Checks:
#   tagged     t (key with tags tag:server,tag:web) carries both and has no key expiry (nodes
#              list: 0); a and b have one; --tags refuses a bad list
#   warning    a's status warns that its key expires in 2 days and names rotate-key; t's does not
#   rotation   a rotate-key while a pings b 5 times a second: a's key changes (its status, the
#              key file, b's netmap, nodes list), the node keeps its id and address, pings go
#              on after it; the number lost is printed (target 0) and must stay under a bound
#   revoked    a node joining with a revoked auth key is refused, saying the key is revoked,
#              and gets no address
#   ephemeral  e (ephemeral key) is listed while up; after it stops and the server's clock has
#              moved past the 2 minutes of absence, it is gone from nodes list
#   expiry     with the server 4 days ahead, a's and b's keys have expired: t drops both, a's
#              status says the key expired, that it has no peers, and to run
#              `wiremesh up --force-reauth --authkey KEY`; t (tagged) stays
#   reauth     up --force-reauth --authkey on a (still running, refused): same id and address,
#              a new key, a fresh expiry; t reaches a again
#   tags       a policy letting a ping tag:web, then one for tag:server, lets a reach t (which
#              carries both); one naming neither does not
#   expire     nodes expire t: a drops it (the time it took is printed), no longer reaches
#              it; t's status says its key expired; t up --force-reauth gets "never" back
#   delete     nodes delete t: a drops it (time printed) and no longer reaches it
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs
#
# shellcheck disable=SC2016 # the checks' commands are eval'd by check, on purpose late

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmi-$RUN_ID-sw
NS_HUB=wmi-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
DAY=86400
BACK=$((-177 * DAY))	# joins with 3 days left of 180
AHEAD=$((4 * DAY))	# past those 3 days
NODES=(a b t e)
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2 [t]=192.0.2.3 [e]=192.0.2.5)
declare -A MESH_IP=()
COORD_PID='' RELAY_PID='' AUTHKEY='' TAGKEY='' EPHKEY=''

ns_of() { echo "wmi-$RUN_ID-$1"; }
if_of() { echo "wmi${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	echo "--- wiremesh-coord nodes list"
	coord_admin nodes list 2>&1 | head -n 8
	for node in a b t; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 12
		echo "--- $node: last lines of its log"
		tail -n 6 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- coordination server, last lines:"
	tail -n 6 "$WORKDIR/coord.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
}

# ---- topology and servers ----------------------------------------------------------------------

create_topology() {
	create_switch || return 1
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB"
}

# start_coord OFFSET: wiremesh-coord with its expiry clock moved by OFFSET seconds.
start_coord() {
	WIREMESH_COORD_TEST_TIME_OFFSET=$1 ip netns exec "$NS_HUB" "$COORD_BIN" serve \
		--db "$(db)" --plain --listen "$HUB:$COORD_PORT" -v >>"$WORKDIR/coord.log" 2>&1 &
	COORD_PID=$!
	STARTED_PIDS+=("$COORD_PID")
	wait_for 5 n "$NS_HUB" curl -sf "http://$HUB:$COORD_PORT/health"
}

start_servers() {
	start_coord "$BACK" || return 1
	ip netns exec "$NS_HUB" "$RELAY_BIN" --plain --listen "$HUB:$RELAY_PORT" \
		--stun "$HUB:3478" >"$WORKDIR/relay.log" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	wait_for 5 n "$NS_HUB" curl -sf "http://$HUB:$RELAY_PORT/generate_204" || return 1
	coord_admin relays set - <<-EOF || return 1
	{"regions": [{"id": 1, "code": "hub", "name": "Hub",
	  "relays": [{"url": "http://$HUB:$RELAY_PORT/derp", "stun": "$HUB:3478"}]}]}
	EOF
	AUTHKEY=$(coord_admin authkey create --reusable 2>/dev/null) &&
		TAGKEY=$(coord_admin authkey create --reusable --tags tag:server,tag:web 2>/dev/null) &&
		EPHKEY=$(coord_admin authkey create --reusable --ephemeral 2>/dev/null) &&
		[[ $AUTHKEY == wmauth-* && $TAGKEY == wmauth-* && $EPHKEY == wmauth-* ]]
}

# ---- reading state -------------------------------------------------------------------------------

# node_is NAME EXPR: EXPR holds for r, NAME's row of `nodes list --json` (None: not listed).
NODES_PY='
import json, sys
rows = {r["name"]: r for r in json.load(sys.stdin)}
r = rows.get(sys.argv[2])
ok = eval(sys.argv[1])
print(r, "->", ok)
sys.exit(0 if ok else 1)'
node_is() { coord_admin nodes list --json 2>/dev/null | "$PYTHON" -c "$NODES_PY" "$2" "$1"; }
node_field() {
	coord_admin nodes list --json 2>/dev/null | "$PYTHON" -c '
import json, sys
print({r["name"]: r for r in json.load(sys.stdin)}[sys.argv[1]][sys.argv[2]])' "$1" "$2"
}

own_key() { wm "$1" status --json 2>/dev/null | "$PYTHON" -c \
	'import json,sys; print(json.load(sys.stdin)["self"]["public_key"])'; }

# peer_key_is NODE PEER KEY: NODE's netmap has PEER with KEY.
peer_key_is() { status_query "$1" "p.get('$2', {}).get('public_key') == '$3'"; }
lacks_peer() { status_query "$1" "'$2' not in p"; }
has_peer() { status_query "$1" "'$2' in p"; }

# drops_within NODE PEER: waits (10 s at most) for NODE to drop PEER; DROP_MS says how long.
drops_within() {
	local start
	start=$(now_ms)
	wait_for 10 lacks_peer "$1" "$2" || return 1
	DROP_MS=$(($(now_ms) - start))
}

status_says() { wm "$1" status 2>&1 | grep -F -- "$2"; }

# ---- the checks ----------------------------------------------------------------------------------

tagged() {
	check "tagged: authkey create --tags refuses a repeated tag and a bad one (exit 2)" \
		eval 'coord_admin authkey create --tags tag:a,tag:a; [[ $? == 2 ]] &&
		      { coord_admin authkey create --tags "tag:a,b c"; [[ $? == 2 ]]; }'
	check "tagged: nodes list shows t's tags and its expiry as never" \
		eval 'coord_admin nodes list | grep -E "^[0-9]+ +t .* never .*tag:server,tag:web$"'
	check "tagged: t (tags tag:server,tag:web) has no key expiry; a and b have one" \
		eval 'node_is t "r[\"key_expiry\"] == 0 and r[\"tag\"] == \"tag:server,tag:web\"" &&
		      node_is a "r[\"key_expiry\"] > 0" && node_is b "r[\"key_expiry\"] > 0"'
}

warning() {
	# 3 days left at joining, less the seconds since: "2 days" (or "3" within the same second).
	check "warning: a's status warns its key expires in 2 days and names rotate-key" \
		eval 'wm a status | grep -E "warning: this node.s key expires in [23] days" &&
		      status_says a "wiremesh rotate-key"'
	check_not "warning: t (tagged) has no expiry warning" status_says t "key expires"
}

# rotation: a pings b five times a second while it rotates its key.
rotation() {
	local old new id addr out lost sent got max
	old=$(own_key a)
	id=$(node_field a id)
	addr=${MESH_IP[a]}
	ping_within 10 "$(ns_of a)" "${MESH_IP[b]}" >/dev/null
	out=$WORKDIR/rotation.ping
	n "$(ns_of a)" ping -n -i 0.2 -c 75 -W 1 "${MESH_IP[b]}" >"$out" 2>&1 &
	local pinger=$!
	STARTED_PIDS+=("$pinger")
	sleep 3
	check "rotation: wiremesh rotate-key says the new key" \
		eval 'wm a rotate-key | tee "$WORKDIR/rotate.out" | grep -q "^rotated: the node key is now "'
	new=$(own_key a)
	wait "$pinger"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$out")
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
	lost=$(( ${sent:-0} - ${got:-0} ))
	max=$(sed -n 's|^rtt [^=]*= [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$out")
	echo "# rotation: $lost of ${sent:-?} pings lost at 5 per second (target 0); longest" \
		"round trip ${max:-?} ms"
	[[ -n $id ]] || id=unknown
	check "rotation: a's key changed (status and key file), same id ($id) and address" \
		eval '[[ -n $new && $new != "$old" ]] &&
		      [[ $(cat "$(state_of a)/node.key" | wg pubkey) == "$new" ]] &&
		      node_is a "r[\"id\"] == $id and r[\"ipv4\"] == \"$addr\" and r[\"node_key\"] == \"$new\""'
	check "rotation: b's netmap has a's new key" wait_for 10 peer_key_is b a "$new"
	check "rotation: pings went on (at most 40 of ${sent:-?} lost; lost $lost) and a still reaches b" \
		eval '[[ -n $sent && $lost -le 40 ]] && ping_within 10 "$(ns_of a)" "${MESH_IP[b]}"'
}

revoked() {
	local key
	key=$(coord_admin authkey create 2>/dev/null)
	coord_admin authkey revoke "$key" >/dev/null 2>&1
	LOG_LEVEL=error n "$(ns_of e)" "$WM_BIN" up --coord "$URL" --hostname r \
		--state "$(state_of r)" --ifname "$(if_of r)" --timeout 10 --authkey "$key" \
		>"$WORKDIR/r.up" 2>&1
	local rc=$?
	note_ifname "$(if_of r)"
	check "revoked: joining with a revoked auth key fails and says it is revoked (exit $rc)" \
		eval '[[ $rc != 0 ]] && grep -i "revoked" "$WORKDIR/r.up" && node_is r "r is None"'
	n "$(ns_of e)" "$WM_BIN" down --state "$(state_of r)" >/dev/null 2>&1
}

ephemeral_up() {
	check "ephemeral: e joins with an ephemeral key and is listed as such" \
		eval 'AUTHKEY=$EPHKEY comes_up e && node_is e "r[\"ephemeral\"]"'
	wm e down >/dev/null 2>&1
}

# After the restart 4 days ahead.
expiry() {
	check "ephemeral: e, stopped, is gone once the server's clock passed its 2 minutes away" \
		wait_for 15 node_is e "r is None"
	check "expiry: t drops a and b (expired), and lists no peer" \
		wait_for 20 eval 'lacks_peer t a && lacks_peer t b'
	check "expiry: a's status says its key expired, it has no peers, and what to run" \
		wait_for 20 eval 'status_says a "error: this node'"'"'s key expired" &&
		      status_says a "so this node has no peers" &&
		      status_says a "wiremesh up --force-reauth --authkey KEY"'
	check "expiry: t (tagged) is still accepted" node_is t "r[\"expired\"] == False"
}

reauth() {
	local old new
	old=$(own_key a)
	echo "# reauth: a's key before: ${old:-?}"
	check "reauth: up --force-reauth --authkey on a (running, refused) brings it back" \
		comes_up a --force-reauth
	check "reauth: a has a new key, the same address, a fresh expiry" \
		wait_for 15 eval 'new=$(own_key a); [[ -n $new && $new != "$old" ]] &&
		      node_is a "r[\"node_key\"] == \"$new\" and r[\"ipv4\"] == \"${MESH_IP[a]}\" and not r[\"expired\"] and r[\"key_expiry\"] > 0"'
	check "reauth: t reaches a again" ping_within 15 "$(ns_of t)" "${MESH_IP[a]}"
}

# set_policy JSON: policy set from a file.
set_policy() {
	echo "$1" >"$WORKDIR/policy.json"
	coord_admin policy set "$WORKDIR/policy.json"
}

# Each of t's two tags opens it to a; an ACL naming neither does not.
tags_in_policy() {
	local tag
	for tag in tag:web tag:server; do
		check "tags: a policy letting a ping $tag reaches t (which carries both tags)" \
			eval 'set_policy "{\"acls\":[{\"action\":\"accept\",\"src\":[\"a\"],\"proto\":\"icmp\",\"dst\":[\"$tag:*\"]}]}" &&
			      ping_within 10 "$(ns_of a)" "${MESH_IP[t]}"'
	done
	check "tags: with a policy naming neither of t's tags, a no longer reaches t" \
		eval 'set_policy "{\"acls\":[{\"action\":\"accept\",\"src\":[\"a\"],\"proto\":\"icmp\",\"dst\":[\"b:*\"]}]}" &&
		      wait_for 10 eval "! pings \"$(ns_of a)\" \"${MESH_IP[t]}\"" &&
		      ! pings_for_a_while "$(ns_of a)" "${MESH_IP[t]}"'
	coord_admin policy clear >/dev/null
}

expire_and_delete() {
	check "expire: a reaches t first" ping_within 10 "$(ns_of a)" "${MESH_IP[t]}"
	coord_admin nodes expire t >/dev/null
	DROP_MS=''
	check "expire: nodes expire t: a drops it" drops_within a t
	echo "# expire: a dropped t ${DROP_MS:-?} ms after nodes expire"
	check_not "expire: a no longer reaches t" pings_for_a_while "$(ns_of a)" "${MESH_IP[t]}"
	check "expire: t's status says its key expired" \
		wait_for 20 status_says t "this node's key expired"
	check "expire: t up --force-reauth with its tagged key: back, never expiring" \
		eval 'AUTHKEY=$TAGKEY comes_up t --force-reauth &&
		      wait_for 10 node_is t "r[\"key_expiry\"] == 0 and not r[\"expired\"]" &&
		      ping_within 15 "$(ns_of a)" "${MESH_IP[t]}"'
	coord_admin nodes delete t >/dev/null
	DROP_MS=''
	check "delete: nodes delete t: a drops it, and t is no longer listed" \
		eval 'drops_within a t && node_is t "r is None"'
	echo "# delete: a dropped t ${DROP_MS:-?} ms after nodes delete"
	check_not "delete: a no longer reaches t" pings_for_a_while "$(ns_of a)" "${MESH_IP[t]}"
}

# ---- main -----------------------------------------------------------------------------------------

is_root "identity" || exit 0
has_tools "identity" ip wg curl ping python3 timeout awk || exit 0
are_built "identity" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_servers >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "identity: namespaces, bridge, coordination server (clock moved back), relay"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
ok "identity: topology, wiremesh-coord (clock $((BACK / DAY)) days), wiremesh-relay up"

if check "identity: a, b (plain key) and t (tag:server) come up" \
	eval 'comes_up a && comes_up b && AUTHKEY=$TAGKEY comes_up t &&
	      wait_for 15 eval "has_peer a b && has_peer b a && has_peer t a"'
then
	tagged
	warning
	rotation
	revoked
	ephemeral_up
	stop_pid "$COORD_PID"
	if check "identity: wiremesh-coord restarted with its clock $((AHEAD / DAY)) days ahead" \
		start_coord "$AHEAD"
	then
		expiry
		reauth && tags_in_policy && expire_and_delete
	fi
fi

echo "# identity: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
