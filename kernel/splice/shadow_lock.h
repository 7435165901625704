/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SPLICE_SHADOW_LOCK_H
#define _KERNEL_SPLICE_SHADOW_LOCK_H

unsigned long splice_shadow_lock(void);
void splice_shadow_unlock(unsigned long flags);

#endif
