#!/usr/bin/env bash
# network_latency.sh: the guest's network path beside the host kernel's, measured in one run.
#
# Two things, each against the same thing done over a veth pair between two network namespaces
# (the host kernel talking to itself, the best a virtual link can hope for):
#   - ping round trip, host -> guest through the TAP, beside host -> namespace over the veth:
#     min/avg/max/mdev of `ping -c COUNT -i INTERVAL`, the median of RUNS runs each;
#   - UDP request/response transactions per second (udp_echo_client --rate-test) to the
#     udp-echo guest, beside tests/integration/udp_echo_server in the other namespace.
# Prints a table with the guest's figures divided by the veth baseline's.
#
# Everything runs in namespaces this script creates (rvb-PID-host: the TAP, the client and one
# end of the veth; rvb-PID-peer: the other end and the echo server), on 198.18.0.0/24 (TAP) and
# 198.18.1.0/24 (veth); the trap deletes them on every exit path. Needs root, iproute2, ping.
set -u
cd "$(dirname "$0")/.." || exit 1
. tools/shell_helpers.sh

runs=5
count=200
interval=0.01
seconds=3
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"

usage() {
	cat <<EOF
usage: bench/network_latency.sh [--runs N] [--count N] [--interval S] [--seconds S]

Ping round trip and UDP echo transactions per second: host -> guest (udp-echo behind the
Ringvisor NIC and a TAP) beside host -> namespace over a veth pair, in one run, as a table
with ratios to the veth baseline.

  --runs N       runs of each measurement; the table shows medians (default $runs)
  --count N      pings per run (default $count)
  --interval S   seconds between pings (default $interval; below 0.2 needs root)
  --seconds S    length of each transactions-per-second run (default $seconds)

Environment: RINGVISOR (default \$BUILD/ringvisor), BUILD (default build; guests in
\$BUILD/guests, udp_echo_client and udp_echo_server in \$BUILD/bench or \$BUILD/tests),
CLIENT and SERVER to name the tools directly. Needs root, iproute2 and ping.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--count) count=${2:?}; shift 2 ;;
	--interval) interval=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	*) echo "network_latency: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

tool() {
	if [ -x "$BUILD/bench/$1" ]; then echo "$BUILD/bench/$1"; else echo "$BUILD/tests/$1"; fi
}
: "${CLIENT:=$(tool udp_echo_client)}"
: "${SERVER:=$(tool udp_echo_server)}"
guest=$BUILD/guests/udp-echo.elf
for file in "$RINGVISOR" "$CLIENT" "$SERVER"; do
	[ -x "$file" ] || { echo "network_latency: $file is missing (build it first)" >&2; exit 1; }
done
[ -f "$guest" ] || { echo "network_latency: $guest is missing" >&2; exit 1; }
command -v ping >/dev/null || { echo "network_latency: needs ping (iputils-ping)" >&2; exit 1; }

host=rvb-$$-host
peer=rvb-$$-peer
tap=rvb-$$-tap
veth=rvb-$$-v
port=7777
guest_ip=198.18.0.2
peer_ip=198.18.1.2
work=$(mktemp -d /tmp/ringvisor-bench.XXXXXX)
launcher=
server=

cleanup() {
	[ -n "$launcher" ] && kill -KILL "$launcher" 2>/dev/null && wait "$launcher" 2>/dev/null
	[ -n "$server" ] && kill -KILL "$server" 2>/dev/null && wait "$server" 2>/dev/null
	ip netns del "$host" 2>/dev/null
	ip netns del "$peer" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "network_latency: $*" >&2
	exit 1
}

for namespace in "$host" "$peer"; do
	namespace_create "$namespace" || die "cannot create namespace $namespace"
done
ip -n "$host" link add "${veth}h" type veth peer name "${veth}p" netns "$peer" ||
	die "cannot create the veth pair"
ip -n "$host" addr add 198.18.1.1/24 dev "${veth}h"
ip -n "$peer" addr add "$peer_ip/24" dev "${veth}p"
ip -n "$host" link set "${veth}h" up
ip -n "$peer" link set "${veth}p" up

