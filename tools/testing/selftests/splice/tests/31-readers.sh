#!/bin/sh
# An action that sleeps between tries (a kthread holds the code), or in its
# hooks, lets the registry go: while it waits, reading a pack's files and the
# tunables, and loading and unloading another pack, do not wait for it (each
# within a second); the action still ends as it should once the code is free.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
root=/sys/kernel/splice
load
echo 1 >$target/hold || fail "starting the holder"
wait_for $target/hold 1
# About 4 s of tries: 9 pauses of 500 ms.
echo 10 >$root/tries
echo 500 >$root/retry_delay_ms
act_in_background apply
sleep 1
act_ended && fail "the apply ended before the reads ($(cat /tmp/act.bg.err)): the test shows nothing"
for f in "$d/stage" "$d/targets" "$d/abort_cause" $root/tries $root/version; do
	timeout 1 cat "$f" >/dev/null || fail "reading $f waited for the action"
done
stage_is loaded
# Another pack loads meanwhile (registering takes the registry lock).
ko2=$packs/splice_proc_version.ko
timeout 2 insmod "$ko2" || fail "insmod of another pack waited for the action"
timeout 2 rmmod splice_proc_version || fail "rmmod of another pack waited for the action"
act_ended && fail "the apply ended while the holder still held"
# The holder leaves: the next try goes through.
echo 0 >$target/hold
act_wait
stage_is applied
is $target/value 63
act reverse
unload
cleanup

# Hooks that sleep (3 s, before the switch): the registry is not held while
# they run either, for apply and for reverse.
use_pack target-slow-hooks
load
for action in apply reverse; do
	act_in_background $action
	sleep 1
	act_ended && fail "the $action ended before the reads ($(cat /tmp/act.bg.err)): the test shows nothing"
	for f in "$d/stage" "$d/targets" "$d/abort_cause" $root/tries $root/version; do
		timeout 1 cat "$f" >/dev/null || fail "reading $f waited for the $action's hook"
	done
	timeout 2 insmod "$ko2" || fail "insmod of another pack waited for the $action's hook"
	timeout 2 rmmod splice_proc_version || fail "rmmod of another pack waited for the $action's hook"
	act_ended && fail "the $action ended before its hook did"
	act_wait
	[ $action = reverse ] || is $target/value 105
done
stage_is reversed
is $target/value 42
unload
cleanup
echo "ok: reads and another pack's load did not wait for an action sleeping between tries or in its hooks"
