#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# NAT traversal end to end: two mesh nodes, each behind its own NAT router, find a direct UDP
# path where the NATs allow one and fall back to the relays where they do not. Needs root.
#
#                      ns sw: bridge br0, "the internet" 203.0.113.0/24
#         +---------------------------+---------------------------+
#   ns hub .100 and .101         ns ra: eth0 203.0.113.1        ns rb: eth0 203.0.113.2
#   wiremesh-coord  .100:8080    nftables NAT, easy or hard     nftables NAT, easy or hard
#   relay region 1  .100:3340    lan0 10.1.0.1                  lan0 10.2.0.1
#   relay region 2  .101:3340      |                              |
#   STUN .100:3478, .101:3478    ns a: eth0 10.1.0.2            ns b: eth0 10.2.0.2
#                                wiremesh up (a)                wiremesh up (b)
#
# An easy NAT is `masquerade` (the source port is kept: the same mapping towards every
# destination); a hard one is `masquerade fully-random` (a new random port per destination).
# Both routers drop unsolicited packets to themselves, and Linux conntrack only lets in packets
# from the exact address and port the node sent to (see the NAT emulation notes). Two STUN
# servers at different addresses let a node see whether its mapping varies by destination.
#
# What crossed is counted, not inferred from ping: each router counts the peer's UDP it
# forwards to its node (from_peer), the relays count the packets they received
# (/debug/vars packets_received and bytes_received, both regions summed).
#
#   topology   the lab itself: port kept by the easy NAT, random per destination with the hard
#              one, unsolicited UDP dropped silently, a hole punch works easy-easy and fails
#              hard-easy (a small Python client, no wiremesh)
#   1 easy     both easy: direct within seconds (time reported), the relays stop carrying
#   2 hard     a hard, b easy: ends on the relay (conntrack filtering), traffic flows; netcheck
#              says a's mapping varies by destination and b's does not
#   3 both     both hard: relay, traffic flows
#   4 no-udp   a's router drops all its UDP: relay over TCP carries ping and a TCP transfer
#   5 failover both easy and direct, a paced TCP transfer running; the bridge drops the routers'
#              direct traffic: over the relay within seconds, back to direct when the rule goes,
#              the transfer completes with the right sha256 (times reported)
#   6 rebind   both easy and direct; a's router maps its port to a new one and forgets its UDP
#              flows: reachable again within seconds, direct again on the new port (needs the
#              conntrack tool)
#   7 together two new nodes run `wiremesh up` in the same instant, behind easy NATs and then
#              behind hard ones, JOIN_TRIALS times each: the first ping once both are up is
#              answered on its first try, every time, and no WireGuard packet went to an address
#              no pong had proven (each router counts WireGuard messages its node sends to the
#              other site's LAN, and, with hard NATs, to anything but the relays)
#
#   WMT_NAT_SCENARIOS="1 2 3 4 5 6 7" picks scenarios   TRANSFER_MB=40   JOIN_TRIALS=10
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

SCENARIOS=${WMT_NAT_SCENARIOS-1 2 3 4 5 6 7}
TRANSFER_MB=${TRANSFER_MB:-40}
JOIN_TRIALS=${JOIN_TRIALS:-10}

NS_SW=wmn-$RUN_ID-sw
NS_HUB=wmn-$RUN_ID-hub
HUB1=203.0.113.100
HUB2=203.0.113.101
COORD_PORT=8080
RELAY_PORT=3340
STUN_PORT=3478
URL=http://$HUB1:$COORD_PORT
declare -A WAN=([a]=203.0.113.1 [b]=203.0.113.2)
declare -A LAN_GW=([a]=10.1.0.1 [b]=10.2.0.1) LAN=([a]=10.1.0.2 [b]=10.2.0.2)
declare -A MESH_IP=()
COORD_PID='' AUTHKEY='' TRAFFIC_PID='' NATLAB=''
BULK_FILE='' BULK_SUM=''

