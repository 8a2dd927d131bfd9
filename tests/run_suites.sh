#!/usr/bin/env bash
# run_suites.sh: runs every test suite, whatever happens to the ones before it, then prints one
# summary of them all. `make check` (and so `make test`) calls it with the suites' make targets.
#
#	tests/run_suites.sh SUITE...
#
# Each SUITE is a make target that builds and runs one suite. Its output is shown as it runs and
# kept in $BUILD/test-logs/SUITE.log. Its tests are counted from the closing lines each kind of
# suite prints: cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)", Python
# unittest's "Ran N tests" and "FAILED (failures=N, errors=N)", and the integration scripts'
# "N passed, N failed". A suite whose make target fails without a failed test to show for it (it
# did not build, it crashed, it stopped early) counts as one failed test, so no failure is lost.
#
# The last line is the closing line CI reads, "N passed, N failed", over every suite; the exit
# status is 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -gt 0 ] || { echo "usage: tests/run_suites.sh SUITE..." >&2; exit 2; }

make_command=${MAKE:-make}
logs=${BUILD:-build}/test-logs
mkdir -p "$logs" || exit 2

# count_tests LOG: prints "PASSED FAILED" as the suite's own closing lines say.
count_tests() {
	awk '
		/^\[  PASSED  \] [0-9]+ test\(s\)\./ { passed += $4 }
		/^\[  FAILED  \] [0-9]+ test\(s\), listed below:/ { failed += $4 }
		/^Ran [0-9]+ tests? in / { ran += $2 }
		/^FAILED \(/ {
			line = $0
			while (match(line, /(failures|errors)=[0-9]+/)) {
				part = substr(line, RSTART, RLENGTH)
				sub(/.*=/, "", part)
				unittest_failed += part
				line = substr(line, RSTART + RLENGTH)
			}
		}
		/^[0-9]+ passed, [0-9]+ failed$/ { passed += $1; failed += $3 }
		END {
			passed += ran - unittest_failed
			failed += unittest_failed
			print passed + 0, failed + 0
		}' "$1"
}

total_passed=0
total_failed=0
rows=()
for suite; do
	log=$logs/$suite.log
	echo "==== $suite"
	started=$SECONDS
	$make_command --no-print-directory "$suite" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	read -r passed failed < <(count_tests "$log")
	verdict=ok
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
		verdict="FAILED (make $suite exited $status with no failed test to show: see $log)"
	elif [ "$failed" -ne 0 ]; then
		verdict=FAILED
	fi
	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	rows+=("$(printf '%-22s %7d %7d %8d  %s' "$suite" "$passed" "$failed" \
		$((SECONDS - started)) "$verdict")")
done

echo "==== every suite"
printf '%-22s %7s %7s %8s\n' suite passed failed seconds
printf '%s\n' "${rows[@]}"
printf '%d passed, %d failed\n' "$total_passed" "$total_failed"
[ "$total_failed" -eq 0 ]
