// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target code for splice packs, built into vmlinux.
 *
 * The sample packs of samples/splice/packs/ replace functions of this file,
 * and the splice selftests watch the effect in /sys/kernel/splice_target/:
 *
 *  value	splice_target_compute(21): 42 here, something else once a
 *		pack that fixes it is applied
 *  bench	the sum of ten small functions, for the stop_machine benchmark
 *		of a ten-function pack
 *  hold	write 1: a kthread "splice-hold" enters splice_target_hold()
 *		and sleeps there until 0 is written; reads 1 while it is
 *		inside. Applying a pack that replaces splice_target_hold()
 *		meanwhile must fail with code_busy and name the kthread.
 *  events	which pack hooks ran (through splice_target_hook_ran()),
 *		by name; any write clears it
 *  fail_hook	the name of a hook kind that is to fail, or "none"
 *		(splice_target.crash_hook=KIND on the command line makes a
 *		hook of that kind panic instead: a crash while a pack applies,
 *		for the boot-time guard of splice.service)
 *  scaled	splice_target_scale_a() and _b() of the input, which share the
 *		inline helper splice_target_scale()
 *  calls	how many times it was read, counted in a static local
 *  config	the fields of splice_target_config, a data object; writing sets
 *		its level
 *  biased	the input plus splice_target_bias(), an inline function of
 *		splice_target.h that the module uses too
 *  noinstr_value
 *		splice_target_noinstr(21): 144 here; a noinstr function, as
 *		the C side of exception and NMI entry is
 *  proc_link	write a destination: /proc/splice_target_link, made anew by
 *		proc_symlink(), points there (an empty write asks for no
 *		destination, which only a fixed proc_symlink() refuses
 *		safely; "-" removes the link); reads "made", "refused" or
 *		"none"
 */
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/proc_fs.h>
#include <linux/splice_pack.h>
#include <linux/stop_machine.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

#include "splice_target.h"

static const char *const splice_target_kinds[SPLICE_HOOK_KINDS] = {
	[SPLICE_HOOK_PRE_APPLY] = "pre-apply",
	[SPLICE_HOOK_CHECK_APPLY] = "check-apply",
	[SPLICE_HOOK_APPLY] = "apply",
	[SPLICE_HOOK_POST_APPLY] = "post-apply",
	[SPLICE_HOOK_FAIL_APPLY] = "fail-apply",
	[SPLICE_HOOK_PRE_REVERSE] = "pre-reverse",
	[SPLICE_HOOK_CHECK_REVERSE] = "check-reverse",
	[SPLICE_HOOK_REVERSE] = "reverse",
	[SPLICE_HOOK_POST_REVERSE] = "post-reverse",
	[SPLICE_HOOK_FAIL_REVERSE] = "fail-reverse",
};

/* Inputs read at run time, so that the compiler cannot specialise the targets. */
static int splice_target_input = 21;
static long splice_target_base;

static unsigned long splice_target_events;
static int splice_target_fail = -1;
static char *crash_hook = "";
module_param(crash_hook, charp, 0400);

/*
 * For the hooks of sample packs: records that a hook of @kind ran and says
 * whether it is to fail. Safe inside stop_machine.
 */
noinline int splice_target_hook_ran(unsigned int kind)
{
	if (kind >= SPLICE_HOOK_KINDS)
		return -EINVAL;
	set_bit(kind, &splice_target_events);
	if (crash_hook[0] && sysfs_streq(crash_hook, splice_target_kinds[kind]))
		panic("splice_target: a %s hook crashed (crash_hook, a test)\n", crash_hook);
	return READ_ONCE(splice_target_fail) == kind ? -EAGAIN : 0;
}

noinline int splice_target_compute(int x)
{
	return x * 2;
}

static inline int splice_target_scale(int x)
{
	return x + 1;
}

noinline int splice_target_scale_a(int x)
{
	return splice_target_scale(x) * 2;
}

noinline int splice_target_scale_b(int x)
{
	return splice_target_scale(x) * 3;
}

struct splice_target_config {
	int level;
	int limit;
};

static struct splice_target_config splice_target_config = {
	.level = 1,
	.limit = 10,
};

