#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Names end to end: every node answers NAME.SUFFIX at 100.100.100.100 and forwards the rest
# to the host's own nameserver, here dnsmasq in namespace "up". Node a runs with --accept-dns
# (its /etc/resolv.conf, the bind mount of /etc/netns/NS/resolv.conf that ip netns exec makes,
# is rewritten and put back on down); node b runs without (its file is left alone). Needs root.
#
#                        ns switch: bridge br0 (the underlay)
#      +----------------+--------------+--------------+
#   ns hub 192.0.2.100  ns a .1        ns b .2        ns up 192.0.2.53
#   wiremesh-coord      --accept-dns   (default)      dnsmasq: www.example.test
#   wiremesh-relay      getent, drill                 is 192.0.2.80, every query logged
#
# Checks:
#   names      getent hosts b.SUFFIX on a answers b's mesh address, and so does the short
#              name through the search domain; a's own name too; A and AAAA both, asked over
#              IPv4 and over IPv6 (fd77:6d65:7368::53)
#   unknown    an unknown name under the suffix fails (getent exit 2, NXDOMAIN from drill)
#              and dnsmasq never saw it
#   forward    www.example.test is answered through a's resolver by dnsmasq
#   rename     wiremesh-coord nodes rename b bravo: bravo.SUFFIX answers, beta.SUFFIX does not
#   suffix     wiremesh-coord dns set: names move to the new suffix, resolv.conf's search too
#   bad input  malformed datagrams and a TCP connection to 100.100.100.100:53 leave the
#              node answering; TCP is refused at once
#   host       b's resolv.conf is untouched and its status says so; b's resolver still
#              answers when asked directly; systemd-resolved is checked only where it runs
#   down       wiremesh down on a puts its resolv.conf back byte for byte
# Prints one "ok - …" / "not ok - …" / "skip - …" line per check.
#
#   WMT_KEEP=1 keeps the logs

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

NS_SW=wmd-$RUN_ID-sw
NS_HUB=wmd-$RUN_ID-hub
NS_UP=wmd-$RUN_ID-up
HUB=192.0.2.100
UPSTREAM=192.0.2.53
WWW_ADDR=192.0.2.80
COORD_PORT=8080
RELAY_PORT=3340
URL=http://$HUB:$COORD_PORT
RESOLVER=100.100.100.100
RESOLVER6=fd77:6d65:7368::53
NODES=(a b)
declare -A ADDR=([a]=192.0.2.1 [b]=192.0.2.2)
declare -A MESH_IP=()
COORD_PID='' RELAY_PID='' DNSMASQ_PID='' AUTHKEY='' SUFFIX=mesh.internal

ns_of() { echo "wmd-$RUN_ID-$1"; }
if_of() { echo "wmd${RUN_ID}$1"; }
state_of() { echo "$WORKDIR/state-$1"; }
db() { echo "$WORKDIR/coord.db"; }
# What ip netns exec mounts over /etc/resolv.conf inside NODE's namespace.
etc_of() { echo "/etc/netns/$(ns_of "$1")"; }
resolv_of() { echo "$(etc_of "$1")/resolv.conf"; }

ORIGINAL_RESOLV="# the test's resolv.conf
nameserver $UPSTREAM
search example.test
options edns0"

print_diagnostics() {
	local node
	for node in "${NODES[@]}"; do
		[[ -d $(state_of "$node") ]] || continue
		echo "--- $node: wiremesh status"
		wm "$node" status 2>&1 | head -n 16
		echo "--- $node: $(resolv_of "$node")"
		cat "$(resolv_of "$node")" 2>&1
		echo "--- $node: last lines of its log"
		tail -n 6 "$WORKDIR/$node.log" 2>/dev/null | awk '{ print substr($0, 1, 300) }'
	done
	echo "--- dnsmasq, last lines:"
	tail -n 6 "$WORKDIR/dnsmasq.log" 2>/dev/null
}

# ---- topology and servers --------------------------------------------------------------------

create_topology() {
	local node
	create_namespace "$NS_SW" &&
		ip -n "$NS_SW" link add br0 type bridge &&
		ip -n "$NS_SW" link set br0 up &&
		attach "$NS_HUB" "$HUB" &&
		attach "$NS_UP" "$UPSTREAM" || return 1
	for node in "${NODES[@]}"; do
		mkdir -p "$(etc_of "$node")" && printf '%s\n' "$ORIGINAL_RESOLV" >"$(resolv_of "$node")" &&
			CLEANUP_HOOKS+=("rm -rf '$(etc_of "$node")'") &&
			attach "$(ns_of "$node")" "${ADDR[$node]}" || return 1
	done
	cp "$(resolv_of a)" "$WORKDIR/resolv.orig"
	wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$HUB" &&
		wait_for 5 n "$(ns_of a)" ping -n -q -c 1 -W 1 "$UPSTREAM"
}

