# bench/table/rows.sh: the 2007 table's rows and columns, and how one cell is measured.
#
# Sourced by lguest_table.sh after topology.sh and the system files. A row sets up the topology
# (attach_tap), starts the system under test through its interface (see lguest_table.sh) and
# measures its cells; a cell is RUNS runs of iperf3 (TCP, one stream), each recorded as a "run"
# line in the raw file, and the cell itself as a "cell" line (measured, failed, unavailable or
# none, with the note its footnote shows and the path the packets take). The figure is always
# the receiver's (iperf3's sum_received); report.py does every statistic afterwards.

cell_count=0  # the cell being measured, for the progress lines
cells_total=0 # set by the driver before the first row
declare -A cell_status

# cell ROW SYSTEM COLUMN STATUS NOTE [PATH]: records one cell.
cell() {
	cell_status[$1|$2|$3]=$4
	raw_record cell row="$1" system="$2" column="$3" status="$4" note="$5" path="${6:-}"
}

# no_column ROW SYSTEM COLUMN WHY: a cell the 2007 layout leaves empty ("-", no footnote).
no_column() { cell "$1" "$2" "$3" none "$4"; }

# unavailable ROW SYSTEM COLUMN WHY: a cell that cannot be measured here ("-" and a footnote).
unavailable() { cell "$1" "$2" "$3" unavailable "$4"; }

# iperf3_result json|text FILE: sets $bps, $retransmits and $iperf3_error from an iperf3 report:
# -J's JSON, or a client's text summary (its last "receiver" line, in any unit).
iperf3_result() {
	{
		read -r bps
		read -r retransmits
		read -r iperf3_error
	} < <(/usr/bin/python3 bench/table/report.py iperf3 "$1" "$2" 2>&1)
}

# measure ROW SYSTEM COLUMN PATH HOW...: RUNS runs of one cell. HOW is one of
#   loopback                 client and server both inside SYSTEM (figure from its client output)
#   guests ADDR              SYSTEM's pair: guest B's client sends to guest A's server at ADDR
#   client PEER_NS PEER_ADDR SYSTEM's iperf3 client sends to a one-shot server in PEER_NS
#   server PEER_NS ADDR      an iperf3 client in PEER_NS sends to SYSTEM's server at ADDR
measure() {
	local row=$1 system=$2 column=$3 path=$4 how=$5 run failure= sender sender_cc measured=0 note=
	local bps retransmits iperf3_error server args=(-t "$seconds" -O "$omit")
	cell_count=$((cell_count + 1))
	case $how in
	loopback | client | guests) sender=$system sender_cc=$("$system"_congestion_control) ;;
	server) sender=$6 sender_cc=$(ip netns exec "$6" sysctl -n net.ipv4.tcp_congestion_control) ;;
	esac
	[ "$how" = server ] && "$system"_iperf3_server
	for run in $(seq "$runs"); do
		progress "[cell $cell_count/$cells_total] $(row_title "$row"): $("$system"_title), $column: run $run of $runs"
		bps= retransmits=
		case $how in
		loopback | guests)
			if [ "$how" = guests ]; then
				"$system"_pair_client "$6" "${args[@]}" -f k >"$work/client.txt"
			else
				"$system"_iperf3_loopback "${args[@]}" -f k >"$work/client.txt"
			fi
			iperf3_result text "$work/client.txt"
			[ -n "$bps" ] || failure="no receiver line in: $(tail -n 3 "$work/client.txt" | tr '\n' ' ')"
			;;
		client)
			spawn "$6" iperf3 -s -1 -J -B "$7" >"$work/server.json" 2>&1
			server=$spawned
			if listening "$6"; then
				"$system"_iperf3_client "$7" "${args[@]}" >"$work/client.txt"
				stop "$server" 15
				iperf3_result json "$work/server.json"
				retransmits= # the receiving server's report has none of the sender's
				[ -n "$bps" ] || failure="$iperf3_error $(tail -n 3 "$work/client.txt" | tr '\n' ' ')"
			else
				stop "$server"
				failure="iperf3 -s never listened in $6"
			fi
			;;
		server)
			timeout $((seconds + omit + 60)) ip netns exec "$6" iperf3 -c "$7" -J "${args[@]}" \
				>"$work/client.json" 2>&1
			iperf3_result json "$work/client.json"
			[ -n "$bps" ] || failure=$iperf3_error
			;;
		esac
		if [ -n "$bps" ]; then
			measured=$((measured + 1))
			raw_record run row="$row" system="$system" column="$column" run:="$run" \
				bits_per_second:="$bps" retransmits:="${retransmits:--1}" sender="$sender" \
				sender_congestion_control="$sender_cc"
		else
			progress "  run $run failed: $failure"
		fi
	done
	if [ "$measured" -eq 0 ]; then
		cell "$row" "$system" "$column" failed "every run failed: $failure" "$path"
	else
		[ -n "$failure" ] && note="$((runs - measured)) of $runs runs failed: $failure"
		cell "$row" "$system" "$column" measured "$note" "$path"
	fi
}

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
	measure host "$system" loopback "iperf3 client and server in the host namespace, over lo" loopback
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

