#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Running as a service: what `make install` puts in place, and readiness as a service manager
# sees it, with the real programs.
#
#                 ns switch: bridge br0
#      +----------------+----------------+
#   ns hub 192.0.2.100  ns a .1          ns b .2
#   wiremesh-coord      wiremesh up -f   wiremesh up -f
#   wiremesh-relay      NOTIFY_SOCKET    + wiremesh wait && ping a
#
# Checks:
#   install   make install into a DESTDIR under the work dir: programs, the four units,
#             sysusers.d/wiremesh.conf, the man pages; @bindir@ replaced in every unit
#   verify    systemd-analyze verify on every installed unit (the template as wiremesh@wg0),
#             with the installed man pages on MANPATH (Documentation=man:… must resolve):
#             exit 0 and not a word of warning; and it does warn about a misspelt copy;
#             systemd-analyze security --offline rates each below 5 ("OK")
#   man       groff -ww -z (and mandoc -T lint where installed) on every page, silent; a broken
#             page is not; every --option and NAME= of every --help is in the program's page
#   systemd   started for real only with systemd as PID 1 (otherwise one skip line)
#   notify    node a started with NOTIFY_SOCKET (a datagram socket this script listens on)
#             before the coordination server runs: STATUS= lines say what it waits for, no
#             READY=1, and `wait --timeout 2` exits 1 saying the node is not up; once the
#             server runs, READY=1 comes, after the STATUS= lines, with the status "is up",
#             and at that moment `wait` says up and the interface has its 100.x address;
#             SIGTERM brings STOPPING=1
#   drop-in   wiremesh -f IFNAME with NOTIFY_SOCKET: READY=1 once its UAPI socket exists
#   refused   c with a wrong auth key: STATUS= says the server refused it, no READY=1, exit 1
#   wait      b started in the background and `wiremesh wait --timeout 30 && ping a` at once:
#             succeeds; b's NOTIFY_SOCKET names a socket nobody listens on, and b comes up
#             anyway (logged once); `wait --timeout 2` without a node exits 1 saying so;
#             --timeout 0 exits 2
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wms-$RUN_ID-sw
NS_HUB=wms-$RUN_ID-hub
HUB=192.0.2.100
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2 [c]=192.0.2.3)
declare -A NODE_PID=()
COORD_PID='' RELAY_PID='' AUTHKEY=''
DEST='' ROOT=''
UNITS=(wiremesh@.service wiremesh-node.service wiremesh-relay.service wiremesh-coord.service)
MANS=(man8/wiremesh.8 man8/wiremesh-relay.8 man8/wiremesh-coord.8 man5/wiremesh-policy.5)

ns_of() { echo "wms-$RUN_ID-$1"; }
if_of() { echo "wms${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }

print_diagnostics() {
	local f
	for f in notify-a.log notify-c.log notify-d.log a.log b.log c.log; do
		[[ -f $WORKDIR/$f ]] || continue
		echo "--- $f (last lines)"
		tail -n 8 "$WORKDIR/$f"
	done
}

# The service manager's side of sd_notify: binds a datagram socket at PATH and writes each
# line it receives to LOG as "MSG line"; on READY=1 it runs CMD… at once and writes
# "ONREADY rc=N output". Ends after SECONDS (or when cleanup stops it).
LISTENER_PY='
import socket, subprocess, sys, time
path, log, seconds, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
end = time.monotonic() + seconds
with open(log, "a", buffering=1) as out:
    while time.monotonic() < end:
        try:
            lines = s.recv(4096).decode("utf-8", "replace").split("\n")
        except socket.timeout:
            continue
        for line in lines:
            out.write("MSG " + line + "\n")
        if "READY=1" in lines and cmd:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, timeout=20)
            out.write("ONREADY rc=%d %s\n" % (r.returncode, r.stdout.strip().replace("\n", " | ")))
'

# listen NAME NS CMD...: the listener on $WORKDIR/notify-NAME.sock inside NS (150 s at most).
listen() {
	local name=$1 ns=$2 pid
	shift 2
	ip netns exec "$ns" "$PYTHON" -c "$LISTENER_PY" "$WORKDIR/notify-$name.sock" \
		"$WORKDIR/notify-$name.log" 150 "$@" >>"$WORKDIR/listener.log" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_for 10 test -S "$WORKDIR/notify-$name.sock"
}

