#!/usr/bin/env bash
# lguest_table.sh: lguest's 2007 network table (iperf, MByte/s), measured again on this machine.
#
# The 2007 table has rows (host; host with a bridge; guest bridged; guest behind NAT; guest to
# host) and three columns: "loopback" (iperf client and server on the one system), "client" (the
# system under test runs the client, so it sends) and "server" (it runs the server and receives).
# This rebuilds it with the stock iperf3 (TCP, one stream), RUNS runs a cell, for the host (its
# loopback, a veth pair to a "remote" namespace, the same through a Linux bridge), the Ringvisor
# guest (and two guests on its `share` switch, lguest's --sharenet done again) and, with --peers,
# the rivals QEMU (TCG) and User-Mode Linux. A row whose system cannot run here prints "-" and a
# footnote saying why; no number is made up.
#
# This file is the driver: options, prerequisites, then main. The parts it sources:
#   common.sh        process handling, progress lines, the raw measurements file
#   topology.sh      the namespaces, veth pairs, bridge, TAP and NAT every row runs on
#   linux_guest.sh   the initramfs and console plumbing QEMU and UML share
#   systems/*.sh     one file a system under test, each the interface below
#   rows.sh          the 2007 rows and columns, and how one cell is measured
#   report.py        (Debian's /usr/bin/python3) the statistics, tables, JSON and chart, from
#                    the raw file alone
# Output: the tables on stdout (also OUT/table.txt), OUT/measurements.jsonl (every run, raw),
# OUT/results.json (every run, the statistics, versions, the machine) and OUT/throughput.png/.svg.
set -u
cd "$(dirname "$0")/../.." || exit 1

# ---- the interface of a system under test --------------------------------------------------------
#
# bench/table/systems/NAME.sh defines these functions, each named NAME_function; the rows call
# nothing else of a system, so adding a system is adding a file. The driver refuses to start if
# one is missing.
#   title                    its name in the tables ("QEMU 7.2 TCG")
#   prepare                  run once, after the topology is built and before any row: build or
#                            probe what it needs (may do nothing)
#   why_unavailable          prints nothing if it can run here, else why not (its cells' footnote)
#   start [TAP ADDR/LEN GW]  boot it in $host_ns with its one NIC on the existing TAP (the host
#                            rows call it without arguments)
#   stop                     shut it down, its iperf3 server with it
#   iperf3_server            start "iperf3 -s" inside it and return once it listens; if one is up
#                            already, do nothing
#   iperf3_client ADDR ARGS...   run "iperf3 -c ADDR ARGS..." inside it to the end; print its output
#   loopback_unavailable     prints nothing if it can measure the loopback column, else why not
#   iperf3_loopback ARGS...  iperf3 client and server both inside it, over its own loopback; print
#                            the client's output (called once a run)
#   congestion_control       the TCP congestion control its sender runs
#   pair_links               the links its guest pairs can use, of "bridge" (a TAP each on the
#                            host's bridge $br) and "share" (its own switch, no host network stack)
#   pair_start LINK A B      boot two guests on LINK, A/24 running "iperf3 -s", B/24 the client
#   pair_client ADDR ARGS... run "iperf3 -c ADDR ARGS..." in guest B; print its output
#   pair_stop                shut both down
# What a system may use: the topology's names ($host_ns, $tap, $br, $short, $tag, $loopback_ip,
# $port), the options ($seconds, $omit, $peers), $work (scratch), $out, $BUILD, $RINGVISOR and the
# helpers in common.sh (spawn, stop, running, listening, progress, raw_record).
system_interface=(title prepare why_unavailable start stop iperf3_server iperf3_client
	loopback_unavailable iperf3_loopback congestion_control pair_links pair_start pair_client pair_stop)
guest_systems=(ringvisor qemu uml) # the host is a system too, for the host rows

runs=5
seconds=10
omit=1
peers=no
systems=()
install=yes
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"
out=$BUILD/bench-table

