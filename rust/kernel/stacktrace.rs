// SPDX-License-Identifier: GPL-2.0

//! Tasks and their kernel stacks: visiting every task, reliable stack traces, and scanning a
//! stack word by word.
//!
//! C headers: [`include/linux/stacktrace.h`](srctree/include/linux/stacktrace.h),
//! [`include/linux/sched/task_stack.h`](srctree/include/linux/sched/task_stack.h).

use crate::{bindings, ffi::c_void, prelude::*, task::Task};
use core::ops::ControlFlow;

/// Calls `f` for every thread of every process, then for the idle task of every online CPU,
/// until `f` breaks. Runs under `rcu_read_lock()`: `f` must not sleep.
///
/// ```
/// use core::ops::ControlFlow;
/// use kernel::stacktrace;
///
/// let (mut tasks, mut init) = (0, false);
/// stacktrace::for_each_task(|t| {
///     tasks += 1;
///     init |= t.pid() == 1;
///     ControlFlow::Continue(())
/// });
/// assert!(init && tasks > 2);
/// ```
pub fn for_each_task<F: FnMut(&Task) -> ControlFlow<()>>(mut f: F) {
    /// # Safety
    ///
    /// `data` is the closure the enclosing function passed with this callback.
    unsafe extern "C" fn trampoline<F: FnMut(&Task) -> ControlFlow<()>>(
        t: *mut bindings::task_struct,
        data: *mut c_void,
    ) -> i32 {
        // SAFETY: `data` is the `&mut F` passed below, live during the iteration.
        let f = unsafe { &mut *data.cast::<F>() };
        // SAFETY: The helper passes a task that stays valid under `rcu_read_lock()`, which it
        // holds during the call. `Task` is a transparent wrapper of `task_struct`.
        let task = unsafe { &*t.cast::<Task>() };
        match f(task) {
            ControlFlow::Continue(()) => 0,
            ControlFlow::Break(()) => 1,
        }
    }
    // SAFETY: `trampoline::<F>` matches the callback type and uses `data` only as the `F`.
    unsafe { bindings::for_each_task(Some(trampoline::<F>), (&raw mut f).cast()) };
}

/// The command name of `task`.
pub fn comm(task: &Task) -> [u8; 16] {
    let mut out = [0u8; 16];
    // SAFETY: `task` is valid; `comm` is an inline array of `TASK_COMM_LEN` bytes. A concurrent
    // rename can at worst mix two names, as with `%s` of `current->comm`.
    let comm = unsafe { &(*task.as_ptr()).comm };
    for (o, c) in out.iter_mut().zip(comm.iter()) {
        *o = *c;
    }
    out
}

/// Whether `task` is running on a CPU right now.
pub fn is_on_cpu(task: &Task) -> bool {
    // SAFETY: `task` is valid.
    unsafe { bindings::task_curr(task.as_ptr()) != 0 }
}

/// Whether `task` is on a CPU or being switched in or out (`on_cpu`), with acquire ordering:
/// what the task did before it left its CPU is visible once this reads `false`.
pub fn on_cpu(task: &Task) -> bool {
    // SAFETY: `task` is valid; `on_cpu` is an `int` the scheduler writes with release
    // ordering when the task leaves its CPU.
    let v = unsafe { core::ptr::read_volatile(&raw const (*task.as_ptr()).on_cpu) };
    core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
    v != 0
}

/// How many times `task` left a CPU (voluntary and involuntary context switches). A task
/// whose count did not change and that is not [`on_cpu`] has not run in between, so its
/// stack did not change.
///
/// ```
/// use kernel::stacktrace;
///
/// let me = kernel::current!();
/// let before = stacktrace::switch_count(me);
/// // A sleep whose timer has expired by the time the task would leave its CPU (TCG's
/// // clock jumps) returns without a switch: sleep until one happens, 100 times at most.
/// for _ in 0..100 {
///     kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
///     if stacktrace::switch_count(me) != before {
///         break;
///     }
/// }
/// assert!(stacktrace::switch_count(me) > before);
/// ```
pub fn switch_count(task: &Task) -> u64 {
    // SAFETY: `task` is valid; the counters are `unsigned long`s the scheduler increments.
    let (v, i) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*task.as_ptr()).nvcsw),
            core::ptr::read_volatile(&raw const (*task.as_ptr()).nivcsw),
        )
    };
    core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
    (v as u64).wrapping_add(i as u64)
}

/// Fills `buf` with the return addresses on `task`'s kernel stack, innermost first, and
/// returns how many there are. Fails if the stack cannot be walked reliably: the task is
/// running, an interrupt or exception frame is on the stack, the unwinder lost track, or
/// `buf` is too small.
pub fn save_reliable(task: &Task, buf: &mut [usize]) -> Result<usize> {
    let size = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
    // SAFETY: `task` is valid; `buf` has room for `size` entries.
    let n = unsafe {
        bindings::stack_trace_save_tsk_reliable(task.as_ptr(), buf.as_mut_ptr().cast(), size)
    };
    if n < 0 {
        return Err(Error::from_errno(n));
    }
    let n = n as usize;
    // A full buffer may mean a truncated trace.
    if n >= buf.len() {
        return Err(E2BIG);
    }
    Ok(n)
}

