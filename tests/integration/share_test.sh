#!/usr/bin/env bash
# The `share` backend: guests on one shared-memory switch talking to each other with no host
# network stack in between, run by `make share-tests`.
#
# Every test starts real launchers on real KVM, each joining a switch named rvs-PID-N (a file
# share-rvs-PID-N and a FIFO per port in the launcher's per-user directory, ringvisor-UID, kept
# for these tests under a directory of their own in /dev/shm: RINGVISOR_SHARE_DIRECTORY), with
# guest addresses in 198.18.100.0/24. Guests: udp-echo (answers pings and echoes UDP), iperf3
# (server and client), netcheck (pings, or checks UDP echoes byte for byte). The trap kills every
# launcher and removes that directory, on every exit path.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

: "${RINGVISOR:?set RINGVISOR to the launcher to test}"
: "${BUILD:=build}"
guests=$BUILD/guests
vandal=$BUILD/tests/share_vandal
switch_prefix=rvs-$$
switch_index=0

RINGVISOR_SHARE_DIRECTORY=$(mktemp -d /dev/shm/rvs-$$.XXXXXX) || exit 1
export RINGVISOR_SHARE_DIRECTORY
switch_directory=$RINGVISOR_SHARE_DIRECTORY/ringvisor-$(id -u)

remove_switch_files() {
	rm -rf "$RINGVISOR_SHARE_DIRECTORY"
}
trap 'teardown; remove_switch_files; cleanup_work_directory' EXIT

new_switch() {
	switch_index=$((switch_index + 1))
	switch=$switch_prefix-$switch_index
}

# launch NAME HOST EXTRA GUEST ARGUMENTS...: a launcher in the background on $switch at
# 198.18.100.HOST, with EXTRA appended to its --net (e.g. ",offload=off"), running GUEST with
# ARGUMENTS; $memory (default 64M) of RAM, as $user if set (--user). Its output goes to
# $work_directory/NAME.out and NAME.err, its pid to $pid_NAME.
launch() {
	local name=$1 host=$2 extra=$3 guest=$4
	shift 4
	"$RINGVISOR" run --stats --mem "${memory:-64M}" ${user:+--user "$user"} \
		--net "share,name=$switch,ip=198.18.100.$host/24$extra" "$guests/$guest.elf" -- "$@" \
		>"$work_directory/$name.out" 2>"$work_directory/$name.err" &
	processes+=("$!")
	printf -v "pid_$name" '%s' "$!"
}

# await NAME TEXT SECONDS: NAME's console shows TEXT, or the check fails.
await() {
	wait_for_output "$work_directory/$1.out" "$2" "$3" && return 0
	fail_check "$1 never printed '$2' within $3 s"
	return 1
}

# finish NAME SECONDS EXPECTED-STATUS: NAME's launcher exits with that status (or one of
# "A|B|...") in time, and without a sanitizer report.
finish() {
	local pid_variable=pid_$1
	wait_for_exit "${!pid_variable}" "$2"
	[[ "|$3|" == *"|$status|"* ]] ||
		fail_check "$1 exited with status $status, not $3: $(tail -n 3 "$work_directory/$1.err")"
	expect_no_sanitizer_report "$work_directory/$1.err"
}

# counter NAME COUNTER: the value from NAME's --stats (the last one printed).
counter() {
	awk -v counter="$2" '$1 == "nic" && $3 == counter { value = $4 } END { print value + 0 }' \
		"$work_directory/$1.err"
}

expect_counter() { # NAME COUNTER OPERATOR VALUE, e.g. expect_counter a receive_frames -gt 0
	local value
	value=$(counter "$1" "$2")
	[ "$value" "$3" "$4" ] || fail_check "$1's $2 is $value, expected $3 $4"
}

expect_switch_gone() {
	local file left=
	for file in "$switch_directory/share-$switch" "$switch_directory/share-$switch"@port-*; do
		[ -e "$file" ] && left="$left $(basename "$file")"
	done
	[ -z "$left" ] || fail_check "files left in $switch_directory after the last launcher: $left"
}

