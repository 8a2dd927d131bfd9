# bench/lib.sh: what the network benchmarks share (sourced by near_native.sh and polling.sh).
#
# The caller sets, before sourcing: bench_name (the prefix of its messages), BUILD, and then
# `host` (the namespace its clients run in), `work` (a directory of its own), `seconds`,
# `pings`, `ping_interval`, `udp_seconds`, `port` and `congestion` before it measures. Every
# process started with spawn and every namespace made with bench_namespace is removed by the
# trap this file sets, on every exit path; the work directory with them.
. tools/shell_helpers.sh

processes=()
bench_namespaces=()
work=

bench_cleanup() {
	local pid namespace
	for pid in "${processes[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	for pid in "${processes[@]}"; do wait "$pid" 2>/dev/null; done
	for namespace in "${bench_namespaces[@]}"; do ip netns del "$namespace" 2>/dev/null; done
	[ -z "$work" ] || rm -rf "$work"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "$bench_name: $*" >&2
	exit 1
}

# bench_positive_numbers VALUE...: exits with status 2 and a message unless each is a whole
# number of 1 or more (an option's value).
bench_positive_numbers() {
	local number
	for number; do
		[[ $number =~ ^[1-9][0-9]*$ ]] ||
			{ echo "$bench_name: '$number' is not a positive whole number" >&2; exit 2; }
	done
}

# bench_namespace NAME: a namespace of the benchmark's own, removed on exit.
bench_namespace() {
	bench_namespaces+=("$1")
	namespace_create "$1" || die "cannot create namespace $1"
}

# bench_tool NAME: the benchmark's build of a host tool if there is one, else the tests'.
bench_tool() {
	if [ -x "$BUILD/bench/$1" ]; then echo "$BUILD/bench/$1"; else echo "$BUILD/tests/$1"; fi
}

# in_ns NAMESPACE COMMAND...
in_ns() {
	local namespace=$1
	shift
	ip netns exec "$namespace" "$@"
}

# spawn NAMESPACE OUTPUT COMMAND...: in the background, remembered for the cleanup; $spawned.
spawn() {
	local namespace=$1 output=$2
	shift 2
	ip netns exec "$namespace" "$@" >"$output" 2>&1 &
	spawned=$!
	processes+=("$spawned")
}

# receiver_gbits FILE: the receiver's rate in an iperf3 report (stock or the guest's), Gbit/s.
receiver_gbits() {
	awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") rate = $(i - 1) / 1000
		else if ($i == "Gbits/sec") rate = $(i - 1) }
		END { if (rate == "") exit 1; printf "%.3f\n", rate }' "$1"
}

# stock_iperf3 TARGET [ARGUMENTS...]: a stock client in the host namespace; Gbit/s.
stock_iperf3() {
	local target=$1
	shift
	timeout $((seconds + 30)) ip netns exec "$host" iperf3 -c "$target" -t "$seconds" -f m \
		${congestion:+-C "$congestion"} "$@" \
		>"$work/client" 2>&1 || die "iperf3 -c $target $* failed: $(tail -n 2 "$work/client")"
	receiver_gbits "$work/client" || die "no receiver rate from iperf3 -c $target $*"
}

# ping_average TARGET: the average round trip of $pings pings, in milliseconds.
ping_average() {
	in_ns "$host" ping -q -c "$pings" -i "$ping_interval" -W 2 "$1" >"$work/ping" 2>&1 ||
		die "ping $1 failed: $(tail -n 2 "$work/ping")"
	sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$work/ping"
}

# echo_rate TARGET [SECONDS]: UDP echo transactions a second, 64 bytes, one outstanding.
echo_rate() {
	in_ns "$host" "$echo_client" "$1" $port --sizes 64 --rate-test "${2:-$udp_seconds}" \
		--timeout-ms 1000 --allow-loss >"$work/rate" 2>&1 ||
		die "udp_echo_client to $1 failed: $(cat "$work/rate")"
	awk '$1 == "transactions_per_second" { print $2 }' "$work/rate"
}

# record FIGURE SYSTEM ROUND VALUE: one measurement, into $work/rounds.tsv for the report.
record() {
	[ -n "$4" ] || die "no value for $1 ($2, round $3)"
	printf '%s\t%s\t%s\t%s\n' "$@" >>"$work/rounds.tsv"
}
