#!/usr/bin/env bash
# Launcher and guest-kernel tests: real guests on real KVM, run by `make test`.
#
# Needs: RINGVISOR (the launcher to test; `make test` passes the sanitized build), BUILD (the
# build directory with guests/ and the bad-ELF maker). Each test runs the launcher and checks
# its exit status and what it printed.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

: "${RINGVISOR:?set RINGVISOR to the launcher to test}"
: "${BUILD:=build}"
hello=$BUILD/guests/hello.elf
testguest=$BUILD/tests/guests/testguest.elf

# ---- booting and running -------------------------------------------------------------------

test_hello_prints_its_arguments() {
	run_launcher run "$hello" -- one "two words" ""
	expect_status 0
	expect_stdout "Hello from a Ringvisor guest in ring 3: 4 arguments"
	expect_stdout 'argv[0] = "hello.elf"'
	expect_stdout 'argv[2] = "two words"'
	expect_stdout 'argv[3] = ""'
	expect_no_stderr
}

test_hello_without_arguments() {
	run_launcher run "$hello"
	expect_status 0
	expect_stdout "1 argument"
}

test_smallest_and_largest_memory() {
	run_launcher run --mem 4M "$hello"
	expect_status 0
	run_launcher run --mem 4G "$hello"
	expect_status 0
	expect_stdout "Hello from a Ringvisor guest"
}

test_exit_codes_pass_through() {
	for code in 0 1 7 42 124; do
		run_launcher run "$testguest" -- exit $code
		expect_status $code
	done
}

test_exit_code_out_of_range_is_a_crash() {
	run_launcher run "$testguest" -- exit 200
	expect_status 126
	expect_stderr "exit with code 200, outside 0-124"
}

test_wait_never_returns_early() {
	run_launcher run "$testguest" -- wait 100
	expect_status 0
	expect_stdout "10 waits up to 100 ms, none early"
}

test_timer_heap_under_stress() {
	run_launcher run "$testguest" -- timer-stress
	expect_status 0
	expect_stdout "timers fired in deadline order"
}

test_console_output_longer_than_one_write() {
	run_launcher run "$testguest" -- big-output
	expect_status 0
	[ "$(awk '{ print length($0) }' "$stdout_file")" = 100000 ] ||
		fail_check "expected one line of 100000 characters"
}

test_console_output_is_defanged() {
	run_launcher run "$testguest" -- escapes
	expect_status 0
	! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$stdout_file" ||
		fail_check "a control character from the guest reached stdout: $(od -c "$stdout_file" | head -n 3)"
	expect_stdout "title:?]0;pwned? clear:?[2J cr:?overwritten del:? tab:	 end"
}

# A guest asking for a NIC setup again and again: every refusal counted, the first ten said.
test_refused_setups_cannot_flood_stderr() {
	run_launcher run --stats --net "share,name=rvl-$$-flood,ip=198.18.202.2/24" "$testguest" -- \
		setup-flood 20000
	expect_status 0
	expect_stdout "setup-flood: 20000 of 20000 refused"
	[ "$(grep -c 'setup refused' "$stderr_file")" -eq 10 ] ||
		fail_check "$(grep -c 'setup refused' "$stderr_file") 'setup refused' lines, not 10"
	expect_stderr "further setup refusals are counted (setup_refused), not shown"
	expect_stderr "nic share:rvl-$$-flood setup_refused 20000"
	expect_no_sanitizer_report
}

test_console_survives_a_closed_reader() {
	timeout -s TERM 60 "$RINGVISOR" run "$testguest" -- big-output 2>"$stderr_file" |
		head -c 10 >/dev/null
	status=${PIPESTATUS[0]}
	expect_status 0
}

test_event_loop_timers() {
	run_launcher run "$testguest" -- timers
	expect_status 0
	expect_stdout "8 fired in order"
}

test_allocator_returns_to_where_it_started() {
	run_launcher run "$testguest" -- alloc
	expect_status 0
	expect_stdout "back to 0 bytes after freeing"
}

test_bad_hypercall_arguments_get_errors() {
	run_launcher run "$testguest" -- hypercalls
	expect_status 0
	expect_stdout "ok"
	expect_no_stderr
}