#define SPLICE_TARGET_STEP(n)					\
	noinline long splice_target_step##n(long x)		\
	{							\
		return x + n;					\
	}
SPLICE_TARGET_STEP(0)
SPLICE_TARGET_STEP(1)
SPLICE_TARGET_STEP(2)
SPLICE_TARGET_STEP(3)
SPLICE_TARGET_STEP(4)
SPLICE_TARGET_STEP(5)
SPLICE_TARGET_STEP(6)
SPLICE_TARGET_STEP(7)
SPLICE_TARGET_STEP(8)
SPLICE_TARGET_STEP(9)

static DECLARE_WAIT_QUEUE_HEAD(splice_target_wq);
static bool splice_target_holding;
static atomic_t splice_target_inside = ATOMIC_INIT(0);
static DEFINE_MUTEX(splice_target_hold_lock);

/* Sleeps here, inside code a pack replaces, until the hold is released. */
noinline void splice_target_hold(void)
{
	atomic_inc(&splice_target_inside);
	pr_info("splice_target: %s holds in splice_target_hold\n", current->comm);
	wait_event(splice_target_wq, !READ_ONCE(splice_target_holding));
	atomic_dec(&splice_target_inside);
}

static int splice_target_holder(void *unused)
{
	splice_target_hold();
	return 0;
}

static ssize_t value_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", splice_target_compute(READ_ONCE(splice_target_input)));
}

static ssize_t scaled_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	int x = READ_ONCE(splice_target_input);

	return sysfs_emit(buf, "%d %d\n", splice_target_scale_a(x),
			  splice_target_scale_b(x));
}

static ssize_t calls_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	static unsigned long calls;

	calls++;
	return sysfs_emit(buf, "%lu\n", calls);
}

static ssize_t config_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%d %d\n", READ_ONCE(splice_target_config.level),
			  READ_ONCE(splice_target_config.limit));
}

static ssize_t config_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	int level;
	int ret = kstrtoint(buf, 0, &level);

	if (ret)
		return ret;
	WRITE_ONCE(splice_target_config.level, level);
	return count;
}

static ssize_t bench_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	long x = READ_ONCE(splice_target_base);

	x = splice_target_step0(x);
	x = splice_target_step1(x);
	x = splice_target_step2(x);
	x = splice_target_step3(x);
	x = splice_target_step4(x);
	x = splice_target_step5(x);
	x = splice_target_step6(x);
	x = splice_target_step7(x);
	x = splice_target_step8(x);
	x = splice_target_step9(x);
	return sysfs_emit(buf, "%ld\n", x);
}

static ssize_t hold_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&splice_target_inside));
}

static ssize_t hold_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	struct task_struct *t;
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	guard(mutex)(&splice_target_hold_lock);
	if (!on) {
		WRITE_ONCE(splice_target_holding, false);
		wake_up(&splice_target_wq);
		return count;
	}
	if (READ_ONCE(splice_target_holding))
		return -EBUSY;
	WRITE_ONCE(splice_target_holding, true);
	t = kthread_run(splice_target_holder, NULL, "splice-hold");
	if (IS_ERR(t)) {
		WRITE_ONCE(splice_target_holding, false);
		return PTR_ERR(t);
	}
	return count;
}

static ssize_t events_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	unsigned long ev = READ_ONCE(splice_target_events);
	int kind, len = 0;

	for (kind = 0; kind < SPLICE_HOOK_KINDS; kind++)
		if (ev & BIT(kind))
			len += sysfs_emit_at(buf, len, "%s%s", len ? " " : "",
					     splice_target_kinds[kind]);
	return len + sysfs_emit_at(buf, len, "\n");
}

static ssize_t events_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	WRITE_ONCE(splice_target_events, 0);
	return count;
}

static ssize_t fail_hook_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	int kind = READ_ONCE(splice_target_fail);

	return sysfs_emit(buf, "%s\n", kind < 0 ? "none" : splice_target_kinds[kind]);
}

static ssize_t fail_hook_store(struct kobject *kobj, struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	int kind;

	if (sysfs_streq(buf, "none")) {
		WRITE_ONCE(splice_target_fail, -1);
		return count;
	}
	kind = sysfs_match_string(splice_target_kinds, buf);
	if (kind < 0)
		return kind;
	WRITE_ONCE(splice_target_fail, kind);
	return count;
}

