#!/usr/bin/env bash
# lguest_table.sh: lguest's 2007 network table (iperf, MByte/s), measured again on this machine.
#
# The 2007 table has rows (host; host with a bridge; guest bridged; guest behind NAT; guest to
# host) and three columns: "loopback" (iperf client and server on the one system), "client" (the
# system under test runs the client, so it sends) and "server" (it runs the server and receives).
# This script rebuilds that table with the stock iperf3 (TCP, one stream), the median of RUNS runs
# with min and max, for:
#   - the host: its loopback, a veth pair to a "remote" namespace, the same through a Linux bridge;
#   - the rivals (--peers): QEMU with TCG and virtio-net on a TAP (Debian's kernel and an
#     initramfs holding iperf3), and User-Mode Linux with the vector TAP transport;
#   - the Ringvisor guest, once it has TCP and an iperf3 app (see "Systems under test" below),
#     and two Ringvisor guests on its `share` switch (lguest's --sharenet, done again).
# A row whose system is not available prints "-" and a footnote saying why; no number is made up.
#
# Topology (all inside namespaces this script creates, removed by the trap on every exit path;
# addresses only from 198.18.0.0/15):
#
#   namespace HOST (the machine under test)            namespace REMOTE (the other machine)
#     lo      198.18.255.1/32  (loopback column)
#     vh      198.18.1.1/24  ---- veth ------------------  vr  198.18.1.2/24
#     br      198.18.2.1/24  (bridge)
#       bh    (bridge port)  ---- veth ------------------  bp  198.18.2.2/24
#       tap   (bridged guest 198.18.2.10/24)
#     tap     198.18.3.1/24  (NAT guest 198.18.3.2: masquerade out of vh, port 5201 forwarded)
#     tap     198.18.4.1/24  (guest to host: guest 198.18.4.2)
#
# Output: the tables on stdout (also OUT/table.txt), OUT/results.json with every run's raw
# figures, the versions and the machine, and OUT/throughput.png and .svg (gnuplot).
set -u
cd "$(dirname "$0")/../.." || exit 1

runs=5
seconds=10
omit=1
peers=no
systems=
install=yes
: "${BUILD:=build}"
: "${RINGVISOR:=$BUILD/ringvisor}"
out=$BUILD/bench-table

usage() {
	cat <<EOF
usage: bench/table/lguest_table.sh [--runs N] [--seconds S] [--omit S] [--quick] [--peers]
                                   [--out DIR] [--no-install]

lguest's 2007 network table (Rusty Russell's iperf figures, MByte/s) measured again on this
machine with the stock iperf3 (TCP, one stream): host loopback, host to a "remote" network
namespace over veth and through a Linux bridge, and the guest rows (bridged, NAT, guest to host,
guest to guest on a bridge, and for Ringvisor guest to guest on its shared-memory switch) for
every system under test that can run here. Prints the table in MByte/s, in Gbit/s and as a
percentage of the host row measured in the same run, with the 2007 table beside it; writes
OUT/results.json (every run, versions, machine) and OUT/throughput.png and .svg.

  --runs N      runs of each measurement; tables show the median, min and max (default $runs)
  --seconds S   length of each iperf3 run (default $seconds)
  --omit S      seconds of each run left out of the figure (iperf3 -O, slow start; default $omit)
  --quick       a short run: --runs 3 --seconds 2 --omit 0 (host and Ringvisor rows: about
                a minute and a half; with --peers add a few minutes for QEMU and UML)
  --peers       add the rivals: QEMU 7.2 (TCG, virtio-net, TAP) and User-Mode Linux (vector TAP),
                installing qemu-system-x86, linux-image-amd64, busybox-static, user-mode-linux
                and cpio from Debian if missing; the initramfs is built in OUT at run time
  --systems "LIST"  the guest systems to measure, of: ringvisor qemu uml (default: all with
                --peers, else ringvisor)
  --out DIR     where the results go (default \$BUILD/bench-table, BUILD defaulting to build)
  --no-install  never run apt-get; stop and say what is missing instead

Always needed: root, TUN (/dev/net/tun), iproute2, iperf3, jq, gnuplot (gnuplot-nox), and
nftables for the NAT rows; missing Debian packages are installed with apt-get unless
--no-install. Environment: RINGVISOR (default \$BUILD/ringvisor), BUILD.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--omit) omit=${2:?}; shift 2 ;;
	--quick) runs=3; seconds=2; omit=0; shift ;;
	--peers) peers=yes; shift ;;
	--systems) read -ra systems <<<"${2:?}"; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--no-install) install=no; shift ;;
	*) echo "lguest_table: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
for value in "$runs" "$seconds" "$omit"; do
	case $value in '' | *[!0-9]*) echo "lguest_table: '$value' is not a whole number" >&2; exit 2 ;; esac
done
# Without --peers the rivals cannot run: their rows are left out unless --systems names them.
[ -n "${systems[*]}" ] || if [ "$peers" = yes ]; then systems=(ringvisor qemu uml); else systems=(ringvisor); fi
[ "$runs" -ge 1 ] && [ "$seconds" -ge 1 ] || { echo "lguest_table: --runs and --seconds must be at least 1" >&2; exit 2; }

die() {
	echo "lguest_table: $*" >&2
	exit 1
}
progress() {
	echo "lguest_table: $*" >&2
}

# ---- prerequisites ---------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || die "needs root (it creates network namespaces, veth pairs, bridges and TAPs): run it with sudo"
[ -c /dev/net/tun ] || die "needs TUN/TAP (/dev/net/tun is missing: modprobe tun, or a kernel with CONFIG_TUN)"
command -v ip >/dev/null || die "needs iproute2 (apt-get install iproute2)"

