# SPDX-License-Identifier: GPL-2.0
# Evidence that a pack's replacements ran, for the guest tests (lib.sh) and
# the evaluation (eval/guest.sh), which source this file. While the pack is
# applied, the function tracer counts the calls of its module's functions:
# the jump the core writes lands on a replacement's own ftrace site, so a
# call is counted in the pack module, never in the function replaced.
#
# trace_module MOD: start counting the calls of module MOD's functions;
#   prints why and fails if it cannot.
# module_calls: stop counting; prints "FUNCTION COUNT" for each function
#   called, and leaves the tracer running on a function no test calls (or
#   stopped: nop, no filter, if there is none).
# exercised_targets DIR [UNREACHED...]: after trace_module and a workload,
#   counts the targets of pack DIR (/sys/kernel/splice/NAME) that ran:
#   prints "exercised: N of M targets ran (f=c ...)" and sets ex_ran, ex_all
#   and ex_missing (the targets that did not run, but those in UNREACHED).
tracefs=/sys/kernel/tracing

# A module without an ftrace site (code built notrace, as kernel/trace is)
# has nothing to count: then no call is counted, and the targets count as not
# run unless the caller names them unreached.
trace_module() {
	[ -f $tracefs/set_ftrace_filter ] ||
		{ echo "no function tracer: the replacements' calls cannot be counted"; return 1; }
	untraced=
	if ! grep -q " \[$1\]\$" $tracefs/available_filter_functions; then
		untraced=1
		return 0
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
	[ -z "$untraced" ] || return 0
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

exercised_targets() {
	local dir=$1 calls t c u skip seen=
	shift
	calls=$(module_calls)
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
			if [ -n "$skip" ]; then seen="$seen $t=unreached"; else ex_missing="$ex_missing $t"; seen="$seen $t=0"; fi
		fi
	done
	echo "exercised: $ex_ran of $ex_all targets ran ($(echo $seen))"
}
