// SPDX-License-Identifier: GPL-2.0

//! Changing kernel code at run time.
//!
//! Two ways to write code:
//!
//! - [`write_unreached`]: code that no CPU can run yet, for example the text of a module whose
//!   functions nothing calls yet. Uses `text_poke_copy()`.
//! - [`stop_machine`]: code that may be running. Every other online CPU is stopped with
//!   interrupts disabled while a closure runs on one CPU; the closure gets a [`Stopped`] token
//!   through which it writes code, through [`TextAlias`]es mapped beforehand (mapping may
//!   sleep; the kernel's `text_poke()` takes a sleeping lock for module text). Before the
//!   other CPUs go on, each executes a serializing instruction, so none runs stale
//!   instructions.
//!
//! Both serialize with the kernel's other code patchers (ftrace, jump labels, static calls,
//! kprobes) through `text_mutex`.
//!
//! C headers: [`arch/x86/include/asm/text-patching.h`](srctree/arch/x86/include/asm/text-patching.h),
//! [`include/linux/stop_machine.h`](srctree/include/linux/stop_machine.h).

use crate::{bindings, ffi::c_void, prelude::*};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Writes `bytes` at `addr`, in code that no CPU runs or can reach yet.
///
/// # Safety
///
/// `addr..addr + bytes.len()` is mapped kernel or module memory that stays mapped during the
/// call (for a module: the module cannot go away), and no CPU executes or reads it
/// concurrently in a way the write could break.
pub unsafe fn write_unreached(addr: usize, bytes: &[u8]) {
    // SAFETY: By the safety requirements; `text_poke_copy()` takes `text_mutex` itself and maps
    // the pages through a private mm, so write protection is respected.
    unsafe { bindings::text_poke_copy(addr as *mut c_void, bytes.as_ptr().cast(), bytes.len()) };
}

/// Proof that every other CPU is stopped with interrupts disabled and that `text_mutex` is held
/// on behalf of the current patcher. Only [`stop_machine`] makes one.
pub struct Stopped {
    _private: (),
}

impl Stopped {
    /// Writes `bytes` through `alias`, while no other CPU runs, and serializes this CPU. The
    /// sizes agree by type, so the write cannot fail halfway through a stop.
    ///
    /// # Safety
    ///
    /// The code is consistent once all writes of this stop are done: no task is in the middle
    /// of the bytes that change (the caller checked the stacks of all tasks).
    pub unsafe fn write<const N: usize>(&self, alias: &TextAlias<N>, bytes: &[u8; N]) {
        // SAFETY: By the type invariants of `TextAlias`, `base + offset` maps `N` bytes of the
        // text writably and stays mapped while `alias` lives; no other CPU runs, as `Self`
        // proves, and `text_mutex` keeps the kernel's other patchers out.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                alias.base.as_ptr().add(alias.offset),
                N,
            );
            bindings::sync_core();
        }
    }
}

/// A writable alias of `N` bytes of kernel or module text, made before [`stop_machine`]
/// (mapping pages may sleep), written through [`Stopped::write`], unmapped when dropped.
///
/// ```
/// use kernel::{kallsyms, text_patching::{self, TextAlias}};
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// let mut now = [0u8; 4];
/// text_patching::read(addr, &mut now)?;
/// let alias = TextAlias::<4>::new(addr)?;
/// // Writing the same bytes changes nothing.
/// text_patching::stop_machine(|stopped| {
///     // SAFETY: The code does not change.
///     unsafe { stopped.write(&alias, &now) }
/// })?;
/// let mut after = [0u8; 4];
/// text_patching::read(addr, &mut after)?;
/// assert_eq!(now, after);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `base` is the start of a `vmap()` mapping, writable, of the one or two pages that hold
/// `N` bytes of text from `offset` on; it is unmapped only by `drop`.
pub struct TextAlias<const N: usize> {
    base: core::ptr::NonNull<u8>,
    offset: usize,
}

impl<const N: usize> TextAlias<N> {
    /// Maps the `N` (1 to a page) bytes of text at `addr`. The text must stay mapped while the
    /// alias lives (vmlinux text, or a module kept loaded).
    pub fn new(addr: usize) -> Result<Self> {
        const PAGE: usize = crate::page::PAGE_SIZE;
        if N == 0 || N > PAGE {
            return Err(EINVAL);
        }
        let first = addr & !(PAGE - 1);
        let last = (addr + N - 1) & !(PAGE - 1);
        let count = if first == last { 1 } else { 2 };
        let mut pages = [core::ptr::null_mut(); 2];
        for (i, p) in pages.iter_mut().take(count).enumerate() {
            // SAFETY: Looking up the page of an address has no preconditions; an address that
            // is not text gives a null page or a page of no interest, refused below.
            *p = unsafe { bindings::text_alias_page((first + i * PAGE) as crate::ffi::c_ulong) };
            if p.is_null() {
                return Err(EFAULT);
            }
        }
        // SAFETY: `pages` holds `count` valid pages.
        let base = unsafe { bindings::text_alias_vmap(pages.as_mut_ptr(), count as u32) };
        let base = core::ptr::NonNull::new(base.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `base` maps the pages of `first..`, writable, and `N` bytes from
        // `addr - first` lie in them.
        Ok(Self {
            base,
            offset: addr - first,
        })
    }
}

impl<const N: usize> Drop for TextAlias<N> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `base` comes from `vmap()` and is unmapped only here.
        unsafe { bindings::text_alias_vunmap(self.base.as_ptr().cast()) };
    }
}

