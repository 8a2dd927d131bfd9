# bench/table/systems/host.sh: the host itself as a system under test (the host rows).
#
# Sourced by lguest_table.sh, which checks that it defines the whole interface listed there. The
# host rows run iperf3 in the topology's "host" namespace, so the baseline goes through the same
# code as every guest; the guest-only parts of the interface (a TAP, pairs) say they do not apply.

host_title() { echo "host (Linux $(uname -r))"; }
host_prepare() { :; }
host_why_unavailable() { :; }
host_start() { :; } # nothing to boot: the namespace is the system
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
host_loopback_unavailable() { :; }
# The server stays up for every run of the cell (and for the server column after it).
host_iperf3_loopback() {
	host_iperf3_server
	host_iperf3_client "$loopback_ip" "$@"
}
host_congestion_control() { ip netns exec "$host_ns" sysctl -n net.ipv4.tcp_congestion_control; }
host_pair_links() { :; } # the host rows have no guest pairs
host_pair_start() {
	progress "the host has no guests to pair"
	return 1
}
host_pair_client() { return 1; }
host_pair_stop() { :; }
