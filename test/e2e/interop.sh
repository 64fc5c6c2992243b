#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Interoperability scenarios: wiremesh against itself and against wireguard-go, driven by the
# real wg and wg-quick, in network namespaces (topology in lib.sh). Needs root.
#
#   PAIRS="wiremesh:wiremesh wiremesh:wireguard-go wireguard-go:wiremesh"  left:right
#   WM_BIN=build/wiremesh  WG_GO=wireguard-go
#   SCENARIOS="ping transfer initiator psk wg-quick fds counters roaming sticky second restart garbage"
#   TRANSFER_MB=200  TRANSFER_TIMEOUT=60 (seconds per direction)
#
# To prove the script before wiremesh exists: PAIRS=wireguard-go:wireguard-go test/e2e/interop.sh

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

PAIRS=${PAIRS:-wiremesh:wiremesh wiremesh:wireguard-go wireguard-go:wiremesh}
SCENARIOS=${SCENARIOS:-ping transfer initiator psk wg-quick fds counters roaming sticky second restart garbage}
TRANSFER_MB=${TRANSFER_MB:-200}
TRANSFER_TIMEOUT=${TRANSFER_TIMEOUT:-60}

# Per side (1 = left, 2 = right).
SNS=([1]=$NS1 [2]=$NS2)
SIF=([1]=$IF1 [2]=$IF2)
SPORT=([1]=$PORT1 [2]=$PORT2)
U4=([1]=$UNDERLAY4_1 [2]=$UNDERLAY4_2)
U6=([1]=$UNDERLAY6_1 [2]=$UNDERLAY6_2)
O4=([1]=$OVERLAY4_1 [2]=$OVERLAY4_2)
O6=([1]=$OVERLAY6_1 [2]=$OVERLAY6_2)
SIMPL=([1]=none [2]=none)
PAIR=

print_diagnostics() {
	show_daemon "$IF1"
	show_daemon "$IF2"
}

# ---- building a pair -----------------------------------------------------------------------

# configure_side SIDE ENDPOINT [PSK_FILE]: keys, port and the one peer through `wg set`, then the
# overlay addresses. ENDPOINT is v4, v6 or none (this side then waits to be contacted).
configure_side() {
	local me=$1 endpoint=$2 psk=${3:-} peer=$((3 - $1)) args
	args=(private-key "$WORKDIR/side$me.key" listen-port "${SPORT[$me]}"
		peer "$(pubkey "side$peer")")
	[[ -n $psk ]] && args+=(preshared-key "$psk")
	case $endpoint in
	v4) args+=(endpoint "${U4[$peer]}:${SPORT[$peer]}") ;;
	v6) args+=(endpoint "[${U6[$peer]}]:${SPORT[$peer]}") ;;
	esac
	args+=(allowed-ips "${O4[$peer]}/32,${O6[$peer]}/128")
	wg_in "${SNS[$me]}" set "${SIF[$me]}" "${args[@]}" &&
		ip -n "${SNS[$me]}" addr add "${O4[$me]}/24" dev "${SIF[$me]}" &&
		ip -n "${SNS[$me]}" addr add "${O6[$me]}/64" dev "${SIF[$me]}" nodad &&
		ip -n "${SNS[$me]}" link set "${SIF[$me]}" up
}

# start_side SIDE: the side's implementation as a foreground daemon in its namespace.
start_side() { start_daemon "${SNS[$1]}" "${SIMPL[$1]}" "${SIF[$1]}"; }

# bring_up_pair [LEFT_ENDPOINT RIGHT_ENDPOINT [LEFT_PSK RIGHT_PSK]]: fresh namespaces, both
# daemons, both configured. By default each side knows the other's IPv4 underlay endpoint.
bring_up_pair() {
	local e1=${1:-v4} e2=${2:-v4} psk1=${3:-} psk2=${4:-}
	create_underlay && start_side 1 && start_side 2 &&
		configure_side 1 "$e1" "$psk1" && configure_side 2 "$e2" "$psk2"
}

tear_down_pair() {
	stop_daemon "$IF1"
	stop_daemon "$IF2"
	delete_underlay
	rm -f "$(uapi_socket "$IF1")" "$(uapi_socket "$IF2")"
	unset 'DAEMON_NS[$IF1]' 'DAEMON_NS[$IF2]'
	trim_logs
}

# run_scenario FUNCTION NAME: a fresh pair per scenario, so one failure does not cascade.
run_scenario() {
	local fn=$1 name=$2 log=$WORKDIR/setup.log
	if ! bring_up_pair "${@:3}" >"$log" 2>&1; then
		not_ok "$PAIR: $name: setting up the pair"
		{ cat "$log"; print_diagnostics; } | indent
		tear_down_pair
		return
	fi
	"$fn"
	tear_down_pair
}

wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# ---- wg show dump --------------------------------------------------------------------------

# peer_field SIDE FIELD: one field of the first peer line of `wg show dump` (public-key,
# preshared-key, endpoint, allowed-ips, latest-handshake, transfer-rx, transfer-tx, keepalive).
peer_field() {
	local col
	case $2 in
	public-key) col=1 ;; preshared-key) col=2 ;; endpoint) col=3 ;; allowed-ips) col=4 ;;
	latest-handshake) col=5 ;; transfer-rx) col=6 ;; transfer-tx) col=7 ;; keepalive) col=8 ;;
	esac
	wg_in "${SNS[$1]}" show "${SIF[$1]}" dump | sed -n 2p | cut -f"$col"
}