# need_packages COMMAND-OR-FILE:PACKAGE...: installs the Debian packages whose command (or file,
# when it starts with /) is missing, or stops and says how to get them.
need_packages() {
	local pair missing=()
	for pair; do
		case ${pair%%:*} in
		/*) [ -e "${pair%%:*}" ] || missing+=("${pair#*:}") ;;
		*) command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}") ;;
		esac
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$install" = yes ] || die "missing: ${missing[*]} (apt-get install ${missing[*]}; or run without --no-install)"
	progress "installing from Debian: ${missing[*]}"
	mkdir -p "$out"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
		>"$out/apt.log" 2>&1; then
		apt-get update >>"$out/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
			>>"$out/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed (see $out/apt.log)"
	fi
	installed+=("${missing[@]}")
}
installed=()
need_packages iperf3:iperf3 jq:jq gnuplot:gnuplot-nox nft:nftables ss:iproute2
if [ "$peers" = yes ]; then
	need_packages qemu-system-x86_64:qemu-system-x86 linux.uml:user-mode-linux cpio:cpio \
		/usr/share/doc/busybox-static:busybox-static modprobe:kmod
	ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need_packages /boot/vmlinuz-amd64-missing:linux-image-amd64
fi

# ---- the topology ----------------------------------------------------------------------------

tag=rvtable-$$
host_ns=$tag-host
remote_ns=$tag-remote
short=rt$$ # interface names are at most 15 characters
vh=${short}vh vr=${short}vr br=${short}br bh=${short}bh bp=${short}bp tap=${short}tap
nat_table=${tag//-/_}
port=5201
loopback_ip=198.18.255.1
work=$(mktemp -d /tmp/lguest-table.XXXXXX)
pids=() # process groups this script started (each a session leader: setsid)

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ip netns exec "$host_ns" nft delete table ip "$nat_table" 2>/dev/null
	ip netns del "$host_ns" 2>/dev/null # takes its veth ends, the bridge and the TAP with it
	ip netns del "$remote_ns" 2>/dev/null
	rm -f /dev/shm/ringvisor-share-"$tag"* # a share switch left by a killed launcher
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn NAMESPACE COMMAND...: runs COMMAND in NAMESPACE in the background as a new process group;
# its pid (= group id) is in $spawned and is killed by the trap if still running.
spawn() {
	local namespace=$1
	shift
	setsid ip netns exec "$namespace" "$@" <&0 & # without <&0, bash gives a background job /dev/null
	spawned=$!
	pids+=("$spawned")
}

# running PID: true while PID has not exited (a zombie counts as exited).
running() {
	local state
	state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# stop PID [GRACE-SECONDS]: waits up to GRACE for PID to exit, then kills its process group.
stop() {
	local deadline=$((SECONDS + ${2:-0}))
	while running "$1" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
	kill -KILL -- "-$1" 2>/dev/null
	wait "$1" 2>/dev/null
	local pid kept=()
	for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
	pids=("${kept[@]}")
}

# listening NAMESPACE: waits (up to 10 s) until something listens on the iperf3 port there.
listening() {
	local deadline=$((SECONDS + 10))
	until ip netns exec "$1" ss -Hltn "sport = :$port" | grep -q .; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

build_topology() {
	local namespace
	for namespace in "$host_ns" "$remote_ns"; do
		ip netns add "$namespace" || die "cannot create namespace $namespace"
		ip netns exec "$namespace" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		ip -n "$namespace" link set lo up
	done
	ip -n "$host_ns" addr add "$loopback_ip/32" dev lo
	ip -n "$host_ns" link add "$vh" type veth peer name "$vr" netns "$remote_ns" ||
		die "cannot create a veth pair"
	ip -n "$host_ns" addr add 198.18.1.1/24 dev "$vh"
	ip -n "$remote_ns" addr add 198.18.1.2/24 dev "$vr"
	ip -n "$host_ns" link add "$br" type bridge || die "cannot create a bridge"
	ip -n "$host_ns" link add "$bh" type veth peer name "$bp" netns "$remote_ns"
	ip -n "$host_ns" link set "$bh" master "$br"
	ip -n "$host_ns" addr add 198.18.2.1/24 dev "$br"
	ip -n "$remote_ns" addr add 198.18.2.2/24 dev "$bp"
	for namespace in "$host_ns:$vh" "$host_ns:$br" "$host_ns:$bh" "$remote_ns:$vr" "$remote_ns:$bp"; do
		ip -n "${namespace%%:*}" link set "${namespace#*:}" up
	done
	ip -n "$host_ns" tuntap add dev "$tap" mode tap || die "cannot create a TAP"
}

# attach_tap bridged | nat | to-host | none: connects the guest's TAP to one row's topology.
attach_tap() {
	ip -n "$host_ns" link set "$tap" down
	ip -n "$host_ns" link set "$tap" nomaster 2>/dev/null
	ip -n "$host_ns" addr flush dev "$tap"
	ip netns exec "$host_ns" nft delete table ip "$nat_table" 2>/dev/null
	ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=0
	case $1 in
	bridged) ip -n "$host_ns" link set "$tap" master "$br" ;;
	nat)
		ip -n "$host_ns" addr add 198.18.3.1/24 dev "$tap"
		ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=1
		ip netns exec "$host_ns" nft -f - <<EOF || die "cannot set up NAT with nftables"
table ip $nat_table {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		iifname "$vh" tcp dport $port dnat to 198.18.3.2:$port
	}
	chain postrouting {
		type nat hook postrouting priority srcnat;
		ip saddr 198.18.3.0/24 oifname "$vh" masquerade
	}
}
EOF
		;;
	to-host) ip -n "$host_ns" addr add 198.18.4.1/24 dev "$tap" ;;
	none) return 0 ;;
	esac
	ip -n "$host_ns" link set "$tap" up
}

# ---- systems under test ------------------------------------------------------------------------
#
# A system is a set of shell functions named SYSTEM_*; the row functions below take the system's
# name and use only these:
#   SYSTEM_title                  its name in the tables ("QEMU 7.2 TCG")
#   SYSTEM_why_unavailable        prints nothing if it can run here, else why not (a footnote)
#   SYSTEM_start TAP ADDR/LEN GW  boot it in $host_ns with its one NIC on the existing TAP
#   SYSTEM_iperf3_server          start "iperf3 -s" inside it; return once it listens
#   SYSTEM_iperf3_client ARGS...  run "iperf3 -c ARGS..." inside it to the end; print its output
#   SYSTEM_stop                   shut it down
#   SYSTEM_loopback               the address for the loopback column ("" if it cannot do it)
#   SYSTEM_congestion_control     the TCP congestion control its sender runs
#   SYSTEM_pair_start BR A B      boot two guests with a TAP each on bridge BR, addresses A/24 and
#                                 B/24; A runs "iperf3 -s" (the guest-to-guest row)
#   SYSTEM_pair_client ARGS...    run "iperf3 -c ARGS..." in guest B; print its output
#   SYSTEM_pair_stop              shut both down
#   SYSTEM_share_pair_start A B   (optional) the same over the system's own guest-to-guest
#   SYSTEM_share_pair_client ...  path without the host's network stack (Ringvisor's share
#   SYSTEM_share_pair_stop        backend); systems without it have no "guest to guest, share" row
# and optionally SYSTEM_probe (run once before the rows), SYSTEM_iperf3_loopback ADDR ARGS...
# (the loopback column in one go, instead of _iperf3_server then _iperf3_client) and
# SYSTEM_loopback_why (a variable: why there is no loopback column).
# The host itself is a system too (the host rows use the same code).

host_title() { echo "host (Linux $(uname -r))"; }
host_why_unavailable() { :; }
host_start() { :; }
host_server=
host_iperf3_server() {
	[ -n "$host_server" ] && return 0
	spawn "$host_ns" iperf3 -s >/dev/null 2>&1
	host_server=$spawned
	listening "$host_ns" || die "iperf3 -s never listened in $host_ns"
}
host_iperf3_client() { ip netns exec "$host_ns" iperf3 -c "$@" 2>&1; }
host_stop() {
	[ -n "$host_server" ] && stop "$host_server"
	host_server=
}
host_loopback() { echo "$loopback_ip"; }
host_congestion_control() { ip netns exec "$host_ns" sysctl -n net.ipv4.tcp_congestion_control; }

# ==== THE RINGVISOR GUEST GOES HERE ============================================================
# Guest TCP and the iperf3 guest app (issue 4): build/guests/iperf3.elf, run as
#   build/ringvisor run --mem 512M --net tap,ifname=TAP,ip=ADDR/LEN,gw=GW build/guests/iperf3.elf -- -s
# Each iperf3 invocation is one launcher (start-up takes milliseconds), so _start only records
# the NIC, _iperf3_server starts a launcher running "-s" and _iperf3_client one running "-c ...".
# Both use the TAP this script created (the launcher opens an existing TAP and leaves it in place).
# The loopback column runs "iperf3.elf -- --loopback -t S" (server and client on 127.0.0.1 in one
# guest, the client's summary printed); whether the app has --loopback is asked at run time
# (ringvisor_probe), so the column is measured as soon as the app supports it.
# Guest to guest: two launchers, each creating its own TAP on the host's bridge (bridge=BR).
ringvisor_title() { echo "Ringvisor"; }
ringvisor_guest=$BUILD/guests/iperf3.elf
ringvisor_mem=512M # as the QEMU and UML guests; the guest sizes its TCP buffers from it (4 MiB here)
ringvisor_why_unavailable() {
	if [ ! -f "$ringvisor_guest" ]; then
		echo "Ringvisor guest rows need guest TCP and the iperf3 guest (issue 4): $ringvisor_guest does not exist yet"
	elif [ ! -x "$RINGVISOR" ]; then
		echo "Ringvisor guest rows need the launcher: $RINGVISOR is missing (run make)"
	elif [ ! -w /dev/kvm ]; then
		echo "Ringvisor guest rows need KVM (/dev/kvm)"
	fi
}
ringvisor_net=
ringvisor_server=
ringvisor_start() { ringvisor_net="tap,ifname=$1,ip=$2,gw=$3"; }
ringvisor_iperf3_server() {
	[ -n "$ringvisor_server" ] && return 0
	spawn "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" --net "$ringvisor_net" "$ringvisor_guest" -- -s \
		>"$work/ringvisor-server" 2>&1
	ringvisor_server=$spawned
	sleep 0.5 # the guest is up in milliseconds; it cannot be asked whether it listens
}
# ringvisor_arguments ARGS...: ARGS without -O (the guest's iperf3 has no omit: its runs count
# slow start, a little low) and -f (it always prints Mbits/sec), in $arguments.
ringvisor_arguments() {
	local argument skip=
	arguments=()
	for argument; do
		case $skip:$argument in
		yes:*) skip= ;;
		:-O | :-f) skip=yes ;;
		*) arguments+=("$argument") ;;
		esac
	done
}
ringvisor_iperf3_client() {
	ringvisor_stop # one launcher owns the TAP at a time
	local arguments
	ringvisor_arguments "$@"
	timeout $((seconds + 60)) ip netns exec "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" \
		--net "$ringvisor_net" "$ringvisor_guest" -- -c "${arguments[@]}" 2>&1
}
# ringvisor_iperf3_loopback ADDR ARGS...: server and client in one guest (ADDR is 127.0.0.1).
ringvisor_iperf3_loopback() {
	ringvisor_stop
	local arguments
	shift
	ringvisor_arguments "$@"
	timeout $((seconds + 60)) ip netns exec "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" \
		--net "$ringvisor_net" "$ringvisor_guest" -- --loopback "${arguments[@]}" 2>&1
}
ringvisor_stop() {
	[ -n "$ringvisor_server" ] && stop "$ringvisor_server"
	ringvisor_server=
}
# ringvisor_probe: run once before the rows, in the main shell: does the app have --loopback?
ringvisor_loopback_why="the Ringvisor guest's iperf3 has no --loopback yet (client and server in one guest)"
ringvisor_probe() {
	local output
	attach_tap bridged
	output=$(timeout 60 ip netns exec "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" \
		--net "tap,ifname=$tap,ip=198.18.2.10/24,gw=198.18.2.1" "$ringvisor_guest" -- --loopback -t 1 2>&1)
	attach_tap none
	if grep -qiE 'unknown option|usage:' <<<"$output" && ! grep -q receiver <<<"$output"; then
		progress "the Ringvisor guest's iperf3 has no --loopback yet: its loopback column stays \"-\""
	else
		ringvisor_loopback_why= # supported (or failing otherwise: the cell's footnote will say how)
	fi
}
ringvisor_loopback() { [ -z "$ringvisor_loopback_why" ] && echo 127.0.0.1; }
ringvisor_congestion_control() { echo "the Ringvisor guest's own TCP"; }
# Guest to guest: the server guest stays up for all runs; each run is a new client launcher.
# Each of the two guests gets a core of its own (--cpu: its vCPU and its launcher's I/O thread
# together, so the guest's buffers stay in that core's caches), if there are two to give.
allowed_cpus() {
	local item
	for item in $(awk '/^Cpus_allowed_list/ { gsub(",", " ", $2); print $2 }' /proc/self/status); do
		if [[ $item == *-* ]]; then seq "${item%-*}" "${item#*-}"; else echo "$item"; fi
	done
}
ringvisor_cpus=($(allowed_cpus | head -n 2))
ringvisor_server_cpu=() ringvisor_client_cpu=()
if [ ${#ringvisor_cpus[@]} -eq 2 ]; then
	ringvisor_server_cpu=(--cpu "${ringvisor_cpus[0]}") ringvisor_client_cpu=(--cpu "${ringvisor_cpus[1]}")
fi
ringvisor_pair_server=
ringvisor_pair_net=
# ringvisor_guests_start SERVER_NET CLIENT_NET: guest A (the server) with SERVER_NET, kept up for
# every run; guest B's --net, for each ringvisor_pair_client.
ringvisor_guests_start() {
	spawn "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" "${ringvisor_server_cpu[@]}" \
		--net "$1" "$ringvisor_guest" -- -s >"$work/ringvisor-pair-server" 2>&1
	ringvisor_pair_server=$spawned
	ringvisor_pair_net=$2
	sleep 0.5
	running "$ringvisor_pair_server" || { progress "the Ringvisor server guest exited: $(tail -n 3 "$work/ringvisor-pair-server")"; ringvisor_pair_stop; return 1; }
}
# ringvisor_pair_start BRIDGE SERVER_ADDR CLIENT_ADDR (both /24 on BRIDGE)
ringvisor_pair_start() {
	ringvisor_guests_start "tap,ifname=${short}g1,ip=$2/24,bridge=$1" "tap,ifname=${short}g2,ip=$3/24,bridge=$1"
}
ringvisor_pair_client() {
	local arguments
	ringvisor_arguments "$@"
	timeout $((seconds + 60)) ip netns exec "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" \
		"${ringvisor_client_cpu[@]}" --net "$ringvisor_pair_net" "$ringvisor_guest" -- -c "${arguments[@]}" 2>&1
}
# SIGTERM first: the launcher removes its TAP, or leaves the switch (the last one out removes
# the switch's file).
ringvisor_pair_stop() {
	[ -n "$ringvisor_pair_server" ] || return 0
	kill -TERM -- "-$ringvisor_pair_server" 2>/dev/null
	stop "$ringvisor_pair_server" 5
	ringvisor_pair_server=
}
# Guest to guest over the share backend (issue 6): the same two launchers, each with a NIC on
# one shared-memory switch instead of a TAP on the bridge.
# ringvisor_share_pair_start SERVER_ADDR CLIENT_ADDR (both /24)
ringvisor_share_pair_start() {
	ringvisor_guests_start "share,name=$tag,ip=$1/24" "share,name=$tag,ip=$2/24"
}
ringvisor_share_pair_client() { ringvisor_pair_client "$@"; }
ringvisor_share_pair_stop() { ringvisor_pair_stop; }
# ==== END OF THE RINGVISOR GUEST ================================================================

# Linux guests (QEMU, UML): Debian's kernel with an initramfs holding busybox and iperf3, whose
# /init configures the NIC from the kernel command line, prints a ready line and runs a shell on
# the console; the script talks to that shell through a FIFO on the guest's stdin and reads its
# console output from a file.
vm_pid=
vm_fd=
vm_seq=0
vm_slot= # which guest vm_* talk to: "" (the one guest of most rows), 1 or 2 (guest to guest)
vm_boots=0
vm_cc=
vm_ready_line=
initramfs=$out/initramfs.cpio.gz
qemu_kernel=
uml_preload=

build_initramfs() {
	[ -n "$qemu_kernel" ] || return 1
	local root=$out/initramfs kver module library
	kver=${qemu_kernel#/boot/vmlinuz-}
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	cp /usr/bin/iperf3 "$root/bin/iperf3"
	for library in $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$library")"
		cp -L "$library" "$root$library"
	done
	# The virtio modules for QEMU's virtio-net-pci, in dependency order (UML has its NIC built in).
	: >"$root/lib/modules/order"
	for module in $( (modprobe -S "$kver" --show-depends virtio_pci
		modprobe -S "$kver" --show-depends virtio_net) | awk '$1 == "insmod" { print $2 }'); do
		grep -qxF "/lib/modules/$(basename "$module")" "$root/lib/modules/order" && continue
		cp "$module" "$root/lib/modules/"
		echo "/lib/modules/$(basename "$module")" >>"$root/lib/modules/order"
	done
	cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
[ -d /sys/bus/pci ] && while read -r module; do insmod "$module"; done </lib/modules/order
for word in $(cat /proc/cmdline); do
	case $word in rvt.ip=*) ip=${word#rvt.ip=} ;; rvt.gw=*) gw=${word#rvt.gw=} ;; rvt.lo=*) lo=${word#rvt.lo=} ;; esac
done
ip link set lo up
[ -n "$lo" ] && ip addr add "$lo/32" dev lo
for path in /sys/class/net/*; do [ "${path##*/}" = lo ] || { nic=${path##*/}; break; }; done
ip addr add "$ip" dev "$nic" && ip link set "$nic" up && ip route add default via "$gw"
stty -echo 2>/dev/null
echo "RVT-READY kernel=$(uname -r) nic=$nic cc=$(cat /proc/sys/net/ipv4/tcp_congestion_control)"
# The shell stays a child of init: if PID 1 exited, the kernel would panic.
sh </dev/console >/dev/console 2>&1
poweroff -f
EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initramfs" || return 1
	rm -rf "$root"
}

