// SPDX-License-Identifier: GPL-2.0

//! Changing kernel code at run time.
//!
//! Two ways to write code:
//!
//! - [`write_unreached`]: code that no CPU can run yet, for example the text of a module whose
//!   functions nothing calls yet. Uses `text_poke_copy()`.
//! - [`stop_machine`]: code that may be running. Every other online CPU is stopped with
//!   interrupts disabled while a closure runs on one CPU; the closure gets a [`Stopped`] token
//!   through which it writes code ([`Stopped::commit`]), through [`TextAlias`]es mapped
//!   beforehand (mapping may sleep; the kernel's `text_poke()` takes a sleeping lock for module
//!   text). Before the other CPUs go on, each executes a serializing instruction, so none runs
//!   stale instructions.
//!
//! `stop_machine()` does not hold a CPU that takes an NMI, and an NMI handler may run
//! instrumentable code (perf's overflow handlers, backtraces). So the writes of a commit are
//! made from an NMI on the writing CPU while every other CPU waits in an NMI too: no NMI runs
//! anywhere until the code is whole again (NMIs do not nest; one that comes meanwhile is taken
//! afterwards).
//!
//! Both serialize with the kernel's other code patchers (ftrace, jump labels, static calls,
//! kprobes) through `text_mutex`. kprobes also copy the instruction they probe when they
//! register, well before they write over it: [`KprobesHeld`] keeps them out for as long as a
//! patcher needs to check and write the bytes, and to tell kprobes which it keeps.
//!
//! C headers: [`arch/x86/include/asm/text-patching.h`](srctree/arch/x86/include/asm/text-patching.h),
//! [`include/linux/stop_machine.h`](srctree/include/linux/stop_machine.h).

use crate::{bindings, ffi::c_void, prelude::*};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
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

/// kprobes held off kernel text: while this lives, no kprobe is registered, armed, optimized or
/// removed (the task holds `kprobe_mutex`), so what [`KprobesHeld::registered`] says stays true,
/// and a patcher can check, write and reserve code without a kprobe copying an instruction it
/// is about to change. With `CONFIG_KPROBES` off there are no kprobes and this holds nothing.
///
/// Taken before [`stop_machine`] (kprobes take `kprobe_mutex` before the hotplug lock and
/// `text_mutex`).
///
/// # Invariants
///
/// The current task holds `kprobe_mutex` from [`KprobesHeld::new`] until drop (hence not
/// `Send`: a mutex is released by the task that took it).
///
/// # Examples
///
/// ```
/// use kernel::{kallsyms, text_patching::KprobesHeld};
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// let held = KprobesHeld::new();
/// // Nothing probes the middle of an instruction of schedule().
/// assert!(!held.registered(addr + 1, 1));
/// drop(held);
/// # Ok::<(), Error>(())
/// ```
pub struct KprobesHeld {
    _not_send: PhantomData<*mut ()>,
}

impl KprobesHeld {
    /// Takes `kprobe_mutex`; may sleep.
    pub fn new() -> Self {
        // SAFETY: Takes `kprobe_mutex`; released by `drop`.
        unsafe { bindings::kprobe_lock() };
        // INVARIANT: The mutex was taken above, by this task.
        Self {
            _not_send: PhantomData,
        }
    }

    /// Whether a kprobe, armed or not, is registered at an address of `addr..addr + len`. A
    /// kprobe that is not armed has not written its `int3` yet, but holds a copy of the
    /// instruction it found, which it runs once armed.
    pub fn registered(&self, addr: usize, len: usize) -> bool {
        (addr..addr.saturating_add(len)).any(|a| {
            // SAFETY: `kprobe_mutex` is held (type invariant), as `get_kprobe()` requires.
            unsafe { bindings::kprobe_registered_at(a) }
        })
    }
}

