#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wiremesh without root (needs root to set the stage): a throwaway system user runs
#   (a) a copy of the daemon with file capability cap_net_admin, which creates its own TUN;
#   (b) a plain copy, which attaches to a TUN that root created for that user
#       (ip tuntap add ... user USER) and configured, since the user cannot;
# and in both cases root drives it with wg, and a ping crosses to wireguard-go running as root
# in the other namespace.
#
# The user needs to create its socket in /var/run/wireguard and to open /dev/net/tun. For the
# test only, a temporary group gets that access: the directory is created for it if missing,
# else its group and mode are changed; /dev/net/tun gets the group only if the user cannot
# already open it. Owner, group and mode are restored by the EXIT trap.
#
#   UNPRIV_IMPL=wiremesh (default) or wireguard-go, to prove the script.   WM_BIN  WG_GO

set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

UNPRIV_IMPL=${UNPRIV_IMPL:-wiremesh}
USER_NAME=wmt$RUN_ID
PEER_IMPL=wireguard-go
HOW=

print_diagnostics() {
	show_daemon "$IF1"
	show_daemon "$IF2"
}

# ---- the user and the access it needs ------------------------------------------------------

create_user() {
	groupadd --system "$USER_NAME" || return 1
	CLEANUP_HOOKS+=("groupdel $USER_NAME 2>/dev/null")
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--gid "$USER_NAME" "$USER_NAME" || return 1
	# userdel first: the group cannot go while it is a user's primary group.
	CLEANUP_HOOKS=("userdel $USER_NAME 2>/dev/null" "${CLEANUP_HOOKS[@]}")
}

as_user() { setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --clear-groups --inh-caps=-all "$@"; }

# grant_group_access PATH MODE_BITS: chgrp to the test group plus g+MODE_BITS, undone at exit.
grant_group_access() {
	local path=$1 bits=$2 saved
	saved=$(stat -c '%u:%g %a' "$path") || return 1
	CLEANUP_HOOKS+=("chown ${saved% *} $path; chmod ${saved#* } $path")
	chgrp "$USER_NAME" "$path" && chmod "g+$bits" "$path"
}

give_user_the_uapi_dir() {
	if [[ -d $UAPI_DIR ]]; then
		grant_group_access "$UAPI_DIR" rwx
	else
		# The trap removes it again (remember_uapi_dir noted that it was missing).
		install -d -m 0755 -o "$USER_NAME" -g "$USER_NAME" "$UAPI_DIR"
	fi
}

give_user_the_tun_device() {
	as_user test -r /dev/net/tun -a -w /dev/net/tun && return 0
	echo "# /dev/net/tun is mode $(stat -c %a /dev/net/tun) here; group $USER_NAME gets rw until the end"
	grant_group_access /dev/net/tun rw
}

# ---- the daemon as the user ----------------------------------------------------------------

# copy_daemon NAME: a copy of the implementation the user can execute.
copy_daemon() {
	local src
	src=$(command -v "$(impl_command "$UNPRIV_IMPL")") || return 1
	install -m 0755 "$src" "$WORKDIR/bin/$1"
	echo "$WORKDIR/bin/$1"
}

# start_as_user BINARY: the daemon for IF1 in NS1, as the user, in the foreground.
start_as_user() {
	launch_daemon "$NS1" "$IF1" env LOG_LEVEL=verbose \
		setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --clear-groups --inh-caps=-all \
		"$1" -f "$IF1"
}

# runs_as_user_with CAPEFF: the daemon's uids are the user's and its effective capabilities
# are exactly CAPEFF (hex, as in /proc/PID/status).
runs_as_user_with() {
	local pid=${DAEMON_PID[$IF1]} uid status
	uid=$(id -u "$USER_NAME")
	status=$(<"/proc/$pid/status") || return 1
	grep -E '^(Uid|CapEff):' <<<"$status"
	grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}\$" <<<"$status" &&
		grep -Eq "^CapEff:[[:space:]]+0*$1\$" <<<"$status"
}

# ---- the root peer and the configuration ---------------------------------------------------

configure_both() {
	wg_in "$NS1" set "$IF1" private-key "$WORKDIR/side1.key" listen-port "$PORT1" \
		peer "$(pubkey side2)" endpoint "$UNDERLAY4_2:$PORT2" allowed-ips "$OVERLAY4_2/32" &&
		wg_in "$NS2" set "$IF2" private-key "$WORKDIR/side2.key" listen-port "$PORT2" \
			peer "$(pubkey side1)" endpoint "$UNDERLAY4_1:$PORT1" allowed-ips "$OVERLAY4_1/32" &&
		ip -n "$NS2" addr add "$OVERLAY4_2/24" dev "$IF2" &&
		ip -n "$NS2" link set "$IF2" up
}

configure_side1_link() {
	ip -n "$NS1" addr add "$OVERLAY4_1/24" dev "$IF1" && ip -n "$NS1" link set "$IF1" up
}