# ---- crash reports -------------------------------------------------------------------------

test_null_dereference_report() {
	run_launcher run "$testguest" -- null
	expect_status 126
	local address
	address=$(nm "$testguest" | awk '$3 == "crash_null_dereference" { print $1 }')
	[ -n "$address" ] || fail_check "nm found no crash_null_dereference"
	expect_stderr "guest crashed: page fault (#PF), vector 14, at crash_null_dereference+0x"
	# The reported address is the symbol's address plus the reported offset.
	local offset reported
	offset=$(sed -n 's/.* at crash_null_dereference+\(0x[0-9a-f]*\) .*/\1/p' "$stderr_file")
	reported=$(sed -n 's/.* at crash_null_dereference+0x[0-9a-f]* (\([0-9a-f]*\)).*/\1/p' \
		"$stderr_file")
	[ -n "$offset" ] && [ $((0x$address + offset)) -eq $((0x$reported)) ] ||
		fail_check "reported address $reported is not crash_null_dereference ($address) + $offset"
	expect_stderr "#1  "
	expect_stderr "run_crash_null_dereference+0x"
	expect_stderr "faulting address (CR2) 0000000000000000: read, page not present (a NULL pointer dereference)"
	expect_stderr "rip 0000000000"
	expect_stderr "call trace:"
	expect_stderr "kernel_start+0x"
	expect_stderr "stack:"
}

test_write_to_code_is_refused() {
	run_launcher run "$testguest" -- write-code
	expect_status 126
	expect_stderr "at crash_write_code+0x"
	expect_stderr ": write, page protection"
}

test_executing_data_is_refused() {
	run_launcher run "$testguest" -- execute-data
	expect_status 126
	expect_stderr "instruction fetch, page protection"
	expect_stderr "crash_execute_data+0x"
}

test_ports_outside_the_bitmap_fault() {
	run_launcher run "$testguest" -- port
	expect_status 126
	expect_stderr "general protection fault (#GP), vector 13, at crash_forbidden_port+0x"
}

test_invalid_opcode_report() {
	run_launcher run "$testguest" -- ud2
	expect_status 126
	expect_stderr "invalid opcode (#UD), vector 6, at crash_invalid_opcode+0x"
}

# syscall and sysenter: no kernel to call; each ends in a report, whatever the hypervisor does
# (kvm_pvm jumps to MSR_LSTAR in ring 3 rather than raise #UD: the launcher points it at a
# reporting trampoline).
test_syscall_and_sysenter_reports() {
	run_launcher run "$testguest" -- syscall
	expect_status 126
	expect_stderr "a syscall instruction at crash_syscall+0x0"
	run_launcher run "$testguest" -- sysenter
	expect_status 126
	expect_stderr "at crash_sysenter+0x0"
}

test_panic_report() {
	run_launcher run "$testguest" -- panic
	expect_status 126
	expect_stderr "guest panicked: testguest panics on purpose, code 42"
	expect_stderr "raised at crash_panic+0x"
}

test_bad_request_block_stops_the_guest() {
	run_launcher run "$testguest" -- bad-request
	expect_status 126
	expect_stderr "hypercall request block at 0x1001 is misaligned, not in guest RAM"
}

test_forged_exception_reports_are_refused() {
	run_launcher run "$testguest" -- forge-exception
	expect_status 126
	expect_stderr "the guest wrote to the exception port itself"
}

test_request_block_in_code_is_refused() {
	run_launcher run "$testguest" -- read-only-request
	expect_status 126
	expect_stderr "in read-only memory"
}

test_stripped_guest_runs_and_reports_addresses() {
	strip -o "$work_directory/stripped.elf" "$testguest"
	run_launcher run "$work_directory/stripped.elf" -- exit 3
	expect_status 3
	run_launcher run "$work_directory/stripped.elf" -- null
	expect_status 126
	expect_stderr "page fault (#PF), vector 14, at ? ("
}

