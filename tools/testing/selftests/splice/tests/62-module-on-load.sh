#!/bin/sh
# A pack that patches its module when it loads (splice-create --on-load):
# applied while the module is not loaded, its target waits; insmod then runs
# the fixed code from the first call (the target is redirected before the
# module's init); the module can be removed while the pack is applied, and
# loaded again still fixed; reversing while the module is absent leaves
# nothing behind. A module whose code is not the code such a pack was made
# for (mod-greeting-other, made from other source) refuses to load, and the
# pack says why; with refuse_mismatched_modules 0 it loads unpatched.
. "$(dirname "$0")/../lib.sh"
mod=/splice/modules/splice_target_mod.ko
[ -f $mod ] || { echo "SKIP: $mod not built"; exit 4; }
g=/sys/kernel/splice_target_mod/greeting
grep -q "^splice_target_mod " /proc/modules && fail "splice_target_mod loaded before the test"
use_pack mod-greeting-onload
load
act check
act apply
stage_is applied
grep -q "^splice_target_mod_greeting - - waiting$" $d/targets || fail "not waiting: $(cat $d/targets)"
insmod $mod || fail "insmod $mod with the pack applied"
grep -q "spliced" $g || fail "greeting as the module loads: $(cat $g)"
grep -q "^splice_target_mod_greeting 0x[0-9a-f]* 0x[0-9a-f]* applied$" $d/targets ||
	fail "after insmod: $(cat $d/targets)"
# The module may go while the pack is applied, and comes back fixed.
rmmod splice_target_mod || fail "rmmod of the module while the pack is applied"
grep -q "waiting$" $d/targets || fail "after rmmod: $(cat $d/targets)"
insmod $mod || fail "insmod $mod again"
grep -q "spliced" $g || fail "greeting after the second insmod: $(cat $g)"
# Reverse while loaded: the module's own code again; apply: fixed again.
act reverse
grep -q "spliced" $g && fail "greeting after reverse: $(cat $g)"
act apply
grep -q "spliced" $g || fail "greeting after a second apply: $(cat $g)"
# Reverse while absent: nothing waits any more.
rmmod splice_target_mod || fail "rmmod before reversing"
act reverse
[ -n "$(cat $d/targets)" ] && fail "targets after a reverse while absent: $(cat $d/targets)"
insmod $mod || fail "insmod after the reverse"
grep -q "spliced" $g && fail "greeting after the reverse while absent: $(cat $g)"
rmmod splice_target_mod || fail "rmmod after the reverse"
# Superseded by a replace pack while its target waits: nothing of it waits
# any more, and the module loads unpatched.
act apply
onload_d=$d onload_ko=$ko
use_pack target-replace2
load
act apply
d=$onload_d stage_is reversed
[ -n "$(cat $onload_d/targets)" ] && fail "a superseded pack still lists: $(cat $onload_d/targets)"
insmod $mod || fail "insmod under the replace pack"
grep -q "spliced" $g && fail "a superseded pack patched the module as it loaded: $(cat $g)"
rmmod splice_target_mod || fail "rmmod under the replace pack"
act reverse
unload
d=$onload_d ko=$onload_ko
unload

# Not the code the pack was made for: the module refuses to load.
use_pack mod-greeting-other
load
act apply
insmod $mod 2>/tmp/insmod.err && fail "a module that does not match the applied pack loaded"
grep -q "^splice_target_mod " /proc/modules && fail "the refused module is listed"
is $d/abort_cause no_match
dmesg | grep -q "mod-greeting-other.*module \"splice_target_mod\" refused: no_match" ||
	fail "no refusal in the kernel log: $(dmesg | grep splice | tail -3)"
