// SPDX-License-Identifier: GPL-2.0
/*
 * The module notifier of packs that patch modules when they load
 * (splice-create --on-load): when a module comes, before its init runs, the
 * targets of applied packs that wait for it are matched against its code and
 * redirected (kernel/splice/modules.rs); a module whose code does not match
 * such a pack is refused. When it goes, its targets wait for it again.
 *
 * It runs after the notifiers that finish the module's code (jump labels,
 * static calls: priority 0 and above), so that what is matched is the code
 * the module runs.
 */
#include <linux/module.h>
#include <linux/notifier.h>

#include "modules.h"

static int splice_module_notify(struct notifier_block *nb, unsigned long action,
				void *data)
{
	struct module *mod = data;

	switch (action) {
	case MODULE_STATE_COMING:
		return notifier_from_errno(splice_module_coming(mod));
	case MODULE_STATE_GOING:
		splice_module_going(mod);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block splice_module_nb = {
	.notifier_call = splice_module_notify,
	.priority = -1,
};

int splice_modules_init(void)
{
	return register_module_notifier(&splice_module_nb);
}
