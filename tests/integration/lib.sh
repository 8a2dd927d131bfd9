# Shared helpers for Ringvisor's integration tests (sourced, not run).
#
# Each test is a shell function; run_test runs it, counts it and prints "ok" or "FAILED" with
# what was expected. The script ends with summary, which prints "N passed, N failed" (the
# closing line CI reads) and sets the exit status.
#
# run_launcher ARGS... runs the launcher with a timeout and leaves its status in $status and
# its output in $stdout_file and $stderr_file. No test sleeps and hopes: anything that
# waits, waits for a condition, with a deadline (wait_for_output).

set -u
. "$(dirname "${BASH_SOURCE[0]}")/../../tools/shell_helpers.sh"

passed=0
failed=0
failures=""
work_directory=$(mktemp -d /tmp/ringvisor-test.XXXXXX)
stdout_file=$work_directory/stdout
stderr_file=$work_directory/stderr
status=0
test_failed=0
launcher_timeout=${LAUNCHER_TIMEOUT:-60}

cleanup_work_directory() {
	rm -rf "$work_directory"
}

# Tests that start processes in the background and create network namespaces add them to
# these lists; teardown kills and deletes them (after each test, and on every exit path).
processes=()
namespaces=()

teardown() {
	local pid namespace
	for pid in "${processes[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${processes[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for namespace in "${namespaces[@]}"; do
		ip netns del "$namespace" 2>/dev/null
	done
	processes=()
	namespaces=()
}

trap 'teardown; cleanup_work_directory' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_launcher() {
	timeout -s TERM -k 5 "$launcher_timeout" "$RINGVISOR" "$@" >"$stdout_file" 2>"$stderr_file"
	status=$?
}

fail_check() {
	test_failed=1
	printf '    %s\n' "$*"
}

show_output() {
	printf '    --- stdout:\n'
	sed 's/^/    | /' "$stdout_file" | head -n 30
	printf '    --- stderr:\n'
	sed 's/^/    | /' "$stderr_file" | head -n 30
}

expect_status() {
	[ "$status" -eq "$1" ] || fail_check "expected exit status $1, got $status"
}

expect_stdout() {
	grep -qF -- "$1" "$stdout_file" || fail_check "expected stdout to contain: $1"
}

expect_stderr() {
	grep -qF -- "$1" "$stderr_file" || fail_check "expected stderr to contain: $1"
}

expect_no_stderr() {
	[ ! -s "$stderr_file" ] || fail_check "expected nothing on stderr"
}

# wait_for_exit PID SECONDS: waits for PID to exit and sets $status; kills it at the deadline.
wait_for_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail_check "process $pid was still running after $2 s; killed"
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.02
	done
	wait "$pid"
	status=$?
}

# expect_no_sanitizer_report [FILE...]: nothing in $stderr_file (or the FILEs) from ASan/UBSan.
expect_no_sanitizer_report() {
	local file
	for file in "$@"; do # a file named here that does not exist would pass unread
		[ -e "$file" ] || fail_check "no output file $file to check for sanitizer reports"
	done
	! grep -sqE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
		"$stderr_file" "$@" || fail_check "a sanitizer report in the output"
}

# new_namespace PREFIX NETWORK [tap]: a network namespace PREFIX-PID-N of the test's own, with
# IPv6 off (the host kernel then sends nothing on a TAP that the test did not ask for) and lo up.
# Sets $ns (also the name of the TAP in it), $host_ip and $guest_ip (NETWORK.N.1 and .2) and
# $net, the launcher's --net value ($guest_mac if the script sets it; fault keys may be
# appended). With "tap", also creates the TAP, addressed and up, so the guest's first ARP is
# answered; without, the launcher creates it (see wait_for_tap).
namespace_index=0

# make_namespace NAME: a namespace with IPv6 off and lo up, torn down with the test.
make_namespace() {
	namespaces+=("$1")
	namespace_create "$1" || { fail_check "cannot create namespace $1"; return 1; }
}

new_namespace() {
	namespace_index=$((namespace_index + 1))
	ns=$1-$$-$namespace_index
	local subnet=$2.$((namespace_index % 250 + 1))
	host_ip=$subnet.1
	guest_ip=$subnet.2
	net=tap,ifname=$ns${guest_mac:+,mac=$guest_mac},ip=$guest_ip/24,gw=$host_ip
	make_namespace "$ns" || return 1
	[ "${3:-}" = tap ] || return 0
	ip -n "$ns" tuntap add dev "$ns" mode tap vnet_hdr &&
		ip -n "$ns" addr add "$host_ip/24" dev "$ns" &&
		ip -n "$ns" link set "$ns" up ||
		{ fail_check "cannot set up TAP $ns"; return 1; }
}

# in_ns COMMAND...: runs COMMAND in the test's namespace.
in_ns() {
	ip netns exec "$ns" "$@"
}

# wait_for_tap NAMESPACE TAP PID SECONDS: true once the launcher PID has created TAP in
# NAMESPACE; a failed check if it exits first or the deadline passes.
wait_for_tap() {
	wait_for_link "$1" "$2" "$4" "$3" || { fail_check "the launcher never created TAP $2"; return 1; }
}

# wait_for_output FILE TEXT SECONDS: true once FILE contains TEXT, false at the deadline.
wait_for_output() {
	wait_for_text "$@"
}

# TESTS=PATTERN (an extended regular expression) runs only the tests whose names match it;
# the others are neither run nor counted.
run_test() {
	local name=$1
	shift
	[[ -z ${TESTS:-} || $name =~ $TESTS ]] || return 0
	test_failed=0
	"$@"
	local returned=$?
	# A test that stops early says why with fail_check; one that did not (a command missing,
	# a helper's failure unchecked) must not count as passed.
	[ "$returned" -eq 0 ] || [ "$test_failed" -ne 0 ] ||
		fail_check "the test stopped early (status $returned) without a check failing"
	if [ "$test_failed" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok      %s\n' "$name"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		printf 'FAILED  %s\n' "$name"
		show_output
	fi
}

summary() {
	[ "$failed" -eq 0 ] || printf 'failed:%s\n' "$failures"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ]
}
