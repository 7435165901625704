# SPDX-License-Identifier: GPL-2.0
# klp-build on one fix of the evaluation, for eval.sh's step 4 (sourced after
# lib.sh, klp.sh and eval-headers.sh):
#
#   klp_on P DIFF    klp-build's outcome of DIFF for patch P, kept or new
#   klp_patch P      P's outcome, with the changed headers it does not
#                    compile without; one line of $out/klp/outcomes
#
# Globals: out (the evaluation's folder), ran (the new klp-build runs made so
# far), EVAL_KLP_LIMIT (at most that many new runs).

# klp_on P DIFF: klp-build's outcome of DIFF for patch P (klp_status,
# klp_secs, klp_mode; its log $out/klp/P.log, its module livepatch-P.ko): kept
# from an earlier run (klp.sh keeps them by diff and kernel: an evaluation that
# stopped goes on where it was), or a new run. Fails when EVAL_KLP_LIMIT new
# runs were made already.
klp_on() {
	local p=$1 diff=$2
	if klp_kept "$diff" "$out/klp/$p.log" "$out/klp/livepatch-$p.ko"; then
		say "klp-build $p: $klp_status ($(printf '%.1f' "$klp_secs") s, from an earlier run)"
	elif [ -n "${EVAL_KLP_LIMIT:-}" ] && [ "$ran" -ge "$EVAL_KLP_LIMIT" ]; then
		return 1
	else
		klp_build "$diff" "$out/klp/livepatch-$p.ko" "$out/klp/$p.log"
		ran=$((ran + 1))
		klp_keep "$diff" "$out/klp/$p.log" "$out/klp/livepatch-$p.ko"
		say "klp-build $p: $klp_status ($(printf '%.1f' "$klp_secs") s)${klp_error:+: $klp_error}"
	fi
}

# klp_patch P: klp-build on P, given the diff splice-create got last (the
# file's own, or with the headers step 2 found it needs), and the line
# "P STATUS SECS MODE USED" added to $out/klp/outcomes; USED says which diff
# made the outcome (alone, headers: step 2's, klp-headers: this step's).
# Fails, adding nothing, when EVAL_KLP_LIMIT leaves no run for P.
#
# splice refuses some fixes before it compiles anything (a layout change), so
# such a fix never got the changed headers it needs: given the file's diff
# alone, klp-build may not compile it. Then again with those headers, found
# from klp-build's own log, up to three rounds as for splice-create. A
# refusal of klp-build's own (objtool's "changed data") gets no round. When
# EVAL_KLP_LIMIT stops a round, the outcome of the round before stands, with
# its log.
klp_patch() {
	local p=$1 diff=$out/patches/$1.diff used=alone round=0
	if [ -f "$out/splice/$p.alone.log" ]; then
		diff=$out/patches/$p.headers.diff used=headers
	fi
	klp_on "$p" "$diff" || return 1
	while [ $used != headers ] && [ "$klp_status" = failed ] && [ $round -lt 3 ] &&
		compile_failed "$out/klp/$p.log" &&
		with_headers "$p" "$out/klp/$p.log" "$out/klp/$p.headers.diff" "$out/klp/headers-used"; do
		round=$((round + 1))
		[ $round = 1 ] && mv "$out/klp/$p.log" "$out/klp/$p.alone.log"
		say "klp-build $p: does not compile$([ $round = 1 ] && echo ' alone'); again with the changed headers it includes (round $round)"
		if ! klp_on "$p" "$out/klp/$p.headers.diff"; then
			[ $round = 1 ] && mv "$out/klp/$p.alone.log" "$out/klp/$p.log"
			break
		fi
		used=klp-headers
	done
	echo "$p $klp_status $klp_secs $klp_mode $used" >>"$out/klp/outcomes"
}
