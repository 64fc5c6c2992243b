#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# WireGuard through a DERP relay: two wiremesh nodes that cannot exchange UDP directly reach
# each other only through wiremesh-relay (their peers' endpoints are 127.3.3.40:1, relay
# region 1). Needs root.
#
#                          ns switch: bridge br0
#        +--------------------+--------------------+--------------------+
#   ns relay 192.0.2.3   ns A 192.0.2.1       ns B 192.0.2.2       ns C 192.0.2.4
#   wiremesh-relay       wiremesh 10.9.0.1    wiremesh 10.9.0.2    wiremesh 10.9.0.3 (no peers)
#
# nftables in A drops (and counts) UDP to and from B, and B counts any UDP from A that arrives,
# so the only way between them is the relay's TCP connection. Scenarios:
#   http     plain HTTP relay: ping both ways, TRANSFER_MB MiB TCP each way (sha256), wg show,
#            the relay's counters cover the transfers, C received none of it
#   restart  kill -9 the relay while idle, restart it on the same address and key: the nodes
#            reconnect by themselves and ping resumes
#   https    TLS relay with a test CA and a certificate for relay.test (resolved through
#            /etc/netns/NS/hosts, which `ip netns exec` mounts over /etc/hosts): ping and a
#            transfer; a node trusting another CA does not connect
#
#   TRANSFER_MB=50  TRANSFER_TIMEOUT=20 (seconds per transfer)  WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

TRANSFER_MB=${TRANSFER_MB:-50}
TRANSFER_TIMEOUT=${TRANSFER_TIMEOUT:-20}

NS_SW=wmr-$RUN_ID-sw
NS_R=wmr-$RUN_ID-r
NS_A=wmr-$RUN_ID-a
NS_B=wmr-$RUN_ID-b
NS_C=wmr-$RUN_ID-c
ADDR_R=192.0.2.3
ADDR_A=192.0.2.1
ADDR_B=192.0.2.2
ADDR_C=192.0.2.4
OVL_A=10.9.0.1
OVL_B=10.9.0.2
OVL_C=10.9.0.3
HTTP_PORT=3340
HTTPS_PORT=3443
RELAY_NAME=relay.test
NETNS_ETC=/etc/netns
NETNS_MARK=.made-by-wiremesh-e2e
NAMED_NS=()

# The interfaces of the current scenario (a new set per relay, since --relay is a flag).
IF_A='' IF_B='' IF_C=''
RELAY_PID='' RELAY_LOG='' RELAY_ARGS=()

print_diagnostics() {
	local ifname
	for ifname in "$IF_A" "$IF_B" "$IF_C"; do
		[[ -n $ifname ]] && show_daemon "$ifname"
	done
	if [[ -n $RELAY_LOG && -f $RELAY_LOG ]]; then
		echo "--- relay pid $RELAY_PID$(is_running "${RELAY_PID:-0}" || echo ' (not running)')," \
			"last lines of ${RELAY_LOG##*/}:"
		tail -n 10 "$RELAY_LOG"
	fi
}

# ---- topology ------------------------------------------------------------------------------


create_topology() {
	create_namespace "$NS_SW" &&
		ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up &&
		attach "$NS_R" "$ADDR_R" && attach "$NS_A" "$ADDR_A" && attach "$NS_B" "$ADDR_B" &&
		attach "$NS_C" "$ADDR_C" &&
		wait_for 5 n "$NS_A" ping -n -q -c 1 -W 1 "$ADDR_B"
}

# A drops and counts UDP to and from B; B counts the UDP from A that still reaches it.
block_direct_udp() {
	cat >"$WORKDIR/block.nft" <<-EOF
	table inet wmr_block {
		chain o {
			type filter hook output priority 0;
			ip daddr $ADDR_B meta l4proto udp counter drop
		}
		chain i {
			type filter hook input priority 0;
			ip saddr $ADDR_B meta l4proto udp counter drop
		}
	}
	EOF
	cat >"$WORKDIR/watch.nft" <<-EOF
	table inet wmr_watch {
		chain i {
			type filter hook input priority 0;
			ip saddr $ADDR_A meta l4proto udp counter
		}
	}
	EOF
	n "$NS_A" nft -f "$WORKDIR/block.nft" && n "$NS_B" nft -f "$WORKDIR/watch.nft"
}

