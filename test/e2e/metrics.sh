#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Metrics end to end (docs/metrics.md): the node's --metrics-listen (/metrics, /healthz) and
# `wiremesh metrics`, the relay's /metrics, the coordination server's --metrics-listen, each
# parsed by Prometheus' own promtool. Needs root.
#
#                        ns switch: bridge br0 (the underlay)
#      +------------------+---------------+---------------+
#   ns hub 192.0.2.100  ns a .1         ns b .2         ns c .3
#   wiremesh-coord      metrics on      metrics on      UDP to and from a
#   (metrics on         127.0.0.1:9101  127.0.0.1:9101  dropped: a and c talk
#    127.0.0.1:9100)                                    through the relay
#   wiremesh-relay
#
# Checks:
#   flags      --metrics-listen with a bad address: exit 2, saying why
#   healthz    a, started before the coordination server runs, answers /healthz 503 with a
#              reason; once the server runs and a is up, 200 "ok"
#   format     promtool check metrics passes on the three /metrics and on `wiremesh metrics`
#   direct     pings a -> b: a's outbound and inbound direct bytes and packets grow, and a's
#              per-peer receive/transmit bytes for b's public key grow
#   relayed    pings a -> c (direct UDP dropped): a's derp bytes grow both ways, the relay's
#              forwarded packets and bytes grow
#   coord      nodes{status="online"} is 3, long polls held reach 3, the fan-out histogram
#              counted fan-outs; the API port does not serve /metrics
#   relay      clients is 3, STUN requests were counted
#   offline    after wiremesh down on c: the server's held polls drop to 2, its nodes gauge says
#              1 offline and 2 online, and a sees 1 of its 2 peers online
#   plain      wiremesh IFNAME --metrics-listen (no mesh): /healthz 200, a peer set with wg is
#              in /metrics (promtool passes), a ping into the tunnel counts its handshake out
#   flood      200 connections at once to a's listener (idle ones, complete requests, oversized
#              heads; bounded in number and time): a still answers /metrics, pings b, its
#              bad-request counter moved, and its resident memory grew by less than 8 MiB
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
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
COORD_METRICS=127.0.0.1:9100
NODE_METRICS=127.0.0.1:9101
URL=http://$HUB:$COORD_PORT
NODES=(a b c)
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2 [c]=192.0.2.3)
declare -A MESH_IP=()
COORD_PID='' RELAY_PID='' AUTHKEY='' A_UP_PID=''

ns_of() { echo "wmm-$RUN_ID-$1"; }
if_of() { echo "wmm${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	for node in "${NODES[@]}"; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 12
		echo "--- $node: last lines of its log"
		tail -n 6 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- coordination server, last lines:"
	tail -n 6 "$WORKDIR/coord.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
}

create_topology() {
	create_switch || return 1
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB" &&
		wait_for 5 n "$(ns_of c)" ping -n -q -c 1 -W 1 "${ADDR[a]}"
}

# c drops UDP to and from a, so a and c can only meet through the relay.
block_a_c() {
	n "$(ns_of c)" nft -f - <<-EOF
	table inet wmm_block {
		chain o {
			type filter hook output priority 0;
			ip daddr ${ADDR[a]} meta l4proto udp drop
		}
		chain i {
			type filter hook input priority 0;
			ip saddr ${ADDR[a]} meta l4proto udp drop
		}
	}
	EOF
}

# The coordination server with its metrics listener, then the relay (as lib.sh's start_hub).
start_servers() {
	ip netns exec "$NS_HUB" "$COORD_BIN" serve --db "$(db)" --plain \
		--listen "$HUB:$COORD_PORT" --metrics-listen "$COORD_METRICS" \
		-v >>"$WORKDIR/coord.log" 2>&1 &
	COORD_PID=$!
	STARTED_PIDS+=("$COORD_PID")
	ip netns exec "$NS_HUB" "$RELAY_BIN" --plain --listen "$HUB:$RELAY_PORT" \
		--stun "$HUB:3478" >"$WORKDIR/relay.log" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	wait_for 10 n "$NS_HUB" curl -sf "http://$HUB:$COORD_PORT/health" &&
		wait_for 10 n "$NS_HUB" curl -sf "http://$HUB:$RELAY_PORT/generate_204" || return 1
	coord_admin relays set - <<-EOF
	{"regions": [{"id": 1, "code": "hub", "name": "Hub",
	  "relays": [{"url": "http://$HUB:$RELAY_PORT/derp", "stun": "$HUB:3478"}]}]}
	EOF
}

