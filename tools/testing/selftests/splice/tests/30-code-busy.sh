#!/bin/sh
# A kthread sleeping inside a function that a pack replaces blocks the switch:
# apply fails with code_busy, conflicts names the kthread, its pid and the
# function, and nothing changes; once the kthread has left, apply succeeds.
# The same holds for reverse while a kthread sleeps in the replacement. A pack
# checked before keeps its targets listed after the failed apply.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
root=/sys/kernel/splice
echo 3 >$root/tries || fail "setting tries"
echo 50 >$root/retry_delay_ms || fail "setting retry_delay_ms"
is $target/value 42
load

# blocked ACTION STAGE VALUE: with a kthread held in splice_target_hold, ACTION
# fails with code_busy after 3 tries, naming it, and changes nothing; once the
# kthread has left, ACTION goes through.
blocked() {
	held_busy "$1" "$2" "$3"
	grep -q "^tries 3$" $d/timings || fail "$1: not tried 3 times: $(cat $d/timings)"
	# A pack that was checked keeps its checked targets after a failed apply.
	if [ "$2" = checked ]; then
		grep -q "^splice_target_hold 0x[0-9a-f]* 0x[0-9a-f]* checked$" $d/targets ||
			fail "$1 failed from checked: targets are '$(cat $d/targets)'"
	fi
	echo "$1 blocked as expected: $(cat $d/conflicts)"
	held_release
	# A check that succeeds is a success too: what blocked the last try is gone.
	if [ "$2" = checked ]; then
		act check
		[ -z "$(cat $d/conflicts)" ] || fail "conflicts left after a successful check: $(cat $d/conflicts)"
		is $d/abort_cause none
	fi
	echo 10 >$root/tries
	act "$1"
	[ -z "$(cat $d/conflicts)" ] || fail "conflicts left after a successful $1: $(cat $d/conflicts)"
}

act check
blocked apply checked 42
stage_is applied
is $target/value 63
# Now the kthread sleeps in the replacement: reverse must wait for it.
blocked reverse applied 63
stage_is reversed
is $target/value 42
unload
cleanup
echo "ok: code_busy on apply and reverse, named the kthread, then both went through"
