#!/bin/sh
# splice and ftrace share function entries: the jump goes after the ftrace
# call site, so tracing a patched function keeps working. Applied while the
# function is traced, traced after apply, reversed while traced: the pack's
# behaviour is right at each step and the tracer sees the calls.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
tr=/sys/kernel/tracing
[ -f $tr/set_ftrace_filter ] || { echo "SKIP: no tracefs with function tracing"; exit 4; }
trace_off() { echo nop >$tr/current_tracer; echo >$tr/set_ftrace_filter; }
traced() { grep -q "splice_target_compute" $tr/trace; }
load
echo splice_target_compute >$tr/set_ftrace_filter || fail "cannot filter on splice_target_compute"
echo function >$tr/current_tracer || fail "cannot start the function tracer"
echo >$tr/trace
is $target/value 42
traced || { trace_off; fail "the tracer did not see splice_target_compute"; }

# Apply while traced.
act apply
echo >$tr/trace
is $target/value 63
traced || { trace_off; fail "tracing stopped working after apply"; }

# Tracing off and on again while applied.
trace_off
is $target/value 63
echo splice_target_compute >$tr/set_ftrace_filter
echo function >$tr/current_tracer
echo >$tr/trace
is $target/value 63
traced || { trace_off; fail "tracing a patched function does not work"; }

# Reverse while traced.
act reverse
echo >$tr/trace
is $target/value 42
traced || { trace_off; fail "tracing stopped working after reverse"; }
trace_off
is $target/value 42
unload
echo "ok: ftrace and splice on one function, in every order"
