# bench/table/systems/uml.sh: User-Mode Linux as a system under test (a rival, with --peers).
#
# Sourced by lguest_table.sh, which checks that it defines the whole interface listed there.
# Debian's UML 6.1 boots from the shared initramfs (bench/table/linux_guest.sh) with the vector
# transport on the row's TAP, gro=1: without it host-to-guest TCP stalls, as the guest drops
# the TAP's 64 KiB GSO frames. The legacy tuntap transport is about half as fast.

uml_title() { echo "UML 6.1 vector"; }
# UML 6.1 restores its processes' FPU state through a 4 KiB buffer, which the host refuses when
# its XSAVE area is larger (AMX); bench/table/uml_xstate_shim.c, preloaded, completes the buffer.
uml_shim=$out/uml-xstate-shim.so
uml_preload=
build_uml_shim() {
	command -v gcc >/dev/null || return 1
	gcc -O2 -shared -fPIC -Wall -Wextra -o "$uml_shim" bench/table/uml_xstate_shim.c -ldl
}
uml_prepare() {
	linux_guest_prepare
	[ "$peers" = yes ] && command -v linux.uml >/dev/null || return 0
	build_uml_shim && uml_preload=$(realpath "$uml_shim") ||
		progress "could not build $uml_shim; UML may not boot on a CPU with AMX"
}
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
uml_start() {
	# TMPDIR on tmpfs: UML keeps the guest's memory in a file there.
	mkdir -p "$work/uml" # its pid file and mconsole socket: removed with $work, also when killed
	vm_boot uml 60 env TMPDIR=/dev/shm ${uml_preload:+LD_PRELOAD=$uml_preload} linux.uml mem=512M "initrd=$initramfs" \
		"vec0:transport=tap,ifname=$1,gro=1" con=null con0=fd:0,fd:1 "uml_dir=$work/uml" \
		quiet panic=-1 "rvt.ip=$2" "rvt.gw=$3" "rvt.lo=$loopback_ip"
}
uml_stop() { vm_stop; }
uml_iperf3_server() { vm_iperf3_server; }
uml_iperf3_client() { vm_iperf3_client "$@"; }
uml_loopback_unavailable() { :; }
uml_iperf3_loopback() { vm_iperf3_loopback "$@"; }
uml_congestion_control() { echo "${vm_cc:-cubic}"; }
uml_pair_links() { echo bridge; }
uml_pair_start() { vm_pair_start uml "$@"; }
uml_pair_client() { vm_pair_client "$@"; }
uml_pair_stop() { vm_pair_stop; }
