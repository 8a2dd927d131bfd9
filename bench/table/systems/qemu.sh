# bench/table/systems/qemu.sh: QEMU with TCG as a system under test (a rival, with --peers).
#
# Sourced by lguest_table.sh, which checks that it defines the whole interface listed there.
# Debian's QEMU 7.2 boots Debian's kernel and the shared initramfs (bench/table/linux_guest.sh)
# with virtio-net on the row's TAP, vhost off. KVM here cannot run a stock Linux guest, so it
# runs with TCG: its figures are bound by the emulated CPU, not by its network path.

qemu_title() { echo "QEMU 7.2 TCG"; }
qemu_prepare() { linux_guest_prepare; }
qemu_why_unavailable() {
	if [ "$peers" != yes ]; then
		echo "rival rows are measured with --peers"
	elif ! command -v qemu-system-x86_64 >/dev/null; then
		echo "QEMU is not installed (apt-get install qemu-system-x86)"
	elif [ -z "$linux_guest_kernel" ]; then
		echo "no Debian kernel in /boot for the QEMU guest (apt-get install linux-image-amd64)"
	elif [ ! -f "$initramfs" ]; then
		echo "the initramfs could not be built (busybox-static, cpio, kmod)"
	fi
}
# Two QEMU guests on one bridge need their own MACs: QEMU's default is always 52:54:00:12:34:56.
qemu_start() {
	vm_boot qemu 120 qemu-system-x86_64 -accel tcg -smp 1 -m 512 -nodefaults -no-user-config \
		-display none -serial stdio -monitor none -no-reboot \
		-kernel "$linux_guest_kernel" -initrd "$initramfs" \
		-append "console=ttyS0 quiet panic=-1 rvt.ip=$2 rvt.gw=$3 rvt.lo=$loopback_ip" \
		-netdev "tap,id=net0,ifname=$1,script=no,downscript=no,vhost=off" \
		-device "virtio-net-pci,netdev=net0${vm_slot:+,mac=52:54:00:12:35:0$vm_slot}"
}
qemu_stop() { vm_stop; }
qemu_iperf3_server() { vm_iperf3_server; }
qemu_iperf3_client() { vm_iperf3_client "$@"; }
qemu_loopback_unavailable() { :; }
qemu_iperf3_loopback() { vm_iperf3_loopback "$@"; }
qemu_congestion_control() { echo "${vm_cc:-cubic}"; }
qemu_pair_links() { echo bridge; }
qemu_pair_start() { vm_pair_start qemu "$@"; }
qemu_pair_client() { vm_pair_client "$@"; }
qemu_pair_stop() { vm_pair_stop; }