# exits_saying RC WANT OUT TEXT: RC is WANT and OUT holds TEXT.
exits_saying() { [[ $1 -eq $2 && $3 == *"$4"* ]]; }

notified() { grep -qxF "MSG $2" "$WORKDIR/notify-$1.log" 2>/dev/null; }
line_of() { grep -nxF -m1 "MSG $2" "$WORKDIR/notify-$1.log" | cut -d: -f1; }

create_topology() {
	local node
	create_namespace "$NS_SW" &&
		ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up &&
		attach "$NS_HUB" "$HUB" || return 1
	for node in a b c; do
		attach "$(ns_of "$node")" "${ADDR[$node]}" || return 1
	done
}

# start_node NODE [ENV=VALUE…]: `wiremesh up -f` for NODE in the background (the way a
# service manager runs it), logging verbosely to $WORKDIR/NODE.log; NODE_PID[NODE].
start_node() {
	local node=$1
	shift
	note_ifname "$(if_of "$node")"
	env LOG_LEVEL=verbose WIREMESH_AUTHKEY="$AUTHKEY" "$@" ip netns exec "$(ns_of "$node")" \
		"$WM_BIN" up --foreground --coord "$URL" --hostname "$node" \
		--state "$(state_of "$node")" --ifname "$(if_of "$node")" --timeout 120 \
		>>"$WORKDIR/$node.log" 2>&1 &
	NODE_PID[$node]=$!
	STARTED_PIDS+=("${NODE_PID[$node]}")
}

# ---- install, units, man pages (no root needed) ------------------------------------------

