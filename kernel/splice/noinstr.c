// SPDX-License-Identifier: GPL-2.0
/*
 * noinstr, idle and entry code: which of it splice may redirect.
 *
 * noinstr functions (.noinstr.text, of vmlinux or of a module) run in NMI and
 * exception entry, where the kernel must not be instrumented (RCU may not be
 * watching): ftrace never traces them and kprobes never probe them. splice
 * replaces one only with a replacement that keeps that protection: the pack
 * carries it in a section named .noinstr.text, which the module loader
 * records (mod->noinstr_text_start) and kprobes put on their blacklist. The
 * jump is written only while every CPU is held in an NMI
 * (kernel::text_patching), so no NMI runs an entry half-written; if the CPUs
 * cannot be held, a pack with a noinstr target is not applied.
 *
 * The idle code (.cpuidle.text, within vmlinux's noinstr range) and the entry
 * code (.entry.text) are refused (abort cause "cannot_redirect"), as
 * splice-create refuses them when it makes a pack. The entry code runs before
 * the kernel's stack and page tables are set up, and on the way into the very
 * NMIs that hold the CPUs. The idle code is left alone for now: the kernel
 * tells idle CPUs by the address they run at (cpu_in_idle(), to leave them
 * out of NMI backtraces), which a replacement would not have.
 */
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <asm/sections.h>

#include "noinstr.h"

extern char __cpuidle_text_start[], __cpuidle_text_end[];

static bool within(unsigned long addr, const void *start, const void *end)
{
	return addr >= (unsigned long)start && addr < (unsigned long)end;
}

/*
 * Whether @addr is in noinstr code: vmlinux's, not counting the idle code, or
 * a module's.
 */
bool splice_noinstr(unsigned long addr)
{
	return (within(addr, __noinstr_text_start, __noinstr_text_end) &&
		!within(addr, __cpuidle_text_start, __cpuidle_text_end)) ||
	       splice_module_noinstr(addr);
}

/* Whether @addr is in vmlinux's idle or entry code. */
bool splice_idle_or_entry(unsigned long addr)
{
	return within(addr, __cpuidle_text_start, __cpuidle_text_end) ||
	       within(addr, __entry_text_start, __entry_text_end);
}

/* Whether @addr is in the .noinstr.text of the module whose code it is. */
bool splice_module_noinstr(unsigned long addr)
{
	struct module *mod;

	guard(rcu)();
	mod = __module_text_address(addr);
	return mod && within(addr, mod->noinstr_text_start,
			     mod->noinstr_text_start + mod->noinstr_text_size);
}
