# SPDX-License-Identifier: GPL-2.0
# Evidence that a pack's replacements ran, for the guest tests (lib.sh) and
# the evaluation (eval/guest.sh), which source this file. While the pack is
# applied, the function tracer counts the calls of its module's functions:
# the jump the core writes lands on a replacement's own ftrace site, so a
# call is counted in the pack module, never in the function replaced. A
# module built without ftrace sites (code built notrace, as kernel/trace
# is) is counted by hardware breakpoints at its replacements' entries, where
# the jumps land (splice-probe exec-count). x86 has four debug registers: a
# pack with more targets to count is counted in rounds of four, the workload
# run once a round.
#
# trace_rounds MOD DIR [UNREACHED...]: how many runs of the workload it takes
#   to count every target of pack DIR but those in UNREACHED: one with the
#   function tracer, one for every four targets with breakpoints.
# trace_module MOD [DIR [UNREACHED...]]: start counting the calls of module
#   MOD's functions (without ftrace sites: of the replacements of pack DIR's
#   targets, but those in UNREACHED, the four of round $trace_round, 1 by
#   default: round 1 starts the count afresh); prints why and fails if it
#   cannot.
# trace_round_end: stop counting for this round and keep its calls for
#   exercised_targets; the next round's trace_module goes on from them.
# module_calls: stop counting; prints "FUNCTION COUNT" for each function
#   called, and leaves the tracer running on a function no test calls (or
#   stopped: nop, no filter, if there is none).
# exercised_targets DIR [UNREACHED...]: after trace_module and a workload
#   (in each round), counts the targets of pack DIR (/sys/kernel/splice/NAME)
#   that ran: prints "exercised: N of M targets ran (f=c ...)" and sets
#   ex_ran, ex_all and ex_missing (the targets that did not run, but those in
#   UNREACHED). A target no round counted at is named "f=uncounted", and is
#   missing unless in UNREACHED.
tracefs=/sys/kernel/tracing

# countable DIR [UNREACHED...]: the targets of pack DIR that breakpoints
# count, in order: those with a replacement, but those in UNREACHED.
countable() {
	local dir=$1 t repl u skip
	shift
	while read -r t _ repl _; do
		skip=
		for u in "$@"; do [ "$u" = "$t" ] && skip=1; done
		[ -z "$skip" ] && [ "$repl" != - ] && echo "$t ${repl#0x}"
	done <"$dir/targets"
}

trace_rounds() {
	local n
	if grep -q " \[$1\]\$" $tracefs/available_filter_functions 2>/dev/null; then
		echo 1
		return
	fi
	shift
	n=$(countable "$@" | wc -l)
	echo $((n > 4 ? (n + 3) / 4 : 1))
}

trace_module() {
	[ -f $tracefs/set_ftrace_filter ] ||
		{ echo "no function tracer: the replacements' calls cannot be counted"; return 1; }
	if [ "${trace_round:-1}" = 1 ]; then
		: >/tmp/trace.kept
		bp_counted=
	fi
	untraced= bp_pid= bp_names=
	if ! grep -q " \[$1\]\$" $tracefs/available_filter_functions; then
		untraced=1
		[ -n "${2:-}" ] || return 0
		trace_breakpoints "$@"
		return
	fi
	echo "*:mod:$1" >$tracefs/set_ftrace_filter 2>/dev/null ||
		{ echo "cannot trace the functions of $1"; return 1; }
	if [ "$(cat $tracefs/current_tracer)" != function ]; then
		echo function >$tracefs/current_tracer ||
			{ echo "cannot start the function tracer"; return 1; }
	fi
	echo >$tracefs/trace
	echo 1 >$tracefs/tracing_on
}