# iperf3 between two guests: server A (.1), client B (.2) with ARGUMENTS; both exit 0.
# $server_extra is appended to A's --net, $server_memory is its RAM (default: $memory).
iperf3_pair() {
	memory=${server_memory:-${memory:-64M}} launch a 1 "${server_extra:-}" iperf3 -s -1
	await a "Server listening" 20 || return
	launch b 2 "" iperf3 -c 198.18.100.1 "$@"
	finish b 60 0
	finish a 30 0
	grep -qE 'bits/sec.*receiver' "$work_directory/b.out" ||
		fail_check "no iperf3 receiver summary from the client"
	printf '    %s\n' "$(grep -E 'bits/sec.*receiver' "$work_directory/b.out" | tail -n 1 |
		sed 's/  */ /g')"
}

test_two_guests_tcp() {
	new_switch
	memory=512M iperf3_pair -t 2
	expect_counter a switch_received_unicast -gt 1000
	expect_counter a switch_received_not_ours -eq 0
	expect_counter b switch_sent_unicast -gt 1000
	expect_counter a switch_corrupt -eq 0
	# The receiver was woken by its peer, not only by its once-a-second tick (which would
	# leave this at zero).
	expect_counter a switch_wakeups_received -gt 10
	printf '    %s wakeups for %s frames\n' "$(counter b switch_wakeups_sent)" \
		"$(counter b switch_sent_unicast)"
	expect_switch_gone
}

test_two_guests_tcp_reverse() {
	new_switch
	memory=512M iperf3_pair -t 2 -R
	expect_counter b switch_received_unicast -gt 1000
	expect_switch_gone
}

# 64 KiB TSO frames cross whole to a guest that takes them, and are cut up for one that does not
# (a 24 MiB guest negotiates no TSO; offload=off takes checksum offload away as well).
test_large_frames_cross_whole() {
	new_switch
	memory=512M iperf3_pair -n 64M
	expect_counter a switch_segmented -eq 0
	local bytes frames
	bytes=$(counter a receive_bytes) frames=$(counter a receive_frames)
	[ "$bytes" -gt $((32 * 1024 * 1024)) ] && [ $((bytes / frames)) -gt 16000 ] ||
		fail_check "$bytes bytes in $frames frames: not large frames"
}

test_segmented_for_a_guest_without_tso() {
	new_switch
	server_memory=24M memory=512M iperf3_pair -n 16M
	expect_counter a switch_segmented -gt 0
	expect_counter a receive_truncated -eq 0
}

test_checksummed_for_a_guest_without_offloads() {
	new_switch
	server_extra=,offload=off memory=512M iperf3_pair -n 16M
	expect_counter a switch_segmented -gt 0
	expect_counter a switch_checksummed -gt 0
	expect_counter a receive_truncated -eq 0
}

test_ping_and_udp_echo() {
	new_switch
	launch echo 1 "" udp-echo 7
	await echo "listening on" 20 || return
	launch ping 2 "" netcheck ping 198.18.100.1 5
	finish ping 30 0
	launch large 3 "" netcheck ping 198.18.100.1 2 8000
	finish large 30 0
	launch udp 4 "" netcheck udp 198.18.100.1 7 --quit
	finish udp 60 0
	finish echo 30 0
	expect_counter echo switch_received_broadcast -gt 0 # ARP requests
	expect_counter ping receive_frames -gt 4
	expect_switch_gone
}

# pcap= on a share NIC: tcpdump reads exactly the frames the echo guest's NIC counted, pings
# and UDP echoes among them (a switch has no tcpdump of its own to point at).
test_pcap_on_a_share_nic() {
	local pcap=$work_directory/share.pcap captured counted
	new_switch
	launch echo 1 ",pcap=$pcap" udp-echo 7
	await echo "listening on" 20 || return
	launch ping 2 "" netcheck ping 198.18.100.1 3
	finish ping 30 0
	launch udp 4 "" netcheck udp 198.18.100.1 7 --quit
	finish udp 60 0
	finish echo 30 0
	captured=$(tcpdump -nn -r "$pcap" 2>/dev/null | wc -l)
	counted=$(($(counter echo receive_frames) + $(counter echo transmit_frames)))
	[ "$captured" -gt 0 ] && [ "$captured" -eq "$counted" ] ||
		fail_check "tcpdump read $captured frames; the echo guest's NIC counted $counted"
	[ "$(tcpdump -nn -r "$pcap" 'icmp[icmptype] = icmp-echoreply' 2>/dev/null | wc -l)" -eq 3 ] ||
		fail_check "the capture does not hold the 3 ping replies"
	tcpdump -nn -r "$pcap" udp 2>/dev/null | grep -q "198.18.100.1.7 > 198.18.100.4" ||
		fail_check "the capture holds no UDP echo from the guest"
	expect_switch_gone
}