test_signal_stops_the_launcher_with_a_report() {
	timeout -s KILL 60 "$RINGVISOR" run "$testguest" -- sleep 60000 \
		>"$stdout_file" 2>"$stderr_file" &
	local launcher=$!
	if ! wait_for_output "$stdout_file" "sleeping for 60000 ms" 30; then
		fail_check "the guest never said it was sleeping"
		kill -KILL $launcher 2>/dev/null
	fi
	kill -TERM $launcher 2>/dev/null
	wait $launcher
	status=$?
	expect_status 143
	expect_stderr "launcher stopped by signal 15 (Terminated)"
	expect_stderr "kernel_sleep_until+0x"
}

# ---- the profiler ----------------------------------------------------------------------------

# The function that tops the "by self samples" table in $stderr_file.
top_self_function() {
	awk '/top 20 functions by self samples/ { getline; print $3; exit }' "$stderr_file"
}

test_profile_puts_the_hot_function_on_top() {
	local folded=$work_directory/spin.folded
	run_launcher run --profile "$folded" "$testguest" -- spin 600
	expect_status 0
	expect_stdout "spin: 600 million steps"
	[ "$(top_self_function)" = profile_hot_function ] ||
		fail_check "the profile's top function is '$(top_self_function)', not profile_hot_function"
	expect_stderr "profile: folded stacks in $folded, a flame graph in $folded.svg"
	expect_stderr "profile: sampling cost "
	tests/tools/check_profile.py "$folded" "$testguest" >"$work_directory/check" ||
		fail_check "the profile does not check out: $(head -n 5 "$work_directory/check")"
	grep -q "main;profile_hot_function [0-9]" "$folded" ||
		fail_check "no main;profile_hot_function stack in $folded"
	expect_no_sanitizer_report
}

test_profile_cuts_wild_frame_chains() {
	local folded=$work_directory/wild.folded cut
	run_launcher run --profile "$folded,hz=2000" "$testguest" -- wild-frames 900
	expect_status 0
	expect_stdout "wild-frames: 900 million steps"
	cut=$(sed -n 's/.*samples at 2000 Hz.* (\([0-9]*\) cut at .*/\1/p' "$stderr_file")
	[ "${cut:-0}" -gt 0 ] || fail_check "no sample was cut under looping and wild frames"
	[ "$(top_self_function)" = spin_under_frame ] ||
		fail_check "the profile's top function is '$(top_self_function)', not spin_under_frame"
	tests/tools/check_profile.py "$folded" "$testguest" >"$work_directory/check" ||
		fail_check "the profile does not check out: $(head -n 5 "$work_directory/check")"
	expect_no_sanitizer_report
}

# Under a file-size limit (ulimit -f) the profile written at exit is cut short and said to be,
# and the launcher exits with the guest's status (the previous main died of SIGXFSZ: 153).
test_profile_under_a_file_size_limit() {
	local folded=$work_directory/limited.folded
	bash -c 'ulimit -f 1 && exec "$@"' _ timeout -s TERM -k 5 60 \
		"$RINGVISOR" run --profile "$folded" "$testguest" -- spin 600 \
		>"$stdout_file" 2>"$stderr_file"
	status=$?
	expect_status 0
	expect_stderr "ringvisor: --profile: writing $folded.svg failed: File too large"
	expect_no_sanitizer_report
}

test_profile_of_a_stripped_guest_names_addresses() {
	local folded=$work_directory/stripped.folded
	strip -o "$work_directory/stripped.elf" "$testguest"
	run_launcher run --profile "$folded" "$work_directory/stripped.elf" -- spin 200
	expect_status 0
	expect_stderr "has no symbols (stripped): the profile names guest addresses, not functions"
	tests/tools/check_profile.py "$folded" "$work_directory/stripped.elf" --stripped \
		>"$work_directory/check" ||
		fail_check "the profile does not check out: $(head -n 5 "$work_directory/check")"
	expect_no_sanitizer_report
}

