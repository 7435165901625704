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
echo apply > $d/stage || fail "apply"
stage applied
cat $d/timings
cat /proc/version | grep -q "spliced: proc-version" || fail "applied pack did not change /proc/version"
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
