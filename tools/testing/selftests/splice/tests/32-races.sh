#!/bin/sh
# Races on the stage files: several tasks writing apply and reverse to one
# pack at once; two packs acted on at the same time; rmmod of a pack while
# its own action waits between tries. Meanwhile readers call the patched
# code: every call returns the old result or the new one, and once the
# writers are done the code is the one the stage says.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
d1=$d ko1=$ko
use_pack proc-version
d2=$d ko2=$ko
ver=$(cat /proc/version)

# flip DIR N LOG: write apply and reverse to DIR/stage N times each; failures
# (EINVAL when another writer got there first) are expected. Each write that
# succeeds adds a line to LOG ("apply" or "reverse"): the writers must have
# acted, or the test shows nothing.
flip() {
	i=0
	while [ $i -lt "$2" ]; do
		echo apply >"$1/stage" 2>/dev/null && echo apply >>"$3"
		echo reverse >"$1/stage" 2>/dev/null && echo reverse >>"$3"
		i=$((i + 1))
	done
}

# acted LOG WHAT: the writers of LOG applied and reversed at least once.
acted() {
	for a in apply reverse; do
		grep -qx $a "$1" || fail "$2: no $a of the writers succeeded: the test shows nothing"
	done
	echo "$2: $(grep -cx apply "$1") applies and $(grep -cx reverse "$1") reverses succeeded"
}

rm -f /tmp/races.stop
# The reader stops however the test ends (fail exits).
trap 'touch /tmp/races.stop' EXIT
d=$d1 ko=$ko1
load
d=$d2 ko=$ko2
load
# The reader calls the patched code until the writers are done: each call
# returns the old result or the new one, and both are seen.
splice-probe read-loop $target/value /tmp/races.stop 42 63 >/tmp/races.read 2>&1 &
reader=$!

# Four writers on one pack.
: >/tmp/races.acts
flip "$d1" 25 /tmp/races.acts & w1=$!
flip "$d1" 25 /tmp/races.acts & w2=$!
flip "$d1" 25 /tmp/races.acts & w3=$!
flip "$d1" 25 /tmp/races.acts & w4=$!
wait $w1 $w2 $w3 $w4
acted /tmp/races.acts "four writers on one pack"
s=$(cat "$d1/stage")
case $s in
applied) [ "$(cat $target/value)" = 63 ] || fail "stage applied, value $(cat $target/value)" ;;
reversed | checked | loaded) [ "$(cat $target/value)" = 42 ] || fail "stage $s, value $(cat $target/value)" ;;
*) fail "stage '$s' after concurrent writes" ;;
esac
[ "$s" = applied ] && { echo reverse >"$d1/stage" || fail "reverse after the writers"; }
echo "four writers on one pack: left $s, its code as the stage says"

# Two packs at once.
: >/tmp/races.acts1
: >/tmp/races.acts2
flip "$d1" 20 /tmp/races.acts1 & w1=$!
flip "$d2" 20 /tmp/races.acts2 & w2=$!
wait $w1 $w2
acted /tmp/races.acts1 "$(basename "$d1") beside $(basename "$d2")"
acted /tmp/races.acts2 "$(basename "$d2") beside $(basename "$d1")"
for p in "$d1" "$d2"; do
	[ "$(cat "$p/stage")" = reversed ] || fail "$p is $(cat "$p/stage") after its own writer's last reverse"
done
[ "$(cat /proc/version)" = "$ver" ] || fail "/proc/version is not the kernel's after both packs were reversed"
is $target/value 42
echo "two packs acted on at once: both reversed, the code the kernel's"

touch /tmp/races.stop
wait $reader || fail "the reader of the patched code during the writes: $(cat /tmp/races.read)"
echo "$(cat /tmp/races.read)"

# rmmod of a pack while its own apply waits between tries: refused (the
# action holds the module), and the apply ends as it should.
d=$d2 ko=$ko2
unload
d=$d1 ko=$ko1
echo 1 >$target/hold || fail "starting the holder"
wait_for $target/hold 1
echo 10 >/sys/kernel/splice/tries
echo 300 >/sys/kernel/splice/retry_delay_ms
act_in_background apply
sleep 1
act_ended && fail "the apply ended before the rmmod ($(cat /tmp/act.bg.err)): the test shows nothing"
rmmod splice_target_value 2>/tmp/races.rmmod && fail "rmmod of a pack during its own apply succeeded"
[ -d "$d" ] || fail "$d is gone after a refused rmmod"
echo "rmmod during the apply refused: $(cat /tmp/races.rmmod)"
echo 0 >$target/hold
act_wait
is $target/value 63
act reverse
unload
cleanup
echo "ok: concurrent writers, two packs at once and rmmod during an action left the kernel consistent"