# ---- reading metrics --------------------------------------------------------------------------

# scrape NS ADDR:PORT PATH FILE: the page into FILE (curl fails on an HTTP error).
scrape() { n "$1" curl -sSf --max-time 10 -o "$4" "http://$2$3"; }
node_scrape() { scrape "$(ns_of "$1")" "$NODE_METRICS" /metrics "$2"; }
relay_scrape() { scrape "$NS_HUB" "$HUB:$RELAY_PORT" /metrics "$1"; }
coord_scrape() { scrape "$NS_HUB" "$COORD_METRICS" /metrics "$1"; }

# value FILE SAMPLE: the value of the sample line SAMPLE (name with its labels), or "".
value() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }

# grew BEFORE AFTER SAMPLE: SAMPLE's value in AFTER is larger than in BEFORE.
grew() {
	local x y
	x=$(value "$1" "$3") y=$(value "$2" "$3")
	echo "$3: $x -> $y"
	[[ -n $x && -n $y ]] && awk -v x="$x" -v y="$y" 'BEGIN { exit !(y > x) }'
}

# equals FILE SAMPLE N
equals() {
	local v
	v=$(value "$1" "$2")
	echo "$2 = $v (want $3)"
	[[ -n $v ]] && awk -v v="$v" -v n="$3" 'BEGIN { exit !(v == n) }'
}

promtool_ok() {
	local out
	out=$(promtool check metrics <"$1" 2>&1)
	local rc=$?
	echo "promtool: ${out:-no problems} ($(grep -c '^[a-z]' "$1") samples)"
	((rc == 0))
}

# healthz NODE CODE: /healthz of NODE answers with HTTP status CODE; its body is printed.
healthz() {
	local code
	code=$(n "$(ns_of "$1")" curl -s --max-time 5 -o "$WORKDIR/healthz.body" -w '%{http_code}' \
		"http://$NODE_METRICS/healthz")
	echo "HTTP $code: $(cat "$WORKDIR/healthz.body" 2>/dev/null)"
	[[ $code == "$2" ]]
}

# ---- the checks -------------------------------------------------------------------------------

bad_flag() {
	local said rc
	said=$(n "$(ns_of b)" "$WM_BIN" up --coord "$URL" --state "$(state_of b)" \
		--metrics-listen "nowhere" 2>&1)
	rc=$?
	check "flags: up --metrics-listen nowhere exits 2 saying what it takes" eval \
		"echo 'exit $rc: $said'; [[ $rc == 2 ]] && grep -q 'ADDR:PORT' <<<\"\$said\""
}

# a starts before the coordination server, so /healthz is asked while it waits.
healthz_before_up() {
	note_ifname "$(if_of a)"
	LOG_LEVEL=verbose n "$(ns_of a)" "$WM_BIN" up --coord "$URL" --hostname a \
		--state "$(state_of a)" --ifname "$(if_of a)" --timeout 60 --authkey "$AUTHKEY" \
		--metrics-listen "$NODE_METRICS" >"$WORKDIR/a.up" 2>>"$WORKDIR/a.log" &
	A_UP_PID=$!
	STARTED_PIDS+=("$A_UP_PID")
	check "healthz: a (coordination server not running yet) answers /healthz 503 with a reason" \
		eval "wait_for 15 healthz a 503 && grep -q 'not up' '$WORKDIR/healthz.body'"
	check "healthz: /metrics already answers and says wiremesh_up 0" eval \
		"node_scrape a '$WORKDIR/a.early' && equals '$WORKDIR/a.early' wiremesh_up 0"
}