noinline int splice_target_biased(int x)
{
	return x + splice_target_bias();
}

/*
 * noinstr, like the C side of exception and NMI entry: a pack carries its
 * replacement in the pack module's .noinstr.text.
 */
noinstr long splice_target_noinstr(long x)
{
	return x * 7 + READ_ONCE(splice_target_base) - 3;
}

static ssize_t noinstr_value_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n", splice_target_noinstr(READ_ONCE(splice_target_input)));
}

static ssize_t biased_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%d\n", splice_target_biased(READ_ONCE(splice_target_input)));
}

/*
 * A tunable in a section that other objects share (__read_mostly), set at run
 * time through "threshold": the catalogue's read-mostly pack adds an object
 * beside it and must go on reading this instance, not a copy at its initial
 * value.
 */
static int splice_target_threshold __read_mostly = 10;

static ssize_t threshold_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(splice_target_threshold));
}

static ssize_t threshold_store(struct kobject *kobj, struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	int v;
	int ret = kstrtoint(buf, 0, &v);

	if (ret)
		return ret;
	WRITE_ONCE(splice_target_threshold, v);
	return count;
}

/*
 * Per-CPU data (DEFINE_PER_CPU: every such object of the file shares
 * .data..percpu): each read of "hits" counts on its CPU and shows the sum. The
 * catalogue's percpu pack adds a per-CPU object beside it and must go on
 * counting in these instances, not in fresh zeroed ones.
 */
static DEFINE_PER_CPU(unsigned long, splice_target_hits);

static ssize_t hits_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	unsigned long sum = 0;
	int cpu;

	this_cpu_inc(splice_target_hits);
	for_each_possible_cpu(cpu)
		sum += per_cpu(splice_target_hits, cpu);
	return sysfs_emit(buf, "%lu\n", sum);
}

/*
 * Dynamic debug: with CONFIG_DYNAMIC_DEBUG each pr_debug() is a descriptor in
 * __dyndbg, turned on and off at run time through
 * /proc/dynamic_debug/control. The catalogue's dyndbg pack changes this
 * function and moves its pr_debug() down a line: the replacement must print
 * through the running kernel's descriptor, in the state the admin left it,
 * and carry only its new one.
 */
static unsigned long splice_target_debug_reads;

static ssize_t debug_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	unsigned long n = ++splice_target_debug_reads;

	pr_debug("splice_target: debug read %lu\n", n);
	return sysfs_emit(buf, "%lu\n", n);
}

/*
 * Figures for tools/testing/selftests/splice/bench.sh (not in the comment at
 * the top, whose lines the sample packs' diffs count):
 *
 *  call_cost	picoseconds per call of splice_target_compute() over
 *		CALL_COST_CALLS calls, as it runs now: as built, replaced by
 *		a pack, or livepatched (splice_target_klp.ko)
 *  empty_stop	nanoseconds of one stop_machine() that does nothing: the
 *		floor of a switch's pause, measured in the same guest
 */
#define CALL_COST_CALLS 200000

static ssize_t call_cost_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	unsigned int sum = 0;
	u64 t0, t1;
	int i;

	t0 = ktime_get_ns();
	for (i = 0; i < CALL_COST_CALLS; i++)
		sum += splice_target_compute(i);
	t1 = ktime_get_ns();
	/* The sum is printed so that the calls cannot be left out. */
	return sysfs_emit(buf, "%llu %u\n", div_u64((t1 - t0) * 1000, CALL_COST_CALLS), sum);
}

static int splice_target_nothing(void *unused)
{
	return 0;
}

static ssize_t empty_stop_show(struct kobject *kobj, struct kobj_attribute *attr,
			       char *buf)
{
	u64 t0 = ktime_get_ns();
	int ret = stop_machine(splice_target_nothing, NULL, NULL);
	u64 t1 = ktime_get_ns();

	if (ret)
		return ret;
	return sysfs_emit(buf, "%llu\n", t1 - t0);
}

