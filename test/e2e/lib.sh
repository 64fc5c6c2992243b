# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for the end-to-end scenarios (sourced by interop.sh and unprivileged.sh).
#
# Topology, as in the kernel's netns.sh: two namespaces joined by a veth pair that carries the
# UDP underlay, each running one WireGuard implementation on its own TUN interface:
#
#   ns1: v1 192.0.2.1/24 2001:db8:1::1/64 <-veth-> ns2: v2 192.0.2.2/24 2001:db8:1::2/64
#        IF1 10.9.0.1/24 fd00:9::1/64              IF2 10.9.0.2/24 fd00:9::2/64
#
# Every name carries this run's id (namespaces wmt-$$-N, interfaces wmt$$a/wmt$$b), because
# /var/run/wireguard is shared by all namespaces and parallel or leftover runs must not collide.
# All that is created is registered, and the EXIT trap removes it, also after a failure or ^C.

# run-tests executes every test/e2e/*.sh; this one only makes sense when sourced.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	exit 0
fi

WM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WM_BIN=${WM_BIN:-$WM_REPO/build/wiremesh}
# shellcheck disable=SC2034 # the servers, for the scenarios that run them
COORD_BIN=$WM_REPO/${WM_BUILD:-build}/wiremesh-coord
# shellcheck disable=SC2034
RELAY_BIN=$WM_REPO/${WM_BUILD:-build}/wiremesh-relay
WG_GO=${WG_GO:-wireguard-go}
UAPI_DIR=/var/run/wireguard
# The interpreter itself, not a version-manager shim that costs 0.1 s per start.
# shellcheck disable=SC2034
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || PYTHON=python3

RUN_ID=$$
# The names and addresses below are used by the scripts that source this file.
# shellcheck disable=SC2034
{
NS1=wmt-$RUN_ID-1
NS2=wmt-$RUN_ID-2
IF1=wmt${RUN_ID}a
IF2=wmt${RUN_ID}b
PORT1=51821
PORT2=51822
UNDERLAY4_1=192.0.2.1
UNDERLAY4_2=192.0.2.2
UNDERLAY6_1=2001:db8:1::1
UNDERLAY6_2=2001:db8:1::2
OVERLAY4_1=10.9.0.1
OVERLAY4_2=10.9.0.2
OVERLAY6_1=fd00:9::1
OVERLAY6_2=fd00:9::2
}

FAILURES=0
WORKDIR=
CREATED_NS=()
STARTED_PIDS=()
USED_IFNAMES=()
CLEANUP_HOOKS=()
UAPI_DIR_EXISTED=yes
declare -A DAEMON_PID=() DAEMON_LOG=() DAEMON_NS=()

# ---- output protocol: one line per check, diagnostics indented ----------------------------

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILURES=$((FAILURES + 1)); }
skip() { echo "skip - $*"; }
indent() { sed 's/^/    /'; }

# Hook for the scenario script: prints what helps to understand a failed check.
print_diagnostics() { :; }

# check DESCRIPTION CMD...: runs CMD; ok if it succeeds, else not ok plus its output and the
# scenario's diagnostics. CMD runs in this shell (not in $(...)), so what it records stays.
check() {
	local what=$1 out=$WORKDIR/check.out
	shift
	if "$@" >"$out" 2>&1; then
		ok "$what"
		return 0
	fi
	not_ok "$what"
	{
		cat "$out"
		print_diagnostics
	} | indent
	return 1
}

# check_not DESCRIPTION CMD...: the reverse, for "this must not work".
check_not() {
	local what=$1 out=$WORKDIR/check.out
	shift
	if ! "$@" >"$out" 2>&1; then
		ok "$what"
		return 0
	fi
	not_ok "$what"
	{
		echo "unexpectedly succeeded:"
		cat "$out"
		print_diagnostics
	} | indent
	return 1
}

# ---- preconditions -------------------------------------------------------------------------

# is_root SCENARIO: prints the skip line and fails when not root.
is_root() {
	[[ $EUID -eq 0 ]] && return 0
	skip "$1: needs root (network namespaces, TUN devices)"
	return 1
}

