#!/usr/bin/env bash
# TCP tests: the guest's TCP end to end against the host's, on real TAP devices, run by
# `make tcp-tests`.
#
# Needs: root (namespaces, TAPs, veth), iproute2; RINGVISOR (the launcher to test; make passes
# the sanitized build); BUILD (the build directory with tests/guests/tcp-check.elf,
# guests/tcp-echo.elf and tests/tcp_check_host).
#
# The guest runs tests/guests/tcp-check or apps/tcp-echo; the host runs tests/tools/
# tcp_check_host, the same checker over plain sockets: every byte of every stream is a function
# of its offset (tests/guests/tcp-check/tcp_check_pattern.h) and is checked by the receiver, so a lost,
# duplicated, misplaced or damaged byte fails the test at that byte.
#
# Every test gets a network namespace of its own (rvtcp-PID-N) holding a persistent TAP of the
# same name that the test creates, with the host's address on it, before the launcher attaches
# to it: so a guest that connects at once finds the host ready (no ARP or SYN retry by luck of
# timing). Addresses are 198.19.N.0/24 (host .1, guest .2), inside 198.18.0.0/15; IPv6 is off in
# the namespaces. Nothing waits by sleeping: the script waits for output lines and for process
# exits, each with a deadline, and the tools have their own timeouts. On every exit path the
# trap kills what this script started and deletes its namespaces (with their TAPs and veths).
#
# Sizes: 64 MiB each way and per seed, loss=0.05 included (150 s limit; about 20 s guest ->
# host, where 5% of 64 KiB frames lost still costs some retransmission timeouts). That takes
# the guest's SACK blocks (Linux resends a lost frame's segments in one round trip), its
# SACK-based recovery, and its tail loss probe (a window sent as one lost frame shows no hole
# otherwise); before them, 8 MiB host -> guest stalled past 120 s in one run in four. 16 MiB
# for corruption without TSO, where the small guest moves 50-400 Mbit/s. The whole script
# takes about three minutes.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

: "${RINGVISOR:?set RINGVISOR to the launcher to test}"
: "${BUILD:=build}"
tcp_check=$BUILD/tests/guests/tcp-check.elf
tcp_echo=$BUILD/guests/tcp-echo.elf
host_check=$BUILD/tests/tcp_check_host
port=5000
guest_mac=02:00:c6:13:00:02
guest_memory=256M
big=$((64 << 20))

: >"$stdout_file"
: >"$stderr_file"
host_output=$work_directory/host
listener_output=$work_directory/listener

for file in "$tcp_check" "$tcp_echo" "$host_check"; do
	[ -e "$file" ] || { echo "tcp_test: $file is missing (make builds it)"; exit 1; }
done
command -v ip >/dev/null || { echo "tcp_test: needs 'ip' (iproute2)"; exit 1; }

# start_guest READY-TEXT LAUNCHER-ARGUMENTS...: starts the launcher in $ns in the background
# ($launcher; output in $stdout_file and $stderr_file) and waits for READY-TEXT on its stdout.
start_guest() {
	local ready=$1
	shift
	: >"$stdout_file"
	: >"$stderr_file"
	ip netns exec "$ns" "$RINGVISOR" "$@" >"$stdout_file" 2>"$stderr_file" &
	launcher=$!
	processes+=("$launcher")
	if ! wait_for_output "$stdout_file" "$ready" 30; then
		fail_check "the guest never said '$ready'"
		return 1
	fi
}

wait_for_launcher() {
	wait_for_exit "$launcher" "$1"
	launcher_status=$status
}

# run_host SECONDS ARGUMENTS...: runs tcp_check_host in $ns, output in $host_output, status in
# $host_status.
run_host() {
	local seconds=$1
	shift
	timeout -s KILL "$((seconds + 10))" ip netns exec "$ns" "$host_check" "$@" \
		>"$host_output" 2>&1
	host_status=$?
}

