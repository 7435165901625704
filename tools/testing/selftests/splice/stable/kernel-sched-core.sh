# kernel/sched/core.c: sched_change_end() checks preemption whenever a queued
# task's class or priority changed: splice-probe sched-change changes its own
# (busybox has no chrt).
workload() {
	splice-probe sched-change >/dev/null || fail "splice-probe sched-change: $(splice-probe sched-change)"
}
unobservable="the versions differ in when a task whose class was raised preempts the current one, a scheduling latency no program can tell apart from ordinary scheduling noise"