test_bad_profile_and_metrics_options_are_refused() {
	bad_usage "--profile hz=0 is out of range: 1 to 10000 samples a second" \
		run --profile "$work_directory/p,hz=0" "$hello"
	bad_usage "--profile hz=20000 is out of range: 1 to 10000 samples a second" \
		run --profile "$work_directory/p,hz=20000" "$hello"
	bad_usage "after the file name only hz=N is known" \
		run --profile "$work_directory/p,rate=5" "$hello"
	bad_usage "--profile needs a file name" run --profile ",hz=100" "$hello"
	bad_usage "--metrics interval=5 is out of range: 10 to 3600000 milliseconds" \
		run --metrics "$work_directory/m,interval=5" "$hello"
	bad_usage "after the file name only interval=MS is known" \
		run --metrics "$work_directory/m,x=1" "$hello"
	run_launcher run --profile /nonexistent/directory/p "$hello"
	expect_status 125
	expect_stderr "--profile: cannot open profile file /nonexistent/directory/p: No such file or directory"
	run_launcher run --metrics /nonexistent/directory/m "$hello"
	expect_status 125
	expect_stderr "cannot open metrics file /nonexistent/directory/m: No such file or directory"
	mkfifo "$work_directory/no-reader"
	run_launcher run --metrics "$work_directory/no-reader" "$hello"
	expect_status 125
	expect_stderr "(a FIFO with no reader)"
	# Two NICs, one capture file: by name, and by another name for the same file.
	local one=share,name=rvl-$$-a,ip=198.18.200.2/24 other=share,name=rvl-$$-b,ip=198.18.201.2/24
	bad_usage "NICs share:rvl-$$-a and share:rvl-$$-b were given the same pcap file" \
		run --net "$one,pcap=$work_directory/c.pcap" --net "$other,pcap=$work_directory/c.pcap" \
		"$hello"
	ln "$work_directory/c.pcap" "$work_directory/hard.pcap"
	bad_usage "were given the same pcap file ($work_directory/c.pcap, $work_directory/hard.pcap)" \
		run --net "$one,pcap=$work_directory/c.pcap" --net "$other,pcap=$work_directory/hard.pcap" \
		"$hello"
	# Output files someone else could have placed: a symbolic link, another user's file.
	ln -s c.pcap "$work_directory/link.pcap"
	bad_usage "(a symbolic link: name the file itself)" \
		run --net "$one,pcap=$work_directory/link.pcap" "$hello"
	: >"$work_directory/theirs"
	chown nobody "$work_directory/theirs"
	bad_usage "metrics file $work_directory/theirs belongs to uid $(id -u nobody), not to this user" \
		run --metrics "$work_directory/theirs" "$hello"
	[ ! -s "$work_directory/theirs" ] || fail_check "another user's file was written"
	run_launcher run --profile "$work_directory/mine.folded" "$hello"
	expect_status 0
	[ "$(stat -c %a "$work_directory/mine.folded")" = 600 ] ||
		fail_check "the profile is mode $(stat -c %a "$work_directory/mine.folded"), not 600"
	bad_usage "cannot open capture file /nonexistent/directory/c.pcap" \
		run --net "$one,pcap=/nonexistent/directory/c.pcap" "$hello"
	[ -z "$(ls "/dev/shm/ringvisor-$(id -u)" 2>/dev/null | grep "rvl-$$-")" ] ||
		fail_check "a refused launcher left its switch behind"
}

# --cpu N: both threads (the vCPU thread and the I/O thread) may run on CPU N only.
# (allowed_cpus, the CPUs this shell may run on, is in tools/shell_helpers.sh.)

# start_sleeping_guest LAUNCHER OPTIONS...: LAUNCHER runs testguest's `sleep 60000` in the
# background with OPTIONS ($launcher: its pid, stopped with the test); false, with a failed check,
# if the guest never says it is sleeping.
start_sleeping_guest() {
	local binary=$1
	shift
	"$binary" run "$@" "$testguest" -- sleep 60000 >"$stdout_file" 2>"$stderr_file" &
	launcher=$!
	processes+=("$launcher")
	wait_for_output "$stdout_file" "sleeping for 60000 ms" 30 ||
		{ fail_check "the guest never said it was sleeping"; return 1; }
}