# start_host_listener ARGUMENTS...: tcp_check_host listen ... in the background ($host_pid,
# output in $listener_output), once it says it is listening.
start_host_listener() {
	: >"$listener_output"
	ip netns exec "$ns" "$host_check" listen "$@" >"$listener_output" 2>&1 &
	host_pid=$!
	processes+=("$host_pid")
	wait_for_output "$listener_output" "tcp_check_host: listening on" 10 ||
		{ fail_check "tcp_check_host never listened: $(cat "$listener_output")"; return 1; }
}

# wait_for_host_listener SECONDS: waits for it; its status and output become the host side's.
wait_for_host_listener() {
	wait_for_exit "$host_pid" "$1"
	host_status=$status
	cp "$listener_output" "$host_output"
}

expect_host_ok() {
	[ "$host_status" -eq 0 ] && grep -q "^tcp_check_host: OK" "$host_output" ||
		fail_check "host side (status $host_status): $(grep -v '^ *$' "$host_output" |
			head -n 5 | tr '\n' ' ')"
}

expect_guest_ok() {
	[ "$launcher_status" -eq 0 ] || fail_check "expected the guest to exit 0, got $launcher_status"
	grep -q "^$1: OK" "$stdout_file" || grep -q "^$1: [0-9]* connections" "$stdout_file" ||
		fail_check "guest: $(grep -m 1 "^$1: FAILED" "$stdout_file")"
}

# expect_heap_unchanged PROGRAM: its "heap live_allocations/used_bytes before B after A" lines
# say A == B: every connection's memory came back.
expect_heap_unchanged() {
	local what line before after
	for what in live_allocations used_bytes; do
		line=$(grep -m 1 "^$1: heap $what before " "$stdout_file")
		before=$(awk '{ print $5 }' <<<"$line")
		after=$(awk '{ print $7 }' <<<"$line")
		[ -n "$before" ] && [ "$before" = "$after" ] ||
			fail_check "the guest heap did not come back: '${line:-no heap $what line}'"
	done
}

# counter FILE NAME: the value of "nic $ns NAME VALUE" in FILE, 0 if absent (the guest prints
# only nonzero counters; --stats prints the launcher's on stderr).
counter() {
	awk -v nic="$ns" -v name="$2" '$1 == "nic" && $2 == nic && $3 == name { value = $4 }
		END { print value + 0 }' "$1"
}

# host_snmp FIELD: the namespace's /proc/net/snmp Tcp or Ip counter (e.g. Tcp InCsumErrors).
host_snmp() {
	in_ns awk -v group="$1:" -v field="$2" '$1 == group {
			if (!names) { for (i = 2; i <= NF; i++) index_of[$i] = i; names = 1 }
			else { print $(index_of[field]); exit } }' /proc/net/snmp
}

note() {
	printf '    %s\n' "$*"
}

# ---- the host checker alone ----------------------------------------------------------------

# The host twin against itself over a veth pair: the pattern, the options and the endings agree
# with each other before they are used to judge the guest.
test_host_checker_over_veth() {
	local a=rvtcp-$$-a b=rvtcp-$$-b
	make_namespace "$a" && make_namespace "$b" || return
	ip link add "$a" netns "$a" type veth peer name "$b" netns "$b" &&
		ip -n "$a" addr add 198.19.0.1/24 dev "$a" && ip -n "$a" link set "$a" up &&
		ip -n "$b" addr add 198.19.0.2/24 dev "$b" && ip -n "$b" link set "$b" up ||
		{ fail_check "cannot set up the veth pair"; return; }
	local case listener_arguments connect_arguments
	while IFS='|' read -r case listener_arguments connect_arguments; do
		ns=$b
		start_host_listener $listener_arguments || return
		ns=$a
		run_host 30 connect 198.19.0.2 $connect_arguments
		expect_host_ok
		note "$case: $(grep -m 1 OK "$host_output" | sed 's/^tcp_check_host: //')"
		wait_for_host_listener 30
		expect_host_ok
	done <<-EOF
		64 MiB a->b|$port receive $big timeout 30|$port send $big timeout 30
		64 MiB b->a|$port send $big timeout 30|$port receive $big timeout 30
		half-close|$port send 1048576 timeout 30|$port receive 1048576 half-close timeout 30
		200 cycles|$port receive 1024 cycles 200 timeout 30|$port send 1024 cycles 200 timeout 30
		64 concurrent|$port send 65536 concurrent 64 timeout 30|$port receive 65536 concurrent 64 timeout 30
	EOF
	# A wrong byte is caught: the sender's pattern against the receiver's, one byte off.
	ns=$b
	start_host_listener $port receive 1000 timeout 30 || return
	ns=$a
	run_host 30 connect 198.19.0.2 $port send 1001 timeout 30
	wait_for_host_listener 30
	[ "$host_status" -eq 1 ] &&
		grep -q "FAILED at byte 1000: more bytes than were sent" "$host_output" ||
		fail_check "an extra byte was not caught: $(cat "$host_output")"
}

