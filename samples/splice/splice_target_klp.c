// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fix of samples/splice/packs/target-value.diff to
 * splice_target_compute() (x * 3 instead of x * 2) as a livepatch module,
 * for the benchmark of a call's cost in tools/testing/selftests/splice/bench.sh:
 * the same function reached through splice's jump, through livepatch's
 * ftrace handler, and as built (/sys/kernel/splice_target/call_cost).
 */
#include <linux/livepatch.h>
#include <linux/module.h>

static int livepatch_splice_target_compute(int x)
{
	return x * 3;
}

static struct klp_func funcs[] = {
	{
		.old_name = "splice_target_compute",
		.new_func = livepatch_splice_target_compute,
	},
	{ }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = funcs,
	},
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int splice_target_klp_init(void)
{
	return klp_enable_patch(&patch);
}

static void splice_target_klp_exit(void)
{
}

module_init(splice_target_klp_init);
module_exit(splice_target_klp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("splice_target_compute() livepatched, for splice's call-cost benchmark");
MODULE_INFO(livepatch, "Y");