# Four guests: three answer, a fourth (each netcheck in turn) pings and UDP-echoes all three.
test_four_guests() {
	new_switch
	local host
	for host in 1 2 3; do
		launch "echo$host" "$host" "" udp-echo 7
	done
	for host in 1 2 3; do
		await "echo$host" "listening on" 20 || return
	done
	for host in 1 2 3; do
		launch "ping$host" 4 "" netcheck ping "198.18.100.$host" 3
		finish "ping$host" 30 0
		launch "udp$host" 4 "" netcheck udp "198.18.100.$host" 7 1 1472 8000 --quit
		finish "udp$host" 60 0
		finish "echo$host" 30 0
	done
	expect_switch_gone
}

# A third guest on the switch sees the broadcasts (ARP) but none of the unicast traffic between
# the other two: the switch learned where each MAC is.
test_bystander_sees_no_unicast() {
	new_switch
	launch bystander 3 "" udp-echo 7
	await bystander "listening on" 20 || return
	memory=512M iperf3_pair -n 32M
	kill -USR1 "$pid_bystander"
	wait_for_output "$work_directory/bystander.err" "switch_port" 10 ||
		fail_check "the bystander printed no counters on SIGUSR1"
	expect_counter a receive_bytes -gt $((16 * 1024 * 1024))
	expect_counter bystander switch_received_unicast -eq 0
	expect_counter bystander switch_received_not_ours -eq 0
	expect_counter bystander switch_received_broadcast -gt 0
	expect_counter bystander receive_frames -lt 20
}

# SIGKILL one launcher mid-transfer: the others go on, and a newcomer joins (reclaiming the
# dead port) and talks to them.
test_killed_member_mid_transfer() {
	new_switch
	launch echo 3 "" udp-echo 7
	await echo "listening on" 20 || return
	memory=512M launch a 1 "" iperf3 -s -1
	await a "Server listening" 20 || return
	memory=512M launch b 2 "" iperf3 -c 198.18.100.1 -t 30
	await b "sec" 20 || return
	kill -KILL "$pid_b"
	wait "$pid_b" 2>/dev/null
	launch ping 2 "" netcheck ping 198.18.100.1 3
	finish ping 30 0
	launch udp 4 "" netcheck udp 198.18.100.3 7 --quit
	finish udp 60 0
	finish echo 30 0
	kill -TERM "$pid_a"
	finish a 30 143
	# The dead port was reclaimed once: by the newcomer joining, or by a member that found
	# its wakeup FIFO without a reader.
	local reclaimed=$(($(counter a switch_reclaimed_ports) + $(counter echo switch_reclaimed_ports) +
		$(counter ping switch_reclaimed_ports)))
	[ "$reclaimed" -eq 1 ] || fail_check "the dead port was reclaimed $reclaimed times, not once"
	expect_switch_gone
}

# Every launcher killed: the files stay, and the next one to join and leave clears them.
test_all_killed_then_rejoined() {
	new_switch
	launch one 1 "" udp-echo 7
	launch two 2 "" udp-echo 7
	await one "listening on" 20 && await two "listening on" 20 || return
	kill -KILL "$pid_one" "$pid_two"
	wait "$pid_one" "$pid_two" 2>/dev/null
	[ -e "$switch_directory/share-$switch" ] || fail_check "expected the killed switch's file"
	launch three 3 "" netcheck ping 198.18.100.1 1
	finish three 30 1 # nobody answers any more
	expect_counter three switch_reclaimed_ports -eq 2
	expect_switch_gone
}

test_port_limit() {
	new_switch
	local index
	for index in $(seq 16); do
		memory=8M launch "member$index" "$((index + 10))" "" udp-echo 7
	done
	for index in $(seq 16); do
		await "member$index" "listening on" 30 || return
	done
	run_launcher run --net "share,name=$switch" "$guests/udp-echo.elf" -- 7
	expect_status 125
	expect_stderr "switch $switch is full: all 16 ports are in use"
	teardown
	launch last 1 "" netcheck ping 198.18.100.2 1
	finish last 30 1
	expect_counter last switch_reclaimed_ports -eq 16
	expect_switch_gone
}

