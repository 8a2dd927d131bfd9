# bench/table/topology.sh: the network the table is measured on, built in namespaces of its own.
#
# Sourced by lguest_table.sh. Two namespaces stand for the 2007 setup's two machines: HOST (the
# machine under test, where the guests' launchers and TAPs live) and REMOTE (the other machine
# on the gigabit link). Everything is created here and removed by topology_cleanup, which the
# driver's EXIT trap calls on every exit path; addresses come only from 198.18.0.0/15 (RFC 2544's
# benchmarking range), so nothing collides with the machine's own networks.
#
#   namespace HOST (the machine under test)            namespace REMOTE (the other machine)
#     lo      198.18.255.1/32  (loopback column)
#     vh      198.18.1.1/24  ---- veth ------------------  vr  198.18.1.2/24
#     br      198.18.2.1/24  (bridge)
#       bh    (bridge port)  ---- veth ------------------  bp  198.18.2.2/24
#       tap   (bridged guest 198.18.2.10/24)
#       g1,g2 (guest to guest: 198.18.2.21, 198.18.2.22, a TAP each)
#     tap     198.18.3.1/24  (NAT guest 198.18.3.2: masquerade out of vh, port 5201 forwarded)
#     tap     198.18.4.1/24  (guest to host: guest 198.18.4.2)
#     share switch           (Ringvisor guest to guest: 198.18.6.21, 198.18.6.22, no TAP)

tag=rvtable-$$
host_ns=$tag-host
remote_ns=$tag-remote
short=rt$$ # interface names are at most 15 characters
vh=${short}vh vr=${short}vr br=${short}br bh=${short}bh bp=${short}bp tap=${short}tap
nat_table=${tag//-/_}
port=5201
loopback_ip=198.18.255.1

# topology_description: the diagram in words, for the report's "Topology" paragraph.
topology_description() {
	cat <<EOF
namespace "host" is the machine under test, namespace "remote" the other machine on the link:
  host: lo 198.18.255.1 (loopback column; a Linux guest's loopback column uses its own lo)
  host: veth 198.18.1.1/24 <-> remote 198.18.1.2/24 (host row; the NAT row's way out)
  host: Linux bridge 198.18.2.1/24, a veth port <-> remote 198.18.2.2/24 (host, bridge row)
  guest, bridged: the guest's TAP on that bridge, guest 198.18.2.10/24
  guest, NAT: a TAP 198.18.3.1/24 in host, guest 198.18.3.2; nftables masquerades it out of
    the veth and forwards remote's connections to 198.18.1.1 port $port to it
  guest to host: a TAP 198.18.4.1/24 in host, guest 198.18.4.2
  guest to guest: two guests, a TAP each on the bridge: 198.18.2.21 (server), .22 (client)
  guest to guest, share: two Ringvisor guests on one shared-memory switch: 198.18.6.21, .22
EOF
}

build_topology() {
	local namespace
	for namespace in "$host_ns" "$remote_ns"; do
		namespace_create "$namespace" || die "cannot create namespace $namespace"
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

# topology_cleanup: removes all of it; harmless where part of it was never built.
topology_cleanup() {
	ip netns exec "$host_ns" nft delete table ip "$nat_table" 2>/dev/null
	ip netns del "$host_ns" 2>/dev/null # takes its veth ends, the bridge and the TAPs with it
	ip netns del "$remote_ns" 2>/dev/null
	rm -f /dev/shm/ringvisor-share-"$tag"* # a share switch left by a killed launcher
}