healthz_after_up() {
	local i
	check "healthz: a comes up once the coordination server runs" eval \
		"for i in \$(seq 60); do is_running $A_UP_PID || break; sleep 1; done;
		 wait $A_UP_PID; cat '$WORKDIR/a.up'; grep -q 'is up' '$WORKDIR/a.up'"
	MESH_IP[a]=$(wm a ip | sed -n 1p)
	check "healthz: a answers /healthz 200 ok" eval \
		"wait_for 10 healthz a 200 && grep -qx ok '$WORKDIR/healthz.body'"
	for i in b c; do
		check "up: $i comes up with --metrics-listen" comes_up "$i" \
			--metrics-listen "$NODE_METRICS"
	done
}

formats() {
	check "format: promtool check metrics passes on a's /metrics" eval \
		"node_scrape a '$WORKDIR/a.prom' && promtool_ok '$WORKDIR/a.prom'"
	check "format: ... on \`wiremesh metrics\` of a (same families as /metrics)" eval \
		"wm a metrics >'$WORKDIR/a.cli' && promtool_ok '$WORKDIR/a.cli' &&
		 diff <(grep '^# TYPE' '$WORKDIR/a.prom') <(grep '^# TYPE' '$WORKDIR/a.cli')"
	check "format: ... on the relay's /metrics" eval \
		"relay_scrape '$WORKDIR/relay.prom' && promtool_ok '$WORKDIR/relay.prom'"
	check "format: ... on the coordination server's /metrics" eval \
		"coord_scrape '$WORKDIR/coord.prom' && promtool_ok '$WORKDIR/coord.prom'"
	check "format: a's wiremesh_peers is 2" equals "$WORKDIR/a.prom" wiremesh_peers 2
	check "format: a's home relay region is 1" equals "$WORKDIR/a.prom" \
		wiremesh_home_derp_region_id 1
}

direct() {
	local before=$WORKDIR/a.direct0 after=$WORKDIR/a.direct1 key s
	MESH_IP[b]=$(wm b ip | sed -n 1p)
	key=$(wm b status --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["self"]["public_key"])')
	check "direct: a pings b (the path settles first)" ping_within 20 "$(ns_of a)" "${MESH_IP[b]}"
	node_scrape a "$before"
	check "direct: 10 more pings a -> b" n "$(ns_of a)" ping -n -q -c 10 -i 0.2 -W 2 \
		"${MESH_IP[b]}"
	node_scrape a "$after"
	for s in 'wiremesh_outbound_bytes_total{path="direct_ipv4"}' \
		'wiremesh_outbound_packets_total{path="direct_ipv4"}' \
		'wiremesh_inbound_bytes_total{path="direct_ipv4"}' \
		'wiremesh_inbound_packets_total{path="direct_ipv4"}' \
		"wiremesh_peer_receive_bytes_total{public_key=\"$key\",name=\"b\"}" \
		"wiremesh_peer_transmit_bytes_total{public_key=\"$key\",name=\"b\"}"; do
		check "direct: a's $s grew" grew "$before" "$after" "$s"
	done
	check "direct: a's handshake age for b is known" eval \
		"grep '^wiremesh_peer_handshake_age_seconds{public_key=\"$key\"' '$after'"
}

relayed() {
	local a0=$WORKDIR/a.relay0 a1=$WORKDIR/a.relay1 r0=$WORKDIR/relay.0 r1=$WORKDIR/relay.1 s
	MESH_IP[c]=$(wm c ip | sed -n 1p)
	check "relayed: a pings c (UDP between them dropped)" ping_within 20 "$(ns_of a)" \
		"${MESH_IP[c]}"
	node_scrape a "$a0" && relay_scrape "$r0"
	check "relayed: 10 more pings a -> c" n "$(ns_of a)" ping -n -q -c 10 -i 0.2 -W 2 \
		"${MESH_IP[c]}"
	node_scrape a "$a1" && relay_scrape "$r1"
	for s in 'wiremesh_outbound_bytes_total{path="derp"}' \
		'wiremesh_inbound_bytes_total{path="derp"}'; do
		check "relayed: a's $s grew" grew "$a0" "$a1" "$s"
	done
	for s in wiremesh_relay_forwarded_packets_total wiremesh_relay_forwarded_bytes_total \
		wiremesh_relay_received_packets_total; do
		check "relayed: the relay's $s grew" grew "$r0" "$r1" "$s"
	done
	check "relay: clients is 3" equals "$r1" wiremesh_relay_clients 3
	check "relay: STUN requests were counted" eval \
		"awk '\$1 == \"wiremesh_relay_stun_requests_total\" && \$2 > 0 { f = 1 } END { exit !f }' '$r1'"
}

