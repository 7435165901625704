# fs/tracefs/event_inode.c: release_ei() frees an eventfs inode after an SRCU
# and then an RCU grace period. Removing a trace instance releases its eventfs
# inodes.
workload() {
	i=/sys/kernel/tracing/instances/splice-ei
	for n in 1 2 3; do
		mkdir $i || fail "mkdir $i"
		ls $i/events/sched >/dev/null 2>&1
		rmdir $i || fail "rmdir $i"
	done
	sleep 0.5
}
unobservable="the old version frees the inode one RCU grace period too early, a use-after-free only a race between an RCU path walk and the removal hits, and this kernel has no KASAN to report it"
