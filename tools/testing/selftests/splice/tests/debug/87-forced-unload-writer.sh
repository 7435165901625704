#!/bin/sh
# A pack module forced out (rmmod -f) while applied, and a write to its stage
# file while the unload reverses it (target-slow-hooks: its pre reverse hook
# sleeps 3 s). The write waits for the actions' lock, which the unload holds;
# the unload then removes the pack's directory, which waits for the writers
# of its files. The unload must let go of the lock first: the write then
# finds the pack gone (ENODEV) and both end; else each waits for the other
# for good.
. "$(dirname "$0")/../../lib.sh"
use_pack target-slow-hooks
mod=$(basename "$ko" .ko)
load
act apply
is $target/value 105
rm -f /tmp/rmmod.done
(rmmod -f "$mod" 2>/tmp/rmmod.err; echo $? >/tmp/rmmod.done) &
sleep 1
[ -e /tmp/rmmod.done ] && fail "rmmod -f ended within a second, before the write: the test shows nothing"
act_in_background check
i=0
while [ ! -e /tmp/rmmod.done ]; do
	i=$((i + 1))
	[ $i -le 150 ] || fail "rmmod -f $mod has not returned after 15 s, with a write to its stage waiting"
	sleep 0.1
done
[ "$(cat /tmp/rmmod.done)" = 0 ] || fail "rmmod -f $mod: $(cat /tmp/rmmod.err)"
i=0
while ! act_ended; do
	i=$((i + 1))
	[ $i -le 50 ] || fail "the write to the stage of the forced-out pack has not returned"
	sleep 0.1
done
[ "$(cat /tmp/act.done)" = 0 ] && fail "a check of a pack forced out during the write succeeded"
grep -q "No such device" /tmp/act.bg.err || fail "the write failed with '$(cat /tmp/act.bg.err)', not ENODEV"
forced_out_reversed "$mod" target-slow-hooks
works_again 105
cleanup
echo "ok: a write to the stage of a pack forced out while applied: the unload reversed the pack, the write found it gone"
