#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wiremesh-relay end to end, on loopback (no root, no namespaces): plain HTTP and TLS with a
# certificate made here, packets between two clients, STUN, the HTTP endpoints, kill -9 and
# restart, a client that stops reading, malformed input and stalled handshakes, client
# verification, the connection limit, and a short load run. One "ok"/"not ok"/"skip" line per
# check (test/run-tests counts them). WMT_KEEP=1 keeps the logs.

# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# WM_BUILD=build-asan runs the sanitizer builds of all three.
RELAY=$WM_REPO/${WM_BUILD:-build}/wiremesh-relay
TOOL=$WM_REPO/${WM_BUILD:-build}/test/derp-tool
LOAD=$WM_REPO/${WM_BUILD:-build}/bench/relay_load
LOAD_CLIENTS=${WM_RELAY_LOAD_CLIENTS:-200}
LOAD_SECONDS=${WM_RELAY_LOAD_SECONDS:-3}

for bin in "$RELAY" "$TOOL" "$LOAD"; do
	if [[ ! -x $bin ]]; then
		skip "relay: ${bin#"$WM_REPO"/} is not built (make)"
		exit 0
	fi
done
has_tools "relay" openssl curl || exit 0
set_up_run

RELAY_PID= RELAY_PORT= RELAY_STUN= RELAY_LOG=

# start_relay NAME ARGS...: runs the relay on a loopback port the kernel picks (or the one in
# ARGS), waits for its "serving" line, and sets RELAY_PID, RELAY_PORT and RELAY_STUN.
start_relay() {
	local name=$1 line
	shift
	RELAY_LOG=$WORKDIR/$name.log
	"$RELAY" "$@" </dev/null >"$RELAY_LOG" 2>&1 &
	RELAY_PID=$!
	STARTED_PIDS+=("$RELAY_PID")
	if ! wait_for 5 grep -q '^wiremesh-relay: serving' "$RELAY_LOG"; then
		echo "relay $name did not start:"
		cat "$RELAY_LOG"
		return 1
	fi
	line=$(grep -m1 '^wiremesh-relay: serving' "$RELAY_LOG")
	RELAY_PORT=$(sed -E 's/.* on [^ ]*:([0-9]+), STUN.*/\1/' <<<"$line")
	RELAY_STUN=$(sed -nE 's/.*STUN ([^ ,]+),.*/\1/p' <<<"$line")
}

vars() { curl -s --max-time 5 "http://127.0.0.1:$RELAY_PORT/debug/vars"; }

# counter_at_least NAME MIN: the relay's /debug/vars counter NAME is MIN or more.
counter_at_least() {
	local v
	v=$(vars | grep -oE "\"$1\":[0-9]+" | cut -d: -f2)
	echo "$1 = ${v:-missing}"
	[[ -n $v && $v -ge $2 ]]
}

relay_alive() { is_running "$RELAY_PID"; }

# closed_on_accept: an HTTP request gets no answer because the relay accepts the connection and
# closes it at once (curl: 52 empty reply, 56 reset), not because nothing listens (7) or the
# request hangs (28).
closed_on_accept() {
	local rc
	curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$RELAY_PORT/debug/vars"
	rc=$?
	echo "curl exit status $rc (52 or 56 expected)"
	[[ $rc == 52 || $rc == 56 ]]
}

# load_run: the load tool with a relay of its own; its exit status decides (not a pipe's).
load_run() {
	local rc
	"$LOAD" --relay "$RELAY" --clients "$LOAD_CLIENTS" --seconds "$LOAD_SECONDS" \
		>"$WORKDIR/load.log" 2>&1
	rc=$?
	cat "$WORKDIR/load.log"
	echo "exit status $rc"
	return "$rc"
}

print_diagnostics() {
	[[ -n $RELAY_LOG && -f $RELAY_LOG ]] || return 0
	echo "--- last lines of ${RELAY_LOG##*/}:"
	tail -n 10 "$RELAY_LOG"
}

# ---- plain HTTP --------------------------------------------------------------------------

start_relay plain --plain --listen 127.0.0.1:0 --stun 127.0.0.1:0 --handshake-timeout 2 -v ||
	{ not_ok "relay starts with --plain"; exit 1; }
URL=http://127.0.0.1:$RELAY_PORT/derp
check "plain HTTP: two clients exchange 2000 packets each, in order" \
	"$TOOL" pair "$URL" --count 2000
check "plain HTTP: 64 KiB packets, the protocol maximum" \
	"$TOOL" pair "$URL" --count 200 --size 65536 --window 2
check "STUN: a Tailscale-format binding request is answered with our address" \
	"$TOOL" stun "$RELAY_STUN"
check "/generate_204 echoes the challenge" eval \
	"curl -si --max-time 5 -H 'X-Tailscale-Challenge: abc:1.2' http://127.0.0.1:$RELAY_PORT/generate_204 |
	 tr -d '\r' | grep -qx 'X-Tailscale-Response: response abc:1.2'"
check "/derp without an upgrade is refused with 426" eval \
	"curl -s -o /dev/null -w '%{http_code}' --max-time 5 $URL | grep -qx 426"
check "/debug/vars counts the packets" counter_at_least packets_received 4400

# ---- malformed input and stalled handshakes: that connection closes, others are served ---

for c in bad-http no-request huge-head no-client-info wrong-first-frame huge-client-info \
	bad-client-info oversized-packet oversized-unknown short-packet bad-preferred mesh-frame \
	short-ping; do
	check "misbehaving client ($c): the relay closes that connection" \
		"$TOOL" raw "$URL" "$c" --timeout 5
