#!/bin/sh
# Cumulative packs (splice-create --replace): three packs applied in turn
# (proc-version, target-value with target-stacked on top of it, proc-cmdline),
# then target-replace, which carries the three fixes and one more (the bench
# steps): applying it takes over every target of the applied packs in one
# stop, and they are left reversed and can be unloaded. Then target-replace2
# (proc-version and the steps only) replaces it: the targets it does not
# carry (splice_target_compute, cmdline_proc_show) get the kernel's own code
# back in the same stop. Reversing a replace pack gives every function it
# replaced the kernel's own code; the packs it superseded stay reversed.
. "$(dirname "$0")/../lib.sh"
fixed_version() { grep -q "^spliced: proc-version" /proc/version; }
fixed_cmdline() { grep -q " spliced$" /proc/cmdline; }
# loadp NAME: load pack NAME, keeping its directory and module in NAME_d, NAME_ko.
loadp() {
	use_pack "$1"
	load
	eval "$(echo "$1" | tr - _)_d=$d $(echo "$1" | tr - _)_ko=$ko"
}
for p in proc-version target-value target-stacked proc-cmdline target-replace target-replace2; do
	loadp $p
done
bench0=$(cat $target/bench)
is $target/value 42
fixed_version && fail "/proc/version fixed before any pack"

d=$proc_version_d act apply
d=$target_value_d act apply
d=$target_stacked_d act apply
d=$proc_cmdline_d act apply
is $target/value 84
fixed_version || fail "proc-version not in effect"
fixed_cmdline || fail "proc-cmdline not in effect"

# The replace pack: the three fixes and the steps, in one stop.
d=$target_replace_d act apply
is $target/value 63
is $target/bench $((bench0 + 100))
fixed_version || fail "after target-replace: /proc/version lost its fix"
fixed_cmdline || fail "after target-replace: /proc/cmdline lost its fix"
for s in $proc_version_d $target_value_d $target_stacked_d $proc_cmdline_d; do
	d=$s stage_is reversed
done
grep -q "^splice_target_compute 0x[0-9a-f]* 0x[0-9a-f]* applied$" $target_replace_d/targets ||
	fail "target-replace targets: $(cat $target_replace_d/targets)"
# The superseded packs can go; what they fixed stays fixed by the replace pack.
for m in proc_version target_value target_stacked proc_cmdline; do
	rmmod splice_$m || fail "rmmod splice_$m after it was superseded"
done
is $target/value 63
fixed_version || fail "after unloading the superseded packs: /proc/version lost its fix"

# A replace pack over a replace pack: what it does not carry goes back to the
# kernel's code (compute: 42; cmdline), in the same stop.
d=$target_replace2_d act apply
d=$target_replace_d stage_is reversed
is $target/value 42
is $target/bench $((bench0 + 100))
fixed_version || fail "after target-replace2: /proc/version lost its fix"
fixed_cmdline && fail "after target-replace2: /proc/cmdline still fixed"

# Reversed, a replace pack leaves the kernel's own code, not the packs before it.
d=$target_replace2_d act reverse
is $target/value 42
is $target/bench $bench0
fixed_version && fail "after reversing target-replace2: /proc/version still fixed"
# A superseded pack can be applied again, and reversed.
d=$target_replace_d act apply
is $target/value 63
fixed_cmdline || fail "target-replace applied again: /proc/cmdline not fixed"
d=$target_replace_d act reverse
is $target/value 42
is $target/bench $bench0
fixed_cmdline && fail "target-replace reversed: /proc/cmdline still fixed"
ko=$target_replace2_ko d=$target_replace2_d unload
ko=$target_replace_ko d=$target_replace_d unload
echo "ok: a replace pack took over four applied packs in one stop (they unloaded), another gave back what it did not carry, reverse left the kernel's own code"