ns_of() { echo "wmn-$RUN_ID-$1"; }
router_of() { echo "wmn-$RUN_ID-r$1"; }
if_of() { echo "wmn${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
other() { if [[ $1 == a ]]; then echo b; else echo a; fi; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local node
	for node in a b; do
		[[ -S $(state_of "$node")/wiremesh.sock ]] || continue
		echo "--- $node: wiremesh status, and the NAT and paths from --json"
		wm "$node" status 2>&1 | head -n 8
		wm "$node" status --json 2>/dev/null | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
print("self candidates", s["self"].get("candidates"), "nat", s["self"].get("nat"))
for p in s["peers"]:
    print(p["name"], {k: p.get(k) for k in ("path", "endpoint", "relay_region", "latency_ms",
                                          "candidates")})' 2>&1 | awk '{ print substr($0, 1, 300) }'
		echo "--- $node: last lines of its log"
		tail -n 8 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- counters: $(counters_now | tr '\n' ' ')"
}

# ---- the lab's own tools: STUN probe, hole punch, unsolicited probe, paced writer -------------

NATLAB_PY='
import os, socket, struct, sys, time

def stun(sock, server):
    """The mapped address a STUN server sees for sock (RFC 8489 binding request)."""
    host, port = server.rsplit(":", 1)
    txid = os.urandom(12)
    req = struct.pack("!HHI", 1, 0, 0x2112A442) + txid
    sock.settimeout(0.3)
    for _ in range(10):
        sock.sendto(req, (host, int(port)))
        try:
            while True:
                d, _src = sock.recvfrom(2048)
                if d[8:20] == txid:
                    return parse(d)
        except socket.timeout:
            pass
    return None

def parse(d):
    end, i = 20 + struct.unpack("!H", d[2:4])[0], 20
    while i + 4 <= end:
        t, n = struct.unpack("!HH", d[i:i + 4])
        v = d[i + 4:i + 4 + n]
        if t in (0x20, 0x8020) and v[1] == 1:
            ip = bytes(a ^ b for a, b in zip(v[4:8], b"\x21\x12\xa4\x42"))
            return "%s:%d" % (socket.inet_ntoa(ip), struct.unpack("!H", v[2:4])[0] ^ 0x2112)
        i += 4 + ((n + 3) & ~3)
    return None

def bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    return s

cmd = sys.argv[1]
if cmd == "stun":                       # stun PORT SERVER...: the mapping towards each server
    s = bound(sys.argv[2])
    print(" ".join(str(stun(s, x)) for x in sys.argv[3:]))
elif cmd == "punch":                    # punch PORT STUN MINE PEERS SECONDS
    s = bound(sys.argv[2])
    me = stun(s, sys.argv[3])
    with open(sys.argv[4] + ".tmp", "w") as f:
        f.write(str(me))
    os.rename(sys.argv[4] + ".tmp", sys.argv[4])
    deadline = time.time() + 5
    while not os.path.exists(sys.argv[5]) and time.time() < deadline:
        time.sleep(0.05)
    host, port = open(sys.argv[5]).read().rsplit(":", 1)
    got, end = {}, time.time() + float(sys.argv[6])
    s.settimeout(0.1)
    while time.time() < end:
        s.sendto(b"punch", (host, int(port)))
        try:
            d, src = s.recvfrom(2048)
            if d == b"punch":
                got["%s:%d" % src] = got.get("%s:%d" % src, 0) + 1
        except socket.timeout:
            pass
    print("mapped %s, sent to %s:%s, received %s" % (me, host, port, got or "nothing"))
    sys.exit(0 if got else 1)
elif cmd == "unsolicited":              # unsolicited ADDR PORT: silence is the right answer
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((sys.argv[2], int(sys.argv[3])))
    s.settimeout(0.3)
    for _ in range(3):
        s.send(b"hello?")
        try:
            s.recv(2048)
            print("an answer came back")
            sys.exit(1)
        except ConnectionRefusedError:
            print("ICMP port unreachable came back")
            sys.exit(1)
        except socket.timeout:
            pass
    print("no answer, no ICMP")
elif cmd == "pace":                     # pace SRC DST FLAG BYTES_PER_S: slow until FLAG exists
    chunk = 65536
    pause = chunk / float(sys.argv[5])
    with open(sys.argv[2], "rb") as src, open(sys.argv[3], "wb", buffering=0) as dst:
        while True:
            b = src.read(chunk)
            if not b:
                break
            dst.write(b)
            if not os.path.exists(sys.argv[4]):
                time.sleep(pause)
'

lab() { local ns=$1; shift; timeout 15 ip netns exec "$ns" "$PYTHON" "$NATLAB" "$@"; }

# ---- topology -------------------------------------------------------------------------------

# attach NS IFNAME ADDR: NS joins the bridge through a veth pair, its side called IFNAME.
attach() {
	local ns=$1 port=p${1##*-}
	ip -n "$NS_SW" link add "$port" type veth peer name "$2" netns "$ns" &&
		ip -n "$NS_SW" link set "$port" master br0 up &&
		ip -n "$ns" addr add "$3/24" dev "$2" &&
		ip -n "$ns" link set "$2" up
}

# make_site NODE: the router (wan eth0 on the bridge, lan0) and the node behind it.
make_site() {
	local node=$1 r ns
	r=$(router_of "$node") ns=$(ns_of "$node")
	create_namespace "$r" && create_namespace "$ns" &&
		attach "$r" eth0 "${WAN[$node]}" &&
		ip -n "$r" link add lan0 type veth peer name eth0 netns "$ns" &&
		ip -n "$r" addr add "${LAN_GW[$node]}/24" dev lan0 &&
		ip -n "$r" link set lan0 up &&
		ip -n "$ns" addr add "${LAN[$node]}/24" dev eth0 &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "${LAN_GW[$node]}" &&
		n "$r" sysctl -qw net.ipv4.ip_forward=1 &&
		router_rules "$node" easy
}

# The bridge's cut chain stays empty unless a scenario drops the routers' direct path (it
# counts what it drops); traffic to and from the hub is never touched.
bridge_rules() {
	n "$NS_SW" nft -f - <<-EOF
	table bridge wmn {
		counter cut {
		}
		chain cut {
			type filter hook forward priority 0; policy accept;
		}
	}
	EOF
}

# router_rules NODE easy|hard [no-udp]: the router's whole ruleset (counters start at zero).
# Unsolicited packets to the router itself are dropped before conntrack confirms them, so they
# leave no entry behind that would steal the node's port; no-udp drops all the node's UDP.
router_rules() {
	local node=$1 nat=masquerade block='' peer=${WAN[$(other "$1")]}
	[[ $2 == hard ]] && nat='masquerade fully-random'
	[[ ${3:-} == no-udp ]] && block='iifname "lan0" meta l4proto udp counter name udp_blocked drop'
	n "$(router_of "$node")" nft -f - <<-EOF
	flush ruleset
	table inet wmn {
		counter from_peer {
		}
		counter unsolicited {
		}
		counter udp_blocked {
		}
		counter wg_to_lan {
		}
		counter wg_not_relayed {
		}
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			# WireGuard messages (type 1-4, then three zero bytes) from the node: towards the
			# other site's LAN, which no pong can ever prove from here, and towards anything
			# but the relays.
			iifname "lan0" meta l4proto udp @th,64,8 1-4 @th,72,24 0 jump wireguard_out
		}
		chain wireguard_out {
			ip daddr 10.0.0.0/8 ip daddr != ${LAN_GW[$node]} counter name wg_to_lan
			ip daddr != { $HUB1, $HUB2 } counter name wg_not_relayed
		}
		chain input {
			type filter hook input priority filter; policy accept;
			iifname "eth0" ct state established,related accept
			iifname "eth0" counter name unsolicited drop
		}
		chain forward {
			type filter hook forward priority filter; policy accept;
			$block
			iifname "eth0" oifname "lan0" ip saddr $peer meta l4proto udp counter name from_peer
			iifname "eth0" ct state established,related accept
			iifname "eth0" drop
		}
	}
	table ip wmn_nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "eth0" $nat
		}
	}
	EOF
}

create_topology() {
	create_namespace "$NS_SW" &&
		ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up &&
		bridge_rules &&
		create_namespace "$NS_HUB" &&
		attach "$NS_HUB" eth0 "$HUB1" &&
		ip -n "$NS_HUB" addr add "$HUB2/24" dev eth0 &&
		make_site a && make_site b &&
		wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB1" &&
		wait_for 5 n "$(ns_of b)" ping -n -q -c 1 -W 1 "$HUB2"
}