tear_down() {
	stop_daemon "$IF1"
	stop_daemon "$IF2"
	delete_underlay
	rm -f "$(uapi_socket "$IF1")" "$(uapi_socket "$IF2")"
	unset 'DAEMON_NS[$IF1]' 'DAEMON_NS[$IF2]'
}

# ---- (a) file capability -------------------------------------------------------------------

with_cap_net_admin_it_creates_its_own_interface() {
	local bin
	HOW="$UNPRIV_IMPL as $USER_NAME with cap_net_admin"
	if ! bin=$(copy_daemon capable) || ! setcap cap_net_admin+ep "$bin"; then
		not_ok "unprivileged: $HOW: copying and setcap"
		return
	fi
	check "unprivileged: $HOW: starts and serves $IF1.sock" start_as_user "$bin" || return
	check "unprivileged: $HOW: runs as the user with only CAP_NET_ADMIN" runs_as_user_with 1000
	check "unprivileged: $HOW: created $IF1" ip -n "$NS1" link show "$IF1"
	check "unprivileged: $HOW: root configures it with wg" configure_both
	check "unprivileged: $HOW: root brings $IF1 up" configure_side1_link
	check "unprivileged: $HOW: wg show works as root" wg_in "$NS1" show "$IF1"
	check "unprivileged: $HOW: ping $OVERLAY4_2 ($PEER_IMPL as root)" \
		ping_within 10 "$NS1" "$OVERLAY4_2"
	check "unprivileged: $HOW: ping back from $PEER_IMPL" ping_within 5 "$NS2" "$OVERLAY4_1"
}

# ---- (b) no capability at all --------------------------------------------------------------

without_capabilities_it_attaches_to_a_given_interface() {
	local bin
	HOW="$UNPRIV_IMPL as $USER_NAME without capabilities"
	bin=$(copy_daemon plain) || { not_ok "unprivileged: $HOW: copying"; return; }
	if ! ip -n "$NS1" tuntap add "$IF1" mode tun user "$USER_NAME" || ! configure_side1_link; then
		not_ok "unprivileged: $HOW: root creating $IF1 for the user"
		return
	fi
	if ! start_as_user "$bin" >"$WORKDIR/check.out" 2>&1; then
		if [[ $UNPRIV_IMPL == wireguard-go ]] &&
			grep -q 'operation not permitted' "${DAEMON_LOG[$IF1]}"; then
			skip "unprivileged: $HOW: wireguard-go needs CAP_NET_ADMIN even on a given TUN ($(grep -m1 -o 'Failed to create TUN device.*' "${DAEMON_LOG[$IF1]}"))"
			return
		fi
		not_ok "unprivileged: $HOW: attaches to $IF1 and serves $IF1.sock"
		{ cat "$WORKDIR/check.out"; print_diagnostics; } | indent
		return
	fi
	ok "unprivileged: $HOW: attaches to $IF1 and serves $IF1.sock"
	check "unprivileged: $HOW: runs as the user with no capability" runs_as_user_with 0
	check "unprivileged: $HOW: root configures it with wg" configure_both
	check "unprivileged: $HOW: ping $OVERLAY4_2 ($PEER_IMPL as root)" \
		ping_within 10 "$NS1" "$OVERLAY4_2"
	check "unprivileged: $HOW: ping back from $PEER_IMPL" ping_within 5 "$NS2" "$OVERLAY4_1"
}

# ---- main ----------------------------------------------------------------------------------

is_root unprivileged || exit 0
has_tools unprivileged ip wg ping socat setpriv useradd userdel groupadd groupdel stat || exit 0
if ! command -v setcap >/dev/null 2>&1; then
	skip "unprivileged: setcap missing (libcap2-bin)"
	exit 0
fi
for impl in "$UNPRIV_IMPL" "$PEER_IMPL"; do
	if ! why=$(impl_is_available "$impl"); then
		skip "unprivileged: $why"
		exit 0
	fi
done
set_up_run
chmod 0711 "$WORKDIR"
mkdir -m 0755 "$WORKDIR/bin"
if ! make_keypair side1 || ! make_keypair side2; then
	not_ok "unprivileged: generating keys"
	exit 1
fi
if ! create_user >"$WORKDIR/setup.log" 2>&1 || ! give_user_the_uapi_dir >>"$WORKDIR/setup.log" 2>&1 ||
	! give_user_the_tun_device; then
	not_ok "unprivileged: creating user $USER_NAME and its access"
	indent <"$WORKDIR/setup.log"
	exit 1
fi

for scenario in with_cap_net_admin_it_creates_its_own_interface \
	without_capabilities_it_attaches_to_a_given_interface; do
	if ! create_underlay >"$WORKDIR/setup.log" 2>&1 ||
		! start_daemon "$NS2" "$PEER_IMPL" "$IF2" >>"$WORKDIR/setup.log" 2>&1; then
		not_ok "unprivileged: setting up the namespaces and the $PEER_IMPL peer"
		indent <"$WORKDIR/setup.log"
		tear_down
		continue
	fi
	"$scenario"
	tear_down
done

((FAILURES == 0))
