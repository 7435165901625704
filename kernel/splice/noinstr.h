/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SPLICE_NOINSTR_H
#define _KERNEL_SPLICE_NOINSTR_H

#include <linux/types.h>

bool splice_noinstr(unsigned long addr);
bool splice_idle_or_entry(unsigned long addr);
bool splice_module_noinstr(unsigned long addr);

#endif
