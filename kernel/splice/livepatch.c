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
/* klp_mutex and klp_find_ops(): livepatch's own declarations, not copies. */
#include "../livepatch/core.h"
#include "../livepatch/patch.h"

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
