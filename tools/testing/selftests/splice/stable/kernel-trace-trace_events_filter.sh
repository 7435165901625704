# kernel/trace/trace_events_filter.c: process_preds() sizes its stacks for
# the predicates plus TRUE and FALSE and bounds the parentheses. Setting an
# event filter with parentheses runs it.
workload() {
	f=/sys/kernel/tracing/events/sched/sched_switch/filter
	echo '(prev_pid == 1 || (next_pid == 2 && prev_prio > 3))' >$f || fail "set the filter $f"
	echo 0 >$f
}
unobservable="the old version overruns its stacks only for filters whose nesting reaches the bound, a heap overflow this kernel has no KASAN to report"
