#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Starting wiremesh the way scripts do: every way of starting a detached daemon returns to its
# caller at once, even when the caller waits for end-of-file on the daemon's output, and the
# daemon then works. Needs root. Topology: ns1 and ns2 of lib.sh (one veth, 192.0.2.1/.2).
#
# Checks, each bounded by `timeout` so that a daemon holding the caller's output is a failure,
# not a hang:
#   - out=$(wiremesh IF) and `wiremesh IF | tee FILE` return; the two daemons carry a ping
#   - out=$(wg-quick up CONF) with WG_QUICK_USERSPACE_IMPLEMENTATION=wiremesh returns; the
#     tunnel carries a ping; wg-quick down removes it
#   - without LOG_LEVEL the detached daemon's errors go to syslog (facility daemon), and
#     nothing to the caller's stderr; with LOG_LEVEL=verbose they keep going to that stderr,
#     and out=$(LOG_LEVEL=verbose wiremesh IF) still returns (stdout is let go)
#   - out=$(wiremesh up …) and `wiremesh up … | tee` return; the two mesh nodes ping
#   - `wiremesh up` against a coordination server that is not there says what it waits for
#     while it waits, gives up after --timeout with exit status 1 and a sentence naming the
#     URL and the reason, and leaves no interface or process behind
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check. WMT_KEEP=1 keeps the logs.

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# How long a start may take before it counts as hanging: generous for a loaded machine; a
# daemon that holds the caller's output never returns at all.
START_LIMIT=20
COORD_PORT=8080
URL=http://$UNDERLAY4_1:$COORD_PORT
SYSLOG_SOCKET='' SYSLOG=''

is_root "detach" || exit 0
has_tools "detach" ip wg wg-quick socat curl "$PYTHON" || exit 0
are_built "detach" "$WM_BIN" "$COORD_BIN" || exit 0
set_up_run

print_diagnostics() {
	local f
	for f in "$WORKDIR"/*.log "$WORKDIR"/*.err; do
		[[ -s $f ]] || continue
		echo "--- last lines of ${f##*/}:"
		tail -n 8 "$f" | awk '{ print substr($0, 1, 300) }'
	done
}

# ---- syslog: a datagram socket standing in for /dev/log -------------------------------------

# listen_as_syslog: receives what processes send to /dev/log into $SYSLOG. Where no syslog
# daemon runs, /dev/log becomes a symlink to our socket (removed afterwards); where one does,
# the daemons under test run in a mount namespace whose /dev/log is bound to our socket.
LOG_WRAP=()
listen_as_syslog() {
	SYSLOG_SOCKET=$WORKDIR/log.sock SYSLOG=$WORKDIR/syslog.txt
	: >"$SYSLOG"
	socat -u "UNIX-RECV:$SYSLOG_SOCKET,mode=666" "OPEN:$SYSLOG,append" 2>>"$WORKDIR/socat.err" &
	STARTED_PIDS+=("$!")
	wait_for 5 test -S "$SYSLOG_SOCKET" || return 1
	if [[ -e /dev/log || -L /dev/log ]]; then
		# shellcheck disable=SC2016
		LOG_WRAP=(unshare -m --propagation private sh -c 'mount --bind "$0" /dev/log && exec "$@"'
			"$SYSLOG_SOCKET")
	else
		ln -s "$SYSLOG_SOCKET" /dev/log || return 1
		CLEANUP_HOOKS+=("[[ \$(readlink /dev/log) == '$SYSLOG_SOCKET' ]] && rm -f /dev/log")
	fi
}

# ---- the wireguard-go drop-in -----------------------------------------------------------------

# returns_in_time WHAT CMD...: CMD (output captured, as $(...) does) ends within START_LIMIT s
# with status 0.
returns_in_time() {
	local start rc
	start=$(now_ms)
	timeout "$START_LIMIT" "$@" >"$WORKDIR/returned.out" 2>&1
	rc=$?
	cat "$WORKDIR/returned.out"
	if ((rc == 124)); then
		echo "still waiting after ${START_LIMIT} s: the daemon holds the caller's output"
		return 1
	fi
	echo "returned with status $rc after $(seconds_since "$start") s"
	return "$rc"
}