# vm_use SLOT: makes SLOT's guest the one the vm_* functions talk to (its console files are
# $work/vmSLOT.in and .log).
vm_use() {
	[ "$1" = "$vm_slot" ] && return 0
	printf -v "vm_state_${vm_slot:-0}" '%s %s %s' "${vm_pid:--}" "${vm_fd:--}" "$vm_seq"
	vm_slot=$1
	local state=vm_state_${vm_slot:-0}
	read -r vm_pid vm_fd vm_seq <<<"${!state:-- - 0}"
	[ "$vm_pid" = - ] && vm_pid=
	[ "$vm_fd" = - ] && vm_fd=
	return 0
}

# vm_boot TIMEOUT COMMAND...: starts a Linux guest whose console is the command's stdin/stdout.
vm_boot() {
	local timeout=$1 started=$SECONDS
	shift
	rm -f "$work/vm$vm_slot.in" "$work/vm$vm_slot.log"
	mkfifo "$work/vm$vm_slot.in"
	exec {vm_fd}<>"$work/vm$vm_slot.in"
	spawn "$host_ns" "$@" <"$work/vm$vm_slot.in" >"$work/vm$vm_slot.log" 2>&1
	vm_pid=$spawned
	vm_seq=0
	local deadline=$((SECONDS + timeout))
	until vm_ready_line=$(tr -d '\r' <"$work/vm$vm_slot.log" | grep -a -m1 '^RVT-READY'); do
		if ! running "$vm_pid" || [ "$SECONDS" -ge "$deadline" ]; then
			progress "the guest did not boot; its console said:"
			tail -n 20 "$work/vm$vm_slot.log" >&2
			vm_stop
			return 1
		fi
		sleep 0.1
	done
	vm_cc=$(sed -n 's/.* cc=\([^ ]*\).*/\1/p' <<<"$vm_ready_line")
	boot_seconds+=("$system:$((SECONDS - started))")
	guest_ready+=("$system: $vm_ready_line")
	progress "$("${system}"_title) is up after $((SECONDS - started)) s: $vm_ready_line"
}

