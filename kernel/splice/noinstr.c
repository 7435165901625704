// SPDX-License-Identifier: GPL-2.0
/*
 * Code splice does not redirect: noinstr and entry code.
 *
 * noinstr functions (.noinstr.text, with the idle code of .cpuidle.text) and
 * the entry code (.entry.text) run in NMI and exception entry and on the way
 * into idle, where the kernel must not be instrumented (RCU may not be
 * watching). A replacement in module text would lose that protection, and the
 * entry code runs on the way into the very NMIs that hold the CPUs while
 * splice writes its jumps. ftrace and kprobes never instrument this code;
 * splice refuses it too (abort cause "cannot_redirect"), as splice-create does
 * when it makes a pack.
 */
#include <linux/kallsyms.h>
#include <asm/sections.h>

#include "noinstr.h"

static bool within(unsigned long addr, const char *start, const char *end)
{
	return addr >= (unsigned long)start && addr < (unsigned long)end;
}

/* Whether @addr is in vmlinux's noinstr or entry code. */
bool splice_noinstr(unsigned long addr)
{
	return within(addr, __noinstr_text_start, __noinstr_text_end) ||
	       within(addr, __entry_text_start, __entry_text_end);
}
