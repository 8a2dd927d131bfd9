#!/usr/bin/env bash
# Network tests: the paravirtual NIC end to end, on real TAP devices, run by `make network-tests`.
#
# Needs: root (namespaces, TAPs, AF_PACKET), iproute2 and ping (iputils-ping); RINGVISOR (the
# launcher to test; make passes the sanitized build); BUILD (the build directory with guests/ and
# tests/udp_echo_client, tests/raw_frame_sender).
#
# Every test runs the launcher inside a network namespace of its own (rvt-PID-N), so the TAP it
# creates lives there, and talks to the guest from that namespace over 198.18.N.0/24 (host .1,
# guest .2): nothing touches the host's own network. IPv6 is off in the namespaces, so the host
# kernel sends nothing on the TAP that the test did not ask for. On every exit path the trap
# stops the launchers this script started and deletes its namespaces (which deletes the TAPs).
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

: "${RINGVISOR:?set RINGVISOR to the launcher to test}"
: "${BUILD:=build}"
udp_echo=$BUILD/guests/udp-echo.elf
nictest=$BUILD/tests/guests/nictest.elf
client=$BUILD/tests/udp_echo_client
frame_sender=$BUILD/tests/raw_frame_sender
port=7777
guest_mac=02:00:c6:12:00:02


# start_guest LAUNCHER-ARGUMENTS...: starts the launcher in the namespace in the background
# ($launcher: its pid; output in $stdout_file and $stderr_file), waits for the TAP, gives the
# host its address, and waits for udp-echo's "listening on". False if any of it does not happen.
# With $file_size_limit set, the launcher runs under `ulimit -f` that many KiB.
start_guest() {
	: >"$stdout_file"
	: >"$stderr_file"
	bash -c 'ulimit -f "$0" && exec "$@"' "${file_size_limit:-unlimited}" \
		ip netns exec "$ns" "$RINGVISOR" "$@" >"$stdout_file" 2>"$stderr_file" &
	launcher=$!
	processes+=("$launcher")
	wait_for_tap "$ns" "$ns" "$launcher" 20 || return 1
	ip -n "$ns" addr add "$host_ip/24" dev "$ns" ||
		{ fail_check "cannot give $ns the address $host_ip"; return 1; }
	if ! wait_for_output "$stdout_file" "udp-echo: listening on $guest_ip:$port" 30; then
		fail_check "udp-echo never said 'listening on $guest_ip:$port'"
		return 1
	fi
}

# wait_for_launcher SECONDS: waits for $launcher to exit and sets $status.
wait_for_launcher() {
	wait_for_exit "$launcher" "$1"
}

# quit_guest: asks udp-echo to exit and waits for the launcher.
quit_guest() {
	in_ns "$client" "$guest_ip" $port --count 0 --quit --timeout-ms 1000 \
		>"$work_directory/quit" 2>&1 ||
		fail_check "udp-echo did not answer !quit: $(cat "$work_directory/quit")"
	wait_for_launcher 20
}

# counter FILE NAME COUNTER: the value of a "nic NAME COUNTER VALUE" line, 0 if there is none
# (udp-echo prints only the counters that are not 0).
counter() {
	awk -v nic="$2" -v name="$3" '$1 == "nic" && $2 == nic && $3 == name { value = $4 }
		END { print value + 0 }' "$1"
}

expect_counter() {
	local file=$1 name=$2 relation=$3 expected=$4 value
	value=$(counter "$file" "$ns" "$name")
	[ "$value" "$relation" "$expected" ] ||
		fail_check "expected counter $name $relation $expected, got $value"
}

# ---- reachability --------------------------------------------------------------------------

test_ping_and_arp() {
	new_namespace rvt 198.18 || return
	start_guest run --net "$net" "$udp_echo" -- $port 60 || return
	local output
	output=$(in_ns ping -c 5 -i 0.2 -W 2 "$guest_ip" 2>&1)
	grep -q " 5 received" <<<"$output" ||
		fail_check "expected 5 ping replies from the guest, got: $(tail -n 2 <<<"$output")"
	# Host -> guest ARP: the namespace learnt the guest's MAC (the replies prove guest -> host).
	in_ns ip neigh show "$guest_ip" dev "$ns" | grep -qi "lladdr $guest_mac" ||
		fail_check "ip neigh has no entry $guest_ip lladdr $guest_mac:" \
			"$(in_ns ip neigh show dev "$ns")"
	quit_guest
	expect_status 0
	expect_counter "$stdout_file" icmp_echo_requests -ge 5
	expect_counter "$stdout_file" icmp_echo_replies_sent -ge 5
	expect_counter "$stdout_file" arp_replies_sent -ge 1
	expect_no_sanitizer_report
}

