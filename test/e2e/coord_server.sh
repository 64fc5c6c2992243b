#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wiremesh-coord on loopback (no root needed): a plain-HTTP server on a free port with a fresh
# database, and coord-tool nodes (the real coord-client) against it.
#   - three nodes join with one reusable auth key and each sees the other two;
#   - a fourth joins later and the others' held polls bring it within a second;
#   - `nodes rename` and `nodes remove` reach the others within a second;
#   - bad auth keys and hand-made bad requests get a 4xx naming the problem, and the server
#     keeps serving the others;
#   - kill -9 and restart: the nodes reconnect with the same ids and addresses;
#   - access policy: set reaches the nodes (filter and peer subset) within a second, explain,
#     a policy with a failing test is refused, clear brings everything back;
#   - load: COORD_LOAD_NODES (default 100) simulated nodes, one endpoint change fanned out.
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check (see test/run-tests).
#
#   COORD=build/wiremesh-coord  TOOL=build/test/coord-tool  LOAD=build/bench/coord_load

set -u
cd "$(dirname "$0")/../.."

COORD=${COORD:-build/wiremesh-coord}
TOOL=${TOOL:-build/test/coord-tool}
LOAD=${LOAD:-build/bench/coord_load}
COORD_LOAD_NODES=${COORD_LOAD_NODES:-100}
FANOUT_MS=1000

FAILURES=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILURES=$((FAILURES + 1)); }
skip() { echo "skip - $*"; }
indent() { sed 's/^/    /'; }

for bin in "$COORD" "$TOOL"; do
	if [[ ! -x $bin ]]; then
		skip "coord server scenarios: $bin is not built (make)"
		exit 0
	fi
done
if ! command -v python3 >/dev/null; then
	skip "coord server scenarios: python3 is needed to read netmaps"
	exit 0
fi

WORK=$(mktemp -d /tmp/wm-coord-e2e.XXXXXX)
DB=$WORK/coord.db
PIDS=()
SERVER_PID=

cleanup() {
	local pid
	for pid in "${PIDS[@]}" $SERVER_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}" $SERVER_PID; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# start_server [PORT]: starts serve (port 0: a free one) and sets PORT and URL.
start_server() {
	local want=${1:-0} i
	: >"$WORK/server.out"
	"$COORD" serve --db "$DB" --plain --listen "127.0.0.1:$want" -v >"$WORK/server.out" \
		2>>"$WORK/server.err" &
	SERVER_PID=$!
	for i in $(seq 50); do
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.out")
		[[ -n $PORT ]] && break
		sleep 0.1
	done
	URL=http://127.0.0.1:$PORT
	[[ -n $PORT ]]
}

# node NAME ARGS...: a watching node in the background; its output goes to $WORK/NAME.log.
node() {
	local name=$1
	shift
	"$TOOL" poll --url "$URL" --key-file "$WORK/$name.key" --hostname "$name" --watch \
		--timeout 300 "$@" >"$WORK/$name.log" 2>"$WORK/$name.err" &
	PIDS+=($!)
	eval "PID_${name//-/_}=$!"
}

# netmap_query LOG EXPR [AFTER_MS]: EXPR (python, over the netmap n and its time t) for each
# NETMAP line at or after AFTER_MS; prints the first true result's time, or nothing.
netmap_query() {
	python3 - "$1" "$2" "${3:-0}" <<'EOF'
import json, sys
log, expr, after = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(log):
    if not line.startswith("NETMAP "):
        continue
    _, t, text = line.split(" ", 2)
    t, n = int(t), json.loads(text)
    peers = sorted(p["name"] for p in n["peers"] if not p["expired"])
    if t >= after and eval(expr):
        print(t)
        break
EOF
}