# nft_packets NS TABLE CHAIN: the packet count of the chain's one counter.
nft_packets() {
	n "$1" nft list chain inet "$2" "$3" | grep -oE 'counter packets [0-9]+' | grep -oE '[0-9]+$'
}

# send_udp NS ADDR: one datagram to ADDR:9 (discard); an EPERM from the firewall is expected.
send_udp() { echo probe | n "$1" socat -u - "UDP-SENDTO:$2:9" >/dev/null 2>&1; return 0; }

# The firewall works: a probe each way is counted as dropped in A, and B saw nothing from A.
direct_udp_is_dropped() {
	local out in seen
	send_udp "$NS_A" "$ADDR_B"
	send_udp "$NS_B" "$ADDR_A"
	out=$(nft_packets "$NS_A" wmr_block o) in=$(nft_packets "$NS_A" wmr_block i)
	seen=$(nft_packets "$NS_B" wmr_watch i)
	echo "A dropped $out out, $in in; B received $seen from A"
	[[ ${out:-0} -ge 1 && ${in:-0} -ge 1 && $seen == 0 ]]
}

# No UDP from A reached B (the firewall was still in place: its counters only grew).
no_direct_udp_crossed() {
	local out in seen
	out=$(nft_packets "$NS_A" wmr_block o) in=$(nft_packets "$NS_A" wmr_block i)
	seen=$(nft_packets "$NS_B" wmr_watch i)
	DROPPED="$out out, $in in"
	echo "A dropped $DROPPED; B received $seen datagrams from A"
	[[ ${out:-0} -ge 1 && ${in:-0} -ge 1 && $seen == 0 ]]
}

# ---- the relay -----------------------------------------------------------------------------

# start_relay NAME ARGS...: wiremesh-relay in its namespace; waits for its "serving" line.
start_relay() {
	local name=$1
	shift
	RELAY_ARGS=("$@")
	RELAY_LOG=$WORKDIR/relay-$name.log
	ip netns exec "$NS_R" "$RELAY_BIN" "$@" </dev/null >"$RELAY_LOG" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	if ! wait_for 5 grep -q '^wiremesh-relay: serving' "$RELAY_LOG"; then
		echo "relay $name did not start:"
		cat "$RELAY_LOG"
		return 1
	fi
}

stop_relay() {
	[[ -n $RELAY_PID ]] && stop_pid "$RELAY_PID"
	RELAY_PID=''
}

# relay_vars [CURL_ARGS...]: the relay's /debug/vars (plain HTTP unless told otherwise).
relay_vars() {
	n "$NS_R" curl -s --max-time 5 "${@:-http://$ADDR_R:$HTTP_PORT/debug/vars}"
}

# counter JSON NAME
counter() { grep -oE "\"$2\":[0-9]+" <<<"$1" | cut -d: -f2; }

# relay_carried BEFORE_JSON BYTES [CURL_ARGS...]: packets_received and bytes_received grew by at
# least BYTES (and packets by at least one per 1500 bytes of it: datagrams, not a byte stream).
relay_carried() {
	local after p0 p1 b0 b1
	after=$(relay_vars "${@:3}") || { echo "no answer from /debug/vars"; return 1; }
	p0=$(counter "$1" packets_received) p1=$(counter "$after" packets_received)
	b0=$(counter "$1" bytes_received) b1=$(counter "$after" bytes_received)
	echo "packets_received $p0 -> $p1, bytes_received $b0 -> $b1, expected +$2 bytes"
	[[ -n $p0 && -n $p1 && -n $b0 && -n $b1 ]] &&
		((b1 - b0 >= $2 && p1 - p0 >= $2 / 1500))
}

