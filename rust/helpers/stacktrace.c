// SPDX-License-Identifier: GPL-2.0

#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>

/*
 * Calls @fn for every thread of every process and for the idle task of every
 * online CPU, under rcu_read_lock(), until @fn returns non-zero.
 */
__rust_helper int rust_helper_for_each_task(int (*fn)(struct task_struct *, void *),
					    void *data)
{
	struct task_struct *g, *t;
	int cpu, ret = 0;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		ret = fn(t, data);
		if (ret)
			goto out;
	}
	for_each_online_cpu(cpu) {
		ret = fn(idle_task(cpu), data);
		if (ret)
			break;
	}
out:
	rcu_read_unlock();
	return ret;
}

__rust_helper void *rust_helper_try_get_task_stack(struct task_struct *t)
{
	return try_get_task_stack(t);
}
