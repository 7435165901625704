# kernel/pid_namespace.c: zap_pid_ns_processes() sleeps TASK_IDLE |
# TASK_FREEZABLE. The exit of a PID namespace's init runs it; the demo's
# reproducer (splice-probe pidns-freeze) freezes user space while an init
# waits there: fixed, the freeze works and init sleeps; before, the freeze
# fails or init spins on a CPU.
workload() {
	unshare -p -f sh -c 'sleep 0.1 & exit 0' || fail "unshare -p -f"
}
if [ -e /sys/power/pm_test ]; then
	fixed() {
		splice-probe pidns-freeze
	}
	unfixed() {
		splice-probe pidns-freeze
		[ $? -eq 3 ]
	}
else
	unobservable="this kernel has no /sys/power/pm_test (CONFIG_PM_DEBUG is off, as in Debian's cloud-amd64), with which the reproducer freezes user space without suspending"
fi
