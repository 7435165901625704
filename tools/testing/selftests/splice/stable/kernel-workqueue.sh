# kernel/workqueue.c: pwq_release_workfn() puts the unbound pool after the
# pwq is unlinked; bh_pool_kick_*() raise the softirq with interrupts
# possibly on. Changing an unbound workqueue's cpumask replaces (and
# releases) its pwqs.
workload() {
	m=/sys/devices/virtual/workqueue/writeback/cpumask
	if [ -w $m ]; then
		old=$(cat $m)
		echo 1 >$m && echo "$old" >$m || fail "changing $m"
	fi
	sleep 0.5
}
unreached="bh_pool_kick_normal bh_pool_kick_highpri"
unreached_why="they run when BH work is queued on another CPU's BH pool (queue_work_on() of a system_bh_wq item), which nothing the guest runs does"
unobservable="the old pwq_release_workfn() puts the pool before the pwq is unlinked, a use-after-free only a race with a concurrent lookup hits; the BH kick change only affects lockdep, which this kernel lacks"
