// SPDX-License-Identifier: GPL-2.0

//! The safety check: is any task inside code that is about to be replaced?
//!
//! Runs with every other CPU stopped. Each task's stack is walked with the reliable unwinder;
//! a return address in one of the ranges is a conflict. A stack the unwinder cannot walk
//! reliably (a task preempted in the kernel has an interrupt frame on it) is scanned word by
//! word from its saved stack pointer up, as Ksplice did: the interrupted instruction pointer
//! and every return address are among those words, so a scan that finds nothing in the ranges
//! proves the task is not in them. A return address that function_graph or a rethook
//! (kretprobes, fprobe exit handlers) took off the stack is looked up where they keep it; one
//! that cannot be found makes the task a conflict: its stack cannot be proven clear. Tasks
//! running on a CPU are the CPU stoppers themselves: where they go on is checked by the commit
//! (`kernel::text_patching::Committing::resume_addresses`), not here.
//!
//! The task that asked for the action (it wrote `stage`) waits for it inside its `write()`:
//! the frames of that system call from where it entered splice outward
//! (`kernfs_fop_write_iter()`, `vfs_write()`, ...) are recorded when it enters
//! ([`Requester`]) and are not conflicts. Once the action is over the task returns through
//! them: for a function the action replaced, through the rest of its old code, once, for this
//! write; every later call runs the new code. Without this, a fix to the write path could
//! never be applied. A frame whose return lies in the bytes a jump overwrites is still one.
//!
//! To keep the stop short, every stack is walked first while tasks run ([`precheck`]); inside
//! the stop only the tasks that ran since (their context-switch count moved) are walked
//! again: a task that has not run has the stack that was walked.

use crate::pack::Pack;
use core::ops::ControlFlow;
use kernel::prelude::*;
use kernel::stacktrace::StackWord;
use kernel::sync::aref::ARef;
use kernel::{stacktrace, task::Task, task_work};

/// What a range of code or a conflict is in, named when it is shown ([`Label::name`]): nothing
/// read of a pack's blob is kept past the borrow of the pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// The function the pack's target of this index replaces, or its replacement.
    Target(usize),
    /// Code of the pack's module.
    Pack,
    /// Code of the kernel, known by name.
    Kernel(&'static CStr),
}

impl Label {
    /// The name, read from `pack` for the pack's own code.
    pub(crate) fn name<'p>(self, pack: &Pack<'p>) -> &'p CStr {
        match self {
            Label::Target(i) => pack.target_name(i),
            Label::Pack => pack.name(),
            Label::Kernel(name) => name,
        }
    }
}

/// A range of code, and the function it belongs to.
#[derive(Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) name: Label,
    /// The bytes the action writes in it (a jump site), or an empty range.
    pub(crate) written: (usize, usize),
}

/// The task that asked for the action, and the return addresses of its system call from where
/// it entered splice outward: see the module documentation.
pub(crate) struct Requester {
    task: usize,
    /// Innermost first, as a walk gives them.
    path: KVec<usize>,
}

impl Requester {
    /// The current task, with the return addresses of its stack as it is now. Sleeps
    /// (allocates).
    pub(crate) fn current() -> Result<Self> {
        let mut path = KVec::from_elem(0usize, MAX_FRAMES, GFP_KERNEL)?;
        let n = stacktrace::save_current(&mut path);
        // A full buffer may be a cut trace, whose outer end would not be the path's: nothing is
        // set apart then.
        path.truncate(if n < MAX_FRAMES { n } else { 0 });
        Ok(Self {
            task: kernel::current!().as_ptr() as usize,
            path,
        })
    }

