/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SPLICE_LIVEPATCH_H
#define _KERNEL_SPLICE_LIVEPATCH_H

#include <linux/types.h>

bool splice_livepatched(unsigned long addr);

#endif
