// SPDX-License-Identifier: GPL-2.0

//! Work a task runs on its way back to user space.
//!
//! C header: [`include/linux/task_work.h`](srctree/include/linux/task_work.h).

use crate::{alloc::Flags, bindings, prelude::*, task::Task};
use core::mem::MaybeUninit;

/// How the task learns that work is queued for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// The work runs the next time the task returns to user space (`TWA_RESUME`).
    Resume,
    /// The task is also sent a fake signal (`TWA_SIGNAL`): a task asleep interruptibly in the
    /// kernel wakes up, the system call it sleeps in returns as if a signal had come (and is
    /// restarted after the work if it can be, as for a signal with no handler), and the work
    /// runs on its way out. This is how livepatch moves tasks that sleep in patched code.
    Signal,
}

/// A queued closure and the `callback_head` the task's work list links.
///
/// `head` is first, so a pointer to the `callback_head` is a pointer to the node.
#[repr(C)]
struct Node<F> {
    head: MaybeUninit<bindings::callback_head>,
    f: F,
}

/// Runs the closure of the node `head` belongs to, and frees the node.
///
/// # Safety
///
/// `head` is the `head` of a `Node<F>` leaked from a `KBox` by [`add`], whose ownership the
/// task-work machinery hands over by calling this, once.
unsafe extern "C" fn run<F: FnOnce() + Send + 'static>(head: *mut bindings::callback_head) {
    // SAFETY: Per the safety requirements, this is the node `add` leaked, ours now.
    let node = unsafe { KBox::from_raw(head.cast::<Node<F>>()) };
    let Node { f, .. } = KBox::into_inner(node);
    f();
}

/// Whether `task` ever returns to user space: kernel threads and user workers (io_uring,
/// vhost) do not, so work queued on them would wait for their exit.
pub fn returns_to_user(task: &Task) -> bool {
    // SAFETY: `task` is valid; `flags` is a word of the task that may be read at any time.
    let flags = unsafe { core::ptr::read_volatile(&raw const (*task.as_ptr()).flags) };
    flags & (bindings::PF_KTHREAD | bindings::PF_USER_WORKER) == 0
}

/// Queues `f` on `task`: the task runs it, in process context with no lock held (it may
/// sleep), when it next returns to user space, or when it exits if that comes first.
///
/// Fails with `EINVAL` for a task that never returns to user space ([`returns_to_user`]),
/// with `ESRCH` if the task is exiting past the point where it runs work, and with `ENOMEM`;
/// `f` is dropped then, not run.
///
/// ```
/// use core::sync::atomic::{AtomicBool, Ordering};
/// use kernel::{sync::Arc, task_work};
///
/// // A kernel thread (this test runs in one) never returns to user space.
/// let me = kernel::current!();
/// let ran = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
/// let r = ran.clone();
/// assert!(!task_work::returns_to_user(me));
/// assert_eq!(
///     task_work::add(me, task_work::Notify::Signal, GFP_KERNEL, move || {
///         r.store(true, Ordering::Relaxed)
///     }),
///     Err(EINVAL)
/// );
/// assert!(!ran.load(Ordering::Relaxed));
/// # Ok::<(), Error>(())
/// ```
pub fn add<F: FnOnce() + Send + 'static>(
    task: &Task,
    notify: Notify,
    flags: Flags,
    f: F,
) -> Result {
    if !returns_to_user(task) {
        return Err(EINVAL);
    }
    let node = KBox::new(
        Node {
            head: MaybeUninit::uninit(),
            f,
        },
        flags,
    )?;
    let node = KBox::into_raw(node);
    let head = node.cast::<bindings::callback_head>();
    let mode = match notify {
        Notify::Resume => bindings::task_work_notify_mode_TWA_RESUME,
        Notify::Signal => bindings::task_work_notify_mode_TWA_SIGNAL,
    };
    // SAFETY: `head` is the unshared `callback_head` of the node just leaked.
    unsafe { bindings::init_task_work(head, Some(run::<F>)) };
    // SAFETY: `task` is valid. On success the task-work machinery owns the node until it
    // calls `run::<F>` with it, once, which is what `run` requires.
    let r = unsafe { bindings::task_work_add(task.as_ptr(), head, mode) };
    if r != 0 {
        // SAFETY: Queuing failed: the node is still ours, leaked by `KBox::into_raw` above.
        drop(unsafe { KBox::from_raw(node) });
        return Err(Error::from_errno(r));
    }
    Ok(())
}