    /// How many of `frames` (a walk of the task's stack, innermost first) are not its write
    /// path: those before the frames it shares at the outer end with the path recorded when it
    /// entered. The frame where it entered splice differs, so the path is the system call's
    /// alone.
    fn own(&self, frames: &[usize]) -> usize {
        let shared = frames
            .iter()
            .rev()
            .zip(self.path.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        frames.len() - shared
    }
}

/// A task found inside one of the ranges.
#[derive(Clone, Copy)]
pub(crate) struct Conflict {
    pub(crate) comm: [u8; 16],
    pub(crate) pid: i32,
    pub(crate) name: Label,
    pub(crate) addr: usize,
}

/// At most this many conflicts are recorded; the count of all is kept.
pub(crate) const MAX_CONFLICTS: usize = 16;
/// Frames taken from a reliable walk.
pub(crate) const MAX_FRAMES: usize = 64;

/// A task whose stack a walk before the stop found clear of the ranges, and how many times
/// it had left a CPU then.
#[derive(Clone, Copy)]
struct Clean {
    task: usize,
    pid: i32,
    switches: u64,
}

/// Buffers allocated before the stop, where allocating is allowed.
pub(crate) struct Scratch {
    frames: KVec<usize>,
    pub(crate) conflicts: KVec<Conflict>,
    /// How many tasks conflict (including those not recorded).
    pub(crate) busy: usize,
    /// How many stacks were scanned word by word.
    pub(crate) scanned: usize,
    /// Tasks found clear before the stop, sorted by task.
    clean: KVec<Clean>,
    /// How many stacks the last check inside the stop walked.
    pub(crate) walked: usize,
    /// Conflicting tasks [`precheck`] found that return to user space: those
    /// [`crate::park`] can move out of the code.
    pub(crate) parkable: KVec<ARef<Task>>,
    /// The task that asked for the action.
    requester: Option<Requester>,
}

impl Scratch {
    pub(crate) fn new(requester: Option<Requester>) -> Result<Self> {
        Ok(Self {
            frames: KVec::from_elem(0usize, MAX_FRAMES, GFP_KERNEL)?,
            conflicts: KVec::with_capacity(MAX_CONFLICTS, GFP_KERNEL)?,
            busy: 0,
            scanned: 0,
            clean: KVec::new(),
            walked: 0,
            parkable: KVec::with_capacity(crate::park::MAX_PARKED, GFP_KERNEL)?,
            requester,
        })
    }

