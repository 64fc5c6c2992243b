#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# MTU black hole: the underlay between two mesh nodes carries UDP only up to 1280 bytes and
# drops larger datagrams silently (no ICMP), as some tunnels, mobile networks and IPv6 paths
# do. Needs root.
#
#                         ns switch: bridge br0 (nftables drops UDP over 1280 bytes)
#         +----------------------+----------------------+
#   ns hub 192.0.2.100      ns a 192.0.2.1         ns b 192.0.2.2
#   wiremesh-coord          wiremesh up            wiremesh up
#   wiremesh-relay          curl, http.server      curl, http.server
#
# The bridge drops (and counts) every UDP packet, IPv4 or IPv6, longer than 1280 bytes; TCP
# (to the coordination server and the relay) is never touched, so the nodes join and the relay
# works as usual. The nodes' eth0 segment their UDP (gso_max_segs 1) before it reaches the
# bridge, so the bridge judges each datagram as a wire would, not a UDP GSO super-packet.
#
# Checks:
#   control  with --mtu 1420 (WireGuard's usual value) over the direct path, b's server sends
#            10 MB over HTTP but a has not got them when curl gives up after 20 s, and the
#            bridge's drop counter grew: the black hole is real
#   default  without --mtu: status (--json and text) shows MTU 1200, the interface has 1280
#            (the IPv6 minimum); 10 MB over HTTP b->a and a->b arrive intact within 60 s over
#            the direct path (the relay carried under 1 MB, the bridge dropped nothing) and
#            both nodes count clamped TCP handshakes; `ping -M do -s 1250` is refused with
#            "fragmentation needed, mtu 1200" (and a counts the answer) while 1172 bytes (a
#            1200-byte packet) are answered; 10 MB over the IPv6 mesh addresses arrive intact
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmu-$RUN_ID-sw
NS_HUB=wmu-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
HTTP_PORT=8000
UNDERLAY_LIMIT=1280
FILE_MB=10
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2)
declare -A MESH_IP=() MESH_IP6=()
COORD_PID='' RELAY_PID='' AUTHKEY='' FILE_SUM=''
HTTP_PIDS=()

ns_of() { echo "wmu-$RUN_ID-$1"; }
if_of() { echo "wmu${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	for node in a b; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 8
		echo "--- $node: last lines of its log"
		tail -n 8 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- bridge: UDP over $UNDERLAY_LIMIT bytes dropped: $(dropped) packets"
}

# ---- topology and servers (as in mesh.sh) ----------------------------------------------------

create_topology() {
	local node
	create_namespace "$NS_SW" &&
		ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up &&
		attach "$NS_HUB" "$HUB" || return 1
	for node in a b; do
		attach "$(ns_of "$node")" "${ADDR[$node]}" &&
			ip -n "$(ns_of "$node")" link set eth0 gso_max_segs 1 || return 1
	done
	# Lengths are the IP header's: IPv4 total length, IPv6 payload length (40 bytes less).
	n "$NS_SW" nft -f - <<-EOF || return 1
	table bridge wmu {
		counter big_udp {
		}
		chain forward {
			type filter hook forward priority 0; policy accept;
			meta l4proto udp ip length > $UNDERLAY_LIMIT counter name big_udp drop
			meta l4proto udp ip6 length > $((UNDERLAY_LIMIT - 40)) counter name big_udp drop
		}
	}
	EOF
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB"
}

# up NODE ARGS...: `wiremesh up` for NODE, logging verbosely to $WORKDIR/NODE.log.
up() {
	local node=$1
	shift
	note_ifname "$(if_of "$node")"
	LOG_LEVEL=verbose n "$(ns_of "$node")" "$WM_BIN" up --coord "$URL" --hostname "$node" \
		--state "$(state_of "$node")" --ifname "$(if_of "$node")" --timeout 10 \
		--authkey "$AUTHKEY" "$@" 2>>"$WORKDIR/$node.log"
}

# both_up ARGS...: a and b up with ARGS, their addresses known, each with a direct path to
# the other (traffic starts on the relay, which has no MTU problem, until a disco pong proves
# the direct path).
both_up() {
	local node out
	for node in a b; do
		up "$node" "$@" | grep -q 'is up' || { echo "$node did not come up"; return 1; }
		out=$(wm "$node" ip) || return 1
		MESH_IP[$node]=$(sed -n 1p <<<"$out")
		MESH_IP6[$node]=$(sed -n 2p <<<"$out")
	done
	ping_within 10 "$(ns_of a)" "${MESH_IP[b]}" && ping_within 10 "$(ns_of b)" "${MESH_IP[a]}" &&
		wait_for 10 path_is a b direct && wait_for 10 path_is b a direct
}