usage() {
	cat <<EOF
usage: bench/table/lguest_table.sh [--runs N] [--seconds S] [--omit S] [--quick] [--peers]
                                   [--systems "LIST"] [--out DIR] [--no-install]

lguest's 2007 network table (Rusty Russell's iperf figures, MByte/s) measured again on this
machine with the stock iperf3 (TCP, one stream): host loopback, host to a "remote" network
namespace over veth and through a Linux bridge, and the guest rows (bridged, NAT, guest to host,
guest to guest on a bridge, and for Ringvisor guest to guest on its shared-memory switch) for
every system under test that can run here. Prints the table in MByte/s, in Gbit/s and as a
percentage of the host row measured in the same run, with the 2007 table beside it; writes
OUT/results.json (every run, versions, machine), OUT/measurements.jsonl (the raw runs) and
OUT/throughput.png and .svg.

  --runs N      runs of each measurement; tables show the median, min and max (default $runs)
  --seconds S   length of each iperf3 run (default $seconds)
  --omit S      seconds of each run left out of the figure (iperf3 -O, slow start; default $omit)
  --quick       a short run: --runs 3 --seconds 2 --omit 0 (host and Ringvisor rows: about
                a minute and a half; with --peers add a few minutes for QEMU and UML)
  --peers       add the rivals: QEMU 7.2 (TCG, virtio-net, TAP) and User-Mode Linux (vector TAP),
                installing tools/dependencies.sh's "peers" packages from Debian if missing; the
                initramfs is built in OUT at run time
  --systems "LIST"  the guest systems to measure, of: ${guest_systems[*]} (default: all with
                --peers, else ringvisor)
  --out DIR     where the results go (default \$BUILD/bench-table, BUILD defaulting to build)
  --no-install  never run apt-get; stop and say what is missing instead

Always needed: root, TUN (/dev/net/tun) and tools/dependencies.sh's "build" and "run" packages
(iproute2, iperf3, nftables for the NAT rows, python3-matplotlib for the chart); missing ones are
installed with apt-get unless --no-install. Environment: RINGVISOR (default \$BUILD/ringvisor),
BUILD.
EOF
}

usage_error() {
	echo "lguest_table: $*" >&2
	echo "lguest_table: see bench/table/lguest_table.sh --help" >&2
	exit 2
}

# option_value OPTION VALUE: VALUE, or a clear error if the option came without one.
option_value() {
	[ -n "${2:-}" ] && [[ $2 != --* ]] || usage_error "$1 needs a value"
	echo "$2"
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) runs=$(option_value "$@") || exit; shift 2 ;;
	--seconds) seconds=$(option_value "$@") || exit; shift 2 ;;
	--omit) omit=$(option_value "$@") || exit; shift 2 ;;
	--quick) runs=3; seconds=2; omit=0; shift ;;
	--peers) peers=yes; shift ;;
	--systems) value=$(option_value "$@") || exit; read -ra systems <<<"$value"; shift 2 ;;
	--out) out=$(option_value "$@") || exit; shift 2 ;;
	--no-install) install=no; shift ;;
	*) usage_error "unknown option '$1'" ;;
	esac
done
for value in "$runs" "$seconds" "$omit"; do
	case $value in '' | *[!0-9]*) usage_error "'$value' is not a whole number" ;; esac