# ---- UDP echo ------------------------------------------------------------------------------

test_udp_echo_all_sizes() {
	new_namespace rvt 198.18 || return
	start_guest run --net "$net" "$udp_echo" -- $port 60 || return
	# Edges: 1 byte, one full frame (1472), the first fragmented size (1473), the largest
	# datagram (65,507: 45 fragments); then a sweep over every 1,000-odd size.
	if ! in_ns "$client" "$guest_ip" $port --sizes 1,2,100,1471,1472,1473,1480,2944,2945,8000,65506,65507 \
		--timeout-ms 2000 >"$work_directory/edges" 2>&1; then
		fail_check "echo of the edge sizes failed: $(cat "$work_directory/edges")"
	fi
	if ! in_ns "$client" "$guest_ip" $port --range 1:65507:997 --timeout-ms 2000 \
		>"$work_directory/sweep" 2>&1; then
		fail_check "echo of sizes 1..65507 step 997 failed: $(cat "$work_directory/sweep")"
	fi
	grep -qx "sent 66 received 66 corrupt 0 lost 0" "$work_directory/sweep" ||
		fail_check "sweep: $(cat "$work_directory/sweep")"
	quit_guest
	expect_status 0
	expect_counter "$stdout_file" ipv4_reassembled -ge 60
	expect_counter "$stdout_file" ipv4_fragments_sent -ge 60
	expect_no_sanitizer_report
}

# As nobody (--user), the launcher still runs a guest behind the TAP it made as root: the guest
# negotiates its offloads after the change (TUNSETOFFLOAD on the TAP it holds) and echoes.
test_udp_echo_as_nobody() {
	new_namespace rvt 198.18 || return
	start_guest run --user nobody --net "$net" "$udp_echo" -- $port 60 || return
	[ "$(awk '$1 == "Uid:" { print $2 }' /proc/"$launcher"/status)" = "$(id -u nobody)" ] ||
		fail_check "the launcher is not nobody: $(grep '^Uid:' /proc/"$launcher"/status)"
	in_ns "$client" "$guest_ip" $port --sizes 1,1472,8000,65507 --timeout-ms 2000 \
		>"$work_directory/echoes" 2>&1 ||
		fail_check "echo as nobody failed: $(cat "$work_directory/echoes")"
	quit_guest
	expect_status 0
	expect_no_sanitizer_report
}

# ---- malformed frames ----------------------------------------------------------------------

# Each kind once, to the echo port, then the guest must still answer. A runt (a frame shorter
# than the 14-byte Ethernet header) is not among them: Linux refuses to send one on an Ethernet
# device (AF_PACKET: EINVAL from dev_validate_header), so nothing on the host side can put one
# on a TAP; only the launcher itself could.
test_malformed_frames_are_counted() {
	new_namespace rvt 198.18 || return
	start_guest run --net "$net" "$udp_echo" -- $port 60 || return
	local kind
	for kind in bad-ip-checksum bad-udp-checksum truncated-ip-header bad-total-length \
		overlapping-fragments; do
		in_ns "$frame_sender" "$ns" "$guest_mac" "$host_ip" "$guest_ip" "$kind" $port \
			>"$work_directory/sender" 2>&1 ||
			fail_check "raw_frame_sender $kind failed: $(cat "$work_directory/sender")"
	done
	# Still answering, after all of them (the TAP keeps order, so they were handled first).
	in_ns "$client" "$guest_ip" $port --sizes 1,1472,8000 --timeout-ms 2000 \
		>"$work_directory/after" 2>&1 ||
		fail_check "echo after the malformed frames failed: $(cat "$work_directory/after")"
	in_ns ping -c 1 -W 2 "$guest_ip" >/dev/null 2>&1 ||
		fail_check "no ping reply after the malformed frames"
	quit_guest
	expect_status 0
	expect_counter "$stdout_file" ipv4_bad_checksum -eq 1
	expect_counter "$stdout_file" udp_bad_checksum -eq 1
	expect_counter "$stdout_file" ipv4_truncated_header -eq 1
	expect_counter "$stdout_file" ipv4_bad_total_length -eq 1
	expect_counter "$stdout_file" ipv4_fragment_overlap -eq 1
	# None of them reached the socket: the 3 datagrams after them and the !quit did.
	expect_counter "$stdout_file" udp_received -eq 4
	expect_no_sanitizer_report
}