# ---- bulk transfers, with and without faults ----------------------------------------------

# transfer DIRECTION BYTES SECONDS [FAULTS [MEMORY]]: BYTES through one connection, to-guest
# (host connects and sends) or to-host (guest connects and sends), checked on both ends; the
# guest's heap must be back where it was. FAULTS is appended to --net (",loss=0.01,seed=1").
transfer() {
	local direction=$1 bytes=$2 seconds=$3 faults=${4:-} memory=${5:-$guest_memory}
	new_namespace rvtcp 198.19 tap || return 1
	if [ "$direction" = to-guest ]; then
		start_guest "tcp-check: listening on" run --mem "$memory" --stats --net "$net$faults" \
			"$tcp_check" -- listen $port receive "$bytes" timeout "$seconds" || return 1
		run_host "$seconds" connect "$guest_ip" $port send "$bytes" timeout "$seconds"
	else
		start_host_listener $port receive "$bytes" timeout "$seconds" || return 1
		start_guest "tcp-check: connecting to" run --mem "$memory" --stats --net "$net$faults" \
			"$tcp_check" -- connect "$host_ip" $port send "$bytes" timeout "$seconds" ||
			return 1
		wait_for_host_listener $((seconds + 10))
	fi
	wait_for_launcher $((seconds + 20))
	expect_host_ok
	expect_guest_ok tcp-check
	expect_heap_unchanged tcp-check
	expect_no_sanitizer_report "$host_output"
	note "$direction: $(grep -m 1 '^tcp-check: OK' "$stdout_file" | sed 's/^tcp-check: //')," \
		"host retransmits $(awk '/retransmits/ { print $3 }' "$host_output")," \
		"guest $(grep -m 1 '^tcp-check: tcp ' "$stdout_file" | grep -o 'retransmits.*')"
}

test_64_mib_to_guest() {
	transfer to-guest $big 60
}

test_64_mib_to_host() {
	transfer to-host $big 60
}

# fault_cases FAULTS BYTES SECONDS CHECK SEEDS: each seed, both directions; CHECK (a function)
# then looks at the counters of each run.
fault_cases() {
	local faults=$1 bytes=$2 seconds=$3 check=$4 seeds=$5 seed direction
	for seed in $seeds; do
		for direction in to-guest to-host; do
			transfer $direction "$bytes" "$seconds" ",$faults,seed=$seed" || return
			note "  seed $seed: injected losses $(counter "$stderr_file" injected_losses)" \
				"duplicates $(counter "$stderr_file" injected_duplicates)" \
				"reorders $(counter "$stderr_file" injected_reorders)" \
				"corruptions $(counter "$stderr_file" injected_corruptions)"
			$check
			teardown
		done
	done
}

check_losses() {
	[ "$(counter "$stderr_file" injected_losses)" -gt 0 ] || fail_check "no frame was lost"
}

check_reorders_and_duplicates() {
	[ "$(counter "$stderr_file" injected_reorders)" -gt 0 ] &&
		[ "$(counter "$stderr_file" injected_duplicates)" -gt 0 ] ||
		fail_check "no frame was reordered or duplicated"
}

