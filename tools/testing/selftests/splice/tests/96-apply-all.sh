#!/bin/sh
# splice apply --all, what splice.service runs at boot: the installed packs
# in the order of installation, stopping at the first failure; a marker left
# by an apply that never ended (a crash) makes it apply nothing and say why;
# splice.enable=0 on the kernel command line skips it.
. "$(dirname "$0")/../lib.sh"
command -v splice >/dev/null || { echo "SKIP: splice not built"; exit 4; }
dir=/tmp/apply-all state=/tmp/apply-all-state
rm -rf $dir $state
mkdir -p $dir
for p in proc-version target-value target-other-source; do
	use_pack $p
	cp "$ko" $dir/
	loaded="$d|$ko $loaded"
done
echo "console=ttyS0" >/tmp/cmdline.on
echo "console=ttyS0 splice.enable=0" >/tmp/cmdline.off
all() { SPLICE_CMDLINE=$1 splice apply --all --dir $dir --state $state >/tmp/all.out 2>&1; }
fixed_version() { grep -q "^spliced: proc-version" /proc/version; }

# The command line says no: nothing at all.
all /tmp/cmdline.off || fail "apply --all with splice.enable=0: $(cat /tmp/all.out)"
grep -q "splice.enable=0" /tmp/all.out || fail "no word of splice.enable=0: $(cat /tmp/all.out)"
[ -d /sys/kernel/splice/proc-version ] && fail "a pack was loaded with splice.enable=0"

# In the order installed; the third does not fit: it stops there, the two
# before it applied, and no marker stays.
printf 'splice_proc_version.ko\nsplice_target_value.ko\nsplice_target_other_source.ko\n' >$dir/order
all /tmp/cmdline.on && fail "apply --all succeeded with a pack that does not fit"
grep -q "no_match" /tmp/all.out || fail "the failure is not named: $(cat /tmp/all.out)"
grep -q "applied now: proc-version, target-value; already applied: 0; not tried: none" /tmp/all.out ||
	fail "the stop does not say what was applied and what not tried: $(cat /tmp/all.out)"
fixed_version || fail "proc-version not applied by apply --all"
is $target/value 63
[ -e $state/applying ] && fail "the marker stayed after a failure (no crash)"
is /sys/kernel/splice/target-other-source/stage loaded

# Again without the one that does not fit: nothing more to do.
printf 'splice_proc_version.ko\nsplice_target_value.ko\n' >$dir/order
rm $dir/splice_target_other_source.ko
all /tmp/cmdline.on || fail "apply --all again: $(cat /tmp/all.out)"
grep -q "0 of 2 installed packs applied now" /tmp/all.out || fail "$(cat /tmp/all.out)"

# A boot that stopped in an apply (the marker is still there): nothing applied.
d=/sys/kernel/splice/target-value act reverse
echo /lib/modules/x/splice/splice_target_value.ko >$state/applying
all /tmp/cmdline.on && fail "apply --all applied with the crash marker there"
grep -q "a boot stopped while applying /lib/modules/x/splice/splice_target_value.ko" /tmp/all.out ||
	fail "the guard does not say why: $(cat /tmp/all.out)"
is $target/value 42
rm $state/applying
all /tmp/cmdline.on || fail "apply --all once the marker is gone: $(cat /tmp/all.out)"
is $target/value 63
cleanup
echo "ok: apply --all in install order, stops at the first failure, the crash guard, splice.enable=0"