# start_captured NS IF: out=$(wiremesh IF), as a script does it.
start_captured() {
	note_ifname "$2"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$1" bash -c 'out=$("$0" "$1") && echo "captured: [$out]"' \
		"$WM_BIN" "$2"
}

# start_through_tee NS IF: wiremesh IF 2>&1 | tee FILE (tee waits for end-of-file).
start_through_tee() {
	note_ifname "$2"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$1" bash -c 'set -o pipefail; "$0" "$1" 2>&1 | tee "$2"' \
		"$WM_BIN" "$2" "$WORKDIR/tee.out"
}

daemon_pid_of() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$(readlink -f "$WM_BIN")" ]] &&
			grep -qxF -- "$2" <(tr '\0' '\n' <"/proc/$pid/cmdline") && { echo "$pid"; return 0; }
	done
	return 1
}

configure_pair() {
	local k1=$WORKDIR/a.key k2=$WORKDIR/b.key
	make_keypair a && make_keypair b || return 1
	wg_in "$NS1" set "$IF1" private-key "$k1" listen-port "$PORT1" \
		peer "$(pubkey b)" endpoint "$UNDERLAY4_2:$PORT2" allowed-ips "$OVERLAY4_2/32" &&
		wg_in "$NS2" set "$IF2" private-key "$k2" listen-port "$PORT2" \
			peer "$(pubkey a)" endpoint "$UNDERLAY4_1:$PORT1" allowed-ips "$OVERLAY4_1/32" &&
		ip -n "$NS1" addr add "$OVERLAY4_1/24" dev "$IF1" && ip -n "$NS1" link set "$IF1" up &&
		ip -n "$NS2" addr add "$OVERLAY4_2/24" dev "$IF2" && ip -n "$NS2" link set "$IF2" up
}

stop_interface_daemon() {
	local pid
	pid=$(daemon_pid_of "$1" "$2") && stop_pid "$pid"
	rm -f "$(uapi_socket "$2")"
}

drop_in_starts() {
	check "detach: out=\$(wiremesh $IF1) returns" start_captured "$NS1" "$IF1"
	check "detach: wiremesh $IF2 | tee returns" start_through_tee "$NS2" "$IF2"
	check "detach: both detached daemons answer on their UAPI sockets" \
		eval "uapi_answers $IF1 && uapi_answers $IF2"
	check "detach: configured with wg, the two detached daemons carry a ping" \
		eval "configure_pair && ping_within 10 $NS1 $OVERLAY4_2"
	stop_interface_daemon "$NS1" "$IF1"
	stop_interface_daemon "$NS2" "$IF2"
}

# ---- wg-quick ---------------------------------------------------------------------------------

QUICK_IF=wmq$RUN_ID
write_quick_config() {
	cat >"$WORKDIR/$QUICK_IF.conf" <<-EOF
	[Interface]
	PrivateKey = $(cat "$WORKDIR/a.key")
	Address = $OVERLAY4_1/24
	ListenPort = $PORT1

	[Peer]
	PublicKey = $(pubkey b)
	Endpoint = $UNDERLAY4_2:$PORT2
	AllowedIPs = $OVERLAY4_2/32
	EOF
	chmod 600 "$WORKDIR/$QUICK_IF.conf"
}

quick_up_captured() {
	note_ifname "$QUICK_IF"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$NS1" env WG_QUICK_USERSPACE_IMPLEMENTATION="$WM_BIN" \
		bash -c 'out=$(wg-quick up "$0" 2>&1) && echo "captured: [$out]"' \
		"$WORKDIR/$QUICK_IF.conf"
}