test_runt_cannot_be_sent_from_the_host() {
	new_namespace rvt 198.18 || return
	ip -n "$ns" link add "$ns" type veth peer name "${ns}p" && ip -n "$ns" link set "$ns" up
	in_ns "$frame_sender" "$ns" "$guest_mac" 198.18.0.1 198.18.0.2 runt \
		>"$stdout_file" 2>"$stderr_file"
	status=$?
	expect_status 1
	expect_stderr "refuses frames shorter than an Ethernet header"
}

# ---- a guest that wrecks its rings ---------------------------------------------------------

test_garbage_in_the_rings() {
	local mode
	for mode in garbage-tx loop-tx bad-index; do
		new_namespace rvt 198.18 || return
		timeout -s TERM -k 5 30 ip netns exec "$ns" "$RINGVISOR" run --net "$net" \
			"$nictest" -- $mode >"$stdout_file" 2>"$stderr_file"
		status=$?
		if [ "$status" -ne 0 ] || ! grep -q "ringvisor: NIC $ns: device broken: " "$stderr_file" ||
			! grep -qF "nictest: still alive" "$stdout_file"; then
			fail_check "nictest $mode: expected status 0, 'NIC $ns: device broken'" \
				"and 'nictest: still alive'; got status $status"
			show_output
		fi
		expect_no_sanitizer_report
	done
}

# A guest's frame header is an instruction to the host's kernel: one asking for 60,000 segments
# of one byte is refused whatever the guest negotiated (none at all with offload=off; TSO
# otherwise, but not segments that small), and so is one asking for 2,500 segments of 24 bytes
# (more than a real sender makes of a frame), each frame counted, the device not broken.
test_a_hostile_frame_header_is_refused() {
	local pair offload mode expected
	for pair in ",offload=off:gso-size-one" ":gso-size-one" ":gso-size-24"; do
		offload=${pair%%:*} # what the NIC offers the guest, then the nictest mode
		mode=${pair#*:}
		new_namespace rvt 198.18 || return
		timeout -s TERM -k 5 30 ip netns exec "$ns" "$RINGVISOR" run --stats --net "$net$offload" \
			"$nictest" -- "$mode" >"$stdout_file" 2>"$stderr_file"
		status=$?
		expected="NEEDS_CSUM, but checksum offload was not negotiated"
		[ -z "$offload" ] && expected="segment size below 24"
		[ "$mode" = gso-size-24 ] && expected="a GSO frame of more than 128 segments"
		expect_status 0
		expect_stdout "nictest: still alive"
		expect_stderr "NIC $ns: transmit refused: "
		expect_stderr "$expected"
		expect_counter "$stderr_file" transmit_refused -eq 20
		expect_counter "$stderr_file" transmit_frames -eq 0
		expect_counter "$stderr_file" broken -eq 0
		expect_no_sanitizer_report
		teardown
	done
}

# ---- injected faults -----------------------------------------------------------------------

# binomial_bounds N P ALPHA: the smallest interval [LOW, HIGH] with P(X < LOW) and P(X > HIGH)
# each at most ALPHA/2 for X ~ Binomial(N, P), from the exact probabilities (in logs).
binomial_bounds() {
	awk -v n="$1" -v p="$2" -v alpha="$3" 'BEGIN {
		log_choose = 0
		for (k = 0; k <= n; k++) {
			if (k > 0) log_choose += log(n - k + 1) - log(k)
			pmf[k] = exp(log_choose + k * log(p) + (n - k) * log(1 - p))
		}
		low = 0; tail = 0
		while (tail + pmf[low] <= alpha / 2) tail += pmf[low++]
		high = n; tail = 0
		while (tail + pmf[high] <= alpha / 2) tail += pmf[high--]
		print low, high
	}'
}

# echoes_back FILE: how many echoes came back at all, in time or late, from the client's
# "sent N received M corrupt K lost L" and "late X" lines: a count, not a speed.
echoes_back() {
	awk '$1 == "sent" { count += $4 } $1 == "late" { count += $2 } END { print count + 0 }' "$1"
}