# has_tools SCENARIO TOOL...: prints the skip line and fails when a tool is missing.
has_tools() {
	local scenario=$1 tool missing=()
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	skip "$scenario: missing ${missing[*]}"
	return 1
}

# are_built SCENARIO PROGRAM...: prints the skip line and fails when a program is not built.
are_built() {
	local scenario=$1 bin
	shift
	for bin in "$@"; do
		[[ -x $bin ]] && continue
		skip "$scenario: ${bin#"$WM_REPO"/} is not built (make)"
		return 1
	done
}

# impl_command IMPL: the command that runs implementation IMPL (wiremesh or wireguard-go).
impl_command() {
	case $1 in
	wiremesh)
		# WM_ARGS (e.g. --no-offload, --threads 1) go through a wrapper, so the command stays
		# one word for every caller, wg-quick's WG_QUICK_USERSPACE_IMPLEMENTATION included.
		if [[ -n ${WM_ARGS:-} ]]; then
			local wrapper=$WORKDIR/wiremesh-with-args
			printf '#!/bin/sh\nexec %q %s "$@"\n' "$WM_BIN" "$WM_ARGS" >"$wrapper"
			chmod +x "$wrapper"
			echo "$wrapper"
		else
			echo "$WM_BIN"
		fi
		;;
	wireguard-go) echo "$WG_GO" ;;
	*) return 1 ;;
	esac
}

# impl_is_available IMPL: prints why not when it is not.
impl_is_available() {
	local cmd
	if ! cmd=$(impl_command "$1"); then
		echo "unknown implementation '$1' (expected wiremesh or wireguard-go)"
		return 1
	fi
	if [[ $1 == wiremesh && ! -x $cmd ]]; then
		echo "build/wiremesh not built ($cmd is missing)"
		return 1
	fi
	if ! command -v "$cmd" >/dev/null 2>&1; then
		echo "$cmd not found"
		return 1
	fi
}

# ---- time and waiting ----------------------------------------------------------------------

now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds or the deadline passes.
wait_for() {
	local deadline=$(( $(now_ms) + $1 * 1000 ))
	shift
	while true; do
		"$@" >/dev/null 2>&1 && return 0
		(( $(now_ms) >= deadline )) && break
		sleep 0.2
	done
	"$@"
}

