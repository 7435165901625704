#!/bin/sh
# Signatures and lockdown (debug kernel: CONFIG_MODULE_SIG and the lockdown
# LSM, neither enforced at boot): a pack is a module, and the kernel's rules
# for modules are its rules. Without enforcement an unsigned copy of a pack
# loads (tainting the kernel). Under lockdown=integrity the unsigned copy is
# refused (EPERM), one loaded before lockdown is not applied (EPERM), and the
# signed pack loads, checks, applies and reverses as
# without lockdown; with sig_enforce on as well, the unsigned copy is refused
# for its missing signature (EKEYREJECTED). Neither can be turned off again
# in this boot, so this test runs last (80-kmemleak.sh before it, as lockdown
# closes debugfs).
. "$(dirname "$0")/../../lib.sh"
use_pack target-value
unsigned=/splice/unsigned/$(basename "$ko")
[ -f "$unsigned" ] || fail "no unsigned copy of the pack at $unsigned (debug-check.sh makes it)"
grep -q "~Module signature appended~" "$ko" || fail "$ko is not signed"
grep -q "~Module signature appended~" "$unsigned" && fail "$unsigned is signed"
mod=$(basename "$ko" .ko)

# refused WHY ERROR: insmod of the unsigned copy fails with ERROR, and leaves
# no module and no pack directory.
refused() {
	insmod "$unsigned" 2>/tmp/insmod.err && fail "the unsigned pack loaded $1"
	grep -q "$2" /tmp/insmod.err || fail "unsigned pack $1: '$(cat /tmp/insmod.err)', expected '$2'"
	[ -d "$d" ] && fail "a refused unsigned pack left $d"
	grep -q "^$mod " /proc/modules && fail "a refused unsigned pack left $mod loaded"
	echo "unsigned pack refused $1: $(cat /tmp/insmod.err)"
}

# signed_works: the signed pack loads and does its whole cycle.
signed_works() {
	load
	act check
	act apply
	is $target/value 63
	act reverse
	is $target/value 42
	unload
}

insmod "$unsigned" || fail "the unsigned pack did not load without enforcement"
[ -d "$d" ] || fail "the unsigned pack loaded but registered no $d"
# An apply of it that fails now (code_busy) leaves its cause for the refusal
# under lockdown below, which the splice command must not report as that one.
held_busy apply loaded 42
held_release
# It stays loaded while lockdown comes: applying it then would put unsigned
# code into the kernel all the same.

mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
lockdown=/sys/kernel/security/lockdown
[ -w $lockdown ] || fail "no $lockdown (the debug kernel has the lockdown LSM)"
echo integrity >$lockdown || fail "setting lockdown=integrity"
grep -q '\[integrity\]' $lockdown || fail "lockdown is '$(cat $lockdown)', expected integrity"
# Refused before it runs, the apply changes nothing, abort_cause included
# (the code_busy of the apply above stays).
echo apply >"$d/stage" 2>/tmp/act.err && fail "the unsigned pack was applied under lockdown"
grep -q "Operation not permitted" /tmp/act.err || fail "apply under lockdown: '$(cat /tmp/act.err)', expected EPERM"
is "$d/abort_cause" code_busy
stage_is loaded
is $target/value 42
dmesg | grep -q "$mod.*is not signed" ||
	fail "the kernel log does not say why the unsigned pack was not applied"
echo "an unsigned pack loaded before lockdown is not applied under it"
command -v splice >/dev/null || fail "no splice command in the guest"
out=$(splice apply target-value 2>&1)
rc=$?
[ $rc = 14 ] || fail "splice apply of the unsigned pack under lockdown: exit $rc, expected 14 (bad pack): $out"
echo "$out" | grep -q "not signed" || fail "splice apply under lockdown does not say why: $out"
stage_is loaded
echo "splice apply: $out"
rmmod $mod || fail "rmmod $mod"
refused "under lockdown=integrity" "Operation not permitted"
signed_works

echo 1 >/sys/module/module/parameters/sig_enforce || fail "setting sig_enforce"
is /sys/module/module/parameters/sig_enforce Y
refused "with sig_enforce=1" "Key was rejected by service"
signed_works
cleanup
echo "ok: unsigned pack refused under lockdown and sig_enforce, the signed one works under both"
