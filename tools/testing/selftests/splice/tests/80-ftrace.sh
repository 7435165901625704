#!/bin/sh
# splice and ftrace share function entries: the jump goes after the ftrace
# call site, so tracing a patched function keeps working. Tracing starts on a
# patched function; reverse and apply again happen while it is traced; the
# pack's behaviour is right at each step and the tracer sees every call.
#
# The function tracer is started once only: on this kernel under QEMU TCG,
# starting it a second time on a function crashes (a NULL or NX fault in the
# ftrace trampoline) whether or not splice has touched anything, as a run of
# version_proc_show alone shows; with a filter of several functions the first
# start crashes already. Single-threaded TCG does the same, so this is not
# the stale-translation failure vm.sh avoids.
. "$(dirname "$0")/../lib.sh"
use_pack target-value
tr=/sys/kernel/tracing
[ -f $tr/set_ftrace_filter ] || { echo "SKIP: no tracefs with function tracing"; exit 4; }
# Off: left on a function no test calls, not stopped (see trace.sh).
trace_off() { trace_park; }
traced() { grep -q "splice_target_compute" $tr/trace || { trace_off; fail "$1"; }; }
load
act apply
is $target/value 63

# Tracing a patched function.
echo splice_target_compute >$tr/set_ftrace_filter || fail "cannot filter on splice_target_compute"
echo function >$tr/current_tracer || fail "cannot start the function tracer"
echo >$tr/trace
is $target/value 63
traced "tracing a patched function does not see its calls"

# Reverse and apply again while traced.
act reverse
echo >$tr/trace
is $target/value 42
traced "tracing stopped working after reverse"
act apply
echo >$tr/trace
is $target/value 63
traced "tracing stopped working after apply"
act reverse
trace_off
is $target/value 42
unload
echo "ok: a traced function patched, reversed and patched again"