# A fixed sequence of echoes, one in flight at a time, through loss=0.2 each way; prints the
# client's summary into $work_directory/loss-client.
run_lossy_echoes() {
	local count=$1 seed=$2
	new_namespace rvt 198.18 || return
	# Each direction has its own generator, so a seed gives the same faults if the same frames
	# cross in the same order. A permanent neighbour entry: the host sends no ARP, so the frames
	# host -> guest are the test's datagrams and the ARP replies to the guest; the client waits
	# long for its first echo, so the guest's ARP retries (1 s apart) all fall before datagram 2
	# whatever the timing. After that, losses do not change which frames are sent.
	start_guest run --stats --net "$net,loss=0.2,seed=$seed" "$udp_echo" -- $port 60 || return
	in_ns ip neigh replace "$guest_ip" lladdr "$guest_mac" dev "$ns" nud permanent
	in_ns "$client" "$guest_ip" $port --sizes 64 --count "$count" --timeout-ms 25 --allow-loss \
		--first-timeout-ms 2500 \
		>"$work_directory/loss-client" 2>&1 ||
		fail_check "the client failed: $(cat "$work_directory/loss-client")"
	# The counters now, before the !quit: how many times it is retried, and whether the guest
	# still lingers to answer, depend on timing, so what crossed during it is not comparable.
	kill -USR1 "$launcher"
	wait_for_output "$stderr_file" "nic $ns injected_corruptions " 10 ||
		fail_check "no counters on stderr after SIGUSR1"
	# Under loss a !quit or its !bye can be lost: the client retries; then wait.
	in_ns "$client" "$guest_ip" $port --count 0 --quit --allow-loss --timeout-ms 200 \
		>/dev/null 2>&1
	wait_for_launcher 20
	expect_status 0
	expect_no_sanitizer_report
}

test_loss_rate_is_as_configured() {
	# Each echo crosses the link twice, so it comes back with probability 0.8 * 0.8 = 0.64.
	# Bounds: a correct implementation falls outside them with probability below 1e-6.
	local count=1000 bounds low high received
	bounds=$(binomial_bounds $count 0.64 1e-6)
	read -r low high <<<"$bounds"
	run_lossy_echoes $count 1 || return
	# Echoes that came back at all: in time, or after their 25 ms (a slow echo is not a lost
	# one; this is a count, not a speed).
	received=$(echoes_back "$work_directory/loss-client")
	[ -n "$received" ] && [ "$received" -ge "$low" ] && [ "$received" -le "$high" ] ||
		fail_check "loss=0.2: $received of $count echoes came back; expected $low..$high" \
			"($(head -n 1 "$work_directory/loss-client"))"
	printf '    %s of %s echoes came back (bounds %s..%s); injected_losses %s\n' "$received" \
		"$count" "$low" "$high" "$(counter "$stderr_file" "$ns" injected_losses)"
	# About 0.2 of the 1000 requests and 0.2 of the 800 replies: far from 0 and from 1800.
	expect_counter "$stderr_file" injected_losses -gt 250
	expect_counter "$stderr_file" injected_losses -lt 470
	expect_counter "$stderr_file" injected_duplicates -eq 0
}

# losses_before_quit: injected_losses in the first snapshot (SIGUSR1, before the !quit).
losses_before_quit() {
	awk -v nic="$ns" '$1 == "nic" && $2 == nic && $3 == "injected_losses" { print $4; exit }' \
		"$stderr_file"
}

test_same_seed_same_faults() {
	local first second third
	run_lossy_echoes 200 7 || return
	first=$(losses_before_quit)
	run_lossy_echoes 200 7 || return
	second=$(losses_before_quit)
	[ -n "$first" ] && [ "$first" -gt 0 ] && [ "$first" = "$second" ] ||
		fail_check "seed 7 twice: injected_losses $first, then $second"
	run_lossy_echoes 200 8 || return
	third=$(losses_before_quit)
	[ "$third" != "$first" ] ||
		printf '    (note: seeds 7 and 8 happened to give the same count, %s)\n' "$third"
}

# Corruption must be caught by the receiver's checksums, also when checksums are offloaded
# (the launcher finishes a partial checksum before it flips a byte): no echo may come back
# damaged. Duplicates and reordering ride along: the client counts those as "late", not corrupt.
test_corruption_is_caught_by_checksums() {
	new_namespace rvt 198.18 || return
	start_guest run --stats --net "$net,corrupt=0.2,dup=0.1,reorder=0.1,seed=3" "$udp_echo" -- \
		$port 60 || return
	in_ns "$client" "$guest_ip" $port --sizes 64,1000,3000 --count 600 --timeout-ms 50 \
		--allow-loss >"$work_directory/corrupt-client" 2>&1 ||
		fail_check "the client failed: $(cat "$work_directory/corrupt-client")"
	in_ns "$client" "$guest_ip" $port --count 0 --quit --allow-loss --timeout-ms 200 \
		>/dev/null 2>&1
	wait_for_launcher 20
	expect_status 0
	expect_no_sanitizer_report
	local summary corrupt received
	summary=$(tr '\n' ' ' <"$work_directory/corrupt-client")
	received=$(echoes_back "$work_directory/corrupt-client")
	corrupt=$(awk '$1 == "sent" { print $6 }' <<<"$summary")
	printf '    %s\n' "$summary"
	[ "$corrupt" = 0 ] || fail_check "corrupted echoes reached the client: $summary"
	[ -n "$received" ] && [ "$received" -gt 100 ] || fail_check "too few echoes: $summary"
	expect_counter "$stderr_file" injected_corruptions -gt 50
	expect_counter "$stderr_file" injected_duplicates -gt 0
	expect_counter "$stderr_file" injected_reorders -gt 0
}

