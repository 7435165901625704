#!/bin/sh
# Return hooks keep working across a switch, and do not hide a task in the
# code from it. A kretprobe (rethook) and the function_graph tracer take a
# function's return address off the stack and put their trampoline's there.
# - Hooked on schedule(): the kthread held in splice_target_hold() sleeps in
#   schedule(), so the stack word that says it returns into the target is the
#   trampoline's. apply and reverse must still see it (code_busy, naming the
#   kthread and the function), and go through once it has left.
# - Hooked on the target itself (the replacement runs between the hook's entry
#   and its trampoline): the values are right and every call reaches the hook,
#   through apply and reverse.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
tr=/sys/kernel/tracing
root=/sys/kernel/splice
[ -f $tr/kprobe_events ] || { echo "SKIP: no kprobe events (CONFIG_KPROBE_EVENTS)"; exit 4; }
grep -qw function_graph $tr/available_tracers || { echo "SKIP: no function_graph tracer"; exit 4; }
echo 3 >$root/tries || fail "setting tries"
echo 50 >$root/retry_delay_ms || fail "setting retry_delay_ms"

# hits EVENT: how often the kretprobe EVENT fired (kprobe_profile).
hits() {
	awk -v e="$1" '$1 == e { print $2 }' $tr/kprobe_profile
}

# held ACTION STAGE VALUE HOOK: with the kthread asleep in splice_target_hold()
# while HOOK holds the return address of its schedule(), ACTION is code_busy
# naming it; once it has left, ACTION goes through.
held() {
	held_busy "$1" "$2" "$3"
	held_release
	echo 10 >$root/tries
	act "$1"
	echo "$1 with $4 on schedule(): blocked by the holder, then went through"
}

load
act check

# 1. A kretprobe on schedule().
echo 'r:splice_test/sched_ret schedule' >>$tr/kprobe_events || fail "cannot add a kretprobe on schedule"
echo 1 >$tr/events/splice_test/sched_ret/enable || fail "cannot enable the kretprobe on schedule"
held apply checked 42 "a kretprobe"
is $target/value 63
held reverse applied 63 "a kretprobe"
is $target/value 42
[ "$(hits sched_ret)" -gt 0 ] || fail "the kretprobe on schedule never fired: $(cat $tr/kprobe_profile)"
echo 0 >$tr/events/splice_test/sched_ret/enable
echo '-:splice_test/sched_ret' >>$tr/kprobe_events || fail "cannot remove the kretprobe on schedule"

# 2. A kretprobe on the target: every call goes through the hook, whichever
# code runs.
echo 'r:splice_test/compute_ret splice_target_compute $retval' >>$tr/kprobe_events ||
	fail "cannot add a kretprobe on splice_target_compute"
echo 1 >$tr/events/splice_test/compute_ret/enable || fail "cannot enable the kretprobe on splice_target_compute"
h0=$(hits compute_ret)
is $target/value 42
act apply
is $target/value 63
is $target/value 63
act reverse
is $target/value 42
h1=$(hits compute_ret)
[ $((h1 - h0)) -ge 4 ] || fail "the kretprobe on splice_target_compute saw $((h1 - h0)) of 4 calls"
# $retval is hex (0x3f), or with BTF (Debian's configuration) of the function's
# return type, int: 63.
grep -qE "compute_ret.*arg1=(0x3f|63)( |\$)" $tr/trace ||
	fail "the kretprobe did not see the replacement's result 63: $(grep compute_ret $tr/trace | tail -n 3)"
echo 0 >$tr/events/splice_test/compute_ret/enable
echo '-:splice_test/compute_ret' >>$tr/kprobe_events || fail "cannot remove the kretprobe on splice_target_compute"
act check

# 3. function_graph on schedule(): the tracer changed last, then parked as
# trace.sh leaves it (see 80-ftrace.sh on restarting tracers under TCG).
echo schedule >$tr/set_ftrace_filter || fail "cannot filter on schedule"
echo function_graph >$tr/current_tracer || fail "cannot start the function_graph tracer"
held apply checked 42 "function_graph"
is $target/value 63
held reverse applied 63 "function_graph"
is $target/value 42
grep -q "schedule()" $tr/trace || { trace_park; fail "function_graph never traced schedule()"; }
trace_park
unload
cleanup
echo "ok: kretprobes and function_graph on schedule() and on a target: held tasks found, calls hooked"
