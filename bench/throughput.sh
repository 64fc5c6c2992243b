#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The system benchmark: TCP throughput through wiremesh and through wireguard-go between two
# network namespaces, with the bare veth link as the ceiling.
#
#   ns1: v1 192.0.2.1/24  <-- veth -->  ns2: v2 192.0.2.2/24
#        wiremesh      10.9.0.1/25  ====  10.9.0.2/25     (UDP 51820 <-> 51821)
#        wireguard-go  10.9.0.129/25 ==== 10.9.0.130/25   (UDP 51830 <-> 51831)
#
# Both tunnels stay up for the whole run, each on its own half of 10.9.0.0/24, so every test
# runs the implementations back to back (their order flips from one test to the next) and slow
# moments of a shared machine hit both alike. Tests: iperf3 TCP with 1 and 4 streams (-P 4),
# ns1 -> ns2 and back (-R). Each figure is the median over ROUNDS rounds. CPU s/GB is the user +
# system time of both daemons of the pair during the run (from /proc/PID/stat) per GB received.
#
# Usage: bench/throughput.sh          (as root; prints SKIP otherwise)
#   DURATION=10   seconds per iperf3 run       ROUNDS=3   rounds
#   WM_BIN=build/wiremesh WG_GO=wireguard-go  WM_ARGS="--threads 2" (extra wiremesh options)
#   KEEP=1        keep the work directory (daemon logs, iperf3 JSON)
# Quick run: ROUNDS=1 DURATION=3 bench/throughput.sh
set -u

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WM_BIN=${WM_BIN:-$REPO/build/wiremesh}
WG_GO=${WG_GO:-wireguard-go}
WM_ARGS=${WM_ARGS:-}
UAPI_DIR=/var/run/wireguard

