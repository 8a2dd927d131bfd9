# bench/table/linux_guest.sh: what the two Linux guests (systems/qemu.sh, systems/uml.sh) share.
#
# Sourced by lguest_table.sh before the system files. Both rivals boot Debian's kernel with an
# initramfs holding busybox and iperf3, whose /init configures the NIC from the kernel command
# line, prints a ready line and runs a shell on the console; the script talks to that shell
# through a FIFO on the guest's stdin and reads its console output from a file. Up to three
# guests are known at a time: slot "" (the one guest of most rows), 1 and 2 (a guest pair).

vm_pid=
vm_fd=
vm_seq=0
vm_listening=no # whether this guest's iperf3 -s is up
vm_system=      # the system the guest belongs to (its title, its console log's name)
vm_slot=        # which guest vm_* talk to
vm_boots=0
vm_cc=
initramfs=$out/initramfs.cpio.gz
linux_guest_kernel= # /boot/vmlinuz-*-amd64, the newest: what QEMU boots, whose modules go in
linux_guest_prepared=no

# linux_guest_prepare: builds the initramfs once for both rivals (only with --peers: without it
# their rows are not measured). Without it the systems' why_unavailable say so.
linux_guest_prepare() {
	[ "$peers" = yes ] && [ "$linux_guest_prepared" = no ] || return 0
	linux_guest_prepared=yes
	linux_guest_kernel=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -n 1)
	progress "building the initramfs ($initramfs: busybox, iperf3, the virtio modules of $linux_guest_kernel)"
	build_initramfs || { progress "could not build the initramfs"; rm -f "$initramfs"; }
}

build_initramfs() {
	[ -n "$linux_guest_kernel" ] || return 1
	local root=$out/initramfs kver module library word
	kver=${linux_guest_kernel#/boot/vmlinuz-}
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
	while read -r word module _; do
		[ "$word" = insmod ] || continue
		grep -qxF "/lib/modules/$(basename "$module")" "$root/lib/modules/order" && continue
		cp "$module" "$root/lib/modules/"
		echo "/lib/modules/$(basename "$module")" >>"$root/lib/modules/order"
	done < <(modprobe -S "$kver" --show-depends virtio_pci
		modprobe -S "$kver" --show-depends virtio_net)
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
	printf -v "vm_state_${vm_slot:-0}" '%s %s %s %s %s' "${vm_pid:--}" "${vm_fd:--}" "$vm_seq" \
		"$vm_listening" "${vm_system:--}"
	vm_slot=$1
	local state=vm_state_${vm_slot:-0}
	read -r vm_pid vm_fd vm_seq vm_listening vm_system <<<"${!state:-- - 0 no -}"
	[ "$vm_pid" = - ] && vm_pid=
	[ "$vm_fd" = - ] && vm_fd=
	[ "$vm_system" = - ] && vm_system=
	return 0
}

# vm_boot SYSTEM TIMEOUT COMMAND...: starts a Linux guest whose console is the command's
# stdin/stdout; returns once its /init printed the ready line. The boot time and that line go
# into the raw file.
vm_boot() {
	local timeout=$2 started=$SECONDS ready
	vm_system=$1
	shift 2
	rm -f "$work/vm$vm_slot.in" "$work/vm$vm_slot.log"
	mkfifo "$work/vm$vm_slot.in"
	exec {vm_fd}<>"$work/vm$vm_slot.in"
	spawn "$host_ns" "$@" <"$work/vm$vm_slot.in" >"$work/vm$vm_slot.log" 2>&1
	vm_pid=$spawned
	vm_seq=0
	vm_listening=no
	local deadline=$((SECONDS + timeout))
	until ready=$(tr -d '\r' <"$work/vm$vm_slot.log" | grep -a -m1 '^RVT-READY'); do
		if ! running "$vm_pid" || [ "$SECONDS" -ge "$deadline" ]; then
			progress "the guest did not boot; its console said:"
			tail -n 20 "$work/vm$vm_slot.log" >&2
			vm_stop
			return 1
		fi
		sleep 0.1
	done
	vm_cc=$(sed -n 's/.* cc=\([^ ]*\).*/\1/p' <<<"$ready")
	raw_record boot system="$vm_system" seconds:=$((SECONDS - started))
	raw_record guest system="$vm_system" ready="$ready"
	progress "$("$vm_system"_title) is up after $((SECONDS - started)) s: $ready"
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

# vm_iperf3_server: once a boot; the daemon serves every run after it.
vm_iperf3_server() {
	[ "$vm_listening" = yes ] && return 0
	vm_run 30 "iperf3 -s -D; until netstat -ltn | grep -q ':$port '; do sleep 0.1; done" >/dev/null &&
		vm_listening=yes
}
vm_iperf3_client() { vm_run $((seconds + omit + 90)) "iperf3 -c $*"; }
# The loopback column: the guest's own iperf3 server, at the loopback address its /init gave lo.
vm_iperf3_loopback() {
	vm_iperf3_server
	vm_iperf3_client "$loopback_ip" "$@"
}
# vm_pair_start SYSTEM LINK A B: two guests of SYSTEM on TAPs g1 and g2 (made here) on the bridge;
# LINK must be "bridge" (a Linux guest has no switch of its own).
vm_pair_start() {
	local system=$1 name
	[ "$2" = bridge ] || return 1
	for name in "${short}g1" "${short}g2"; do
		ip -n "$host_ns" tuntap add dev "$name" mode tap || return 1
		ip -n "$host_ns" link set "$name" master "$br"
		ip -n "$host_ns" link set "$name" up
	done
	vm_use 1
	"$system"_start "${short}g1" "$3/24" 198.18.2.1 && vm_iperf3_server &&
		vm_use 2 && "$system"_start "${short}g2" "$4/24" 198.18.2.1 && vm_use "" && return 0
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
# vm_stop: powers the guest off, kills what is left, keeps its console in OUT/consoles/.
vm_stop() {
	[ -n "$vm_pid" ] || return 0
	printf 'poweroff -f\n' >&"$vm_fd" 2>/dev/null
	stop "$vm_pid" 10
	exec {vm_fd}>&-
	vm_pid=
	vm_listening=no
	mkdir -p "$out/consoles"
	vm_boots=$((vm_boots + 1))
	tr -d '\r' <"$work/vm$vm_slot.log" >"$out/consoles/$vm_boots-$vm_system.log"
}