coord_online_is() {
	coord_scrape "$WORKDIR/coord.now" && equals "$WORKDIR/coord.now" "$1" "$2"
}

coord() {
	check "coord: nodes{status=\"online\"} is 3" wait_for 15 coord_online_is \
		'wiremesh_coord_nodes{status="online"}' 3
	check "coord: long polls held reach 3" wait_for 60 coord_online_is \
		wiremesh_coord_long_polls_held 3
	check "coord: the fan-out histogram counted fan-outs (+Inf bucket = count > 0)" eval \
		"c=\$(value '$WORKDIR/coord.now' wiremesh_coord_fanout_duration_seconds_count);
		 i=\$(value '$WORKDIR/coord.now' 'wiremesh_coord_fanout_duration_seconds_bucket{le=\"+Inf\"}');
		 echo \"count \$c, +Inf \$i\"; [[ \$c -gt 0 && \$c == \"\$i\" ]]"
	check "coord: the API port does not serve /metrics" eval \
		"! n '$NS_HUB' curl -sf --max-time 5 -o /dev/null 'http://$HUB:$COORD_PORT/metrics'"
}

# The flood: N connections at once from as many threads: one in ten idle (holding a slot until
# the server's timeout), the rest alternately a complete request and a head over the bound.
# Every thread ends within 40 s; prints what came back.
FLOOD_PY='
import socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
res = {"idle": 0, "200": 0, "400": 0, "other": 0}
lock = threading.Lock()
def one(i):
    kind = "idle" if i % 10 == 0 else "ok" if i % 2 else "big"
    got = b""
    try:
        s = socket.create_connection((host, port), timeout=30)
        if kind == "ok":
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        elif kind == "big":
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
    except OSError:
        pass
    key = "idle" if kind == "idle" and not got else got[9:12].decode() if got[9:12] in (b"200", b"400") else "other"
    with lock:
        res[key] += 1
ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join(40)
print(res)
sys.exit(0 if res["200"] > 0 else 1)'

rss() { value "$1" process_resident_memory_bytes; }

flood() {
	local before=$WORKDIR/a.flood0 after=$WORKDIR/a.flood1
	node_scrape a "$before"
	check "flood: 200 connections at once to a's metrics listener" \
		n "$(ns_of a)" "$PYTHON" -c "$FLOOD_PY" 127.0.0.1 "${NODE_METRICS##*:}" 200
	check "flood: a answers /metrics afterwards" wait_for 15 node_scrape a "$after"
	check "flood: a still pings b" ping_within 10 "$(ns_of a)" "${MESH_IP[b]}"
	check "flood: a counted the oversized heads as bad requests" grew "$before" "$after" \
		wiremesh_metrics_bad_requests_total
	check "flood: a's resident memory grew by less than 8 MiB" eval \
		"x=\$(rss '$before'); y=\$(rss '$after'); echo \"RSS \$x -> \$y\";
		 awk -v x=\"\$x\" -v y=\"\$y\" 'BEGIN { exit !(x > 0 && y - x < 8388608) }'"
}

# c leaves: the server's gauges follow (held polls at once, offline after its grace period of
# 15 s without a poll), and a's view of its peers.
offline() {
	check "offline: wiremesh down on c" wm c down
	check "offline: coord long polls held drop to 2" wait_for 30 coord_online_is \
		wiremesh_coord_long_polls_held 2
	check "offline: coord nodes{status=\"offline\"} is 1 and online 2 (within 60 s)" eval \
		"wait_for 60 coord_online_is 'wiremesh_coord_nodes{status=\"offline\"}' 1 &&
		 equals '$WORKDIR/coord.now' 'wiremesh_coord_nodes{status=\"online\"}' 2"
	check "offline: a's wiremesh_peers_online drops to 1, wiremesh_peers stays 2" eval \
		"wait_for 30 eval \"node_scrape a '$WORKDIR/a.off' && equals '$WORKDIR/a.off' wiremesh_peers_online 1\" &&
		 equals '$WORKDIR/a.off' wiremesh_peers 2"
}