/// Fills `buf` with the return addresses of the current task's kernel stack, from the caller
/// of this function outward, and returns how many there are (at most `buf.len()`: a trace
/// longer than that is cut at its outer end). Not for interrupt context: the walk starts on
/// the task's stack.
///
/// ```
/// use kernel::{kallsyms, stacktrace};
///
/// let mut buf = [0usize; 64];
/// let n = stacktrace::save_current(&mut buf);
/// // This doctest runs from a KUnit kthread: its stack ends in kthread().
/// let kthread = kallsyms::lookup_name(c"kthread").ok_or(ENOENT)?;
/// let (size, _) = kallsyms::size_offset(kthread).ok_or(ENOENT)?;
/// assert!(buf[..n].iter().any(|&a| (kthread..kthread + size).contains(&a)));
/// # Ok::<(), Error>(())
/// ```
pub fn save_current(buf: &mut [usize]) -> usize {
    let size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
    // SAFETY: `buf` has room for `size` entries; the walk is of the current task's own stack.
    let n = unsafe { bindings::stack_trace_save(buf.as_mut_ptr().cast(), size, 0) };
    (n as usize).min(buf.len())
}

/// A word of a task's stack, as [`for_each_live_stack_word`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackWord {
    /// A word, or the return address that function_graph or a rethook (kretprobes, fprobe
    /// exit handlers) took off the stack and left its trampoline for.
    Word(usize),
    /// The trampoline of function_graph or a rethook, whose return address cannot be found:
    /// what the task returns into is unknown.
    Hidden,
}

/// Calls `f` with every word of the live part of `task`'s kernel stack, from its saved stack
/// pointer to the top, conservatively: return addresses, saved registers of interrupted code
/// and stale data alike; a return address that function_graph or a rethook moved off the
/// stack is given as the address it keeps, or [`StackWord::Hidden`]. Fails with `ESRCH` if
/// the task no longer has a stack.
///
/// The task must not be running (its saved stack pointer is only meaningful then), and its
/// stack must not change during the scan.
#[cfg(CONFIG_X86)]
pub fn for_each_live_stack_word(task: &Task, mut f: impl FnMut(StackWord)) -> Result {
    // SAFETY: `task` is valid.
    let base = unsafe { bindings::try_get_task_stack(task.as_ptr()) };
    if base.is_null() {
        return Err(ESRCH);
    }
    let base = base as usize;
    let top = base + bindings::THREAD_SIZE;
    // SAFETY: `task` is valid; `thread.sp` is the stack pointer saved when it last stopped.
    let sp = unsafe { (*task.as_ptr()).thread.sp };
    let word = core::mem::size_of::<usize>();
    let start = if (base..top).contains(&sp) {
        sp & !(word - 1)
    } else {
        base
    };
    let mut at = start;
    let mut scan = ReturnScan::default();
    while at + word <= top {
        // SAFETY: `at` is an aligned word inside the task's stack, which is mapped and pinned
        // by `try_get_task_stack()`.
        let w = unsafe { core::ptr::read_volatile(at as *const usize) };
        f(scan.return_of(task, w, at));
        at += word;
    }
    // SAFETY: Pairs with the successful `try_get_task_stack()` above.
    unsafe { bindings::put_task_stack(task.as_ptr()) };
    Ok(())
}

/// The state of a scan of a stack for return addresses that function_graph and rethooks
/// moved off it (the unwinder keeps the same).
#[derive(Default)]
pub struct ReturnScan {
    graph_idx: i32,
    rethook_cur: usize,
}

impl ReturnScan {
    /// What the word `w` at address `at` of `task`'s stack stands for, words taken from the
    /// innermost out.
    ///
    /// ```
    /// use kernel::{current, kallsyms, stacktrace::{ReturnScan, StackWord}};
    ///
    /// let task = current!();
    /// let mut scan = ReturnScan::default();
    /// assert_eq!(scan.return_of(task, 0x1234, 0), StackWord::Word(0x1234));
    /// // A trampoline no return address was taken for: what it stands for is unknown.
    /// if let Some(tramp) = kallsyms::lookup_name(c"return_to_handler") {
    ///     let slot = 0usize;
    ///     let at = &raw const slot as usize;
    ///     assert_eq!(scan.return_of(task, tramp, at), StackWord::Hidden);
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn return_of(&mut self, task: &Task, w: usize, at: usize) -> StackWord {
        let mut cur = self.rethook_cur as *mut c_void;
        // SAFETY: `task` is valid; `at` is only compared with the addresses function_graph
        // and rethooks recorded, never dereferenced; the state is this scan's.
        let r = unsafe {
            bindings::stack_return_of(
                task.as_ptr(),
                w,
                at as *mut crate::ffi::c_ulong,
                &mut self.graph_idx,
                &mut cur,
            )
        };
        self.rethook_cur = cur as usize;
        match r {
            0 if w != 0 => StackWord::Hidden,
            r => StackWord::Word(r),
        }
    }
}
