#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The stop_machine benchmark: apply and reverse a 1-function pack
# (proc-version) and a 10-function pack (target-bench10) ROUNDS times each and
# print, in microseconds (min, median, max): the pause (from the start to the
# end of the stopped section: stack check, hooks, writes), the stack check
# alone, the whole stop_machine() call (stopping and releasing the CPUs
# included), the reverse pause, run-pre matching and the whole apply.
# Figures, not a pass/fail test; the run fails only if an action fails.
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-15}
echo "# splice-bench: $(nproc) CPUs, $ROUNDS rounds, kernel $(uname -r)"

# stats FILE: "min median max" of the numbers in FILE, in us.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		printf "%.1f %.1f %.1f", v[1] / 1000, v[int((NR + 1) / 2)] / 1000, v[NR] / 1000 }'
}

bench() {
	use_pack "$1"
	load
	: >/tmp/apply_pause; : >/tmp/reverse_pause; : >/tmp/match; : >/tmp/apply_total
	: >/tmp/stack_check; : >/tmp/stop_machine; : >/tmp/stop_walks
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		act apply
		sed -n 's/^pause_ns //p' "$d/timings" >>/tmp/apply_pause
		sed -n 's/^match_ns //p' "$d/timings" >>/tmp/match
		sed -n 's/^total_ns //p' "$d/timings" >>/tmp/apply_total
		sed -n 's/^stack_check_ns //p' "$d/timings" >>/tmp/stack_check
		sed -n 's/^stop_machine_ns //p' "$d/timings" >>/tmp/stop_machine
		sed -n 's/^stop_walks //p' "$d/timings" | awk '{ print $1 * 1000 }' >>/tmp/stop_walks
		act reverse
		sed -n 's/^pause_ns //p' "$d/timings" >>/tmp/reverse_pause
		i=$((i + 1))
	done
	unload
	echo "# $1: $2 function(s), $ROUNDS rounds; microseconds: min median max"
	echo "#   apply pause           $(stats /tmp/apply_pause)"
	echo "#     of which stack check $(stats /tmp/stack_check)"
	echo "#   apply stop_machine()  $(stats /tmp/stop_machine)"
	echo "#   reverse pause         $(stats /tmp/reverse_pause)"
	echo "#   match                 $(stats /tmp/match)"
	echo "#   apply, whole action   $(stats /tmp/apply_total)"
	echo "#   stacks walked in stop $(stats /tmp/stop_walks | sed 's/\.0//g')"
	echo "#   tasks                 $(ls -d /proc/[0-9]* | wc -l)"
}

(bench proc-version 1) && (bench target-bench10 10) && echo "# splice-bench: ok" ||
	echo "# splice-bench: FAILED"
echo "# splice-guest: done"