/*
 * A caller of simple_strtoul(), whose code after its entry is one 2-byte jump
 * (a tail call): too short for the jump splice writes after a function's
 * entry. The catalogue case tiny-function changes it, and simple_strtol(),
 * which calls it: "11" in base 37 is 38; the fixed functions take a base past
 * 36 as 0 (the base from the prefix, here 10), and read 11. The sample pack
 * target-tiny-stacked, on top of it, takes it as 8 (9).
 */
static ssize_t strtoul_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%lu %ld\n", simple_strtoul("11", NULL, 37),
			  simple_strtol("11", NULL, 37));
}

/*
 * A caller of proc_symlink(), which nothing else calls after boot: the
 * catalogue case line-shift makes it refuse a NULL destination.
 */
static DEFINE_MUTEX(proc_link_lock);
static struct proc_dir_entry *proc_link;
static const char *proc_link_state = "none";

static ssize_t proc_link_show(struct kobject *kobj, struct kobj_attribute *attr,
			      char *buf)
{
	guard(mutex)(&proc_link_lock);
	return sysfs_emit(buf, "%s\n", proc_link_state);
}

static ssize_t proc_link_store(struct kobject *kobj, struct kobj_attribute *attr,
			       const char *buf, size_t count)
{
	char copy[64], *dest;

	strscpy(copy, buf, sizeof(copy));
	dest = strim(copy);
	guard(mutex)(&proc_link_lock);
	proc_remove(proc_link);
	proc_link = NULL;
	proc_link_state = "none";
	if (!strcmp(dest, "-"))
		return count;
	proc_link = proc_symlink("splice_target_link", NULL, *dest ? dest : NULL);
	proc_link_state = proc_link ? "made" : "refused";
	return count;
}

static struct kobj_attribute call_cost_attr = __ATTR(call_cost, 0400, call_cost_show, NULL);
static struct kobj_attribute strtoul_attr = __ATTR_RO(strtoul);
static struct kobj_attribute proc_link_attr =
	__ATTR(proc_link, 0600, proc_link_show, proc_link_store);
static struct kobj_attribute empty_stop_attr = __ATTR(empty_stop, 0400, empty_stop_show, NULL);
static struct kobj_attribute value_attr = __ATTR_RO(value);
static struct kobj_attribute bench_attr = __ATTR_RO(bench);
static struct kobj_attribute biased_attr = __ATTR_RO(biased);
static struct kobj_attribute noinstr_value_attr = __ATTR_RO(noinstr_value);
static struct kobj_attribute scaled_attr = __ATTR_RO(scaled);
static struct kobj_attribute calls_attr = __ATTR_RO(calls);
static struct kobj_attribute config_attr = __ATTR(config, 0644, config_show, config_store);
static struct kobj_attribute threshold_attr =
	__ATTR(threshold, 0644, threshold_show, threshold_store);
static struct kobj_attribute hits_attr = __ATTR_RO(hits);
static struct kobj_attribute debug_attr = __ATTR_RO(debug);
static struct kobj_attribute hold_attr = __ATTR(hold, 0600, hold_show, hold_store);
static struct kobj_attribute events_attr = __ATTR(events, 0600, events_show, events_store);
static struct kobj_attribute fail_hook_attr =
	__ATTR(fail_hook, 0600, fail_hook_show, fail_hook_store);

static struct attribute *splice_target_attrs[] = {
	&value_attr.attr,
	&bench_attr.attr,
	&hold_attr.attr,
	&events_attr.attr,
	&fail_hook_attr.attr,
	&scaled_attr.attr,
	&calls_attr.attr,
	&config_attr.attr,
	&biased_attr.attr,
	&noinstr_value_attr.attr,
	&threshold_attr.attr,
	&hits_attr.attr,
	&debug_attr.attr,
	&call_cost_attr.attr,
	&empty_stop_attr.attr,
	&strtoul_attr.attr,
	&proc_link_attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(splice_target);

static int __init splice_target_init(void)
{
	struct kobject *kobj;
	int ret;

	kobj = kobject_create_and_add("splice_target", kernel_kobj);
	if (!kobj)
		return -ENOMEM;
	ret = sysfs_create_groups(kobj, splice_target_groups);
	if (ret)
		kobject_put(kobj);
	return ret;
}
device_initcall(splice_target_init);
