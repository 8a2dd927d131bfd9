#!/usr/bin/env bash
# dependencies.sh: the Debian packages each job needs, installed in one place.
#
# `make run`, `make test`, `make bench`, `make table` and .ci/run all call this first, so that a
# bare Debian 12 machine needs nothing typed beyond the make command. It asks dpkg which of the
# job's packages are missing; if none are, it says nothing and costs nothing. As root it runs
# `apt-get update` and installs the missing ones; otherwise it prints the one apt-get line to run
# and fails, so the job stops before it builds half of itself.
#
#	tools/dependencies.sh [--print | --missing] JOB...
#
# JOB is one or more of:
#   build   the launcher and guests (gcc, make, binutils)
#   run     the demo and the benchmarks: a guest behind a TAP, ping, iperf3, the table's plotting,
#           stress-ng (bench/polling.sh --load)
#   test    every test: cmocka, clang with its sanitizer and fuzzer runtimes, iperf3, ping,
#           stress-ng (for make test-repeat LOAD=1)
#   peers   the rivals in the table: QEMU (TCG), User-Mode Linux, a Debian kernel and initramfs
# --print    only print the packages the jobs need, one line, and exit.
# --missing  only print those of them that are not installed (nothing if none), and exit.
set -u

packages_for() {
	case $1 in
	build) echo build-essential binutils coreutils ;;
	run) echo iproute2 iputils-ping procps iperf3 nftables python3 python3-matplotlib stress-ng ;;
	test) echo clang libclang-rt-14-dev libcmocka-dev iproute2 iputils-ping procps iperf3 tcpdump \
		python3 python3-matplotlib stress-ng ;;
	peers) echo qemu-system-x86 user-mode-linux linux-image-amd64 busybox-static cpio kmod ;;
	*) return 1 ;;
	esac
}

mode=install
case ${1:-} in
--print) mode=print; shift ;;
--missing) mode=missing; shift ;;
esac
[ $# -gt 0 ] || { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

wanted=()
for job; do
	list=$(packages_for "$job") || { echo "dependencies: no such job '$job' (build, run, test, peers)" >&2; exit 2; }
	# shellcheck disable=SC2206
	wanted+=($list)
done
mapfile -t wanted < <(printf '%s\n' "${wanted[@]}" | sort -u)

if [ "$mode" = print ]; then
	echo "${wanted[*]}"
	exit 0
fi

missing=()
for package in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)
	[ "$status" = installed ] || missing+=("$package")
done
if [ "$mode" = missing ]; then
	[ ${#missing[@]} -eq 0 ] || echo "${missing[*]}"
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "dependencies: missing Debian packages: ${missing[*]}" >&2
	echo "dependencies: as root, run:  $line" >&2
	exit 1
fi

echo "dependencies: installing from Debian: ${missing[*]}"
log=$(mktemp /tmp/ringvisor-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive
if apt-get update >"$log" 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	rm -f "$log"
	exit 0
fi
tail -n 20 "$log" >&2
echo "dependencies: '$line' failed; the whole log is $log" >&2
exit 1
