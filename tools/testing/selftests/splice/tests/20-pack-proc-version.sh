#!/bin/sh
# The sample pack proc-version changes what /proc/version shows: load, check,
# apply (the behaviour changes), rmmod refused while applied, invalid stage
# writes refused, reverse (the behaviour is restored), apply again, reverse,
# rmmod.
ko=/splice/packs/splice_proc_version.ko
d=/sys/kernel/splice/proc-version
[ -f "$ko" ] || { echo "SKIP: $ko not built"; exit 4; }
fail() { echo "FAIL: $*"; cat $d/abort_cause 2>/dev/null; dmesg | grep splice | tail -5; exit 1; }
stage() { [ "$(cat $d/stage)" = "$1" ] || fail "stage is $(cat $d/stage), expected $1"; }
before=$(cat /proc/version)
insmod "$ko" || fail "insmod"
stage loaded
[ "$(cat /proc/version)" = "$before" ] || fail "loading changed /proc/version"
echo reverse > $d/stage 2>/dev/null && fail "reverse accepted in stage loaded"
echo bogus > $d/stage 2>/dev/null && fail "bogus stage write accepted"
stage loaded
echo check > $d/stage || fail "check"
stage checked
cat $d/targets
[ "$(cat /proc/version)" = "$before" ] || fail "check changed /proc/version"
# Per-CPU NMI counts: the jump is written while every CPU is in an NMI.
nmis() { awk '$1 == "NMI:" { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) printf "%s ", $i }' /proc/interrupts; }
# Applied, the pack taints itself and the kernel as livepatch does (K, bit 15).
mod_taints() { sed -n 's/^splice_proc_version .*(\([A-Z]*\))$/\1/p' /proc/modules; }
case $(mod_taints) in *K*) fail "the pack module is tainted K before apply" ;; esac
nmi_before=$(nmis)
echo apply > $d/stage || fail "apply"
stage applied
cat $d/timings
nmi_after=$(nmis)
set -- $nmi_after
for n in $nmi_before; do
	[ "$1" -gt "$n" ] || fail "a CPU took no NMI during apply (NMIs before: $nmi_before; after: $nmi_after)"
	shift
done
echo "NMIs per CPU: $nmi_before before apply, $nmi_after after"
dmesg | grep -q "text_patching:" && fail "$(dmesg | grep text_patching:)"
cat /proc/version | grep -q "spliced: proc-version" || fail "applied pack did not change /proc/version"
case $(mod_taints) in *K*) ;; *) fail "applied: /proc/modules shows no K for the pack: $(grep splice_proc_version /proc/modules)" ;; esac
[ $(($(cat /proc/sys/kernel/tainted) >> 15 & 1)) = 1 ] ||
	fail "applied: the kernel is not tainted K (tainted: $(cat /proc/sys/kernel/tainted))"
echo apply > $d/stage 2>/dev/null && fail "apply accepted twice"
rmmod splice_proc_version 2>/dev/null && fail "rmmod succeeded while applied"
echo reverse > $d/stage || fail "reverse"
stage reversed
[ "$(cat /proc/version)" = "$before" ] || fail "reverse did not restore /proc/version"
echo apply > $d/stage || fail "apply after reverse"
grep -q "spliced: proc-version" /proc/version || fail "re-applied pack did not change /proc/version"
echo reverse > $d/stage || fail "second reverse"
[ "$(cat /proc/version)" = "$before" ] || fail "second reverse did not restore /proc/version"
rmmod splice_proc_version || fail "rmmod after reverse"
[ -d $d ] && fail "$d still exists after rmmod"
echo "ok: applied, reversed, re-applied, reversed, unloaded"