impl Default for KprobesHeld {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for KprobesHeld {
    fn drop(&mut self) {
        // SAFETY: Held by this task since `new` (type invariant).
        unsafe { bindings::kprobe_unlock() };
    }
}

/// Proof that every other CPU is stopped with interrupts disabled and that `text_mutex` is held
/// on behalf of the current patcher. Only [`stop_machine`] makes one.
pub struct Stopped {
    _private: (),
}

/// Proof that, on top of [`Stopped`], the writes of a [`Stopped::commit`] are under way: from an
/// NMI of this CPU while every other CPU waits in one. Only `commit` makes one.
pub struct Committing {
    _private: (),
}

impl Committing {
    /// Whether the commit runs in an NMI: it always does.
    ///
    /// ```
    /// use kernel::text_patching::stop_machine;
    ///
    /// let in_nmi = stop_machine(|stopped| {
    ///     let mut in_nmi = false;
    ///     stopped.commit(|c| in_nmi = c.in_nmi()).map(|()| in_nmi)
    /// })?;
    /// assert_eq!(in_nmi, Ok(true));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn in_nmi(&self) -> bool {
        // SAFETY: Reads this CPU's preempt count; no preconditions.
        unsafe { bindings::text_patching_in_nmi() }
    }

    /// Where each CPU goes on once the commit is over: for every online CPU, the instruction it
    /// was at when its NMI came and the return addresses above it, innermost first, then those
    /// of the NMI it waits in (`nmi_handle()` and its callers). The other CPUs were in the
    /// stop's own wait (their CPU stopper, `multi_cpu_stop()` and what it calls), this one in
    /// the commit. A walk of the tasks' stacks does not see this code, as it runs; code written
    /// here would be returned into halfway. [`Resume::Unknown`] stands for an interrupted stack
    /// that could not be unwound whole.
    ///
    /// ```
    /// use kernel::{kallsyms, text_patching::{stop_machine, Resume}};
    ///
    /// let stop = kallsyms::lookup_name(c"multi_cpu_stop").ok_or(ENOENT)?;
    /// let (size, _) = kallsyms::size_offset(stop).ok_or(ENOENT)?;
    /// // SAFETY: Reads the online count; no preconditions.
    /// let online = unsafe { kernel::bindings::text_patching_online_cpus() };
    /// let r = stop_machine(|stopped| {
    ///     // The CPUs (at most 64 here) that go on inside multi_cpu_stop().
    ///     let mut cpus = 0u64;
    ///     stopped.commit(|c| {
    ///         for (cpu, at) in c.resume_addresses() {
    ///             if let Resume::At(a) = at {
    ///                 if (stop..stop + size).contains(&a) && cpu < 64 {
    ///                     cpus |= 1 << cpu;
    ///                 }
    ///             }
    ///         }
    ///     }).map(|()| cpus.count_ones())
    /// })?;
    /// // Every CPU, this one too, returns into multi_cpu_stop() once the commit is over.
    /// if let Ok(n) = r {
    ///     assert!(online > 64 || n == online);
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn resume_addresses(&self) -> ResumeAddresses<'_> {
        ResumeAddresses {
            cpu: 0,
            frame: 0,
            _commit: PhantomData,
        }
    }

    /// Writes `bytes` through `alias`. The sizes agree by type, so the write cannot fail
    /// halfway through a stop. (The commit serializes this CPU afterwards: in an NMI,
    /// `sync_core()` could return with `iret` and let NMIs in.)
    ///
    /// # Safety
    ///
    /// The code is consistent once all writes of this commit are done: no task is in the middle
    /// of the bytes that change (the caller checked the stacks of all tasks).
    pub unsafe fn write<const N: usize>(&self, alias: &TextAlias<N>, bytes: &[u8; N]) {
        // SAFETY: By the type invariants of `TextAlias`, `base + offset` maps `N` bytes of the
        // text writably and stays mapped while `alias` lives; no other CPU runs, as `Self`
        // proves, and `text_mutex` keeps the kernel's other patchers out.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), alias.base.as_ptr().add(alias.offset), N)
        };
    }
}

/// One entry of [`Committing::resume_addresses`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// An address the CPU executes from, or returns to, once the commit is over.
    At(usize),
    /// The CPU's stack could not be unwound whole: where it returns to is not known.
    Unknown,
}

/// The iterator of [`Committing::resume_addresses`]: `(cpu, Resume)` pairs.
pub struct ResumeAddresses<'a> {
    cpu: usize,
    frame: usize,
    _commit: PhantomData<&'a Committing>,
}

impl Iterator for ResumeAddresses<'_> {
    type Item = (usize, Resume);

    fn next(&mut self) -> Option<(usize, Resume)> {
        loop {
            let slot = nmi::recorded(self.cpu)?;
            match slot {
                nmi::Recorded::Unknown if self.frame == 0 => {
                    self.frame = 1;
                    return Some((self.cpu, Resume::Unknown));
                }
                nmi::Recorded::Frames(n) if self.frame < n => {
                    self.frame += 1;
                    return Some((self.cpu, Resume::At(nmi::frame(self.cpu, self.frame - 1))));
                }
                _ => {
                    self.cpu += 1;
                    self.frame = 0;
                }
            }
        }
    }
}

