#!/bin/sh
# A pack module forced out (rmmod -f) while an action of it runs: its pre
# apply hook, code of that module, sleeps 3 s (target-slow-hooks). A forced
# unload ignores the references an action takes, so the unload itself waits
# for the action (Entry::acting), and then reverses the pack the action
# applied before the module's code is freed: the apply ends well, the target
# is as before once the module is gone, the kernel log says so, and the
# kernel goes on (the pack loads, applies and reverses again).
. "$(dirname "$0")/../../lib.sh"
use_pack target-slow-hooks
mod=$(basename "$ko" .ko)
load
is $target/value 42
act_in_background apply
sleep 1
act_ended && fail "the apply ended before the unload ($(cat /tmp/act.bg.err)): the test shows nothing"
rmmod -f "$mod" || fail "rmmod -f $mod"
# The unload returned: the action it waited for is over, and so is the pack.
act_ended || fail "rmmod -f $mod returned while the apply still ran"
[ "$(cat /tmp/act.done)" = 0 ] || fail "the apply the unload waited for failed: $(cat /tmp/act.bg.err)"
forced_out_reversed "$mod" target-slow-hooks
works_again 105
cleanup
echo "ok: a pack forced out during its apply: the unload waited for it, then reversed it; the kernel works on"
