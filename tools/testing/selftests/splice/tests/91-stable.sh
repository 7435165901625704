#!/bin/sh
# Real fixes from Debian 7.2.12 -> 7.2.13 (../stable/), made by splice-create:
# each pack is loaded, checked against the running kernel and applied; then
# the evidence that it does what the fix does: its case script's workload
# runs the code the fix changed while the function tracer counts the calls
# of the replacements (every target must run, but those the script says the
# VM cannot reach), and the fixed behaviour is observed where a program can
# observe it (the old one again after the reverse); then the system is
# exercised (files, pipes, processes, mounts, tracing), and the pack is
# reversed and unloaded. A pack listed in park (run-cases.sh) replaces a
# function tasks always sleep in: with parking off it must be refused with
# code_busy naming the function; with parking on, the sleepers are moved out
# and it applies, and its reverse too (which proves they went back to sleep
# in the replacement).
#
# The case script of pack splice_stable_NAME.ko is splice_stable_NAME.sh
# beside it (../stable/NAME.sh; see ../stable/cases).
. "$(dirname "$0")/../lib.sh"
dir=/splice/stable
ls $dir/*.ko >/dev/null 2>&1 || { echo "SKIP: no stable packs"; exit 4; }
exercise() {
	ls -R /proc/self >/dev/null 2>&1
	cat /proc/version /proc/cmdline >/dev/null
	echo data | cat | cat >/dev/null
	sh -c 'exit 3'; [ $? -eq 3 ] || fail "a child's exit status was lost"
	mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo x >/tmp/m/f &&
		umount /tmp/m || fail "mount/umount while applied"
	cat /sys/kernel/tracing/available_events >/dev/null 2>&1
	return 0
}

# The case script of the current pack: workload, and fixed and unfixed or
# unobservable.
load_case() {
	unset -f workload fixed unfixed 2>/dev/null
	unobservable= unreached= unreached_why=
	cs=${ko%.ko}.sh
	[ -f "$cs" ] || fail "$name: no case script $(basename "$cs"): nothing shows the pack does what its fix does"
	. "$cs"
	type workload >/dev/null 2>&1 || fail "$name: $(basename "$cs") has no workload"
	if ! type fixed >/dev/null 2>&1 && [ -z "$unobservable" ]; then
		fail "$name: $(basename "$cs") neither checks the fixed behaviour nor says why the VM cannot observe it"
	fi
}

# While applied: the pack says it carries fixes of the release the set is
# from (NEXT), and the admin command says the kernel is this release plus them.
carries() {
	next=$(cat $dir/NEXT) || fail "no $dir/NEXT"
	[ "$(cat $d/fixed_in)" = "$next" ] || fail "$name: fixed_in '$(cat $d/fixed_in)', not $next"
	splice status | grep -qxF "effective version: $(uname -r) + fixes of $next" ||
		fail "$name: splice status does not say $(uname -r) + fixes of $next: $(splice status 2>&1 | grep effective)"
}

# While applied: the replacements run, and behave as the fix.
evidence_applied() {
	carries
	trace_workload workload $unreached
	printf "%s: " "$name"
	exercised $unreached
	[ -n "$unreached" ] && echo "$name: unreached in the VM:$unreached ($unreached_why)"
	# A fix none of whose replacements ran, and whose behaviour nothing
	# observes, shows nothing.
	[ "$ex_ran" -gt 0 ] || type fixed >/dev/null 2>&1 ||
		fail "$name: none of its targets ran while applied, and no check observes the fix: no evidence"
	if type fixed >/dev/null 2>&1; then
		fixed || fail "$name: while applied, the fixed behaviour is not seen"
		echo "$name: behaves as the fix while applied"
	else
		echo "$name: behaviour not observable: $unobservable"
	fi
}

# After the reverse: the old behaviour is back.
evidence_reversed() {
	if type unfixed >/dev/null 2>&1; then
		unfixed || fail "$name: after the reverse, the old behaviour is not back"
		echo "$name: the old behaviour is back after the reverse"
	fi
}

n=0 np=0
for ko in $dir/*.ko; do
	before=$(ls /sys/kernel/splice)
	insmod "$ko" || fail "insmod $ko"
	name=
	for p in $(ls /sys/kernel/splice); do
		echo "$before" | grep -qx "$p" || name=$p
	done
	[ -n "$name" ] || fail "$ko registered no pack"
	d=/sys/kernel/splice/$name
	ko=$ko loaded="$d|$ko $loaded"
	act check
	load_case
	# A fix of a function some task always sleeps in (init in do_wait()).
	park=$(awk -v n="$name" '$1 == n { print $2 }' $dir/park 2>/dev/null)
	if [ -n "$park" ]; then
		echo 0 >/sys/kernel/splice/park || fail "turning parking off"
		if echo apply >$d/stage 2>/dev/null; then
			echo 1 >/sys/kernel/splice/park
			fail "$name: applied without parking, though a task sleeps in $park"
		fi
		echo 1 >/sys/kernel/splice/park || fail "turning parking on"
		[ "$(cat $d/abort_cause)" = code_busy ] || fail "$name: abort_cause $(cat $d/abort_cause), not code_busy"
		grep -q " $park " $d/conflicts || fail "$name: conflicts do not name $park: $(cat $d/conflicts)"
		stage_is checked
		echo "$name: without parking, apply refused: $(head -n 1 $d/conflicts)"
		for a in apply reverse; do
			act $a
			parked=$(awk '$1 == "parked" { print $2 }' $d/timings)
			[ "${parked:-0}" -ge 1 ] || fail "$name: $a went through without parking: $(cat $d/timings)"
			echo "$name: $a after parking $parked tasks asleep in $park"
			[ $a = apply ] && evidence_applied
			[ $a = reverse ] && evidence_reversed
			exercise
		done
		rmmod "$(basename "$ko" .ko)" || fail "rmmod $ko"
		n=$((n + 1)) np=$((np + 1))
		continue
	fi
	act apply
	echo "$name: $(cut -d' ' -f1 $d/targets | tr '\n' ' ')"
	evidence_applied
	exercise
	act reverse
	evidence_reversed
	exercise
	rmmod "$(basename "$ko" .ko)" || fail "rmmod $ko"
	n=$((n + 1))
done
echo "ok: $n real fixes checked, applied and reversed ($np of them by parking the tasks asleep in them)"
