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

#include <linux/ftrace.h>
#include <linux/rethook.h>

/*
 * The return address the word @word at @at on @t's stack stands for. When
 * function_graph (return_to_handler) or a rethook (kretprobes, fprobe exit
 * handlers: arch_rethook_trampoline) took a return address off the stack and
 * left its trampoline there, the one it keeps; 0 when that cannot be found.
 * @word otherwise. @graph_idx and @rethook_cur carry the state of a scan
 * from the innermost word out, as the unwinder's do.
 */
__rust_helper unsigned long rust_helper_stack_return_of(struct task_struct *t,
							unsigned long word,
							unsigned long *at,
							int *graph_idx,
							void **rethook_cur)
{
#ifdef CONFIG_FUNCTION_GRAPH_TRACER
	if (word == (unsigned long)return_to_handler) {
		unsigned long ret = ftrace_graph_ret_addr(t, graph_idx, word, at);

		return ret == word ? 0 : ret;
	}
#endif
#ifdef CONFIG_RETHOOK
	if (is_rethook_trampoline(word))
		return rethook_find_ret_addr(t, (unsigned long)at,
					     (struct llist_node **)rethook_cur);
#endif
	return word;
}
