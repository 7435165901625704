// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target code for splice packs, in a module: /sys/kernel/splice_target_mod/
 * greeting shows what splice_target_mod_greeting() returns, level what
 * splice_target_mod_level() makes of 5. The sample pack
 * mod-greeting replaces that function while the module is loaded; while the
 * pack is applied the module cannot be removed.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/sysfs.h>

#include "splice_target.h"

static struct kobject *splice_target_mod_kobj;

noinline const char *splice_target_mod_greeting(void)
{
	return "hello from splice_target_mod";
}

static int splice_target_mod_input = 5;

noinline int splice_target_mod_level(int x)
{
	return x + splice_target_bias();
}

static ssize_t level_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", splice_target_mod_level(READ_ONCE(splice_target_mod_input)));
}

static struct kobj_attribute splice_target_mod_level_attr = __ATTR_RO(level);

static ssize_t greeting_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", splice_target_mod_greeting());
}

static struct kobj_attribute splice_target_mod_greeting_attr = __ATTR_RO(greeting);

/*
 * How long the init waits before it makes the files: a test acts while the
 * module is being loaded (its code in place, its init running).
 */
static unsigned int init_delay_ms;
module_param(init_delay_ms, uint, 0444);

static int __init splice_target_mod_init(void)
{
	int ret;

	if (init_delay_ms)
		schedule_timeout_uninterruptible(msecs_to_jiffies(init_delay_ms));
	splice_target_mod_kobj = kobject_create_and_add("splice_target_mod", kernel_kobj);
	if (!splice_target_mod_kobj)
		return -ENOMEM;
	ret = sysfs_create_file(splice_target_mod_kobj, &splice_target_mod_greeting_attr.attr);
	if (!ret)
		ret = sysfs_create_file(splice_target_mod_kobj, &splice_target_mod_level_attr.attr);
	if (ret)
		kobject_put(splice_target_mod_kobj);
	return ret;
}

static void __exit splice_target_mod_exit(void)
{
	kobject_put(splice_target_mod_kobj);
}

module_init(splice_target_mod_init);
module_exit(splice_target_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Target code for splice packs, in a module");