# vm_run TIMEOUT COMMAND: runs COMMAND in the guest's shell; prints what it printed.
vm_run() {
	local start marker deadline=$((SECONDS + $1))
	vm_seq=$((vm_seq + 1))
	marker="RVT-DONE-$vm_seq-"
	start=$(stat -c %s "$work/vm$vm_slot.log")
	# The marker is built by the shell, so the command's echo (if any) does not contain it.
	printf '%s; echo "RVT-DONE""-%d-$?"\n' "$2" "$vm_seq" >&"$vm_fd"
	until tail -c +"$((start + 1))" "$work/vm$vm_slot.log" | grep -aq -- "$marker"; do
		if ! running "$vm_pid" || [ "$SECONDS" -ge "$deadline" ]; then
			echo "lguest_table: guest command '$2' did not finish in $1 s"
			return 1
		fi
		sleep 0.1
	done
	tail -c +"$((start + 1))" "$work/vm$vm_slot.log" | tr -d '\r'
}

vm_iperf3_server() {
	vm_run 30 "iperf3 -s -D; until netstat -ltn | grep -q ':$port '; do sleep 0.1; done" >/dev/null
}
vm_iperf3_client() { vm_run $((seconds + omit + 90)) "iperf3 -c $*"; }
# vm_pair_start BRIDGE A B: two guests of $system on TAPs g1 and g2 (made here) on BRIDGE.
vm_pair_start() {
	local name
	for name in "${short}g1" "${short}g2"; do
		ip -n "$host_ns" tuntap add dev "$name" mode tap || return 1
		ip -n "$host_ns" link set "$name" master "$1"
		ip -n "$host_ns" link set "$name" up
	done
	vm_use 1
	"$system"_start "${short}g1" "$2/24" 198.18.2.1 && vm_iperf3_server &&
		vm_use 2 && "$system"_start "${short}g2" "$3/24" 198.18.2.1 && vm_use "" && return 0
	vm_pair_stop
	return 1
}
vm_pair_client() {
	vm_use 2
	vm_iperf3_client "$@"
	vm_use ""
}
vm_pair_stop() {
	vm_use 2 && vm_stop
	vm_use 1 && vm_stop
	vm_use ""
	ip -n "$host_ns" link del "${short}g1" 2>/dev/null
	ip -n "$host_ns" link del "${short}g2" 2>/dev/null
	return 0
}
vm_stop() {
	[ -n "$vm_pid" ] || return 0
	printf 'poweroff -f\n' >&"$vm_fd" 2>/dev/null
	stop "$vm_pid" 10
	exec {vm_fd}>&-
	vm_pid=
	mkdir -p "$out/consoles"
	vm_boots=$((vm_boots + 1))
	tr -d '\r' <"$work/vm$vm_slot.log" >"$out/consoles/$vm_boots-$system.log"
}

qemu_title() { echo "QEMU 7.2 TCG"; }
qemu_why_unavailable() {
	if [ "$peers" != yes ]; then
		echo "rival rows are measured with --peers"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		echo "QEMU is not installed (apt-get install qemu-system-x86)"
	elif [ -z "$qemu_kernel" ]; then
		echo "no Debian kernel in /boot for the QEMU guest (apt-get install linux-image-amd64)"
	elif [ ! -f "$initramfs" ]; then
		echo "the initramfs could not be built (busybox-static, cpio, kmod)"
	fi
}
qemu_start() {
	vm_boot 120 qemu-system-x86_64 -accel tcg -smp 1 -m 512 -nodefaults -no-user-config \
		-display none -serial stdio -monitor none -no-reboot \
		-kernel "$qemu_kernel" -initrd "$initramfs" \
		-append "console=ttyS0 quiet panic=-1 rvt.ip=$2 rvt.gw=$3 rvt.lo=$loopback_ip" \
		-netdev "tap,id=net0,ifname=$1,script=no,downscript=no,vhost=off" \
		-device "virtio-net-pci,netdev=net0${vm_slot:+,mac=52:54:00:12:35:0$vm_slot}"
	# (two QEMU guests on one bridge need their own MACs: QEMU's default is always 52:54:00:12:34:56)
}
qemu_iperf3_server() { vm_iperf3_server; }
qemu_iperf3_client() { vm_iperf3_client "$@"; }
qemu_stop() { vm_stop; }
qemu_loopback() { echo "$loopback_ip"; }
qemu_congestion_control() { echo "${vm_cc:-cubic}"; }
qemu_pair_start() { vm_pair_start "$@"; }
qemu_pair_client() { vm_pair_client "$@"; }
qemu_pair_stop() { vm_pair_stop; }

