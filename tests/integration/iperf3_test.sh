#!/usr/bin/env bash
# iperf3 interoperability: the guest's iperf3 against the stock iperf3 (Debian's 3.12) on the
# host, both ways round, run by `make iperf3-tests`.
#
# Each test runs the launcher in a network namespace of its own (rvp-PID-N) behind a TAP on
# 198.18.N.0/24 (host .1, guest .2) and the stock iperf3 in that namespace. It checks that
# every run completes (exit 0 on both sides) and reports a non-zero rate; the rates themselves
# are a benchmark's business (bench/table), never a pass/fail bound here. The trap stops the
# launchers and deletes the namespaces on every exit path.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

: "${RINGVISOR:?set RINGVISOR to the launcher to test}"
: "${BUILD:=build}"
guest=$BUILD/guests/iperf3.elf
seconds=2


# start_guest ARGUMENTS...: the guest iperf3 with ARGUMENTS, behind the TAP; waits for the TAP
# and gives the host side its address. Its output: $stdout_file, $stderr_file; pid: $launcher.
start_guest() {
	: >"$stdout_file"
	: >"$stderr_file"
	ip netns exec "$ns" "$RINGVISOR" run --stats --mem 256M --net "$net" "$guest" -- "$@" \
		>"$stdout_file" 2>"$stderr_file" &
	launcher=$!
	processes+=("$launcher")
	wait_for_tap "$ns" "$ns" "$launcher" 20 || return 1
	ip -n "$ns" addr add "$host_ip/24" dev "$ns"
}

# wait_for_launcher SECONDS: waits for $launcher to exit and sets $status.
wait_for_launcher() {
	wait_for_exit "$launcher" "$1"
}

# expect_rate FILE: FILE has a receiver summary with a rate above zero.
expect_rate() {
	local line
	line=$(grep -E '(bits/sec|bits/s).*receiver' "$1" | tail -n 1)
	[ -n "$line" ] || { fail_check "no receiver summary in $(basename "$1")"; return; }
	grep -qE ' 0(\.0+)? [KMG]?bits/sec' <<<"$line" && fail_check "a zero rate: $line"
	printf '    %s\n' "$(sed 's/  */ /g' <<<"$line")"
}

# Stock client, guest server: the guest serves one test (-1) and exits.
stock_client_test() {
	new_namespace rvp 198.18 || return
	start_guest -s -1 || return
	wait_for_output "$stdout_file" "Server listening" 30 ||
		{ fail_check "the guest server never said it listens"; return 1; }
	timeout $((seconds + 60)) ip netns exec "$ns" iperf3 -c "$guest_ip" -t $seconds "$@" \
		>"$work_directory/client" 2>&1 ||
		fail_check "stock iperf3 -c $* failed: $(tail -n 3 "$work_directory/client")"
	expect_rate "$work_directory/client"
	wait_for_launcher 30
	expect_status 0
}

# Guest client, stock server (-1: one test).
guest_client_test() {
	new_namespace rvp 198.18 || return
	: >"$work_directory/server"
	ip netns exec "$ns" iperf3 -s -1 --forceflush >"$work_directory/server" 2>&1 &
	local server=$!
	processes+=("$server")
	wait_for_output "$work_directory/server" "Server listening" 30 ||
		{ fail_check "the stock server never said it listens"; return 1; }
	start_guest -c "$host_ip" -t $seconds "$@" || return
	wait_for_launcher 60
	expect_status 0
	expect_rate "$stdout_file"
	wait_for_exit "$server" 30
	[ "$status" -eq 0 ] ||
		fail_check "the stock server failed: $(tail -n 3 "$work_directory/server")"
}

# A bulk stream (64 KiB segments): the I/O thread sleeps between frames rather than poll, which
# would only take CPU from the host's sender (io_thread.c).
test_stock_client_sends() {
	stock_client_test || return
	local skipped
	skipped=$(awk '$1 == "poll" && $2 == "io" && $3 == "skipped_bulk" { print $4 }' "$stderr_file")
	[ "${skipped:-0}" -gt 0 ] || fail_check "the I/O thread never saw the traffic as bulk"
}
test_stock_client_receives() { stock_client_test -R; }
test_stock_client_four_streams() { stock_client_test -P 4; }
test_stock_client_udp() { stock_client_test -u -b 100M; }
test_guest_client_sends() { guest_client_test; }
test_guest_client_receives() { guest_client_test -R; }
test_guest_client_four_streams() { guest_client_test -P 4; }
test_guest_client_udp() { guest_client_test -u -b 100M; }

iperf3_test() {
	run_test "$1" "$2"
	teardown
}

iperf3_test "stock client -> guest server" test_stock_client_sends
iperf3_test "stock client -R (guest sends)" test_stock_client_receives
iperf3_test "stock client -P 4" test_stock_client_four_streams
iperf3_test "stock client -u -b 100M" test_stock_client_udp
iperf3_test "guest client -> stock server" test_guest_client_sends
iperf3_test "guest client -R (host sends)" test_guest_client_receives
iperf3_test "guest client -P 4" test_guest_client_four_streams
iperf3_test "guest client -u -b 100M" test_guest_client_udp
summary