# seconds_since START_MS: elapsed time with one decimal.
seconds_since() {
	local ms=$(( $(now_ms) - $1 ))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---- processes -----------------------------------------------------------------------------

# is_running PID: alive and not a zombie (a dead child stays a zombie until it is waited for,
# and kill -0 still succeeds on it).
is_running() {
	local stat
	[[ -r /proc/$1/stat ]] || return 1
	stat=$(<"/proc/$1/stat") || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# is_ours PID: our child, or a process in one of our namespaces (a daemon that wg-quick
# started). A run forks thousands of processes, so a recorded pid may be someone else's by now.
is_ours() {
	local stat ns
	stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
	stat=${stat##*) }
	[[ $(cut -d' ' -f2 <<<"$stat") == "$$" ]] && return 0
	ns=$(ip netns identify "$1" 2>/dev/null) || return 1
	[[ -n $ns && " ${CREATED_NS[*]} " == *" $ns "* ]]
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s, if it is still ours; reaps our children.
stop_pid() {
	local pid=$1
	if ! is_running "$pid" || ! is_ours "$pid"; then
		wait "$pid" 2>/dev/null
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	wait_for 5 eval "! is_running $pid" >/dev/null 2>&1 || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ---- namespaces and the underlay -----------------------------------------------------------

n() { local ns=$1; shift; timeout 30 ip netns exec "$ns" "$@"; }

create_namespace() {
	ip netns add "$1" || return 1
	CREATED_NS+=("$1")
	ip -n "$1" link set lo up
}

delete_namespace() {
	local ns=$1 pid
	for pid in $(ip netns pids "$ns" 2>/dev/null); do
		stop_pid "$pid"
	done
	ip netns del "$ns" 2>/dev/null
	return 0
}

# attach NS ADDR: NS (created here) joins the bridge br0 of the switch namespace $NS_SW
# through a veth pair, with ADDR/24 on its eth0. The switch port is named after NS's last part.
attach() {
	local ns=$1 addr=$2 port=p${1##*-}
	create_namespace "$ns" || return 1
	ip -n "$NS_SW" link add "$port" type veth peer name eth0 netns "$ns" &&
		ip -n "$NS_SW" link set "$port" master br0 up &&
		ip -n "$ns" addr add "$addr/24" dev eth0 &&
		ip -n "$ns" link set eth0 up
}

# create_underlay: ns1 and ns2 joined by a veth pair with IPv4 and IPv6 addresses.
create_underlay() {
	create_namespace "$NS1" && create_namespace "$NS2" || return 1
	ip -n "$NS1" link add v1 type veth peer name v2 netns "$NS2" || return 1
	ip -n "$NS1" addr add "$UNDERLAY4_1/24" dev v1
	ip -n "$NS1" addr add "$UNDERLAY6_1/64" dev v1 nodad
	ip -n "$NS2" addr add "$UNDERLAY4_2/24" dev v2
	ip -n "$NS2" addr add "$UNDERLAY6_2/64" dev v2 nodad
	ip -n "$NS1" link set v1 up && ip -n "$NS2" link set v2 up
}

delete_underlay() {
	local ns
	for ns in "$NS1" "$NS2"; do
		delete_namespace "$ns"
	done
}

# ---- daemons -------------------------------------------------------------------------------

uapi_socket() { echo "$UAPI_DIR/$1.sock"; }

# uapi IF INPUT: sends INPUT, prints the answer up to its blank line (empty if the daemon just
# hangs up; an answer that has not ended after 3 s is printed as it is). A complete request is
# sent as wg sends it, the connection left open; after an incomplete one the client shuts its
# side down, so the daemon sees the end.
UAPI_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("latin-1"))
if not sys.argv[2].endswith("\n\n"):
    s.shutdown(socket.SHUT_WR)
got = b""
try:
    while not got.endswith(b"\n\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
except OSError:
    pass
sys.stdout.write(got.decode("latin-1"))
'
uapi() { timeout 10 "$PYTHON" -c "$UAPI_PY" "$(uapi_socket "$1")" "$2"; }

# uapi_answers IF: the daemon behind the socket answers a get with errno=0.
uapi_answers() {
	[[ -S $(uapi_socket "$1") ]] && uapi "$1" $'get=1\n\n' 2>/dev/null | grep -qx 'errno=0'
}

note_ifname() {
	local name
	for name in "${USED_IFNAMES[@]}"; do
		[[ $name == "$1" ]] && return 0
	done
	USED_IFNAMES+=("$1")
}

# launch_daemon NS IF CMD...: runs CMD (a daemon in the foreground that serves IF) inside NS,
# logging to the work dir, and waits (10 s at most) until its UAPI socket answers.
launch_daemon() {
	local ns=$1 ifname=$2 pid
	shift 2
	note_ifname "$ifname"
	DAEMON_LOG[$ifname]=$WORKDIR/$ifname.log
	DAEMON_NS[$ifname]=$ns
	echo "=== $(date +%T) start $* in $ns" >>"${DAEMON_LOG[$ifname]}"
	ip netns exec "$ns" "$@" </dev/null >>"${DAEMON_LOG[$ifname]}" 2>&1 &
	pid=$!
	DAEMON_PID[$ifname]=$pid
	STARTED_PIDS+=("$pid")
	wait_for 10 answers_or_died "$ifname" "$pid"
	if ! is_running "$pid"; then
		wait "$pid"
		echo "$ifname: the daemon exited with status $? before answering on $(uapi_socket "$ifname")"
		return 1
	fi
	if ! uapi_answers "$ifname"; then
		echo "$ifname: no answer on $(uapi_socket "$ifname") within 10 s"
		return 1
	fi
}

answers_or_died() { uapi_answers "$1" || ! is_running "$2"; }

# start_daemon NS IMPL IF: implementation IMPL as root, kept in the foreground by the
# environment as wg-quick's callers do.
start_daemon() {
	local cmd
	cmd=$(impl_command "$2") || return 1
	launch_daemon "$1" "$3" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose "$cmd" "$3"
}

# stop_daemon IF: SIGTERM to the daemon serving IF, waits for it to exit.
stop_daemon() {
	local pid=${DAEMON_PID[$1]:-}
	[[ -n $pid ]] && stop_pid "$pid"
	return 0
}

daemon_is_running() { is_running "${DAEMON_PID[$1]:-0}"; }

# trim_logs: a daemon stuck in a loop can log 20 MB/s; keep the last MiB of any log over 10 MiB.
trim_logs() {
	local log
	for log in "${DAEMON_LOG[@]}"; do
		[[ -f $log && $(stat -c %s "$log") -gt 10485760 ]] || continue
		tail -c 1048576 "$log" >"$log.tail" && mv "$log.tail" "$log"
	done
}

# wg_in NS ARGS...: wg inside NS, bounded in time since it blocks on a stuck daemon.
wg_in() { local ns=$1; shift; timeout 10 ip netns exec "$ns" wg "$@"; }

# show_daemon IF: wg show and the end of the daemon's log, for diagnostics.
show_daemon() {
	local ifname=$1 ns=${DAEMON_NS[$1]:-}
	[[ -n $ns ]] || return 0
	echo "--- $ifname in $ns: pid ${DAEMON_PID[$ifname]:-?}$(daemon_is_running "$ifname" ||
		echo ' (not running)')"
	wg_in "$ns" show "$ifname" 2>&1
	ip -n "$ns" -br addr 2>&1
	if [[ -f ${DAEMON_LOG[$ifname]:-} ]]; then
		echo "--- last lines of ${DAEMON_LOG[$ifname]##*/}:"
		tail -n 15 "${DAEMON_LOG[$ifname]}" | awk '{ print substr($0, 1, 300) }'
	fi
}

# ---- mesh nodes (wiremesh up) ----------------------------------------------------------------
# The scripts that use these define ns_of NODE, state_of NODE and db, and set COORD_BIN.

# wm NODE CMD ARGS...: the wiremesh CLI in NODE's namespace, against NODE's state directory.
wm() {
	local node=$1 cmd=$2
	shift 2
	n "$(ns_of "$node")" "$WM_BIN" "$cmd" --state "$(state_of "$node")" "$@"
}

# coord_admin ARGS...: wiremesh-coord's admin commands on the scenario's database.
coord_admin() { "$COORD_BIN" "$@" --db "$(db)"; }

# fails_with_2_saying PATTERN CMD...: CMD exits 2, and its output matches PATTERN (grep -Ei).
fails_with_2_saying() {
	local pattern=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	echo "exit status $rc: $out"
	[[ $rc == 2 ]] && grep -Eqi -- "$pattern" <<<"$out"
}

# create_switch: the underlay: namespace $NS_SW with the bridge br0, and attached to it the hub
# ($NS_HUB at $HUB) and every node of NODES (namespace `ns_of NODE`, address ADDR[NODE]).
create_switch() {
	local node
	create_namespace "$NS_SW" && ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up && attach "$NS_HUB" "$HUB" || return 1
	for node in "${NODES[@]}"; do
		# shellcheck disable=SC2153 # ADDR and NODES are the scenario's
		attach "$(ns_of "$node")" "${ADDR[$node]}" || return 1
	done
}

# up NODE ARGS...: `wiremesh up` for NODE (its output in $WORKDIR/NODE.up), logging verbosely
# to $WORKDIR/NODE.log. For a scenario that defines ns_of, if_of and state_of (a node's
# namespace, interface and state directory) and sets URL and AUTHKEY; one with other needs
# defines its own.
up() {
	local node=$1 rc
	shift
	note_ifname "$(if_of "$node")"
	LOG_LEVEL=verbose n "$(ns_of "$node")" "$WM_BIN" up --coord "$URL" --hostname "$node" \
		--state "$(state_of "$node")" --ifname "$(if_of "$node")" --timeout 10 \
		--authkey "$AUTHKEY" "$@" >"$WORKDIR/$node.up" 2>>"$WORKDIR/$node.log"
	rc=$?
	cat "$WORKDIR/$node.up"
	return $rc
}

# comes_up NODE ARGS...: up says "is up", and NODE's mesh address is known (in MESH_IP, an
# associative array the scenario declares).
comes_up() {
	local node=$1
	note_ifname "$(if_of "$node")"	# here: up runs in the pipeline's subshell
	if ! up "$@" | grep -q 'is up'; then
		echo "$node did not come up:"
		cat "$WORKDIR/$node.up"
		tail -n 5 "$WORKDIR/$node.log"
		return 1
	fi
	# shellcheck disable=SC2004 # MESH_IP is the scenario's associative array, not indexed
	MESH_IP[$node]=$(wm "$node" ip | sed -n 1p)
	[[ ${MESH_IP[$node]} == 100.* ]]
}

# start_hub: wiremesh-coord (on $HUB:$COORD_PORT) and wiremesh-relay (on $HUB:$RELAY_PORT, STUN
# on 3478) in namespace $NS_HUB, logging to $WORKDIR; a relay map of that one relay, and a
# reusable auth key in AUTHKEY. Sets COORD_PID and RELAY_PID.
start_hub() {
	ip netns exec "$NS_HUB" "$COORD_BIN" serve --db "$(db)" --plain \
		--listen "$HUB:$COORD_PORT" -v >>"$WORKDIR/coord.log" 2>&1 &
	COORD_PID=$!
	STARTED_PIDS+=("$COORD_PID")
	ip netns exec "$NS_HUB" "$RELAY_BIN" --plain --listen "$HUB:$RELAY_PORT" \
		--stun "$HUB:3478" >"$WORKDIR/relay.log" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	wait_for 5 n "$NS_HUB" curl -sf "http://$HUB:$COORD_PORT/health" &&
		wait_for 5 n "$NS_HUB" curl -sf "http://$HUB:$RELAY_PORT/generate_204" || return 1
	coord_admin relays set - <<-EOF || return 1
	{"regions": [{"id": 1, "code": "hub", "name": "Hub",
	  "relays": [{"url": "http://$HUB:$RELAY_PORT/derp", "stun": "$HUB:3478"}]}]}
	EOF
	AUTHKEY=$(coord_admin authkey create --reusable) && [[ $AUTHKEY == wmauth-* ]]
}

# status_query NODE EXPR: EXPR (python over NODE's status JSON s and its peers by name p)
# printed; fails when it is false.
status_query() {
	wm "$1" status --json 2>/dev/null | "$PYTHON" -c '
import json, sys
s = json.load(sys.stdin)
p = {x["name"]: x for x in s["peers"]}
r = eval(sys.argv[1])
print(r)
sys.exit(0 if r else 1)' "$2"
}

# ---- keys ----------------------------------------------------------------------------------

# make_keypair NAME: $WORKDIR/NAME.key and NAME.pub.
make_keypair() {
	(umask 077 && wg genkey >"$WORKDIR/$1.key") && wg pubkey <"$WORKDIR/$1.key" >"$WORKDIR/$1.pub"
}

pubkey() { cat "$WORKDIR/$1.pub"; }

# ---- traffic -------------------------------------------------------------------------------

# pings NS ADDR: one echo reply within a second.
pings() { n "$1" ping -n -q -c 1 -W 1 "$2"; }

# ping_within SECONDS NS ADDR: some echo reply before the deadline (the first packets may wait
# for a handshake).
ping_within() { wait_for "$1" pings "$2" "$3"; }

# pings_for_a_while NS ADDR: any answer to three probes over three seconds (on a veth, time
# for many handshake attempts); for the checks that nothing gets through.
pings_for_a_while() { n "$1" ping -n -q -c 3 -i 1 -W 1 "$2"; }

# tcp_listens NS PORT
tcp_listens() { n "$1" ss -Hltn "sport = :$2" | grep -q LISTEN; }

# send_file FROM_NS TO_NS TO_ADDR PORT FILE SECONDS: streams FILE over TCP to a listener on
# TO_ADDR, bounded by SECONDS. Sets SENT_RC (the sender's exit status, 124 on timeout),
# SENT_SUM (sha256 of what arrived) and SENT_MS. Both ends run in the background and are
# waited for, so that ^C interrupts the wait instead of waiting for the transfer.
# shellcheck disable=SC2034
send_file() {
	local from=$1 to=$2 addr=$3 port=$4 file=$5 limit=$6 sumfile receiver sender start
	SENT_RC=1 SENT_SUM='' SENT_MS=0
	sumfile=$(mktemp -p "$WORKDIR" sum.XXXXXX)
	(timeout "$limit" ip netns exec "$to" socat -u "TCP-LISTEN:$port,bind=$addr,reuseaddr" \
		STDOUT 2>>"$WORKDIR/socat.log" | sha256sum >"$sumfile") &
	receiver=$!
	STARTED_PIDS+=("$receiver")
	if ! wait_for 5 tcp_listens "$to" "$port"; then
		echo "receiver did not listen on $addr:$port"
		return 1
	fi
	start=$(now_ms)
	timeout "$limit" ip netns exec "$from" socat -u "FILE:$file" "TCP:$addr:$port" \
		2>>"$WORKDIR/socat.log" &
	sender=$!
	STARTED_PIDS+=("$sender")
	wait "$sender"
	SENT_RC=$?
	# Without a sender the receiver would sit out its whole time limit.
	[[ $SENT_RC == 0 ]] || stop_pid "$receiver"
	wait "$receiver"
	SENT_MS=$(($(now_ms) - start))
	SENT_SUM=$(cut -d' ' -f1 "$sumfile")
	[[ $SENT_RC == 0 ]]
}

# transfer_matches SHA256 FROM_NS TO_NS TO_ADDR PORT FILE: send_file within 30 s, and what
# arrived has that checksum.
transfer_matches() {
	local sum=$1
	shift
	if ! ping_within 5 "$1" "$3" >/dev/null 2>&1; then
		echo "no ping to $3, transfer not attempted"
		return 1
	fi
	send_file "$@" 30
	[[ $SENT_RC == 0 && $SENT_SUM == "$sum" ]] ||
		{ echo "sender exit $SENT_RC, received sha256 '$SENT_SUM', sent $sum"; return 1; }
}

# ---- cleanup -------------------------------------------------------------------------------

# remember_uapi_dir: whether /var/run/wireguard existed before this run, so that the trap
# removes it only if this run created it (and nothing else lives in it).
remember_uapi_dir() {
	[[ -d $UAPI_DIR ]] || UAPI_DIR_EXISTED=no
}

cleanup() {
	local pid ns ifname hook
	trap - EXIT HUP INT PIPE TERM
	for pid in "${STARTED_PIDS[@]}"; do
		stop_pid "$pid"
	done
	for ns in "${CREATED_NS[@]}"; do
		delete_namespace "$ns"
	done
	for ifname in "${USED_IFNAMES[@]}"; do
		rm -f "$(uapi_socket "$ifname")"
	done
	for hook in "${CLEANUP_HOOKS[@]}"; do
		eval "$hook"
	done
	[[ $UAPI_DIR_EXISTED == no ]] && rmdir "$UAPI_DIR" 2>/dev/null
	if [[ -n $WORKDIR && -d $WORKDIR ]]; then
		if [[ -n ${WMT_KEEP:-} ]]; then
			echo "# logs kept in $WORKDIR"
		else
			rm -rf "$WORKDIR"
		fi
	fi
	return 0
}

# set_up_run: work dir and the trap; call once, after the precondition checks.
set_up_run() {
	remember_uapi_dir
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/wmt-$RUN_ID.XXXXXX") || exit 1
	trap cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
}
