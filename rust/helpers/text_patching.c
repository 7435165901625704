// SPDX-License-Identifier: GPL-2.0

#include <linux/sync_core.h>

__rust_helper void rust_helper_sync_core(void)
{
	sync_core();
}

#include <linux/kallsyms.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/vmalloc.h>

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

__rust_helper void rust_helper_text_alias_vunmap(void *addr)
{
	vunmap(addr);
}