uml_title() { echo "UML 6.1 vector"; }
uml_why_unavailable() {
	if [ "$peers" != yes ]; then
		echo "rival rows are measured with --peers"
	elif ! command -v linux.uml >/dev/null; then
		echo "User-Mode Linux is not installed (apt-get install user-mode-linux)"
	elif [ ! -f "$initramfs" ]; then
		echo "the initramfs could not be built (busybox-static, cpio, kmod)"
	elif [ -z "$uml_preload" ] && grep -qw amx_tile /proc/cpuinfo; then
		echo "UML 6.1 cannot restore FPU state on this AMX CPU and the preload shim could not be built (needs gcc)"
	fi
}
# UML 6.1 restores its processes' FPU state through a 4 KiB buffer, which the host refuses when
# its XSAVE area is larger (AMX); bench/table/uml_xstate_shim.c, preloaded, completes the buffer.
uml_shim=$out/uml-xstate-shim.so
build_uml_shim() {
	command -v gcc >/dev/null || return 1
	gcc -O2 -shared -fPIC -Wall -Wextra -o "$uml_shim" bench/table/uml_xstate_shim.c -ldl
}
uml_start() {
	# TMPDIR on tmpfs: UML keeps the guest's memory in a file there.
	mkdir -p "$work/uml" # its pid file and mconsole socket: removed with $work, also when killed
	vm_boot 60 env TMPDIR=/dev/shm ${uml_preload:+LD_PRELOAD=$uml_preload} linux.uml mem=512M "initrd=$initramfs" \
		"vec0:transport=tap,ifname=$1,gro=1" con=null con0=fd:0,fd:1 "uml_dir=$work/uml" \
		quiet panic=-1 "rvt.ip=$2" "rvt.gw=$3" "rvt.lo=$loopback_ip"
}
uml_iperf3_server() { vm_iperf3_server; }
uml_iperf3_client() { vm_iperf3_client "$@"; }
uml_stop() { vm_stop; }
uml_loopback() { echo "$loopback_ip"; }
uml_congestion_control() { echo "${vm_cc:-cubic}"; }
uml_pair_start() { vm_pair_start "$@"; }
uml_pair_client() { vm_pair_client "$@"; }
uml_pair_stop() { vm_pair_stop; }

# ---- measuring one cell ------------------------------------------------------------------------

# Results: $work/runs.tsv has one line a run: row system column run bits_per_second retransmits
# sender sender_cc; $work/cells.tsv one line a cell: row system column status note path.
: >"$work/runs.tsv"
: >"$work/cells.tsv"
declare -A cell_values cell_status cell_note
cell_count=0
cells_total=0
boot_seconds=()
guest_ready=()

iperf3_args() { echo "-t $seconds -O $omit"; }

# record ROW SYSTEM COLUMN RUN BPS RETRANSMITS SENDER SENDER_CC
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/runs.tsv"
	cell_values[$1|$2|$3]+="$5 "
}

# finish_cell ROW SYSTEM COLUMN PATH FAILURES
finish_cell() {
	local key="$1|$2|$3" measured
	measured=$(wc -w <<<"${cell_values[$key]:-}")
	if [ "$measured" -eq 0 ]; then
		cell_status[$key]=failed
		cell_note[$key]="every run failed: $5"
	elif [ -n "$5" ]; then
		cell_status[$key]=measured
		cell_note[$key]="$((runs - measured)) of $runs runs failed: $5"
	else
		cell_status[$key]=measured
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${cell_status[$key]}" "${cell_note[$key]:-}" "$4" \
		>>"$work/cells.tsv"
}

# no_column ROW SYSTEM COLUMN WHY: a cell the 2007 layout leaves empty ("-", no footnote).
no_column() {
	cell_status[$1|$2|$3]=none
	printf '%s\t%s\t%s\tnone\t%s\t\n' "$1" "$2" "$3" "$4" >>"$work/cells.tsv"
}

# unavailable ROW SYSTEM COLUMN WHY
unavailable() {
	cell_status[$1|$2|$3]=unavailable
	cell_note[$1|$2|$3]=$4
	printf '%s\t%s\t%s\tunavailable\t%s\t\n' "$1" "$2" "$3" "$4" >>"$work/cells.tsv"
}

# bps_from_json FILE: the receiver's bits per second from an iperf3 -J report, or nothing.
bps_from_json() {
	jq -r '.end.sum_received.bits_per_second // empty' "$1" 2>/dev/null
}

# client_bps FILE: the receiver's bits per second from an iperf3 client's text summary (the last
# "receiver" line: the [SUM] with -P), in any unit; retransmits from its "sender" line.
client_bps() {
	tr -d '\r' <"$1" | awk 'function scale(unit) { return unit ~ /^G/ ? 1e9 : unit ~ /^M/ ? 1e6 : unit ~ /^K/ ? 1e3 : 1 }
		/receiver/ { for (i = 2; i <= NF; i++) if ($i ~ /^[KMG]?bits\/sec$/) value = $(i - 1) * scale($i) }
		END { if (value != "") printf "%.0f\n", value }'
}
client_retransmits() {
	tr -d '\r' <"$1" | awk '/sender$/ && $(NF - 1) ~ /^[0-9]+$/ { value = $(NF - 1) } END { print value }'
}

# measure ROW SYSTEM COLUMN PATH HOW...: RUNS runs of one cell. HOW is one of
#   loopback ADDR            client and server both inside SYSTEM (figure from its client output)
#   guests ADDR              SYSTEM's pair: guest B's client sends to guest A's server at ADDR
#   client PEER_NS PEER_ADDR SYSTEM's iperf3 client sends to a one-shot server in PEER_NS
#   server PEER_NS ADDR      an iperf3 client in PEER_NS sends to SYSTEM's server at ADDR
# The figure is always the receiver's (iperf3's sum_received).
measure() {
	local row=$1 system=$2 column=$3 path=$4 how=$5 run bps retransmits failure= sender sender_cc
	cell_count=$((cell_count + 1))
	case $how in
	loopback | client | guests | guests-share) sender=$system sender_cc=$("$system"_congestion_control) ;;
	server) sender=$6 sender_cc=$(ip netns exec "$6" sysctl -n net.ipv4.tcp_congestion_control) ;;
	esac
	if [ "$how" = server ] || { [ "$how" = loopback ] && ! declare -F "$system"_iperf3_loopback >/dev/null; }; then
		"$system"_iperf3_server
	fi
	for run in $(seq "$runs"); do
		progress "[cell $cell_count/$cells_total] $(row_title "$row"): $("$system"_title), $column: run $run of $runs"
		bps= retransmits=
		case $how in
		loopback | guests | guests-share)
			if [ "$how" = guests ]; then
				"$system"_pair_client "$6" $(iperf3_args) -f k >"$work/client.txt"
			elif [ "$how" = guests-share ]; then
				"$system"_share_pair_client "$6" $(iperf3_args) -f k >"$work/client.txt"
			elif declare -F "$system"_iperf3_loopback >/dev/null; then
				"$system"_iperf3_loopback "$6" $(iperf3_args) >"$work/client.txt"
			else
				"$system"_iperf3_client "$6" $(iperf3_args) -f k >"$work/client.txt"
			fi
			bps=$(client_bps "$work/client.txt")
			retransmits=$(client_retransmits "$work/client.txt")
			[ -n "$bps" ] || failure="no receiver line in: $(tail -n 3 "$work/client.txt" | tr '\n' ' ')"
			;;
		client)
			spawn "$6" iperf3 -s -1 -J -B "$7" >"$work/server.json" 2>&1
			local server=$spawned
			if listening "$6"; then
				"$system"_iperf3_client "$7" $(iperf3_args) >"$work/client.txt"
				stop "$server" 15
				bps=$(bps_from_json "$work/server.json")
				[ -n "$bps" ] || failure="$(jq -r '.error // empty' "$work/server.json" 2>/dev/null) $(tail -n 3 "$work/client.txt" | tr '\n' ' ')"
			else
				stop "$server"
				failure="iperf3 -s never listened in $6"
			fi
			;;
		server)
			timeout $((seconds + omit + 60)) ip netns exec "$6" iperf3 -c "$7" -J $(iperf3_args) \
				>"$work/client.json" 2>&1
			bps=$(bps_from_json "$work/client.json")
			retransmits=$(jq -r '.end.sum_sent.retransmits // empty' "$work/client.json" 2>/dev/null)
			[ -n "$bps" ] || failure="$(jq -r '.error // empty' "$work/client.json" 2>/dev/null || head -c 200 "$work/client.json")"
			;;
		esac
		if [ -n "$bps" ]; then
			record "$row" "$system" "$column" "$run" "$bps" "${retransmits:--1}" "$sender" "$sender_cc"
		else
			progress "  run $run failed: $failure"
		fi
	done
	finish_cell "$row" "$system" "$column" "$path" "$failure"
}