# `wiremesh IFNAME --metrics-listen` (no mesh): the node's own families, per peer too.
plain_mode() {
	local ns=wmm-$RUN_ID-d ifname=wmm${RUN_ID}d key pid
	create_namespace "$ns" || { not_ok "plain: namespace"; return 1; }
	note_ifname "$ifname"
	ip netns exec "$ns" "$WM_BIN" -f "$ifname" --metrics-listen "$NODE_METRICS" \
		>>"$WORKDIR/d.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	key=$(wg genkey | wg pubkey)
	check "plain: wiremesh $ifname --metrics-listen answers /healthz 200" \
		wait_for 10 healthz d 200
	check "plain: a peer set with wg appears in its /metrics, which promtool accepts" eval \
		"wg_in '$ns' set '$ifname' private-key <(wg genkey) peer '$key' \
			allowed-ips 10.99.0.2/32 endpoint 192.0.2.99:51820 &&
		 scrape '$ns' '$NODE_METRICS' /metrics '$WORKDIR/d.prom' &&
		 promtool_ok '$WORKDIR/d.prom' && equals '$WORKDIR/d.prom' wiremesh_peers 1 &&
		 grep '^wiremesh_peer_transmit_bytes_total{public_key=\"$key\",name=\"\"} ' '$WORKDIR/d.prom'"
	check "plain: a ping into the tunnel counts a handshake initiation out (direct_ipv4)" eval \
		"ip -n '$ns' link add v0 type veth peer name v1 && ip -n '$ns' link set v1 up &&
		 ip -n '$ns' addr add 192.0.2.50/24 dev v0 && ip -n '$ns' link set v0 up &&
		 ip -n '$ns' addr add 10.99.0.1/24 dev '$ifname' &&
		 ip -n '$ns' link set '$ifname' up && { n '$ns' ping -n -q -c 1 -W 1 10.99.0.2; true; } &&
		 wait_for 5 d_sent_direct"
}

# d_sent_direct: d's /metrics counts WireGuard datagrams sent directly over IPv4.
d_sent_direct() {
	scrape "wmm-$RUN_ID-d" "$NODE_METRICS" /metrics "$WORKDIR/d.prom" &&
		grep '^wiremesh_outbound_packets_total{path="direct_ipv4"}' "$WORKDIR/d.prom" &&
		awk '$1 == "wiremesh_outbound_packets_total{path=\"direct_ipv4\"}" && $2 > 0 { f = 1 }
			END { exit !f }' "$WORKDIR/d.prom"
}

# ---- main -------------------------------------------------------------------------------------

is_root "metrics" || exit 0
has_tools "metrics" ip nft wg curl ping promtool python3 timeout awk || exit 0
are_built "metrics" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! block_a_c >>"$WORKDIR/setup.log" 2>&1 ||
	! AUTHKEY=$(coord_admin authkey create --reusable 2>>"$WORKDIR/setup.log")
then
	not_ok "metrics: namespaces, the block between a and c, an auth key"
	indent <"$WORKDIR/setup.log"
	exit 1
fi
ok "metrics: topology up, UDP between a and c dropped, auth key made"

bad_flag
healthz_before_up
if ! start_servers >>"$WORKDIR/setup.log" 2>&1; then
	not_ok "metrics: wiremesh-coord (--metrics-listen) and wiremesh-relay"
	indent <"$WORKDIR/setup.log"
	exit 1
fi
ok "metrics: wiremesh-coord (--metrics-listen $COORD_METRICS) and wiremesh-relay up"
healthz_after_up
formats
direct
relayed
coord
flood
offline
plain_mode

echo "# metrics: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
