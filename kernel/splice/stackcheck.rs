// SPDX-License-Identifier: GPL-2.0

//! The safety check: is any task inside code that is about to be replaced?
//!
//! Runs with every other CPU stopped. Each task's stack is walked with the reliable unwinder;
//! a return address in one of the ranges is a conflict. A stack the unwinder cannot walk
//! reliably (a task preempted in the kernel has an interrupt frame on it) is scanned word by
//! word from its saved stack pointer up, as Ksplice did: the interrupted instruction pointer
//! and every return address are among those words, so a scan that finds nothing in the ranges
//! proves the task is not in them. Tasks running on a CPU are the CPU stoppers themselves.

use kernel::prelude::*;
use kernel::{stacktrace, task::Task};

/// A range of code, and the name of the function it belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) name: &'static CStr,
}

/// A task found inside one of the ranges.
#[derive(Clone, Copy)]
pub(crate) struct Conflict {
    pub(crate) comm: [u8; 16],
    pub(crate) pid: i32,
    pub(crate) name: &'static CStr,
    pub(crate) addr: usize,
}

/// At most this many conflicts are recorded; the count of all is kept.
pub(crate) const MAX_CONFLICTS: usize = 16;
/// Frames taken from a reliable walk.
pub(crate) const MAX_FRAMES: usize = 64;

/// Buffers allocated before the stop, where allocating is allowed.
pub(crate) struct Scratch {
    frames: KVec<usize>,
    pub(crate) conflicts: KVec<Conflict>,
    /// How many tasks conflict (including those not recorded).
    pub(crate) busy: usize,
    /// How many stacks were scanned word by word.
    pub(crate) scanned: usize,
}

impl Scratch {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            frames: KVec::from_elem(0usize, MAX_FRAMES, GFP_KERNEL)?,
            conflicts: KVec::with_capacity(MAX_CONFLICTS, GFP_KERNEL)?,
            busy: 0,
            scanned: 0,
        })
    }
}

fn hit(ranges: &[Range], addr: usize) -> Option<&Range> {
    ranges.iter().find(|r| r.start <= addr && addr < r.end)
}

fn note(s: &mut Scratch, task: &Task, range: &Range, addr: usize) {
    s.busy += 1;
    // Capacity was reserved before the stop, so this does not allocate.
    let _ = s.conflicts.push_within_capacity(Conflict {
        comm: stacktrace::comm(task),
        pid: task.pid(),
        name: range.name,
        addr,
    });
}

/// Checks every task against `ranges`. Must run with every other CPU stopped.
pub(crate) fn check(_stopped: &kernel::text_patching::Stopped, ranges: &[Range], s: &mut Scratch) {
    s.conflicts.clear();
    s.busy = 0;
    s.scanned = 0;
    stacktrace::for_each_task(|task| {
        if stacktrace::is_on_cpu(task) {
            return core::ops::ControlFlow::Continue(());
        }
        match stacktrace::save_reliable(task, &mut s.frames) {
            Ok(n) => {
                let found = s.frames[..n]
                    .iter()
                    .find_map(|&a| hit(ranges, a).map(|r| (*r, a)));
                if let Some((r, a)) = found {
                    note(s, task, &r, a);
                }
            }
            Err(_) => {
                s.scanned += 1;
                let mut found = None;
                let _ = stacktrace::for_each_live_stack_word(task, |w| {
                    if found.is_none() {
                        found = hit(ranges, w).map(|r| (*r, w));
                    }
                });
                if let Some((r, a)) = found {
                    note(s, task, &r, a);
                }
            }
        }
        core::ops::ControlFlow::Continue(())
    });
}
