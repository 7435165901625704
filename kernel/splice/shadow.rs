// SPDX-License-Identifier: GPL-2.0

//! Shadow data: new fields attached to existing objects, for fixes that need more state than
//! the old structures hold (the model is livepatch's `kernel/livepatch/shadow.c`).
//!
//! A shadow is keyed by the object's address and an id chosen by the patch author, and belongs
//! to the pack module whose code allocated it. The shadows sit in a hash table of
//! [`BUCKETS`] singly linked chains:
//!
//! - Lookups ([`splice_shadow_get`]) walk a chain under `rcu_read_lock()` and take no lock:
//!   any context may look up, NMIs and hooks inside `stop_machine` included.
//! - Changes (allocation, freeing) take a raw spinlock with interrupts off (`shadow_lock.c`), so
//!   process, softirq and hard interrupt context may all change the table, on `PREEMPT_RT` too.
//!   Memory is allocated before the lock is taken, with the caller's flags; a constructor runs
//!   under the lock (it must not sleep), a destructor after it.
//! - A freed shadow is unlinked under the lock and its memory given back after an RCU grace
//!   period, so a lookup that found it may still read it until its read-side section ends.
//! - A pack frees only its own shadows; all of them are freed when it is reversed or unloaded
//!   ([`free_owned_by`]).

use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// How many chains the table has.
const BUCKETS: usize = 256;

/// A shadow. Only `next` changes once it is in the table (under the lock).
#[repr(C)]
struct Node {
    /// First, so that the RCU callback finds the node at the address it is given.
    rcu: Opaque<bindings::callback_head>,
    next: AtomicPtr<Node>,
    obj: usize,
    id: usize,
    owner: usize,
    data: KVec<u8>,
    /// Once unlinked, the next node to free (under the lock; `next` stays as it was, for
    /// readers still on this one).
    dead: AtomicPtr<Node>,
}

static TABLE: [AtomicPtr<Node>; BUCKETS] = [const { AtomicPtr::new(null_mut()) }; BUCKETS];

extern "C" {
    /// `kernel/splice/shadow_lock.c`: takes the table's lock with interrupts off.
    fn splice_shadow_lock() -> core::ffi::c_ulong;
    /// `kernel/splice/shadow_lock.c`: the other way.
    fn splice_shadow_unlock(flags: core::ffi::c_ulong);
}

/// The table's lock, held while this lives.
///
/// # Invariants
///
/// The lock is held, with the interrupt state before it in `flags`.
struct Locked {
    flags: core::ffi::c_ulong,
}

impl Locked {
    fn new() -> Self {
        // SAFETY: Takes the lock; `drop` releases it.
        let flags = unsafe { splice_shadow_lock() };
        // INVARIANT: Taken above.
        Self { flags }
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: Held since `new` (type invariant).
        unsafe { splice_shadow_unlock(self.flags) };
    }
}

fn bucket(obj: usize, id: usize) -> &'static AtomicPtr<Node> {
    let h = (obj >> 4) ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let h = h ^ (h >> 16) ^ (h >> 32);
    &TABLE[h % BUCKETS]
}

/// The shadow (`obj`, `id`). The caller is in an RCU read-side section or holds the lock: the
/// node stays valid until that ends.
fn find(obj: usize, id: usize) -> Option<&'static Node> {
    let mut p = bucket(obj, id).load(Ordering::Acquire);
    while !p.is_null() {
        // SAFETY: `p` was read from the table (or a node's `next`) under RCU or the lock: it is
        // a live node, freed only after a grace period that the caller's section holds off.
        let n = unsafe { &*p };
        if n.obj == obj && n.id == id {
            return Some(n);
        }
        p = n.next.load(Ordering::Acquire);
    }
    None
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

/// Frees a node unlinked from the table, after a grace period.
fn free_after_grace_period(p: *mut Node) {
    /// # Safety
    ///
    /// `head` is the `rcu` of a node made by `KBox::into_raw` and unlinked.
    unsafe extern "C" fn free_node(head: *mut bindings::callback_head) {
        // SAFETY: `rcu` is the first field of the `repr(C)` node (and `Opaque` is transparent),
        // so `head` is the node's address; it came from `KBox::into_raw` and nothing else
        // frees it.
        drop(unsafe { KBox::from_raw(head.cast::<Node>()) });
    }
    // SAFETY: `p` is a live, unlinked node; its `rcu` is used for this call only.
    unsafe { bindings::call_rcu((*p).rcu.get(), Some(free_node)) };
}