has_handshake() { local t; t=$(peer_field "$1" latest-handshake) && [[ $t =~ ^[0-9]+$ && $t -gt 0 ]]; }
has_no_handshake() { local t; t=$(peer_field "$1" latest-handshake) && [[ $t == 0 ]]; }

# endpoint_is SIDE EXPECTED
endpoint_is() {
	local got
	got=$(peer_field "$1" endpoint)
	[[ $got == "$2" ]] || { echo "endpoint is '$got', expected '$2'"; return 1; }
}

# allowed_ips_are SIDE EXPECTED: compared as sets.
allowed_ips_are() {
	local got
	got=$(peer_field "$1" allowed-ips | tr ',' '\n' | sort | paste -sd,)
	[[ $got == "$2" ]] || { echo "allowed ips are '$got', expected '$2'"; return 1; }
}

# counter_covers SIDE FIELD BYTES: the counter is at least BYTES and at most 25% + 1 MiB above
# (the encapsulation overhead of full-size TCP segments plus the ACKs is well under that).
counter_covers() {
	local got
	got=$(peer_field "$1" "$2")
	[[ $got =~ ^[0-9]+$ ]] || { echo "$2 is '$got'"; return 1; }
	# The upper bound catches double counting; below it go WireGuard's and TCP's overhead, the
	# ACKs of the transfer the other way, and retransmissions on a loaded machine.
	if ((got < $3 || got > $3 * 3 / 2 + 1048576)); then
		echo "$2 is $got, expected between $3 and $(($3 * 3 / 2 + 1048576))"
		return 1
	fi
}

interface_is_gone() { ! ip -n "$1" link show "$2" >/dev/null 2>&1; }
socket_is_gone() { [[ ! -e $(uapi_socket "$1") ]]; }
daemon_has_exited() { wait_for 5 eval "! daemon_is_running $1"; }

# ---- 1. ping over both underlays -----------------------------------------------------------

pings_cross_ipv4_and_ipv6_underlays() {
	check "$PAIR: ping ${O4[2]} over IPv4 underlay" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: ping ${O4[1]} (right to left) over IPv4 underlay" ping_within 5 "$NS2" "${O4[1]}"
	check "$PAIR: ping ${O6[2]} over IPv4 underlay" ping_within 5 "$NS1" "${O6[2]}"
	check "$PAIR: ping ${O6[1]} (right to left) over IPv4 underlay" ping_within 5 "$NS2" "${O6[1]}"

	# Re-point both ends, then take IPv4 off the wire so nothing can still flow over it.
	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" endpoint "[${U6[2]}]:${SPORT[2]}"
	wg_in "$NS2" set "$IF2" peer "$(pubkey side1)" endpoint "[${U6[1]}]:${SPORT[1]}"
	ip -n "$NS1" addr del "${U4[1]}/24" dev v1
	ip -n "$NS2" addr del "${U4[2]}/24" dev v2
	check "$PAIR: ping ${O4[2]} over IPv6 underlay" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: ping ${O4[1]} (right to left) over IPv6 underlay" ping_within 5 "$NS2" "${O4[1]}"
	check "$PAIR: ping ${O6[2]} over IPv6 underlay" ping_within 5 "$NS1" "${O6[2]}"
	check "$PAIR: ping ${O6[1]} (right to left) over IPv6 underlay" ping_within 5 "$NS2" "${O6[1]}"
	check "$PAIR: left's endpoint is the right's IPv6 underlay address" \
		endpoint_is 1 "[${U6[2]}]:${SPORT[2]}"
	check "$PAIR: right's endpoint is the left's IPv6 underlay address" \
		endpoint_is 2 "[${U6[1]}]:${SPORT[1]}"
}

# ---- 2. bulk TCP both ways -----------------------------------------------------------------

BULK_FILE=
BULK_SUM=

make_bulk_file() {
	[[ -n $BULK_FILE ]] && return 0
	BULK_FILE=$WORKDIR/bulk
	head -c "${TRANSFER_MB}M" /dev/urandom >"$BULK_FILE" || return 1
	BULK_SUM=$(sha256sum <"$BULK_FILE" | cut -d' ' -f1)
}

