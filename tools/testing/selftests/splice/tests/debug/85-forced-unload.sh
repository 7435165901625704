#!/bin/sh
# A pack module forced out while applied (rmmod -f: CONFIG_MODULE_FORCE_UNLOAD,
# which the debug kernel has, and Debian's configuration too). Its module's code
# is about to be freed while the kernel's functions jump into it, so splice
# reverses the pack first: the target behaves as before, the pack is gone,
# the kernel log says what happened, and the kernel goes on working (the pack
# loads, applies and reverses again).
. "$(dirname "$0")/../../lib.sh"
use_pack target-value
mod=$(basename "$ko" .ko)
load
act apply
is $target/value 63
rmmod -f "$mod" || fail "rmmod -f $mod"
forced_out_reversed "$mod" target-value
works_again 63
cleanup
echo "ok: a pack forced out while applied was reversed first; the kernel works on"