# Corruption must have happened and been dropped by a checksum somewhere: the guest's counters
# (IPv4 header, TCP; a flipped MAC or EtherType is dropped before them) or the host's.
check_corruptions() {
	local injected guest_caught host_caught
	injected=$(counter "$stderr_file" injected_corruptions)
	guest_caught=$(($(counter "$stdout_file" tcp_bad_checksum) + \
		$(counter "$stdout_file" ipv4_bad_checksum)))
	host_caught=$(($(host_snmp Tcp InCsumErrors) + $(host_snmp Ip InHdrErrors)))
	note "  corruptions injected $injected; caught by checksums: guest $guest_caught," \
		"host $host_caught"
	[ "$injected" -gt 0 ] || fail_check "no frame was corrupted"
	[ $((guest_caught + host_caught)) -gt 0 ] || fail_check "no checksum caught a corruption"
}

test_loss_1_percent() {
	fault_cases loss=0.01 $big 120 check_losses "1 2"
}

# The full 64 MiB each way at loss=0.05: host -> guest, the guest's SACK blocks let Linux
# resend a lost frame's segments in one round trip; guest -> host, our SACK recovery and tail
# loss probe find holes without waiting for the retransmission timer.
test_loss_5_percent_64_mib() {
	fault_cases loss=0.05 $big 150 check_losses "1 2"
}

test_reorder_and_duplicate() {
	fault_cases reorder=0.05,dup=0.05 $big 120 check_reorders_and_duplicates "1 2 3"
}

test_corruption() {
	fault_cases corrupt=0.01 $big 120 check_corruptions "1 2 3"
}

# The launcher corrupts no GSO frame (their checksums are computed after it), and with TSO most
# data travels in them; a guest under 32 MiB takes no TSO, so every data frame can be hit.
test_corruption_without_tso() {
	local seed direction
	for seed in 1 2 3; do
		for direction in to-guest to-host; do
			transfer $direction $((16 << 20)) 120 ",corrupt=0.01,seed=$seed" 24M || return
			check_corruptions
			teardown
		done
	done
}

# ---- lifecycle -----------------------------------------------------------------------------

# lifecycle DIRECTION BYTES CYCLES CONCURRENT [MEMORY [FAULTS]]: many connections (at most
# CONCURRENT at a time); the guest heap must end where it started.
lifecycle() {
	local direction=$1 bytes=$2 cycles=$3 concurrent=$4 memory=${5:-$guest_memory} faults=${6:-}
	local seconds=120
	new_namespace rvtcp 198.19 tap || return 1
	local options="cycles $cycles concurrent $concurrent timeout $seconds"
	if [ "$direction" = to-guest ]; then
		start_guest "tcp-check: listening on" run --mem "$memory" --stats --net "$net$faults" \
			"$tcp_check" -- listen $port receive "$bytes" $options || return 1
		run_host $seconds connect "$guest_ip" $port send "$bytes" $options
	else
		start_host_listener $port receive "$bytes" $options || return 1
		start_guest "tcp-check: connecting to" run --mem "$memory" --stats --net "$net$faults" \
			"$tcp_check" -- connect "$host_ip" $port send "$bytes" $options || return 1
		wait_for_host_listener $((seconds + 10))
	fi
	wait_for_launcher $((seconds + 20))
	expect_host_ok
	expect_guest_ok tcp-check
	expect_heap_unchanged tcp-check
	expect_no_sanitizer_report "$host_output"
	note "$direction: $(grep -m 1 '^tcp-check: OK' "$stdout_file" | sed 's/^tcp-check: //');" \
		"$(grep -m 1 '^tcp-check: heap live_allocations' "$stdout_file" | sed 's/^tcp-check: //')"
}

test_1000_cycles_guest_accepts() {
	lifecycle to-guest 1024 1000 1
}

test_1000_cycles_guest_connects() {
	lifecycle to-host 1024 1000 1
}

# The guest's TCP buffers are 1/128 of its RAM each way (network.c, 128 KiB to 4 MiB), so a
# connection costs 1/64 of RAM below 512 MiB: 64 of them need 1 GiB (4 MiB buffers each way).
concurrent_memory=1G