# transfer_is_intact FROM TO: TRANSFER_MB MiB over TCP to the other side's overlay address; the
# ok line carries the rate.
transfer_is_intact() {
	local from=$1 to=$2 what rc sum ms mbps
	what="$PAIR: ${TRANSFER_MB} MiB TCP $( ((from == 1)) && echo left-to-right || echo right-to-left)"
	if ! ping_within 10 "${SNS[$from]}" "${O4[$to]}" >/dev/null 2>&1; then
		not_ok "$what: no ping before the transfer"
		print_diagnostics | indent
		return
	fi
	send_file "${SNS[$from]}" "${SNS[$to]}" "${O4[$to]}" 5001 "$BULK_FILE" "$TRANSFER_TIMEOUT" \
		>"$WORKDIR/check.out" 2>&1
	rc=$SENT_RC sum=$SENT_SUM ms=$SENT_MS
	if [[ $rc == 0 && $sum == "$BULK_SUM" ]]; then
		mbps=$(( TRANSFER_MB * 1048576 / (ms > 0 ? ms : 1) / 1000 ))
		ok "$what, sha256 matches, $(printf '%d.%03d' $((ms / 1000)) $((ms % 1000))) s, $mbps MB/s"
		return
	fi
	not_ok "$what"
	{
		[[ $rc == 124 ]] && echo "sender timed out after $TRANSFER_TIMEOUT s"
		cat "$WORKDIR/check.out"
		echo "sender exit $rc, received sha256 '$sum', sent $BULK_SUM, after $ms ms"
		tail -n 5 "$WORKDIR/socat.log" 2>/dev/null
		print_diagnostics
	} | indent
}

bulk_tcp_arrives_intact_both_ways() {
	transfer_is_intact 1 2
	transfer_is_intact 2 1
}

# ---- 3. who initiates ----------------------------------------------------------------------

# Only the initiator is told the other's endpoint, so the handshake can only start there; the
# responder must answer to the address the initiation came from.
left_initiates() {
	check "$PAIR: no handshake before the left side sends" has_no_handshake 1
	check "$PAIR: left initiates: ping ${O4[2]}" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: left initiates: right answers ping ${O6[1]} via the learnt endpoint" \
		ping_within 5 "$NS2" "${O6[1]}"
	check "$PAIR: left initiates: right learnt the left's endpoint" \
		endpoint_is 2 "${U4[1]}:${SPORT[1]}"
}

right_initiates() {
	check "$PAIR: right initiates: ping ${O4[1]}" ping_within 10 "$NS2" "${O4[1]}"
	check "$PAIR: right initiates: left answers ping ${O6[2]} via the learnt endpoint" \
		ping_within 5 "$NS1" "${O6[2]}"
	check "$PAIR: right initiates: left learnt the right's endpoint" \
		endpoint_is 1 "${U4[2]}:${SPORT[2]}"
}

# ---- 4. pre-shared keys --------------------------------------------------------------------

matching_psk_works() {
	check "$PAIR: same preshared key on both sides: ping ${O4[2]}" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: same preshared key on both sides: ping ${O6[1]}" ping_within 5 "$NS2" "${O6[1]}"
}

mismatched_psk_carries_nothing() {
	check_not "$PAIR: different preshared keys: ping ${O4[2]} gets no answer" \
		pings_for_a_while "$NS1" "${O4[2]}"
	check "$PAIR: different preshared keys: no completed handshake on either side" \
		eval "has_no_handshake 1 && has_no_handshake 2"
	check "$PAIR: different preshared keys: both daemons still running" \
		eval "daemon_is_running $IF1 && daemon_is_running $IF2"
}

preshared_keys_must_match() {
	local psk1=$WORKDIR/psk1 psk2=$WORKDIR/psk2
	(umask 077 && wg genpsk >"$psk1" && wg genpsk >"$psk2")
	run_scenario matching_psk_works "preshared key" v4 v4 "$psk1" "$psk1"
	run_scenario mismatched_psk_carries_nothing "mismatched preshared key" v4 v4 "$psk1" "$psk2"
}

# ---- 5. wg-quick ---------------------------------------------------------------------------

# write_quick_config SIDE: a minimal wg-quick file named after the interface (wg-quick takes the
# interface name from the file name): no DNS, no default route, so no resolvconf or nft.
write_quick_config() {
	local me=$1 peer=$((3 - $1)) file=$WORKDIR/${SIF[$1]}.conf
	cat >"$file" <<-EOF
	[Interface]
	PrivateKey = $(cat "$WORKDIR/side$me.key")
	Address = ${O4[$me]}/24, ${O6[$me]}/64
	ListenPort = ${SPORT[$me]}

	[Peer]
	PublicKey = $(pubkey "side$peer")
	Endpoint = ${U4[$peer]}:${SPORT[$peer]}
	AllowedIPs = ${O4[$peer]}/32, ${O6[$peer]}/128
	EOF
	chmod 600 "$file"
	echo "$file"
}

# quick_up SIDE: wg-quick up with the side's implementation; wg-quick starts it (daemonizing)
# because `ip link add type wireguard` fails without the kernel module.
quick_up() {
	local me=$1 cmd file
	cmd=$(impl_command "${SIMPL[$me]}")
	file=$(write_quick_config "$me")
	note_ifname "${SIF[$me]}"
	DAEMON_NS[${SIF[$me]}]=${SNS[$me]}
	DAEMON_LOG[${SIF[$me]}]=$WORKDIR/${SIF[$me]}.log
	echo "=== $(date +%T) wg-quick up ${SIF[$me]} with ${SIMPL[$me]}" >>"${DAEMON_LOG[${SIF[$me]}]}"
	# The daemon inherits wg-quick's stdout: a file, never a pipe that someone waits on.
	timeout 30 ip netns exec "${SNS[$me]}" env WG_QUICK_USERSPACE_IMPLEMENTATION="$cmd" \
		LOG_LEVEL=verbose wg-quick up "$file" </dev/null >>"${DAEMON_LOG[${SIF[$me]}]}" 2>&1
}