install_into_destdir() {
	local u
	DEST=$WORKDIR/dest
	make -C "$WM_REPO" --no-print-directory -s BUILD="${WM_BUILD:-build}" PREFIX=/usr \
		DESTDIR="$DEST" install >"$WORKDIR/install.log" 2>&1 || { cat "$WORKDIR/install.log"; return 1; }
	for u in usr/bin/wiremesh usr/bin/wiremesh-relay usr/bin/wiremesh-coord \
		usr/lib/sysusers.d/wiremesh.conf "${UNITS[@]/#/usr/lib/systemd/system/}" \
		"${MANS[@]/#/usr/share/man/}"; do
		[[ -s $DEST/$u ]] || { echo "missing: $u"; return 1; }
	done
	if grep -l '@bindir@' "$DEST"/usr/lib/systemd/system/*; then
		echo "@bindir@ left in the units above"
		return 1
	fi
	grep -h '^ExecStart=' "$DEST"/usr/lib/systemd/system/* | grep -v '^ExecStart=/usr/bin/' &&
		{ echo "an ExecStart outside /usr/bin"; return 1; }
	# verify checks that ExecStart= names an executable, on this host: a second install
	# with the prefix in the work dir puts the programs where its units say.
	ROOT=$WORKDIR/root
	make -C "$WM_REPO" --no-print-directory -s BUILD="${WM_BUILD:-build}" PREFIX="$ROOT/usr" \
		install >>"$WORKDIR/install.log" 2>&1 || { cat "$WORKDIR/install.log"; return 1; }
	grep -q "^ExecStart=$ROOT/usr/bin/wiremesh up " "$ROOT/usr/lib/systemd/system/wiremesh-node.service"
}

# verify_units DIR UNIT…: systemd-analyze verify, with the installed man pages on MANPATH;
# fails on a non-zero exit or any output (unknown keys are only warnings).
verify_units() {
	local dir=$1 out rc
	shift
	out=$(cd "$dir" && MANPATH=$ROOT/usr/share/man SYSTEMD_LOG_COLOR=0 \
		systemd-analyze verify "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[[ $rc -eq 0 && -z $out ]]
}

check_units() {
	local dir=$ROOT/usr/lib/systemd/system bad=$WORKDIR/badunit
	# The template is verified as an instance, from the same directory.
	verify_units "$dir" ./wiremesh-node.service ./wiremesh-relay.service \
		./wiremesh-coord.service ./wiremesh@wg0.service || return 1
	# A misspelt key must be reported, else the check above proves nothing.
	mkdir -p "$bad" && sed 's/^NoNewPrivileges=/NoNewPrivilege=/' \
		"$dir/wiremesh-node.service" >"$bad/wiremesh-node.service"
	if verify_units "$bad" ./wiremesh-node.service >"$WORKDIR/badunit.out"; then
		echo "systemd-analyze verify said nothing about NoNewPrivilege= (misspelt)"
		return 1
	fi
	echo "the misspelt copy: $(head -n 1 "$WORKDIR/badunit.out")"
}

# exposure UNIT: systemd-analyze security's overall exposure (0 best, 10 worst) of the
# installed UNIT, offline (no running manager needed).
exposure() {
	(cd "$ROOT/usr/lib/systemd/system" && MANPATH=$ROOT/usr/share/man timeout 60 \
		systemd-analyze security --offline=yes "./$1" 2>/dev/null) |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

# check_exposure: every unit below 5 ("OK" in systemd's words: no root, capabilities
# bounded, the file system read-only); prints each unit's score.
check_exposure() {
	local u score worst=ok
	for u in wiremesh-node.service wiremesh-relay.service wiremesh-coord.service \
		wiremesh@wg0.service; do
		score=$(exposure "$u")
		echo "$u: ${score:-?}"
		[[ -n $score ]] && awk -v s="$score" 'BEGIN { exit !(s < 5.0) }' || worst=bad
	done
	[[ $worst == ok ]]
}

# lint_page FILE: groff's warnings (and mandoc's, where installed); fails on any.
lint_page() {
	local out
	out=$(groff -ww -z -man "$1" 2>&1)
	if command -v mandoc >/dev/null 2>&1; then
		out+=$(mandoc -T lint -W warning "$1" 2>&1)
	fi
	printf '%s' "$out"
	[[ -z $out ]]
}

check_man_lint() {
	local page bad=$WORKDIR/bad.8
	for page in "${MANS[@]}"; do
		lint_page "$DEST/usr/share/man/$page" || { echo "  in $page"; return 1; }
	done
	printf '.TH BAD 8\n.SH NAME\nbad \\- x\n.BOGUS macro\n\\*[undefined-string]\n' >"$bad"
	if lint_page "$bad" >/dev/null; then
		echo "the linter found nothing wrong with a page using an unknown macro"
		return 1
	fi
}

# help_words PROGRAM ARGS…: the --options and NAME= variables its --help mentions.
help_words() {
	"$@" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*|\b[A-Z][A-Z_]{3,}=' | sort -u
}

# documents PAGE PROGRAM ARGS…: every word of help_words is in the rendered PAGE.
documents() {
	local page=$1 text word missing=()
	shift
	# One long line per paragraph and no hyphenation, so that no word is split.
	text=$(groff -man -Tascii -rLL=1000n -rHY=0 "$page" 2>/dev/null | col -b)
	while read -r word; do
		word=${word%=}
		[[ -z $word ]] && continue
		grep -qF -- "$word" <<<"$text" || missing+=("$word")
	done < <(help_words "$@")
	[[ ${#missing[@]} -eq 0 ]] && return 0
	echo "$(basename "$page") lacks: ${missing[*]} (from $* --help)"
	return 1
}

check_man_options() {
	local m=$DEST/usr/share/man cmd ok=0
	documents "$m/man8/wiremesh.8" "$WM_BIN" || ok=1
	for cmd in up down status ip ping netcheck wait; do
		documents "$m/man8/wiremesh.8" "$WM_BIN" "$cmd" || ok=1
	done
	documents "$m/man8/wiremesh-relay.8" "$RELAY_BIN" || ok=1
	documents "$m/man8/wiremesh-coord.8" "$COORD_BIN" || ok=1
	for cmd in serve authkey nodes relays policy routes dns key; do
		documents "$m/man8/wiremesh-coord.8" "$COORD_BIN" "$cmd" || ok=1
	done
	return $ok
}

static_checks() {
	if ! check "service: make install into a DESTDIR (programs, 4 units, sysusers.d, 4 man pages)" \
		install_into_destdir; then
		return 1
	fi
	if has_tools "service: systemd-analyze verify" systemd-analyze; then
		check "service: systemd-analyze verify on the 4 installed units is clean (and not on a misspelt one)" \
			check_units
		if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
			check "service: systemd-analyze security --offline rates every unit below 5 (OK)" \
				check_exposure && sed 's/^/# /' "$WORKDIR/check.out"
		else
			skip "service: this systemd-analyze has no security --offline"
		fi
	fi
	if has_tools "service: man page lint" groff col; then
		check "service: man pages lint clean with groff -ww$(command -v mandoc >/dev/null &&
			echo ' and mandoc') (and a broken page does not)" check_man_lint
		check "service: every option and variable of every --help is in its man page" \
			check_man_options
	fi
	if [[ $(ps -p 1 -o comm= 2>/dev/null) == systemd ]] &&
		systemctl is-system-running >/dev/null 2>&1; then
		skip "service: systemd runs here, but starting units on this host is left to an operator"
	else
		skip "service: units not started for real: systemd is not PID 1 here ($(ps -p 1 -o comm= 2>/dev/null)); verified, and Type=notify exercised below with the test's own socket"
	fi
}

# ---- readiness, end to end (root) ----------------------------------------------------------

# Before the coordination server runs: progress, no READY, wait says not up.
before_the_server() {
	local out rc
	AUTHKEY=$(coord_admin authkey create --reusable)
	if [[ $AUTHKEY != wmauth-* ]]; then
		not_ok "service: an auth key made before the server runs"
		return 1
	fi
	listen a "$(ns_of a)" bash -c "'$WM_BIN' wait --timeout 1 --state '$(state_of a)' &&
		ip -4 addr show dev '$(if_of a)' | grep -o 'inet 100[.][0-9.]*'" || {
		not_ok "service: the notify listener for a"
		return 1
	}
	start_node a NOTIFY_SOCKET="$WORKDIR/notify-a.sock"
	check "service: a, started before the server, sends STATUS= saying what it waits for" \
		wait_for 30 grep -q '^MSG STATUS=cannot reach the coordination server' \
		"$WORKDIR/notify-a.log"
	check_not "service: ... and no READY=1 while the server is away" notified a READY=1
	out=$(n "$(ns_of a)" "$WM_BIN" wait --timeout 2 --state "$(state_of a)" 2>&1)
	rc=$?
	check "service: wait --timeout 2 on a (running, not up) exits 1: $out" \
		exits_saying "$rc" 1 "$out" 'not up after 2 s: the node runs but is not up yet'
	return 0
}

ready_once_up() {
	local ready status onready
	if ! start_hub >"$WORKDIR/hub.log" 2>&1; then
		not_ok "service: coordination server and relay"
		indent <"$WORKDIR/hub.log"
		return 1
	fi
	check "service: READY=1 from a once the server runs" wait_for 60 notified a READY=1 || return 1
	ready=$(line_of a READY=1)
	status=$(line_of a "$(grep -m1 '^MSG STATUS=' "$WORKDIR/notify-a.log" | cut -c5-)")
	check "service: STATUS= lines came before READY=1 (first at line $status, READY at $ready)" \
		test "${status:-0}" -gt 0 -a "${status:-0}" -lt "$ready"
	check "service: the READY=1 datagram says the node is up" \
		grep -qE "^MSG STATUS=$(if_of a) is up: this node is a, 100\." "$WORKDIR/notify-a.log"
	check "service: when READY=1 came, wait said up and the interface had its 100.x address" \
		wait_for 10 grep -qE '^ONREADY rc=0 up: a 100\..* \| inet 100\.' "$WORKDIR/notify-a.log"
	onready=$(grep -m1 '^ONREADY' "$WORKDIR/notify-a.log")
	echo "# $onready"
}

wait_then_ping() {
	local a_ip out rc
	a_ip=$(n "$(ns_of a)" "$WM_BIN" ip -4 --state "$(state_of a)")
	start_node b NOTIFY_SOCKET="$WORKDIR/nobody-listens.sock"
	out=$(n "$(ns_of b)" bash -c "'$WM_BIN' wait --timeout 30 --state '$(state_of b)' &&
		ping -n -q -c 1 -w 10 '$a_ip'" 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$WORKDIR/wait-b.out"
	check "service: b in the background, at once 'wait --timeout 30 && ping a ($a_ip)' succeeds" \
		eval "[[ $rc -eq 0 ]] && grep -q '^up: b 100[.]' '$WORKDIR/wait-b.out' &&
			grep -q ' 0% packet loss' '$WORKDIR/wait-b.out'" || indent <"$WORKDIR/wait-b.out"
	check "service: b's NOTIFY_SOCKET has no listener: up anyway, and said once in its log" \
		test "$(grep -c 'cannot notify the service manager' "$WORKDIR/b.log")" -eq 1
}

# A node the server refuses: its reason as STATUS=, never READY=1, exit 1.
refused() {
	local rc
	listen c "$(ns_of c)" || {
		not_ok "service: the notify listener for c"
		return 1
	}
	start_node c NOTIFY_SOCKET="$WORKDIR/notify-c.sock" WIREMESH_AUTHKEY=wmauth-not-a-key
	wait_for 60 eval "! is_running ${NODE_PID[c]}" >/dev/null 2>&1
	wait "${NODE_PID[c]}"
	rc=$?
	check "service: c with a wrong auth key exits 1 ($rc), its STATUS= says the server refused it" \
		eval "[[ $rc -eq 1 ]] && grep -q '^MSG STATUS=the coordination server refused this node' '$WORKDIR/notify-c.log'"
	check_not "service: ... and it never sent READY=1" notified c READY=1
}

wait_without_node() {
	local out rc
	out=$("$WM_BIN" wait --timeout 2 --state "$WORKDIR/state-none" 2>&1)
	rc=$?
	check "service: wait --timeout 2 with no node exits 1: $out" \
		exits_saying "$rc" 1 "$out" 'not up after 2 s: no wiremesh node is running'
	"$WM_BIN" wait --timeout 0 --state "$WORKDIR/state-none" >/dev/null 2>&1
	check "service: wait --timeout 0 is refused (exit 2)" test $? -eq 2
}

stopping() {
	kill -TERM "${NODE_PID[a]}" 2>/dev/null
	check "service: SIGTERM to a brings STOPPING=1" wait_for 20 notified a STOPPING=1
}

drop_in_mode() {
	local ifname
	ifname=$(if_of d)
	note_ifname "$ifname"
	listen d "$(ns_of a)" test -S "$UAPI_DIR/$ifname.sock" || {
		not_ok "service: the notify listener for the drop-in mode"
		return 1
	}
	NOTIFY_SOCKET=$WORKDIR/notify-d.sock LOG_LEVEL=verbose ip netns exec "$(ns_of a)" \
		"$WM_BIN" --foreground "$ifname" >>"$WORKDIR/d.log" 2>&1 &
	NODE_PID[d]=$!
	STARTED_PIDS+=("${NODE_PID[d]}")
	check "service: wiremesh -f IFNAME sends READY=1 once its UAPI socket exists" \
		wait_for 20 grep -q '^ONREADY rc=0' "$WORKDIR/notify-d.log"
	kill -TERM "${NODE_PID[d]}" 2>/dev/null
	check "service: ... and STOPPING=1 on SIGTERM" wait_for 20 notified d STOPPING=1
}

# ---- main -------------------------------------------------------------------------------------

are_built "service" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
has_tools "service" make python3 timeout || exit 0
set_up_run
RUN_START=$(now_ms)

static_checks

if is_root "service: readiness end to end" &&
	has_tools "service: readiness end to end" ip ping curl; then
	if ! create_topology >"$WORKDIR/setup.log" 2>&1; then
		not_ok "service: namespaces and the bridge"
		indent <"$WORKDIR/setup.log"
		exit 1
	fi
	before_the_server && ready_once_up && wait_then_ping && refused
	stopping
	drop_in_mode
	wait_without_node
	check_not "service: no sanitizer report in the nodes' logs (with a SANITIZE=yes build)" \
		grep -E 'runtime error|ERROR: AddressSanitizer' "$WORKDIR"/a.log "$WORKDIR"/b.log \
		"$WORKDIR"/d.log
fi

echo "# service: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
