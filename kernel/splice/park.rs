// SPDX-License-Identifier: GPL-2.0

//! Parking: moving tasks that sleep in code about to be replaced out of it.
//!
//! A task asleep in a function the switch replaces (or reverses) blocks it: init and every
//! shell sleep in `do_wait()`, readers in `pipe_read()`, and so on, for as long as nothing
//! happens. Such a task is sent a fake signal, as livepatch does for the tasks that hold up
//! its transition: if it sleeps interruptibly it wakes, its system call returns as if a
//! signal had come, and on its way back to user space it runs the parking work, which holds
//! it there, outside any replaced code, until the switch is over (the gate opens when the
//! [`Parking`] is dropped). The system call is then restarted, as after a signal with no
//! handler, and runs the code that is current by then. A system call that reports any
//! signal as `EINTR` instead of restarting (`epoll_wait()`, `select()`) returns `EINTR`, as
//! it does for livepatch's fake signal. Kernel threads, user workers, tasks in an
//! uninterruptible sleep and the task doing the switch cannot be moved this way: they stay
//! conflicts.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::task::Task;
use kernel::task_work::{self, Notify};
use kernel::time::{delay::fsleep, Delta};

/// How long a parked task waits at most, whatever happens to the switch.
const MAX_PARK_MS: u32 = 10_000;
/// How many tasks one switch parks at most.
pub(crate) const MAX_PARKED: usize = 64;

/// Shared by the switch and the parked tasks.
struct Gate {
    open: AtomicBool,
    arrived: AtomicUsize,
}

/// The tasks parked for one switch. Dropping it lets them go.
pub(crate) struct Parking {
    gate: Arc<Gate>,
    /// The tasks the work was queued on, by address: each is parked once.
    queued: KVec<usize>,
}

impl Parking {
    /// Allocates room for [`MAX_PARKED`] tasks. Sleeps.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            gate: Arc::new(
                Gate {
                    open: AtomicBool::new(false),
                    arrived: AtomicUsize::new(0),
                },
                GFP_KERNEL,
            )?,
            queued: KVec::with_capacity(MAX_PARKED, GFP_KERNEL)?,
        })
    }

    /// How many tasks were sent the fake signal.
    pub(crate) fn queued(&self) -> usize {
        self.queued.len()
    }

    /// How many of them reached the gate.
    pub(crate) fn arrived(&self) -> usize {
        self.gate.arrived.load(Ordering::Acquire)
    }

    /// Sends `task` the fake signal, with the work that parks it. Returns whether it was
    /// newly queued: not for a task queued already, one that never returns to user space,
    /// one exiting, or past [`MAX_PARKED`]. Sleeps (allocates).
    pub(crate) fn park(&mut self, task: &Task) -> bool {
        let key = task.as_ptr() as usize;
        // The task doing the switch waits for it in the kernel: it cannot be parked.
        let me = kernel::current!().as_ptr() as usize;
        if key == me || self.queued.contains(&key) || self.queued.len() >= MAX_PARKED {
            return false;
        }
        let gate = self.gate.clone();
        let queued = task_work::add(task, Notify::Signal, GFP_KERNEL, move || {
            gate.arrived.fetch_add(1, Ordering::AcqRel);
            let mut waited = 0;
            while !gate.open.load(Ordering::Acquire) && waited < MAX_PARK_MS {
                fsleep(Delta::from_millis(1));
                waited += 1;
            }
        })
        .is_ok();
        // Capacity was reserved for MAX_PARKED, checked above.
        queued && self.queued.push_within_capacity(key).is_ok()
    }

    /// Waits until every queued task has reached the gate, at most `ms` milliseconds.
    pub(crate) fn wait_arrived(&self, ms: u32) {
        let mut waited = 0;
        while self.arrived() < self.queued() && waited < ms {
            fsleep(Delta::from_millis(1));
            waited += 1;
        }
    }
}

impl Drop for Parking {
    fn drop(&mut self) {
        // The parked tasks go on; those still on their way pass the open gate.
        self.gate.open.store(true, Ordering::Release);
    }
}
