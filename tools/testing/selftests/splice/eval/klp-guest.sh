#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The evaluation's guest half for upstream livepatch (scripts/splice/eval.sh;
# /init runs it with SPLICE_MODE=eval-klp, in a VM booted from the kernel
# klp-build's tree builds). For each module klp-build made, in /splice/klp/:
# load (which enables the patch), wait for the transition to end, the smoke
# workload, disable, wait for that transition, unload. One line per module:
#
#   klp NAME load=ok enable=ok smoke=ok disable=ok unload=ok enable_ms=N disable_ms=N
#
# A transition still running after $KLP_WAIT_S seconds (60) reads
# "enable=stalled" (it is then forced, so the next module can run); later
# stages "skipped". A module that does not load gets "error=WHY", the
# kernel's first complaint since insmod (spaces as "+"). Times are from
# /proc/uptime: 10 ms steps. Ends with "eval: done".
export PATH=/splice/bin:/bin
. /splice/selftests/eval/smoke.sh
wait_s=${KLP_WAIT_S:-60}

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# settle DIR: wait until DIR/transition is 0; prints the milliseconds taken;
# fails after $wait_s seconds.
settle() {
	t0=$(now_ms)
	while [ "$(cat "$1/transition" 2>/dev/null)" = 1 ]; do
		[ $(($(now_ms) - t0)) -ge $((wait_s * 1000)) ] && return 1
		usleep 10000
	done
	echo $(($(now_ms) - t0))
}

for ko in /splice/klp/*.ko; do
	[ -f "$ko" ] || continue
	mod=$(basename "$ko" .ko | tr - _)
	name=${mod#livepatch_}
	d=/sys/kernel/livepatch/$mod
	r="load=skipped enable=skipped smoke=skipped disable=skipped unload=skipped"
	set_r() { r=$(echo "$r" | sed "s/$1=[a-z]*/$1=$2/"); }
	on=0 off=0
	seen=$(dmesg | wc -l)
	if ! insmod "$ko" 2>/tmp/klp.err; then
		set_r load failed
		# The kernel says why (its first complaint since insmod); insmod
		# only that it could not.
		why=$(dmesg | tail -n +$((seen + 1)) | sed 's/^\[[^]]*\] *//' |
			grep -v tainting | grep -m 1 -iE "fail|error|not found|unable|invalid|can't|cannot")
		r="$r error=$(echo "${why:-$(cat /tmp/klp.err)}" | tr ' ' + | cut -c1-100)"
	else
		set_r load ok
		if on=$(settle "$d"); then
			set_r enable ok
			if smoke; then set_r smoke ok; else set_r smoke failed; fi
			echo 0 >"$d/enabled"
			if off=$(settle "$d"); then set_r disable ok; else set_r disable stalled; fi
		else
			set_r enable stalled
			on=$((wait_s * 1000))
			echo 1 >"$d/force" 2>/dev/null
		fi
		[ -d "$d" ] && [ "$(cat "$d/transition")" = 0 ] && [ "$(cat "$d/enabled")" = 1 ] &&
			echo 0 >"$d/enabled" && settle "$d" >/dev/null
		# The module goes once the patch is disabled and freed.
		i=0
		while [ -d "$d" ] && [ $i -lt 100 ]; do usleep 10000; i=$((i + 1)); done
		if rmmod "$mod" 2>/dev/null; then set_r unload ok; else set_r unload failed; fi
	fi
	echo "klp $name $r enable_ms=$on disable_ms=$off"
done
echo "eval: done"