# dnsmasq as the hosts' upstream resolver: one name of its own, no upstream of its own, every
# query in its log.
start_upstream() {
	ip netns exec "$NS_UP" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --bind-interfaces --listen-address="$UPSTREAM" \
		--address="/www.example.test/$WWW_ADDR" --log-queries \
		--log-facility="$WORKDIR/dnsmasq.log" --pid-file= --user=root --group=root \
		>>"$WORKDIR/dnsmasq.out" 2>&1 &
	DNSMASQ_PID=$!
	STARTED_PIDS+=("$DNSMASQ_PID")
	wait_for 5 n "$NS_UP" drill -Q "www.example.test" "@$UPSTREAM"
}

# ---- asking ------------------------------------------------------------------------------------

# resolves NODE NAME WANT: getent hosts NAME in NODE's namespace prints WANT.
resolves() {
	local out
	out=$(n "$(ns_of "$1")" getent ahostsv4 "$2" 2>&1)
	echo "getent ahostsv4 $2: ${out%%$'\n'*}"
	grep -q "^$3 " <<<"$out"
}

# fails_to_resolve NODE NAME: getent exits 2 (not found).
fails_to_resolve() {
	local out rc
	out=$(n "$(ns_of "$1")" getent hosts "$2" 2>&1)
	rc=$?
	echo "getent hosts $2: exit $rc $out"
	[[ $rc == 2 ]]
}

# rcode_is NODE NAME RCODE [TYPE]: drill asks NODE's resolver directly; the answer has RCODE.
rcode_is() {
	local out
	out=$(n "$(ns_of "$1")" drill "$2" "@$RESOLVER" "${4:-A}" 2>&1)
	grep -E 'rcode:|^[^;].*IN' <<<"$out" | head -n 4
	grep -q "rcode: $3" <<<"$out"
}

# tcp_refused: connecting to the resolver over TCP from a gets "Connection refused".
tcp_refused() {
	local out
	out=$(n "$(ns_of a)" timeout 5 bash -c "exec 3<>/dev/tcp/$RESOLVER/53" 2>&1)
	echo "$out"
	grep -qi 'refused' <<<"$out"
}

upstream_saw() { grep -q "query\[.*\] $1 from" "$WORKDIR/dnsmasq.log"; }

# ---- scenarios ---------------------------------------------------------------------------------

names() {
	check "names: a's resolv.conf points at $RESOLVER with search $SUFFIX" eval \
		"grep -qx 'nameserver $RESOLVER' $(resolv_of a) &&
		 grep -qx 'search $SUFFIX example.test' $(resolv_of a)"
	check "names: a routes $RESOLVER into its mesh interface" eval \
		"ip -n $(ns_of a) route get $RESOLVER | grep -q 'dev $(if_of a)'"
	check "names: getent on a: b.$SUFFIX is ${MESH_IP[b]}" \
		wait_for 10 resolves a "b.$SUFFIX" "${MESH_IP[b]}"
	check "names: getent on a: the short name b (search domain) is ${MESH_IP[b]}" \
		resolves a b "${MESH_IP[b]}"
	check "names: getent on a: its own name a.$SUFFIX is ${MESH_IP[a]}" \
		resolves a "a.$SUFFIX" "${MESH_IP[a]}"
	check "names: AAAA of b.$SUFFIX is its mesh IPv6 address" eval \
		"n $(ns_of a) getent ahostsv6 b.$SUFFIX | grep -q '^fd77:6d65:7368::'"
	check "names: the resolver's IPv6 address answers too (drill @$RESOLVER6 b.$SUFFIX AAAA)" \
		eval "n $(ns_of a) drill b.$SUFFIX @$RESOLVER6 AAAA | grep -Eq 'IN[[:space:]]+AAAA[[:space:]]+fd77:6d65:7368::'"
	check "names: getent hosts ${MESH_IP[b]} on a names it b.$SUFFIX (PTR)" eval \
		"n $(ns_of a) getent hosts ${MESH_IP[b]} | grep -Eq '[[:space:]]b\\.$SUFFIX\$'"
	check "names: names are case-insensitive (B.MESH.Internal)" \
		resolves a "B.${SUFFIX^^}" "${MESH_IP[b]}"
	check "names: a's status names this node a.$SUFFIX and its peer b.$SUFFIX" status_query a \
		"(s['self']['dns_name'] == 'a.$SUFFIX' and p['b']['dns_name'] == 'b.$SUFFIX' and
		  s['self']['dns']['host'] == 'resolv.conf')"
}

unknown() {
	check "unknown: getent hosts nosuch.$SUFFIX fails (exit 2)" fails_to_resolve a "nosuch.$SUFFIX"
	check "unknown: the resolver answers NXDOMAIN for nosuch.$SUFFIX" \
		rcode_is a "nosuch.$SUFFIX" NXDOMAIN
	check "unknown: the upstream never saw a query for nosuch.$SUFFIX" eval \
		"! upstream_saw nosuch.$SUFFIX"
}

forward() {
	check "forward: getent on a: www.example.test is $WWW_ADDR (dnsmasq's answer)" \
		resolves a www.example.test "$WWW_ADDR"
	check "forward: dnsmasq saw the query, from a's underlay address" eval \
		"grep -q 'query\\[A\\] www.example.test from ${ADDR[a]}' $WORKDIR/dnsmasq.log"
	check "forward: a name dnsmasq refuses comes back with its answer (REFUSED)" \
		rcode_is a unknown.example.org REFUSED
	check "forward: status counts answered and forwarded queries" status_query a \
		"(s['self']['dns']['counters']['answered'] > 0 and
		  s['self']['dns']['counters']['upstream_answers'] > 0)"
}