wg_quick_start() {
	if [[ -e /sys/module/wireguard ]]; then
		skip "detach: wg-quick: the wireguard kernel module is loaded, wg-quick would use it"
		return
	fi
	# The peer: a foreground wiremesh on IF2 (started by lib.sh, kept in front by its env).
	if ! start_daemon "$NS2" wiremesh "$IF2" >"$WORKDIR/setup.err" 2>&1 ||
		! wg_in "$NS2" set "$IF2" private-key "$WORKDIR/b.key" listen-port "$PORT2" \
			peer "$(pubkey a)" endpoint "$UNDERLAY4_1:$PORT1" allowed-ips "$OVERLAY4_1/32" ||
		! ip -n "$NS2" addr add "$OVERLAY4_2/24" dev "$IF2" ||
		! ip -n "$NS2" link set "$IF2" up; then
		not_ok "detach: wg-quick: starting the peer"
		indent <"$WORKDIR/setup.err"
		return
	fi
	write_quick_config
	check "detach: out=\$(wg-quick up $QUICK_IF) with wiremesh returns" quick_up_captured
	check "detach: the wg-quick tunnel carries a ping" ping_within 10 "$NS1" "$OVERLAY4_2"
	check "detach: wg-quick down removes $QUICK_IF" eval \
		"timeout $START_LIMIT ip netns exec $NS1 wg-quick down $WORKDIR/$QUICK_IF.conf </dev/null &&
		 ! ip -n $NS1 link show $QUICK_IF"
	stop_daemon "$IF2"
}

# ---- where a detached daemon's logs go ----------------------------------------------------------

# An oversized UAPI request (over WM_UAPI_MAX_REQUEST, 32 MiB) is refused with an error-level log line, long after detaching.
provoke_error() {
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
try:
    s.sendall(b"set=1\n" + b"listen_port=0\n" * ((33 << 20) // 14))
except OSError:
    pass' "$(uapi_socket "$1")"
}

# start_with_stderr IF ERRFILE [ENV...]: out=$(env ENV wiremesh IF 2>ERRFILE) in ns1.
start_with_stderr() {
	local ifname=$1 errfile=$2
	shift 2
	note_ifname "$ifname"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$NS1" "${LOG_WRAP[@]}" env "$@" \
		bash -c 'out=$("$0" "$1" 2>"$2") && echo "captured: [$out]"' "$WM_BIN" "$ifname" "$errfile"
}

log_lines_in() { grep -c "request larger than" "$1" 2>/dev/null; }
syslog_has_error() { grep -q "request larger than" "$SYSLOG"; }
syslog_says_daemon_err() {
	# <PRI> = facility LOG_DAEMON (3) * 8 + LOG_ERR (3) = 27.
	grep "request larger than" "$SYSLOG" | grep -q '^<27>'
}
stderr_has_error() { [[ $(log_lines_in "$1") -ge 1 ]]; }
stderr_has_no_error() { [[ $(log_lines_in "$1") -eq 0 ]]; }

log_destinations() {
	local quiet_if=wml${RUN_ID}a loud_if=wml${RUN_ID}b quiet_err=$WORKDIR/quiet.err
	local loud_err=$WORKDIR/loud.err
	if ! listen_as_syslog >"$WORKDIR/setup.err" 2>&1; then
		not_ok "detach: listening on /dev/log"
		indent <"$WORKDIR/setup.err"
		return
	fi
	check "detach: without LOG_LEVEL, out=\$(wiremesh IF 2>FILE) returns" \
		start_with_stderr "$quiet_if" "$quiet_err"
	provoke_error "$quiet_if"
	check "detach: without LOG_LEVEL a detached daemon's error reaches syslog" \
		wait_for 5 syslog_has_error
	check "detach: ... with facility daemon, priority err" syslog_says_daemon_err
	check "detach: ... and nothing reaches the caller's stderr" stderr_has_no_error "$quiet_err"
	check "detach: with LOG_LEVEL=verbose, out=\$(wiremesh IF 2>FILE) returns" \
		start_with_stderr "$loud_if" "$loud_err" LOG_LEVEL=verbose
	provoke_error "$loud_if"
	check "detach: with LOG_LEVEL=verbose the error goes to the caller's stderr" \
		wait_for 5 stderr_has_error "$loud_err"
	stop_interface_daemon "$NS1" "$quiet_if"
	stop_interface_daemon "$NS1" "$loud_if"
}

# ---- wiremesh up --------------------------------------------------------------------------------

db() { echo "$WORKDIR/coord.db"; }
ns_of() { case $1 in a) echo "$NS1" ;; b) echo "$NS2" ;; esac; }
state_of() { echo "$WORKDIR/state-$1"; }
if_of() { echo "wmu${RUN_ID}$1"; }