quick_down() {
	local me=$1
	echo "=== $(date +%T) wg-quick down ${SIF[$me]}" >>"${DAEMON_LOG[${SIF[$me]}]}"
	timeout 30 ip netns exec "${SNS[$me]}" wg-quick down "$WORKDIR/${SIF[$me]}.conf" \
		</dev/null >>"${DAEMON_LOG[${SIF[$me]}]}" 2>&1
}

# quick_daemon_pid SIDE: the one process left in the side's namespace after wg-quick up.
quick_daemon_pid() {
	local pids
	pids=$(ip netns pids "${SNS[$1]}")
	[[ $(wc -w <<<"$pids") -eq 1 ]] || { echo "processes in ${SNS[$1]}: ${pids:-none}"; return 1; }
	echo "$pids"
}

interface_is_up() { ip -n "$1" link show "$2" | grep -q '[<,]UP[,>]'; }

wg_quick_brings_the_interface_up_and_down() {
	local me pid up=yes log=$WORKDIR/setup.log
	if [[ -e /sys/module/wireguard ]]; then
		skip "$PAIR: wg-quick: the wireguard kernel module is loaded, wg-quick would use it"
		return
	fi
	if ! create_underlay >"$log" 2>&1; then
		not_ok "$PAIR: wg-quick: setting up the namespaces"
		indent <"$log"
		tear_down_pair
		return
	fi
	for me in 1 2; do
		check "$PAIR: wg-quick up ${SIF[$me]} with ${SIMPL[$me]}" quick_up "$me" || up=no
		if pid=$(quick_daemon_pid "$me"); then
			DAEMON_PID[${SIF[$me]}]=$pid
			STARTED_PIDS+=("$pid")
		else
			DAEMON_PID[${SIF[$me]}]=0
			up=no
			not_ok "$PAIR: wg-quick up ${SIF[$me]} left exactly one daemon behind"
			{ echo "$pid"; show_daemon "${SIF[$me]}"; } | indent
		fi
		check "$PAIR: wg-quick: ${SIF[$me]} is up" interface_is_up "${SNS[$me]}" "${SIF[$me]}" ||
			up=no
	done
	# Checking that down removes what up never made would only print empty successes.
	if [[ $up == no ]]; then
		tear_down_pair
		return
	fi
	check "$PAIR: wg-quick: ping ${O4[2]}" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: wg-quick: ping ${O6[1]}" ping_within 5 "$NS2" "${O6[1]}"
	for me in 1 2; do
		check "$PAIR: wg-quick down ${SIF[$me]}" quick_down "$me"
		check "$PAIR: wg-quick down: ${SIF[$me]} is gone" \
			wait_for 5 interface_is_gone "${SNS[$me]}" "${SIF[$me]}"
		check "$PAIR: wg-quick down: ${SIMPL[$me]} exited" daemon_has_exited "${SIF[$me]}"
		check "$PAIR: wg-quick down: ${SIF[$me]}.sock is gone" \
			wait_for 5 socket_is_gone "${SIF[$me]}"
	done
	tear_down_pair
}

# ---- 5b. inherited descriptors -------------------------------------------------------------

# How a daemonizing parent (or a supervisor) hands over: the TUN device and the listening UAPI
# socket are opened by someone else and passed as WG_TUN_FD=3 and WG_UAPI_FD=4. The daemon gets
# the TUN in the mode it was opened in, whatever it would have chosen itself (IFF_VNET_HDR for
# offloads, IFF_MULTI_QUEUE): with the 4-byte packet information header, as wireguard-go's
# parent hands it to its child (IFF_TUN only), and without it (IFF_TUN | IFF_NO_PI).
HANDOVER_PY='
import fcntl, os, socket, struct, sys
ifname, flags, path, argv = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], sys.argv[4:]
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, 0x400454ca, struct.pack("16sH", ifname.encode(), flags))  # TUNSETIFF
os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
uapi = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
uapi.bind(path)
uapi.listen(16)
high_tun, high_uapi = os.dup(tun), os.dup(uapi.fileno())
os.dup2(high_tun, 3)
os.dup2(high_uapi, 4)
env = dict(os.environ, WG_TUN_FD="3", WG_UAPI_FD="4", WG_PROCESS_FOREGROUND="1")
os.execvpe(argv[0], argv, env)
'