impl Stopped {
    /// Runs `f`, which writes code, so that no NMI runs while it does: `f` runs in an NMI this
    /// CPU sends itself, once every other CPU waits in an NMI it sent itself, and they go on
    /// when `f` returns. `f` must only write ([`Committing::write`]): it runs in NMI context.
    ///
    /// If the NMI handler could not be registered, or a CPU does not take its NMI within
    /// [`NMI_WAIT_NS`], `f` does not run and [`NmiNotHeld`] is returned: a CPU that does not
    /// take its NMI may be in another NMI, running the very code `f` would write. The caller
    /// leaves the stop with nothing written and may try again.
    pub fn commit<F: FnOnce(&Committing)>(&self, f: F) -> Result<(), NmiNotHeld> {
        self.commit_within(NMI_WAIT_NS, f)
    }

    /// [`Stopped::commit`], waiting at most `wait_ns` for each CPU to take its NMI.
    ///
    /// ```
    /// use kernel::text_patching::{stop_machine, NmiNotHeld};
    ///
    /// // No other CPU can enter its NMI in no time at all: nothing is written.
    /// let (r, ran) = stop_machine(|stopped| {
    ///     let mut ran = false;
    ///     (stopped.commit_within(0, |_| ran = true), ran)
    /// })?;
    /// // SAFETY: Reads the online count; no preconditions.
    /// if unsafe { kernel::bindings::text_patching_online_cpus() } > 1 {
    ///     assert_eq!(r, Err(NmiNotHeld));
    ///     assert!(!ran);
    /// }
    /// # Ok::<(), Error>(())
    /// ```
    pub fn commit_within<F: FnOnce(&Committing)>(
        &self,
        wait_ns: u64,
        f: F,
    ) -> Result<(), NmiNotHeld> {
        let mut f = Some(f);
        let data = (&raw mut f).cast::<c_void>();
        let run: unsafe fn(*mut c_void) = run_commit::<F>;
        let ran = nmi::commit(run, data, wait_ns);
        // SAFETY: `sync_core()` only executes a serializing instruction.
        unsafe { bindings::sync_core() };
        if ran {
            Ok(())
        } else {
            Err(NmiNotHeld)
        }
    }
}

/// # Safety
///
/// `data` points to the `Option<F>` of a running [`Stopped::commit`].
unsafe fn run_commit<F: FnOnce(&Committing)>(data: *mut c_void) {
    // SAFETY: By the safety requirements; only one CPU runs the commit.
    let f = unsafe { &mut *data.cast::<Option<F>>() };
    if let Some(f) = f.take() {
        f(&Committing { _private: () });
    }
}

/// How long a CPU may take to enter the NMI of a commit, in nanoseconds.
pub const NMI_WAIT_NS: u64 = 10_000_000;

/// A commit that did not run: NMIs could not be held on every CPU in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NmiNotHeld;

/// Holding NMIs while code is written: the state of the stop under way (`text_mutex` makes it
/// one) and the NMI handler.
mod nmi {
    use crate::{bindings, ffi::c_void};
    use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

    /// NMIs each CPU sent itself that its handler has not yet taken.
    static OWED: [AtomicU32; bindings::NR_CPUS as usize] =
        [const { AtomicU32::new(0) }; bindings::NR_CPUS as usize];
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    /// The commits of this stop: the last one asked for, and the last one done. The other CPUs
    /// enter the NMI for each commit asked for and leave it once it is done.
    static ASKED: AtomicU32 = AtomicU32::new(0);
    static DONE: AtomicU32 = AtomicU32::new(0);
    /// How many CPUs wait in the NMI.
    static HELD: AtomicU32 = AtomicU32::new(0);
    /// The writing CPU of this stop, and the commit its NMI is to run (0: none).
    static WRITER: AtomicU32 = AtomicU32::new(u32::MAX);
    static RUN: AtomicUsize = AtomicUsize::new(0);
    static DATA: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

