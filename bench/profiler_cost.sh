#!/usr/bin/env bash
# profiler_cost.sh: what --profile costs a CPU-bound guest, against what it says it costs.
#
# The testguest's `spin` mode does a fixed amount of work in one function and says how long it
# took. Each round runs it without the profiler, then with `--profile ...,hz=HZ`, interleaved
# (baseline, profiled, baseline, profiled ...), so both see the same machine. Prints the median
# (min-max) run time of each, the slowdown, and the sampling cost the profiler reported for
# itself: a profiler whose own account is honest reports about the slowdown it causes.
#
#	bench/profiler_cost.sh [--runs N] [--millions M] [--hz HZ]
set -u
cd "$(dirname "$0")/.." || exit 1
. tools/shell_helpers.sh
runs=5 millions=1000 hz=997
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:?}; shift 2 ;;
	--millions) millions=${2:?}; shift 2 ;;
	--hz) hz=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "profiler_cost: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"
guest=$BUILD/tests/guests/testguest.elf
for needed in "$RINGVISOR" "$guest"; do
	[ -e "$needed" ] || { echo "profiler_cost: $needed is missing (make it first)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/ringvisor-profiler-cost.XXXXXX)
trap 'rm -rf "$work"' EXIT

# spin_us [LAUNCHER OPTIONS]: the guest's own time for the work, in microseconds.
spin_us() {
	"$RINGVISOR" run "$@" "$guest" -- spin "$millions" 2>"$work/stderr" |
		sed -n 's/^spin: .* in \([0-9]*\) us .*/\1/p'
}

plain=() profiled=() claimed=()
for ((round = 1; round <= runs; round++)); do
	plain+=("$(spin_us)")
	profiled+=("$(spin_us --profile "$work/p.folded,hz=$hz")")
	claimed+=("$(sed -n 's/.*ms, \([0-9.]*\)% of the run.*/\1/p' "$work/stderr")")
done

# stats VALUES...: "median (min-max)" of numbers (median: tools/shell_helpers.sh).
stats() {
	printf '%s (%s-%s)' "$(printf '%s\n' "$@" | median)" \
		"$(printf '%s\n' "$@" | sort -g | head -n 1)" "$(printf '%s\n' "$@" | sort -g | tail -n 1)"
}

echo "profiler cost: testguest spin $millions (a fixed amount of work), $runs interleaved rounds"
printf '  %-34s %s us\n' "without --profile" "$(stats "${plain[@]}")"
printf '  %-34s %s us\n' "with --profile at $hz Hz" "$(stats "${profiled[@]}")"
awk -v a="$(printf '%s\n' "${plain[@]}" | median)" -v b="$(printf '%s\n' "${profiled[@]}" | median)" \
	-v c="$(printf '%s\n' "${claimed[@]}" | median)" \
	'BEGIN { printf "  slowdown %.2f%% (medians); the profiler reported %.2f%% for itself\n",
		100 * (b - a) / a, c }'
