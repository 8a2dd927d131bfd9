# bench/table/common.sh: the helpers every part of the table uses, defined once.
#
# Sourced by lguest_table.sh before the topology, the rows and the system files. It holds the
# process handling (every background process is a process group the EXIT trap can kill, so no
# iperf3 or guest outlives the script), the progress lines, and the writer of the raw
# measurements file that bench/table/report.py turns into the tables, the JSON and the chart.

die() {
	echo "lguest_table: $*" >&2
	exit 1
}
progress() {
	echo "lguest_table: $*" >&2
}

. tools/shell_helpers.sh # wait_for_text, namespace_create, allowed_cpus

# ---- processes ---------------------------------------------------------------------------------

pids=() # process groups this script started (each a session leader: setsid)

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
	local stat state
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	state=${stat##*) } # the command name, in parentheses, may hold spaces; the state follows it
	state=${state%% *}
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

# stop_all: the EXIT trap's part: every process group still running.
stop_all() {
	local pid
	for pid in "${pids[@]}"; do
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	pids=()
}

# listening NAMESPACE: waits (up to 10 s) until something listens on the iperf3 port there.
listening() {
	local deadline=$((SECONDS + 10))
	until ip netns exec "$1" ss -Hltn "sport = :$port" | grep -q .; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# ---- the raw measurements ----------------------------------------------------------------------
#
# $raw (OUT/measurements.jsonl) gets one JSON object a line, each with a "kind": "run" (one
# iperf3 run), "cell" (one table cell's status, note and path), "boot" and "guest" (a Linux
# guest's boot time and ready line) and one "meta" (the run's parameters, versions, machine,
# systems and topology). report.py reads only this file, so a recorded one reproduces the
# report exactly (tests/bench/ keeps one).

# json_string TEXT: TEXT as a JSON string (control characters other than tab and newline dropped).
json_string() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	s=${s//[[:cntrl:]]/}
	printf '"%s"' "$s"
}

# json_object KEY=TEXT | KEY:=JSON ...: one JSON object; KEY:=JSON takes JSON as it is (numbers,
# lists, objects made by json_list or json_object).
json_object() {
	local pair separator='' text='{'
	for pair; do
		if [[ ${pair%%=*} == *: ]]; then
			text+="$separator$(json_string "${pair%%:=*}"):${pair#*:=}"
		else
			text+="$separator$(json_string "${pair%%=*}"):$(json_string "${pair#*=}")"
		fi
		separator=,
	done
	printf '%s}' "$text"
}

# json_list TEXT...: a JSON list of strings.
json_list() {
	local item separator='' text='['
	for item; do
		text+="$separator$(json_string "$item")"
		separator=,
	done
	printf '%s]' "$text"
}

# raw_record KIND KEY=TEXT | KEY:=JSON ...: appends one object to the raw file.
raw_record() {
	local kind=$1
	shift
	json_object kind="$kind" "$@" >>"$raw"
	echo >>"$raw"
}