both_down() {
	local node
	stop_http
	for node in a b; do
		wm "$node" down || return 1
	done
}

path_is() { status_query "$1" "p['$2']['path'] == '$3'"; }

# ---- traffic ----------------------------------------------------------------------------------

# serve NODE ADDR: python's HTTP server in NODE's namespace on ADDR, serving $WORKDIR/www.
serve() {
	local node=$1 addr=$2
	ip netns exec "$(ns_of "$node")" "$PYTHON" -m http.server --bind "$addr" \
		--directory "$WORKDIR/www" "$HTTP_PORT" >>"$WORKDIR/http-$node.log" 2>&1 &
	HTTP_PIDS+=("$!")
	STARTED_PIDS+=("$!")
	wait_for 5 tcp_listens "$(ns_of "$node")" "$HTTP_PORT"
}

stop_http() {
	local pid
	for pid in "${HTTP_PIDS[@]}"; do
		stop_pid "$pid"
	done
	HTTP_PIDS=()
}

# fetch NODE HOST SECONDS: NODE downloads the file from HOST:HTTP_PORT with curl, bounded by
# SECONDS. Sets FETCH_RC (curl's exit status, 28 on timeout), FETCH_SUM and FETCH_MS. curl
# runs in the background and is waited for, so that ^C interrupts the wait.
# shellcheck disable=SC2034
fetch() {
	local node=$1 host=$2 limit=$3 start pid out=$WORKDIR/fetched
	[[ $host == *:* ]] && host="[$host]"
	rm -f "$out"
	start=$(now_ms)
	timeout $((limit + 10)) ip netns exec "$(ns_of "$node")" curl -sS --globoff \
		--max-time "$limit" -o "$out" "http://$host:$HTTP_PORT/file" 2>>"$WORKDIR/curl.log" &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait "$pid"
	FETCH_RC=$?
	FETCH_MS=$(($(now_ms) - start))
	FETCH_SUM=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1)
	echo "curl exit $FETCH_RC after $FETCH_MS ms, $(stat -c %s "$out" 2>/dev/null || echo 0) bytes"
	[[ $FETCH_RC == 0 ]]
}

# transfer_ok TO FROM_NODE FROM_ADDR SECONDS: TO fetches the file from FROM_NODE's server on
# FROM_ADDR within SECONDS, intact.
transfer_ok() {
	serve "$2" "$3" || { echo "no HTTP server on $3"; return 1; }
	fetch "$1" "$3" "$4"
	stop_http
	[[ $FETCH_RC == 0 && $FETCH_SUM == "$FILE_SUM" ]] ||
		{ echo "received sha256 '$FETCH_SUM', sent $FILE_SUM"; return 1; }
}

# stalls TO FROM_NODE FROM_ADDR SECONDS: the request reaches FROM_NODE's server, which sends
# the file, but TO has not got it when curl gives up after SECONDS (exit 28). Any other failure
# (no connection, say) is not the black hole and fails the check.
stalls() {
	local log=$WORKDIR/http-$2.log
	: >"$log"
	serve "$2" "$3" || { echo "no HTTP server on $3"; return 1; }
	fetch "$1" "$3" "$4"
	stop_http
	echo "server log: $(cat "$log")"
	[[ $FETCH_RC == 28 ]] && grep -q '"GET /file HTTP/1.1" 200' "$log"
}

# dropped: how many UDP packets the bridge dropped for being too long.
dropped() {
	n "$NS_SW" nft list counter bridge wmu big_udp 2>/dev/null |
		grep -oE 'packets [0-9]+' | grep -oE '[0-9]+' || echo 0
}

relay_bytes() {
	n "$NS_HUB" curl -s --max-time 5 "http://$HUB:$RELAY_PORT/debug/vars" |
		grep -oE '"bytes_received":[0-9]+' | cut -d: -f2 | grep . || echo 0
}

ms_to_s() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# ---- scenarios --------------------------------------------------------------------------------

# The negative control: WireGuard's usual MTU over this path loses every full-sized packet.
black_hole() {
	local drops0 drops1
	if ! check "control: a and b up with --mtu 1420, each with a direct path to the other" \
		both_up --mtu 1420; then
		both_down >/dev/null 2>&1
		return
	fi
	drops0=$(dropped)
	check "control: $FILE_MB MB over HTTP b->a stall (b sends, a has not got them after 20 s)" \
		stalls a b "${MESH_IP[b]}" 20
	drops1=$(dropped)
	check "control: meanwhile the bridge dropped oversized UDP" \
		eval "echo '$drops0 -> $drops1 packets'; ((drops1 > drops0))"
	echo "# control: curl exit $FETCH_RC after $(ms_to_s "$FETCH_MS") s," \
		"$((drops1 - drops0)) UDP packets over $UNDERLAY_LIMIT bytes dropped"
	check "control: wiremesh down on a and b" both_down
}