# Four launchers joining a new switch at the same moment: four different ports, one switch.
test_simultaneous_joins() {
	new_switch
	local index ports=""
	for index in 1 2 3 4; do
		launch "member$index" "$index" "" udp-echo 7
	done
	for index in 1 2 3 4; do
		await "member$index" "listening on" 30 || return
		local pid_variable=pid_member$index
		kill -USR1 "${!pid_variable}"
	done
	for index in 1 2 3 4; do
		wait_for_output "$work_directory/member$index.err" "switch_port" 10 ||
			fail_check "member$index printed no counters on SIGUSR1"
		ports="$ports $(counter "member$index" switch_port)"
	done
	[ "$(tr ' ' '\n' <<<"$ports" | grep . | sort -u | wc -l)" -eq 4 ] ||
		fail_check "four launchers got ports$ports, not four different ones"
	launch ping 5 "" netcheck ping 198.18.100.4 2
	finish ping 30 0
}

# A receiver that stops (SIGSTOP) under a UDP flood: its ring fills, the sender drops and
# counts and goes on; once it runs again, both finish the test.
test_stopped_receiver() {
	new_switch
	memory=512M launch a 1 "" iperf3 -s -1
	await a "Server listening" 20 || return
	memory=512M launch b 2 "" iperf3 -c 198.18.100.1 -u -b 4G -t 3
	await b "sec" 20 || return
	kill -STOP "$pid_a"
	wait_for_output "$work_directory/b.out" "2.00-" 10 # a second of flooding while stopped
	kill -CONT "$pid_a"
	finish b 60 0
	finish a 30 0
	expect_counter b switch_dropped_full -gt 0
	expect_counter b switch_wakeups_forced -gt 0 # a full ring wakes its reader regardless
}

# With --user, a switch is that user's: two launchers that become nobody meet on it (the second
# joins after the first gave up root), its directory is nobody's and 0700, and it goes with them.
test_user_nobody_on_a_switch() {
	local base=$RINGVISOR_SHARE_DIRECTORY/as-nobody nobody_id
	nobody_id=$(id -u nobody) || { fail_check "this host has no user nobody"; return; }
	mkdir -m 1777 "$base" && chmod 0755 "$RINGVISOR_SHARE_DIRECTORY" ||
		{ fail_check "cannot make $base"; return; }
	new_switch
	RINGVISOR_SHARE_DIRECTORY=$base user=nobody launch echo 3 "" udp-echo 7
	await echo "listening on" 20 || return
	RINGVISOR_SHARE_DIRECTORY=$base user=nobody launch check 4 "" netcheck udp 198.18.100.3 7 \
		1 1472 --quit
	finish check 30 0
	finish echo 30 0
	[ "$(stat -c '%u %a' "$base/ringvisor-$nobody_id")" = "$nobody_id 700" ] ||
		fail_check "the switch directory is $(stat -c '%u %a' "$base/ringvisor-$nobody_id")," \
			"not nobody's and 0700"
	[ ! -e "$base/ringvisor-$nobody_id/share-$switch" ] ||
		fail_check "the switch outlived its last member"
	rm -rf "$base"
	chmod 0700 "$RINGVISOR_SHARE_DIRECTORY"
}

# A join that fails after it made the switch file (here: a directory with something in it where
# its wakeup FIFO must go) takes the file away again; the previous main left 1 GiB, sparse, that
# no launcher would ever remove.
test_failed_join_leaves_nothing() {
	new_switch
	mkdir -p -m 0700 "$switch_directory" &&
		mkdir -p "$switch_directory/share-$switch@port-0/in-the-way" ||
		{ fail_check "cannot put a directory where the FIFO goes"; return; }
	run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "cannot create the wakeup FIFO"
	[ ! -e "$switch_directory/share-$switch" ] ||
		fail_check "the failed join left $switch_directory/share-$switch behind" \
			"($(du -h --apparent-size "$switch_directory/share-$switch" | cut -f1))"
	rm -rf "$switch_directory/share-$switch@port-0"
	# Nothing in the way now: the same switch works, and goes when its last member does.
	run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 0
	expect_switch_gone
}

# A switch whose name looks like another's wakeup FIFO ("NAME.port-0") is a switch of its own.
test_names_do_not_collide() {
	new_switch
	local first=$switch
	launch echo 1 "" udp-echo 7
	await echo "listening on" 20 || return
	switch=$first.port-0
	launch lonely 2 "" netcheck ping 198.18.100.1 1
	finish lonely 30 1 # alone on its own switch: nobody answers
	expect_switch_gone
	switch=$first
	launch ping 3 "" netcheck udp 198.18.100.1 7 1 --quit
	finish ping 30 0
	finish echo 30 0
	expect_switch_gone
}