// SAFETY: The alias is a mapping owned by this object; it may be used and dropped on any CPU
// (dropping sleeps, which `stop_machine` callers do not do: they drop it afterwards).
unsafe impl<const N: usize> Send for TextAlias<N> {}

// SAFETY: Writing needs a `Stopped`, which only one CPU has at a time.
unsafe impl<const N: usize> Sync for TextAlias<N> {}

struct StopData<F, T> {
    work: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<T>>,
    master: AtomicI32,
    done: AtomicBool,
}

/// # Safety
///
/// `data` is the `StopData<F, T>` of a running [`stop_machine`].
unsafe extern "C" fn stop_fn<F: FnOnce(&Stopped) -> T, T>(data: *mut c_void) -> i32 {
    // SAFETY: `data` is the `StopData` that `stop_machine` keeps alive until all CPUs left
    // this function.
    let d = unsafe { &*data.cast::<StopData<F, T>>() };
    // SAFETY: Called from the CPU stopper, with preemption disabled.
    let cpu = unsafe { bindings::raw_smp_processor_id() } as i32;
    if d.master
        .compare_exchange(-1, cpu, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // SAFETY: Only the one CPU that won the exchange above touches `work` and `result`;
        // the others wait for `done` before `stop_machine` reads `result`.
        let (work, result) = unsafe { (&mut *d.work.get(), &mut *d.result.get()) };
        if let Some(f) = work.take() {
            *result = Some(f(&Stopped { _private: () }));
        }
        d.done.store(true, Ordering::Release);
    } else {
        while !d.done.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        // SAFETY: `sync_core()` only executes a serializing instruction.
        unsafe { bindings::sync_core() };
    }
    0
}

/// Runs `f` on one CPU while every other online CPU waits with interrupts disabled, and
/// returns its result. `f` must not sleep.
///
/// Holds the CPU hotplug lock and `text_mutex` around the stop, in the order the kernel's other
/// code patchers take them.
///
/// # Examples
///
/// ```
/// use kernel::text_patching::stop_machine;
///
/// let answer = stop_machine(|_stopped| 6 * 7)?;
/// assert_eq!(answer, 42);
/// # Ok::<(), Error>(())
/// ```
pub fn stop_machine<F: FnOnce(&Stopped) -> T + Send, T: Send>(f: F) -> Result<T> {
    let data = StopData {
        work: UnsafeCell::new(Some(f)),
        result: UnsafeCell::new(None),
        master: AtomicI32::new(-1),
        done: AtomicBool::new(false),
    };
    // SAFETY: Plain lock calls; released below in reverse order. The hotplug lock is taken
    // first, as `static_key_enable()` and ftrace do.
    unsafe {
        bindings::cpus_read_lock();
        bindings::mutex_lock(&raw mut bindings::text_mutex);
    }
    // SAFETY: `stop_fn::<F, T>` matches `cpu_stop_fn_t`; `data` outlives the call, which
    // returns only after every CPU left `stop_fn`. The hotplug lock is held, as
    // `stop_machine_cpuslocked()` requires, so the online mask does not change.
    let ret = unsafe {
        bindings::stop_machine_cpuslocked(
            Some(stop_fn::<F, T>),
            (&raw const data).cast_mut().cast(),
            &raw const bindings::__cpu_online_mask,
        )
    };
    // SAFETY: Taken above.
    unsafe {
        bindings::mutex_unlock(&raw mut bindings::text_mutex);
        bindings::cpus_read_unlock();
    }
    crate::error::to_result(ret)?;
    data.result.into_inner().ok_or(EINVAL)
}

/// Copies the kernel memory at `addr` into `buf`; fails with `EFAULT`, without an oops, if
/// any of it is not mapped.
///
/// ```
/// use kernel::{kallsyms, text_patching};
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// let mut code = [0u8; 4];
/// text_patching::read(addr, &mut code)?;
/// assert!(text_patching::read(0, &mut code).is_err());
/// # Ok::<(), Error>(())
/// ```
pub fn read(addr: usize, buf: &mut [u8]) -> Result {
    // SAFETY: `buf` is valid for writes of its length; the source is checked by the fault
    // handler, so any address is allowed.
    let ret = unsafe {
        bindings::copy_from_kernel_nofault(
            buf.as_mut_ptr().cast(),
            addr as *const c_void,
            buf.len(),
        )
    };
    if ret != 0 {
        return Err(EFAULT);
    }
    Ok(())
}
