# kernel/pid_namespace.c: zap_pid_ns_processes() sleeps TASK_IDLE |
# TASK_FREEZABLE. The exit of a PID namespace's init runs it.
workload() {
	unshare -p -f sh -c 'sleep 0.1 & exit 0' || fail "unshare -p -f"
}
unobservable="TODO: the demo's reproducer (pidns-freeze) is not in the guest's splice-probe yet"