# relay_drops WHAT [CURL_ARGS...]: a comment line with the relay's drop counters (TCP through
# the relay recovers from them; many mean its queues are too short for a transfer).
relay_drops() {
	local vars name line=''
	vars=$(relay_vars "${@:2}")
	for name in drops_queue_full drops_memory drops_unknown_dest write_timeouts; do
		line+=" $name $(counter "$vars" "$name")"
	done
	echo "# $1: relay$line"
}

# ---- the nodes -----------------------------------------------------------------------------

# start_node NS IF ARGS...: wiremesh in the foreground with relay options ARGS.
start_node() {
	local ns=$1 ifname=$2
	shift 2
	launch_daemon "$ns" "$ifname" env LOG_LEVEL=verbose "$WM_BIN" -f "$@" "$ifname"
}

# configure_node NS IF KEY OVERLAY [PEER PEER_OVERLAY]: the peer, if any, behind relay region 1.
configure_node() {
	local ns=$1 ifname=$2 args=(private-key "$WORKDIR/$3.key")
	[[ -n ${5:-} ]] && args+=(peer "$(pubkey "$5")" endpoint 127.3.3.40:1 allowed-ips "$6/32")
	wg_in "$ns" set "$ifname" "${args[@]}" &&
		ip -n "$ns" addr add "$4/24" dev "$ifname" &&
		ip -n "$ns" link set "$ifname" up
}

# connections IF: how often the node's log says its relay connection came up.
connections() { grep -c 'connected (server protocol version' "${DAEMON_LOG[$1]}"; }

connected_at_least() { [[ $(connections "$1") -ge $2 ]]; }

# both_connected N: A's and B's relay connections came up N times each.
both_connected() {
	wait_for 10 eval "connected_at_least $IF_A $1 && connected_at_least $IF_B $1" ||
		{ echo "connections: $IF_A $(connections "$IF_A"), $IF_B $(connections "$IF_B")"; return 1; }
}

# start_pair URL [RELAY_CA]: A and B, each knowing the other behind the relay.
start_pair() {
	local relay=(--relay "1=$1")
	[[ -n ${2:-} ]] && relay+=(--relay-ca "$2")
	start_node "$NS_A" "$IF_A" "${relay[@]}" && start_node "$NS_B" "$IF_B" "${relay[@]}" &&
		configure_node "$NS_A" "$IF_A" a "$OVL_A" b "$OVL_B" &&
		configure_node "$NS_B" "$IF_B" b "$OVL_B" a "$OVL_A"
}

stop_nodes() {
	local ifname
	for ifname in "$IF_A" "$IF_B" "$IF_C"; do
		[[ -n $ifname ]] || continue
		stop_daemon "$ifname"
		rm -f "$(uapi_socket "$ifname")"
		unset 'DAEMON_NS[$ifname]'
	done
	IF_A='' IF_B='' IF_C=''
	trim_logs
}

# peer_field NS IF FIELD: endpoint or latest-handshake of the one peer in `wg show dump`.
peer_field() {
	local col
	case $3 in endpoint) col=3 ;; latest-handshake) col=5 ;; esac
	wg_in "$1" show "$2" dump | sed -n 2p | cut -f"$col"
}

endpoint_is_relay_with_handshake() {
	local ep hs
	ep=$(peer_field "$NS_A" "$IF_A" endpoint) hs=$(peer_field "$NS_A" "$IF_A" latest-handshake)
	echo "endpoint '$ep', latest handshake '$hs'"
	[[ $ep == 127.3.3.40:1 && $hs =~ ^[0-9]+$ && $hs -gt 0 ]]
}