test_not_a_switch() {
	new_switch
	mkdir -p -m 0700 "$switch_directory"
	(umask 077 && head -c 4096 /dev/zero >"$switch_directory/share-$switch")
	run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "is 4096 bytes, not the"
	local size
	size=$(sed -n 's/.*is 4096 bytes, not the \([0-9]*\) of.*/\1/p' "$stderr_file")
	rm -f "$switch_directory/share-$switch"
	[ -n "$size" ] || { fail_check "the refusal did not say what size a switch is"; return; }
	# The right size with a foreign header: refused, not trusted.
	(umask 077 && truncate -s "$size" "$switch_directory/share-$switch")
	printf 'not a switch....' | dd of="$switch_directory/share-$switch" conv=notrunc \
		status=none
	run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "is not a version-1 Ringvisor switch"
	rm -f "$switch_directory/share-$switch"
}

# Another local user must not be able to put a file of theirs where a launcher looks: the
# per-user directory is checked (owner, mode, a real directory), and so is a switch file in it.
test_squatted_names_are_refused() {
	local base=$RINGVISOR_SHARE_DIRECTORY/squat message # inside the trap's directory
	mkdir -m 1777 "$base" && chmod 0755 "$RINGVISOR_SHARE_DIRECTORY" ||
		{ fail_check "cannot make $base"; return; }
	new_switch
	# Made first by someone else (nobody), open to all: the launcher refuses to use it.
	setpriv --reuid=nobody --regid=nogroup --clear-groups mkdir -m 0777 "$base/ringvisor-$(id -u)" ||
		{ fail_check "nobody could not make the directory"; return; }
	RINGVISOR_SHARE_DIRECTORY=$base run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "belongs to user $(id -u nobody), not to us ($(id -u)): another user made it"
	rm -rf "$base/ringvisor-$(id -u)"
	# A symbolic link to somewhere else.
	ln -s /tmp "$base/ringvisor-$(id -u)"
	RINGVISOR_SHARE_DIRECTORY=$base run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "is not a directory (a symbolic link or a file is there)"
	rm -f "$base/ringvisor-$(id -u)"
	# Ours, but open to others.
	mkdir -m 0755 "$base/ringvisor-$(id -u)"
	RINGVISOR_SHARE_DIRECTORY=$base run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "has mode 0755, not 0700"
	# In our own directory, a switch file that is someone else's, or has a second name.
	chmod 0700 "$base/ringvisor-$(id -u)"
	message="is not a switch file of ours (a regular file, owned by us, mode 0600, one name)"
	(umask 077 && : >"$base/ringvisor-$(id -u)/share-$switch")
	chown nobody "$base/ringvisor-$(id -u)/share-$switch"
	RINGVISOR_SHARE_DIRECTORY=$base run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "$message"
	chown "$(id -u)" "$base/ringvisor-$(id -u)/share-$switch"
	ln "$base/ringvisor-$(id -u)/share-$switch" "$base/ringvisor-$(id -u)/elsewhere"
	RINGVISOR_SHARE_DIRECTORY=$base run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 125
	expect_stderr "$message"
	rm -rf "$base"
	# And where nothing is in the way, the directory the launcher makes is ours and 0700.
	run_launcher run --net "share,name=$switch" "$guests/hello.elf"
	expect_status 0
	[ "$(stat -c '%u %a' "$switch_directory")" = "$(id -u) 700" ] ||
		fail_check "the switch directory is $(stat -c '%u %a' "$switch_directory"), not ours and 700"
}

test_bad_options() {
	local value expected
	while IFS='|' read -r value expected; do
		run_launcher run --net "$value" "$guests/hello.elf"
		expect_status 125
		expect_stderr "$expected"
	done <<-'EOF'
		share|say which switch with name=NAME
		share,name=|switch name '' is not
		share,name=../etc|switch name '../etc' is not
		share,name=a,ifname=x|'ifname' is for tap NICs, not share
		share,name=a,bridge=br0|'bridge' is for tap NICs, not share
		tap,ifname=x,name=a|a tap NIC takes ifname=, not name=
		share,name=a,offload=maybe|offload 'maybe' is not 'on' or 'off'
		carrier-pigeon,name=a|the backend must come first: 'tap' or 'share'
	EOF
	run_launcher run --net share,name=a --net share,name=a "$guests/hello.elf"
	expect_status 125
	expect_stderr "two NICs on share:a"
}