    /// Where each CPU goes on after a commit, recorded by its NMI: a slot of
    /// [`SLOT`] words per possible CPU, the count first (0: not recorded, [`CUT`]: not
    /// unwound whole), then the addresses. Allocated by `stop_machine()` for its stop (null
    /// otherwise); `text_mutex` makes it one stop's.
    static RESUME: AtomicPtr<usize> = AtomicPtr::new(core::ptr::null_mut());
    static RESUME_CPUS: AtomicUsize = AtomicUsize::new(0);
    /// Addresses kept per CPU: the stop's own path and the NMI's are each about ten frames
    /// deep.
    const FRAMES: usize = 63;
    pub(super) const SLOT: usize = FRAMES + 1;
    const CUT: usize = usize::MAX;

    /// What a CPU's slot holds.
    pub(super) enum Recorded {
        Frames(usize),
        Unknown,
    }

    /// Gives the stop's slots (`cpus` of them, at `base`); null takes them back.
    pub(super) fn set_slots(base: *mut usize, cpus: usize) {
        RESUME_CPUS.store(cpus, Ordering::Relaxed);
        RESUME.store(base, Ordering::Release);
    }

    fn slot(cpu: usize) -> Option<*mut usize> {
        let base = RESUME.load(Ordering::Acquire);
        if base.is_null() || cpu >= RESUME_CPUS.load(Ordering::Relaxed) {
            return None;
        }
        // SAFETY: `base` has `RESUME_CPUS` slots of `SLOT` words; `cpu` is below that.
        Some(unsafe { base.add(cpu * SLOT) })
    }

    /// Records, from its NMI, where this CPU goes on: the code it was interrupted in (`regs`)
    /// and the return addresses above it, then those of the NMI itself (`nmi_handle()` and
    /// what calls this handler), which it returns through first.
    fn record(cpu: usize, regs: *mut bindings::pt_regs) {
        let Some(slot) = slot(cpu) else {
            return;
        };
        // SAFETY: The slot is this CPU's: no other CPU writes it, and the writer reads it only
        // once this CPU is held (`HELD`, release) or, for its own, after its NMI recorded it.
        // `regs` are the NMI's, valid during the handler; the unwinder may run in an NMI. Both
        // walks write within the slot's `FRAMES` addresses.
        unsafe {
            let stop = bindings::stack_trace_save_regs(regs, slot.add(1).cast(), FRAMES as u32, 0)
                as usize;
            // A full part may be a cut trace of the interrupted code: not known whole.
            if stop == 0 || stop >= FRAMES {
                *slot = CUT;
                return;
            }
            // The NMI's own frames come first on its way out; the walk goes on into the
            // interrupted stack again, and what does not fit of it is known already.
            let room = (FRAMES - stop) as u32;
            let nmi = bindings::stack_trace_save(slot.add(1 + stop).cast(), room, 0) as usize;
            *slot = stop + nmi.min(FRAMES - stop);
        }
    }

    /// Forgets what the CPUs recorded for an earlier commit.
    fn forget() {
        for cpu in 0..RESUME_CPUS.load(Ordering::Relaxed) {
            if let Some(slot) = slot(cpu) {
                // SAFETY: No CPU records while no commit is asked for (the earlier one is
                // done, and the held CPUs have left: `HELD` is 0).
                unsafe { *slot = 0 };
            }
        }
    }

    /// What `cpu` recorded; `None` past the last CPU.
    pub(super) fn recorded(cpu: usize) -> Option<Recorded> {
        let slot = slot(cpu)?;
        // SAFETY: Read by the writing CPU during its commit, after every CPU recorded.
        let n = unsafe { *slot };
        Some(if n == CUT {
            Recorded::Unknown
        } else {
            Recorded::Frames(n)
        })
    }

    /// The `i`-th address `cpu` recorded (`i` below its count).
    pub(super) fn frame(cpu: usize, i: usize) -> usize {
        match slot(cpu) {
            // SAFETY: `i < FRAMES`, as the count is; read as for `recorded`.
            Some(slot) if i < FRAMES => unsafe { *slot.add(1 + i) },
            _ => 0,
        }
    }

    fn cpu() -> usize {
        // SAFETY: Called in a stop or an NMI: the CPU cannot change.
        (unsafe { bindings::raw_smp_processor_id() }) as usize
    }

    fn now() -> u64 {
        // SAFETY: NMI-safe clock read, no preconditions.
        unsafe { bindings::ktime_get_mono_fast_ns() }
    }

