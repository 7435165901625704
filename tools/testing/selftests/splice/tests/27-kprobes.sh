#!/bin/sh
# kprobes and the jumps splice writes keep off each other. A kprobe copies the
# instruction it probes when it is registered and writes int3 over it when it
# is armed, so:
# - a kprobe registered on a jump site before apply (a kprobe event not
#   enabled: registered, not armed, the site's bytes unchanged) makes apply
#   fail with text_changed, nothing written; armed later over the jump, it
#   would run its copy of the old first instruction;
# - while the pack is applied, a kprobe on the jump site is refused (EBUSY);
# - once reversed, the site takes kprobes again.
# The jump site is the byte after the function's ftrace call site, whose
# address available_filter_functions_addrs gives. It needs kprobe events
# (CONFIG_KPROBE_EVENTS: the test and debian configurations have them).
. "$(dirname "$0")/../lib.sh"
use_pack target-value
tr=/sys/kernel/tracing
[ -f $tr/kprobe_events ] || { echo "SKIP: no kprobe events (CONFIG_KPROBE_EVENTS)"; exit 4; }
fentry=$(awk '$2 == "splice_target_compute" { print $1 }' $tr/available_filter_functions_addrs)
[ -n "$fentry" ] || fail "splice_target_compute has no ftrace call site"
# fentry + 5, on the low 32 bits (the shell's arithmetic is signed).
hi=${fentry%????????}
lo=$(printf '%08x' $((0x${fentry#"$hi"} + 5)))
[ ${#lo} -eq 8 ] || fail "the ftrace site $fentry is 5 bytes before a 4 GiB boundary"
site=0x$hi$lo
probe_site() { echo "p:splice_test/at_site $site" >>$tr/kprobe_events 2>/tmp/kp.err; }
unprobe_site() { echo '-:splice_test/at_site' >>$tr/kprobe_events || fail "cannot remove the kprobe at $site"; }

load
# A kprobe registered (not armed) on the jump site: apply refuses.
probe_site || fail "cannot put a kprobe at $site before apply: $(cat /tmp/kp.err)"
grep -q splice_test/at_site $tr/kprobe_events || fail "the kprobe at $site is not listed"
act apply text_changed
is $target/value 42
dmesg | grep -q 'a kprobe is registered on the jump site of "splice_target_compute"' ||
	fail "the kernel log does not name the kprobe on the jump site"
unprobe_site

# Applied: the jump site takes no kprobe.
act apply
is $target/value 63
probe_site && { unprobe_site; fail "a kprobe was put on the jump of an applied pack at $site"; }
grep -qi busy /tmp/kp.err ||
	fail "the kprobe on the jump was refused, but not as busy: $(cat /tmp/kp.err)"
is $target/value 63

# Reversed: the site is free again.
act reverse
is $target/value 42
probe_site || fail "after reverse the jump site at $site still refuses kprobes: $(cat /tmp/kp.err)"
unprobe_site
unload
echo "ok: kprobes kept off the jump site while applied, and a kprobe on it refuses apply"
