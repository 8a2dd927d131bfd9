# shell_helpers.sh: the waits and namespaces every Ringvisor script needs, defined once (sourced).
#
# The demo (tools/demo.sh), the benchmarks (bench/) and the integration tests
# (tests/integration/lib.sh) all start a launcher, wait for it to create its TAP or for the guest
# to say something, and build network namespaces. Nothing here sleeps and hopes: every wait is
# for a condition, with a deadline, and gives up early when the process it waits on has died.

# wait_for_text FILE TEXT SECONDS [PID]: true once FILE contains TEXT; false at the deadline, or
# as soon as PID (if given) has exited without writing it.
wait_for_text() {
	local deadline=$((SECONDS + $3))
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ] || { [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; }; then
			grep -qF -- "$2" "$1" 2>/dev/null # it may have written it just before it exited
			return
		fi
		sleep 0.02
	done
}

# wait_for_link NAMESPACE LINK SECONDS [PID]: true once LINK exists in NAMESPACE (a launcher
# creates its TAP); false at the deadline or once PID has exited.
wait_for_link() {
	local deadline=$((SECONDS + $3))
	until ip -n "$1" link show dev "$2" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ] || { [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; }; then
			return 1
		fi
		sleep 0.02
	done
}

# namespace_create NAME: a network namespace with IPv6 off (the kernel then sends nothing on a
# link that nobody asked for) and lo up. The caller deletes it (ip netns del) on every exit path.
namespace_create() {
	ip netns add "$1" || return 1
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 &&
		ip -n "$1" link set lo up
}

# allowed_cpus: the CPUs this shell may run on, one a line (Cpus_allowed_list, "0-1,4" expanded).
allowed_cpus() {
	local key list item
	while read -r key list; do
		[ "$key" = Cpus_allowed_list: ] || continue
		for item in ${list//,/ }; do
			if [[ $item == *-* ]]; then seq "${item%-*}" "${item#*-}"; else echo "$item"; fi
		done
	done </proc/self/status
}

# median: the median of the numbers on stdin, one a line ("nan" if there are none).
median() {
	sort -g | awk '{ value[NR] = $1 } END {
		if (NR == 0) print "nan"; else if (NR % 2) print value[(NR + 1) / 2];
		else print (value[NR / 2] + value[NR / 2 + 1]) / 2 }'
}

# wait_for_lines FILE COUNT SECONDS [PID]: true once FILE has COUNT lines; false at the
# deadline, or once PID has exited with fewer.
wait_for_lines() {
	local deadline=$((SECONDS + $3)) lines
	while :; do
		lines=$(wc -l <"$1" 2>/dev/null || echo 0)
		[ "$lines" -ge "$2" ] && return 0
		if [ "$SECONDS" -ge "$deadline" ] || { [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; }; then
			return 1
		fi
		sleep 0.02
	done
}
