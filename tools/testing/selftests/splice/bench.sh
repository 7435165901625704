#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The stop_machine benchmark: apply and reverse a 1-function pack
# (proc-version) and a 10-function pack (target-bench10) ROUNDS times each and
# print, in microseconds (min, median, max): the pause (from the start to the
# end of the stopped section: stack check, hooks, writes), the stack check
# alone, the whole stop_machine() call (stopping and releasing the CPUs
# included), the reverse pause, run-pre matching and the whole apply.
# The pause is set beside an empty stop_machine() in the same guest (the
# floor of any switch; /sys/kernel/splice_target/empty_stop) as a ratio of
# medians, with its parts: the stack check and the commit (every other CPU
# held in an NMI, the jumps written). Then the cost of one call of
# splice_target_compute(): as built, replaced by the target-value pack (one
# jump), and livepatched to the same code (splice_target_klp.ko: the ftrace
# handler), in picoseconds per call and as ratios. Last, the stress run of
# tests/35-stress.sh (stress.sh) with STRESS_CYCLES (200) cycles and a caller
# on every CPU: its cycles, aborts by cause and pause percentiles.
# Figures, not a pass/fail test; the run fails only if an action fails.
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-15}
echo "# splice-bench: $(nproc) CPUs, $ROUNDS rounds, kernel $(uname -r)"

# median FILE: the median of the numbers in FILE, as they are.
median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ratio A B: A / B to two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# The floor: ROUNDS empty stop_machine() calls.
: >/tmp/empty_stop
i=0
while [ $i -lt "$ROUNDS" ]; do
	cat $target/empty_stop >>/tmp/empty_stop || { echo "# splice-bench: FAILED (empty_stop)"; exit 0; }
	i=$((i + 1))
done

# stats FILE: "min median max" of the numbers in FILE, in us.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		printf "%.1f %.1f %.1f", v[1] / 1000, v[int((NR + 1) / 2)] / 1000, v[NR] / 1000 }'
}

bench() {
	use_pack "$1"
	load
	: >/tmp/apply_pause; : >/tmp/reverse_pause; : >/tmp/match; : >/tmp/apply_total
	: >/tmp/stack_check; : >/tmp/stop_machine; : >/tmp/stop_walks; : >/tmp/commit
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		act apply
		sed -n 's/^pause_ns //p' "$d/timings" >>/tmp/apply_pause
		sed -n 's/^match_ns //p' "$d/timings" >>/tmp/match
		sed -n 's/^total_ns //p' "$d/timings" >>/tmp/apply_total
		sed -n 's/^stack_check_ns //p' "$d/timings" >>/tmp/stack_check
		sed -n 's/^commit_ns //p' "$d/timings" >>/tmp/commit
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
	echo "#     of which commit      $(stats /tmp/commit) (NMIs held, jumps written)"
	echo "#   apply stop_machine()  $(stats /tmp/stop_machine)"
	echo "#   empty stop_machine()  $(stats /tmp/empty_stop)"
	echo "#   ratio to the empty stop_machine(), medians: whole call $(ratio "$(median /tmp/stop_machine)" "$(median /tmp/empty_stop)"), pause alone $(ratio "$(median /tmp/apply_pause)" "$(median /tmp/empty_stop)")"
	echo "#   reverse pause         $(stats /tmp/reverse_pause)"
	echo "#   match                 $(stats /tmp/match)"
	echo "#   apply, whole action   $(stats /tmp/apply_total)"
	echo "#   stacks walked in stop $(stats /tmp/stop_walks | sed 's/\.0//g')"
	echo "#   tasks                 $(ls -d /proc/[0-9]* | wc -l)"
}

# call_cost: the median of 5 readings of picoseconds per call.
call_cost() {
	: >/tmp/call_cost
	for i in 1 2 3 4 5; do
		read -r ps sum <$target/call_cost || return 1
		echo "$ps" >>/tmp/call_cost
	done
	median /tmp/call_cost
}

# The cost of a call: as built, through splice's jump, through livepatch.
calls() {
	plain=$(call_cost) || return 1
	use_pack target-value
	load
	act apply
	[ "$(cat $target/value)" = 63 ] || fail "target-value not in effect"
	spliced=$(call_cost) || return 1
	act reverse
	unload
	klp=/splice/modules/splice_target_klp.ko
	lp=n/a
	if [ -f $klp ]; then
		insmod $klp || fail "insmod $klp"
		wait_for /sys/kernel/livepatch/splice_target_klp/transition 0
		[ "$(cat $target/value)" = 63 ] || fail "splice_target_klp not in effect"
		lp=$(call_cost) || return 1
		echo 0 >/sys/kernel/livepatch/splice_target_klp/enabled
		# A disabled patch is freed, its directory with it, once unpatched.
		i=0
		while [ -d /sys/kernel/livepatch/splice_target_klp ]; do
			i=$((i + 1))
			[ $i -le 100 ] || fail "splice_target_klp still unpatching after 10 s"
			sleep 0.1
		done
		rmmod splice_target_klp || fail "rmmod splice_target_klp"
	fi
	echo "# call of splice_target_compute(), picoseconds per call (median of 5 x 200000 calls):"
	echo "#   as built $plain, through splice's jump $spliced, livepatched $lp"
	echo "#   splice - as built: $(awk -v a="$spliced" -v b="$plain" 'BEGIN { printf "%d", a - b }') ps; livepatch / splice: $(ratio "$lp" "$spliced")"
}

# The stress run's figures, as comments.
stress_figures() {
	. "${SPLICE_SELFTESTS:-/splice/selftests}/stress.sh"
	(stress target-value "${STRESS_CYCLES:-200}" $target/value 42 63) >/tmp/stress.out 2>&1 ||
		{ sed 's/^/# /' /tmp/stress.out; return 1; }
	sed -n 's/^stress: /# stress: /p' /tmp/stress.out
}

# The cost at a module's load of redirecting its targets: insmod of
# splice_target_mod while mod-greeting-onload waits for it (load_ns: matching
# the module's object and writing the jump, before its init), 5 loads.
onload() {
	mod=/splice/modules/splice_target_mod.ko
	use_pack mod-greeting-onload
	[ -f $mod ] || return 0
	load
	act apply
	: >/tmp/load_ns
	for i in 1 2 3 4 5; do
		insmod $mod || fail "insmod $mod"
		sed -n 's/^load_ns //p' "$d/timings" >>/tmp/load_ns
		rmmod splice_target_mod || fail "rmmod splice_target_mod"
	done
	act reverse
	unload
	echo "# a module's load with a pack waiting for it (mod-greeting-onload, 1 target), us:"
	echo "#   match and redirect    $(stats /tmp/load_ns) (min median max of 5)"
}

(bench proc-version 1) && (bench target-bench10 10) && (calls) && (onload) && (stress_figures) &&
	echo "# splice-bench: ok" ||
	echo "# splice-bench: FAILED"
echo "# splice-guest: done"
