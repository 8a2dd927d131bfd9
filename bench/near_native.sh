#!/usr/bin/env bash
# near_native.sh: how close the guest's networking comes to the host's own, figure by figure.
#
# Each figure is Ringvisor's path beside the host kernel doing the same thing, measured in one
# run and interleaved (baseline, Ringvisor, baseline, Ringvisor ...), so that whatever disturbs
# a 2-core machine disturbs both alike:
#   guest receives   a stock iperf3 client -> the iperf3 guest through its TAP (no bridge),
#                    beside iperf3 between two namespaces joined by a veth pair
#   guest sends      the same with -R (the guest sends), beside veth with -R
#   guest to guest   one iperf3 guest to another over a share switch, beside iperf3 on the
#                    host's loopback
#   ping             host -> guest through a TAP, beside host -> namespace over the veth
#   UDP echo         64-byte request/response transactions a second, one outstanding, to the
#                    udp-echo guest, beside tests/tools/udp_echo_server across the veth
# bench/near_native_report.py prints the medians, the spread and each ratio against its target
# (from the issue that set them), and writes every round to a JSON file.
#
# Everything runs in namespaces this script creates (rvn-PID-host: the TAPs, the clients, one
# end of the veth, the share guests; rvn-PID-peer: the other end and the baseline servers) on
# 198.18.0.0/16 addresses; the trap removes them, and every process, on every exit path.
# Needs root, iproute2, iperf3 and ping.
set -u
cd "$(dirname "$0")/.." || exit 1
bench_name=near_native
. bench/lib.sh

rounds=5
seconds=3
pings=200
ping_interval=0.01
udp_seconds=2
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"
json=$BUILD/bench/near_native.json
congestion=
launcher_options=()

usage() {
	cat <<EOF
usage: bench/near_native.sh [--rounds N] [--seconds S] [--pings N] [--ping-interval S]
                            [--udp-seconds S] [--congestion ALGORITHM] [--json FILE]
                            [-- LAUNCHER-OPTIONS...]

Guest receives, guest sends, guest to guest, ping and UDP echo, each beside the host's own
figure, interleaved, as ratios with their spread.

  --rounds N          interleaved rounds of every figure (default $rounds)
  --seconds S         length of each iperf3 run (default $seconds)
  --pings N           pings per round (default $pings)
  --ping-interval S   seconds between pings (default $ping_interval)
  --udp-seconds S     length of each UDP echo run (default $udp_seconds)
  --congestion ALGO   the host's senders use ALGO (iperf3 -C; default: the host's own,
                      $(sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null))
  --json FILE         where every round goes (default $json)
  -- OPTIONS          passed to every launcher (for instance: -- --poll 0)

Environment: BUILD (default build), RINGVISOR (default \$BUILD/ringvisor).
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--pings) pings=${2:?}; shift 2 ;;
	--ping-interval) ping_interval=${2:?}; shift 2 ;;
	--udp-seconds) udp_seconds=${2:?}; shift 2 ;;
	--json) json=${2:?}; shift 2 ;;
	--congestion) congestion=${2:?}; shift 2 ;;
	--) shift; launcher_options=("$@"); break ;;
	*) echo "near_native: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
bench_positive_numbers "$rounds" "$seconds" "$pings" "$udp_seconds"

echo_client=$(bench_tool udp_echo_client)
echo_server=$(bench_tool udp_echo_server)
iperf3_guest=$BUILD/guests/iperf3.elf
echo_guest=$BUILD/guests/udp-echo.elf
for file in "$RINGVISOR" "$echo_client" "$echo_server"; do
	[ -x "$file" ] || { echo "near_native: $file is missing (run make first)" >&2; exit 1; }
done
for file in "$iperf3_guest" "$echo_guest"; do
	[ -f "$file" ] || { echo "near_native: $file is missing (run make first)" >&2; exit 1; }
done
for command in iperf3 ping ip; do
	command -v $command >/dev/null || { echo "near_native: needs $command" >&2; exit 1; }
done

host=rvn-$$-host
peer=rvn-$$-peer
veth=rvn-$$-v
iperf3_tap=rvn-$$-t0
echo_tap=rvn-$$-t1
switch=rvn-$$
port=7777
work=$(mktemp -d /tmp/ringvisor-near-native.XXXXXX)

# ---- the topology ---------------------------------------------------------------------------

for namespace in "$host" "$peer"; do
	bench_namespace "$namespace"
done
ip -n "$host" link add "${veth}h" type veth peer name "${veth}p" netns "$peer" ||
	die "cannot create the veth pair"
ip -n "$host" addr add 198.18.1.1/24 dev "${veth}h"
ip -n "$peer" addr add 198.18.1.2/24 dev "${veth}p"
ip -n "$host" link set "${veth}h" up
ip -n "$peer" link set "${veth}p" up