# ---- the rows ----------------------------------------------------------------------------------

row_title() {
	case $1 in
	host) echo "host" ;;
	bridge) echo "host, bridge" ;;
	bridged) echo "guest, bridged" ;;
	nat) echo "guest, NAT" ;;
	to-host) echo "guest to host" ;;
	guests) echo "guest to guest" ;;
	guests-share) echo "guest to guest, share" ;;
	esac
}

row_host() {
	local system=$1
	"$system"_start
	measure host "$system" loopback "iperf3 client and server in the host namespace, over lo" loopback "$loopback_ip"
	measure host "$system" client "host namespace -> remote namespace over a veth pair" client "$remote_ns" 198.18.1.2
	measure host "$system" server "remote namespace -> host namespace over a veth pair" server "$remote_ns" 198.18.1.1
	"$system"_stop
}

row_host_bridge() {
	local system=$1
	no_column bridge "$system" loopback "no loopback column with a bridge (as in 2007)"
	"$system"_start
	measure bridge "$system" client "host (on a Linux bridge) -> remote namespace over veth" client "$remote_ns" 198.18.2.2
	measure bridge "$system" server "remote namespace -> host (on a Linux bridge) over veth" server "$remote_ns" 198.18.2.1
	"$system"_stop
}

# guest_row ROW SYSTEM: the rows below differ only in the topology and the addresses.
row_bridged() {
	local system=$1
	attach_tap bridged
	"$system"_start "$tap" 198.18.2.10/24 198.18.2.1 || { row_failed bridged "$system"; return; }
	measure bridged "$system" client "guest -> remote namespace, TAP on the host's bridge" client "$remote_ns" 198.18.2.2
	measure bridged "$system" server "remote namespace -> guest, TAP on the host's bridge" server "$remote_ns" 198.18.2.10
	if [ -n "$("$system"_loopback)" ]; then
		measure bridged "$system" loopback "iperf3 client and server inside the guest, over its lo" loopback "$("$system"_loopback)"
	else
		local why_variable=${system}_loopback_why why
		why=${!why_variable:-}
		[ -n "$why" ] || why="$("$system"_title) cannot run iperf3's client and server in one guest yet"
		unavailable bridged "$system" loopback "$why"
	fi
	"$system"_stop
	attach_tap none
}

row_nat() {
	local system=$1
	no_column nat "$system" loopback "no loopback column behind NAT (as in 2007)"
	attach_tap nat
	"$system"_start "$tap" 198.18.3.2/24 198.18.3.1 || { row_failed nat "$system"; return; }
	measure nat "$system" client "guest -> remote namespace through nftables masquerade" client "$remote_ns" 198.18.1.2
	measure nat "$system" server "remote namespace -> guest through an nftables port forward" server "$remote_ns" 198.18.1.1
	"$system"_stop
	attach_tap none
}

row_to_host() {
	local system=$1
	no_column to-host "$system" loopback "no loopback column guest to host (as in 2007)"
	attach_tap to-host
	"$system"_start "$tap" 198.18.4.2/24 198.18.4.1 || { row_failed to-host "$system"; return; }
	measure to-host "$system" client "guest -> host namespace over the TAP" client "$host_ns" 198.18.4.1
	measure to-host "$system" server "host namespace -> guest over the TAP" server "$host_ns" 198.18.4.2
	"$system"_stop
	attach_tap none
}

row_failed() {
	local column
	for column in loopback client server; do
		[ -n "${cell_status[$1|$2|$column]:-}" ] || unavailable "$1" "$2" "$column" "$("$2"_title) did not boot (see the log above)"
	done
	attach_tap none
}

# Guest to guest (2007: lguest's --sharenet, one figure): two guests, a TAP each, on the host's
# Linux bridge; guest A (198.18.2.21) runs the server, guest B (198.18.2.22) the client.
row_guests() {
	local system=$1
	no_column guests "$system" loopback "one figure in 2007 (shown as client)"
	no_column guests "$system" server "one figure in 2007 (shown as client)"
	if ! "$system"_pair_start "$br" 198.18.2.21 198.18.2.22; then
		unavailable guests "$system" client "$("$system"_title): the two guests did not start (see the log above)"
		return
	fi
	measure guests "$system" client "guest -> guest, each on its own TAP on one Linux bridge" guests 198.18.2.21
	"$system"_pair_stop
}

# Guest to guest without the host's network stack: Ringvisor's share backend, the counterpart of
# lguest's --sharenet. Guest A (198.18.6.21) runs the server, guest B (198.18.6.22) the client.
row_guests_share() {
	local system=$1
	no_column guests-share "$system" loopback "one figure in 2007 (shown as client)"
	no_column guests-share "$system" server "one figure in 2007 (shown as client)"
	if ! declare -F "$system"_share_pair_start >/dev/null; then
		no_column guests-share "$system" client "no shared-memory path between guests"
		return
	fi
	if ! "$system"_share_pair_start 198.18.6.21 198.18.6.22; then
		unavailable guests-share "$system" client "$("$system"_title): the two guests did not start (see the log above)"
		return
	fi
	measure guests-share "$system" client "guest -> guest through a shared-memory switch (--net share)" guests-share 198.18.6.21
	"$system"_share_pair_stop
}

# ---- run ---------------------------------------------------------------------------------------

mkdir -p "$out"
rm -rf "$out/consoles"
build_topology
qemu_kernel=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -n 1)
if [ "$peers" = yes ]; then
	progress "building the initramfs ($initramfs: busybox, iperf3, the virtio modules of $qemu_kernel)"
	build_initramfs || { progress "could not build the initramfs"; rm -f "$initramfs"; }
	uml_preload=
	if command -v linux.uml >/dev/null; then
		build_uml_shim && uml_preload=$(realpath "$uml_shim") ||
			progress "could not build $uml_shim; UML may not boot on a CPU with AMX"
	fi
fi

cells_total=5
for system in "${systems[@]}"; do
	[ -n "$("$system"_why_unavailable)" ] && continue
	declare -F "$system"_probe >/dev/null && "$system"_probe
	cells_total=$((cells_total + 7))
	declare -F "$system"_share_pair_start >/dev/null && cells_total=$((cells_total + 1))
	[ -n "$("$system"_loopback)" ] && cells_total=$((cells_total + 1))
done
progress "$runs runs of $seconds s (+$omit s omitted) for each cell; iperf3 $(iperf3 --version | head -n 1 | awk '{ print $2 }')"

row_host host
row_host_bridge host
for system in "${systems[@]}"; do
	why=$("$system"_why_unavailable)
	if [ -n "$why" ]; then
		for row in bridged nat to-host guests guests-share; do
			for column in loopback client server; do
				case $row:$column in
				bridged:* | nat:[cs]* | to-host:[cs]* | guests:client | guests-share:client)
					unavailable "$row" "$system" "$column" "$why" ;;
				*) no_column "$row" "$system" "$column" "not in the 2007 layout" ;;
				esac
			done
		done
		continue
	fi
	row_bridged "$system"
	row_nat "$system"
	row_to_host "$system"
	row_guests "$system"
	row_guests_share "$system"
done

# ---- report ------------------------------------------------------------------------------------

# The 2007 table (lguest, Linux 2.6.23 era, 2.4 GHz Xeon, gigabit link; iperf, MByte/s).
declare -A lguest2007=(
	[host|loopback]=113 [host|client]=78.3 [host|server]=48.6
	[bridge|client]=30.2 [bridge|server]=44.3
	[bridged|loopback]=42.6 [bridged|client]=8.3 [bridged|server]=10.5
	[nat|client]=8.5 [nat|server]=9.9
	[to-host|client]=8 [to-host|server]=11.8
	[guests|client]=20.1 [guests-share|client]=20.1
)

