#!/usr/bin/env bash
# polling.sh: whether polling before sleeping (--poll) pays, workload by workload, against the
# same guests with --poll 0, interleaved (--poll 0, polling, --poll 0, polling ...), as ratios
# with their spread. Polling must never be slower than --poll 0 beyond the rounds' own noise:
#   rate test    64-byte UDP request/response for 1 s against a udp-echo guest started just
#                before, each round a new one (the poll windows start from nothing)
#   UDP echo     the same for --udp-seconds against a guest that has been running all along
#   ping         a ping every 10 ms, the average round trip
#   receive/send one TCP stream, a stock iperf3 to and from the iperf3 guest
# With --load, `stress-ng --cpu 1` keeps one core busy throughout: on 2 cores a poller then
# competes with the threads it waits for, where polling used to lose (ringvisor_poll.h).
#
# Every launcher runs in a namespace this script creates (rvp-PID) on 198.18.0.0/16 addresses;
# the trap removes it and every process on every exit path. Needs root, iproute2, iperf3, ping
# (and stress-ng for --load).
set -u
cd "$(dirname "$0")/.." || exit 1
bench_name=polling
. bench/lib.sh

rounds=5
seconds=3
pings=200
ping_interval=0.01
udp_seconds=2
poll=
load=0
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"
json=$BUILD/bench/polling.json
congestion=

usage() {
	cat <<EOF
usage: bench/polling.sh [--rounds N] [--seconds S] [--pings N] [--udp-seconds S]
                        [--poll USEC] [--load] [--json FILE]

Each workload against guests with --poll 0 and guests that poll, interleaved, as ratios.

  --rounds N          interleaved rounds of every workload (default $rounds)
  --seconds S         length of each iperf3 run (default $seconds)
  --pings N           pings every 10 ms per round (default $pings)
  --udp-seconds S     length of each UDP echo run on a running guest (default $udp_seconds)
  --poll USEC         the polling guests' --poll (default: the launcher's own default)
  --load              keep one core busy with stress-ng --cpu 1 throughout
  --json FILE         where every round goes (default $json)

Environment: BUILD (default build), RINGVISOR (default \$BUILD/ringvisor).
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--pings) pings=${2:?}; shift 2 ;;
	--udp-seconds) udp_seconds=${2:?}; shift 2 ;;
	--poll) poll=${2:?}; shift 2 ;;
	--load) load=1; shift ;;
	--json) json=${2:?}; shift 2 ;;
	*) echo "polling: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
bench_positive_numbers "$rounds" "$seconds" "$pings" "$udp_seconds" ${poll:+"$poll"}

echo_client=$(bench_tool udp_echo_client)
iperf3_guest=$BUILD/guests/iperf3.elf
echo_guest=$BUILD/guests/udp-echo.elf
for file in "$RINGVISOR" "$echo_client"; do
	[ -x "$file" ] || die "$file is missing (run make first)"
done
for file in "$iperf3_guest" "$echo_guest"; do
	[ -f "$file" ] || die "$file is missing (run make first)"
done
for command in iperf3 ping ip; do
	command -v $command >/dev/null || die "needs $command"
done
[ "$load" -eq 0 ] || command -v stress-ng >/dev/null || die "--load needs stress-ng"

host=rvp-$$
port=7777
work=$(mktemp -d /tmp/ringvisor-polling.XXXXXX)
bench_namespace "$host"

# The two systems: "baseline" runs with --poll 0, "ringvisor" polls.
poll_option() {
	if [ "$1" = baseline ]; then echo 0; else echo "${poll:-}"; fi
}