# daemon_takes_over_inherited_descriptors pi|nopi
daemon_takes_over_inherited_descriptors() {
	local mode=$1 flags=0x0001 cmd log=$WORKDIR/setup.log file=$WORKDIR/handed sum what
	local bytes=$((4 * 1048576))
	[[ $mode == nopi ]] && flags=0x1001
	what="$PAIR: inherited fds ($( [[ $mode == pi ]] && echo 'IFF_TUN' || echo 'IFF_TUN|IFF_NO_PI'))"
	if [[ $mode == nopi ]]; then
		# TUNGETIFF reports IFF_NOFILTER, the same bit as IFF_NO_PI, so a daemon cannot tell.
		skip "$what: a handed-over TUN carries the packet information header (wireguard-go's contract)"
		return
	fi
	cmd=$(impl_command "${SIMPL[1]}")
	if ! create_underlay >"$log" 2>&1 || ! start_side 2 >>"$log" 2>&1; then
		not_ok "$what: setting up the namespaces and the right side"
		{ cat "$log"; print_diagnostics; } | indent
		tear_down_pair
		return
	fi
	check "$what: ${SIMPL[1]} serves the UAPI socket it was given" \
		launch_daemon "$NS1" "$IF1" env LOG_LEVEL=verbose \
		"$PYTHON" -c "$HANDOVER_PY" "$IF1" "$flags" "$(uapi_socket "$IF1")" "$cmd" "$IF1"
	check "$what: configured through it" eval "configure_side 1 v4 && configure_side 2 v4"
	check "$what: ping ${O4[2]}" ping_within 10 "$NS1" "${O4[2]}"
	check "$what: ping ${O6[1]}" ping_within 5 "$NS2" "${O6[1]}"
	head -c "$bytes" /dev/urandom >"$file"
	sum=$(sha256sum <"$file" | cut -d' ' -f1)
	check "$what: 4 MiB TCP left-to-right" \
		transfer_matches "$sum" "$NS1" "$NS2" "${O4[2]}" 5004 "$file"
	check "$what: 4 MiB TCP right-to-left" \
		transfer_matches "$sum" "$NS2" "$NS1" "${O4[1]}" 5005 "$file"
	tear_down_pair
}

# ---- 6. wg show and live reconfiguration ---------------------------------------------------

COUNTER_MB=16

wg_show_reports_what_happened() {
	local file=$WORKDIR/counted bytes=$((COUNTER_MB * 1048576)) sum
	head -c "$bytes" /dev/urandom >"$file"
	sum=$(sha256sum <"$file" | cut -d' ' -f1)
	ping_within 10 "$NS1" "${O4[2]}" >/dev/null
	check "$PAIR: $COUNTER_MB MiB left-to-right for the counters" \
		transfer_matches "$sum" "$NS1" "$NS2" "${O4[2]}" 5002 "$file"
	check "$PAIR: $COUNTER_MB MiB right-to-left for the counters" \
		transfer_matches "$sum" "$NS2" "$NS1" "${O4[1]}" 5003 "$file"
	check "$PAIR: wg show dump: left has a handshake time" has_handshake 1
	check "$PAIR: wg show dump: right has a handshake time" has_handshake 2
	check "$PAIR: wg show dump: left tx_bytes covers the $COUNTER_MB MiB sent" \
		counter_covers 1 transfer-tx "$bytes"
	check "$PAIR: wg show dump: right rx_bytes covers the $COUNTER_MB MiB received" \
		counter_covers 2 transfer-rx "$bytes"
	check "$PAIR: wg show dump: right tx_bytes covers the $COUNTER_MB MiB sent" \
		counter_covers 2 transfer-tx "$bytes"
	check "$PAIR: wg show dump: left rx_bytes covers the $COUNTER_MB MiB received" \
		counter_covers 1 transfer-rx "$bytes"
	check "$PAIR: wg show dump: left's endpoint is ${U4[2]}:${SPORT[2]}" \
		endpoint_is 1 "${U4[2]}:${SPORT[2]}"
	check "$PAIR: wg show dump: right's endpoint is ${U4[1]}:${SPORT[1]}" \
		endpoint_is 2 "${U4[1]}:${SPORT[1]}"
	check "$PAIR: wg show dump: left's allowed ips as set" \
		allowed_ips_are 1 "${O4[2]}/32,${O6[2]}/128"
	check "$PAIR: wg show dump: right's allowed ips as set" \
		allowed_ips_are 2 "${O4[1]}/32,${O6[1]}/128"
	check "$PAIR: wg show dump: left's listen port and public key" \
		test "$(wg_in "$NS1" show "$IF1" dump | sed -n 1p | cut -f2,3)" = "$(pubkey side1)	${SPORT[1]}"

	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" allowed-ips "${O6[2]}/128"
	check "$PAIR: allowed ips without ${O4[2]}/32 read back" allowed_ips_are 1 "${O6[2]}/128"
	check_not "$PAIR: allowed ips without ${O4[2]}/32: ping ${O4[2]} stops" \
		pings_for_a_while "$NS1" "${O4[2]}"
	check_not "$PAIR: allowed ips without ${O4[2]}/32: its pings to ${O4[1]} are dropped" \
		pings_for_a_while "$NS2" "${O4[1]}"
	check "$PAIR: allowed ips without ${O4[2]}/32: ping ${O6[2]} still works" \
		ping_within 5 "$NS1" "${O6[2]}"
	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" allowed-ips "${O4[2]}/32,${O6[2]}/128"
	check "$PAIR: allowed ips ${O4[2]}/32 added back: ping ${O4[2]}" ping_within 5 "$NS1" "${O4[2]}"

	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" remove
	check "$PAIR: peer removed: wg show dump lists no peer" \
		test "$(wg_in "$NS1" show "$IF1" dump | wc -l)" = 1
	check_not "$PAIR: peer removed: ping ${O4[2]} stops" pings_for_a_while "$NS1" "${O4[2]}"
	check_not "$PAIR: peer removed: right's ping ${O6[1]} gets no answer" \
		pings_for_a_while "$NS2" "${O6[1]}"
}