# stats KEY: "median min max" in bits per second, or nothing.
stats() {
	tr ' ' '\n' <<<"${cell_values[$1]:-}" | grep . | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		median = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.0f %.0f %.0f\n", median, v[1], v[NR] }'
}

declare -A footnote_number
footnotes=()
footnote() {
	if [ -z "${footnote_number[$1]:-}" ]; then
		footnotes+=("$1")
		footnote_number[$1]=${#footnotes[@]}
	fi
	echo "${footnote_number[$1]}"
}

# cell UNIT ROW SYSTEM COLUMN: one cell's text. UNIT: mbyte (2^20 bytes/s), gbit, percent.
cell() {
	local unit=$1 key="$2|$3|$4" s base
	case ${cell_status[$key]:-} in
	measured)
		s=$(stats "$key")
		case $unit in
		mbyte) awk -v s="$s" 'BEGIN { split(s, v); printf "%.0f (%.0f-%.0f)", v[1] / 8 / 1048576, v[2] / 8 / 1048576, v[3] / 8 / 1048576 }' ;;
		gbit) awk -v s="$s" 'BEGIN { split(s, v); printf "%.2f (%.2f-%.2f)", v[1] / 1e9, v[2] / 1e9, v[3] / 1e9 }' ;;
		percent)
			base=$(stats "host|host|$4")
			if [ -n "$base" ]; then
				awk -v s="$s" -v b="$base" 'BEGIN { split(s, v); split(b, h); printf "%.1f%%", 100 * v[1] / h[1] }'
			else
				echo "-"
			fi
			;;
		esac
		[ -n "${cell_note[$key]:-}" ] && echo -n " [$(footnote "${cell_note[$key]}")]"
		;;
	'' | none) echo -n "-" ;;
	*) echo -n "-[$(footnote "${cell_note[$key]}")]" ;;
	esac
}

lguest_cell() {
	local unit=$1 value=${lguest2007[$2|$3]:-}
	[ -n "$value" ] || { echo "-"; return; }
	case $unit in
	mbyte) echo "$value" ;;
	gbit) awk -v v="$value" 'BEGIN { printf "%.3f", v * 8 * 1048576 / 1e9 }' ;;
	percent) awk -v v="$value" -v h="${lguest2007[host|$3]}" 'BEGIN { printf "%.1f%%", 100 * v / h }' ;;
	esac
}

table_rows=("host host" "bridge host")
for row in bridged nat to-host guests guests-share; do
	for system in "${systems[@]}"; do
		[ "$row" = guests-share ] && ! declare -F "$system"_share_pair_start >/dev/null && continue
		table_rows+=("$row $system")
	done
done

# Footnote numbers are given here, in table order, outside the subshells that print the cells.
assign_footnotes() {
	local entry column key
	for entry in "${table_rows[@]}"; do
		for column in loopback client server; do
			key="${entry% *}|${entry#* }|$column"
			case ${cell_status[$key]:-} in '' | none) ;; *)
				[ -n "${cell_note[$key]:-}" ] && footnote "${cell_note[$key]}" >/dev/null ;;
			esac
		done
	done
}