# A TAP deleted under a running guest: the NIC is reported broken once (not once per epoll
# wakeup, as a spinning I/O thread would), and the launcher still stops cleanly.
test_deleted_tap_breaks_the_nic_once() {
	new_namespace rvt 198.18 || return
	start_guest run --net "$net" "$udp_echo" -- $port 60 || return
	in_ns ip link del "$ns" || fail_check "cannot delete TAP $ns"
	wait_for_output "$stderr_file" "device broken: the TAP failed" 10 ||
		fail_check "no 'device broken' message after the TAP was deleted"
	# Give a spinning thread the chance to say it again, and check how many times it did.
	in_ns ping -c 1 -W 1 "$guest_ip" >/dev/null 2>&1
	local reports
	reports=$(grep -c "device broken" "$stderr_file")
	[ "$reports" -eq 1 ] || fail_check "the NIC was reported broken $reports times"
	kill -TERM "$launcher"
	wait_for_launcher 10
	expect_status 143
	expect_no_sanitizer_report
}

# ---- statistics ----------------------------------------------------------------------------

nic_counters="receive_frames receive_bytes receive_no_buffer receive_truncated transmit_frames
	transmit_bytes transmit_errors receive_doorbells transmit_doorbells guest_wakeups
	injected_losses injected_duplicates injected_reorders injected_corruptions"

# expect_all_counters FILE TIMES: every counter line appears TIMES times in FILE.
expect_all_counters() {
	local name lines
	for name in $nic_counters; do
		lines=$(grep -cE "^nic $ns $name [0-9]+$" "$1")
		[ "$lines" -eq "$2" ] ||
			fail_check "expected 'nic $ns $name N' $2 time(s) on stderr, found $lines"
	done
}

test_stats_at_exit_and_on_sigusr1() {
	new_namespace rvt 198.18 || return
	start_guest run --stats --net "$net" "$udp_echo" -- $port 60 || return
	in_ns "$client" "$guest_ip" $port --count 10 --sizes 100 >/dev/null 2>&1 ||
		fail_check "echo before SIGUSR1 failed"
	kill -USR1 "$launcher"
	wait_for_output "$stderr_file" "nic $ns injected_corruptions " 10 ||
		fail_check "no counters on stderr after SIGUSR1"
	kill -0 "$launcher" 2>/dev/null || fail_check "the launcher exited on SIGUSR1"
	expect_all_counters "$stderr_file" 1
	# 10 datagrams of 100 bytes came in and went out (plus ARP): the counters say so.
	expect_counter "$stderr_file" receive_frames -ge 10
	expect_counter "$stderr_file" transmit_frames -ge 10
	expect_counter "$stderr_file" receive_bytes -ge 1420
	quit_guest
	expect_status 0
	expect_all_counters "$stderr_file" 2
	expect_counter "$stderr_file" transmit_errors -eq 0
	expect_counter "$stderr_file" injected_losses -eq 0
	expect_no_sanitizer_report
}

# ---- polling before sleeping (--poll) ---------------------------------------------------------

# statistic FILE SECTION NAME COUNTER: one value of --stats' "SECTION NAME COUNTER VALUE" lines.
statistic() {
	awk -v section="$2" -v name="$3" -v key="$4" \
		'$1 == section && $2 == name && $3 == key { value = $4 } END { print value + 0 }' "$1"
}

# guest_polls FILE WHAT: from udp-echo's closing line ("slept N times, polled M times instead;
# R polls ran out"), WHAT: slept, polled or ran_out.
guest_polls() {
	sed -nE 's/.*slept ([0-9]+) times, polled ([0-9]+) times instead; ([0-9]+) polls ran out.*/\1 \2 \3/p' "$1" |
		awk -v what="$2" '{ split("slept polled ran_out", names, " ")
			for (i = 1; i <= 3; i++) if (names[i] == what) print $i }'
}