    /// Registers the handler once and starts a stop; called with `text_mutex` held.
    pub(super) fn prepare() {
        if !REGISTERED.load(Ordering::Acquire) {
            // SAFETY: `handler` matches the callback type and lives forever.
            let ret = unsafe { bindings::text_patching_register_nmi(Some(handler)) };
            if ret == 0 {
                REGISTERED.store(true, Ordering::Release);
            } else {
                crate::pr_warn!(
                    "text_patching: no NMI handler ({ret}): NMIs cannot be held, so no code is written\n"
                );
            }
        }
        ASKED.store(0, Ordering::Relaxed);
        DONE.store(0, Ordering::Relaxed);
        HELD.store(0, Ordering::Relaxed);
        RUN.store(0, Ordering::Relaxed);
        WRITER.store(u32::MAX, Ordering::Release);
    }

    /// Sends this CPU an NMI its handler takes as its own.
    fn self_nmi(cpu: usize) -> bool {
        let Some(owed) = OWED.get(cpu) else {
            return false;
        };
        owed.fetch_add(1, Ordering::AcqRel);
        // SAFETY: Sends an NMI to this CPU; the handler is registered.
        unsafe { bindings::text_patching_self_nmi() };
        true
    }

    /// Called over and over by a stopped CPU that does not write, while it waits: enters the
    /// NMI of each commit the writer asks for. `seen` is the last commit it entered for.
    pub(super) fn follow(seen: &mut u32) {
        let asked = ASKED.load(Ordering::Acquire);
        if asked > *seen {
            *seen = asked;
            self_nmi(cpu());
        }
    }

    fn wait(wait_ns: u64, cond: impl Fn() -> bool) -> bool {
        let start = now();
        while !cond() {
            if now().wrapping_sub(start) > wait_ns {
                return false;
            }
            core::hint::spin_loop();
        }
        true
    }

    /// Runs `run(data)` from an NMI of this CPU once every other online CPU waits in one.
    /// Returns false, having run nothing, if that could not be arranged in time.
    pub(super) fn commit(run: unsafe fn(*mut c_void), data: *mut c_void, wait_ns: u64) -> bool {
        if !REGISTERED.load(Ordering::Acquire) {
            return false;
        }
        let me = cpu();
        // SAFETY: Reads the online count; `stop_machine` holds the hotplug lock.
        let others = unsafe { bindings::text_patching_online_cpus() }.saturating_sub(1);
        WRITER.store(me as u32, Ordering::Release);
        // The CPUs held for an earlier commit have left.
        if !wait(wait_ns, || HELD.load(Ordering::Acquire) == 0) {
            return false;
        }
        forget();
        let n = ASKED.load(Ordering::Relaxed) + 1;
        ASKED.store(n, Ordering::Release);
        let held = wait(wait_ns, || HELD.load(Ordering::Acquire) >= others);
        let mut ran = false;
        if held {
            DATA.store(data, Ordering::Relaxed);
            RUN.store(run as usize, Ordering::Release);
            if self_nmi(me) {
                // The handler takes the commit by clearing `RUN`; if the NMI is late, this CPU
                // takes it back and nothing runs.
                ran = wait(wait_ns, || RUN.load(Ordering::Acquire) == 0)
                    || RUN
                        .compare_exchange(run as usize, 0, Ordering::AcqRel, Ordering::Acquire)
                        .is_err();
            } else {
                RUN.store(0, Ordering::Release);
            }
        }
        DONE.store(n, Ordering::Release);
        ran
    }

    /// The NMI handler: takes the NMIs this code sent itself, and nothing else.
    extern "C" fn handler(regs: *mut bindings::pt_regs) -> bool {
        let me = cpu();
        let Some(owed) = OWED.get(me) else {
            return false;
        };
        if owed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_err()
        {
            return false;
        }
        if WRITER.load(Ordering::Acquire) == me as u32 {
            let run = RUN.load(Ordering::Acquire);
            if run != 0 {
                record(me, regs);
                let data = DATA.load(Ordering::Relaxed);
                // SAFETY: `run` is the `unsafe fn(*mut c_void)` that `commit` stored as a
                // `usize`; `commit` waits for it with `data` alive, and this CPU is the only one
                // that runs it: `commit` runs on this CPU and this NMI interrupts it.
                unsafe {
                    let run: unsafe fn(*mut c_void) = core::mem::transmute(run);
                    run(data);
                }
                RUN.store(0, Ordering::Release);
            }
        } else {
            let asked = ASKED.load(Ordering::Acquire);
            if DONE.load(Ordering::Acquire) < asked {
                record(me, regs);
                HELD.fetch_add(1, Ordering::AcqRel);
                while DONE.load(Ordering::Acquire) < asked {
                    core::hint::spin_loop();
                }
                HELD.fetch_sub(1, Ordering::AcqRel);
            }
        }
        // The rest of the NMI (the other handlers, the NMI exit) may run code just written:
        // serialize first. Once the writes are done, that `sync_core()` may let NMIs in
        // (`iret` to self) does no harm.
        // SAFETY: `sync_core()` only executes a serializing instruction.
        unsafe { bindings::sync_core() };
        true
    }
}

