# bench/table/systems/ringvisor.sh: the Ringvisor guest as a system under test.
#
# Sourced by lguest_table.sh, which checks that it defines the whole interface listed there.
# The guest is build/guests/iperf3.elf (guest TCP and an iperf3-compatible app), run as
#   build/ringvisor run --mem 512M --net tap,ifname=TAP,ip=ADDR/LEN,gw=GW build/guests/iperf3.elf -- -s
# Each iperf3 invocation is one launcher (start-up takes milliseconds), so _start only records
# the NIC, _iperf3_server starts a launcher running "-s" and _iperf3_client one running "-c ...".
# Both use the TAP the topology created (the launcher opens an existing TAP and leaves it in
# place). The loopback column runs "iperf3.elf -- --loopback -t S" (server and client on
# 127.0.0.1 in one guest, the client's summary printed); whether the app has --loopback is asked
# at run time (ringvisor_prepare), so the column is measured as soon as the app supports it.
# Guest pairs: two launchers, each creating its own TAP on the host's bridge, or each with a NIC
# on one shared-memory switch (--net share: lguest's --sharenet, done again).

ringvisor_title() { echo "Ringvisor"; }
ringvisor_guest=$BUILD/guests/iperf3.elf
ringvisor_mem=512M # as the QEMU and UML guests; the guest sizes its TCP buffers from it (4 MiB here)
ringvisor_why_unavailable() {
	if [ ! -f "$ringvisor_guest" ]; then
		echo "Ringvisor guest rows need guest TCP and the iperf3 guest: $ringvisor_guest does not exist (run make)"
	elif [ ! -x "$RINGVISOR" ]; then
		echo "Ringvisor guest rows need the launcher: $RINGVISOR is missing (run make)"
	elif [ ! -w /dev/kvm ]; then
		echo "Ringvisor guest rows need KVM (/dev/kvm)"
	fi
}

# ringvisor_prepare: does the app have --loopback? Asked once, before the rows, with a 1 s run.
ringvisor_loopback_why="the Ringvisor guest's iperf3 has no --loopback yet (client and server in one guest)"
ringvisor_prepare() {
	local output
	[ -z "$(ringvisor_why_unavailable)" ] || return 0
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

ringvisor_net=
ringvisor_server=
ringvisor_start() { ringvisor_net="tap,ifname=$1,ip=$2,gw=$3"; }
ringvisor_iperf3_server() {
	[ -n "$ringvisor_server" ] && return 0
	spawn "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" --net "$ringvisor_net" "$ringvisor_guest" -- -s \
		>"$work/ringvisor-server" 2>&1
	ringvisor_server=$spawned
	wait_for_text "$work/ringvisor-server" "Server listening" 20 "$ringvisor_server" ||
		progress "the Ringvisor server guest did not start: $(tail -n 3 "$work/ringvisor-server")"
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
ringvisor_stop() {
	[ -n "$ringvisor_server" ] && stop "$ringvisor_server"
	ringvisor_server=
}
ringvisor_loopback_unavailable() { echo "$ringvisor_loopback_why"; }
# Server and client in one guest, on its 127.0.0.1.
ringvisor_iperf3_loopback() {
	ringvisor_stop
	local arguments
	ringvisor_arguments "$@"
	timeout $((seconds + 60)) ip netns exec "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" \
		--net "$ringvisor_net" "$ringvisor_guest" -- --loopback "${arguments[@]}" 2>&1
}
ringvisor_congestion_control() { echo "the Ringvisor guest's own TCP"; }

# Guest pairs: the server guest stays up for all runs; each run is a new client launcher.
# Each of the two guests gets a core of its own (--cpu: its vCPU and its launcher's I/O thread
# together, so the guest's buffers stay in that core's caches), if there are two to give.
mapfile -t ringvisor_cpus < <(allowed_cpus | head -n 2)
ringvisor_server_cpu=() ringvisor_client_cpu=()
if [ ${#ringvisor_cpus[@]} -eq 2 ]; then
	ringvisor_server_cpu=(--cpu "${ringvisor_cpus[0]}") ringvisor_client_cpu=(--cpu "${ringvisor_cpus[1]}")
fi
ringvisor_pair_server=
ringvisor_pair_net=
ringvisor_pair_links() { echo bridge share; }
# ringvisor_pair_start bridge|share SERVER_ADDR CLIENT_ADDR (both /24): guest A (the server)
# starts here and stays up for every run; guest B's --net is kept for each ringvisor_pair_client.
ringvisor_pair_start() {
	local server_net client_net
	case $1 in
	bridge) server_net="tap,ifname=${short}g1,ip=$2/24,bridge=$br" client_net="tap,ifname=${short}g2,ip=$3/24,bridge=$br" ;;
	share) server_net="share,name=$tag,ip=$2/24" client_net="share,name=$tag,ip=$3/24" ;;
	*) return 1 ;;
	esac
	spawn "$host_ns" "$RINGVISOR" run --mem "$ringvisor_mem" "${ringvisor_server_cpu[@]}" \
		--net "$server_net" "$ringvisor_guest" -- -s >"$work/ringvisor-pair-server" 2>&1
	ringvisor_pair_server=$spawned
	ringvisor_pair_net=$client_net
	wait_for_text "$work/ringvisor-pair-server" "Server listening" 20 "$ringvisor_pair_server" ||
		{ progress "the Ringvisor server guest did not start: $(tail -n 3 "$work/ringvisor-pair-server")"; ringvisor_pair_stop; return 1; }
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