# The guest rows differ only in the topology and the addresses.
row_bridged() {
	local system=$1 why
	attach_tap bridged
	"$system"_start "$tap" 198.18.2.10/24 198.18.2.1 || { row_failed bridged "$system"; return; }
	measure bridged "$system" client "guest -> remote namespace, TAP on the host's bridge" client "$remote_ns" 198.18.2.2
	measure bridged "$system" server "remote namespace -> guest, TAP on the host's bridge" server "$remote_ns" 198.18.2.10
	why=$("$system"_loopback_unavailable)
	if [ -z "$why" ]; then
		measure bridged "$system" loopback "iperf3 client and server inside the guest, over its lo" loopback
	else
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
	if ! "$system"_pair_start bridge 198.18.2.21 198.18.2.22; then
		unavailable guests "$system" client "$("$system"_title): the two guests did not start (see the log above)"
		return
	fi
	measure guests "$system" client "guest -> guest, each on its own TAP on one Linux bridge" guests 198.18.2.21
	"$system"_pair_stop
}

# has_share SYSTEM: true if SYSTEM's guests have a path of their own between them (pair_links).
has_share() { [[ " $("$1"_pair_links) " == *" share "* ]]; }

# Guest to guest without the host's network stack: Ringvisor's share backend, the counterpart of
# lguest's --sharenet. Guest A (198.18.6.21) runs the server, guest B (198.18.6.22) the client.
row_guests_share() {
	local system=$1
	no_column guests-share "$system" loopback "one figure in 2007 (shown as client)"
	no_column guests-share "$system" server "one figure in 2007 (shown as client)"
	if ! has_share "$system"; then
		no_column guests-share "$system" client "no shared-memory path between guests"
		return
	fi
	if ! "$system"_pair_start share 198.18.6.21 198.18.6.22; then
		unavailable guests-share "$system" client "$("$system"_title): the two guests did not start (see the log above)"
		return
	fi
	measure guests-share "$system" client "guest -> guest through a shared-memory switch (--net share)" guests 198.18.6.21
	"$system"_pair_stop
}

# rows_unavailable SYSTEM WHY: every guest cell of a system that cannot run here.
rows_unavailable() {
	local row column
	for row in bridged nat to-host guests guests-share; do
		for column in loopback client server; do
			case $row:$column in
			bridged:* | nat:[cs]* | to-host:[cs]* | guests:client | guests-share:client)
				unavailable "$row" "$1" "$column" "$2" ;;
			*) no_column "$row" "$1" "$column" "not in the 2007 layout" ;;
			esac
		done
	done
}

# guest_rows SYSTEM: all of one system's guest rows.
guest_rows() {
	row_bridged "$1"
	row_nat "$1"
	row_to_host "$1"
	row_guests "$1"
	row_guests_share "$1"
}