stage_is applied
# Unless the admin lets such a module load unpatched: its target still waits.
echo 0 >/sys/kernel/splice/refuse_mismatched_modules
insmod $mod || { echo 1 >/sys/kernel/splice/refuse_mismatched_modules; fail "insmod with refuse_mismatched_modules=0"; }
echo 1 >/sys/kernel/splice/refuse_mismatched_modules
grep -q "spliced" $g && fail "a mismatched module loaded patched: $(cat $g)"
grep -q "waiting$" $d/targets || fail "after an unpatched load: $(cat $d/targets)"
dmesg | grep -q "module \"splice_target_mod\" loads unpatched: no_match" || fail "no warning of the unpatched load"
rmmod splice_target_mod || fail "rmmod of the unpatched module"
act reverse
insmod $mod || fail "insmod once the mismatched pack is reversed"
rmmod splice_target_mod || fail "rmmod at the end"
unload

# Two packs wait for the module, applied in this order, and the second
# refuses it: the module is not loaded, so nothing of the first stays armed
# in it. Its target waits again, the next load (the refusing pack gone) runs
# the fixed code, and the first reverses.
use_pack mod-greeting-onload
load
act apply
onload_d=$d onload_ko=$ko
use_pack mod-greeting-other
load
act apply
insmod $mod 2>/tmp/insmod.err && fail "a module that the second of two applied packs refuses loaded"
grep -q "^splice_target_mod_greeting - - waiting$" $onload_d/targets ||
	fail "the module was refused, yet the pack armed before the refusal lists: $(cat $onload_d/targets)"
dmesg | grep -q "mod-greeting-onload.*targets wait again: their module was refused" ||
	fail "the kernel log does not say the first pack's targets wait again"
act reverse
unload
d=$onload_d ko=$onload_ko
insmod $mod || fail "insmod once the refusing pack is gone"
grep -q "spliced" $g || fail "the first pack did not patch the module as it loaded after a refused load: $(cat $g)"
rmmod splice_target_mod || fail "rmmod after the refused load"
act reverse
unload
# An apply under way while the module loads (mod-greeting-onload-slow: its
# pre apply hook sleeps 3 s, after matching found the module absent): the
# load waits for the apply, then finds the target waiting and runs the fixed
# code from its first call.
use_pack mod-greeting-onload-slow
load
act_in_background apply
sleep 1
act_ended && fail "the apply ended before the insmod: the test shows nothing"
insmod $mod || fail "insmod during an apply of its on-load pack"
act_wait
grep -q "spliced" $g || fail "the module loaded during an apply of its on-load pack runs unpatched: $(cat $g); $(cat $d/targets)"
grep -q "^splice_target_mod_greeting 0x[0-9a-f]* 0x[0-9a-f]* applied$" $d/targets ||
	fail "after an insmod during the apply: $(cat $d/targets)"
rmmod splice_target_mod || fail "rmmod after the insmod during the apply"
act reverse
# Applied while the module is being loaded (its init sleeps 3 s): the module
# notifier has run, so the target cannot wait for the module: code_busy,
# named in the log, nothing applied; once it has loaded, the apply patches it.
rm -f /tmp/insmod.done
(insmod $mod init_delay_ms=3000; echo $? >/tmp/insmod.done) &
sleep 1
[ -e /tmp/insmod.done ] && fail "the insmod ended within a second: the test shows nothing"
act apply code_busy "Device or resource busy"
dmesg | grep -q "mod-greeting-onload-slow.*module \"splice_target_mod\" is being loaded" ||
	fail "the kernel log does not name the module being loaded: $(dmesg | grep splice | tail -2)"
stage_is reversed
wait_for /tmp/insmod.done 0
grep -q "spliced" $g && fail "a module loaded while its pack's apply was refused runs the fix: $(cat $g)"
act apply
grep -q "spliced" $g || fail "greeting after an apply once the module has loaded: $(cat $g)"
act reverse
rmmod splice_target_mod || fail "rmmod after the slow load"
unload
echo "ok: armed while absent, fixed from the module's first call, rmmod and insmod still fixed, reverse absent, a mismatched module refused, nothing left armed in it, and loads during an apply patched or refused"
