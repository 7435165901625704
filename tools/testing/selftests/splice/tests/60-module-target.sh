#!/bin/sh
# A pack for code in a module: target_not_loaded while the module is not
# loaded; once it is, apply changes what the module does, and the module
# cannot be removed while the pack is applied; reverse restores it and lets
# it go.
. "$(dirname "$0")/../lib.sh"
use_pack mod-greeting
mod=/splice/modules/splice_target_mod.ko
[ -f $mod ] || { echo "SKIP: $mod not built"; exit 4; }
g=/sys/kernel/splice_target_mod/greeting
load
act check target_not_loaded "No such file"
act apply target_not_loaded "No such file"
stage_is loaded
insmod $mod || fail "insmod $mod"
before=$(cat $g)
act check
stage_is checked
act apply
grep -q "spliced" $g || fail "greeting after apply: $(cat $g)"
rmmod splice_target_mod 2>/dev/null && fail "the patched module was removed while the pack is applied"
act reverse
is $g "$before"
rmmod splice_target_mod || fail "rmmod of the module after reverse"
# Checked, then the module goes and comes back (its code perhaps elsewhere):
# apply matches the module as it is then, pinned before its code is read.
insmod $mod || fail "insmod $mod again"
act check
rmmod splice_target_mod || fail "a checked (not applied) pack kept the module"
act apply target_not_loaded "No such file"
insmod $mod || fail "insmod $mod a third time"
act apply
grep -q "spliced" $g || fail "greeting after apply to the reloaded module: $(cat $g)"
act reverse
is $g "$before"
rmmod splice_target_mod || fail "rmmod of the reloaded module after reverse"
# Applying after the module went away: target_not_loaded again.
act apply target_not_loaded "No such file"
unload
echo "ok: target_not_loaded, applied to the module, module pinned while applied, reversed, matched afresh after a reload"