    fn reset(&mut self) {
        self.conflicts.clear();
        self.parkable.clear();
        self.busy = 0;
        self.scanned = 0;
        self.walked = 0;
    }
}

/// What a conflict names when a task's stack holds a return address that function_graph or a
/// rethook (kretprobe, fprobe exit handler) moved off it and that cannot be found.
const HIDDEN: Range = Range {
    start: 0,
    end: 0,
    name: Label::Kernel(c"(a return address held by function_graph or a kretprobe)"),
    written: (0, 0),
};

pub(crate) fn hit(ranges: &[Range], addr: usize) -> Option<&Range> {
    ranges.iter().find(|r| r.start <= addr && addr < r.end)
}

/// The range whose written bytes hold `addr`: a return there would run half of a jump.
fn hit_written(ranges: &[Range], addr: usize) -> Option<&Range> {
    ranges
        .iter()
        .find(|r| r.written.0 <= addr && addr < r.written.1)
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

/// Where on `task`'s stack a return address (or, for a stack that cannot be walked reliably,
/// any word) lies in one of `ranges`.
fn find(task: &Task, ranges: &[Range], s: &mut Scratch) -> Option<(Range, usize)> {
    match stacktrace::save_reliable(task, &mut s.frames) {
        Ok(n) => {
            let frames = &s.frames[..n];
            let own = match &s.requester {
                Some(r) if r.task == task.as_ptr() as usize => r.own(frames),
                _ => n,
            };
            let (own, path) = frames.split_at(own);
            own.iter()
                .find_map(|&a| hit(ranges, a).map(|r| (*r, a)))
                .or_else(|| {
                    path.iter()
                        .find_map(|&a| hit_written(ranges, a).map(|r| (*r, a)))
                })
        }
        Err(_) => {
            s.scanned += 1;
            let mut found = None;
            let _ = stacktrace::for_each_live_stack_word(task, |w| {
                if found.is_some() {
                    return;
                }
                found = match w {
                    StackWord::Word(w) => hit(ranges, w).map(|r| (*r, w)),
                    // A return address function_graph or a rethook holds and that cannot be
                    // found: the stack cannot be proven clear of the ranges.
                    StackWord::Hidden => Some((HIDDEN, 0)),
                };
            });
            found
        }
    }
}

/// Walks every task's stack before the stop, while tasks run: those in `ranges` are
/// conflicts already (the caller need not stop the machine); those found clear, and which
/// did not run during their walk, are remembered, so that the check inside the stop only
/// walks the tasks that ran since. Sleeps (allocates); not inside the stop.
pub(crate) fn precheck(ranges: &[Range], s: &mut Scratch) -> Result {
    s.reset();
    // Room for every task, and some that may be created meanwhile; more are walked inside
    // the stop, which is always correct.
    let mut tasks = 0usize;
    stacktrace::for_each_task(|_| {
        tasks += 1;
        ControlFlow::Continue(())
    });
    let want = tasks + 64;
    s.clean.clear();
    s.clean.reserve(want, GFP_KERNEL)?;
    stacktrace::for_each_task(|task| {
        if stacktrace::on_cpu(task) {
            return ControlFlow::Continue(());
        }
        let before = stacktrace::switch_count(task);
        let found = find(task, ranges, s);
        // A task that ran during its walk may have been walked inconsistently: its result
        // is not used; the check inside the stop walks it again. The reads of its stack come
        // before those of its state below (pairs with the scheduler's release of `on_cpu`).
        kernel::sync::barrier::smp_rmb();
        let steady = !stacktrace::on_cpu(task) && stacktrace::switch_count(task) == before;
        match found {
            Some((r, a)) if steady => {
                note(s, task, &r, a);
                if task_work::returns_to_user(task) {
                    // Capacity was reserved: this does not allocate. Taking a reference is
                    // allowed under RCU; it is dropped outside, where the scratch is reset.
                    let _ = s.parkable.push_within_capacity(ARef::from(task));
                }
            }
            None if steady => {
                let _ = s.clean.push_within_capacity(Clean {
                    task: task.as_ptr() as usize,
                    pid: task.pid(),
                    switches: before,
                });
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    s.clean.sort_unstable_by_key(|c| c.task);
    Ok(())
}

/// Whether `task` was found clear before the stop and has not run since.
fn still_clean(s: &Scratch, task: &Task) -> bool {
    let at = task.as_ptr() as usize;
    match s.clean.binary_search_by_key(&at, |c| c.task) {
        Ok(i) => {
            let c = s.clean[i];
            c.pid == task.pid()
                && !stacktrace::on_cpu(task)
                && stacktrace::switch_count(task) == c.switches
        }
        Err(_) => false,
    }
}

/// Checks every task against `ranges`. Must run with every other CPU stopped. Tasks that
/// [`precheck`] found clear and that have not run since keep the stack it walked; the others
/// are walked now.
pub(crate) fn check(_stopped: &kernel::text_patching::Stopped, ranges: &[Range], s: &mut Scratch) {
    s.conflicts.clear();
    s.busy = 0;
    s.walked = 0;
    stacktrace::for_each_task(|task| {
        if stacktrace::is_on_cpu(task) || still_clean(s, task) {
            return ControlFlow::Continue(());
        }
        s.walked += 1;
        if s.walked % 64 == 0 {
            // Many tasks may have run since the precheck; walking them is not a lockup.
            kernel::text_patching::touch_nmi_watchdog();
        }
        if let Some((r, a)) = find(task, ranges, s) {
            note(s, task, &r, a);
        }
        ControlFlow::Continue(())
    });
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_stackcheck)]
mod tests {
    use super::*;
    use kernel::kallsyms;

    /// The range of the function named `name`, its first five bytes written.
    fn range_of(name: &'static CStr) -> Result<Range> {
        let start = kallsyms::lookup_name(name).ok_or(ENOENT)?;
        let (size, _) = kallsyms::size_offset(start).ok_or(ENOENT)?;
        Ok(Range {
            start,
            end: start + size,
            name: Label::Kernel(name),
            written: (start, start + 5),
        })
    }

    /// The task that asked for an action returns through its system call's frames (here, a
    /// KUnit thread's: `kthread()`); those are not conflicts for it, and are for any other
    /// task, or when a return lies in the bytes a jump overwrites.
    #[test]
    fn the_requesters_own_path_is_not_a_conflict() -> Result {
        let me = kernel::current!();
        let kthread = range_of(c"kthread")?;
        let mut s = Scratch::new(None)?;
        let found = find(me, &[kthread], &mut s);
        // Nobody asked: kthread() is on this task's stack like on any other's.
        assert!(matches!(found, Some((r, _)) if r.start == kthread.start));
        let mut s = Scratch::new(Some(Requester::current()?))?;
        assert!(find(me, &[kthread], &mut s).is_none());
        // A return into the middle of the jump is a conflict all the same.
        let whole = Range {
            written: (kthread.start, kthread.end),
            ..kthread
        };
        assert!(find(me, &[whole], &mut s).is_some());
        Ok(())
    }
}
