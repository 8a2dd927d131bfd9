#!/usr/bin/env bash
# demo.sh: the main job in one go: a Ringvisor guest with networking, talked to by the host.
#
# Creates a network namespace (rvdemo-PID), starts the udp-echo guest in it behind a TAP
# (198.18.0.2/24, the host side 198.18.0.1/24), pings it, sends it UDP datagrams from 1 byte
# to 65,507 bytes (fragmented) and checks every echoed byte, asks it to quit, and prints the
# guest's output and the NIC's counters. Then two guests on a share switch (no host network stack
# between them): netcheck pings a udp-echo guest and checks its UDP echoes byte for byte.
# Deletes the namespace (and with it the TAP) and stops the guests on every exit path. Needs
# root (or CAP_NET_ADMIN and /dev/kvm), iproute2 and ping.
#
#	tools/demo.sh [--help]
set -u
cd "$(dirname "$0")/.." || exit 1
. tools/shell_helpers.sh
case "${1:-}" in
-h | --help)
	sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

: "${BUILD:=build}"
launcher=$BUILD/ringvisor
client=$BUILD/tests/udp_echo_client
[ -x "$BUILD/bench/udp_echo_client" ] && client=$BUILD/bench/udp_echo_client
for needed in "$launcher" "$BUILD/guests/udp-echo.elf" "$BUILD/guests/netcheck.elf" "$client"; do
	[ -x "$needed" ] || [ -f "$needed" ] || { echo "demo: $needed is missing; run make" >&2; exit 1; }
done
command -v ping >/dev/null || { echo "demo: needs ping (Debian: iputils-ping)" >&2; exit 1; }

namespace=rvdemo-$$
output=$(mktemp /tmp/rvdemo.XXXXXX)
launcher_pid=
switch=rvdemo-$$
cleanup() {
	[ -n "$launcher_pid" ] && kill "$launcher_pid" 2>/dev/null && wait "$launcher_pid" 2>/dev/null
	# Only if a guest was killed before it left; this switch's files, not another demo's.
	rm -f /dev/shm/ringvisor-share-"$switch" /dev/shm/ringvisor-share-"$switch"@port-*
	ip netns del "$namespace" 2>/dev/null
	rm -f "$output"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (10 s at most) for the udp-echo guest to say it listens; ends the demo if it does not.
wait_until_listening() {
	wait_for_text "$output" "listening on" 10 "$launcher_pid" ||
		{ echo "demo: the guest did not start:"; cat "$output"; exit 1; }
}

namespace_create "$namespace" || exit 1
# The echo guests quit on `!quit`, or after 30 s without a datagram: no wait here is unbounded.
echo "== starting: ringvisor run --stats --net tap,ifname=rv0,ip=198.18.0.2/24 udp-echo.elf -- 7 30"
ip netns exec "$namespace" "$launcher" run --stats --net tap,ifname=rv0,ip=198.18.0.2/24 \
	"$BUILD/guests/udp-echo.elf" -- 7 30 >"$output" 2>&1 &
launcher_pid=$!
wait_until_listening
ip netns exec "$namespace" ip addr add 198.18.0.1/24 dev rv0

echo "== host pings the guest"
ip netns exec "$namespace" ping -c 5 -i 0.2 198.18.0.2 || exit 1
echo "== host sends UDP datagrams of 1 to 65,507 bytes; every echoed byte is checked"
ip netns exec "$namespace" "$client" 198.18.0.2 7 --sizes 1,64,1472,1473,9000,65507 --count 30 \
	--quit || exit 1
wait "$launcher_pid"
status=$?
launcher_pid=
echo "== the guest's output and the NIC's counters (launcher exit status $status)"
cat "$output"
[ "$status" -eq 0 ] || exit "$status"

echo
echo "== two guests on share switch $switch: udp-echo at 198.18.0.2, netcheck at 198.18.0.3"
"$launcher" run --stats --net "share,name=$switch,ip=198.18.0.2/24" "$BUILD/guests/udp-echo.elf" \
	-- 7 30 >"$output" 2>&1 &
launcher_pid=$!
wait_until_listening
timeout 60 "$launcher" run --net "share,name=$switch,ip=198.18.0.3/24" \
	"$BUILD/guests/netcheck.elf" -- ping 198.18.0.2 5 || exit 1
timeout 60 "$launcher" run --net "share,name=$switch,ip=198.18.0.3/24" \
	"$BUILD/guests/netcheck.elf" -- udp 198.18.0.2 7 --quit || exit 1
wait "$launcher_pid"
status=$?
launcher_pid=
echo "== the echo guest's switch port (launcher exit status $status)"
grep -E "switch_(sent|received)_(unicast|broadcast|flooded)|switch_port" "$output"
exit "$status"