ip netns exec "$peer" "$SERVER" $port --bind "$peer_ip" >"$work/server" 2>&1 &
server=$!
ip netns exec "$host" "$RINGVISOR" run --stats \
	--net "tap,ifname=$tap,ip=$guest_ip/24,gw=198.18.0.1" "$guest" -- $port 600 \
	>"$work/guest" 2>"$work/launcher" &
launcher=$!
wait_for_link "$host" "$tap" 20 "$launcher" ||
	die "the launcher never created $tap: $(cat "$work/launcher")"
ip -n "$host" addr add 198.18.0.1/24 dev "$tap"
wait_for_text "$work/guest" "listening on" 20 "$launcher" || die "udp-echo never listened: $(cat "$work/guest")"
wait_for_text "$work/server" "listening on" 20 "$server" || die "udp_echo_server never listened"

# Warm up both paths (ARP, caches) before measuring.
for target in "$guest_ip" "$peer_ip"; do
	ip netns exec "$host" ping -c 3 -i 0.05 -W 2 "$target" >/dev/null ||
		die "no ping reply from $target"
done

# ping_runs TARGET NAME: RUNS runs; leaves one line "min avg max mdev" per run in $work/NAME.
ping_runs() {
	: >"$work/$2"
	for _ in $(seq "$runs"); do
		ip netns exec "$host" ping -q -c "$count" -i "$interval" -W 2 "$1" >"$work/ping" 2>&1 ||
			die "ping $1 failed: $(tail -n 2 "$work/ping")"
		sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\) ms$|\1 \2 \3 \4|p' \
			"$work/ping" >>"$work/$2"
	done
}

# rate_runs TARGET-IP NAME: RUNS transactions-per-second runs, one figure a line in $work/NAME.
rate_runs() {
	: >"$work/$2"
	for _ in $(seq "$runs"); do
		ip netns exec "$host" "$CLIENT" "$1" $port --sizes 64 --rate-test "$seconds" \
			--timeout-ms 1000 --allow-loss >"$work/rate" 2>&1 ||
			die "udp_echo_client to $1 failed: $(cat "$work/rate")"
		awk '$1 == "transactions_per_second" { print $2 }' "$work/rate" >>"$work/$2"
	done
}

echo "network_latency: $runs runs of $count pings every $interval s, and of $seconds s of UDP echo (64 bytes)"
ping_runs "$guest_ip" ping-guest
ping_runs "$peer_ip" ping-veth
rate_runs "$guest_ip" rate-guest
rate_runs "$peer_ip" rate-veth

column_median() {
	awk -v column="$2" '{ print $column }' "$work/$1" | median
}

row() {
	local name=$1 guest_value=$2 veth_value=$3 unit=$4
	awk -v name="$name" -v g="$guest_value" -v v="$veth_value" -v unit="$unit" 'BEGIN {
		ratio = v > 0 ? sprintf("%.2fx", g / v) : "-"
		printf "%-28s %12s %12s %10s\n", name " (" unit ")", g, v, ratio }'
}

echo
printf '%-28s %12s %12s %10s\n' "medians of $runs runs" "guest (TAP)" "veth" "guest/veth"
for stat in 1:min 2:avg 3:max 4:mdev; do
	column=${stat%%:*}
	name=${stat#*:}
	row "ping rtt $name" "$(column_median ping-guest "$column")" \
		"$(column_median ping-veth "$column")" ms
done
row "UDP echo transactions" "$(median <"$work/rate-guest")" "$(median <"$work/rate-veth")" "per s"

# Stop the guest and show what the NIC did for all of this.
ip netns exec "$host" "$CLIENT" "$guest_ip" $port --count 0 --quit >/dev/null 2>&1
deadline=$((SECONDS + 20))
while kill -0 "$launcher" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
wait "$launcher" 2>/dev/null
launcher=
echo
awk '$1 == "nic" { value[$3] = $4 } END {
	frames = value["receive_frames"] + value["transmit_frames"]
	printf "guest NIC: %d frames in, %d out; doorbells: %d receive, %d transmit; %d guest wakeups",
		value["receive_frames"], value["transmit_frames"], value["receive_doorbells"],
		value["transmit_doorbells"], value["guest_wakeups"]
	if (frames > 0) printf " (%.2f doorbells a frame)", (value["receive_doorbells"] + value["transmit_doorbells"]) / frames
	printf "\n" }' "$work/launcher"