# trace_breakpoints MOD DIR [UNREACHED...]: count, by hardware breakpoints,
# the calls of the replacements of DIR's targets (their addresses in DIR's
# targets), but those in UNREACHED: the four of round $trace_round; bp_names
# lists them, bp_counted those of every round so far.
trace_breakpoints() {
	local t a addrs= n=0 first=$((4 * (${trace_round:-1} - 1)))
	shift
	countable "$@" >/tmp/trace.countable
	while read -r t a; do
		n=$((n + 1))
		[ $n -gt $first ] && [ $n -le $((first + 4)) ] || continue
		addrs="$addrs $a" bp_names="$bp_names $t"
	done </tmp/trace.countable
	bp_counted="$bp_counted$bp_names"
	[ -n "$addrs" ] || return 0
	rm -f /tmp/trace.bp.ready /tmp/trace.bp.stop
	# shellcheck disable=SC2086
	splice-probe exec-count /tmp/trace.bp.ready /tmp/trace.bp.stop $addrs >/tmp/trace.bp 2>&1 &
	bp_pid=$!
	n=0
	while [ ! -e /tmp/trace.bp.ready ]; do
		if ! kill -0 $bp_pid 2>/dev/null || [ $n -ge 100 ]; then
			touch /tmp/trace.bp.stop
			wait $bp_pid
			bp_pid=
			echo "cannot set breakpoints at the replacements of$bp_names: $(cat /tmp/trace.bp)"
			return 1
		fi
		n=$((n + 1))
		sleep 0.1
	done
}

# The function the tracer is left filtered on between uses: one no test
# calls. The function tracer is started once in a boot and kept: started again
# (after 80-ftrace.sh or a module before), this kernel under QEMU TCG may call
# a bad address from the ftrace trampoline (a NULL or NX fault, RIP 0x1), with
# or without splice, depending on where the code lands (a run of
# splice_target_mod traced twice, no pack, shows it). Without such a function
# it is stopped, as before.
trace_park=$(for f in __x64_sys_ni_syscall sys_ni_syscall; do
	grep -qx "$f" $tracefs/available_filter_functions 2>/dev/null && { echo $f; break; }
done)

module_calls() {
	if [ -n "$untraced" ]; then
		[ -n "$bp_pid" ] || return 0
		touch /tmp/trace.bp.stop
		wait $bp_pid || { bp_pid=; return 0; }
		bp_pid=
		# "ADDR COUNT" in the order of bp_names.
		set -- $bp_names
		while read -r _ c; do
			[ "${c:-0}" -gt 0 ] && echo "$1 $c"
			shift
		done </tmp/trace.bp
		return 0
	fi
	# Stop first: a change of tracer empties the buffer.
	echo 0 >$tracefs/tracing_on
	grep -v '^#' $tracefs/trace | awk '{ sub(/:$/, "", $5); print $5 }' | sort | uniq -c |
		awk '{ print $2, $1 }'
	trace_park
	echo 1 >$tracefs/tracing_on
}

# trace_park: leave the function tracer on trace_park's function (or stopped).
trace_park() {
	if [ -n "$trace_park" ] && echo "$trace_park" >$tracefs/set_ftrace_filter 2>/dev/null; then
		echo >$tracefs/trace
	else
		echo nop >$tracefs/current_tracer
		echo >$tracefs/set_ftrace_filter
	fi
}

trace_round_end() {
	# Not in a subshell: the breakpoints' counter is a child of this one.
	module_calls >>/tmp/trace.kept
}

exercised_targets() {
	local dir=$1 calls t c u skip seen=
	shift
	trace_round_end
	calls=$(cat /tmp/trace.kept)
	ex_ran=0 ex_all=0 ex_missing=
	for t in $(cut -d' ' -f1 "$dir/targets"); do
		ex_all=$((ex_all + 1))
		c=$(echo "$calls" | awk -v f="$t" '$1 == f { print $2 }')
		if [ -n "$c" ]; then
			ex_ran=$((ex_ran + 1))
			seen="$seen $t=$c"
		else
			skip=
			for u in "$@"; do [ "$u" = "$t" ] && skip=1; done
			if [ -n "$skip" ]; then
				seen="$seen $t=unreached"
			else
				ex_missing="$ex_missing $t"
				if [ -n "$untraced" ] && ! echo " $bp_counted " | grep -qF " $t "; then
					seen="$seen $t=uncounted"
				else
					seen="$seen $t=0"
				fi
			fi
		fi
	done
	echo "exercised: $ex_ran of $ex_all targets ran ($(echo $seen))"
	# The next count starts afresh.
	trace_round=1
}