# start_guest SYSTEM INDEX GUEST ARGUMENTS...: a launcher behind TAP rvp-PID-INDEX, guest at
# 198.18.INDEX.2 and the host at .1; waits until the guest says it listens. $spawned.
start_guest() {
	local system=$1 index=$2 guest=$3 tap=rvp-$$-$2 option
	shift 3
	option=$(poll_option "$system")
	spawn "$host" "$work/guest-$index" "$RINGVISOR" run --mem 512M ${option:+--poll "$option"} \
		--net "tap,ifname=$tap,ip=198.18.$index.2/24,gw=198.18.$index.1" "$guest" -- "$@"
	wait_for_link "$host" "$tap" 20 "$spawned" ||
		die "guest $index never made its TAP: $(tail -n 3 "$work/guest-$index")"
	ip -n "$host" addr add "198.18.$index.1/24" dev "$tap"
	wait_for_text "$work/guest-$index" "listening" 20 "$spawned" ||
		die "guest $index never listened: $(tail -n 3 "$work/guest-$index")"
	in_ns "$host" ping -c 3 -i 0.05 -W 2 "198.18.$index.2" >/dev/null ||
		die "no ping reply from guest $index"
}

# Long-running guests, one of each kind per system: udp-echo at .10/.11, iperf3 at .20/.21.
stress=
if [ "$load" -eq 1 ]; then
	spawn "$host" "$work/stress" stress-ng --cpu 1 --quiet
	stress=$spawned
fi
start_guest baseline 10 "$echo_guest" $port 100000
start_guest ringvisor 11 "$echo_guest" $port 100000
start_guest baseline 20 "$iperf3_guest" -s
start_guest ringvisor 21 "$iperf3_guest" -s
index_of() { # SYSTEM BASE: the long-running guest's index
	if [ "$1" = baseline ]; then echo "$2"; else echo $(($2 + 1)); fi
}

# rate_test_on_a_new_guest SYSTEM: a udp-echo guest started for this alone (behind TAP 30 or
# 31, made again each round), 1 s of request/response from its first datagram, then asked to
# quit; the rate in $rate.
rate_test_on_a_new_guest() {
	local index
	index=$(index_of "$1" 30)
	start_guest "$1" "$index" "$echo_guest" $port 100000
	local launcher=$spawned
	rate=$(echo_rate "198.18.$index.2" 1)
	in_ns "$host" "$echo_client" "198.18.$index.2" $port --count 0 --quit --timeout-ms 1000 \
		>/dev/null 2>&1 || die "the rate test's guest did not quit"
	wait "$launcher"
}

# measure FIGURE SYSTEM: one measurement on the system's long-running guest, on stdout.
measure() {
	local echo_guest=198.18.$(index_of "$2" 10).2 iperf3_guest=198.18.$(index_of "$2" 20).2
	case $1 in
	udp_echo) echo_rate "$echo_guest" ;;
	ping) ping_average "$echo_guest" ;;
	receive) stock_iperf3 "$iperf3_guest" ;;
	send) stock_iperf3 "$iperf3_guest" -R ;;
	esac
}

: >"$work/rounds.tsv"
echo "polling: $rounds interleaved rounds, --poll 0 against ${poll:+--poll $poll}${poll:-the default polling};" \
	"iperf3 runs of $seconds s, $pings pings every $ping_interval s, $udp_seconds s of UDP echo;" \
	"$([ "$load" -eq 1 ] && echo "one core kept busy by stress-ng" || echo "no load")"
for round in $(seq "$rounds"); do
	for system in baseline ringvisor; do
		rate_test_on_a_new_guest "$system"
		record rate_test "$system" "$round" "$rate"
	done
	for figure in udp_echo ping receive send; do
		for system in baseline ringvisor; do
			record "$figure" "$system" "$round" "$(measure "$figure" "$system")"
		done
	done
	echo "polling: round $round of $rounds done" >&2
done

mkdir -p "$(dirname "$json")"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
options="polling: ${poll:+--poll $poll}${poll:-default}$([ "$load" -eq 1 ] && echo ", stress-ng --cpu 1")"
/usr/bin/python3 bench/near_native_report.py "$work/rounds.tsv" --figures polling --json "$json" \
	--cpu "$cpu" --cpus "$(nproc)" --options "$options" || die "the report failed"
