// SPDX-License-Identifier: GPL-2.0

//! Changing kernel code at run time.
//!
//! Two ways to write code:
//!
//! - [`write_unreached`]: code that no CPU can run yet, for example the text of a module whose
//!   functions nothing calls yet. Uses `text_poke_copy()`.
//! - [`stop_machine`]: code that may be running. Every other online CPU is stopped with
//!   interrupts disabled while a closure runs on one CPU; the closure gets a [`Stopped`] token
//!   through which it writes code. Before the other CPUs go on, each executes a serializing
//!   instruction, so none runs stale instructions.
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
    /// Writes `bytes` at `addr` while no other CPU runs.
    ///
    /// # Safety
    ///
    /// `addr..addr + bytes.len()` is mapped kernel text or module memory that stays mapped,
    /// and the code is consistent once all writes of this stop are done: no task is in the
    /// middle of the bytes that change (the caller checked the stacks of all tasks).
    pub unsafe fn write(&self, addr: usize, bytes: &[u8]) {
        // SAFETY: `text_poke_kgdb()` is `text_poke()` for callers that ensure that no other
        // CPU runs, as `Self` proves, and that serialize with other patchers some other way:
        // `text_mutex` is held by the task that started the stop. The range is valid by the
        // safety requirements.
        unsafe {
            bindings::text_poke_kgdb(addr as *mut c_void, bytes.as_ptr().cast(), bytes.len())
        };
    }
}

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