# ---- 7. roaming ----------------------------------------------------------------------------

ROAMED4=192.0.2.3
ROAMED_PORT=51832

# The right side's address changes under a running session; the left keeps the old endpoint
# and must follow the first authenticated packet from the new one. The right must stop using
# its cached source address once that address is gone (the kernel checks it is still local;
# wireguard-go v0.0.20220316 only drops it on EINVAL, gets ENETUNREACH, and never recovers).
# Then the right also changes its listen port, as the kernel's netns.sh does, which every
# implementation survives since rebinding drops the cached source.
peer_roams_to_a_new_address() {
	check "$PAIR: roaming: session up before the move" ping_within 10 "$NS1" "${O4[2]}"
	ip -n "$NS2" addr del "${U4[2]}/24" dev v2
	ip -n "$NS2" addr add "$ROAMED4/24" dev v2
	if [[ ${SIMPL[2]} == wireguard-go ]]; then
		skip "$PAIR: roaming to $ROAMED4 on the same port: wireguard-go keeps sending from the deleted address"
	else
		check "$PAIR: roaming: right moved to $ROAMED4 pings ${O4[1]}" \
			ping_within 10 "$NS2" "${O4[1]}"
		check "$PAIR: roaming: left's endpoint follows to $ROAMED4:${SPORT[2]}" \
			endpoint_is 1 "$ROAMED4:${SPORT[2]}"
		check "$PAIR: roaming: left reaches ${O6[2]} at the new address" \
			ping_within 5 "$NS1" "${O6[2]}"
	fi
	wg_in "$NS2" set "$IF2" listen-port "$ROAMED_PORT"
	check "$PAIR: roaming: right on $ROAMED4:$ROAMED_PORT pings ${O4[1]}" \
		ping_within 10 "$NS2" "${O4[1]}"
	check "$PAIR: roaming: left's endpoint follows to $ROAMED4:$ROAMED_PORT" \
		endpoint_is 1 "$ROAMED4:$ROAMED_PORT"
	check "$PAIR: roaming: left reaches ${O6[2]} at the new port" ping_within 5 "$NS1" "${O6[2]}"
}

# Sticky source address (the kernel netns.sh's test): the right side has a second address, and
# the left talks to that one. Replies must leave from the address the left used, or the left
# would see the right roam to its primary address.
SECOND4=192.0.2.12

replies_leave_from_the_address_used() {
	check "$PAIR: sticky source: session up" ping_within 10 "$NS1" "${O4[2]}"
	ip -n "$NS2" addr add "$SECOND4/24" dev v2
	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" endpoint "$SECOND4:${SPORT[2]}"
	check "$PAIR: sticky source: left pings ${O4[2]} at $SECOND4" ping_within 10 "$NS1" "${O4[2]}"
	check "$PAIR: sticky source: right answers ${O4[1]} from there" ping_within 5 "$NS2" "${O4[1]}"
	check "$PAIR: sticky source: left's endpoint stays $SECOND4:${SPORT[2]}" \
		endpoint_is 1 "$SECOND4:${SPORT[2]}"
	ip -n "$NS2" addr del "$SECOND4/24" dev v2
	wg_in "$NS1" set "$IF1" peer "$(pubkey side2)" endpoint "${U4[2]}:${SPORT[2]}"
	if [[ ${SIMPL[2]} == wireguard-go ]]; then
		skip "$PAIR: sticky source: after $SECOND4 is gone: wireguard-go keeps sending from it"
	else
		check "$PAIR: sticky source: after $SECOND4 is gone, right reaches ${O4[1]} again" \
			ping_within 10 "$NS2" "${O4[1]}"
	fi
}

# A second daemon for an interface that is already served must refuse, and leave the first alone.
second_instance_refuses() {
	local cmd out rc
	cmd=$(impl_command "${SIMPL[2]}") || return
	out=$(n "$NS2" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error timeout 10 "$cmd" "$IF2" 2>&1)
	rc=$?
	if [[ $rc -ne 0 && $rc -ne 124 ]]; then
		ok "$PAIR: a second ${SIMPL[2]} for $IF2 refuses (exit $rc: $(head -n 1 <<<"$out"))"
	else
		not_ok "$PAIR: a second ${SIMPL[2]} for $IF2 refuses (exit $rc)"
		echo "$out" | indent
	fi
	check "$PAIR: the first ${SIMPL[2]} still runs" daemon_is_running "$IF2"
	check "$PAIR: and still carries ${O4[2]}" ping_within 5 "$NS1" "${O4[2]}"
}

# ---- 8. peer restart -----------------------------------------------------------------------