# tun_rx_at_most NS IF PACKETS: the daemon wrote at most PACKETS packets into its TUN.
tun_rx_at_most() {
	local rx
	rx=$(n "$1" cat "/sys/class/net/$2/statistics/rx_packets") || return 1
	TUN_RX=$rx
	echo "$2 rx_packets $rx"
	[[ $rx -le $3 ]]
}

# transfer FROM_NS TO_NS TO_ADDR PORT WHAT: the bulk file over TCP through the relay; the ok
# line carries the time.
transfer() {
	local what="$5: $TRANSFER_MB MiB TCP $1 -> $2 through the relay"
	if send_file "${@:1:4}" "$BULK_FILE" "$TRANSFER_TIMEOUT" >"$WORKDIR/check.out" 2>&1 &&
		[[ $SENT_SUM == "$BULK_SUM" ]]; then
		ok "${what//wmr-$RUN_ID-/}, sha256 matches, $(awk -v ms="$SENT_MS" -v mb="$TRANSFER_MB" \
			'BEGIN { printf "%.1f s, %.0f MB/s", ms / 1000, mb * 1.048576 * 1000 / ms }')"
		return 0
	fi
	not_ok "${what//wmr-$RUN_ID-/}"
	{
		[[ $SENT_RC == 124 ]] && echo "sender timed out after $TRANSFER_TIMEOUT s"
		cat "$WORKDIR/check.out"
		echo "sender exit $SENT_RC, received sha256 '$SENT_SUM', sent $BULK_SUM, after $SENT_MS ms"
		tail -n 5 "$WORKDIR/socat.log" 2>/dev/null
		print_diagnostics
	} | indent
	return 1
}

# ---- 1. plain HTTP -------------------------------------------------------------------------

over_plain_http() {
	local url=http://$ADDR_R:$HTTP_PORT/derp before bytes=$((TRANSFER_MB * 1048576))
	IF_A=wmr${RUN_ID}a1 IF_B=wmr${RUN_ID}b1 IF_C=wmr${RUN_ID}c1
	if ! start_relay http --plain --listen "$ADDR_R:$HTTP_PORT" --stun off \
		--key-file "$WORKDIR/relay.key" -v >"$WORKDIR/setup.log" 2>&1 ||
		! start_pair "$url" >>"$WORKDIR/setup.log" 2>&1; then
		not_ok "http: relay and nodes start"
		{ cat "$WORKDIR/setup.log"; print_diagnostics; } | indent
		return 1
	fi
	# C shares the relay but knows neither A nor B.
	check "http: a third node C on the same relay, with no peers" eval \
		"start_node $NS_C $IF_C --relay 1=$url && configure_node $NS_C $IF_C c $OVL_C"
	check "http: A and B connect to the relay" both_connected 1
	check "http: C connects to the relay" wait_for 10 connected_at_least "$IF_C" 1
	# Without a path the checks below would only wait out their time limits.
	check "http: A pings B ($OVL_B) through the relay" ping_within 10 "$NS_A" "$OVL_B" &&
		check "http: B pings A ($OVL_A) through the relay" ping_within 5 "$NS_B" "$OVL_A" ||
		return 1
	before=$(relay_vars)
	transfer "$NS_A" "$NS_B" "$OVL_B" 5001 http
	transfer "$NS_B" "$NS_A" "$OVL_A" 5002 http
	check "http: wg show on A: endpoint 127.3.3.40:1 and a handshake" \
		endpoint_is_relay_with_handshake
	check "http: the relay's packets_received and bytes_received cover both transfers" \
		relay_carried "$before" $((2 * bytes))
	relay_drops "http"
	TUN_RX='?'
	if tun_rx_at_most "$NS_C" "$IF_C" 5 >"$WORKDIR/check.out" 2>&1; then
		ok "http: C's TUN received none of A's and B's traffic (rx_packets $TUN_RX)"
	else
		not_ok "http: C's TUN received none of A's and B's traffic"
		indent <"$WORKDIR/check.out"
	fi
	DROPPED='?'
	if no_direct_udp_crossed >"$WORKDIR/check.out" 2>&1; then
		ok "http: no UDP crossed directly between A and B (A dropped $DROPPED, B saw 0)"
	else
		not_ok "http: no UDP crossed directly between A and B"
		indent <"$WORKDIR/check.out"
	fi
}