start_coord() {
	echo "=== $(date +%T) start" >>"$WORKDIR/coord.log"
	ip netns exec "$NS_HUB" "$COORD_BIN" serve --db "$(db)" --plain \
		--listen "$HUB1:$COORD_PORT" -v >>"$WORKDIR/coord.log" 2>&1 &
	COORD_PID=$!
	STARTED_PIDS+=("$COORD_PID")
	wait_for 5 n "$NS_HUB" curl -sf "$URL/health"
}

# start_relay ADDR: a plain-HTTP relay with its STUN server on ADDR.
start_relay() {
	ip netns exec "$NS_HUB" "$RELAY_BIN" --plain --listen "$1:$RELAY_PORT" \
		--stun "$1:$STUN_PORT" >"$WORKDIR/relay-$1.log" 2>&1 &
	STARTED_PIDS+=("$!")
	wait_for 5 n "$NS_HUB" curl -sf "http://$1:$RELAY_PORT/generate_204"
}

set_up_servers() {
	start_coord && start_relay "$HUB1" && start_relay "$HUB2" || return 1
	coord_admin relays set - <<-EOF || return 1
	{"regions": [
	  {"id": 1, "code": "r1", "name": "Region 1",
	   "relays": [{"url": "http://$HUB1:$RELAY_PORT/derp", "stun": "$HUB1:$STUN_PORT"}]},
	  {"id": 2, "code": "r2", "name": "Region 2",
	   "relays": [{"url": "http://$HUB2:$RELAY_PORT/derp", "stun": "$HUB2:$STUN_PORT"}]}]}
	EOF
	AUTHKEY=$(coord_admin authkey create --reusable) && [[ $AUTHKEY == wmauth-* ]]
}

# ---- counters -------------------------------------------------------------------------------

# nft_counter NS FAMILY TABLE NAME: "PACKETS BYTES" of a named counter (0 0 if it is missing).
nft_counter() {
	local out
	out=$(n "$1" nft list counter "$2" "$3" "$4" 2>/dev/null |
		grep -oE 'packets [0-9]+ bytes [0-9]+')
	[[ -n $out ]] || out='packets 0 bytes 0'
	awk '{ print $2, $4 }' <<<"$out"
}

relay_vars() { n "$NS_HUB" curl -s --max-time 5 "http://$1:$RELAY_PORT/debug/vars"; }

# counter JSON NAME
counter() { local v; v=$(grep -oE "\"$2\":[0-9]+" <<<"$1" | cut -d: -f2); echo "${v:-0}"; }

# relay_total NAME: a /debug/vars counter summed over both relays.
relay_total() {
	echo $(($(counter "$(relay_vars "$HUB1")" "$1") + $(counter "$(relay_vars "$HUB2")" "$1")))
}

# counters_now: "NAME VALUE" lines. from_a/from_b: the peer's UDP a router let through to its
# node (from_a is counted in b's router); relay_*: both relays together; unsolicited_*: what a
# router dropped as unsolicited; cut: what the bridge's cut rule dropped; stun_replies_N: what
# relay N's STUN server answered.
counters_now() {
	local v1 v2 p b node
	v1=$(relay_vars "$HUB1") v2=$(relay_vars "$HUB2")
	echo "relay_packets $(($(counter "$v1" packets_received) + $(counter "$v2" packets_received)))"
	echo "relay_bytes $(($(counter "$v1" bytes_received) + $(counter "$v2" bytes_received)))"
	echo "stun_replies_1 $(counter "$v1" stun_replies)"
	echo "stun_replies_2 $(counter "$v2" stun_replies)"
	for node in a b; do
		read -r p b < <(nft_counter "$(router_of "$(other "$node")")" inet wmn from_peer)
		echo "from_${node}_packets $p"
		echo "from_${node}_bytes $b"
		read -r p b < <(nft_counter "$(router_of "$node")" inet wmn unsolicited)
		echo "unsolicited_$node $p"
		read -r p b < <(nft_counter "$(router_of "$node")" inet wmn udp_blocked)
		echo "udp_blocked_$node $p"
	done
	read -r p b < <(nft_counter "$NS_SW" bridge wmn cut)
	echo "cut $p"
	read -r p b < <(nft_counter "$(router_of b)" inet wmn rebound)
	echo "rebound $p"
}

# snapshot ARRAY: the counters into the associative array named ARRAY.
snapshot() {
	local -n into=$1
	local name value
	into=()
	while read -r name value; do
		# shellcheck disable=SC2034 # the caller's array
		into["$name"]=$value
	done < <(counters_now)
}

# grown BEFORE AFTER NAME
grown() {
	local -n before=$1 after=$2
	echo $((${after[$3]:-0} - ${before[$3]:-0}))
}

# ---- nodes ----------------------------------------------------------------------------------

# up NODE PORT: `wiremesh up` on UDP port PORT (the auth key the first time).
up() {
	local node=$1 port=$2 args=()
	[[ -f $(state_of "$node")/node.key ]] || args=(--authkey "$AUTHKEY")
	note_ifname "$(if_of "$node")"
	LOG_LEVEL=verbose n "$(ns_of "$node")" "$WM_BIN" up --coord "$URL" --hostname "$node" \
		--state "$(state_of "$node")" --ifname "$(if_of "$node")" --port "$port" \
		--timeout 10 "${args[@]}" >"$WORKDIR/$node.up" 2>>"$WORKDIR/$node.log"
	local rc=$?
	cat "$WORKDIR/$node.up"
	[[ $rc == 0 ]] && grep -q 'is up' "$WORKDIR/$node.up"
}

is_down() { ! ip -n "$(ns_of "$1")" link show "$(if_of "$1")" >/dev/null 2>&1; }

down() {
	[[ -S $(state_of "$1")/wiremesh.sock ]] && wm "$1" down >/dev/null 2>&1
	wait_for 5 is_down "$1"
}

remember_address() {
	MESH_IP[$1]=$(wm "$1" ip | sed -n 1p)
	[[ ${MESH_IP[$1]} == 100.* ]]
}