restarted_peer_is_reachable_again() {
	local start
	check "$PAIR: restart: session up" ping_within 10 "$NS1" "${O4[2]}"
	stop_daemon "$IF2"
	check "$PAIR: restart: right exits on SIGTERM" daemon_has_exited "$IF2"
	check "$PAIR: restart: right removed ${IF2}.sock on SIGTERM" socket_is_gone "$IF2"
	check "$PAIR: restart: right removed ${IF2} on SIGTERM" interface_is_gone "$NS2" "$IF2"
	rm -f "$(uapi_socket "$IF2")"
	check "$PAIR: restart: right started again" eval "start_side 2 && configure_side 2 v4"
	# The left still holds the old session, which the new right process cannot decrypt; it
	# re-handshakes once it has heard nothing back for keepalive-timeout + rekey-timeout (15 s).
	start=$(now_ms)
	if ping_within 25 "$NS1" "${O4[2]}" >/dev/null 2>&1; then
		ok "$PAIR: restart: left's ping ${O4[2]} works again after $(seconds_since "$start") s"
	else
		not_ok "$PAIR: restart: left's ping ${O4[2]} works again within 25 s"
		print_diagnostics | indent
	fi

	# A crash leaves the socket file behind; the next start must take it over.
	kill -KILL "${DAEMON_PID[$IF2]}"
	wait "${DAEMON_PID[$IF2]}" 2>/dev/null
	check "$PAIR: restart after SIGKILL over the stale ${IF2}.sock" \
		eval "wait_for 5 interface_is_gone $NS2 $IF2 && start_side 2 && configure_side 2 v4"
	check "$PAIR: restart after SIGKILL: right's ping ${O4[1]} works" ping_within 10 "$NS2" "${O4[1]}"
}

# ---- 9. garbage on the wire and on the UAPI socket -----------------------------------------

# Random datagrams of every message size, right message types with wrong lengths, right
# lengths with random content; none may disturb the session, crash the daemon or move its
# peer's endpoint (only authenticated packets may).
GARBAGE_PY='
import os, socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
def typed(t, n, reserved=b"\0\0\0"):
    return (bytes([t]) + reserved + os.urandom(n))[:n]
deadline = time.monotonic() + seconds
sent = 0
while time.monotonic() < deadline:
    shapes = [os.urandom(n) for n in (0, 1, 4, 32, 92, 148, 1500)]
    shapes += [typed(1, n) for n in (1, 4, 32, 147, 148, 149, 1500)]
    shapes += [typed(2, n) for n in (4, 91, 92, 93)]
    shapes += [typed(3, n) for n in (4, 63, 64, 65)]
    shapes += [typed(4, n) for n in (4, 15, 16, 31, 32, 33, 1500)]
    shapes += [typed(5, 148), typed(1, 148, b"\1\0\0")]
    for d in shapes:
        s.sendto(d, (host, port))
        sent += 1
    time.sleep(0.01)
print(sent, "datagrams")
'

# garbage_to SIDE SECONDS: from the other namespace to SIDE's port, over IPv4 and IPv6.
garbage_to() {
	local me=$1 peer=$((3 - $1)) v4 rc
	n "${SNS[$peer]}" "$PYTHON" -c "$GARBAGE_PY" "${U4[$me]}" "${SPORT[$me]}" "$2" &
	v4=$!
	n "${SNS[$peer]}" "$PYTHON" -c "$GARBAGE_PY" "${U6[$me]}" "${SPORT[$me]}" "$2"
	rc=$?
	wait "$v4" && return $rc
}

# ping_series_survives NS ADDR COUNT: at most one probe lost while garbage flies.
ping_series_survives() {
	local out received
	out=$(n "$1" ping -n -q -c "$3" -i 0.1 -W 1 "$2")
	received=$(grep -Eo '[0-9]+ received' <<<"$out" | cut -d' ' -f1)
	echo "$out" | tail -n 2
	[[ ${received:-0} -ge $(($3 - 1)) ]]
}

uapi_answers_einval() {
	local got
	got=$(uapi "$1" "$2")
	[[ $got == "errno=-22" ]] || { printf 'answer: %q\n' "$got"; return 1; }
}

# uapi_refuses IF INPUT: an errno=-N answer with N > 0, or hanging up; never success.
uapi_refuses() {
	local got
	got=$(uapi "$1" "$2")
	[[ -z $got || $got =~ ^errno=-[1-9][0-9]*$ ]] || { printf 'answer: %q\n' "$got"; return 1; }
}

# A client that connects and stays silent, or sends half a request, must not keep `wg` out.
# (A half-sent set=1 is not tried: wireguard-go holds its configuration lock meanwhile.)
STALL_PY='
import socket, subprocess, sys, time
idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
idle.connect(sys.argv[1])
half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
half.connect(sys.argv[1])
half.sendall(b"get=1\n")
time.sleep(0.5)
try:
    sys.exit(subprocess.run(["wg", "show", sys.argv[2]], timeout=5).returncode)
except subprocess.TimeoutExpired:
    sys.exit("wg show got no answer within 5 s while two other clients stall")
'
uapi_serves_others_while_clients_stall() {
	n "${DAEMON_NS[$1]}" "$PYTHON" -c "$STALL_PY" "$(uapi_socket "$1")" "$1"
}

