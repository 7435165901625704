// SPDX-License-Identifier: GPL-2.0

#include <linux/nmi.h>
#include <linux/sync_core.h>

__rust_helper void rust_helper_sync_core(void)
{
	sync_core();
}

/* For the CPUs that spin with interrupts off in kernel::text_patching's stop. */
__rust_helper void rust_helper_touch_nmi_watchdog(void)
{
	touch_nmi_watchdog();
}

#include <linux/kallsyms.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/vmalloc.h>
#include <asm/tlbflush.h>

/*
 * The page of kernel or module text at @addr, for a writable alias made
 * before stop_machine() (text_poke_kgdb() would take init_mm's mmap lock
 * for module text, which must not happen with the other CPUs stopped).
 */
__rust_helper struct page *rust_helper_text_alias_page(unsigned long addr)
{
	if (core_kernel_text(addr))
		return virt_to_page((void *)addr);
	/* As __text_poke() does: vmalloc_to_page() races with ROX collapses. */
	guard(mmap_read_lock)(&init_mm);
	return vmalloc_to_page((void *)addr);
}

__rust_helper void *rust_helper_text_alias_vmap(struct page **pages, unsigned int count)
{
	return vmap(pages, count, VM_MAP, PAGE_KERNEL);
}

/*
 * asm/tlbflush.h declares this only outside modules, and the Rust bindings are
 * generated as for a module; kernel::text_patching is built in (it serves
 * CONFIG_SPLICE=y), where the function is there to call.
 */
void flush_tlb_kernel_range(unsigned long start, unsigned long end);

/*
 * Unmaps an alias of @count pages and flushes its translations from every CPU
 * at once: vunmap() leaves that to the next purge of lazy vmap areas.
 */
__rust_helper void rust_helper_text_alias_vunmap(void *addr, unsigned int count)
{
	vunmap(addr);
	flush_tlb_kernel_range((unsigned long)addr, (unsigned long)addr + count * PAGE_SIZE);
}

#include <asm/apic.h>
#include <asm/nmi.h>
#include <linux/cpumask.h>

/*
 * The NMI handler of kernel::text_patching: NMI_LOCAL, first in line. @fn
 * says whether the NMI was one the module sent itself.
 */
static bool (*text_patching_nmi_fn)(struct pt_regs *regs);

static int text_patching_nmi(unsigned int type, struct pt_regs *regs)
{
	return text_patching_nmi_fn(regs) ? NMI_HANDLED : NMI_DONE;
}

__rust_helper int rust_helper_text_patching_register_nmi(bool (*fn)(struct pt_regs *))
{
	text_patching_nmi_fn = fn;
	return register_nmi_handler(NMI_LOCAL, text_patching_nmi, NMI_FLAG_FIRST,
				    "text_patching");
}

/* An NMI to the calling CPU (NMI_VECTOR selects the NMI delivery mode). */
__rust_helper void rust_helper_text_patching_self_nmi(void)
{
	__apic_send_IPI(smp_processor_id(), NMI_VECTOR);
}

__rust_helper unsigned int rust_helper_text_patching_online_cpus(void)
{
	return num_online_cpus();
}

/* How many CPU numbers there can be (CPUs are numbered below it). */
__rust_helper unsigned int rust_helper_text_patching_cpu_ids(void)
{
	return nr_cpu_ids;
}

__rust_helper bool rust_helper_text_patching_in_nmi(void)
{
	return in_nmi();
}

#include <linux/kprobes.h>

__rust_helper void rust_helper_kprobe_lock(void)
{
	kprobe_lock();
}

__rust_helper void rust_helper_kprobe_unlock(void)
{
	kprobe_unlock();
}

/* Whether a kprobe, armed or not, is registered at @addr; kprobe_mutex held. */
__rust_helper bool rust_helper_kprobe_registered_at(unsigned long addr)
{
	return get_kprobe((void *)addr) != NULL;
}

#include <asm/cpufeature.h>
#include <asm/text-patching.h>
#include <linux/uaccess.h>

#ifdef CONFIG_CALL_THUNKS
/* arch/x86/kernel/callthunks.c: what a call depth accounting thunk holds. */
extern u8 skl_call_thunk_template[];
extern u8 skl_call_thunk_tail[];
#endif

/* Whether call depth tracking is on (retbleed=stuff). */
__rust_helper bool rust_helper_text_patching_call_depth(void)
{
	return cpu_feature_enabled(X86_FEATURE_CALL_DEPTH);
}

/*
 * With call depth tracking on (retbleed=stuff), the kernel points each direct
 * call it lists in .call_sites at a thunk in its callee's padding, which
 * accounts for the call and runs into the callee: the callee's address if
 * @addr is such a thunk, 0 otherwise. The thunk is recognized by its bytes,
 * as callthunks.c's patch_dest() does before it writes one.
 */
__rust_helper unsigned long rust_helper_text_patching_call_thunk_of(unsigned long addr)
{
#ifdef CONFIG_CALL_THUNKS
	unsigned int size = skl_call_thunk_tail - skl_call_thunk_template;
	/* 9 bytes (sarq $5, %gs:__x86_call_depth), more with CALL_THUNKS_DEBUG. */
	u8 thunk[32], live[32];

	if (!cpu_feature_enabled(X86_FEATURE_CALL_DEPTH) || size > sizeof(thunk))
		return 0;
	if (copy_from_kernel_nofault(live, (void *)addr, size))
		return 0;
	memcpy(thunk, skl_call_thunk_template, size);
	text_poke_apply_relocation(thunk, (u8 *)addr, size, skl_call_thunk_template, size);
	if (memcmp(thunk, live, size))
		return 0;
	return addr + size;
#else
	return 0;
#endif
}