/// A writable alias of `N` bytes of kernel or module text, made before [`stop_machine`]
/// (mapping pages may sleep), written through [`Committing::write`], unmapped when dropped.
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
///     stopped.commit(|c| unsafe { c.write(&alias, &now) })
/// })?;
/// let mut after = [0u8; 4];
/// text_patching::read(addr, &mut after)?;
/// assert_eq!(now, after);
/// # Ok::<(), Error>(())
/// ```
///
/// Once dropped, the alias is gone on every CPU at once: its translations are flushed when it
/// is unmapped, not at the kernel's next purge of lazy vmap areas, until which a CPU could
/// still write kernel text through it.
///
/// ```
/// use kernel::{alloc::VBox, text_patching::{self, TextAlias}};
///
/// // A vmalloc'd page stands for module text (the alias needs no more than its pages).
/// let page = VBox::new([0x5au8; 4096], GFP_KERNEL)?;
/// let alias = TextAlias::<8>::new(page.as_ptr() as usize)?;
/// let at = alias.address();
/// let mut seen = [0u8; 8];
/// // Read through the alias: this CPU now holds its translation.
/// text_patching::read(at, &mut seen)?;
/// assert_eq!(seen, [0x5a; 8]);
/// drop(alias);
/// assert!(text_patching::read(at, &mut seen).is_err());
/// // Text that is not mapped any more (the freed page) has no alias.
/// let gone = page.as_ptr() as usize;
/// drop(page);
/// assert_eq!(TextAlias::<8>::new(gone).err(), Some(EFAULT));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `base` is the start of a `vmap()` mapping, writable, of the `pages` (one or two) pages
/// that hold `N` bytes of text from `offset` on; it is unmapped only by `drop`.
pub struct TextAlias<const N: usize> {
    base: core::ptr::NonNull<u8>,
    offset: usize,
    pages: u32,
}

impl<const N: usize> TextAlias<N> {
    /// Maps the `N` (1 to a page) bytes of text at `addr`. The text must stay mapped while the
    /// alias lives (vmlinux text, or a module kept loaded). That `addr` is text is the
    /// caller's to know: any mapped kernel page would do. An address that is not mapped
    /// gives `EFAULT`; a failure of the mapping itself, `ENOMEM`.
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
            // is not mapped gives a null page, refused below.
            *p = unsafe { bindings::text_alias_page((first + i * PAGE) as crate::ffi::c_ulong) };
            if p.is_null() {
                return Err(EFAULT);
            }
        }
        // SAFETY: `pages` holds `count` valid pages.
        let base = unsafe { bindings::text_alias_vmap(pages.as_mut_ptr(), count as u32) };
        let base = core::ptr::NonNull::new(base.cast::<u8>()).ok_or(ENOMEM)?;
        // INVARIANT: `base` maps the `count` pages of `first..`, writable, and `N` bytes from
        // `addr - first` lie in them.
        Ok(Self {
            base,
            offset: addr - first,
            pages: count as u32,
        })
    }

    /// Where the alias maps the `N` bytes (to show that it is gone once dropped).
    pub fn address(&self) -> usize {
        self.base.as_ptr() as usize + self.offset
    }
}

