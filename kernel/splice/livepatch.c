// SPDX-License-Identifier: GPL-2.0
/*
 * What splice needs to know of livepatch: whether a function is livepatched.
 *
 * A livepatch redirects a function from its ftrace call site, which runs
 * before the jump that splice writes after it: a pack applied to a
 * livepatched function would have no effect while the livepatch is enabled,
 * so splice refuses it (abort cause "livepatched"). The other way round, a
 * livepatch enabled on a function splice replaced takes over, and splice's
 * replacement runs again once the livepatch is disabled.
 */
#include <linux/cleanup.h>
#include <linux/mutex.h>

#include "livepatch.h"

#ifdef CONFIG_LIVEPATCH
/* From kernel/livepatch/core.h and patch.h. */
extern struct mutex klp_mutex;
struct klp_ops *klp_find_ops(void *old_func);

/* Whether an enabled livepatch replaces the function at @addr. */
bool splice_livepatched(unsigned long addr)
{
	guard(mutex)(&klp_mutex);
	return klp_find_ops((void *)addr) != NULL;
}
#else
bool splice_livepatched(unsigned long addr)
{
	return false;
}
#endif
