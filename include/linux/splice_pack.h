/* SPDX-License-Identifier: GPL-2.0 */
/*
 * splice packs: how a pack module hands itself to the splice core.
 *
 * A splice pack is a kernel module made by tools/splice/splice-create. Its
 * init function registers a struct splice_pack_desc with the core; its exit
 * function unregisters it. Registering changes nothing in the running kernel:
 * the administrator checks, applies and reverses the pack through
 * /sys/kernel/splice/<name>/. See Documentation/splice/pack-format.rst.
 */
#ifndef _LINUX_SPLICE_PACK_H
#define _LINUX_SPLICE_PACK_H

#include <linux/compiler.h>
#include <linux/instruction_pointer.h>
#include <linux/types.h>

struct module;

/* The version of struct splice_pack_desc and of the hook kinds below. */
#define SPLICE_PACK_ABI	1

/*
 * When a hook runs. Hooks of the apply kinds run when the pack is applied,
 * those of the reverse kinds when it is reversed:
 *
 *  PRE	before stop_machine; may sleep; non-zero aborts (hook_failed)
 *  CHECK	inside stop_machine, after the stack check; must not sleep;
 *		non-zero aborts (hook_failed)
 *  APPLY	inside stop_machine, after the code was switched; must not
 *		sleep or fail
 *  POST	after stop_machine, on success; may sleep; cannot fail
 *  FAIL	after an abort, once PRE hooks of this action have started
 *		(also when one of them failed: some may not have run); may
 *		sleep; undoes what the PRE hooks did
 */
enum splice_hook_kind {
	SPLICE_HOOK_PRE_APPLY,
	SPLICE_HOOK_CHECK_APPLY,
	SPLICE_HOOK_APPLY,
	SPLICE_HOOK_POST_APPLY,
	SPLICE_HOOK_FAIL_APPLY,
	SPLICE_HOOK_PRE_REVERSE,
	SPLICE_HOOK_CHECK_REVERSE,
	SPLICE_HOOK_REVERSE,
	SPLICE_HOOK_POST_REVERSE,
	SPLICE_HOOK_FAIL_REVERSE,
	SPLICE_HOOK_KINDS,
};

struct splice_hook {
	u32 kind;		/* enum splice_hook_kind */
	int (*fn)(void);	/* 0 on success, or a negative errno */
};

/*
 * splice_hook(kind, fn) - declare a hook, in the patch of a fix.
 *
 * A fix that changes the meaning of data adds its hooks to the patched file:
 *
 *	static int fix_convert(void) { ... return 0; }
 *	splice_hook(SPLICE_HOOK_PRE_APPLY, fix_convert);
 *
 * The entry lands in section .splice.hooks of the patched object, which
 * splice-create carries into the pack with the hook functions; the pack's
 * hook table is that section, in file order. The unpatched kernel never
 * contains such an entry.
 */
#define splice_hook(k, f)						\
	static const struct splice_hook __UNIQUE_ID(splice_hook)	\
	__used __section(".splice.hooks") __aligned(8) = {		\
		.kind = (k), .fn = (f) }

struct splice_pack_desc {
	u32 abi;				/* SPLICE_PACK_ABI */
	struct module *owner;			/* THIS_MODULE */
	const u8 *blob;				/* metadata table, format v1 */
	size_t blob_len;
	void *const *replacements;		/* replacement functions */
	size_t nr_replacements;
	const struct splice_hook *hooks;
	size_t nr_hooks;
};

int splice_register_pack(const struct splice_pack_desc *desc);
void splice_unregister_pack(const struct splice_pack_desc *desc);

/*
 * Shadow data: new fields attached to existing objects, for fixes that need
 * more state than the old structures hold (Documentation/splice/hooks.rst).
 * A shadow is keyed by the object's address and an id chosen by the patch
 * author; it belongs to the pack whose code allocated it (found from the
 * caller's address, since patched code is compiled as part of vmlinux or of
 * its original module and cannot name its pack) and is freed when that pack
 * is reversed or unloaded; a pack frees only its own shadows.
 *
 * splice_shadow_get() takes no lock (RCU): any context may call it. The
 * others take a raw spinlock with interrupts off: any context but NMI, with
 * @gfp allowed there. A shadow is zeroed memory; @ctor (may be NULL) fills a
 * new one under the lock and must not sleep; non-zero fails the allocation.
 * @dtor (may be NULL) releases what a shadow holds before it is freed, after
 * an RCU grace period.
 *
 * splice_shadow_alloc() returns NULL if the shadow exists already, memory is
 * short or the caller is not the code of a loaded pack;
 * splice_shadow_get_or_alloc() returns the existing shadow if there is one.
 */
typedef int (*splice_shadow_ctor_t)(void *obj, void *shadow_data,
				    void *ctor_data);
typedef void (*splice_shadow_dtor_t)(void *obj, void *shadow_data);

void *splice_shadow_get(const void *obj, unsigned long id);
void *__splice_shadow_alloc(unsigned long caller, const void *obj,
			    unsigned long id, size_t size, gfp_t gfp);
void *__splice_shadow_get_or_alloc(unsigned long caller, const void *obj,
				   unsigned long id, size_t size, gfp_t gfp,
				   splice_shadow_ctor_t ctor, void *ctor_data);
void __splice_shadow_free(unsigned long caller, const void *obj,
			  unsigned long id, splice_shadow_dtor_t dtor);
void __splice_shadow_free_all(unsigned long caller, unsigned long id,
			      splice_shadow_dtor_t dtor);
#define splice_shadow_alloc(obj, id, size, gfp)				\
	__splice_shadow_alloc(_THIS_IP_, obj, id, size, gfp)
#define splice_shadow_get_or_alloc(obj, id, size, gfp, ctor, ctor_data)	\
	__splice_shadow_get_or_alloc(_THIS_IP_, obj, id, size, gfp, ctor,	\
				     ctor_data)
#define splice_shadow_free(obj, id, dtor)				\
	__splice_shadow_free(_THIS_IP_, obj, id, dtor)
#define splice_shadow_free_all(id, dtor)				\
	__splice_shadow_free_all(_THIS_IP_, id, dtor)

/*
 * Whether [start, end] overlaps the jump at a target of an applied pack, which
 * no other code patcher may write over. kprobes asks, under kprobe_mutex, which
 * the splice core holds while it writes or removes jumps (kprobe_lock()).
 */
#ifdef CONFIG_SPLICE
bool splice_text_reserved(void *start, void *end);
#else
static inline bool splice_text_reserved(void *start, void *end)
{
	return false;
}
#endif

#endif /* _LINUX_SPLICE_PACK_H */