# mtu_is NODE KEY EXPR: EXPR holds for "self": {"mtu": {KEY: …}} in NODE's status --json.
mtu_is() { status_query "$1" "s['self']['mtu']['$2'] $3"; }

default_mtu() {
	local relay0 relay1 drops0 drops1 t4 t4r t6
	if ! check "default: a and b up without --mtu, each with a direct path to the other" both_up
	then
		return
	fi
	check "default: wiremesh status --json on a shows MTU 1200 (tunnel), 1280 (interface)" \
		eval "mtu_is a tunnel '== 1200' && mtu_is a interface '== 1280'"
	check "default: wiremesh status on a says MTU 1200 (interface 1280)" eval \
		"wm a status | grep -q 'MTU 1200 (interface 1280)'"
	check "default: a's interface has MTU 1280 (the IPv6 minimum)" eval \
		"ip -n $(ns_of a) -o link show $(if_of a) | grep -q ' mtu 1280 '"
	relay0=$(relay_bytes) drops0=$(dropped)
	check "default: $FILE_MB MB over HTTP b->a arrive intact within 60 s" \
		transfer_ok a b "${MESH_IP[b]}" 60
	t4=$FETCH_MS
	check "default: $FILE_MB MB over HTTP a->b arrive intact within 60 s" \
		transfer_ok b a "${MESH_IP[a]}" 60
	t4r=$FETCH_MS
	relay1=$(relay_bytes) drops1=$(dropped)
	check "default: the transfers went direct: the path is direct, the relay got under 1 MB" \
		eval "path_is a b direct && path_is b a direct && echo 'relay: $((relay1 - relay0)) bytes' &&
		      ((relay1 - relay0 < 1000000))"
	check "default: the bridge dropped no oversized UDP during the transfers" \
		eval "echo '$drops0 -> $drops1 packets'; ((drops1 == drops0))"
	check "default: a and b both clamped the MSS of TCP handshakes (status: mss_clamped)" \
		eval "mtu_is a mss_clamped '> 0' && mtu_is b mss_clamped '> 0'"
	check "default: ping -M do -s 1250 from a to b is refused: fragmentation needed, mtu 1200" \
		frag_needed a "${MESH_IP[b]}"
	check "default: a answered it itself (status: too_big_answered)" \
		mtu_is a too_big_answered '> 0'
	check "default: ping -M do -s 1172 (a 1200-byte packet) from a to b is answered" \
		wait_for 5 n "$(ns_of a)" ping -n -q -M "do" -s 1172 -c 1 -W 1 "${MESH_IP[b]}"
	check "default: $FILE_MB MB over HTTP b->a on the IPv6 addresses arrive intact within 60 s" \
		transfer_ok a b "${MESH_IP6[b]}" 60
	t6=$FETCH_MS
	echo "# default: $FILE_MB MB took $(ms_to_s "$t4") s b->a, $(ms_to_s "$t4r") s a->b," \
		"$(ms_to_s "$t6") s b->a over IPv6; the bridge dropped $(($(dropped) - drops0))" \
		"UDP packets meanwhile"
}

# frag_needed NODE ADDR: a ping with DF that does not fit is not answered, and ping reports
# the MTU the node told it (the first time "Frag needed and DF set (mtu = 1200)", from the
# ICMP error; once the kernel has cached the path MTU, "message too long, mtu=1200").
frag_needed() {
	local out rc
	out=$(n "$(ns_of "$1")" ping -n -M "do" -s 1250 -c 2 -i 0.5 -W 1 "$2" 2>&1)
	rc=$?
	echo "$out (exit status $rc)"
	[[ $rc != 0 ]] && grep -Eq 'mtu ?= ?1200' <<<"$out"
}

# ---- main -------------------------------------------------------------------------------------

is_root "mtu" || exit 0
has_tools "mtu" ip nft curl ping python3 sha256sum timeout awk || exit 0
are_built "mtu" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_hub >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "mtu: namespaces, bridge, nftables, coordination server and relay"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
mkdir -p "$WORKDIR/www" && head -c $((FILE_MB * 1048576)) /dev/urandom >"$WORKDIR/www/file"
FILE_SUM=$(sha256sum "$WORKDIR/www/file" | cut -d' ' -f1)
ok "mtu: topology (UDP over $UNDERLAY_LIMIT bytes dropped), wiremesh-coord and wiremesh-relay up"

black_hole
default_mtu

echo "# mtu: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