done
check "an unknown frame type is skipped, and the connection keeps working" \
	"$TOOL" raw "$URL" unknown-frame --timeout 5
check "after all that the relay still serves others" eval \
	"relay_alive && $TOOL pair $URL --count 500"
check "stalled handshakes were timed out" counter_at_least handshake_timeouts 2

# ---- a client that stops reading ---------------------------------------------------------

"$TOOL" stuck "$URL" --seed c --seconds 8 >"$WORKDIR/stuck.log" 2>&1 &
STARTED_PIDS+=("$!")
check "a client that will stop reading connects" wait_for 5 grep -q connected "$WORKDIR/stuck.log"
"$TOOL" flood "$URL" --seed f --to c --seconds 6 >"$WORKDIR/flood.log" 2>&1 &
STARTED_PIDS+=("$!")
check "a client that stops reading does not stall another pair" \
	"$TOOL" pair "$URL" --count 20000 --timeout 10
check "the client that stopped reading is dropped after the write timeout" \
	wait_for 6 counter_at_least write_timeouts 1

# ---- kill -9 and restart: clients come back on their own ---------------------------------

"$TOOL" soak "$URL" --seconds 9 --expect-reconnect >"$WORKDIR/soak.log" 2>&1 &
soak=$!
STARTED_PIDS+=("$soak")
sleep 2
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
sleep 1
check "kill -9: the relay restarts on the same port" \
	start_relay plain-again --plain --listen "127.0.0.1:$RELAY_PORT" --stun off
wait "$soak"
soak_rc=$?
check "kill -9 and restart: both clients reconnect and traffic resumes" eval \
	"cat $WORKDIR/soak.log; [[ $soak_rc -eq 0 ]]"
check "SIGTERM stops the relay cleanly" eval "kill -TERM $RELAY_PID && wait $RELAY_PID"

# ---- TLS with a certificate made here ----------------------------------------------------

if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-keyout "$WORKDIR/key.pem" -out "$WORKDIR/cert.pem" >"$WORKDIR/openssl.log" 2>&1; then
	if start_relay tls --listen 127.0.0.1:0 --cert "$WORKDIR/cert.pem" \
		--key "$WORKDIR/key.pem" --stun off; then
		TLS_URL=https://localhost:$RELAY_PORT/derp
		check "TLS: two clients exchange 2000 packets each" \
			"$TOOL" pair "$TLS_URL" --ca "$WORKDIR/cert.pem" --count 2000
		check "TLS: 64 KiB packets" \
			"$TOOL" pair "$TLS_URL" --ca "$WORKDIR/cert.pem" --count 100 --size 65536 \
			--window 2
		check_not "TLS: a client trusting only the system CAs refuses the test certificate" \
			"$TOOL" pair "$TLS_URL" --count 10 --timeout 3
		check "TLS: curl sees the relay's HTTPS endpoints" eval \
			"curl -s --max-time 5 --cacert $WORKDIR/cert.pem https://localhost:$RELAY_PORT/debug/vars |
			 grep -q '\"upgrades\":'"
		kill -TERM "$RELAY_PID"
		wait "$RELAY_PID" 2>/dev/null
	else
		not_ok "relay starts with --cert/--key"
	fi
else
	not_ok "openssl makes a test certificate"
	indent <"$WORKDIR/openssl.log"
fi

# ---- --verify-clients and --max-clients --------------------------------------------------

{
	echo "# the clients this relay admits"
	"$TOOL" pubkey a
	"$TOOL" pubkey b
} >"$WORKDIR/allowed"
if start_relay verify --plain --listen 127.0.0.1:0 --stun off --verify-clients "$WORKDIR/allowed"
then
	URL=http://127.0.0.1:$RELAY_PORT/derp
	check "--verify-clients: listed clients get through" "$TOOL" pair "$URL" --count 100
	check "--verify-clients: an unlisted key is disconnected" \
		"$TOOL" raw "$URL" not-allowed --seed c --timeout 5
	check "--verify-clients: a listed key completes the handshake" \
		"$TOOL" raw "$URL" handshake --seed a --timeout 5
	kill -TERM "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
else
	not_ok "relay starts with --verify-clients"
fi
if start_relay limit --plain --listen 127.0.0.1:0 --stun off --max-clients 1 \
	>"$WORKDIR/check.out" 2>&1; then
	"$TOOL" stuck "http://127.0.0.1:$RELAY_PORT/derp" --seed d --seconds 4 \
		>"$WORKDIR/stuck2.log" 2>&1 &
	STARTED_PIDS+=("$!")
	check "--max-clients 1: the first client connects" \
		wait_for 5 grep -q connected "$WORKDIR/stuck2.log"
	check "--max-clients 1: a second connection is accepted and closed at once" \
		closed_on_accept
	check "--max-clients 1: once the first has gone, /debug/vars counts the refusal" \
		wait_for 8 counter_at_least refused_full 1
	kill -TERM "$RELAY_PID"
	wait "$RELAY_PID" 2>/dev/null
else
	not_ok "relay starts with --max-clients 1"
	indent <"$WORKDIR/check.out"
fi

# ---- load --------------------------------------------------------------------------------

check "load: $LOAD_CLIENTS clients for $LOAD_SECONDS s through one relay" load_run &&
	sed 's/^/# /' "$WORKDIR/load.log"

exit 0
