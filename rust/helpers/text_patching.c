// SPDX-License-Identifier: GPL-2.0

#include <linux/sync_core.h>

__rust_helper void rust_helper_sync_core(void)
{
	sync_core();
}