test_cpu_pins_both_threads() {
	local cpu
	if [ "$(allowed_cpus | wc -l)" -lt 2 ]; then
		printf '    (one CPU: pinning to it could not be told from not pinning; skipped)\n'
		return 0
	fi
	cpu=$(allowed_cpus | tail -n 1)
	local task threads=0
	start_sleeping_guest "$RINGVISOR" --cpu "$cpu" || return
	for task in /proc/"$launcher"/task/*; do
		threads=$((threads + 1))
		[ "$(awk '/^Cpus_allowed_list/ { print $2 }' "$task/status")" = "$cpu" ] ||
			fail_check "thread $(basename "$task") may run on CPUs $(awk '/^Cpus_allowed_list/ { print $2 }' "$task/status"), not $cpu"
	done
	[ "$threads" -ge 2 ] || fail_check "expected the vCPU and I/O threads, found $threads"
	teardown
}

# ---- what the launcher gives up -------------------------------------------------------------

# status_field FILE NAME: the value of "NAME:" in a /proc status file.
status_field() {
	awk -v name="$2:" '$1 == name { print $2 }' "$1"
}

# Started as root with a descriptor it should not keep (9, opened here), the launcher users run
# (not the sanitized twin, which stays dumpable for LeakSanitizer) holds, in every thread, no
# capability in any set, no_new_privs, no core dumps, at most 256 descriptors, and none of the
# ones it inherited.
test_the_running_launcher_holds_no_privilege() {
	local launcher_built=$BUILD/ringvisor task field value
	[ -x "$launcher_built" ] || { fail_check "$launcher_built is missing"; return; }
	[ "$(id -u)" -eq 0 ] || fail_check "this test must run as root, to see root's powers dropped"
	start_sleeping_guest "$launcher_built" 9>"$work_directory/inherited" || return
	for task in /proc/"$launcher"/task/*; do
		for field in CapInh CapPrm CapEff CapBnd CapAmb; do
			value=$(status_field "$task/status" $field)
			[ "$value" = 0000000000000000 ] ||
				fail_check "thread $(basename "$task"): $field is $value, not 0"
		done
		value=$(status_field "$task/status" NoNewPrivs)
		[ "$value" = 1 ] || fail_check "thread $(basename "$task"): NoNewPrivs is $value, not 1"
	done
	# Its number may be reused for one of the launcher's own: look for the file.
	! ls -l /proc/"$launcher"/fd/ | grep -qF "$work_directory/inherited" ||
		fail_check "the inherited descriptor (9, $work_directory/inherited) is still open"
	grep -qE '^Max core file size +0 +0 ' /proc/"$launcher"/limits ||
		fail_check "core dumps are not off: $(grep 'core file' /proc/"$launcher"/limits)"
	grep -qE '^Max open files +256 +256 ' /proc/"$launcher"/limits ||
		fail_check "open files are not limited to 256: $(grep 'open files' /proc/"$launcher"/limits)"
	kill -TERM "$launcher"
	wait_for_exit "$launcher" 10
	expect_status 143
}

# With --user nobody, every thread of the launcher users run is nobody:nogroup in all four ids,
# with no supplementary group and no capability.
test_user_nobody_gives_up_root() {
	local launcher_built=$BUILD/ringvisor task nobody_id nogroup_id
	nobody_id=$(id -u nobody) && nogroup_id=$(id -g nobody) ||
		{ fail_check "this host has no user nobody"; return; }
	start_sleeping_guest "$launcher_built" --user nobody || return
	for task in /proc/"$launcher"/task/*; do
		[ "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$task/status")" = \
			"$nobody_id $nobody_id $nobody_id $nobody_id" ] ||
			fail_check "thread $(basename "$task"): $(grep '^Uid:' "$task/status")"
		[ "$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "$task/status")" = \
			"$nogroup_id $nogroup_id $nogroup_id $nogroup_id" ] ||
			fail_check "thread $(basename "$task"): $(grep '^Gid:' "$task/status")"
		[ -z "$(awk '$1 == "Groups:" { $1 = ""; print }' "$task/status" | tr -d ' ')" ] ||
			fail_check "thread $(basename "$task"): $(grep '^Groups:' "$task/status")"
		[ "$(status_field "$task/status" CapEff)" = 0000000000000000 ] &&
			[ "$(status_field "$task/status" CapPrm)" = 0000000000000000 ] ||
			fail_check "thread $(basename "$task") kept capabilities"
	done
	kill -TERM "$launcher"
	wait_for_exit "$launcher" 10
	expect_status 143
}

# ---- refusing bad input --------------------------------------------------------------------

test_help_and_version() {
	run_launcher --help
	expect_status 0
	expect_stdout "usage: ringvisor run [options] GUEST.elf"
	expect_stdout "--mem SIZE"
	expect_stdout "--poll USEC"
	run_launcher --version
	expect_status 0
	expect_stdout "guest ABI $(awk '$2 == "RINGVISOR_ABI_VERSION" { print $3 }' abi/ringvisor_abi.h)"
}

# bad_usage EXPECTED-MESSAGE LAUNCHER-ARGUMENTS...
bad_usage() {
	local expected=$1
	shift
	run_launcher "$@"
	expect_status 125
	expect_stderr "$expected"
}

test_bad_options_are_refused() {
	bad_usage "no command given" --mem 64M
	bad_usage "unknown command 'walk'" walk "$hello"
	bad_usage "unknown option '--frobnicate'" run --frobnicate "$hello"
	bad_usage "option '--mem' needs a value" run --mem
	bad_usage "--mem 'lots' is not a size" run --mem lots "$hello"
	bad_usage "--mem 2M is out of range: guest RAM must be from 4M to 4G" run --mem 2M "$hello"
	bad_usage "--mem 8G is out of range" run --mem 8G "$hello"
	bad_usage "--mem '99999999999999999999G' is not a size" run --mem 99999999999999999999G "$hello"
	bad_usage "--mem 5M is not a multiple of 2 MiB" run --mem 5M "$hello"
	bad_usage "no guest given" run
	bad_usage "unexpected argument 'extra' after the guest" run "$hello" extra
	bad_usage "unknown option '-q'" run -q "$hello"
	bad_usage "option '-m' needs a value" run "-m"
	bad_usage "--mem 0 is out of range" run --mem 0 "$hello"
	bad_usage "--mem '64Q' is not a size" run --mem 64Q "$hello"
	bad_usage "--poll 'soon' is not a number of microseconds" run --poll soon "$hello"
	bad_usage "--poll '-1' is not a number of microseconds" run --poll -1 "$hello"
	bad_usage "--poll 1000001 is out of range: 0 to 1000000 microseconds" run --poll 1000001 "$hello"
	bad_usage "option '--poll' needs a value" run --poll
	bad_usage "--user: no user 'no-such-user-here' on this host" run --user no-such-user-here "$hello"
	bad_usage "--user: no group 'no-such-group-here' on this host" \
		run --user nobody:no-such-group-here "$hello"
	bad_usage "that is root (user or group 0), which would give nothing up" run --user root "$hello"
	bad_usage "that is root (user or group 0), which would give nothing up" run --user nobody:0 "$hello"
	bad_usage "--user ':x' is not USER[:GROUP]" run --user :x "$hello"
	bad_usage "--user 54321: no such user here; say its group too (54321:GROUP)" \
		run --user 54321 "$hello"
	bad_usage "--cpu 'first' is not a CPU number" run --cpu first "$hello"
	bad_usage "--cpu '-1' is not a CPU number" run --cpu -1 "$hello"
	bad_usage "--cpu '99999' is not a CPU number" run --cpu 99999 "$hello"
	bad_usage "--cpu 1000: this process may not run there (it may use CPUs" \
		run --cpu 1000 "$hello"
	local outside=0
	while allowed_cpus | grep -qx "$outside"; do outside=$((outside + 1)); done
	bad_usage "--cpu $outside: this process may not run there" run --cpu "$outside" "$hello"
	run_launcher run "$testguest" -- exit -1
	expect_status 126
	expect_stderr "outside 0-124"
}

test_guest_arguments_beyond_the_limits_are_refused() {
	local many=() long
	for index in $(seq 300); do many+=("a$index"); done
	bad_usage "more than the 255 it can be given" run "$hello" -- "${many[@]}"
	long=$(head -c 9000 /dev/zero | tr '\0' 'y')
	bad_usage "arguments take more than 8192 bytes" run "$hello" -- "$long"
}

test_unreadable_guests_are_refused() {
	bad_usage "cannot open guest /nonexistent/guest.elf: No such file or directory" \
		run /nonexistent/guest.elf
	bad_usage "is not a regular file" run "$work_directory"
	mkfifo "$work_directory/fifo"
	bad_usage "is not a regular file" run "$work_directory/fifo"
}

test_bad_elf_files_are_refused() {
	local bad_directory=$work_directory/bad-elves
	mkdir -p "$bad_directory"
	"$BUILD/tests/bad_elf_maker" "$hello" "$bad_directory" >"$work_directory/bad-list" ||
		fail_check "bad_elf_maker failed"
	local count=0 file expected
	while IFS=$'\t' read -r file expected; do
		count=$((count + 1))
		run_launcher run "$file"
		if [ "$status" -ne 125 ] || ! grep -qF -- "$expected" "$stderr_file"; then
			fail_check "$(basename "$file"): expected status 125 and '$expected'," \
				"got $status: $(head -c 300 "$stderr_file")"
		fi
	done <"$work_directory/bad-list"
	[ "$count" -ge 28 ] || fail_check "only $count bad ELF files were made"
}

run_test "hello prints its arguments" test_hello_prints_its_arguments
run_test "hello without arguments" test_hello_without_arguments
run_test "smallest and largest --mem" test_smallest_and_largest_memory
run_test "exit codes pass through" test_exit_codes_pass_through
run_test "exit code out of range is a crash" test_exit_code_out_of_range_is_a_crash
run_test "wait never returns early" test_wait_never_returns_early
run_test "event loop timers" test_event_loop_timers
run_test "timer heap under stress" test_timer_heap_under_stress
run_test "console output longer than one write" test_console_output_longer_than_one_write
run_test "console survives a closed reader" test_console_survives_a_closed_reader
run_test "console output is defanged" test_console_output_is_defanged
run_test "refused setups cannot flood stderr" test_refused_setups_cannot_flood_stderr
run_test "allocator returns to where it started" test_allocator_returns_to_where_it_started
run_test "bad hypercall arguments get errors" test_bad_hypercall_arguments_get_errors
run_test "NULL dereference report" test_null_dereference_report
run_test "writing to code is refused" test_write_to_code_is_refused
run_test "executing data is refused" test_executing_data_is_refused
run_test "ports outside the bitmap fault" test_ports_outside_the_bitmap_fault
run_test "invalid opcode report" test_invalid_opcode_report
run_test "syscall and sysenter reports" test_syscall_and_sysenter_reports
run_test "panic report" test_panic_report
run_test "bad request block stops the guest" test_bad_request_block_stops_the_guest
run_test "forged exception reports are refused" test_forged_exception_reports_are_refused
run_test "request block in code is refused" test_request_block_in_code_is_refused
run_test "stripped guest" test_stripped_guest_runs_and_reports_addresses
run_test "signal stops the launcher with a report" test_signal_stops_the_launcher_with_a_report
run_test "--cpu pins the vCPU and I/O threads" test_cpu_pins_both_threads
run_test "--profile puts the hot function on top" test_profile_puts_the_hot_function_on_top
run_test "--profile cuts wild frame chains" test_profile_cuts_wild_frame_chains
run_test "--profile of a stripped guest" test_profile_of_a_stripped_guest_names_addresses
run_test "bad --profile, --metrics and pcap= are refused" test_bad_profile_and_metrics_options_are_refused
run_test "the running launcher holds no privilege" test_the_running_launcher_holds_no_privilege
run_test "--user nobody gives up root" test_user_nobody_gives_up_root
run_test "a file-size limit cuts the profile short, not the launcher" test_profile_under_a_file_size_limit
run_test "--help and --version" test_help_and_version
run_test "bad options are refused" test_bad_options_are_refused
run_test "guest arguments beyond the limits" test_guest_arguments_beyond_the_limits_are_refused
run_test "unreadable guests are refused" test_unreadable_guests_are_refused
run_test "bad ELF files are refused" test_bad_elf_files_are_refused
summary