start_coord() {
	ip netns exec "$NS1" "$COORD_BIN" serve --db "$(db)" --plain \
		--listen "$UNDERLAY4_1:$COORD_PORT" >>"$WORKDIR/coord.log" 2>&1 &
	STARTED_PIDS+=("$!")
	wait_for 5 n "$NS1" curl -sf "$URL/health" &&
		AUTHKEY=$(coord_admin authkey create --reusable) && [[ $AUTHKEY == wmauth-* ]]
}

# up_captured NODE: out=$(wiremesh up …); up_through_tee NODE: wiremesh up … | tee.
up_captured() {
	note_ifname "$(if_of "$1")"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$(ns_of "$1")" bash -c 'out=$("$@") && echo "captured: [$out]"' _ \
		"$WM_BIN" up --coord "$URL" --authkey "$AUTHKEY" --hostname "$1" \
		--state "$(state_of "$1")" --ifname "$(if_of "$1")" --timeout 10
}

up_through_tee() {
	note_ifname "$(if_of "$1")"
	# shellcheck disable=SC2016
	returns_in_time ip netns exec "$(ns_of "$1")" bash -c 'set -o pipefail; "$@" 2>&1 | tee /dev/null' _ \
		"$WM_BIN" up --coord "$URL" --authkey "$AUTHKEY" --hostname "$1" \
		--state "$(state_of "$1")" --ifname "$(if_of "$1")" --timeout 10
}

mesh_nodes_ping() {
	local b_ip
	b_ip=$(wm b ip -4) || return 1
	ping_within 10 "$NS1" "$b_ip"
}

# up_unreachable: nothing listens on the URL's port.
up_unreachable() {
	local start rc out
	note_ifname "$(if_of x)"
	start=$(now_ms)
	out=$(timeout "$START_LIMIT" ip netns exec "$NS2" "$WM_BIN" up \
		--coord "http://$UNDERLAY4_1:$((COORD_PORT + 1))" --authkey "$AUTHKEY" --hostname x \
		--state "$(state_of x)" --ifname "$(if_of x)" --timeout 6 2>&1)
	rc=$?
	echo "$out"
	echo "exit status $rc after $(seconds_since "$start") s"
	[[ $rc == 1 ]] &&
		grep -q "cannot reach the coordination server at http://$UNDERLAY4_1:$((COORD_PORT + 1)).*refused.*retrying, [0-9]* s left" <<<"$out" &&
		grep -q "gave up after 6 s: .*refused" <<<"$out" &&
		! ip -n "$NS2" link show "$(if_of x)" >/dev/null 2>&1 &&
		[[ -z $(daemon_pid_of "$NS2" "$(state_of x)") ]]
}

mesh_starts() {
	if ! start_coord >"$WORKDIR/setup.err" 2>&1; then
		not_ok "detach: starting the coordination server"
		indent <"$WORKDIR/setup.err"
		return
	fi
	check "detach: out=\$(wiremesh up …) returns" up_captured a
	check "detach: wiremesh up … | tee returns" up_through_tee b
	check "detach: the two mesh nodes started that way ping each other" mesh_nodes_ping
	check "detach: wiremesh up against an unreachable server says why while it waits, then exits 1" \
		up_unreachable
	wm a down >/dev/null 2>&1
	wm b down >/dev/null 2>&1
}

if ! create_underlay >"$WORKDIR/setup.err" 2>&1; then
	not_ok "detach: setting up the namespaces"
	indent <"$WORKDIR/setup.err"
	exit 1
fi
drop_in_starts
wg_quick_start
log_destinations
mesh_starts
exit 0