test_64_concurrent_guest_accepts() {
	lifecycle to-guest 1048576 1 64 $concurrent_memory
}

test_64_concurrent_guest_connects() {
	lifecycle to-host 1048576 1 64 $concurrent_memory
}

# Handshakes, FINs and resets lost, duplicated and reordered too: every connection still ends,
# and ends freed (a lost FIN of the guest's LAST_ACK is sent again, and so on).
test_lifecycle_under_faults() {
	local faults=,loss=0.02,dup=0.02,reorder=0.02,seed=5
	lifecycle to-guest 1024 100 1 $guest_memory $faults || return
	lifecycle to-host 1024 100 1 $guest_memory $faults || return
	lifecycle to-guest 262144 1 16 $concurrent_memory $faults || return
	lifecycle to-host 262144 1 16 $concurrent_memory $faults
}

# ---- resets and half-close -----------------------------------------------------------------

# start_echo: tcp-echo in a new namespace.
start_echo() {
	new_namespace rvtcp 198.19 tap || return 1
	start_guest "tcp-echo: listening on" run --mem $guest_memory --stats --net "$net" \
		"$tcp_echo" -- $port
}

# quit_echo: asks tcp-echo to exit and checks how it ended: status 0, heap back.
quit_echo() {
	run_host 20 connect "$guest_ip" $port quit timeout 10
	[ "$host_status" -eq 0 ] || fail_check "tcp-echo did not answer !quit: $(cat "$host_output")"
	wait_for_launcher 30
	[ "$launcher_status" -eq 0 ] || fail_check "tcp-echo exited $launcher_status"
	expect_heap_unchanged tcp-echo
	expect_no_sanitizer_report "$host_output"
}

test_echo_many_connections() {
	start_echo || return
	run_host 60 connect "$guest_ip" $port echo 4194304 concurrent 16 timeout 60
	expect_host_ok
	note "16 x 4 MiB echoed: $(grep -m 1 OK "$host_output" | sed 's/^tcp_check_host: //')"
	quit_echo
	note "guest: frames the NIC refused (transmit ring full) $(counter "$stdout_file" \
		transmit_failed), TCP segments retransmitted $(counter "$stdout_file" tcp_retransmitted)"
	grep -q "^tcp-echo: 17 connections (16 finished), 67108864 bytes echoed, 0 reset" \
		"$stdout_file" || fail_check "tcp-echo: $(grep -m 1 'connections' "$stdout_file")"
}

test_connect_to_closed_port_is_refused() {
	start_echo || return
	run_host 20 connect "$guest_ip" $((port + 1)) send 1 expect-refused timeout 10
	[ "$host_status" -eq 0 ] && grep -q "connection refused, as expected" "$host_output" ||
		fail_check "connect to a closed port: $(cat "$host_output")"
	# The guest still serves its open port.
	run_host 20 connect "$guest_ip" $port echo 65536 timeout 10
	expect_host_ok
	quit_echo
	[ "$(counter "$stdout_file" tcp_resets_sent)" -ge 1 ] ||
		fail_check "the guest counted no reset sent"
	[ "$(counter "$stdout_file" tcp_no_connection)" -ge 1 ] ||
		fail_check "the guest counted no segment for no connection"
}