# set_stage NAT_A NAT_B PORT [no-udp]: both nodes down, the routers' NATs set (a's UDP blocked
# with no-udp), both nodes up on UDP port PORT. Every stage has its own port, so no conntrack
# entry of an earlier stage decides a mapping.
set_stage() {
	local node
	traffic_stop
	if ! down a || ! down b; then
		echo "a node did not go down"
		return 1
	fi
	echo "=== $(date +%T) stage: a $1, b $2, port $3 ${4:-}" | tee -a "$WORKDIR/a.log" \
		>>"$WORKDIR/b.log"
	router_rules a "$1" "${4:-}" && router_rules b "$2" || return 1
	for node in a b; do
		up "$node" "$3" && remember_address "$node" || return 1
	done
	echo "a ${MESH_IP[a]}, b ${MESH_IP[b]}"
	# The first node hears of the second from the server a moment after the second is up.
	wait_for 10 knows a b && wait_for 10 knows b a
}

# knows NODE PEER: NODE lists PEER with its address (so the route to it is there).
knows() { status_query "$1" "p['$2']['ipv4'] == '${MESH_IP[$2]}'"; }

# ---- status, netcheck, ping ------------------------------------------------------------------

# $PYTHON -c "$QUERY_PY" FILE EXPR: EXPR (python over the JSON j in FILE; for status also its
# peers by name, p) printed; fails when it is false.
QUERY_PY='
import json, sys
j = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in j.get("peers", [])} if isinstance(j, dict) else {}
r = eval("(" + sys.argv[2] + ")")
print(r)
sys.exit(0 if r else 1)'

status_query() {
	local out=$WORKDIR/status-$1.json
	wm "$1" status --json >"$out" 2>/dev/null || { echo "no status from $1"; return 1; }
	"$PYTHON" -c "$QUERY_PY" "$out" "$2"
}

# path_is NODE PEER direct|relay
path_is() {
	case $3 in
	direct) status_query "$1" "p['$2']['path'] == 'direct' and p['$2'].get('endpoint')" ;;
	relay) status_query "$1" "p['$2']['path'] == 'relay' and p['$2'].get('relay_region') in (1, 2)" ;;
	esac
}

direct_both_ways() { path_is a b direct && path_is b a direct; }
relay_both_ways() { path_is a b relay && path_is b a relay; }

# endpoint_is NODE PEER ADDR:PORT: NODE reaches PEER directly at that address.
endpoint_is() { status_query "$1" "p['$2']['path'] == 'direct' and p['$2']['endpoint'] == '$3'"; }

# netcheck NODE: `wiremesh netcheck --json` into $WORKDIR/netcheck-NODE.json (printed, and kept
# for netcheck_query).
netcheck() {
	local out=$WORKDIR/netcheck-$1.json
	timeout 20 ip netns exec "$(ns_of "$1")" "$WM_BIN" netcheck --json \
		--state "$(state_of "$1")" >"$out" 2>&1 && cat "$out"
}

netcheck_query() { "$PYTHON" -c "$QUERY_PY" "$WORKDIR/netcheck-$1.json" "$2"; }

# wm_ping NODE PEER PATTERN: `wiremesh ping` gets pongs and names the path PATTERN.
wm_ping() {
	local out
	out=$(wm "$1" ping "$2" -c 3 2>&1)
	local rc=$?
	echo "$out"
	[[ $rc == 0 ]] && grep -E "^pong from $2 " <<<"$out" | grep -qE "$3"
}

# ---- traffic --------------------------------------------------------------------------------

# traffic_start NODE PEER SECONDS: five pings a second in the background, so that the nodes
# have traffic to find a path for.
traffic_start() {
	traffic_stop
	echo "=== $(date +%T.%N | cut -c1-12) $1 pings $2 for $3 s" >>"$WORKDIR/traffic.log"
	timeout $(($3 + 2)) ip netns exec "$(ns_of "$1")" ping -n -q -i 0.2 -w "$3" \
		"${MESH_IP[$2]}" >>"$WORKDIR/traffic.log" 2>&1 &
	TRAFFIC_PID=$!
	STARTED_PIDS+=("$TRAFFIC_PID")
}

traffic_stop() {
	[[ -n $TRAFFIC_PID ]] && stop_pid "$TRAFFIC_PID"
	TRAFFIC_PID=''
}

# burst NODE PEER COUNT: COUNT pings 50 ms apart; prints how many were answered.
burst() {
	n "$(ns_of "$1")" ping -n -q -c "$3" -i 0.05 -W 1 "${MESH_IP[$2]}" 2>/dev/null |
		grep -oE '[0-9]+ received' | grep -oE '^[0-9]+' || echo 0
}

# crossed_by PATH: 40 pings from a to b, and what crossed agrees with PATH: direct means the
# routers let through a's and b's UDP (at least one datagram per ping each way) and the relays
# carried at most a few stray packets; relay means the relays carried both directions of every
# ping and no UDP from the peer got into either site.
crossed_by() {
	local -A c0 c1
	local answered relay from_a from_b
	snapshot c0
	answered=$(burst a b 40)
	snapshot c1
	relay=$(grown c0 c1 relay_packets) from_a=$(grown c0 c1 from_a_packets)
	from_b=$(grown c0 c1 from_b_packets)
	echo "40 pings, $answered answered; UDP let in from a $from_a, from b $from_b;" \
		"relays $relay packets"
	((answered >= 36)) || return 1
	case $1 in
	direct) ((from_a >= 36 && from_b >= 36 && relay <= 4)) ;;
	relay) ((relay >= 72 && from_a == 0 && from_b == 0)) ;;
	esac
}

# ---- topology checks ------------------------------------------------------------------------

stun_from() { lab "$(ns_of "$1")" stun "$2" "$HUB1:$STUN_PORT" "$HUB2:$STUN_PORT"; }

easy_keeps_port() {
	local got
	got=$(stun_from a 40000) || return 1
	echo "a from port 40000 is seen as: $got"
	[[ $got == "${WAN[a]}:40000 ${WAN[a]}:40000" ]]
}