# ---- 2. relay restart ----------------------------------------------------------------------

relay_restart() {
	local start
	if [[ -z $RELAY_PID ]] || ! is_running "$RELAY_PID"; then
		not_ok "restart: the http relay is not running"
		return 1
	fi
	# Idle: no ping since the transfers, which ended with acknowledged data.
	kill -KILL "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
	check_not "restart: with the relay killed, A's ping to B gets no answer" \
		n "$NS_A" ping -n -q -c 2 -i 0.5 -W 1 "$OVL_B"
	start=$(now_ms)
	check "restart: the relay restarts on the same address, port and key" \
		start_relay http-again "${RELAY_ARGS[@]}"
	check "restart: A and B reconnect by themselves (their logs)" both_connected 2
	if ping_within 15 "$NS_A" "$OVL_B" >/dev/null 2>&1; then
		ok "restart: A's ping to B works again $(seconds_since "$start") s after the restart"
	else
		not_ok "restart: A's ping to B works again within 15 s of the restart"
		print_diagnostics | indent
	fi
	check "restart: B's ping to A works" ping_within 5 "$NS_B" "$OVL_A"
}

# ---- 3. TLS --------------------------------------------------------------------------------

# make_certificates: a test CA, a certificate for relay.test signed by it, and an unrelated
# self-signed certificate for the same name.
make_certificates() (
	ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	cd "$WORKDIR" || exit 1
	printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' \
		"$RELAY_NAME" >server.ext
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=wiremesh test CA $RUN_ID" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout ca.key -out ca.pem &&
		openssl req "${ec[@]}" -subj "/CN=$RELAY_NAME" -keyout server.key -out server.csr &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem &&
		openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=$RELAY_NAME" \
			-addext "subjectAltName=DNS:$RELAY_NAME" -keyout other.key -out other.pem
)

# name_relay NS: relay.test resolves to the relay inside NS only. A run that has to create
# /etc/netns leaves a marker in it, so that whichever run ends last removes it.
name_relay() {
	if [[ ! -d $NETNS_ETC ]]; then
		mkdir -p "$NETNS_ETC" && touch "$NETNS_ETC/$NETNS_MARK" || return 1
	fi
	NAMED_NS+=("$1")
	mkdir -p "$NETNS_ETC/$1" &&
		printf '127.0.0.1 localhost\n::1 localhost\n%s %s\n' "$ADDR_R" "$RELAY_NAME" \
			>"$NETNS_ETC/$1/hosts"
}

# Registered as a cleanup hook.
unname_relays() {
	local ns
	for ns in "${NAMED_NS[@]}"; do
		rm -rf "${NETNS_ETC:?}/$ns"
	done
	if [[ -e $NETNS_ETC/$NETNS_MARK && $(ls -A "$NETNS_ETC") == "$NETNS_MARK" ]]; then
		rm -f "${NETNS_ETC:?}/$NETNS_MARK"
		rmdir "$NETNS_ETC" 2>/dev/null
	fi
	return 0
}

