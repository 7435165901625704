// SPDX-License-Identifier: GPL-2.0
/*
 * The lock of splice's shadow data table (kernel/splice/shadow.rs): a raw
 * spinlock taken with interrupts off, so that any context may change the
 * table, hooks inside stop_machine() and hard interrupts included, and on
 * PREEMPT_RT too, where a spinlock_t would sleep. Lookups take no lock (RCU).
 */
#include <linux/spinlock.h>

#include "shadow_lock.h"

static DEFINE_RAW_SPINLOCK(splice_shadow_table_lock);

unsigned long splice_shadow_lock(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&splice_shadow_table_lock, flags);
	return flags;
}

void splice_shadow_unlock(unsigned long flags)
{
	raw_spin_unlock_irqrestore(&splice_shadow_table_lock, flags);
}