# wait_for SECONDS CMD...: retries CMD (with output) every 0.1 s until it prints something.
wait_for() {
	local deadline=$(($(date +%s) + $1)) out
	shift
	while (($(date +%s) <= deadline)); do
		out=$("$@")
		if [[ -n $out ]]; then
			echo "$out"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

last_self() {
	python3 - "$1" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    if line.startswith("NETMAP "):
        last = json.loads(line.split(" ", 2)[2])
print("%s %s %s" % (last["self"]["id"], last["self"]["ipv4"], last["self"]["ipv6"]) if last else "")
EOF
}

diagnose() {
	{
		echo "server stderr:"
		tail -n 20 "$WORK/server.err"
		for f in "$WORK"/*.err; do
			[[ -s $f ]] && { echo "$(basename "$f"):"; tail -n 5 "$f"; }
		done
	} | indent
}

# ---- start, join ---------------------------------------------------------------------------

if start_server; then
	ok "wiremesh-coord serve --plain listens on 127.0.0.1:$PORT"
else
	not_ok "wiremesh-coord serve did not start"
	cat "$WORK/server.err" | indent
	exit 1
fi

KEY=$("$COORD" authkey create --db "$DB" --reusable --tag tag:e2e)
if [[ $KEY == wmauth-* ]]; then
	ok "authkey create --reusable prints a key"
else
	not_ok "authkey create printed '$KEY'"
fi

for n in alpha beta gamma; do
	node "$n" --authkey "$KEY" --endpoint "192.0.2.$((RANDOM % 200 + 1)):41641"
done
all_see=yes
for n in alpha beta gamma; do
	others=$(printf '%s\n' alpha beta gamma | grep -v "^$n$" | paste -sd, | sed "s/\([a-z]*\)/'\1'/g")
	if ! wait_for 10 netmap_query "$WORK/$n.log" "peers == sorted([$others])" >/dev/null; then
		all_see=no
		echo "    $n never saw [$others]"
	fi
done
if [[ $all_see == yes ]]; then
	ok "three nodes join with one reusable key and each sees the other two"
else
	not_ok "three nodes joined but do not all see each other"
	diagnose
fi

addrs=$(for n in alpha beta gamma; do last_self "$WORK/$n.log"; done | sort)
if [[ $(echo "$addrs" | awk '{print $2}' | sort -u | wc -l) -eq 3 ]] &&
	! echo "$addrs" | awk '{print $2}' | grep -qv '^100\.6[4-9]\.\|^100\.[7-9][0-9]\.\|^100\.1[01][0-9]\.\|^100\.12[0-7]\.' &&
	! echo "$addrs" | awk '{print $3}' | grep -qv '^fd77:6d65:7368::'; then
	ok "each node has its own 100.64.0.0/10 and fd77:6d65:7368::/48 address"
else
	not_ok "addresses are not distinct or not in the mesh ranges"
	echo "$addrs" | indent
fi

# ---- a fourth node; rename; remove ---------------------------------------------------------

node delta --authkey "$KEY"
if joined=$(wait_for 10 netmap_query "$WORK/delta.log" "len(peers) == 3"); then
	late=
	for n in alpha beta gamma; do
		t=$(wait_for 5 netmap_query "$WORK/$n.log" "'delta' in peers")
		if [[ -z $t ]] || ((t - joined > FANOUT_MS)); then
			late="$late $n(${t:-never})"
		fi
	done
	if [[ -z $late ]]; then
		ok "a fourth node joins and the others' held polls bring it within ${FANOUT_MS} ms"
	else
		not_ok "the fourth node reached some nodes late or never:$late (joined at $joined)"
		diagnose
	fi
else
	not_ok "the fourth node did not see the other three"
	diagnose
fi

t0=$(now_ms)
if "$COORD" nodes rename --db "$DB" gamma gamma-renamed >/dev/null; then
	t=$(wait_for 5 netmap_query "$WORK/alpha.log" "'gamma-renamed' in peers" "$t0")
	if [[ -n $t ]] && ((t - t0 <= FANOUT_MS)); then
		ok "nodes rename reaches the other nodes within ${FANOUT_MS} ms ($((t - t0)) ms)"
	else
		not_ok "nodes rename did not reach alpha in time (${t:-never}, from $t0)"
	fi
else
	not_ok "nodes rename failed"
fi

t0=$(now_ms)
if "$COORD" nodes remove --db "$DB" delta >/dev/null; then
	late=
	for n in alpha beta gamma; do
		t=$(wait_for 5 netmap_query "$WORK/$n.log" "'delta' not in peers" "$t0")
		if [[ -z $t ]] || ((t - t0 > FANOUT_MS)); then
			late="$late $n(${t:-never})"
		fi
	done
	if [[ -z $late ]]; then
		ok "nodes remove: the others drop the node within ${FANOUT_MS} ms"
	else
		not_ok "nodes remove reached some nodes late or never:$late (removed at $t0)"
		diagnose
	fi
	if wait_for 5 grep -m1 '^STATE .* rejected' "$WORK/delta.log" >/dev/null; then
		ok "the removed node is told it was removed ($(sed -n 's/^STATE [0-9]* rejected //p' "$WORK/delta.log" | head -1))"
	else
		not_ok "the removed node was not told"
	fi
else
	not_ok "nodes remove failed"
fi

# ---- key rotation and logout -----------------------------------------------------------------

# zeta_key: zeta's id and node key as the server has them.
zeta_key() {
	"$COORD" nodes list --db "$DB" --json |
		python3 -c 'import json,sys; print(*[(n["id"], n["node_key"]) for n in json.load(sys.stdin) if n["name"] == "zeta"][0])'
}

"$TOOL" poll --url "$URL" --key-file "$WORK/zeta.key" --hostname zeta --authkey "$KEY" \
	--wait-peers 3 --timeout 10 >/dev/null 2>&1
old_zeta=$(zeta_key)
wait_for 5 netmap_query "$WORK/alpha.log" "'zeta' in peers" >/dev/null
node zeta --rotate	# a known node: no auth key needed
if rotated=$(wait_for 10 python3 -c '
import sys
for line in open(sys.argv[1]):
    if line.startswith("ROTATED ") and line.split()[2] == "ok":
        print(line.split()[1]); break
' "$WORK/zeta.log"); then
	new_zeta=$(zeta_key)
	t=$(wait_for 5 netmap_query "$WORK/alpha.log" \
		"[(p['id'], p['node_key']) for p in n['peers'] if p['name'] == 'zeta'] == [(${new_zeta% *}, '${new_zeta#* }')]" \
		"$rotated")
	if [[ ${old_zeta% *} == "${new_zeta% *}" && ${old_zeta#* } != "${new_zeta#* }" && -n $t ]] &&
		((t - rotated <= FANOUT_MS)); then
		ok "key rotation: node ${new_zeta% *} keeps its id and addresses, the others see its new key within ${FANOUT_MS} ms"
	else
		not_ok "key rotation: before '$old_zeta', after '$new_zeta', alpha saw it at ${t:-never} (rotated at $rotated)"
		diagnose
	fi
else
	not_ok "key rotation failed"
	tail -n 3 "$WORK/zeta.log" "$WORK/zeta.err" | indent
fi
kill "$PID_zeta" 2>/dev/null
t0=$(now_ms)
if "$TOOL" poll --url "$URL" --key-file "$WORK/zeta.key" --hostname zeta --logout --timeout 10 \
	>"$WORK/zeta-logout.log" 2>&1 &&
	t=$(wait_for 5 netmap_query "$WORK/alpha.log" "'zeta' not in peers" "$t0"); then
	ok "logout (with the rotated key): the others drop the node ($((t - t0)) ms)"
else
	not_ok "logout did not remove the node"
	tail -n 3 "$WORK/zeta-logout.log" | indent
fi

# ---- bad auth keys -------------------------------------------------------------------------

# join_refused NAME AUTHKEY WORD: a node must be rejected, with WORD in the reason.
join_refused() {
	local name=$1 key=$2 word=$3 out rc
	out=$("$TOOL" poll --url "$URL" --key-file "$WORK/$name.key" --hostname "$name" \
		--authkey "$key" --wait-peers 99 --timeout 10 2>&1)
	rc=$?
	if [[ $rc -eq 3 ]] && grep -q "$word" <<<"$out"; then
		ok "$name: refused with a clear reason ($(grep -m1 -o 'rejected: .*' <<<"$out"))"
	else
		not_ok "$name: expected a refusal naming '$word' (exit $rc)"
		echo "$out" | tail -n 3 | indent
	fi
}

join_refused wrong-key "wmauth-00000000000000000000000000000000" "not known"
expiring=$("$COORD" authkey create --db "$DB" --expiry 1s)
sleep 1.2
join_refused expired-key "$expiring" "expired"
revoked=$("$COORD" authkey create --db "$DB" --reusable)
"$COORD" authkey revoke --db "$DB" "$revoked" >/dev/null
join_refused revoked-key "$revoked" "revoked"
once=$("$COORD" authkey create --db "$DB")
if "$TOOL" poll --url "$URL" --key-file "$WORK/once-a.key" --hostname once-a --authkey "$once" \
	--wait-peers 3 --timeout 10 >/dev/null 2>&1; then
	ok "a single-use key lets one node join"
else
	not_ok "a single-use key did not let its first node join"
fi
join_refused once-b "$once" "single-use"

# ---- hand-made bad requests ------------------------------------------------------------------

# raw KIND STATUS CODE: one hand-made request must get STATUS with CODE.
raw() {
	local kind=$1 status=$2 code=$3 out
	out=$("$TOOL" raw --url "$URL" --key-file "$WORK/alpha.key" --kind "$kind" 2>&1)
	if [[ $out == "STATUS $status $code "* ]]; then
		ok "$kind request: HTTP $status $code (${out#STATUS $status $code })"
	else
		not_ok "$kind request: expected HTTP $status $code, got: $out"
	fi
}

raw tampered 401 bad_seal
raw wrongkey 401 bad_seal
raw replay 401 replayed
raw stale 401 stale
raw badjson 400 bad_request
raw wrongtype 400 bad_request
raw oversize 413 too_large
raw unsealed 415 content_type
raw poll 200 -

if kill -0 "$SERVER_PID" 2>/dev/null &&
	"$TOOL" poll --url "$URL" --key-file "$WORK/epsilon.key" --hostname epsilon \
		--authkey "$KEY" --wait-peers 4 --timeout 10 >/dev/null 2>&1; then
	ok "after the bad requests the server still serves: a new node joins and sees the others"
else
	not_ok "the server stopped serving after the bad requests"
	diagnose
fi

# ---- kill -9 and restart -----------------------------------------------------------------------

before=$(for n in alpha beta gamma; do echo "$n $(last_self "$WORK/$n.log")"; done)
list_before=$("$COORD" nodes list --db "$DB" --json | python3 -c 'import json,sys; print(sorted((n["id"], n["ipv4"], n["node_key"]) for n in json.load(sys.stdin)))')
exec 3>&2 2>/dev/null	# bash reports the killed job on stderr
kill -9 "$SERVER_PID"
wait "$SERVER_PID"
exec 2>&3 3>&-
old_port=$PORT
if wait_for 10 grep -m1 '^STATE .* away' "$WORK/alpha.log" >/dev/null; then
	ok "after kill -9 the nodes notice the server is away"
else
	not_ok "the nodes did not notice the server going away"
fi
t0=$(now_ms)
if start_server "$old_port"; then
	back=yes
	for n in alpha beta gamma; do
		wait_for 20 python3 -c '
import sys
t0 = int(sys.argv[2]); seen = False
for line in open(sys.argv[1]):
    p = line.split(" ", 3)
    if p[0] == "STATE" and int(p[1]) >= t0 and p[2] == "connected":
        print(p[1]); break
' "$WORK/$n.log" "$t0" >/dev/null || back=no
	done
	after=$(for n in alpha beta gamma; do echo "$n $(last_self "$WORK/$n.log")"; done)
	list_after=$("$COORD" nodes list --db "$DB" --json | python3 -c 'import json,sys; print(sorted((n["id"], n["ipv4"], n["node_key"]) for n in json.load(sys.stdin)))')
	if [[ $back == yes && $before == "$after" && $list_before == "$list_after" ]]; then
		ok "restarted on port $PORT: nodes reconnect with the same ids and addresses"
	else
		not_ok "after the restart: reconnected=$back"
		{ echo "before: $before"; echo "after:  $after"; } | indent
		diagnose
	fi
else
	not_ok "the server did not restart on port $old_port"
	diagnose
fi

# ---- access policy ----------------------------------------------------------------------------

# alpha may reach beta:80 and nothing else: alpha and beta see only each other, gamma nobody.
cat >"$WORK/policy.json" <<'EOF'
{"acls": [{"action": "accept", "src": ["alpha"], "proto": "tcp", "dst": ["beta:80"]}],
 "tests": [{"src": "alpha", "accept": ["beta:80"], "deny": ["beta:22", "gamma-renamed:80"]}]}
EOF
if out=$("$COORD" policy check --db "$DB" "$WORK/policy.json" 2>&1); then
	ok "policy check: $out"
else
	not_ok "policy check refused a good policy"
	echo "$out" | indent
fi
t0=$(now_ms)
if "$COORD" policy set --db "$DB" "$WORK/policy.json" >/dev/null; then
	late=
	for q in "alpha:peers == ['beta'] and n['packet_filter']['rules'] == []" \
		"beta:peers == ['alpha'] and n['packet_filter']['rules'][0]['ports'] == [[80, 80]]" \
		"gamma:peers == [] and n['packet_filter'] == {'rules': [], 'reach': {}}"; do
		t=$(wait_for 5 netmap_query "$WORK/${q%%:*}.log" "${q#*:}" "$t0")
		if [[ -z $t ]] || ((t - t0 > FANOUT_MS)); then
			late="$late ${q%%:*}(${t:-never})"
		fi
	done
	if [[ -z $late ]]; then
		ok "policy set reaches every node within ${FANOUT_MS} ms: its filter, and only the peers it may talk to"
	else
		not_ok "policy set reached some nodes late or never:$late (set at $t0)"
		diagnose
	fi
else
	not_ok "policy set refused a good policy"
fi
out=$("$COORD" policy explain --db "$DB" alpha beta:80 2>&1)
if grep -q '^alpha -> beta:80 (tcp): allowed by acls\[0\]' <<<"$out" &&
	"$COORD" policy explain --db "$DB" beta alpha:80 | grep -q 'denied: no ACL allows it'; then
	ok "policy explain names the deciding ACL, or says none allows it"
else
	not_ok "policy explain: $out"
fi
sed 's/"beta:22"/"beta:80"/' "$WORK/policy.json" >"$WORK/policy-bad.json"
out=$("$COORD" policy set --db "$DB" "$WORK/policy-bad.json" 2>&1)
rc=$?
if [[ $rc -eq 1 ]] && grep -q 'tests\[0\].deny\[0\]: expected "beta:80"' <<<"$out" &&
	[[ $("$COORD" policy get --db "$DB") == "$(cat "$WORK/policy.json")" ]]; then
	ok "a policy whose test fails is refused, naming the test; the old one stays in force"
else
	not_ok "a failing policy: exit $rc, $out"
fi
t0=$(now_ms)
if "$COORD" policy clear --db "$DB" >/dev/null &&
	t=$(wait_for 5 netmap_query "$WORK/alpha.log" \
		"n['packet_filter'] is None and 'beta' in peers and 'gamma-renamed' in peers" "$t0") &&
	((t - t0 <= FANOUT_MS)); then
	ok "policy clear: back to every peer and no filter within ${FANOUT_MS} ms ($((t - t0)) ms)"
else
	not_ok "policy clear did not reach alpha in time (${t:-never}, from $t0)"
fi

# ---- HTTPS ------------------------------------------------------------------------------------

if ! command -v openssl >/dev/null; then
	skip "HTTPS: the openssl command is missing (package openssl; scripts/install-deps)"
elif ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost \
	-keyout "$WORK/tls.key" -out "$WORK/tls.crt" >"$WORK/openssl.log" 2>&1; then
	not_ok "HTTPS: openssl makes a test certificate"
	indent <"$WORK/openssl.log"
else
	"$COORD" serve --db "$WORK/tls.db" --cert "$WORK/tls.crt" --key "$WORK/tls.key" \
		--listen 127.0.0.1:0 >"$WORK/tls.out" 2>"$WORK/tls.err" &
	: >>"$WORK/tls.out"
	PIDS+=($!)
	TLS_PORT=$(wait_for 5 sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/tls.out")
	TLS_KEY=$("$COORD" authkey create --db "$WORK/tls.db")
	if "$TOOL" poll --url "https://localhost:$TLS_PORT" --ca-file "$WORK/tls.crt" \
		--key-file "$WORK/tls-node.key" --hostname tls-node --authkey "$TLS_KEY" --wait-peers 0 \
		--timeout 10 >"$WORK/tls-node.log" 2>&1; then
		ok "over HTTPS (mbedTLS): a node joins with the server's certificate pinned"
	else
		not_ok "a node could not join over HTTPS"
		tail -n 3 "$WORK/tls-node.log" | indent
	fi
	out=$("$TOOL" poll --url "https://localhost:$TLS_PORT" --key-file "$WORK/tls-other.key" \
		--hostname tls-other --authkey "$TLS_KEY" --wait-peers 1 --timeout 2 2>&1)
	if grep -q "certificate not trusted" <<<"$out"; then
		ok "over HTTPS: an untrusted certificate is refused with a clear reason"
	else
		not_ok "over HTTPS: an untrusted certificate was not refused"
		echo "$out" | tail -n 3 | indent
	fi
fi

# ---- load ------------------------------------------------------------------------------------

if [[ -x $LOAD ]]; then
	if out=$("$LOAD" --nodes "$COORD_LOAD_NODES" --coord "$COORD" --timeout 30 2>&1); then
		ok "load: $COORD_LOAD_NODES nodes hold polls; $(grep -o 'endpoint change.*' <<<"$out"); $(grep -o 'VmRSS.*' <<<"$out")"
	else
		not_ok "load with $COORD_LOAD_NODES nodes"
		echo "$out" | indent
	fi
else
	skip "load: $LOAD is not built"
fi

exit 0
