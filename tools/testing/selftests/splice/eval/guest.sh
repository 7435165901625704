#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest half of the evaluation (scripts/splice/eval.sh; /init runs it
# with SPLICE_MODE=eval). For each pack in /splice/eval/: load, check, apply,
# a smoke workload, reverse, the smoke workload again, unload, stopping at the
# first stage that fails.
# One line per pack:
#
#   eval NAME load=ok check=ok apply=ok smoke=ok reverse=ok unload=ok cause=none match_ns=N pause_ns=N sig=S exercised=R/T ran=F:C,... behaves=B old=O
#
# exercised: R of the pack's T targets were called while the smoke workload
# ran with the pack applied, as the function tracer counted the calls of the
# pack module's functions (trace.sh); ran: the calls of each target (F:0 for
# one that did not run; "none" if the tracer could not count).
# behaves, old: what the pack's case script (NAME.sh beside the pack: the
# stable set's, or the hand work's; see ../stable/cases) observed: its
# workload runs with the smoke workload while the pack is applied; behaves
# is "fixed" when its fixed() check passed, "unobservable" when it says why
# the VM cannot observe the fix, "failed" when fixed() failed, "unchecked"
# when there is no case script; old is "back" when unfixed() passed after the
# reverse, "failed" when it did not, "-" when there is no such check.
# sig: ok (the kernel verified the pack's signature), missing (it could not:
# the module is tainted E), unchecked (the kernel does not check signatures).
# (a failed stage reads "stage=failed" with the abort cause, or for smoke
# "workload:MESSAGE" when the case's workload failed; later stages
# "skipped"; reverse=failed cause=smoke_after_reverse when the workload fails
# after the reverse), then "eval: done".
export PATH=/splice/bin:/bin

. /splice/selftests/eval/smoke.sh
. /splice/selftests/trace.sh

# What a case script's checks call on an error: the check fails, the run
# goes on.
fail() {
	echo "eval: $*" >&2
	return 1
}

# load_case KO: the functions and words of KO's case script, if it has one.
load_case() {
	unset -f workload fixed unfixed 2>/dev/null
	unobservable= unreached= unreached_why= has_case=
	[ -f "${1%.ko}.sh" ] || return 0
	has_case=1
	. "${1%.ko}.sh"
}

for ko in /splice/eval/*.ko; do
	[ -f "$ko" ] || continue
	mod=$(basename "$ko" .ko)
	name=${mod#splice_}
	d=
	r="load=skipped check=skipped apply=skipped smoke=skipped reverse=skipped unload=skipped"
	set_r() { r=$(echo "$r" | sed "s/$1=[a-z]*/$1=$2/"); }
	cause=none match=0 pause=0 sig=unchecked ex=0/0 ran=none behaves=unchecked old=-
	load_case "$ko"
	if ! insmod "$ko" 2>/tmp/eval.err; then
		set_r load failed
		cause="insmod:$(tr ' ' _ </tmp/eval.err | cut -c1-60)"
	else
		set_r load ok
		# Whether the kernel verified the pack's signature: it taints a
		# module it could not verify with E.
		if [ ! -e /sys/module/module/parameters/sig_enforce ]; then
			sig=unchecked
		elif grep -q E "/sys/module/$mod/taint" 2>/dev/null; then
			sig=missing
		else
			sig=ok
		fi
		for m in /sys/kernel/splice/*/module; do
			[ "$(cat "$m")" = "$mod" ] && d=${m%/module}
		done
		name=${d##*/}
		for stage in check apply smoke reverse; do
			if [ $stage = smoke ]; then
				traced=no rounds=1 trace_round=1
				trace_module "$mod" "$d" $unreached >/tmp/eval.trace 2>&1 && traced=yes
				[ $traced = no ] || rounds=$(trace_rounds "$mod" "$d" $unreached)
				if smoke; then set_r smoke ok; else set_r smoke failed; fi
				# The case's own workload, then what it observes of the fix.
				if [ -n "$has_case" ]; then
					# A workload that fails while the pack is applied
					# fails the smoke stage: the fix broke what it runs.
					if type workload >/dev/null 2>&1 && ! workload >/tmp/eval.workload 2>&1; then
						set_r smoke failed
						cause="workload:$(tail -n 1 /tmp/eval.workload | tr ' ' _ | cut -c1-60)"
					fi
					if type fixed >/dev/null 2>&1; then
						if fixed >/tmp/eval.fixed 2>&1; then behaves=fixed; else behaves=failed; fi
					elif [ -n "$unobservable" ]; then
						behaves=unobservable
					fi
				fi
				# Replacements without ftrace sites past the first four
				# are counted in further rounds of breakpoints, each
				# running the workloads again.
				while [ $trace_round -lt $rounds ]; do
					trace_round_end
					trace_round=$((trace_round + 1))
					trace_module "$mod" "$d" $unreached >/tmp/eval.trace 2>&1 || break
					smoke >/dev/null 2>&1
					if [ -n "$has_case" ] && type workload >/dev/null 2>&1; then
						workload >/dev/null 2>&1
					fi
				done
				if [ $traced = yes ]; then
					exercised_targets "$d" $unreached >/tmp/eval.ex
					ex=$ex_ran/$ex_all
					ran=$(sed -n 's/.*(\(.*\))$/\1/p' /tmp/eval.ex | tr ' =' ',:')
					[ -n "$ran" ] || ran=none
				fi
				case $r in *smoke=failed*) break ;; esac
				continue
			fi
			if echo $stage >$d/stage 2>/dev/null; then
				set_r $stage ok
				[ $stage = apply ] && {
					match=$(sed -n 's/^match_ns //p' $d/timings)
					pause=$(sed -n 's/^pause_ns //p' $d/timings)
				}
			else
				set_r $stage failed
				cause=$(cat $d/abort_cause)
				break
			fi
		done
		# The kernel reverse gives back must work as well as the one
		# apply made: a reverse after which it does not has failed.
		case $r in *reverse=ok*)
			smoke || { set_r reverse failed; cause=smoke_after_reverse; }
			if [ -n "$has_case" ] && type unfixed >/dev/null 2>&1; then
				if unfixed >/tmp/eval.unfixed 2>&1; then old=back; else old=failed; fi
			fi ;;
		esac
		[ "$(cat $d/stage)" = applied ] && echo reverse >$d/stage 2>/dev/null
		if rmmod "$mod" 2>/dev/null; then set_r unload ok; else set_r unload failed; fi
	fi
	echo "eval $name $r cause=$cause match_ns=$match pause_ns=$pause sig=$sig exercised=$ex ran=$ran behaves=$behaves old=$old"
	# Why the targets the case names unreached cannot run in the VM.
	[ -z "$unreached_why" ] || echo "evalwhy $name $unreached_why"
done
echo "eval: done"