# The host resets (SO_LINGER 0) its connections: one idle after a full echo, then 8 at once in
# the middle of a 4 MiB echo (data on its way both ways). The guest must see each reset, drop
# the connection, free it, and go on serving.
test_abortive_close_resets_the_guest() {
	start_echo || return
	run_host 20 connect "$guest_ip" $port echo 1024 abort timeout 10
	[ "$host_status" -eq 0 ] || fail_check "echo, then reset: $(cat "$host_output")"
	wait_for_output "$stdout_file" "tcp-echo: connection 1 reset by the peer after 1024 bytes" 10 ||
		fail_check "the guest did not report the reset of connection 1"
	run_host 20 connect "$guest_ip" $port echo 4194304 abort-at 2097152 concurrent 8 timeout 10
	[ "$host_status" -eq 0 ] || fail_check "reset in the middle: $(cat "$host_output")"
	# Still serving, and every reset connection gone.
	run_host 30 connect "$guest_ip" $port echo 1048576 concurrent 4 timeout 30
	expect_host_ok
	quit_echo
	local resets
	resets=$(sed -n 's/^tcp-echo: .* \([0-9]*\) reset by the peer, .*/\1/p' "$stdout_file")
	note "$(grep -m 1 'connections (' "$stdout_file" | sed 's/^tcp-echo: //')"
	[ "${resets:-0}" -eq 9 ] || fail_check "the guest saw ${resets:-no} resets, expected 9"
	[ "$(counter "$stdout_file" tcp_resets_received)" -ge 9 ] ||
		fail_check "tcp_resets_received is $(counter "$stdout_file" tcp_resets_received)"
}

# The host shuts down its side as soon as it is connected; the guest must still send all its
# data, then close; the host checks every byte and the FIN after them.
test_half_close() {
	new_namespace rvtcp 198.19 tap || return
	start_guest "tcp-check: listening on" run --mem $guest_memory --net "$net" "$tcp_check" \
		-- listen $port send 16777216 timeout 60 || return
	run_host 60 connect "$guest_ip" $port receive 16777216 half-close timeout 60
	wait_for_launcher 80
	expect_host_ok
	expect_guest_ok tcp-check
	expect_heap_unchanged tcp-check
	expect_no_sanitizer_report "$host_output"
	# Also through tcp-echo: the host's FIN comes after its data; the echo still comes back
	# whole, then the guest's FIN (the echo checker's ending).
	start_echo || return
	run_host 30 connect "$guest_ip" $port echo 8388608 timeout 30
	expect_host_ok
	quit_echo
}

# tcp_test NAME FUNCTION: run_test, then nothing of the test is left running. TESTS=PATTERN
# runs only the tests whose names match it (lib.sh).
tcp_test() {
	[[ -z ${TESTS:-} || $1 =~ $TESTS ]] || return 0
	local started=$SECONDS
	run_test "$1" "$2"
	teardown
	note "($((SECONDS - started)) s)"
}

tcp_test "the host checker against itself over veth" test_host_checker_over_veth
tcp_test "64 MiB host -> guest, byte-exact" test_64_mib_to_guest
tcp_test "64 MiB guest -> host, byte-exact" test_64_mib_to_host
tcp_test "loss=0.01: 64 MiB each way, 2 seeds, byte-exact" test_loss_1_percent
tcp_test "loss=0.05: 64 MiB each way, 2 seeds, byte-exact" test_loss_5_percent_64_mib
tcp_test "reorder=0.05,dup=0.05: 64 MiB each way, 3 seeds, byte-exact" \
	test_reorder_and_duplicate
tcp_test "corrupt=0.01 (TSO): 64 MiB each way, 3 seeds, caught by checksums" test_corruption
tcp_test "corrupt=0.01 (no TSO, 24 MiB guest): 16 MiB each way, 3 seeds, caught by checksums" \
	test_corruption_without_tso
tcp_test "1,000 connections accepted by the guest, heap unchanged" test_1000_cycles_guest_accepts
tcp_test "1,000 connections made by the guest, heap unchanged" test_1000_cycles_guest_connects
tcp_test "64 concurrent connections accepted, heap unchanged" test_64_concurrent_guest_accepts
tcp_test "64 concurrent connections made, heap unchanged" test_64_concurrent_guest_connects
tcp_test "100 connections each way, 16 at once each way, through loss, dup and reorder" \
	test_lifecycle_under_faults
tcp_test "tcp-echo: 16 connections at once, 4 MiB each" test_echo_many_connections
tcp_test "connect to a closed guest port is refused" test_connect_to_closed_port_is_refused
tcp_test "abortive close: the guest sees resets and carries on" \
	test_abortive_close_resets_the_guest
tcp_test "half-close: the guest still sends everything, then closes" test_half_close
summary