garbage_does_not_disturb_the_tunnel() {
	local before after side input garbage_pid
	check "$PAIR: garbage: session up" ping_within 10 "$NS1" "${O4[2]}"
	ping_within 5 "$NS2" "${O4[1]}" >/dev/null

	garbage_to 2 4 >"$WORKDIR/garbage.log" 2>&1 &
	garbage_pid=$!
	STARTED_PIDS+=("$garbage_pid")
	check "$PAIR: garbage to the right's port: left's ping series keeps working" \
		ping_series_survives "$NS1" "${O4[2]}" 40
	wait "$garbage_pid"
	garbage_to 1 4 >>"$WORKDIR/garbage.log" 2>&1 &
	garbage_pid=$!
	STARTED_PIDS+=("$garbage_pid")
	check "$PAIR: garbage to the left's port: right's ping series keeps working" \
		ping_series_survives "$NS2" "${O6[1]}" 40
	check "$PAIR: garbage: the garbage was sent" eval "wait $garbage_pid && grep -q datagrams $WORKDIR/garbage.log"
	check "$PAIR: garbage: left's endpoint did not move" endpoint_is 1 "${U4[2]}:${SPORT[2]}"
	check "$PAIR: garbage: right's endpoint did not move" endpoint_is 2 "${U4[1]}:${SPORT[1]}"

	for side in 1 2; do
		local ifname=${SIF[$side]} who
		who="$PAIR: UAPI of ${SIMPL[$side]}"
		before=$(wg_in "${SNS[$side]}" showconf "$ifname")
		check "$who: set with an unknown key answers errno=-22" \
			uapi_answers_einval "$ifname" $'set=1\nbogus=1\n\n'
		for input in $'set=1\nprivate_key=zz\n\n' $'set=1\nlisten_port=99999\n\n' \
			$'set=1\nnoequals\n\n' $'set=1\npublic_key=0000\n\n' \
			$'set=1\npreshared_key=0000000000000000000000000000000000000000000000000000000000000000\n\n' \
			$'set=1\nprivate_key=' $'get=1\nextra=1\n\n' $'get=2\n\n' $'hello=1\n\n' $'\n\n'; do
			check "$who: refuses $(printf '%q' "$input")" uapi_refuses "$ifname" "$input"
		done
		head -c 4096 /dev/urandom >"$WORKDIR/random.bin"
		timeout 5 socat -t 1 -u "FILE:$WORKDIR/random.bin" "UNIX-CONNECT:$(uapi_socket "$ifname")" \
			>/dev/null 2>&1
		"$PYTHON" -c 'import sys; sys.stdout.write("set=1\n" + "a" * 2000000)' |
			timeout 5 socat -t 1 - "UNIX-CONNECT:$(uapi_socket "$ifname")" >/dev/null 2>&1
		check "$who: serves wg while other clients stall" \
			uapi_serves_others_while_clients_stall "$ifname"
		check "$who: still answers get=1 after random bytes and a 2 MB line" uapi_answers "$ifname"
		after=$(wg_in "${SNS[$side]}" showconf "$ifname")
		check "$who: configuration unchanged by the bad input" test "$before" = "$after"
	done

	check "$PAIR: garbage: ping ${O4[2]} still works" ping_within 5 "$NS1" "${O4[2]}"
	check "$PAIR: garbage: both daemons still running" \
		eval "daemon_is_running $IF1 && daemon_is_running $IF2"
}

# ---- main ----------------------------------------------------------------------------------

is_root interop || exit 0
has_tools interop ip wg wg-quick socat ping ss python3 sha256sum timeout || exit 0
set_up_run
if ! make_keypair side1 || ! make_keypair side2; then
	not_ok "interop: generating keys"
	exit 1
fi

for pair in $PAIRS; do
	SIMPL=([1]=${pair%%:*} [2]=${pair#*:})
	PAIR="${SIMPL[1]}->${SIMPL[2]}${WM_ARGS:+ [wiremesh $WM_ARGS]}"
	why=
	for impl in "${SIMPL[@]}"; do
		why=$(impl_is_available "$impl") || break
	done
	if [[ -n $why ]]; then
		skip "interop $PAIR: $why"
		continue
	fi
	pair_start=$(now_ms)
	wants ping && run_scenario pings_cross_ipv4_and_ipv6_underlays ping
	if wants transfer; then
		if make_bulk_file; then
			run_scenario bulk_tcp_arrives_intact_both_ways transfer
		else
			not_ok "$PAIR: transfer: writing the ${TRANSFER_MB} MiB test file"
		fi
	fi
	if wants initiator; then
		run_scenario left_initiates "left initiates" v4 none
		run_scenario right_initiates "right initiates" none v4
	fi
	wants psk && preshared_keys_must_match
	wants wg-quick && wg_quick_brings_the_interface_up_and_down
	if wants fds; then
		daemon_takes_over_inherited_descriptors pi
		daemon_takes_over_inherited_descriptors nopi
	fi
	wants counters && run_scenario wg_show_reports_what_happened "wg show"
	wants roaming && run_scenario peer_roams_to_a_new_address roaming
	wants sticky && run_scenario replies_leave_from_the_address_used "sticky source"
	wants second && run_scenario second_instance_refuses "second instance"
	wants restart && run_scenario restarted_peer_is_reachable_again restart
	wants garbage && run_scenario garbage_does_not_disturb_the_tunnel garbage
	echo "# $PAIR: $(seconds_since "$pair_start") s"
done

((FAILURES == 0))
