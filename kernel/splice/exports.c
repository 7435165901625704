// SPDX-License-Identifier: GPL-2.0
/*
 * The entry points of the splice core that pack modules call. They are written
 * in Rust (kernel/splice/registry.rs, shadow.rs); Rust crates cannot export
 * symbols to modules themselves, so they are exported here.
 */
#include <linux/export.h>
#include <linux/splice_pack.h>

EXPORT_SYMBOL_GPL(splice_register_pack);
EXPORT_SYMBOL_GPL(splice_unregister_pack);
EXPORT_SYMBOL_GPL(__splice_shadow_alloc);
EXPORT_SYMBOL_GPL(splice_shadow_get);
EXPORT_SYMBOL_GPL(__splice_shadow_get_or_alloc);
EXPORT_SYMBOL_GPL(__splice_shadow_free);
EXPORT_SYMBOL_GPL(__splice_shadow_free_all);