/// A constructor of the C interface: fills a new shadow; non-zero fails the allocation.
type Ctor = Option<
    unsafe extern "C" fn(
        obj: *mut core::ffi::c_void,
        data: *mut core::ffi::c_void,
        ctor_data: *mut core::ffi::c_void,
    ) -> core::ffi::c_int,
>;

/// A destructor of the C interface: releases what a shadow holds, before it is freed.
type Dtor = Option<unsafe extern "C" fn(obj: *mut core::ffi::c_void, data: *mut core::ffi::c_void)>;

/// What [`attach`] does when the shadow exists already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Existing {
    Fail,
    Return,
}

/// Attaches `size` zeroed bytes to (`obj`, `id`) for `owner`, filled by `ctor` if there is
/// one (under the lock); if the shadow exists already, returns it or fails, as `existing`
/// says.
fn attach(
    owner: usize,
    obj: usize,
    id: usize,
    size: usize,
    gfp: bindings::gfp_t,
    (ctor, ctor_data): (Ctor, *mut core::ffi::c_void),
    existing: Existing,
) -> Result<*mut u8> {
    if existing == Existing::Return {
        let _rcu = kernel::sync::rcu::read_lock();
        if let Some(n) = find(obj, id) {
            return Ok(n.data.as_ptr().cast_mut());
        }
    }
    let flags = flags_of(gfp);
    let node = KBox::new(
        Node {
            rcu: Opaque::uninit(),
            next: AtomicPtr::new(null_mut()),
            obj,
            id,
            owner,
            data: KVec::from_elem(0u8, size.max(1), flags)?,
            dead: AtomicPtr::new(null_mut()),
        },
        flags,
    )?;
    let p = KBox::into_raw(node);
    let _lock = Locked::new();
    // Made meanwhile by another caller: that one stands.
    let found = find(obj, id).map(|n| n.data.as_ptr().cast_mut());
    let failed = match found {
        Some(_) => true,
        None => ctor.is_some_and(|f| {
            // SAFETY: `ctor` is a function of the pack with the documented contract; `p` is
            // ours, not yet in the table.
            unsafe { f(obj as *mut _, (*p).data.as_mut_ptr().cast(), ctor_data) != 0 }
        }),
    };
    if failed {
        // SAFETY: `p` came from `KBox::into_raw` above and was never published.
        drop(unsafe { KBox::from_raw(p) });
        return match (found, existing) {
            (Some(d), Existing::Return) => Ok(d),
            (Some(_), Existing::Fail) => Err(EEXIST),
            (None, _) => Err(Error::from_errno(-(bindings::ECANCELED as i32))),
        };
    }
    let head = bucket(obj, id);
    // SAFETY: `p` is ours until it is published below.
    unsafe {
        (*p).next
            .store(head.load(Ordering::Relaxed), Ordering::Relaxed)
    };
    // Published whole: a lookup that sees it sees its fields.
    head.store(p, Ordering::Release);
    // SAFETY: Now in the table; freed only after a grace period, never by this caller.
    Ok(unsafe { (*p).data.as_ptr().cast_mut() })
}

/// Unlinks, under the lock, every shadow `pick` chooses (in chain `only`, or in all), and
/// frees each after `dtor` ran on it, outside the lock. Returns how many it freed.
fn detach(
    only: Option<&'static AtomicPtr<Node>>,
    mut pick: impl FnMut(&Node) -> bool,
    dtor: Dtor,
) -> usize {
    let mut gone: *mut Node = null_mut();
    {
        let _lock = Locked::new();
        let chains = match only {
            Some(head) => core::slice::from_ref(head),
            None => &TABLE[..],
        };
        for head in chains {
            let mut link = head;
            loop {
                let p = link.load(Ordering::Relaxed);
                if p.is_null() {
                    break;
                }
                // SAFETY: In the table, under the lock: live, and only unlinked under it.
                let n = unsafe { &*p };
                if pick(n) {
                    // Readers on it go on to the rest of the chain.
                    link.store(n.next.load(Ordering::Relaxed), Ordering::Release);
                    n.dead.store(gone, Ordering::Relaxed);
                    gone = p;
                } else {
                    link = &n.next;
                }
            }
        }
    }
    let mut freed = 0;
    while !gone.is_null() {
        let p = gone;
        // SAFETY: Unlinked above, so ours to free; live until its grace period.
        let n = unsafe { &*p };
        gone = n.dead.load(Ordering::Relaxed);
        if let Some(f) = dtor {
            // SAFETY: `dtor` is the caller's, with the documented contract; the data stays
            // allocated until the grace period after this.
            unsafe { f(n.obj as *mut _, n.data.as_ptr().cast_mut().cast()) };
        }
        free_after_grace_period(p);
        freed += 1;
    }
    freed
}