# One request outstanding, the next sent as soon as the echo is in, a fixed number of them. With
# polling, both sides poll before they sleep (the I/O thread unless it judged the host's CPUs
# contended, which it counts); with --poll 0 nothing ever polls. What the polls found, and the
# doorbells they saved, are printed: on a quiet machine most requests are found by polling.
# What happened, counted; never how fast (bench/polling.sh measures that, as a ratio).
test_polling_polls_and_poll_0_never_does() {
	local poll frames doorbells
	for poll in 1000 0; do
		new_namespace rvt 198.18 || return
		start_guest run --stats --poll $poll --net "$net" "$udp_echo" -- $port 60 || return
		in_ns "$client" "$guest_ip" $port --sizes 64 --count 2000 --timeout-ms 5000 \
			>"$work_directory/echoes" 2>&1 ||
			fail_check "--poll $poll: the echoes failed: $(cat "$work_directory/echoes")"
		quit_guest
		expect_status 0
		frames=$(statistic "$stderr_file" nic "$ns" transmit_frames)
		doorbells=$(statistic "$stderr_file" nic "$ns" transmit_doorbells)
		printf '    --poll %s: guest %s, I/O thread found_work %s ran_out %s skipped_contended %s;' \
			"$poll" "$(grep -o 'slept.*ran out' "$stdout_file")" \
			"$(statistic "$stderr_file" poll io found_work)" \
			"$(statistic "$stderr_file" poll io ran_out)" \
			"$(statistic "$stderr_file" poll io skipped_contended)"
		printf ' %s doorbells for %s frames\n' "$doorbells" "$frames"
		[ "$frames" -ge 2000 ] || fail_check "--poll $poll: $frames frames sent, not 2000 echoes"
		if [ $poll -gt 0 ]; then
			# Whether a poll finds the next request depends on how soon it comes (on a
			# loaded machine the round trip can outlast the window), so what is asserted
			# is that both sides poll before they sleep, or the I/O thread says why not.
			[ $(($(guest_polls "$stdout_file" polled) + $(guest_polls "$stdout_file" ran_out))) -gt 0 ] ||
				fail_check "--poll $poll: the guest never polled"
			[ $(($(statistic "$stderr_file" poll io found_work) +
				$(statistic "$stderr_file" poll io ran_out) +
				$(statistic "$stderr_file" poll io skipped_contended))) -gt 0 ] ||
				fail_check "--poll $poll: the I/O thread never polled, nor said why"
		else
			[ "$(guest_polls "$stdout_file" polled)" = 0 ] &&
				[ "$(guest_polls "$stdout_file" ran_out)" = 0 ] ||
				fail_check "--poll 0: the guest polled"
			[ "$(statistic "$stderr_file" poll io found_work)" -eq 0 ] &&
				[ "$(statistic "$stderr_file" poll io ran_out)" -eq 0 ] ||
				fail_check "--poll 0: the I/O thread polled"
			[ "$doorbells" -gt 0 ] || fail_check "--poll 0: no doorbell for $frames frames"
		fi
		expect_no_sanitizer_report
		teardown
	done
}

# Polling adapts: a guest with nothing to do sleeps, however long it may poll, and the I/O
# thread's own deadlines (a metrics line every 10 ms here) do not count as events to poll for.
# Counted, not timed: across 50 metrics lines written while the guest idles, the I/O thread's
# polls ran out at most once (the wakeup before the first line may follow a grown window); had
# it polled after its deadlines, one would have run out after each of them.
test_an_idle_guest_does_not_poll() {
	local metrics=$work_directory/idle.jsonl line first last
	new_namespace rvt 198.18 || return
	start_guest run --stats --poll 1000000 --metrics "$metrics,interval=10" \
		--net "$net" "$udp_echo" -- $port 60 || return
	line=$(($(wc -l <"$metrics") + 1))
	wait_for_lines "$metrics" $((line + 50)) 60 "$launcher" ||
		fail_check "fewer than 50 metrics lines in 60 s"
	quit_guest
	expect_status 0
	first=$(sed -n "${line}p" "$metrics" | grep -o '"ran_out":[0-9]*' | cut -d: -f2)
	last=$(sed -n "$((line + 50))p" "$metrics" | grep -o '"ran_out":[0-9]*' | cut -d: -f2)
	printf '    idle for 50 metrics lines: the I/O thread'"'"'s polls ran out %s times\n' \
		"$((last - first))"
	[ -n "$first" ] && [ -n "$last" ] && [ $((last - first)) -le 1 ] ||
		fail_check "idle for 50 metrics lines, the I/O thread's polls ran out" \
			"$((last - first)) times ($first, then $last)"
	expect_no_sanitizer_report
}