hard_varies() {
	local got m1 m2
	router_rules a hard || return 1
	got=$(stun_from a 40001) || return 1
	echo "a from port 40001 is seen as: $got"
	read -r m1 m2 <<<"$got"
	[[ $m1 == "${WAN[a]}":* && $m2 == "${WAN[a]}":* && $m1 != "$m2" &&
		$m1 != *:40001 && $m2 != *:40001 ]]
}

# Silence (no ICMP), counted as unsolicited, and no conntrack entry left behind.
unsolicited_dropped() {
	local -A c0 c1
	snapshot c0
	lab "$NS_HUB" unsolicited "${WAN[a]}" 40002 || return 1
	snapshot c1
	echo "a's router dropped $(grown c0 c1 unsolicited_a) as unsolicited"
	(($(grown c0 c1 unsolicited_a) >= 3)) || return 1
	if command -v conntrack >/dev/null 2>&1; then
		local left
		left=$(n "$(router_of a)" conntrack -L -p udp --dport 40002 2>/dev/null)
		[[ -z $left ]] || { echo "conntrack entry left: $left"; return 1; }
	fi
}

# punch PORT: both sites learn their mapping from the STUN server, swap it through files and
# send to each other for 1.5 s; succeeds when both received something.
punch() {
	local port=$1 pa pb rc=0
	rm -f "$WORKDIR"/punch-[ab]
	lab "$(ns_of a)" punch "$port" "$HUB1:$STUN_PORT" "$WORKDIR/punch-a" "$WORKDIR/punch-b" 1.5 \
		>"$WORKDIR/punch-a.out" 2>&1 &
	pa=$!
	lab "$(ns_of b)" punch "$port" "$HUB1:$STUN_PORT" "$WORKDIR/punch-b" "$WORKDIR/punch-a" 1.5 \
		>"$WORKDIR/punch-b.out" 2>&1 &
	pb=$!
	STARTED_PIDS+=("$pa" "$pb")
	wait "$pa" || rc=1
	wait "$pb" || rc=1
	echo "a: $(cat "$WORKDIR/punch-a.out")"
	echo "b: $(cat "$WORKDIR/punch-b.out")"
	return $rc
}

# Neither side received anything (and the routers counted the other's attempts as unsolicited).
punch_fails() {
	punch "$1"
	! grep -q 'received {' "$WORKDIR/punch-a.out" && ! grep -q 'received {' "$WORKDIR/punch-b.out"
}

topology() {
	check "topology: an easy NAT keeps the source port, towards both STUN servers" easy_keeps_port
	check "topology: a hard NAT maps each destination to its own random port" hard_varies
	check "topology: unsolicited UDP to a router is dropped silently (counted, no ICMP)" \
		unsolicited_dropped
	router_rules a easy
	check "topology: a UDP hole punch between the two easy NATs works both ways" punch 40010
	router_rules a hard
	check "topology: a hole punch between the hard and the easy NAT fails both ways" \
		punch_fails 40011
	router_rules a easy
}

# ---- 1. both easy ---------------------------------------------------------------------------

both_easy() {
	local port=41641 start
	check "easy: a and b come up, both behind port-keeping NATs" set_stage easy easy $port ||
		return 1
	start=$(now_ms)
	traffic_start a b 20
	if check "easy: both report a direct path within 10 s" wait_for 10 direct_both_ways; then
		echo "# easy: direct both ways $(seconds_since "$start") s after both were up"
	fi
	check "easy: a reaches b at b's router, port kept (${WAN[b]}:$port)" \
		endpoint_is a b "${WAN[b]}:$port"
	check "easy: b reaches a at a's router, port kept (${WAN[a]}:$port)" \
		endpoint_is b a "${WAN[a]}:$port"
	traffic_stop
	check "easy: what crossed was direct: both routers let the peer's UDP in, relays idle" \
		crossed_by direct
	check "easy: wiremesh ping b answers via ${WAN[b]}:$port" wm_ping a b "via ${WAN[b]}:$port "
	check "easy: netcheck on a: UDP works, the mapping is known" eval \
		"netcheck a && netcheck_query a \"j['udp'] and j['mapping_known']\""
	check "easy: netcheck on a: mapping does not vary, reflexive is ${WAN[a]}:$port" \
		netcheck_query a "not j['mapping_varies_by_dest'] and set(j['reflexive']) == {'${WAN[a]}:$port'}"
	check "easy: netcheck on a: a latency for both regions, a preferred one" netcheck_query a \
		"sorted(r['region'] for r in j['regions']) == [1, 2] and
		 all(r['latency_ms'] is not None for r in j['regions']) and
		 j['preferred_region'] in (1, 2)"
	check "easy: status on a: self.nat agrees (UDP, ${WAN[a]}:$port, not varying)" status_query a \
		"j['self']['nat']['udp'] and '${WAN[a]}:$port' in j['self']['nat']['reflexive'] and
		 not j['self']['nat']['mapping_varies_by_dest'] and
		 '${WAN[a]}:$port' in j['self']['candidates']"
}

# ---- 2. hard and easy -----------------------------------------------------------------------

hard_and_easy() {
	local port=41642
	local -A c0 c1
	check "hard/easy: a comes up behind a hard NAT, b behind an easy one" \
		set_stage hard easy $port || return 1
	check "hard/easy: a pings b" ping_within 15 "$(ns_of a)" "${MESH_IP[b]}" || return 1
	# Time to try every candidate: pings and call-me-maybes go out, the routers drop them.
	snapshot c0
	burst a b 40 >/dev/null
	n "$(ns_of a)" ping -n -q -c 10 -i 0.5 -W 1 "${MESH_IP[b]}" >/dev/null
	snapshot c1
	echo "# hard/easy: punch attempts dropped as unsolicited by a's router" \
		"$(grown c0 c1 unsolicited_a), by b's $(grown c0 c1 unsolicited_b)"
	check "hard/easy: both report the relay (Linux filtering lets no punch through)" \
		wait_for 3 relay_both_ways
	check "hard/easy: what crossed went through the relays, no UDP from the peer got in" \
		crossed_by relay
	check "hard/easy: netcheck on a: the mapping varies by destination" eval "netcheck a &&
		netcheck_query a \"j['udp'] and j['mapping_known'] and j['mapping_varies_by_dest']\""
	check "hard/easy: netcheck on b: the mapping does not vary" eval "netcheck b &&
		netcheck_query b \"j['udp'] and j['mapping_known'] and not j['mapping_varies_by_dest']\""
	check "hard/easy: status on a: self.nat says the mapping varies" \
		status_query a "j['self']['nat']['mapping_varies_by_dest']"
}