skip() { echo "SKIP: $*"; exit 0; }
die() { echo "throughput.sh: $*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, TUN devices)"
for tool in ip iperf3 jq wg timeout; do
	command -v "$tool" >/dev/null 2>&1 || skip "missing $tool"
done
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive number of seconds"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number"

# Names carry this run's pid: /var/run/wireguard is shared by all namespaces, and other runs
# (or the e2e tests) may be going on at the same time.
ID=$$
NS1=wmb-$ID-1
NS2=wmb-$ID-2
declare -A IF=([wiremesh,1]=wmb${ID}m1 [wiremesh,2]=wmb${ID}m2
	[wireguard-go,1]=wmb${ID}g1 [wireguard-go,2]=wmb${ID}g2)
declare -A ADDR=([wiremesh,1]=10.9.0.1 [wiremesh,2]=10.9.0.2
	[wireguard-go,1]=10.9.0.129 [wireguard-go,2]=10.9.0.130)
declare -A PORT=([wiremesh,1]=51820 [wiremesh,2]=51821
	[wireguard-go,1]=51830 [wireguard-go,2]=51831)
declare -A PID=()
IPERF_PORT=5201
WAIT_LIMIT=$((DURATION + 30))	# any iperf3 run ends well within this

WORKDIR=
STARTED=()
CREATED_NS=()
UAPI_DIR_EXISTED=yes
[[ -d $UAPI_DIR ]] || UAPI_DIR_EXISTED=no

is_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# stop PID: TERM, KILL after 5 s, reap.
stop() {
	local i
	is_running "$1" || { wait "$1" 2>/dev/null; return 0; }
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		is_running "$1" || break
		sleep 0.1
	done
	is_running "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	local pid ns key
	trap - EXIT INT TERM
	for pid in "${STARTED[@]}"; do
		stop "$pid"
	done
	for ns in "${CREATED_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for key in "${!IF[@]}"; do
		rm -f "$UAPI_DIR/${IF[$key]}.sock"
	done
	[[ $UAPI_DIR_EXISTED == no ]] && rmdir "$UAPI_DIR" 2>/dev/null
	if [[ -n $WORKDIR && -d $WORKDIR ]]; then
		if [[ -n ${KEEP:-} ]]; then
			log "# kept $WORKDIR"
		else
			rm -rf "$WORKDIR"
		fi
	fi
}

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/wmb-$ID.XXXXXX") || die "no work directory"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local ns=$1; shift; timeout 30 ip netns exec "$ns" "$@"; }

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds or time is up.
wait_until() {
	local tries=$(($1 * 5))
	shift
	while ((tries-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# ---- the underlay ---------------------------------------------------------------------------

for ns in "$NS1" "$NS2"; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	CREATED_NS+=("$ns")
	ip -n "$ns" link set lo up
done
ip -n "$NS1" link add v1 type veth peer name v2 netns "$NS2" || die "cannot create the veth pair"
ip -n "$NS1" addr add 192.0.2.1/24 dev v1
ip -n "$NS2" addr add 192.0.2.2/24 dev v2
ip -n "$NS1" link set v1 up
ip -n "$NS2" link set v2 up
wait_until 10 in_ns "$NS1" ping -c 1 -W 1 192.0.2.2 || die "the veth link does not pass traffic"

# ---- the tunnels ----------------------------------------------------------------------------

uapi_up() { [[ -S $UAPI_DIR/$1.sock ]] && timeout 5 wg show "$1" >/dev/null 2>&1; }

# start_side IMPL SIDE: runs IMPL's daemon in the foreground in namespace SIDE.
start_side() {
	local impl=$1 side=$2 ns ifname=${IF[$1,$2]} cmd extra
	ns=$([[ $side == 1 ]] && echo "$NS1" || echo "$NS2")
	case $impl in
	wiremesh) read -r -a extra <<<"$WM_ARGS"; cmd=("$WM_BIN" -f "${extra[@]}" "$ifname") ;;
	wireguard-go) cmd=("$WG_GO" -f "$ifname") ;;
	esac
	ip netns exec "$ns" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 "${cmd[@]}" \
		</dev/null >"$WORKDIR/$ifname.log" 2>&1 &
	PID[$impl,$side]=$!
	STARTED+=("$!")
	wait_until 10 uapi_up "$ifname"
}

# bring_up IMPL: both daemons, keys, addresses; true once a ping crosses the tunnel.
bring_up() {
	local impl=$1 side other ns
	for side in 1 2; do
		(umask 077 && wg genkey >"$WORKDIR/$impl-$side.key") || return 1
		wg pubkey <"$WORKDIR/$impl-$side.key" >"$WORKDIR/$impl-$side.pub" || return 1
		if ! start_side "$impl" "$side"; then
			log "$impl: ${IF[$impl,$side]} did not come up"
			return 1
		fi
	done
	for side in 1 2; do
		other=$((3 - side))
		ns=$([[ $side == 1 ]] && echo "$NS1" || echo "$NS2")
		in_ns "$ns" wg set "${IF[$impl,$side]}" private-key "$WORKDIR/$impl-$side.key" \
			listen-port "${PORT[$impl,$side]}" \
			peer "$(cat "$WORKDIR/$impl-$other.pub")" \
			endpoint "192.0.2.$other:${PORT[$impl,$other]}" \
			allowed-ips "${ADDR[$impl,$other]}/32" || return 1
		ip -n "$ns" addr add "${ADDR[$impl,$side]}/25" dev "${IF[$impl,$side]}" || return 1
		ip -n "$ns" link set "${IF[$impl,$side]}" mtu 1420 up || return 1
	done
	wait_until 10 in_ns "$NS1" ping -c 1 -W 1 "${ADDR[$impl,2]}"
}

IMPLS=()
for impl in wiremesh wireguard-go; do
	if [[ $impl == wiremesh && ! -x $WM_BIN ]]; then
		log "# wiremesh: $WM_BIN is not built (make); skipped"
		continue
	fi
	if [[ $impl == wireguard-go ]] && ! command -v "$WG_GO" >/dev/null 2>&1; then
		log "# wireguard-go: $WG_GO not found; skipped"
		continue
	fi
	if bring_up "$impl"; then
		IMPLS+=("$impl")
	else
		log "# $impl: the tunnel did not pass a ping; skipped (logs: KEEP=1)"
	fi
done

# ---- measuring ------------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

# cpu_ticks PID...: utime + stime of these processes (all their threads), in clock ticks.
cpu_ticks() {
	local pid stat f total=0
	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		read -r -a f <<<"${stat##*) }"
		total=$((total + f[11] + f[12]))	# fields 14 and 15 of proc(5)
	done
	echo "$total"
}

server_listens() { in_ns "$NS2" ss -Hltn "sport = :$IPERF_PORT" | grep -q LISTEN; }

# run_one PATH STREAMS REVERSE: one iperf3 run; sets R_GBITS, R_CPU (s/GB) and R_RETR ("-"
# when unknown). Not in a subshell, so the iperf3 server's pid reaches the cleanup list.
run_one() {
	local path=$1 streams=$2 reverse=$3 addr server json before after bytes bits pids=() args
	R_GBITS=- R_CPU=- R_RETR=-
	case $path in
	veth) addr=192.0.2.2 ;;
	*) addr=${ADDR[$path,2]}; pids=("${PID[$path,1]}" "${PID[$path,2]}") ;;
	esac
	timeout "$WAIT_LIMIT" ip netns exec "$NS2" iperf3 -s -1 -p "$IPERF_PORT" \
		>>"$WORKDIR/iperf3-server.log" 2>&1 &
	server=$!
	STARTED+=("$server")
	if ! wait_until 5 server_listens; then
		stop "$server"
		return
	fi
	args=(-c "$addr" -p "$IPERF_PORT" -t "$DURATION" -P "$streams" -J)
	[[ $reverse == yes ]] && args+=(-R)
	json=$WORKDIR/$path-$streams-$reverse-$RANDOM.json
	before=$(cpu_ticks "${pids[@]}")
	timeout "$WAIT_LIMIT" ip netns exec "$NS1" iperf3 "${args[@]}" >"$json" 2>&1
	after=$(cpu_ticks "${pids[@]}")
	wait_until 5 eval "! is_running $server" || stop "$server"
	wait "$server" 2>/dev/null
	bytes=$(jq -r '.end.sum_received.bytes // empty' "$json" 2>/dev/null)
	bits=$(jq -r '.end.sum_received.bits_per_second // empty' "$json" 2>/dev/null)
	[[ -n $bytes && -n $bits && $bytes != 0 ]] || return
	R_GBITS=$(awk -v b="$bits" 'BEGIN { printf "%.3f", b / 1e9 }')
	((${#pids[@]})) && R_CPU=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v bytes="$bytes" \
		'BEGIN { printf "%.2f", t / hz / (bytes / 1e9) }')
	R_RETR=$(jq -r '.end.sum_sent.retransmits // "-"' "$json" 2>/dev/null)
}

TESTS=("1 no" "1 yes" "4 no" "4 yes")
test_name() {
	local streams=${1% *} reverse=${1#* }
	printf 'TCP %s stream%s %s' "$streams" "$([[ $streams == 1 ]] || echo s)" \
		"$([[ $reverse == yes ]] && echo 'ns2->ns1' || echo 'ns1->ns2')"
}

declare -A GBITS=() CPU=()	# "path,test" -> space-separated values, one per round
log "# $(date -u '+%F %T') UTC: ${#IMPLS[@]} tunnel(s) up (${IMPLS[*]:-none});" \
	"$ROUNDS round(s) of $DURATION s runs"
for ((round = 1; round <= ROUNDS; round++)); do
	for t in "${!TESTS[@]}"; do
		order=(veth "${IMPLS[@]}")
		# Flip the implementations' order every test so neither always goes first.
		if (((round + t) % 2)) && [[ ${#IMPLS[@]} -eq 2 ]]; then
			order=(veth "${IMPLS[1]}" "${IMPLS[0]}")
		fi
		for path in "${order[@]}"; do
			run_one "$path" "${TESTS[$t]% *}" "${TESTS[$t]#* }"
			GBITS[$path,$t]+="$R_GBITS "
			CPU[$path,$t]+="$R_CPU "
			log "# round $round  $(test_name "${TESTS[$t]}")  $path: $R_GBITS Gbit/s," \
				"CPU $R_CPU s/GB, retransmits $R_RETR"
		done
	done
done

# median VALUES...: the middle value ("-" entries ignored), or "-".
median() {
	printf '%s\n' "$@" | grep -v '^-$' | sort -g |
		awk '{ v[NR] = $1 }
		     END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
			   else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cell() {	# cell PATH TEST KIND
	local -n table=$3
	[[ -n ${table[$1,$2]:-} ]] || { echo "n/a"; return; }
	# shellcheck disable=SC2086
	median ${table[$1,$2]}
}

printf '\n# %s, %s round(s) x %s s, median; CPU = both daemons, user+system s per GB received\n' \
	"$(date -u '+%F')" "$ROUNDS" "$DURATION"
printf '%-26s %10s %13s %7s %10s %12s %16s\n' test "wiremesh" "wireguard-go" ratio "veth" \
	"wm CPU s/GB" "wg-go CPU s/GB"
for t in "${!TESTS[@]}"; do
	wm=$(cell wiremesh "$t" GBITS)
	wg=$(cell wireguard-go "$t" GBITS)
	ratio=$(awk -v a="$wm" -v b="$wg" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b;
		else print "-" }')
	printf '%-26s %10s %13s %7s %10s %12s %16s\n' "$(test_name "${TESTS[$t]}")" "$wm" "$wg" \
		"$ratio" "$(cell veth "$t" GBITS)" "$(cell wiremesh "$t" CPU)" \
		"$(cell wireguard-go "$t" CPU)"
done
echo "(Gbit/s of TCP payload received; ratio = wiremesh / wireguard-go)"
