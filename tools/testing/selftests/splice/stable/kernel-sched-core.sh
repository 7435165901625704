# kernel/sched/core.c: sched_change_end() checks preemption whenever a queued
# task's class or priority changed. chrt and renice change them.
workload() {
	sh -c 'while :; do :; done' & spin=$!
	chrt -f -p 10 $spin || fail "chrt -f -p 10 $spin"
	chrt -o -p 0 $spin || fail "chrt -o -p 0 $spin"
	renice -n 5 -p $spin >/dev/null || fail "renice $spin"
	kill $spin; wait $spin 2>/dev/null
	return 0
}
unobservable="the versions differ in when a task whose class was raised preempts the current one, a scheduling latency no program can tell apart from ordinary scheduling noise"