/// Frees every shadow that the module `owner` allocated. Called once its code can no longer
/// run (reversed or unloaded).
pub(crate) fn free_owned_by(owner: *mut bindings::module) {
    detach(None, |n| n.owner == owner as usize, None);
}

/// The pack module whose code `caller` lies in.
fn owner_of(caller: core::ffi::c_ulong, what: &str) -> Option<usize> {
    let owner = kernel::module_ref::text_owner(caller as usize);
    if owner.is_none() {
        pr_warn!("shadow {what} from {caller:#x}, which is not code of a pack\n");
    }
    owner
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
    let none = (None, null_mut());
    attach_for(caller, obj, id, size, gfp, none, Existing::Fail)
}

/// [`attach`] for the pack whose code `caller` lies in, as the C interface returns it: null
/// on any failure.
fn attach_for(
    caller: core::ffi::c_ulong,
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
    size: usize,
    gfp: bindings::gfp_t,
    ctor: (Ctor, *mut core::ffi::c_void),
    existing: Existing,
) -> *mut core::ffi::c_void {
    let Some(owner) = owner_of(caller, "allocation") else {
        return null_mut();
    };
    attach(owner, obj as usize, id as usize, size, gfp, ctor, existing)
        .map_or(null_mut(), |p| p.cast())
}

/// The shadow (`obj`, `id`), made if there is none: `size` zeroed bytes filled by `ctor` (if
/// not null) under the table's lock. Null if memory is short, `ctor` failed, or `caller` is
/// not module code.
#[no_mangle]
pub(crate) extern "C" fn __splice_shadow_get_or_alloc(
    caller: core::ffi::c_ulong,
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
    size: usize,
    gfp: bindings::gfp_t,
    ctor: Ctor,
    ctor_data: *mut core::ffi::c_void,
) -> *mut core::ffi::c_void {
    attach_for(
        caller,
        obj,
        id,
        size,
        gfp,
        (ctor, ctor_data),
        Existing::Return,
    )
}

/// The shadow (`obj`, `id`), or null. Takes no lock: any context may call it.
#[no_mangle]
pub(crate) extern "C" fn splice_shadow_get(
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
) -> *mut core::ffi::c_void {
    let _rcu = kernel::sync::rcu::read_lock();
    find(obj as usize, id as usize).map_or(null_mut(), |n| n.data.as_ptr().cast_mut().cast())
}

/// Frees the shadow (`obj`, `id`) if the pack whose code `caller` lies in owns it, after
/// `dtor` (if not null) ran on it.
#[no_mangle]
pub(crate) extern "C" fn __splice_shadow_free(
    caller: core::ffi::c_ulong,
    obj: *const core::ffi::c_void,
    id: core::ffi::c_ulong,
    dtor: Dtor,
) {
    let Some(owner) = owner_of(caller, "free") else {
        return;
    };
    let (obj, id) = (obj as usize, id as usize);
    let mut other = false;
    detach(
        Some(bucket(obj, id)),
        |n| {
            let same = n.obj == obj && n.id == id;
            other |= same && n.owner != owner;
            same && n.owner == owner
        },
        dtor,
    );
    if other {
        pr_warn!("shadow {obj:#x}/{id} belongs to another pack: not freed\n");
    }
}

/// Frees every shadow of `id` that the pack whose code `caller` lies in owns, after `dtor`
/// (if not null) ran on each.
#[no_mangle]
pub(crate) extern "C" fn __splice_shadow_free_all(
    caller: core::ffi::c_ulong,
    id: core::ffi::c_ulong,
    dtor: Dtor,
) {
    let Some(owner) = owner_of(caller, "free") else {
        return;
    };
    detach(None, |n| n.id == id as usize && n.owner == owner, dtor);
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_shadow)]
mod tests {
    use super::*;

    /// An owner no real module has.
    const OWNER: usize = 0x5;