spawn "$peer" "$work/peer-iperf3" iperf3 -s -B 198.18.1.2
spawn "$host" "$work/loopback-iperf3" iperf3 -s -B 127.0.0.1
spawn "$peer" "$work/peer-echo" "$echo_server" $port --bind 198.18.1.2

# start_guest NAME OUTPUT NET GUEST ARGUMENTS...: a launcher in the host namespace; $spawned.
start_guest() {
	local output=$2 net=$3 guest=$4
	shift 4
	spawn "$host" "$output" "$RINGVISOR" run --mem 512M "${launcher_options[@]}" --net "$net" \
		"$guest" -- "$@"
}

start_guest iperf3 "$work/guest-iperf3" "tap,ifname=$iperf3_tap,ip=198.18.0.2/24,gw=198.18.0.1" \
	"$iperf3_guest" -s
iperf3_launcher=$spawned
start_guest echo "$work/guest-echo" "tap,ifname=$echo_tap,ip=198.18.3.2/24,gw=198.18.3.1" \
	"$echo_guest" $port 100000
echo_launcher=$spawned
start_guest share "$work/share-server" "share,name=$switch,ip=198.18.2.1/24" "$iperf3_guest" -s
share_launcher=$spawned

wait_for_link "$host" "$iperf3_tap" 20 "$iperf3_launcher" ||
	die "the iperf3 guest never made its TAP: $(tail -n 3 "$work/guest-iperf3")"
wait_for_link "$host" "$echo_tap" 20 "$echo_launcher" ||
	die "the udp-echo guest never made its TAP: $(tail -n 3 "$work/guest-echo")"
ip -n "$host" addr add 198.18.0.1/24 dev "$iperf3_tap"
ip -n "$host" addr add 198.18.3.1/24 dev "$echo_tap"
wait_for_text "$work/guest-iperf3" "Server listening" 20 "$iperf3_launcher" ||
	die "the iperf3 guest never listened: $(tail -n 3 "$work/guest-iperf3")"
wait_for_text "$work/guest-echo" "listening on" 20 "$echo_launcher" ||
	die "the udp-echo guest never listened: $(tail -n 3 "$work/guest-echo")"
wait_for_text "$work/share-server" "Server listening" 20 "$share_launcher" ||
	die "the share server guest never listened: $(tail -n 3 "$work/share-server")"
wait_for_text "$work/peer-echo" "listening on" 20 || die "udp_echo_server never listened"
for target in 198.18.0.2 198.18.3.2 198.18.1.2; do # ARP, and a first look that all is up
	in_ns "$host" ping -c 3 -i 0.05 -W 2 "$target" >/dev/null || die "no ping reply from $target"
done

# ---- one measurement of each kind, as a number on stdout (the others: bench/lib.sh) ----------

# share_iperf3: a guest client on the switch to the server guest on it.
share_iperf3() {
	timeout $((seconds + 30)) ip netns exec "$host" "$RINGVISOR" run --mem 512M \
		"${launcher_options[@]}" --net "share,name=$switch,ip=198.18.2.2/24" "$iperf3_guest" \
		-- -c 198.18.2.1 -t "$seconds" >"$work/client" 2>&1 ||
		die "the share client guest failed: $(tail -n 3 "$work/client")"
	receiver_gbits "$work/client" || die "no receiver rate from the share client guest"
}

# ---- the rounds: baseline, Ringvisor, for every figure, ROUNDS times -------------------------

rows=$work/rounds.tsv
: >"$rows"

echo "near_native: $rounds interleaved rounds; iperf3 runs of $seconds s (one TCP stream," \
	"host senders on ${congestion:-$(sysctl -n net.ipv4.tcp_congestion_control)})," \
	"$pings pings every $ping_interval s, $udp_seconds s of UDP echo;" \
	"launcher options: ${launcher_options[*]:-none}"
for round in $(seq "$rounds"); do
	record receive baseline "$round" "$(stock_iperf3 198.18.1.2)"
	record receive ringvisor "$round" "$(stock_iperf3 198.18.0.2)"
	record send baseline "$round" "$(stock_iperf3 198.18.1.2 -R)"
	record send ringvisor "$round" "$(stock_iperf3 198.18.0.2 -R)"
	record share baseline "$round" "$(stock_iperf3 127.0.0.1)"
	record share ringvisor "$round" "$(share_iperf3)"
	record ping baseline "$round" "$(ping_average 198.18.1.2)"
	record ping ringvisor "$round" "$(ping_average 198.18.0.2)"
	record udp_echo baseline "$round" "$(echo_rate 198.18.1.2)"
	record udp_echo ringvisor "$round" "$(echo_rate 198.18.3.2)"
	echo "near_native: round $round of $rounds done" >&2
done

mkdir -p "$(dirname "$json")"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
/usr/bin/python3 bench/near_native_report.py "$rows" --json "$json" --cpu "$cpu" \
	--cpus "$(nproc)" --options "${launcher_options[*]:-}" ||
	die "the report failed"
