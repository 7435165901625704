# kernel/exit.c: do_wait() sleeps TASK_FREEZABLE. Every wait runs it.
workload() {
	sh -c 'exit 3'
	[ $? -eq 3 ] || fail "a child's exit status was lost"
}
unobservable="both versions let the freezer freeze a task in wait4() (the old one by a fake signal that restarts the call, the new one in place), a difference no program sees"