over_tls() {
	local url=https://$RELAY_NAME:$HTTPS_PORT/derp before bytes=$((TRANSFER_MB * 1048576))
	IF_A=wmr${RUN_ID}a2 IF_B=wmr${RUN_ID}b2 IF_C=wmr${RUN_ID}c2
	if ! make_certificates >"$WORKDIR/setup.log" 2>&1 ||
		! name_relay "$NS_A" || ! name_relay "$NS_B" || ! name_relay "$NS_C" ||
		! start_relay https --listen "$ADDR_R:$HTTPS_PORT" --cert "$WORKDIR/server.pem" \
			--key "$WORKDIR/server.key" --stun off --key-file "$WORKDIR/relay.key" -v \
			>>"$WORKDIR/setup.log" 2>&1 ||
		! start_pair "$url" "$WORKDIR/ca.pem" >>"$WORKDIR/setup.log" 2>&1; then
		not_ok "https: certificates, relay and nodes start"
		{ cat "$WORKDIR/setup.log"; print_diagnostics; } | indent
		return 1
	fi
	# Started now, so that its failed attempts overlap the checks below.
	check "https: a node C trusting another certificate for $RELAY_NAME starts" eval \
		"start_node $NS_C $IF_C --relay 1=$url --relay-ca $WORKDIR/other.pem &&
		 configure_node $NS_C $IF_C c $OVL_C"
	check "https: A and B connect to https://$RELAY_NAME:$HTTPS_PORT/derp" both_connected 1
	# Without a path the checks below would only wait out their time limits.
	check "https: A pings B ($OVL_B) through the relay" ping_within 10 "$NS_A" "$OVL_B" &&
		check "https: B pings A ($OVL_A) through the relay" ping_within 5 "$NS_B" "$OVL_A" ||
		return 1
	before=$(relay_vars --cacert "$WORKDIR/ca.pem" --resolve "$RELAY_NAME:$HTTPS_PORT:$ADDR_R" \
		"https://$RELAY_NAME:$HTTPS_PORT/debug/vars")
	check "https: curl reads /debug/vars with the test CA" eval "[[ \$before == *upgrades* ]]"
	transfer "$NS_A" "$NS_B" "$OVL_B" 5003 https
	check "https: the relay's counters cover the transfer" eval \
		"relay_carried \"\$before\" $bytes --cacert $WORKDIR/ca.pem \
		 --resolve $RELAY_NAME:$HTTPS_PORT:$ADDR_R https://$RELAY_NAME:$HTTPS_PORT/debug/vars"
	relay_drops "https" --cacert "$WORKDIR/ca.pem" --resolve "$RELAY_NAME:$HTTPS_PORT:$ADDR_R" \
		"https://$RELAY_NAME:$HTTPS_PORT/debug/vars"
	check "https: C, trusting another certificate, never connected and keeps retrying" eval \
		"grep -m1 'retrying in' ${DAEMON_LOG[$IF_C]} && ! connected_at_least $IF_C 1"
}

# ---- main ----------------------------------------------------------------------------------

is_root "relay path" || exit 0
has_tools "relay path" ip wg nft socat curl openssl ping ss python3 sha256sum timeout awk || exit 0
are_built "relay path" "$WM_BIN" "$RELAY_BIN" || exit 0
set_up_run
CLEANUP_HOOKS+=(unname_relays)
RUN_START=$(now_ms)

for key in a b c; do
	make_keypair "$key" || { not_ok "relay path: generating keys"; exit 1; }
done
BULK_FILE=$WORKDIR/bulk
head -c "${TRANSFER_MB}M" /dev/urandom >"$BULK_FILE" || { not_ok "relay path: test file"; exit 1; }
BULK_SUM=$(sha256sum <"$BULK_FILE" | cut -d' ' -f1)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! block_direct_udp >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "relay path: namespaces, bridge and nftables"
	indent <"$WORKDIR/setup.log"
	exit 1
fi
check "topology: direct UDP between A and B is dropped both ways (nft counters)" \
	direct_udp_is_dropped

step=$(now_ms)
if over_plain_http; then
	echo "# http: $(seconds_since "$step") s"
	step=$(now_ms)
	relay_restart
	echo "# restart: $(seconds_since "$step") s"
else
	skip "restart: the http scenario has no working path through the relay to restart"
fi
stop_nodes
stop_relay

step=$(now_ms)
over_tls
echo "# https: $(seconds_since "$step") s"
stop_nodes
stop_relay

echo "# relay path: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