done
[ "$runs" -ge 1 ] && [ "$seconds" -ge 1 ] || usage_error "--runs and --seconds must be at least 1"
# Without --peers the rivals cannot run: their rows are left out unless --systems names them.
[ ${#systems[@]} -gt 0 ] || if [ "$peers" = yes ]; then systems=("${guest_systems[@]}"); else systems=(ringvisor); fi
for system in "${systems[@]}"; do
	[[ " ${guest_systems[*]} " == *" $system "* ]] ||
		usage_error "--systems: no system '$system' (there are: ${guest_systems[*]})"
done

source bench/table/common.sh
source bench/table/topology.sh
source bench/table/linux_guest.sh
for system in host "${guest_systems[@]}"; do
	source "bench/table/systems/$system.sh"
	for function in "${system_interface[@]}"; do
		declare -F "${system}_$function" >/dev/null ||
			die "bench/table/systems/$system.sh does not define ${system}_$function (see the interface in $0)"
	done
done
source bench/table/rows.sh

# ---- prerequisites ---------------------------------------------------------------------------

installed=() # what tools/dependencies.sh installed for this run: the report says so

prerequisites() {
	[ "$(id -u)" -eq 0 ] || die "needs root (it creates network namespaces, veth pairs, bridges and TAPs): run it with sudo"
	[ -c /dev/net/tun ] || die "needs TUN/TAP (/dev/net/tun is missing: modprobe tun, or a kernel with CONFIG_TUN)"
	local jobs=(build run) missing
	[ "$peers" = yes ] && jobs+=(peers)
	missing=$(tools/dependencies.sh --missing "${jobs[@]}")
	if [ -n "$missing" ]; then
		[ "$install" = yes ] ||
			die "missing: $missing (tools/dependencies.sh ${jobs[*]} installs them; or run without --no-install)"
		tools/dependencies.sh "${jobs[@]}" >&2 || die "tools/dependencies.sh ${jobs[*]} failed"
		read -ra installed <<<"$missing"
	fi
}

# ---- the run's facts, for the report ---------------------------------------------------------

first_line() { "$@" 2>/dev/null | head -n 1; }
package_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

# record_meta: the "meta" line of the raw file: parameters, machine, versions, systems, topology.
record_meta() {
	local key value cpu= memory_kib= system titles=() share=() uml= qemu_kernel= busybox= amx=false
	while IFS=: read -r key value; do
		[[ $key == "model name"* ]] && { cpu=${value# }; break; }
	done </proc/cpuinfo
	while read -r key value _; do
		[ "$key" = MemTotal: ] && memory_kib=$value
	done </proc/meminfo
	grep -qw amx_tile /proc/cpuinfo && amx=true
	for system in host "${systems[@]}"; do
		titles+=("$system=$("$system"_title)")
		has_share "$system" && share+=("$system")
	done
	command -v linux.uml >/dev/null &&
		uml="$(first_line linux.uml --version) (Debian user-mode-linux $(package_version user-mode-linux))"
	if [ "$peers" = yes ]; then
		[ -n "$linux_guest_kernel" ] &&
			qemu_kernel="$linux_guest_kernel (Debian linux-image-amd64 $(package_version linux-image-amd64))"
		busybox=$(first_line busybox)
	fi
	raw_record meta date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" runs:="$runs" seconds:="$seconds" \
		omit:="$omit" peers:="$([ "$peers" = yes ] && echo true || echo false)" \
		cpu="$cpu" cores:="$(nproc)" memory_kib:="$memory_kib" amx:="$amx" \
		debian="$(cat /etc/debian_version 2>/dev/null)" \
		host_kernel="$(uname -r)" host_kernel_build="$(uname -v)" \
		iperf3="$(first_line iperf3 --version)" \
		qemu="$(command -v qemu-system-x86_64 >/dev/null && first_line qemu-system-x86_64 --version)" \
		qemu_guest_kernel="$qemu_kernel" uml="$uml" gcc="$(first_line gcc --version)" \
		busybox="$busybox" nftables="$(first_line nft --version)" \
		ringvisor="$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')" \
		host_congestion_control="$(ip netns exec "$host_ns" sysctl -n net.ipv4.tcp_congestion_control)" \
		bridge_nf_call_iptables="$(ip netns exec "$host_ns" sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null)" \
		installed:="$(json_list "${installed[@]}")" uml_preload="$uml_preload" \
		systems:="$(json_list "${systems[@]}")" titles:="$(json_object "${titles[@]}")" \
		share:="$(json_list "${share[@]}")" ringvisor_cpus:="$(json_list "${ringvisor_cpus[@]}")" \
		topology:="$(mapfile -t lines < <(topology_description); json_list "${lines[@]}")"
}

# ---- main ------------------------------------------------------------------------------------

cleanup() {
	stop_all
	topology_cleanup
	rm -rf "$work"
}

main() {
	local system why
	prerequisites
	work=$(mktemp -d /tmp/lguest-table.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$out"
	rm -rf "$out/consoles"
	raw=$out/measurements.jsonl
	: >"$raw"
	build_topology
	for system in host "${systems[@]}"; do "$system"_prepare; done

	cells_total=5 # the host rows
	for system in "${systems[@]}"; do
		[ -n "$("$system"_why_unavailable)" ] && continue
		cells_total=$((cells_total + 7))
		has_share "$system" && cells_total=$((cells_total + 1))
		[ -z "$("$system"_loopback_unavailable)" ] && cells_total=$((cells_total + 1))
	done
	progress "$runs runs of $seconds s (+$omit s omitted) for each cell; iperf3 $(first_line iperf3 --version | cut -d' ' -f2)"

	row_host host
	row_host_bridge host
	for system in "${systems[@]}"; do
		why=$("$system"_why_unavailable)
		if [ -n "$why" ]; then
			rows_unavailable "$system" "$why"
		else
			guest_rows "$system"
		fi
	done

	record_meta
	/usr/bin/python3 bench/table/report.py report "$raw" --out "$out" ||
		die "bench/table/report.py could not report $raw"
	echo
	echo "results: $out/table.txt, $out/results.json, $out/throughput.png, $out/throughput.svg, $out/measurements.jsonl"
}

main