# ---- 3. both hard ---------------------------------------------------------------------------

both_hard() {
	local port=41643
	check "hard: a and b come up, both behind hard NATs" set_stage hard hard $port || return 1
	check "hard: a pings b" ping_within 15 "$(ns_of a)" "${MESH_IP[b]}" || return 1
	n "$(ns_of a)" ping -n -q -c 10 -i 0.5 -W 1 "${MESH_IP[b]}" >/dev/null
	check "hard: both report the relay" wait_for 3 relay_both_ways
	check "hard: what crossed went through the relays, no UDP from the peer got in" \
		crossed_by relay
	check "hard: wiremesh ping b answers via a relay region" wm_ping a b "via relay region [12] "
}

# ---- 4. no UDP at all for a -----------------------------------------------------------------

# at_least BEFORE AFTER NAME MIN: counter NAME grew by MIN or more.
at_least() {
	echo "$3 +$(grown "$1" "$2" "$3"), expected +$4 or more"
	(($(grown "$1" "$2" "$3") >= $4))
}

# udp_stayed_blocked BEFORE AFTER: a's router has dropped some of a's UDP since the stage began
# (its counters start with the stage), and let none of b's into a's site during BEFORE..AFTER.
udp_stayed_blocked() {
	local -n after=$2
	echo "a's UDP dropped ${after[udp_blocked_a]:-0} since a came up; b's UDP let in" \
		"+$(grown "$1" "$2" from_b_packets) during the transfer"
	((${after[udp_blocked_a]:-0} >= 1 && $(grown "$1" "$2" from_b_packets) == 0))
}

no_udp() {
	local port=41644 mb=10 file=$WORKDIR/udp-less.bin sum
	local -A c0 c1
	check "no-udp: a comes up with all its UDP dropped by its router, b behind an easy NAT" \
		set_stage easy easy $port no-udp || return 1
	check "no-udp: a pings b" ping_within 15 "$(ns_of a)" "${MESH_IP[b]}" || return 1
	check "no-udp: netcheck on a: no UDP" eval "netcheck a && netcheck_query a \"not j['udp']\""
	check "no-udp: both report the relay" wait_for 5 relay_both_ways
	check "no-udp: what crossed went through the relays" crossed_by relay
	head -c $((mb * 1048576)) "$BULK_FILE" >"$file"
	sum=$(sha256sum "$file" | cut -d' ' -f1)
	snapshot c0
	check "no-udp: $mb MiB TCP a -> b through the relay, sha256 matches" transfer_matches "$sum" \
		"$(ns_of a)" "$(ns_of b)" "${MESH_IP[b]}" 5004 "$file"
	snapshot c1
	check "no-udp: the relays carried it: bytes_received grew by $mb MiB or more" \
		at_least c0 c1 relay_bytes $((mb * 1048576))
	check "no-udp: a's router dropped a's UDP (STUN at least) and let none of b's in" \
		udp_stayed_blocked c0 c1
}

# ---- 5. the direct path breaks and comes back mid-transfer ------------------------------------

cut_direct() {
	n "$NS_SW" nft -f - <<-EOF
	add rule bridge wmn cut ip saddr ${WAN[a]} ip daddr ${WAN[b]} counter name cut drop
	add rule bridge wmn cut ip saddr ${WAN[b]} ip daddr ${WAN[a]} counter name cut drop
	EOF
}

uncut_direct() { n "$NS_SW" nft flush chain bridge wmn cut; }

# bytes_flowing KEY MIN: KEY grew by MIN bytes within 2 s.
bytes_flowing() {
	# shellcheck disable=SC2034 # filled and read by name (snapshot, grown)
	local -A f0 f1
	snapshot f0
	sleep 2
	snapshot f1
	echo "$1 +$(grown f0 f1 "$1") in 2 s; relays +$(grown f0 f1 relay_packets) packets," \
		"a's UDP let into b's site +$(grown f0 f1 from_a_packets)"
	FLOW_RELAY=$(grown f0 f1 relay_packets)
	(($(grown f0 f1 "$1") >= $2))
}

flows_directly() { bytes_flowing from_a_bytes 1000000 && ((FLOW_RELAY <= 4)); }

# within SECONDS LIMIT WHAT: SECONDS (empty: never) is under LIMIT.
within() {
	echo "$3 ${1:-never} s"
	[[ -n $1 ]] && ((${1%.*} < $2))
}

# nothing_crossed BEFORE AFTER: the cut rule counted drops, and no UDP from the peer got into
# either site meanwhile.
nothing_crossed() {
	echo "cut +$(grown "$1" "$2" cut); UDP let in from a +$(grown "$1" "$2" from_a_packets)," \
		"from b +$(grown "$1" "$2" from_b_packets)"
	(($(grown "$1" "$2" cut) >= 1 && $(grown "$1" "$2" from_a_packets) == 0 &&
		$(grown "$1" "$2" from_b_packets) == 0))
}

# transfer_arrived: the background send_file's result (transfer.result) says it all arrived.
XFER_MS=''
transfer_arrived() {
	local rc sum
	read -r rc sum XFER_MS <"$WORKDIR/transfer.result" 2>/dev/null
	echo "sender exit ${rc:-?}, received sha256 ${sum:-?}, sent $BULK_SUM, after ${XFER_MS:-?} ms"
	cat "$WORKDIR/transfer.out" 2>/dev/null
	tail -n 3 "$WORKDIR/socat.log" 2>/dev/null
	[[ ${rc:-} == 0 && ${sum:-} == "$BULK_SUM" ]]
}