# ---- seeing inside: captures and the metrics stream -------------------------------------------

# pcap_frames FILE [FILTER...]: how many frames tcpdump reads from FILE (matching FILTER).
pcap_frames() {
	local file=$1
	shift
	tcpdump -nn -r "$file" "$@" 2>/dev/null | wc -l
}

# expect_capture_matches_counters PCAP: the capture holds exactly the frames the NIC counted.
expect_capture_matches_counters() {
	local captured counted
	captured=$(pcap_frames "$1")
	counted=$(($(counter "$stderr_file" "$ns" receive_frames) +
		$(counter "$stderr_file" "$ns" transmit_frames)))
	[ "$captured" -gt 0 ] && [ "$captured" -eq "$counted" ] ||
		fail_check "tcpdump read $captured frames from $1; the NIC counted $counted"
}

test_pcap_holds_what_the_nic_counted() {
	local pcap=$work_directory/tap.pcap
	new_namespace rvt 198.18 || return
	start_guest run --stats --net "$net,pcap=$pcap" "$udp_echo" -- $port 60 || return
	in_ns ping -c 3 -i 0.2 -W 2 "$guest_ip" >/dev/null 2>&1 || fail_check "no ping replies"
	in_ns "$client" "$guest_ip" $port --sizes 100,3000 --count 2 >/dev/null 2>&1 ||
		fail_check "UDP echo failed"
	quit_guest
	expect_status 0
	expect_capture_matches_counters "$pcap"
	[ "$(pcap_frames "$pcap" icmp and 'icmp[icmptype] = icmp-echo')" -eq 3 ] &&
		[ "$(pcap_frames "$pcap" icmp and 'icmp[icmptype] = icmp-echoreply')" -eq 3 ] ||
		fail_check "the capture does not hold 3 pings and 3 replies"
	# A datagram of 100 bytes (one frame), one of 3000 (three fragments), and !quit: five frames
	# from the host (tcpdump's "udp" is IP protocol 17, fragments included), and as many back.
	[ "$(pcap_frames "$pcap" udp and src "$host_ip")" -eq 5 ] &&
		[ "$(pcap_frames "$pcap" udp and src "$guest_ip")" -eq 5 ] ||
		fail_check "expected 5 UDP frames each way in the capture," \
			"found $(pcap_frames "$pcap" udp and src "$host_ip") and" \
			"$(pcap_frames "$pcap" udp and src "$guest_ip")"
	expect_no_sanitizer_report
}

# A file-size limit set by whoever started the launcher (ulimit -f): the capture that reaches it
# stops with a message and the guest runs on.
test_pcap_stops_at_a_file_size_limit() {
	local pcap=$work_directory/limited.pcap
	new_namespace rvt 198.18 || return
	file_size_limit=16 start_guest run --net "$net,pcap=$pcap" "$udp_echo" -- $port 60 || return
	in_ns "$client" "$guest_ip" $port --sizes 1472 --count 40 --timeout-ms 2000 \
		>"$work_directory/echoes" 2>&1 ||
		fail_check "UDP echo failed past the limit: $(cat "$work_directory/echoes")"
	wait_for_output "$stderr_file" "File too large; capturing stops, the guest runs on" 10 ||
		fail_check "no message when the capture reached the file-size limit"
	quit_guest
	expect_status 0
	[ "$(stat -c %s "$pcap")" -le 16384 ] || fail_check "the capture grew past 16 KiB"
	expect_no_sanitizer_report
}

test_pcap_with_loss_shows_what_the_guest_got() {
	local pcap=$work_directory/lossy.pcap sent
	new_namespace rvt 198.18 || return
	start_guest run --stats --net "$net,loss=0.3,seed=5,pcap=$pcap" "$udp_echo" -- $port 60 ||
		return
	in_ns ip neigh replace "$guest_ip" lladdr "$guest_mac" dev "$ns" nud permanent
	in_ns "$client" "$guest_ip" $port --sizes 64 --count 200 --timeout-ms 25 --allow-loss \
		>/dev/null 2>&1
	in_ns "$client" "$guest_ip" $port --count 0 --quit --allow-loss --timeout-ms 200 \
		>/dev/null 2>&1
	wait_for_launcher 20
	expect_status 0
	expect_capture_matches_counters "$pcap"
	# The host sent at least the 200 requests; the guest got (and the capture holds) fewer.
	sent=$(pcap_frames "$pcap" udp and src "$host_ip" and not 'udp[8:4] = 0x21717569')
	[ "$sent" -lt 200 ] && [ "$sent" -gt 100 ] ||
		fail_check "the capture holds $sent of the host's 200 datagrams; with loss=0.3 the" \
			"guest gets about 140"
	expect_counter "$stderr_file" injected_losses -gt 0
	expect_no_sanitizer_report
}

