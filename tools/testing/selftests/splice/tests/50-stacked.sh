#!/bin/sh
# Stacked packs: target-stacked is made from the source with target-value's
# fix applied. It does not fit the kernel alone (no_match); once
# target-value is applied it matches the code now live and applies on top.
# Reversing target-value under it is refused (conflicting_pack); reversing
# in order restores each step.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
value_ko=$ko value_d=$d
use_pack target-stacked
stacked_ko=$ko stacked_d=$d
is $target/value 42
ko=$value_ko d=$value_d load
ko=$stacked_ko d=$stacked_d load

d=$stacked_d act apply no_match "Exec format error"
is $target/value 42
d=$value_d act apply
is $target/value 63
d=$stacked_d act apply
is $target/value 84
grep -q "^splice_target_compute 0x[0-9a-f]* 0x[0-9a-f]* applied$" $stacked_d/targets ||
	fail "stacked targets: $(cat $stacked_d/targets)"
grep -q "^splice_target_compute .* applied-under$" $value_d/targets ||
	fail "lower targets: $(cat $value_d/targets)"
d=$value_d act reverse conflicting_pack "File exists"
d=$value_d stage_is applied
is $target/value 84
rmmod splice_target_value 2>/dev/null && fail "rmmod of the lower pack succeeded while applied"
d=$stacked_d act reverse
is $target/value 63
d=$value_d act reverse
is $target/value 42
# And again, to check that nothing was left behind by the stack.
d=$value_d act apply
d=$stacked_d act apply
is $target/value 84
d=$stacked_d act reverse
d=$value_d act reverse
is $target/value 42
ko=$stacked_ko d=$stacked_d unload
ko=$value_ko d=$value_d unload
echo "ok: stacked apply, out-of-order reverse refused, in-order reverse restored each step"