print_table() {
	local unit=$1 title=$2 entry row system label
	echo
	echo "$title"
	printf '%-33s %-22s %-22s %-22s | %-8s %-8s %-8s\n' "configuration (this machine)" loopback client server \
		"2007 lo" "client" "server"
	for entry in "${table_rows[@]}"; do
		row=${entry% *} system=${entry#* }
		label=$(row_title "$row")
		[ "$system" = host ] || label="$label: $("$system"_title)"
		printf '%-33s %-22s %-22s %-22s | %-8s %-8s %-8s\n' "$label" \
			"$(cell "$unit" "$row" "$system" loopback)" "$(cell "$unit" "$row" "$system" client)" \
			"$(cell "$unit" "$row" "$system" server)" \
			"$(lguest_cell "$unit" "$row" loopback)" "$(lguest_cell "$unit" "$row" client)" \
			"$(lguest_cell "$unit" "$row" server)"
	done
}

assign_footnotes
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
memory_kib=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
host_cc=$(ip netns exec "$host_ns" sysctl -n net.ipv4.tcp_congestion_control)
{
	echo "lguest's 2007 network table, measured again: $date, $cpu, $cores cores, $((memory_kib / 1024 / 1024)) GiB,"
	echo "Linux $(uname -r), iperf3 $(iperf3 --version | head -n 1 | awk '{ print $2 }'), TCP, one stream,"\
		"$runs runs of $seconds s (+$omit s omitted): median (min-max)."
	echo "Loopback: client and server on the one system; client: the system under test sends (runs the"
	echo "iperf3 client) to a \"remote\" network namespace (or the host); server: it receives."
	echo "Right of |: lguest's 2007 figures (Linux 2.6.23 era, 2.4 GHz Xeon, gigabit link, iperf; the"
	echo "guest rows are lguest's guest) for the matching row."
	print_table mbyte "MByte/s (2^20 bytes/s)"
	print_table gbit "Gbit/s (10^9 bit/s)"
	print_table percent "percent of the host row (same column, same run; 2007: of its own host row)"
	echo
	echo "Senders' TCP congestion control: the host and the remote namespace run $host_cc (the host's"
	echo "default); Linux guests run their own kernel's default, so in a guest's client column the guest"
	echo "sends with its algorithm, in its server column the remote namespace (or host) sends with $host_cc."
	for system in qemu uml; do
		awk -F'\t' -v s="$system" '$2 == s && $7 == s { print $8; exit }' "$work/runs.tsv" | grep -q . &&
			echo "  $("$system"_title) guest: $(awk -F'\t' -v s="$system" '$2 == s && $7 == s { print $8; exit }' "$work/runs.tsv")"
	done
	echo "KVM on these machines cannot run a stock Linux guest (nested, ring 0 emulated; see PLATFORM.md),"
	echo "so QEMU runs with TCG: its figures are bound by the emulated CPU, not by its network path."
	if [ -n "$uml_preload" ] && grep -qw amx_tile /proc/cpuinfo && grep -qw uml <<<"${systems[*]}"; then
		echo "UML 6.1 cannot restore its processes' FPU state on this CPU (AMX: the host takes only the whole"
		echo "XSAVE area, UML passes 4 KiB), so it runs with bench/table/uml_xstate_shim.c preloaded, which"
		echo "completes each restore with one extra ptrace call: UML's figures are a little low for that."
	fi
	[ ${#installed[@]} -gt 0 ] && echo "Installed from Debian for this run: ${installed[*]}."
	if [ ${#footnotes[@]} -gt 0 ]; then
		echo
		for i in "${!footnotes[@]}"; do echo "[$((i + 1))] ${footnotes[$i]}"; done
	fi
	echo "[guest to guest] 2007: 20.1 MByte/s through lguest's --sharenet (one figure, shown as client)."
	echo "  Here, twice: two guests, each with its own TAP, on one Linux bridge in the host namespace;"
	echo "  and (\"share\") the same two guests on Ringvisor's shared-memory switch, --sharenet's"
	echo "  counterpart, where frames never touch the host's network stack. Guest B runs the client."
	[ ${#ringvisor_cpus[@]} -eq 2 ] &&
		echo "  Each Ringvisor guest runs on a core of its own (--cpu ${ringvisor_cpus[0]}, --cpu ${ringvisor_cpus[1]}) in both rows."
	share_bps=$(stats "guests-share|ringvisor|client") loopback_bps=$(stats "host|host|loopback")
	if [ -n "$share_bps" ] && [ -n "$loopback_bps" ]; then
		awk -v s="$share_bps" -v l="$loopback_bps" -v b="$(stats "guests|ringvisor|client")" 'BEGIN {
			split(s, v); split(l, h); split(b, g)
			printf "  Guest to guest over share: %.2f Gbit/s, %.0f%% of the host'"'"'s own loopback (%.2f Gbit/s)", v[1] / 1e9, 100 * v[1] / h[1], h[1] / 1e9
			if (g[1] > 0) printf ",\n  %.2fx the two guests on a bridge", v[1] / g[1]
			printf ". DESIGN.md'"'"'s target: at least 100%% of loopback.\n" }'
	fi
} | tee "$out/table.txt"

# ---- JSON --------------------------------------------------------------------------------------

version_of() { "$@" 2>/dev/null | head -n 1; }
package_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
uml_version=
command -v linux.uml >/dev/null && uml_version="$(linux.uml --version 2>/dev/null | head -n 1) (Debian user-mode-linux $(package_version user-mode-linux))"
guest_kernels=$(printf '%s;' "${guest_ready[@]}")
lguest_json=$(for key in "${!lguest2007[@]}"; do printf '%s\t%s\n' "$key" "${lguest2007[$key]}"; done)
boot_json=$(printf '%s\n' "${boot_seconds[@]}")
jq -n \
	--rawfile runs "$work/runs.tsv" --rawfile cells "$work/cells.tsv" \
	--arg date "$date" --argjson run_count "$runs" --argjson seconds "$seconds" --argjson omit "$omit" \
	--arg cpu "$cpu" --argjson cores "$cores" --argjson memory_kib "$memory_kib" \
	--arg kernel "$(uname -r)" --arg kernel_full "$(uname -v)" --arg debian "$(cat /etc/debian_version 2>/dev/null)" \
	--arg iperf3 "$(version_of iperf3 --version)" \
	--arg qemu "$(command -v qemu-system-x86_64 >/dev/null && version_of qemu-system-x86_64 --version)" \
	--arg qemu_kernel "$( [ "$peers" = yes ] && [ -n "$qemu_kernel" ] && echo "$qemu_kernel (Debian linux-image-amd64 $(package_version linux-image-amd64))")" \
	--arg uml "$uml_version" \
	--arg gcc "$(version_of gcc --version)" \
	--arg busybox "$( [ "$peers" = yes ] && version_of busybox)" \
	--arg nft "$(version_of nft --version)" \
	--arg gnuplot "$(version_of gnuplot --version)" \
	--arg ringvisor "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')" \
	--arg host_cc "$host_cc" \
	--arg bridge_nf "$(ip netns exec "$host_ns" sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null)" \
	--arg guests "$guest_kernels" --arg lguest "$lguest_json" --arg boots "$boot_json" \
	--arg installed "${installed[*]}" --arg uml_preload "${uml_preload:-}" '
	def rows($text): $text | split("\n") | map(select(length > 0) | split("\t"));
	def median: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	(rows($runs) | map({row: .[0], system: .[1], column: .[2], run: (.[3] | tonumber),
		bits_per_second: (.[4] | tonumber), retransmits: (.[5] | tonumber), sender: .[6],
		sender_congestion_control: .[7]})) as $all |
	{
		benchmark: "lguest 2007 network table, reproduced (Ringvisor issue 5)",
		date: $date,
		method: {tool: "iperf3", protocol: "TCP", streams: 1, runs: $run_count, seconds: $seconds,
			omitted_seconds: $omit, figure: "receiver side (iperf3 end.sum_received)",
			mbyte: "2^20 bytes", gbit: "10^9 bits"},
		machine: {cpu: $cpu, cores: $cores, memory_kib: $memory_kib, debian: $debian},
		versions: {host_kernel: $kernel, host_kernel_build: $kernel_full, iperf3: $iperf3,
			qemu: $qemu, qemu_guest_kernel: $qemu_kernel, uml: $uml, gcc: $gcc,
			busybox: $busybox, nftables: $nft, gnuplot: $gnuplot, ringvisor: $ringvisor,
			guests_reported: ($guests | split(";") | map(select(length > 0)) | unique)},
		congestion_control: {host_and_remote: $host_cc,
			guests: ($all | map(select(.sender == .system and .system != "host"))
				| map({(.system): .sender_congestion_control}) | add // {})},
		bridge_nf_call_iptables: $bridge_nf,
		guest_boot_seconds: (rows($boots) | map(.[0] | split(":") | {system: .[0], seconds: (.[1] | tonumber)})),
		uml_preload: (if $uml_preload == "" then null else {library: $uml_preload,
			source: "bench/table/uml_xstate_shim.c",
			why: "UML 6.1 restores FPU state through a 4 KiB PTRACE_SETREGSET buffer; a host with AMX refuses anything but its whole XSAVE area"} end),
		installed_from_debian_this_run: ($installed | split(" ") | map(select(length > 0))),
		cells: (rows($cells) | map(. as $c | ($all | map(select(.row == $c[0] and .system == $c[1]
			and .column == $c[2]))) as $mine | {row: $c[0], system: $c[1], column: $c[2],
			status: $c[3], note: ($c[4] // ""), path: ($c[5] // ""),
			median_bits_per_second: ($mine | map(.bits_per_second) | median),
			min_bits_per_second: ($mine | map(.bits_per_second) | min),
			max_bits_per_second: ($mine | map(.bits_per_second) | max),
			runs: ($mine | map(del(.row, .system, .column)))})),
		lguest_2007_mbyte_per_second: (rows($lguest) | map({(.[0]): (.[1] | tonumber)}) | add)
	}' >"$out/results.json" || die "could not write $out/results.json"

# ---- chart -------------------------------------------------------------------------------------

chart_cells=("host|loopback|host loopback" "host|client|host client" "host|server|host server"
	"bridge|client|bridge client" "bridge|server|bridge server"
	"bridged|loopback|bridged loopback" "bridged|client|bridged client" "bridged|server|bridged server"
	"nat|client|NAT client" "nat|server|NAT server"
	"to-host|client|guest to host" "to-host|server|host to guest" "guests|client|guest to guest"
	"guests-share|client|guest to guest (share)")
{
	echo "# configuration host ringvisor qemu uml lguest2007 (Gbit/s; NaN: not measured)"
	for entry in "${chart_cells[@]}"; do
		IFS='|' read -r row column label <<<"$entry"
		printf '"%s"' "$label"
		for system in host ringvisor qemu uml; do
			s=$(stats "$row|$system|$column")
			awk -v s="$s" 'BEGIN { split(s, v); if (s == "") printf " NaN"; else printf " %.4f", v[1] / 1e9 }'
		done
		awk -v v="${lguest2007[$row|$column]:-}" 'BEGIN { if (v == "") printf " NaN\n"; else printf " %.4f\n", v * 8 * 1048576 / 1e9 }'
	done
} >"$out/throughput.dat"
for terminal in "pngcairo size 1200,600:png" "svg size 1200,600 dynamic:svg"; do
	gnuplot >"$work/gnuplot.log" 2>&1 <<EOF || progress "gnuplot failed for ${terminal##*:}: $(head -n 3 "$work/gnuplot.log")"
set terminal ${terminal%%:*}
set output "$out/throughput.${terminal##*:}"
set title "lguest's 2007 table on this machine: TCP throughput, one stream (median of $runs runs, $date)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set ylabel "Gbit/s (log scale)"
set grid ytics
set xtics rotate by 30 right nomirror
set key top right
set datafile missing "NaN"
plot "$out/throughput.dat" using 2:xtic(1) title "host (this machine)", \
	'' using 3 title "Ringvisor", '' using 4 title "QEMU 7.2 TCG", '' using 5 title "UML 6.1 vector", \
	'' using 6 title "lguest 2007 (2.4 GHz Xeon, GbE)"
EOF
done
echo
echo "results: $out/table.txt, $out/results.json, $out/throughput.png, $out/throughput.svg"
