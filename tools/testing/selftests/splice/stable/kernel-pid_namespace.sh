# kernel/pid_namespace.c: zap_pid_ns_processes() sleeps TASK_IDLE |
# TASK_FREEZABLE. The exit of a PID namespace's init runs it; the demo's
# reproducer (splice-probe pidns-freeze) freezes user space while an init
# waits there: fixed, the freeze works and init sleeps; before, the freeze
# fails or init spins on a CPU.
workload() {
	unshare -p -f sh -c 'sleep 0.1 & exit 0' || fail "unshare -p -f"
}
fixed() {
	splice-probe pidns-freeze
}
unfixed() {
	splice-probe pidns-freeze
	[ $? -eq 3 ]
}
