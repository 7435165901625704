// SPDX-License-Identifier: GPL-2.0

//! Shadow data: new fields attached to existing objects, for fixes that need more state than
//! the old structures hold.
//!
//! A shadow is keyed by the object's address and an id chosen by the patch author, and belongs
//! to the pack module that allocated it. Lookups are binary searches in a sorted table under a
//! spinlock, so hooks inside `stop_machine` and code in atomic context may use them. A pack's
//! shadows are freed when it is reversed or unloaded.

use kernel::bindings;
use kernel::prelude::*;

struct Shadow {
    obj: usize,
    id: usize,
    owner: usize,
    data: KVec<u8>,
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in the module initializer, before the first use.
    unsafe(uninit) static SHADOWS: SpinLock<KVec<Shadow>> = KVec::new();
}

/// Initializes the table. Called once, from the module initializer.
pub(crate) fn init() {
    // SAFETY: Called once, before anything else uses the lock.
    unsafe { SHADOWS.init() };
}

fn find(table: &[Shadow], obj: usize, id: usize) -> core::result::Result<usize, usize> {
    table.binary_search_by(|s| (s.obj, s.id).cmp(&(obj, id)))
}

/// The flags to allocate with, from the caller's `gfp_t`: sleeping ones only if it may
/// sleep.
fn flags_of(gfp: bindings::gfp_t) -> kernel::alloc::Flags {
    if gfp & (1 << bindings::___GFP_DIRECT_RECLAIM_BIT) != 0 {
        GFP_KERNEL
    } else {
        GFP_ATOMIC
    }
}

fn alloc(
    owner: usize,
    obj: usize,
    id: usize,
    size: usize,
    gfp: bindings::gfp_t,
) -> Result<*mut u8> {
    let mut data = KVec::from_elem(0u8, size.max(1), flags_of(gfp))?;
    let ptr = data.as_mut_ptr();
    let mut table = SHADOWS.lock();
    let pos = match find(&table, obj, id) {
        Ok(_) => return Err(EEXIST),
        Err(pos) => pos,
    };
    table.push(
        Shadow {
            obj,
            id,
            owner,
            data,
        },
        GFP_ATOMIC,
    )?;
    table[pos..].rotate_right(1);
    // The buffer of `data` does not move with the entry.
    Ok(ptr)
}

/// Frees every shadow that the module `owner` allocated.
pub(crate) fn free_owned_by(owner: *mut bindings::module) {
    let mut gone = KVec::new();
    {
        let mut table = SHADOWS.lock();
        let mut i = 0;
        while i < table.len() {
            if table[i].owner == owner as usize {
                if let Ok(s) = table.remove(i) {
                    // Freed outside the lock when possible; dropped here otherwise.
                    let _ = gone.push(s, GFP_ATOMIC);
                }
            } else {
                i += 1;
            }
        }
    }
    drop(gone);
}

/// Attaches `size` zeroed bytes to (`obj`, `id`) on behalf of the pack module whose code
/// `caller` lies in; null if such a shadow exists already, memory is short, or `caller` is
/// not module code. Patched code is compiled as part of vmlinux or of the module it fixes, so
/// it cannot name its pack: the `splice_shadow_alloc()` macro passes its own address.
#[no_mangle]
pub(crate) extern "C" fn __splice_shadow_alloc(
    caller: core::ffi::c_ulong,
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
    size: usize,
    gfp: bindings::gfp_t,
) -> *mut core::ffi::c_void {
    let Some(owner) = kernel::module_ref::text_owner(caller as usize) else {
        pr_warn!("shadow allocation from {caller:#x}, which is not code of a pack\n");
        return core::ptr::null_mut();
    };
    alloc(owner, obj as usize, id as usize, size, gfp).map_or(core::ptr::null_mut(), |p| p.cast())
}

/// The shadow (`obj`, `id`), or null.
#[no_mangle]
pub(crate) extern "C" fn splice_shadow_get(
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
) -> *mut core::ffi::c_void {
    let mut table = SHADOWS.lock();
    match find(&table, obj as usize, id as usize) {
        Ok(i) => table[i].data.as_mut_ptr().cast(),
        Err(_) => core::ptr::null_mut(),
    }
}

/// Frees the shadow (`obj`, `id`), if there is one.
#[no_mangle]
pub(crate) extern "C" fn splice_shadow_free(obj: *const core::ffi::c_void, id: core::ffi::c_ulong) {
    let s = {
        let mut table = SHADOWS.lock();
        match find(&table, obj as usize, id as usize) {
            Ok(i) => table.remove(i).ok(),
            Err(_) => None,
        }
    };
    drop(s);
}