    /// # Safety
    ///
    /// `data` has room for a `u64`; `ctor_data` points to a `u64`.
    unsafe extern "C" fn ctor_set(
        _obj: *mut core::ffi::c_void,
        data: *mut core::ffi::c_void,
        ctor_data: *mut core::ffi::c_void,
    ) -> core::ffi::c_int {
        // SAFETY: `data` has room for a `u64` (the tests ask for 8 bytes); `ctor_data` is the
        // test's counter.
        unsafe {
            *ctor_data.cast::<u64>() += 1;
            *data.cast::<u64>() = 42;
        }
        0
    }

    /// # Safety
    ///
    /// None: it only fails.
    unsafe extern "C" fn ctor_fail(
        _obj: *mut core::ffi::c_void,
        _data: *mut core::ffi::c_void,
        _ctor_data: *mut core::ffi::c_void,
    ) -> core::ffi::c_int {
        -12
    }

    fn get(obj: usize, id: usize) -> *mut u64 {
        splice_shadow_get(obj as *const _, id as core::ffi::c_ulong).cast()
    }

    fn get_or_alloc(obj: usize, id: usize, ctor: Ctor, calls: &mut u64) -> Result<*mut u64> {
        let data = (ctor, core::ptr::from_mut(calls).cast());
        attach(
            OWNER,
            obj,
            id,
            8,
            bindings::GFP_KERNEL,
            data,
            Existing::Return,
        )
        .map(|p| p.cast())
    }

    /// Allocation, lookup, a constructor that runs once, freeing by owner.
    #[test]
    fn shadows_are_made_once_and_freed_by_owner() -> Result {
        let obj = core::ptr::from_ref(&OWNER) as usize;
        assert!(get(obj, 1).is_null());
        let mut calls = 0u64;
        let a = get_or_alloc(obj, 1, Some(ctor_set), &mut calls)?;
        let b = get_or_alloc(obj, 1, Some(ctor_set), &mut calls)?;
        assert_eq!(a, b);
        assert_eq!(calls, 1);
        assert_eq!(get(obj, 1), a);
        // SAFETY: The shadow is live until freed below; the constructor wrote it.
        assert_eq!(unsafe { *a }, 42);
        // Another id is another shadow; an existing one is not made again.
        let none = (None, null_mut());
        let c = attach(OWNER, obj, 2, 8, bindings::GFP_KERNEL, none, Existing::Fail)?;
        assert_ne!(c.cast(), a);
        assert!(attach(OWNER, obj, 2, 8, bindings::GFP_KERNEL, none, Existing::Fail).is_err());
        // A failing constructor leaves nothing.
        assert!(get_or_alloc(obj, 3, Some(ctor_fail), &mut calls).is_err());
        assert!(get(obj, 3).is_null());
        // Another owner's shadows are not its to free.
        assert_eq!(detach(None, |n| n.owner == OWNER + 1, None), 0);
        assert_eq!(detach(None, |n| n.owner == OWNER, None), 2);
        assert!(get(obj, 1).is_null() && get(obj, 2).is_null());
        Ok(())
    }

    /// Lookups and changes inside `stop_machine()`, with interrupts off on every CPU (what a
    /// hook there, or a hard interrupt, sees): a lookup takes no lock, a change the lock with
    /// interrupts off, allocating with `GFP_ATOMIC`.
    #[test]
    fn shadows_work_with_interrupts_off() -> Result {
        let obj = core::ptr::from_ref(&OWNER) as usize + 1;
        let (made, found, freed) = kernel::text_patching::stop_machine(|_| {
            let none = (None, null_mut());
            let made = attach(OWNER, obj, 7, 8, bindings::GFP_ATOMIC, none, Existing::Fail);
            let found = get(obj, 7);
            let freed = detach(Some(bucket(obj, 7)), |n| n.obj == obj, None);
            (made.map(|p| p as usize), found as usize, freed)
        })?;
        assert_eq!(made?, found);
        assert_eq!(freed, 1);
        Ok(())
    }

    /// Many shadows in one chain and across chains: each is found, and freeing some leaves
    /// the others findable.
    #[test]
    fn chains_keep_every_shadow() -> Result {
        let base = core::ptr::from_ref(&OWNER) as usize + 2;
        let none = (None, null_mut());
        for i in 0..600 {
            attach(
                OWNER,
                base,
                i,
                8,
                bindings::GFP_KERNEL,
                none,
                Existing::Fail,
            )?;
        }
        assert_eq!(detach(None, |n| n.obj == base && n.id % 2 == 0, None), 300);
        for i in 0..600 {
            assert_eq!(get(base, i).is_null(), i % 2 == 0);
        }
        assert_eq!(detach(None, |n| n.obj == base, None), 300);
        Ok(())
    }
}