test_metrics_stream_matches_stats() {
	local metrics=$work_directory/metrics.jsonl
	new_namespace rvt 198.18 || return
	start_guest run --stats --metrics "$metrics,interval=20" --net "$net" "$udp_echo" -- \
		$port 60 || return
	in_ns "$client" "$guest_ip" $port --sizes 100,2000 --count 20 >/dev/null 2>&1 ||
		fail_check "UDP echo failed"
	# Three lines streamed while the guest runs (10 s at most); the one at exit makes four.
	wait_for_lines "$metrics" 3 10 "$launcher" || fail_check "fewer than 3 metrics lines in 10 s"
	quit_guest
	expect_status 0
	grep -E '^(nic|thread|poll|exit|time) ' "$stderr_file" >"$work_directory/stats"
	/usr/bin/python3 tests/tools/check_metrics.py "$metrics" "$work_directory/stats" \
		>"$work_directory/check" 2>&1 ||
		fail_check "the metrics stream does not check out: $(head -n 5 "$work_directory/check")"
	expect_no_sanitizer_report
}

test_metrics_reader_that_leaves_stops_only_the_stream() {
	local fifo=$work_directory/metrics.fifo
	mkfifo "$fifo"
	# The reader has the FIFO open before the launcher starts (the launcher refuses a FIFO
	# nobody reads): opened here read-write, handed to head, closed here.
	local reader
	exec {reader}<>"$fifo"
	head -n 2 <&"$reader" >"$work_directory/two-lines" &
	processes+=("$!")
	exec {reader}<&-
	new_namespace rvt 198.18 || return
	start_guest run --metrics "$fifo,interval=10" --net "$net" "$udp_echo" -- $port 60 ||
		return
	wait_for_output "$stderr_file" "the stream stops, the guest runs on" 10 ||
		fail_check "no message when the metrics reader left"
	in_ns "$client" "$guest_ip" $port --sizes 100 --count 5 >/dev/null 2>&1 ||
		fail_check "UDP echo failed after the metrics reader left"
	quit_guest
	expect_status 0
	[ "$(grep -c 'the stream stops' "$stderr_file")" -eq 1 ] ||
		fail_check "the stream's end was reported more than once"
	[ "$(wc -l <"$work_directory/two-lines")" -eq 2 ] ||
		fail_check "the reader did not get two whole lines"
	expect_no_sanitizer_report
}

# network_test NAME FUNCTION: run_test, then nothing of the test is left running.
network_test() {
	run_test "$1" "$2"
	teardown
}

network_test "ping the guest, ARP both ways" test_ping_and_arp
network_test "UDP echo of 1 to 65,507 bytes" test_udp_echo_all_sizes
network_test "--user nobody: a guest behind a TAP still echoes" test_udp_echo_as_nobody
network_test "malformed frames are counted and dropped" test_malformed_frames_are_counted
network_test "a runt cannot be sent from the host" test_runt_cannot_be_sent_from_the_host
network_test "garbage in the rings breaks only the NIC" test_garbage_in_the_rings
network_test "a hostile frame header is refused" test_a_hostile_frame_header_is_refused
network_test "--stats at exit and on SIGUSR1" test_stats_at_exit_and_on_sigusr1
network_test "--poll polls before sleeping, --poll 0 never does" test_polling_polls_and_poll_0_never_does
network_test "an idle guest does not poll" test_an_idle_guest_does_not_poll
network_test "pcap= holds what the NIC counted" test_pcap_holds_what_the_nic_counted
network_test "pcap= with loss= shows what the guest got" test_pcap_with_loss_shows_what_the_guest_got
network_test "pcap= stops at a file-size limit, the guest runs on" test_pcap_stops_at_a_file_size_limit
network_test "--metrics lines match --stats" test_metrics_stream_matches_stats
network_test "a metrics reader that leaves stops only the stream" \
	test_metrics_reader_that_leaves_stops_only_the_stream
network_test "loss=0.2 loses what it should" test_loss_rate_is_as_configured
network_test "the same seed gives the same faults" test_same_seed_same_faults
network_test "corruption is caught by checksums" test_corruption_is_caught_by_checksums
network_test "a deleted TAP breaks the NIC once" test_deleted_tap_breaks_the_nic_once
summary