failover() {
	local port=41645 pacer xfer start t_status='' t_flow='' t_back='' now
	# shellcheck disable=SC2034 # filled and read by name (snapshot, grown)
	local -A c0 c1 cut0
	check "failover: a and b come up behind easy NATs" set_stage easy easy $port || return 1
	traffic_start a b 15
	check "failover: direct both ways" wait_for 15 direct_both_ways || return 1
	traffic_stop

	# The transfer is paced at 1 MiB/s until the path has come back to direct, so it is still
	# running through both changes; then the rest goes at full speed.
	rm -f "$WORKDIR/paced" "$WORKDIR/release" "$WORKDIR/transfer.result"
	mkfifo "$WORKDIR/paced"
	"$PYTHON" "$NATLAB" pace "$BULK_FILE" "$WORKDIR/paced" "$WORKDIR/release" 1048576 &
	pacer=$!
	(send_file "$(ns_of a)" "$(ns_of b)" "${MESH_IP[b]}" 5005 "$WORKDIR/paced" 60 \
		>"$WORKDIR/transfer.out" 2>&1
	 echo "$SENT_RC ${SENT_SUM:-none} $SENT_MS" >"$WORKDIR/transfer.result") &
	xfer=$!
	STARTED_PIDS+=("$pacer" "$xfer")
	check "failover: the paced transfer a -> b runs over the direct path" \
		wait_for 5 bytes_flowing from_a_bytes 1000000

	snapshot c0
	check "failover: the bridge drops the routers' direct traffic from now on" cut_direct
	start=$(now_ms)
	# What was in flight when the rule went in is not the rule's business.
	sleep 0.2
	snapshot cut0
	local relay_base=${c0[relay_bytes]}
	while (($(now_ms) - start < 25000)) && [[ -z $t_status || -z $t_flow ]]; do
		now=$(seconds_since "$start")
		[[ -z $t_status ]] && path_is a b relay >/dev/null 2>&1 && t_status=$now
		[[ -z $t_flow ]] && (($(relay_total bytes_received) - relay_base >= 524288)) &&
			t_flow=$now
		sleep 0.2
	done
	check "failover: a's status says relay within 15 s of the cut" \
		within "$t_status" 15 "relay after"
	check "failover: the transfer goes on through the relays within 15 s of the cut" \
		within "$t_flow" 15 "the relays carried 512 KiB after"
	echo "# failover: status relay after ${t_status:-never} s, the transfer's data through" \
		"the relays after ${t_flow:-never} s"
	check "failover: the relays carry the transfer (1 MiB in 2 s)" \
		wait_for 5 bytes_flowing relay_bytes 1000000
	snapshot c1
	check "failover: the cut really drops: counted on the bridge, nothing got into either site" \
		nothing_crossed cut0 c1

	check "failover: the rule is removed" uncut_direct
	start=$(now_ms)
	wait_for 20 direct_both_ways >/dev/null 2>&1 && t_back=$(seconds_since "$start")
	check "failover: both report a direct path again within 20 s of removing the rule" \
		within "$t_back" 20 "direct after"
	[[ -n $t_back ]] && echo "# failover: direct again $t_back s after the rule was removed"
	FLOW_RELAY=''
	check "failover: the transfer runs directly again (1 MiB in 2 s), the relays idle" \
		wait_for 5 flows_directly
	touch "$WORKDIR/release"
	wait "$xfer"
	stop_pid "$pacer"
	check "failover: the $TRANSFER_MB MiB transfer across both changes completes, sha256 matches" \
		transfer_arrived
	[[ $XFER_MS =~ ^[0-9]+$ ]] && echo "# failover: the transfer took $((XFER_MS / 1000)) s"
}

# ---- 6. NAT rebinding -------------------------------------------------------------------------

# rebind PORT NEW: a's router maps a's PORT to NEW from now on, for every destination (still
# an easy NAT), and forgets its UDP flows (TCP to the servers is kept); b's router counts the
# UDP it lets in from the new port.
rebind() {
	n "$(router_of a)" nft insert rule ip wmn_nat postrouting \
		oifname eth0 udp sport "$1" snat to "${WAN[a]}:$2" &&
		n "$(router_of b)" nft add counter inet wmn rebound &&
		n "$(router_of b)" nft insert rule inet wmn forward iifname eth0 \
			ip saddr "${WAN[a]}" udp sport "$2" counter name rebound || return 1
	n "$(router_of a)" conntrack -D -p udp 2>&1
	echo "left: $(n "$(router_of a)" conntrack -L -p udp 2>/dev/null | wc -l) UDP flows"
}

# direct_at A_ADDR:PORT B_ADDR:PORT: b reaches a directly at the first, a reaches b at the second.
direct_at() { endpoint_is b a "$1" && endpoint_is a b "$2"; }

rebinding() {
	local port=41646 new=20646 start t_conn='' t_direct='' now
	# shellcheck disable=SC2034 # filled and read by name (snapshot, grown)
	local -A c0 c1
	if ! command -v conntrack >/dev/null 2>&1; then
		skip "rebind: NAT rebinding needs the conntrack tool (scripts/install-deps)"
		return 0
	fi
	check "rebind: a and b come up behind easy NATs" set_stage easy easy $port || return 1
	traffic_start a b 15
	check "rebind: a and b reach each other directly, a at ${WAN[a]}:$port" \
		wait_for 15 direct_at "${WAN[a]}:$port" "${WAN[b]}:$port" || return 1
	traffic_stop
	check "rebind: what crossed was direct, before the rebinding" crossed_by direct || return 1
	check "rebind: a's router moves a's mapping to port $new and flushes its UDP flows" \
		rebind $port $new || return 1
	start=$(now_ms)
	traffic_start a b 40
	# Connectivity comes back through the relays; direct needs a's new mapping, which a learns
	# from the STUN round it starts when its direct path dies (docs/nat-traversal.md).
	# Both times are wanted: stopping at the first direct sighting could leave t_conn unset when
	# the ping that was in flight went out just before the path came back.
	while (($(now_ms) - start < 20000)) && [[ -z $t_direct || -z $t_conn ]]; do
		now=$(seconds_since "$start")
		[[ -z $t_conn ]] && pings "$(ns_of a)" "${MESH_IP[b]}" >/dev/null 2>&1 &&
			t_conn=$(seconds_since "$start")
		[[ -z $t_direct ]] && direct_at "${WAN[a]}:$new" "${WAN[b]}:$port" >/dev/null 2>&1 &&
			t_direct=$now
		sleep 0.2
	done
	check "rebind: a reaches b again within 10 s" within "$t_conn" 10 "answered after"
	check "rebind: direct both ways again, a at the new port ${WAN[a]}:$new, within 20 s" \
		within "$t_direct" 20 "direct after"
	echo "# rebind: ping answered again after ${t_conn:-never} s, direct on the new port" \
		"after ${t_direct:-never} s"
	traffic_stop
	snapshot c0
	check "rebind: what crossed was direct, a's UDP from port $new" crossed_by direct
	snapshot c1
	check "rebind: b's router let in a's UDP from port $new" at_least c0 c1 rebound 36
	check "rebind: netcheck on a reports ${WAN[a]}:$new" eval \
		"netcheck a && netcheck_query a \"set(j['reflexive']) == {'${WAN[a]}:$new'}\""
}

