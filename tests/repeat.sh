#!/usr/bin/env bash
# repeat.sh: runs the whole test suite again and again, optionally with a CPU kept busy, to show
# that it passes every time and not just once. `make test-repeat N=10 [LOAD=1]` calls it; run it
# before saying a change is done, because a test that fails one time in five blocks every landing.
#
#	tests/repeat.sh [--load] RUNS
#
# Each run is `make check`, its output kept in $BUILD/test-repeat/run-K.log. With --load,
# `stress-ng --cpu 1` keeps one core busy for the whole time (on 2 cores, the tests' guests, the
# launchers' threads and the host's clients then compete for the other), which is how a test that
# holds only at some speed shows itself. At the end: one line per run with its closing line and
# the names of the tests that failed in it, then "N passed, N failed" counting runs, and the exit
# status is 0 only if every run passed.
set -u
cd "$(dirname "$0")/.." || exit 2

load=0
if [ "${1:-}" = --load ]; then
	load=1
	shift
fi
runs=${1:-}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: tests/repeat.sh [--load] RUNS (a count of 1 or more)" >&2; exit 2; }

make_command=${MAKE:-make}
logs=${BUILD:-build}/test-repeat
mkdir -p "$logs" || exit 2

stress=
stop_stress() {
	[ -z "$stress" ] && return
	kill -TERM "$stress" 2>/dev/null
	wait "$stress" 2>/dev/null
	stress=
}
trap stop_stress EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$load" -eq 1 ]; then
	command -v stress-ng >/dev/null ||
		{ echo "repeat: --load needs stress-ng (Debian's stress-ng; make test-repeat installs it)" >&2; exit 2; }
	stress-ng --cpu 1 --quiet &
	stress=$!
	echo "repeat: stress-ng --cpu 1 (pid $stress) keeps one core busy throughout"
fi

runs_passed=0
runs_failed=0
results=()
for run in $(seq 1 "$runs"); do
	log=$logs/run-$run.log
	echo "==== run $run of $runs${stress:+, one core busy} (output in $log)"
	started=$SECONDS
	$make_command --no-print-directory check >"$log" 2>&1
	status=$?
	closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	failures=$(sed -nE -e '/listed below/d' -e 's/^(FAILED|\[  FAILED  \]) +//p' "$log" |
		paste -sd ';' -)
	if [ "$status" -eq 0 ]; then
		runs_passed=$((runs_passed + 1))
		verdict=passed
	else
		runs_failed=$((runs_failed + 1))
		verdict="FAILED${failures:+: $failures}"
	fi
	results+=("run $run: ${closing:-no closing line} in $((SECONDS - started)) s, $verdict")
	echo "${results[-1]}"
done
stop_stress

echo "==== every run"
printf '%s\n' "${results[@]}"
echo "runs:"
printf '%d passed, %d failed\n' "$runs_passed" "$runs_failed"
[ "$runs_failed" -eq 0 ]