impl<const N: usize> Drop for TextAlias<N> {
    /// Unmaps the alias and flushes its translations from every CPU: `vunmap()` alone leaves
    /// the flush to the kernel's next purge of lazy vmap areas, and until then a CPU could
    /// still write kernel text through the alias. The range is flushed, not purged: purging
    /// the lazy areas at once (`vm_unmap_aliases()`) made freed ftrace trampolines' addresses
    /// come back so soon that the test VM crashed in the next trampoline.
    fn drop(&mut self) {
        // SAFETY: By the type invariants `base` comes from `vmap()`, maps `pages` pages, and
        // is unmapped only here.
        unsafe { bindings::text_alias_vunmap(self.base.as_ptr().cast(), self.pages) };
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
        let mut seen = 0;
        while !d.done.load(Ordering::Acquire) {
            nmi::follow(&mut seen);
            // Spinning with interrupts off for as long as the work takes is this CPU's
            // purpose here, not a lockup (as in `multi_cpu_stop()`'s own loop).
            touch_nmi_watchdog();
            core::hint::spin_loop();
        }
        // SAFETY: `sync_core()` only executes a serializing instruction.
        unsafe { bindings::sync_core() };
    }
    0
}

/// Tells the hard and soft lockup detectors that this CPU, though it runs with interrupts off,
/// is not stuck: for work inside [`stop_machine`] that may take long (a walk of many stacks).
pub fn touch_nmi_watchdog() {
    // SAFETY: Writes this CPU's watchdog timestamps; callable in any context.
    unsafe { bindings::touch_nmi_watchdog() };
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
    // SAFETY: Reads `nr_cpu_ids`; no preconditions.
    let cpus = unsafe { bindings::text_patching_cpu_ids() } as usize;
    // Where each CPU goes on after a commit (`Committing::resume_addresses`).
    let mut resume = KVec::from_elem(0usize, cpus * nmi::SLOT, GFP_KERNEL)?;
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
    nmi::prepare();
    nmi::set_slots(resume.as_mut_ptr(), cpus);
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
    nmi::set_slots(core::ptr::null_mut(), 0);
    drop(resume);
    // SAFETY: Taken above.
    unsafe {
        bindings::mutex_unlock(&raw mut bindings::text_mutex);
        bindings::cpus_read_unlock();
    }
    crate::error::to_result(ret)?;
    data.result.into_inner().ok_or(EINVAL)
}

/// Whether the kernel may still rewrite the lock prefixes of its code and its modules' code. A
/// kernel that booted with one CPU present turns them into `ds` prefixes, and back into `lock`
/// when a second CPU comes online (`alternatives_enable_smp()`); once more than one CPU is
/// online that has happened, and it never happens again. True whenever one CPU is online and
/// more are possible (a kernel that booted with more and took them offline is counted too).
///
/// ```
/// use kernel::text_patching;
///
/// // SAFETY: Reads the online count; no preconditions.
/// if unsafe { kernel::bindings::text_patching_online_cpus() } > 1 {
///     assert!(!text_patching::lock_prefixes_may_change());
/// }
/// ```
pub fn lock_prefixes_may_change() -> bool {
    // SAFETY: Both read counters; no preconditions.
    unsafe { bindings::text_patching_online_cpus() == 1 && bindings::text_patching_cpu_ids() > 1 }
}

/// Whether call depth tracking is on (`retbleed=stuff`, on a configuration with
/// `CONFIG_MITIGATION_CALL_DEPTH_TRACKING`): see [`call_thunk_of`].
pub fn call_depth_tracking() -> bool {
    // SAFETY: Reads a CPU feature bit; no preconditions.
    unsafe { bindings::text_patching_call_depth() }
}

/// The function whose call depth accounting thunk starts at `addr`, if one does. With call
/// depth tracking on (`retbleed=stuff`), the kernel points the direct calls it lists in
/// `.call_sites` at a thunk in the padding before their callee, which accounts for the call and
/// runs into the callee: such a call is a call of the callee. `None` when the tracking is off.
///
/// ```
/// use kernel::{kallsyms, text_patching};
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// // An entry is no thunk.
/// assert_eq!(text_patching::call_thunk_of(addr), None);
/// // With the tracking on, the thunk of `schedule()`, which the kernel calls directly, ends at
/// // its entry; with it off there is none.
/// let thunk = (1..=32).find_map(|n| text_patching::call_thunk_of(addr - n));
/// let expected = text_patching::call_depth_tracking().then_some(addr);
/// assert_eq!(thunk, expected);
/// # Ok::<(), Error>(())
/// ```
pub fn call_thunk_of(addr: usize) -> Option<usize> {
    // SAFETY: The helper reads `addr` with `copy_from_kernel_nofault()`; any value is fine.
    let callee = unsafe { bindings::text_patching_call_thunk_of(addr) };
    (callee != 0).then_some(callee)
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