rename() {
	check "rename: wiremesh-coord nodes rename b bravo" coord_admin nodes rename b bravo
	check "rename: within 10 s bravo.$SUFFIX answers on a" \
		wait_for 10 resolves a "bravo.$SUFFIX" "${MESH_IP[b]}"
	check "rename: b.$SUFFIX is gone (NXDOMAIN)" rcode_is a "b.$SUFFIX" NXDOMAIN
}

suffix() {
	local old=$SUFFIX
	check "suffix: wiremesh-coord dns set corp.example" coord_admin dns set Corp.Example.
	SUFFIX=corp.example
	check "suffix: within 10 s bravo.$SUFFIX answers on a" \
		wait_for 10 resolves a "bravo.$SUFFIX" "${MESH_IP[b]}"
	check "suffix: bravo.$old is forwarded now, and the upstream does not know it" eval \
		"rcode_is a bravo.$old REFUSED && upstream_saw bravo.$old"
	check "suffix: a's resolv.conf searches $SUFFIX" \
		grep -qx "search $SUFFIX example.test" "$(resolv_of a)"
}

bad_input() {
	local py='
import random, socket, sys
random.seed(14)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
valid = (bytes.fromhex("123401000001000000000000") +
         b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[2].split(".")) +
         bytes.fromhex("0000010001"))
for i in range(300):
    if i % 3 == 0:
        d = valid[:random.randrange(len(valid))]
    elif i % 3 == 1:
        d = bytearray(valid)
        d[random.randrange(len(d))] = random.randrange(256)
        d = bytes(d)
    else:
        d = bytes(random.randrange(256) for _ in range(random.randrange(600)))
    s.sendto(d, (sys.argv[1], 53))
'
	check "bad input: 300 malformed or mangled datagrams to $RESOLVER:53" \
		n "$(ns_of a)" "$PYTHON" -c "$py" "$RESOLVER" "bravo.$SUFFIX"
	check "bad input: a TCP connection to $RESOLVER:53 is refused at once" tcp_refused
	check "bad input: the node still answers (bravo.$SUFFIX)" \
		resolves a "bravo.$SUFFIX" "${MESH_IP[b]}"
	check "bad input: status counted malformed queries and the refused connection" \
		status_query a "(s['self']['dns']['counters']['malformed'] > 0 and
		  s['self']['dns']['counters']['refused'] > 0)"
}

host() {
	check "host: b's resolv.conf is untouched without --accept-dns" \
		cmp "$WORKDIR/resolv.orig" "$(resolv_of b)"
	check "host: b's status says the host's DNS is untouched, and why" status_query b \
		"(s['self']['dns']['host'] == 'untouched' and
		  '--accept-dns' in s['self']['dns']['host_note'])"
	check "host: b's resolver answers a.$SUFFIX when asked directly" \
		rcode_is b "a.$SUFFIX" NOERROR
	check "host: b's text status has the DNS lines" eval \
		"wm b status | grep -q 'DNS on this host (untouched)'"
	if [[ -d /run/systemd/resolve ]] && command -v resolvectl >/dev/null; then
		skip "host: systemd-resolved runs here, but the namespaces share it with the host; per-link settings are not tested"
	else
		skip "host: systemd-resolved is not running here (no /run/systemd/resolve): its per-link settings are not tested"
	fi
}

down() {
	check "down: wiremesh down on a" wm a down
	check "down: a's resolv.conf is back byte for byte" \
		cmp "$WORKDIR/resolv.orig" "$(resolv_of a)"
	check "down: no copy is left in a's state directory" \
		test ! -e "$(state_of a)/resolv.conf.orig"
}

# ---- main --------------------------------------------------------------------------------------

is_root "dns" || exit 0
has_tools "dns" ip wg ping python3 timeout awk getent drill dnsmasq cmp || exit 0
are_built "dns" "$WM_BIN" "$COORD_BIN" "$RELAY_BIN" || exit 0
set_up_run
RUN_START=$(now_ms)

if ! create_topology >"$WORKDIR/setup.log" 2>&1 || ! start_hub >>"$WORKDIR/setup.log" 2>&1 ||
	! start_upstream >>"$WORKDIR/setup.log" 2>&1
then
	not_ok "dns: namespaces, wiremesh-coord, wiremesh-relay and dnsmasq"
	indent <"$WORKDIR/setup.log"
	exit 1
fi
ok "dns: topology, wiremesh-coord, wiremesh-relay, dnsmasq up"

if check "dns: a comes up with --accept-dns" comes_up a --accept-dns &&
	check "dns: b comes up (no --accept-dns)" comes_up b; then
	names
	unknown
	forward
	rename
	suffix
	bad_input
	host
	down
fi

echo "# dns: $(seconds_since "$RUN_START") s"
((FAILURES == 0))