# Another process scribbling on the switch (ring indices, records, port entries) while two
# guests move data: the launchers say the rings are corrupt, their ticks repair them and the
# data flows again; nobody crashes.
test_vandalized_switch() {
	new_switch
	memory=512M launch a 1 "" iperf3 -s
	await a "Server listening" 20 || return
	memory=512M launch b 2 "" iperf3 -c 198.18.100.1 -t 60
	await b "sec" 20 || return
	"$vandal" "$switch_directory/share-$switch" 2000 ||
		fail_check "the vandal could not scribble on the switch"
	grep -qF "is corrupt" "$work_directory/a.err" "$work_directory/b.err" ||
		fail_check "neither launcher reported a corrupt ring"
	# The old pair's ticks repair what was scribbled on: data flows again between them (an
	# interval report with bytes in it, after the vandal's last write).
	local reports_before deadline=$((SECONDS + 30)) recovered=no
	reports_before=$(grep -c "bits/sec" "$work_directory/b.out")
	while [ "$SECONDS" -lt "$deadline" ] && [ "$recovered" = no ]; do
		tail -n +"$((reports_before + 1))" "$work_directory/b.out" |
			grep -qE "sec +[1-9][0-9.]* [KMG]?Bytes" && recovered=yes
		sleep 0.1
	done
	[ "$recovered" = yes ] || fail_check "no data moved between the old pair after the vandal"
	# The switch works for newcomers too, and the old members still run (their I/O threads
	# answer SIGUSR1) and have put their port entries back.
	launch echo 3 "" udp-echo 7
	await echo "listening on" 20 || return
	launch check 4 "" netcheck udp 198.18.100.3 7 1 1472 --quit
	finish check 30 0
	finish echo 30 0
	kill -USR1 "$pid_a" "$pid_b"
	wait_for_output "$work_directory/a.err" "switch_port" 10 &&
		wait_for_output "$work_directory/b.err" "switch_port" 10 ||
		fail_check "an old member did not answer SIGUSR1"
	# Stopped by us (143), or the guest gave up on a connection the garbage broke (1): either
	# way a launcher that neither crashed (126) nor failed (125), with no sanitizer report.
	kill -TERM "$pid_a" "$pid_b" 2>/dev/null
	finish a 30 "143|1|0"
	finish b 30 "143|1|0"
}

# On failure: the end of every launcher's output in this test (lib.sh's show_output shows the
# one-launcher files the other scripts use).
show_output() {
	local file
	for file in "$work_directory"/*.out "$work_directory"/*.err; do
		[ -s "$file" ] || continue
		printf '    --- %s:\n' "$(basename "$file")"
		tail -n 8 "$file" | sed 's/^/    | /'
	done
}

share_test() {
	run_test "$1" "$2"
	teardown
	rm -f "$work_directory"/*.out "$work_directory"/*.err
}

share_test "two guests: TCP (iperf3 guest to guest)" test_two_guests_tcp
share_test "two guests: TCP, -R" test_two_guests_tcp_reverse
share_test "64 KiB frames cross whole" test_large_frames_cross_whole
share_test "pcap= on a share NIC" test_pcap_on_a_share_nic
share_test "segmented for a guest without TSO" test_segmented_for_a_guest_without_tso
share_test "checksummed for a guest without offloads" test_checksummed_for_a_guest_without_offloads
share_test "ping and UDP echo between guests" test_ping_and_udp_echo
share_test "four guests" test_four_guests
share_test "a bystander sees no unicast" test_bystander_sees_no_unicast
share_test "SIGKILL mid-transfer; a newcomer joins" test_killed_member_mid_transfer
share_test "all killed; the next one clears the files" test_all_killed_then_rejoined
share_test "16 ports, and a clear error for the 17th" test_port_limit
share_test "four launchers join at once" test_simultaneous_joins
share_test "a stopped receiver: the sender drops and goes on" test_stopped_receiver
share_test "switch names never collide with FIFOs" test_names_do_not_collide
share_test "a file that is not a switch is refused" test_not_a_switch
share_test "squatted names are refused" test_squatted_names_are_refused
share_test "a failed join leaves nothing behind" test_failed_join_leaves_nothing
share_test "--user nobody: two launchers meet on nobody's switch" test_user_nobody_on_a_switch
share_test "bad --net share options" test_bad_options
share_test "a vandalized switch: reported, repaired, nobody crashes" test_vandalized_switch
summary