# ---- 7. two nodes join in the same instant -----------------------------------------------------

# leave NODE: down with --logout (the server forgets it) and no state left: the next `up` is
# a node the mesh has never seen.
leave() {
	[[ -S $(state_of "$1")/wiremesh.sock ]] && wm "$1" down --logout >/dev/null 2>&1
	down "$1" && rm -rf "$(state_of "$1")"
}

# up_together PORT: a and b run `wiremesh up` at the same moment; both must succeed.
up_together() {
	local pa pb rc=0
	up a "$1" >"$WORKDIR/together-a.out" 2>&1 &
	pa=$!
	up b "$1" >"$WORKDIR/together-b.out" 2>&1 &
	pb=$!
	STARTED_PIDS+=("$pa" "$pb")
	wait "$pa" || rc=1
	wait "$pb" || rc=1
	cat "$WORKDIR/together-a.out" "$WORKDIR/together-b.out"
	return $rc
}

# join_trial NAT PORT: one trial, reported in one line; fails when the first ping went
# unanswered, or a WireGuard packet went where no pong had proven a path.
join_trial() {
	local nat=$1 port=$2 start to_lan=0 not_relayed=0 node p b answered=no
	leave a && leave b || { echo "the previous nodes did not leave"; return 1; }
	router_rules a "$nat" && router_rules b "$nat" || return 1
	start=$(now_ms)
	up_together "$port" >"$WORKDIR/together.out" 2>&1 ||
		{ echo "wiremesh up failed:"; cat "$WORKDIR/together.out"; return 1; }
	remember_address a && remember_address b || { echo "no addresses"; return 1; }
	wait_for 10 knows a b >/dev/null && wait_for 10 knows b a >/dev/null ||
		{ echo "the nodes do not list each other"; return 1; }
	n "$(ns_of a)" ping -n -q -c 1 -W 3 "${MESH_IP[b]}" >/dev/null 2>&1 && answered=yes
	for node in a b; do
		read -r p b < <(nft_counter "$(router_of "$node")" inet wmn wg_to_lan)
		to_lan=$((to_lan + p))
		read -r p b < <(nft_counter "$(router_of "$node")" inet wmn wg_not_relayed)
		not_relayed=$((not_relayed + p))
	done
	echo "$nat/$nat: first ping $([[ $answered == yes ]] && echo answered || echo NOT answered)" \
		"$(seconds_since "$start") s after the start; WireGuard messages to the other LAN:" \
		"$to_lan, not through a relay: $not_relayed"
	[[ $answered == yes ]] && ((to_lan == 0)) || return 1
	[[ $nat == easy ]] || ((not_relayed == 0))
}

# join_trials NAT FIRST_PORT: JOIN_TRIALS trials (each on its own port, so no conntrack entry
# of an earlier one decides anything); fails unless every one is good.
join_trials() {
	local nat=$1 port=$2 i good=0 log=$WORKDIR/join-$1.log
	: >"$log"
	for ((i = 0; i < JOIN_TRIALS; i++)); do
		if ! join_trial "$nat" $((port + i)) >>"$log" 2>&1; then
			echo "  (trial $((i + 1)) failed)" >>"$log"
			continue
		fi
		good=$((good + 1))
	done
	echo "$good of $JOIN_TRIALS trials good"
	cat "$log"
	((good == JOIN_TRIALS))
}

joining_together() {
	traffic_stop
	check "together: new nodes behind easy NATs up in the same instant, $JOIN_TRIALS times: the first ping answered at once, nothing sent to the other LAN" \
		join_trials easy 41700
	check "together: the same behind hard NATs, $JOIN_TRIALS times: the first ping answered at once, no WireGuard packet but through the relays" \
		join_trials hard 41750
	cat "$WORKDIR/join-easy.log" "$WORKDIR/join-hard.log" 2>/dev/null | grep -E '^(easy|hard)/' |
		sed 's/^/# /'
	leave a
	leave b
}

# ---- main -------------------------------------------------------------------------------------

is_root "nat" || exit 0
has_tools "nat" ip nft curl ping python3 socat sha256sum timeout awk mkfifo || exit 0
are_built "nat" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)
NATLAB=$WORKDIR/natlab.py
printf '%s' "$NATLAB_PY" >"$NATLAB"
BULK_FILE=$WORKDIR/bulk.bin
head -c $((TRANSFER_MB * 1048576)) /dev/urandom >"$BULK_FILE"
BULK_SUM=$(sha256sum "$BULK_FILE" | cut -d' ' -f1)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! set_up_servers >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "nat: namespaces, NAT routers, coordination server and two relays"
	indent <"$WORKDIR/setup.log"
	tail -n 5 "$WORKDIR/coord.log" 2>/dev/null | indent
	exit 1
fi
ok "nat: two NAT sites on a bridge, wiremesh-coord and relays in regions 1 and 2 are up"

topology
for scenario in $SCENARIOS; do
	case $scenario in
	1) both_easy ;;
	2) hard_and_easy ;;
	3) both_hard ;;
	4) no_udp ;;
	5) failover ;;
	6) rebinding ;;
	7) joining_together ;;
	*) not_ok "nat: unknown scenario '$scenario' in WMT_NAT_SCENARIOS (1 to 7)" ;;
	esac
done
traffic_stop
down a >/dev/null 2>&1
down b >/dev/null 2>&1

echo "# nat: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
