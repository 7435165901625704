// SPDX-License-Identifier: GPL-2.0

//! The actions on a pack: check, apply and reverse.
//!
//! `check` matches the pack against the running kernel and resolves its relocations; it
//! changes nothing. `apply` checks again (another pack may have been applied since), writes the
//! resolved relocations into the pack's own, not yet reachable, code, runs the pre hooks, then
//! under `stop_machine` checks every task's stack, runs the check hooks and writes a jump at
//! each target's entry. `reverse` is the mirror image. Tasks asleep in the code are first
//! moved out of it when they can be ([`crate::park`]); a busy stack is retried a few times
//! with a pause.

use crate::hooks::{Hooks, Kind};
use crate::matcher::{HOP_LEN, JMP_LEN};
use crate::pack::{Held, Pack};
use crate::park::Parking;
use crate::registry::{self, Hop, Matching, TargetState};
use crate::reserved;
use crate::resolve::{self, Failure, Modules, Resolution};
use crate::stackcheck::{self, Label, Range, Requester, Scratch};
use crate::stage::{AbortCause, Action};
use kernel::module_ref::ModuleRef;
use kernel::prelude::*;
use kernel::text_patching::{KprobesHeld, Resume, TextAlias};
use kernel::{bindings, kallsyms, text_patching};

type Instant = kernel::time::Instant<kernel::time::Monotonic>;

/// Nanoseconds since `t0`.
fn since(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_nanos()).unwrap_or(0)
}

fn report(name: &CStr, f: &Failure<'_>) -> AbortCause {
    match f {
        Failure::NoMatch(func, Some((addr, m))) => {
            pr_warn!(
                "{name:?}: no_match: {func:?} at {addr:#x}: {} at offset {:#x} of the pre code\n",
                m.reason,
                m.offset
            );
            AbortCause::NoMatch
        }
        Failure::NoMatch(func, None) => {
            pr_warn!("{name:?}: no_match: {func:?} matches nowhere in the running kernel\n");
            AbortCause::NoMatch
        }
        Failure::NoSymbol(func, object) => {
            pr_warn!(
                "{name:?}: no_match: no symbol {func:?} (of {object:?}) in the running kernel\n"
            );
            AbortCause::NoMatch
        }
        Failure::Ambiguous(func, n) => {
            pr_warn!("{name:?}: ambiguous_match: {func:?} matches at {n} addresses\n");
            AbortCause::AmbiguousMatch
        }
        Failure::TooMany(func) => {
            pr_warn!(
                "{name:?}: ambiguous_match: more than {} symbols are named {func:?}; the pack cannot say which it is for\n",
                crate::resolve::MAX_CANDIDATES
            );
            AbortCause::AmbiguousMatch
        }
        Failure::NotLoaded(module) => {
            pr_warn!("{name:?}: target_not_loaded: module {module:?} is not loaded\n");
            AbortCause::TargetNotLoaded
        }
        Failure::Loading(module) => {
            pr_warn!(
                "{name:?}: code_busy: module {module:?} is being loaded (its init runs); apply again once it has loaded\n"
            );
            AbortCause::CodeBusy
        }
        Failure::Unresolved(sym) => {
            pr_warn!("{name:?}: unresolved_symbol: {sym:?}\n");
            AbortCause::UnresolvedSymbol
        }
        Failure::OutOfMemory => AbortCause::OutOfMemory,
    }
}

extern "C" {
    /// `kernel/splice/livepatch.c`.
    fn splice_livepatched(addr: core::ffi::c_ulong) -> bool;
    /// `kernel/splice/noinstr.c`.
    fn splice_noinstr(addr: core::ffi::c_ulong) -> bool;
    /// `kernel/splice/noinstr.c`.
    fn splice_idle_or_entry(addr: core::ffi::c_ulong) -> bool;
    /// `kernel/splice/noinstr.c`.
    fn splice_module_noinstr(addr: core::ffi::c_ulong) -> bool;
    /// `kernel/splice/signature.c`.
    fn splice_module_code_allowed(module: *mut core::ffi::c_void) -> core::ffi::c_int;
}

/// Whether `addr` is in noinstr code, vmlinux's (not counting the idle code) or a module's,
/// which runs where the kernel must not be instrumented: it is redirected only to a
/// replacement that is noinstr too ([`module_noinstr`]), and only while NMIs are held.
fn noinstr(addr: usize) -> bool {
    // SAFETY: Any address may be asked about; the function only compares it with section
    // bounds.
    unsafe { splice_noinstr(addr as core::ffi::c_ulong) }
}

/// Whether `addr` is in vmlinux's idle or entry code, which is never redirected: the kernel
/// recognises idle CPUs by the address they run at, and the entry code runs before the
/// kernel's stack and page tables are set up.
fn idle_or_entry(addr: usize) -> bool {
    // SAFETY: Any address may be asked about; the function only compares it with section
    // bounds.
    unsafe { splice_idle_or_entry(addr as core::ffi::c_ulong) }
}

/// Whether `addr` is in the `.noinstr.text` section of the module whose code it is, which
/// kprobes leave alone as they do vmlinux's.
fn module_noinstr(addr: usize) -> bool {
    // SAFETY: Any address may be asked about; the function looks the module up under RCU.
    unsafe { splice_module_noinstr(addr as core::ffi::c_ulong) }
}

/// Whether a call among the instructions the jump at `site` covers ends before the jump
/// does, so that a return to it would land in the middle of the jump (`call *%rax` is two
/// bytes long). The stack check cannot rule this out for noinstr code: the CPUs are held in
/// NMIs while the jump is written, and the NMI entry on their NMI stacks, which the stack
/// check does not walk, is noinstr code (so are the branches the matcher reports in
/// `branch_under_jump`).
fn call_returns_under(site: usize) -> core::result::Result<bool, AbortCause> {
    let mut code = [0u8; JMP_LEN + kernel::insn::MAX_INSN_SIZE];
    text_patching::read(site, &mut code).map_err(|_| AbortCause::BadPack)?;
    call_ends_under_jump(&code).ok_or(AbortCause::BadPack)
}

/// [`call_returns_under`] on a copy of the code at the site; `None` if it does not decode.
fn call_ends_under_jump(code: &[u8]) -> Option<bool> {
    let mut at = 0;
    while at < JMP_LEN {
        let insn = kernel::insn::Insn::decode(code.get(at..)?).ok()?;
        at += insn.len();
        if at < JMP_LEN && insn.is_call() {
            return Some(true);
        }
    }
    Some(false)
}

/// Logs why `pack` cannot redirect its target `function` ("pack: cause: function why"), and
/// returns the cause.
fn refuse_target(
    pack: &impl core::fmt::Debug,
    function: &impl core::fmt::Debug,
    cause: AbortCause,
    why: &str,
) -> AbortCause {
    pr_warn!("{pack:?}: {}: {function:?} {why}\n", cause.name());
    cause
}

/// Whether an enabled livepatch replaces the function at `addr`.
fn livepatched(addr: usize) -> bool {
    // SAFETY: Any address may be asked about; the function takes `klp_mutex`, and sleeping is
    // allowed here (the registry lock is a mutex).
    unsafe { splice_livepatched(addr as core::ffi::c_ulong) }
}

/// A relocation write into the pack's code, computed by `check`.
struct Write {
    place: usize,
    bytes: [u8; 8],
    len: usize,
}

/// What `check` finds: the targets and the relocation writes.
struct Checked {
    targets: KVec<TargetState>,
    writes: KVec<Write>,
    /// The target modules, pinned before matching read their code.
    modules: KVec<ModuleRef>,
    /// For a replace pack: the targets of the applied packs it does not take over, reversed
    /// in the same stop ([`released_by`]), and the packs it supersedes.
    released: KVec<TargetState>,
    superseded: KVec<u64>,
    /// For a pack that patches modules when they load: its targets in modules not loaded
    /// now (their index), armed once it is applied.
    waiting: KVec<usize>,
}

fn jump(from: usize, to: usize) -> Option<[u8; 5]> {
    let rel = i32::try_from((to as i64).wrapping_sub((from + JMP_LEN) as i64)).ok()?;
    let mut j = [0xe9, 0, 0, 0, 0];
    j[1..].copy_from_slice(&rel.to_le_bytes());
    Some(j)
}

/// A `jmp rel8` at `from` to `to`, if in reach.
fn short_jump(from: usize, to: usize) -> Option<[u8; HOP_LEN]> {
    let rel = i8::try_from((to as i64).wrapping_sub((from + HOP_LEN) as i64)).ok()?;
    Some([0xeb, rel as u8])
}

/// Why a target cannot be redirected, with the reason to log; a failure that says nothing of
/// the function (no memory) without.
type Refusal = (AbortCause, Option<&'static str>);

/// The longest prefix taken for one (`CALL_PADDING` puts 16 `nop`s before every function).
const PREFIX_MAX: usize = 64;

/// Where the jump of the target at `addr` goes when there is no room for it after the entry,
/// only for a short jump at `hop_at`: the start of the function's prefix (`__pfx_NAME`), the
/// `nop`s `CALL_PADDING` puts before every function. Only call depth tracking (its thunk, at
/// the end: [`prefix_holds_island`]), FineIBT (from the start) and kprobes write there;
/// objtool gives the prefix the unwind data of the entry, so the jump there unwinds as the
/// entry does. The jump sits at the start of the prefix: the bytes before it are another
/// function's, which an optimized kprobe's jump never leaves. A refusal comes with the reason
/// to log; a failure that says nothing of the function (no memory) without.
fn prefix_island(addr: usize, hop_at: usize, name: &CStr) -> core::result::Result<usize, Refusal> {
    let refused = |why| (AbortCause::CannotRedirect, Some(why));
    let no_prefix = "has no room for a jump after its entry, and no prefix of nops before it to hold one (CALL_PADDING)";
    let (size, offset) = kallsyms::size_offset(addr - 1).ok_or(refused(no_prefix))?;
    if offset + 1 != size || !(JMP_LEN..=PREFIX_MAX).contains(&size) {
        return Err(refused(no_prefix));
    }
    let start = addr - size;
    let sym = kallsyms::name_of(start).map_err(|e| match e {
        ENOMEM => (AbortCause::OutOfMemory, None),
        _ => refused(no_prefix),
    })?;
    if sym.strip_prefix(b"__pfx_") != Some(name.to_bytes()) {
        return Err(refused(no_prefix));
    }
    let mut buf = [0u8; PREFIX_MAX];
    let prefix = &mut buf[..size];
    text_patching::read(start, prefix).map_err(|_| (AbortCause::BadPack, None))?;
    if !prefix_holds_island(prefix, |at| {
        text_patching::call_thunk_of(start + at) == Some(addr)
    }) {
        return Err(refused("has no room for a jump after its entry, and the start of its prefix is not nops (FineIBT or a kprobe wrote there)"));
    }
    if short_jump(hop_at, start).is_none() {
        return Err(refused("has no room for a jump after its entry, and its prefix is out of reach of a short jump from there"));
    }
    Ok(start)
}

/// Whether a jump fits at the start of `prefix`, the padding before a function: it is all
/// `nop`s, or `nop`s for the jump and then, up to the entry, the call depth accounting thunk
/// the kernel put there (`retbleed=stuff`), which calls run through into the function and the
/// jump leaves alone. `thunk_at(i)`: whether that thunk starts at `prefix[i]`.
fn prefix_holds_island(prefix: &[u8], thunk_at: impl Fn(usize) -> bool) -> bool {
    let nops = prefix.iter().take_while(|&&b| b == 0x90).count();
    nops == prefix.len() || (nops >= JMP_LEN && thunk_at(nops))
}

fn kernel_release() -> &'static [u8] {
    // SAFETY: `init_uts_ns` is the initial UTS namespace, which lives forever; `release` is a
    // NUL-terminated array of bytes that does not change after boot.
    let bytes: &[u8] = unsafe {
        let rel = &raw const bindings::init_uts_ns.name.release;
        core::slice::from_raw_parts(rel.cast(), (*rel).len())
    };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn resolve_writes(
    e: &Matching,
    res: &Resolution<'_>,
    repl: usize,
    object: usize,
    first: usize,
    count: usize,
    writes: &mut KVec<Write>,
) -> core::result::Result<(), AbortCause> {
    let size = match kallsyms::size_offset(repl) {
        Some((s, 0)) => s,
        _ => {
            pr_warn!(
                "{:?}: bad_pack: replacement {repl:#x} is not a symbol\n",
                e.name()
            );
            return Err(AbortCause::BadPack);
        }
    };
    for r in e.pack().relocs(first, count) {
        if r.offset + r.width() > size {
            pr_warn!(
                "{:?}: bad_pack: relocation past its replacement\n",
                e.name()
            );
            return Err(AbortCause::BadPack);
        }
        let value =
            resolve::symbol_value(&res.learned, &r, object).map_err(|f| report(e.name(), &f))?;
        let place = repl + r.offset;
        let Some((bytes, len)) = resolve::reloc_bytes(&r, value, place as u64) else {
            pr_warn!(
                "{:?}: bad_pack: {:?} out of range of its relocation\n",
                e.name(),
                r.symbol
            );
            return Err(AbortCause::BadPack);
        };
        writes
            .push(Write { place, bytes, len }, GFP_KERNEL)
            .map_err(|_| AbortCause::OutOfMemory)?;
    }
    Ok(())
}

/// Resolves the relocations of the pack's fixups (the other code it carries) of the objects
/// `of` selects, into `writes`.
fn fixup_writes(
    e: &Matching,
    res: &Resolution<'_>,
    of: impl Fn(&crate::pack::Object<'_>) -> bool,
    writes: &mut KVec<Write>,
) -> core::result::Result<(), AbortCause> {
    let pack = e.pack();
    for x in pack.fixups() {
        if !pack.object(x.object).is_some_and(|o| of(&o)) {
            continue;
        }
        let repl = *e
            .held
            .replacements()
            .get(x.replacement)
            .ok_or(AbortCause::BadPack)? as usize;
        resolve_writes(e, res, repl, x.object, x.first_reloc, x.reloc_count, writes)?;
    }
    Ok(())
}

/// Runs an action's fail hooks when it goes, unless disarmed: once the pre hooks of an action
/// have started, every way out of it but success lets the pack undo what they did.
struct FailHooks<'a> {
    hooks: Hooks,
    pack: &'a CStr,
    reverse: bool,
    armed: bool,
}

impl<'a> FailHooks<'a> {
    fn new(hooks: Hooks, pack: &'a CStr, reverse: bool) -> Self {
        Self {
            hooks,
            pack,
            reverse,
            armed: true,
        }
    }

    /// The action succeeded: no fail hook runs.
    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for FailHooks<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.hooks.run(self.pack, Kind::Fail, self.reverse);
        }
    }
}

/// The state of target `index` (`t`) of `e`'s pack, matched at `m`: where its jump goes,
/// what it writes and saves, or why it cannot be redirected ([`check`], and the targets of a
/// module when it loads, [`crate::modules`]). `replace` for a replace pack.
pub(crate) fn target_state(
    e: &Matching,
    pack: &Pack<'_>,
    replace: bool,
    index: usize,
    t: &crate::pack::Target,
    m: &resolve::FunctionMatch,
) -> core::result::Result<TargetState, AbortCause> {
    let reg = &e.applied;

    let f = pack.function(t.function).ok_or(AbortCause::BadPack)?;
    let repl = *e
        .held
        .replacements()
        .get(t.replacement)
        .ok_or(AbortCause::BadPack)? as usize;
    let repl_size = match kallsyms::size_offset(repl) {
        Some((s, 0)) => s,
        _ => return Err(AbortCause::BadPack),
    };
    let refuse = |cause, why| refuse_target(&e.name(), &f.name, cause, why);
    let noinstr = noinstr(m.addr);
    if let Some((cause, why)) = unredirectable(m.addr, repl, noinstr) {
        return Err(refuse(cause, why));
    }
    let (site, hop_at) = jump_site(reg, m, noinstr, f.name)
        .map_err(|(c, why)| why.map_or(c, |why| refuse(c, why)))?;
    // Checked on the function's own code; a pack below checked it for its jump.
    if noinstr && reg.owner_of(m.addr).is_none() {
        if call_returns_under(site)? {
            let why = "is noinstr code with a call under its jump, to which an NMI's \
                       stack could return";
            return Err(refuse(AbortCause::CannotRedirect, why));
        }
        if m.matched.branch_under_jump {
            let why = "is noinstr code with a branch to the bytes under its jump, which \
                       code running in an NMI could take";
            return Err(refuse(AbortCause::CannotRedirect, why));
        }
    }
    let mut before = [0u8; 5];
    text_patching::read(site, &mut before).map_err(|_| AbortCause::BadPack)?;
    let jump = jump(site, repl).ok_or(AbortCause::BadPack)?;
    // A replace pack takes the target over from the packs below it, which it reverses:
    // reversed itself, it writes back the kernel's own code, which the first of them
    // saved (with its hop).
    let bottom = if replace { reg.bottom_of(m.addr) } else { None };
    let saved = bottom.map_or(before, |b| b.saved);
    let hop = hop_state(hop_at, bottom.and_then(|b| b.hop), site)?;
    Ok(TargetState {
        target: index,
        addr: m.addr,
        size: m.size,
        live: m.live,
        live_size: m.live_size,
        site,
        saved,
        jump,
        before,
        hop,
        repl,
        repl_size,
    })
}

/// Why the function at `addr` cannot be taken over by the replacement at `repl`, whatever room
/// it has: a livepatch takes it over at its ftrace site, before the jump; idle and entry code;
/// noinstr code whose replacement kprobes would not leave alone.
fn unredirectable(addr: usize, repl: usize, noinstr: bool) -> Option<(AbortCause, &'static str)> {
    if livepatched(addr) {
        let why = "is replaced by an enabled livepatch; disable it first";
        return Some((AbortCause::Livepatched, why));
    }
    if idle_or_entry(addr) {
        let why = "is idle or entry code, which a replacement in module text cannot take over";
        return Some((AbortCause::CannotRedirect, why));
    }
    if noinstr && !module_noinstr(repl) {
        let why = "is noinstr code, and its replacement is not in the pack's .noinstr.text, \
                   which kprobes leave alone";
        return Some((AbortCause::CannotRedirect, why));
    }
    None
}

/// Where the jump of the function `m` (`name`) goes, and the hop to it when that is in its
/// prefix ([`prefix_island`]). Stacked on another pack, where that pack put its own (whose
/// hop stays). A refusal as [`prefix_island`]'s.
fn jump_site(
    reg: &registry::Applied,
    m: &resolve::FunctionMatch,
    noinstr: bool,
    name: &CStr,
) -> core::result::Result<(usize, Option<usize>), Refusal> {
    if let Some((_, below)) = reg.owner_of(m.addr) {
        return Ok((below.site, None));
    }
    match (m.matched.patch_offset, m.matched.hop_offset) {
        (Some(off), _) => Ok((m.addr + off, None)),
        (None, Some(off)) if !noinstr => {
            let at = m.addr + off;
            Ok((prefix_island(m.addr, at, name)?, Some(at)))
        }
        _ => {
            let why = "has no room for a jump after its entry, nor for a short one to its prefix (too short, or a site the kernel may rewrite later follows it: an ftrace, jump label or static call site, or a lock prefix while the kernel may still switch to SMP; or noinstr code)";
            Err((AbortCause::CannotRedirect, Some(why)))
        }
    }
}

/// The hop of a target whose jump is at `site`: a new one at `hop_at`, or the one of the pack
/// at the bottom of the stack there (`below`), which a replace pack takes over.
fn hop_state(
    hop_at: Option<usize>,
    below: Option<Hop>,
    site: usize,
) -> core::result::Result<Option<Hop>, AbortCause> {
    Ok(match (hop_at, below) {
        (Some(at), _) => {
            let mut saved = [0u8; HOP_LEN];
            text_patching::read(at, &mut saved).map_err(|_| AbortCause::BadPack)?;
            let jump = short_jump(at, site).ok_or(AbortCause::BadPack)?;
            Some(Hop {
                at,
                saved,
                jump,
                before: saved,
            })
        }
        (None, Some(h)) => Some(Hop {
            before: h.jump,
            ..h
        }),
        (None, None) => None,
    })
}

/// Matches and resolves pack `id`; changes nothing.
fn check(e: &Matching) -> core::result::Result<Checked, AbortCause> {
    let reg = &e.applied;
    let pack = e.pack();
    let replace = pack.replaces_all();
    if replace && pack.patches_on_load() {
        pr_warn!(
            "{:?}: bad_pack: a replace pack cannot wait for modules to load\n",
            e.name()
        );
        return Err(AbortCause::BadPack);
    }
    if pack.kernel_release().to_bytes() != kernel_release() {
        pr_warn!(
            "{:?}: kernel_mismatch: made for {:?}\n",
            e.name(),
            pack.kernel_release()
        );
        return Err(AbortCause::KernelMismatch);
    }
    // A replace pack is matched against the kernel's own code: that of the packs it
    // replaces does not run once it is applied.
    // A pack that patches modules when they load reads those that are loaded now.
    let scope = if pack.patches_on_load() {
        Modules::Loaded
    } else {
        Modules::All
    };
    let matched = if replace {
        resolve::match_pack(
            &pack,
            &|_| None,
            &|addr, code| reg.own_code(addr, code),
            scope,
        )
    } else {
        resolve::match_pack(&pack, &|addr| reg.redirect(addr), &|_, _| {}, scope)
    };
    let mut res = matched.map_err(|f| report(e.name(), &f))?;
    let mut targets = KVec::new();
    let mut writes = KVec::new();
    let mut waiting = KVec::new();
    // Every target parsed (`Pack::parse`): the index counts them all.
    for (index, t) in pack.targets().enumerate() {
        let Some(m) = res.functions.get(t.function).ok_or(AbortCause::BadPack)? else {
            // Of a module that is not loaded: it waits for it (a pack that patches modules
            // when they load).
            waiting
                .push(index, GFP_KERNEL)
                .map_err(|_| AbortCause::OutOfMemory)?;
            continue;
        };
        let f = pack.function(t.function).ok_or(AbortCause::BadPack)?;
        let state = target_state(e, &pack, replace, index, &t, m)?;
        let repl = state.repl;
        targets
            .push(state, GFP_KERNEL)
            .map_err(|_| AbortCause::OutOfMemory)?;
        resolve_writes(
            e,
            &res,
            repl,
            f.object,
            t.first_reloc,
            t.reloc_count,
            &mut writes,
        )?;
    }
    // Code carried for an object of a module that is not loaded is resolved when it loads.
    let loaded = |o: &crate::pack::Object<'_>| {
        o.module.is_empty() || res.modules.iter().any(|m| m.name() == o.module)
    };
    fixup_writes(e, &res, loaded, &mut writes)?;
    let modules = core::mem::take(&mut res.modules);
    let (released, superseded) = if replace {
        released_by(reg, &e.applied_packs, &targets)?
    } else {
        (KVec::new(), KVec::new())
    };
    Ok(Checked {
        targets,
        writes,
        modules,
        released,
        superseded,
        waiting,
    })
}

/// What applying a replace pack with `targets` does to the applied packs (`reg`): the
/// functions they redirect that it does not, to be given back their own code in the same
/// stop (from the jump of the pack on top to the bytes the pack below all saved, hop
/// included), and the packs it supersedes.
fn released_by(
    reg: &registry::Applied,
    packs: &[u64],
    targets: &[TargetState],
) -> core::result::Result<(KVec<TargetState>, KVec<u64>), AbortCause> {
    let oom = |_| AbortCause::OutOfMemory;
    let mut released: KVec<TargetState> = KVec::new();
    // Every applied pack, those whose targets all wait for their module too.
    let mut superseded: KVec<u64> = KVec::new();
    superseded
        .extend_from_slice(packs, GFP_KERNEL)
        .map_err(oom)?;
    for &(_, id, t) in reg.all() {
        if !superseded.contains(&id) {
            superseded.push(id, GFP_KERNEL).map_err(oom)?;
        }
        let kept = targets.iter().any(|k| k.addr == t.addr);
        if kept || released.iter().any(|r| r.addr == t.addr) {
            continue;
        }
        let (Some((_, top)), Some(bottom)) = (reg.owner_of(t.addr), reg.bottom_of(t.addr)) else {
            continue;
        };
        released
            .push(
                TargetState {
                    saved: bottom.saved,
                    before: top.jump,
                    hop: bottom.hop.map(|h| Hop {
                        before: h.jump,
                        ..h
                    }),
                    ..top
                },
                GFP_KERNEL,
            )
            .map_err(oom)?;
    }
    Ok((released, superseded))
}

/// The ranges a task must not be in for `action`.
fn ranges(e: &registry::Entry, targets: &[TargetState], reverse: bool) -> Result<KVec<Range>> {
    let mut r = KVec::new();
    for t in targets {
        if reverse {
            r.push(
                Range {
                    start: t.repl,
                    end: t.repl + t.repl_size,
                    name: Label::Target(t.target),
                    // Reversing writes the saved bytes back at the site, out of this range.
                    written: (0, 0),
                },
                GFP_KERNEL,
            )?;
        } else {
            r.push(
                Range {
                    start: t.addr,
                    end: t.addr + t.size,
                    name: Label::Target(t.target),
                    written: t.written(),
                },
                GFP_KERNEL,
            )?;
            if t.live != t.addr {
                r.push(
                    Range {
                        start: t.live,
                        end: t.live + t.live_size,
                        name: Label::Target(t.target),
                        written: t.written(),
                    },
                    GFP_KERNEL,
                )?;
            }
        }
    }
    if reverse {
        // Anything else of the pack's code, such as new functions its replacements call. An
        // applied pack holds a reference to its own module, first of its pins.
        let (start, end) = e.pins.first().ok_or(EINVAL)?.text();
        r.push(
            Range {
                start,
                end,
                name: Label::Pack,
                written: (0, 0),
            },
            GFP_KERNEL,
        )?;
    }
    Ok(r)
}

/// How long one successful switch took, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SwitchTimes {
    /// From the start of the stopped section on the CPU doing the switch to its end.
    pause: u64,
    /// The stack check, part of `pause`.
    stack_check: u64,
    /// The commit, part of `pause`: holding every other CPU in an NMI and writing the jumps.
    commit: u64,
    /// The whole `stop_machine()` call: stopping the CPUs, the pause, letting them go.
    stop_machine: u64,
}

/// How long a try waits at least for the tasks it parks to reach their return to user space.
const PARK_WAIT_MS: u32 = 100;

/// The walk of every stack before the stop: `CodeBusy` if a task is in `ranges`.
fn prechecked(ranges: &[Range], scratch: &mut Scratch) -> core::result::Result<(), AbortCause> {
    match stackcheck::precheck(ranges, scratch) {
        Err(_) => Err(AbortCause::OutOfMemory),
        Ok(()) if scratch.busy > 0 => Err(AbortCause::CodeBusy),
        Ok(()) => Ok(()),
    }
}

/// Writable aliases of a target's jump and hop.
struct Aliases {
    jump: TextAlias<JMP_LEN>,
    hop: Option<TextAlias<HOP_LEN>>,
}

/// Writable aliases of the jump sites of `targets`, of `pack`. The sites stay mapped while
/// they live: vmlinux text, or modules pinned (while applied, or by `pins` for apply).
fn aliases_of(
    pack: &CStr,
    targets: &[TargetState],
) -> core::result::Result<KVec<Aliases>, AbortCause> {
    let mut aliases =
        KVec::with_capacity(targets.len(), GFP_KERNEL).map_err(|_| AbortCause::OutOfMemory)?;
    for t in targets {
        let jump = TextAlias::<JMP_LEN>::new(t.site).map_err(|e| alias_failure(pack, t.site, e))?;
        let hop = match t.hop {
            Some(h) => {
                Some(TextAlias::<HOP_LEN>::new(h.at).map_err(|e| alias_failure(pack, h.at, e))?)
            }
            None => None,
        };
        aliases
            .push(Aliases { jump, hop }, GFP_KERNEL)
            .map_err(|_| AbortCause::OutOfMemory)?;
    }
    Ok(aliases)
}

/// Why no writable alias of the text at `at` could be made: the kernel is short of memory, or
/// `at` is not mapped text any more, which a pinned module or vmlinux cannot be: the state the
/// action was prepared on is gone, and nothing is written.
fn alias_failure(pack: &CStr, at: usize, e: Error) -> AbortCause {
    if e == ENOMEM {
        return AbortCause::OutOfMemory;
    }
    pr_warn!("{pack:?}: text_changed: the jump site {at:#x} is not mapped text ({e:?}); nothing was written\n");
    AbortCause::TextChanged
}

/// The text ranges the switch of `targets` writes: each jump, and each hop.
fn written_sites(
    targets: &[TargetState],
) -> core::result::Result<KVec<(usize, usize)>, AbortCause> {
    let mut sites =
        KVec::with_capacity(targets.len(), GFP_KERNEL).map_err(|_| AbortCause::OutOfMemory)?;
    for t in targets {
        sites
            .push((t.site, t.site + JMP_LEN), GFP_KERNEL)
            .map_err(|_| AbortCause::OutOfMemory)?;
        if let Some(h) = t.hop {
            sites
                .push((h.at, h.at + HOP_LEN), GFP_KERNEL)
                .map_err(|_| AbortCause::OutOfMemory)?;
        }
    }
    Ok(sites)
}

/// Whether the bytes of `t`'s jump (and hop) are the ones `reverse` expects there: the saved
/// bytes to apply, the jump to reverse.
fn holds_expected(t: &TargetState, reverse: bool) -> bool {
    let mut live = [0u8; JMP_LEN];
    let jump_ok = text_patching::read(t.site, &mut live).is_ok()
        && live == if reverse { t.jump } else { t.before };
    let hop_ok = t.hop.is_none_or(|h| {
        let mut live = [0u8; HOP_LEN];
        text_patching::read(h.at, &mut live).is_ok()
            && live == if reverse { h.jump } else { h.before }
    });
    jump_ok && hop_ok
}

/// The name of `label`, read from `pack` (none in the tests of the stop alone).
fn name_in<'p>(pack: Option<&Pack<'p>>, label: Label) -> &'p CStr {
    match (pack, label) {
        (_, Label::Kernel(name)) => name,
        (Some(p), l) => l.name(p),
        (None, _) => c"?",
    }
}

/// What the apply of a replace pack gives back besides its own switch: the targets of the
/// packs it supersedes that it does not take over, written back to the kernel's code in the
/// same stop (with their aliases), and the sites those packs reserved against kprobes.
#[derive(Clone, Copy, Default)]
struct Superseded<'a> {
    released: &'a [TargetState],
    aliases: &'a [Aliases],
    sites: &'a [(usize, usize)],
}

/// One try of the switch under `stop_machine`; `pack` names the targets in the log.
#[expect(clippy::too_many_arguments)]
fn switch(
    hooks: Hooks,
    pack: Option<&Pack<'_>>,
    targets: &[TargetState],
    aliases: &[Aliases],
    reverse: bool,
    also: Superseded<'_>,
    ranges: &[Range],
    scratch: &mut Scratch,
) -> core::result::Result<SwitchTimes, AbortCause> {
    // No kprobe is registered, armed or optimized from the check of the sites to the record of
    // what they hold now (`reserved`).
    let kprobes = KprobesHeld::new();
    let on_site = |t: &&TargetState| {
        kprobes.registered(t.site, JMP_LEN)
            || t.hop.is_some_and(|h| kprobes.registered(h.at, HOP_LEN))
    };
    if let Some(t) = targets.iter().find(on_site) {
        pr_warn!(
            "text_changed: a kprobe is registered on the jump site of {:?} (armed or not, it runs a copy of the bytes there): remove it (tracefs kprobe_events, perf probe -d) and try again; nothing was written\n",
            name_in(pack, Label::Target(t.target))
        );
        return Err(AbortCause::TextChanged);
    }
    // Those sites are reserved while the packs that wrote them are applied: none can be there.
    if also.released.iter().any(|t| on_site(&t)) {
        pr_warn!("text_changed: a kprobe is registered on a jump site of a pack it replaces; nothing was written\n");
        return Err(AbortCause::TextChanged);
    }
    let sites = written_sites(targets)?;
    // Reserved before the jumps are written (so that nothing can fail after); given back if
    // the try fails.
    if !reverse {
        reserved::reserve(&kprobes, &sites).map_err(|_| AbortCause::OutOfMemory)?;
    }
    let r = stopped_switch(
        hooks, pack, targets, aliases, reverse, also, ranges, scratch,
    );
    let jumps_gone = if reverse { r.is_ok() } else { r.is_err() };
    if jumps_gone {
        reserved::release(&kprobes, &sites);
    }
    // The packs a replace pack superseded no longer hold their sites; it holds its own.
    if r.is_ok() {
        reserved::release(&kprobes, also.sites);
    }
    r
}

/// The stopped part of [`switch`].
#[expect(clippy::too_many_arguments)]
fn stopped_switch(
    hooks: Hooks,
    pack: Option<&Pack<'_>>,
    targets: &[TargetState],
    aliases: &[Aliases],
    reverse: bool,
    also: Superseded<'_>,
    ranges: &[Range],
    scratch: &mut Scratch,
) -> core::result::Result<SwitchTimes, AbortCause> {
    // Only the tests' switches, which have no hooks, have no pack.
    let name = pack.map_or(c"?", |p| p.name());
    let mut changed = None;
    let mut on_stop_path = None;
    let mut times = SwitchTimes {
        pause: 0,
        stack_check: 0,
        commit: 0,
        stop_machine: 0,
    };
    let start = Instant::now();
    let r = text_patching::stop_machine(|stopped| {
        let t0 = Instant::now();
        stackcheck::check(stopped, ranges, scratch);
        times.stack_check = since(t0);
        if scratch.busy > 0 {
            return Err(AbortCause::CodeBusy);
        }
        if hooks.run(name, Kind::Check, reverse).is_err() {
            return Err(AbortCause::HookFailed);
        }
        changed = first_changed(targets, &also, reverse);
        if changed.is_some() {
            return Err(AbortCause::TextChanged);
        }
        // No NMI runs while the jumps are written (`Stopped::commit`); a CPU that does not
        // take its NMI in time may be in another NMI, in a target: nothing is written, and
        // the try is made again.
        let t1 = Instant::now();
        let committed = stopped.commit(|c| {
            on_stop_path = on_the_stop_path(c, ranges);
            if on_stop_path.is_none() {
                // SAFETY: The stack check above found no task in `ranges`, the code of
                // `targets` and of the packs `also` supersedes, and no CPU goes on there.
                unsafe { write_switch(c, targets, aliases, &also, reverse) };
            }
        });
        times.commit = since(t1);
        committed.map_err(|_| AbortCause::NmiNotHeld)?;
        if on_stop_path.is_some() {
            return Err(AbortCause::CannotRedirect);
        }
        let _ = hooks.run(name, Kind::Do, reverse);
        times.pause = since(t0);
        Ok(())
    });
    times.stop_machine = since(start);
    if let Some(label) = changed {
        let name = name_in(pack, label);
        pr_warn!(
            "text_changed: the bytes at the jump site of {name:?} are not the ones checked: another code patcher (a kprobe?) wrote there; nothing was written\n"
        );
    }
    if let Some((cpu, label, addr)) = on_stop_path {
        let name = name_in(pack, label);
        pr_warn!(
            "cannot_redirect: CPU {cpu} goes on at {addr:#x} in {name:?} after the switch: the stop itself runs that code (the CPU stoppers and what they call), so splice cannot replace it; nothing was written\n"
        );
    }
    match r {
        Ok(Ok(())) => Ok(times),
        Ok(Err(cause)) => Err(cause),
        Err(_) => Err(AbortCause::OutOfMemory),
    }
}

/// The first of `targets` (or of the targets `also` releases) whose bytes at the jump are not
/// the ones this action was checked with (the jump, to reverse): another code patcher (a
/// kprobe, an optprobe) may have written there since, and writing over it would leave neither
/// whole.
fn first_changed(targets: &[TargetState], also: &Superseded<'_>, reverse: bool) -> Option<Label> {
    if let Some(t) = targets.iter().find(|t| !holds_expected(t, reverse)) {
        return Some(Label::Target(t.target));
    }
    also.released
        .iter()
        .any(|t| !holds_expected(t, true))
        .then_some(Label::Kernel(c"(a target of a pack it replaces)"))
}

/// The first CPU that goes on in `ranges` after the stop, with where: the CPUs go on where
/// their NMI found them, in the stop's own code (the CPU stoppers' wait and what calls it),
/// which runs, so no walk of the tasks saw it. Code in the ranges there would be returned
/// into halfway: nothing may be written.
fn on_the_stop_path(
    c: &text_patching::Committing,
    ranges: &[Range],
) -> Option<(usize, Label, usize)> {
    c.resume_addresses().find_map(|(cpu, at)| {
        let found = match at {
            Resume::At(a) => stackcheck::hit(ranges, a).map(|r| (r.name, a)),
            Resume::Unknown => Some((Label::Kernel(c"(a stack that could not be unwound)"), 0)),
        };
        found.map(|(name, a)| (cpu, name, a))
    })
}

/// Writes the switch: each target's jump and hop (or, to reverse, the bytes they replaced),
/// and gives the functions of the packs `also` supersedes that the action does not take over
/// their own code back, as a reverse of those packs would.
///
/// # Safety
///
/// No task and no CPU goes on in the bytes that change: the stack check found none in the
/// functions. Nothing runs a prefix before its hop is written, and a task stopped at the jump
/// there goes on into the function's code once it is `nop`s again.
unsafe fn write_switch(
    c: &text_patching::Committing,
    targets: &[TargetState],
    aliases: &[Aliases],
    also: &Superseded<'_>,
    reverse: bool,
) {
    for (t, alias) in targets.iter().zip(aliases) {
        let bytes = if reverse { &t.saved } else { &t.jump };
        // SAFETY: By the safety requirements.
        unsafe { c.write(&alias.jump, bytes) };
        if let (Some(h), Some(alias)) = (t.hop, &alias.hop) {
            let bytes = if reverse { &h.saved } else { &h.jump };
            // SAFETY: As for the jump; the hop is in the function.
            unsafe { c.write(alias, bytes) };
        }
    }
    for (t, alias) in also.released.iter().zip(also.aliases) {
        // SAFETY: By the safety requirements: the ranges hold the code of the packs `also`
        // supersedes.
        unsafe { c.write(&alias.jump, &t.saved) };
        if let (Some(h), Some(alias)) = (t.hop, &alias.hop) {
            // SAFETY: As for the jump.
            unsafe { c.write(alias, &h.saved) };
        }
    }
}

/// What arming a module's targets found: their states, the relocation writes into their
/// replacements, and their indices among the pack's targets.
pub(crate) struct Armed {
    pub(crate) targets: KVec<TargetState>,
    writes: KVec<Write>,
    pub(crate) indices: KVec<usize>,
}

/// Matches the targets of `e`'s applied pack that wait for `module` (`waiting`: their
/// indices), the module being loaded, against its code, and resolves their replacements'
/// relocations. Changes nothing.
pub(crate) fn arm(
    e: &Matching,
    module: &CStr,
    waiting: &[usize],
) -> core::result::Result<Armed, AbortCause> {
    let reg = &e.applied;
    let pack = e.pack();
    let res = resolve::match_pack(
        &pack,
        &|addr| reg.redirect(addr),
        &|_, _| {},
        Modules::Coming(module),
    )
    .map_err(|f| report(e.name(), &f))?;
    let oom = |_| AbortCause::OutOfMemory;
    let mut armed = Armed {
        targets: KVec::new(),
        writes: KVec::new(),
        indices: KVec::new(),
    };
    for (index, t) in pack.targets().enumerate() {
        if !waiting.contains(&index) {
            continue;
        }
        let Some(m) = res.functions.get(t.function).ok_or(AbortCause::BadPack)? else {
            continue;
        };
        let f = pack.function(t.function).ok_or(AbortCause::BadPack)?;
        let state = target_state(e, &pack, false, index, &t, m)?;
        let repl = state.repl;
        armed.targets.push(state, GFP_KERNEL).map_err(oom)?;
        armed.indices.push(index, GFP_KERNEL).map_err(oom)?;
        resolve_writes(
            e,
            &res,
            repl,
            f.object,
            t.first_reloc,
            t.reloc_count,
            &mut armed.writes,
        )?;
    }
    let of_module = |o: &crate::pack::Object<'_>| o.module.to_bytes() == module.to_bytes();
    fixup_writes(e, &res, of_module, &mut armed.writes)?;
    Ok(armed)
}

/// Redirects the targets `armed` found in a module being loaded: its code does not run yet
/// (its init has not), so no stop is needed. The relocations go into the replacements first
/// (unreached until the jumps are there), the sites are reserved against kprobes, and the
/// bytes there are those matched, or nothing is written.
pub(crate) fn write_armed(armed: &Armed) -> core::result::Result<(), AbortCause> {
    let kprobes = KprobesHeld::new();
    for t in armed.targets.iter() {
        let on_site = kprobes.registered(t.site, JMP_LEN)
            || t.hop.is_some_and(|h| kprobes.registered(h.at, HOP_LEN));
        if on_site || !holds_expected(t, false) {
            return Err(AbortCause::TextChanged);
        }
    }
    let sites = written_sites(&armed.targets)?;
    reserved::reserve(&kprobes, &sites).map_err(|_| AbortCause::OutOfMemory)?;
    for w in armed.writes.iter() {
        // SAFETY: The place lies in a replacement of the pack module (checked against its
        // size), which no CPU runs: no jump reaches it yet.
        unsafe { text_patching::write_unreached(w.place, &w.bytes[..w.len]) };
    }
    for t in armed.targets.iter() {
        // SAFETY: The site lies in the module being loaded, which stays while its notifiers
        // run and whose code no CPU runs before its init; the hop likewise.
        unsafe { text_patching::write_unreached(t.site, &t.jump) };
        if let Some(h) = t.hop {
            // SAFETY: As for the jump.
            unsafe { text_patching::write_unreached(h.at, &h.jump) };
        }
    }
    Ok(())
}

/// Gives back the kprobe reservations of `targets`, whose module goes.
pub(crate) fn release_sites(targets: &[TargetState]) {
    if let Ok(sites) = written_sites(targets) {
        reserved::release(&KprobesHeld::new(), &sites);
    }
}

/// Runs `action` on pack `id`. The caller holds [`registry::ACTIONS`], so no other action runs
/// meanwhile; `guard` is the registry lock, let go while the action sleeps between tries.
pub(crate) fn perform(
    mut guard: Guard,
    id: u64,
    action: Action,
    requester: Option<Requester>,
) -> Result {
    let e = guard.get(id).ok_or(ENODEV)?;
    if !action.valid_in(e.life.stage()) {
        return Err(EINVAL);
    }
    if action == Action::Apply {
        // The rules for loading modules as they are now: an unsigned pack loaded before
        // signatures were enforced or lockdown was raised is not applied under them.
        // SAFETY: `owner` is the live module of a registered pack: the registry lock is held.
        let allowed = unsafe { splice_module_code_allowed(e.owner.cast()) };
        if allowed != 0 {
            pr_warn!(
                "{:?}: not applied: its module {:?} is not signed, and signatures are enforced or the kernel is locked down ({allowed}); load a signed pack\n",
                e.name(),
                e.module()
            );
            return Err(Error::from_errno(allowed));
        }
    }
    let t0 = Instant::now();
    // The timings are those of this action only. While it runs, unregistering the pack waits
    // for it (`acting`).
    if let Some(e) = guard.get_mut(id) {
        e.timings = registry::Timings::default();
        e.acting = true;
    }
    let mut lock = ActionLock(Some(guard));
    let result = run(&mut lock, id, action, t0, requester);
    // Only actions change the stage, and this is the only one: it is still the one checked
    // above; `Life` moves it (or records the cause) and turns the cause into the error code.
    let e = lock.reg().get_mut(id).ok_or(ENODEV)?;
    e.acting = false;
    e.timings.total_ns = since(t0);
    log_outcome(e.name(), action, result);
    e.life.perform(action, || result)
}

/// One line in the kernel log for every action that changed the running kernel or failed:
/// what was done to which pack, or why not. The lines before it, if any, say where it failed.
fn log_outcome(name: &CStr, action: Action, result: core::result::Result<(), AbortCause>) {
    match (result, action) {
        (Ok(()), Action::Check) => {}
        (Ok(()), Action::Apply) => pr_info!("{name:?}: applied\n"),
        (Ok(()), Action::Reverse) => pr_info!("{name:?}: reversed\n"),
        (Err(cause), _) => pr_warn!("{name:?}: {} failed: {}\n", action.name(), cause.name()),
    }
}

type Guard = kernel::sync::GlobalGuard<registry::REGISTRY>;

/// The registry lock of an action: held only to read what the action needs and to record what
/// it did; let go during run-pre matching and from the pre hooks to the post or fail hooks (the
/// walks, the stop, the sleeps between tries), so sysfs readers and the loading of other packs
/// do not wait for an action. Nothing an action relies on changes meanwhile: actions are
/// serialized by [`registry::ACTIONS`], which unregistering the pack waits for (even a forced
/// unload, which ignores the pins: `Entry::acting`), and the pack's module is pinned.
struct ActionLock(Option<Guard>);

impl ActionLock {
    /// The registry, locked again if it was let go.
    fn reg(&mut self) -> &mut Guard {
        self.0.get_or_insert_with(registry::lock)
    }

    /// Runs `f` with the registry unlocked and returns what it returns.
    fn released<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.0 = None;
        let r = f();
        self.0 = Some(registry::lock());
        r
    }
}

fn run(
    lock: &mut ActionLock,
    id: u64,
    action: Action,
    t0: Instant,
    requester: Option<Requester>,
) -> core::result::Result<(), AbortCause> {
    let guard = lock.reg();
    let reverse = action == Action::Reverse;
    // What blocked an earlier action says nothing of this one, whatever its outcome.
    if let Some(e) = guard.get_mut(id) {
        e.conflicts.clear();
        e.busy = 0;
    }
    if reverse {
        not_under_another(guard, id)?;
    }
    let checked = if reverse {
        None
    } else {
        // Run-pre matching reads the pack and the kernel's code, not the registry: it runs
        // with the lock let go (sysfs readers and insmod of other packs do not wait for it),
        // on a copy of what it needs, the pack's module pinned.
        let m = guard
            .matching(id)
            .map_err(|_| AbortCause::OutOfMemory)?
            .ok_or(AbortCause::BadPack)?;
        let c = lock.released(|| check(&m));
        drop(m);
        let c = c?;
        let guard = lock.reg();
        if let Some(e) = guard.get_mut(id) {
            e.timings.match_ns = since(t0);
            // What this check found stays listed if the apply fails after it.
            e.targets.clear();
            e.targets
                .extend_from_slice(&c.targets, GFP_KERNEL)
                .map_err(|_| AbortCause::OutOfMemory)?;
        }
        Some(c)
    };
    if action == Action::Check {
        // The targets were listed above.
        return Ok(());
    }
    let p = prepare(lock.reg(), id, reverse, checked)?;
    let mut scratch = Scratch::new(requester).map_err(|_| AbortCause::OutOfMemory)?;
    // From here to the record of the outcome, the registry is let go: the hooks, the walks of
    // the stacks, the stop and the sleeps between tries hold no lock a reader or the loading
    // of another pack waits for.
    let done = lock.released(|| switch_with_tries(&p, &mut scratch));
    record(lock.reg(), id, p, done, &scratch)
}

/// Refuses to reverse pack `id` while another pack applied after it replaces one of its
/// targets: reversing it would cut that one off.
fn not_under_another(guard: &Guard, id: u64) -> core::result::Result<(), AbortCause> {
    let e = guard.get(id).ok_or(AbortCause::BadPack)?;
    for t in e.targets.iter() {
        if let Some((top, _)) = guard.owner_of(t.addr) {
            if top != id {
                let top_name = guard.get(top).map_or(c"?", |o| o.name());
                pr_warn!(
                    "{:?}: conflicting_pack: {:?} is applied on top of it ({:?}); reverse that first\n",
                    e.name(),
                    top_name,
                    e.pack().target_name(t.target)
                );
                return Err(AbortCause::ConflictingPack);
            }
        }
    }
    Ok(())
}

/// What an apply or a reverse needs of its pack, copied out of the registry before the
/// registry is let go.
struct Prepared {
    /// The pack: unregistering it waits for the action, so its module outlives the copy.
    held: Held,
    owner: *mut bindings::module,
    hooks: Hooks,
    reverse: bool,
    /// Those of the check for apply, those applied for reverse.
    targets: KVec<TargetState>,
    /// For a replace pack: the targets of the packs it supersedes that it gives back to the
    /// kernel's code, written (as a reverse writes) in the same stop ([`released_by`]); the
    /// packs; and the sites they reserved against kprobes, given back when it went through.
    released: KVec<TargetState>,
    superseded: KVec<u64>,
    superseded_sites: KVec<(usize, usize)>,
    /// Targets armed for their module's load ([`Checked::waiting`]).
    waiting: KVec<usize>,
    /// Whether the pack patches modules when they load: it keeps no module pinned but its
    /// own, and a target module may go and come back while it is applied.
    on_load: bool,
    /// For apply: the pack's own module and the modules it patches, kept while applied.
    pins: KVec<ModuleRef>,
    ranges: KVec<Range>,
    park: bool,
    tries: u32,
    retry_delay_ms: u32,
}

/// Copies what the action needs out of the registry, pins the modules an apply keeps, and
/// writes the resolved relocations into the pack's (unreachable) code.
fn prepare(
    guard: &Guard,
    id: u64,
    reverse: bool,
    mut checked: Option<Checked>,
) -> core::result::Result<Prepared, AbortCause> {
    let e = guard.get(id).ok_or(AbortCause::BadPack)?;
    let mut targets: KVec<TargetState> = KVec::new();
    targets
        .extend_from_slice(&e.targets, GFP_KERNEL)
        .map_err(|_| AbortCause::OutOfMemory)?;
    let mut pins = KVec::new();
    if !reverse {
        // SAFETY: `owner` is the live module of a registered pack: the registry lock is held.
        let own = unsafe { ModuleRef::get(e.owner) }.ok_or(AbortCause::BadPack)?;
        pins.push(own, GFP_KERNEL)
            .map_err(|_| AbortCause::OutOfMemory)?;
        // The target modules were pinned before matching read their code; a target in
        // module text outside them is not the code that was matched.
        if let Some(c) = checked.as_mut() {
            for m in core::mem::take(&mut c.modules) {
                pins.push(m, GFP_KERNEL)
                    .map_err(|_| AbortCause::OutOfMemory)?;
            }
        }
        for t in targets.iter() {
            let Some(m) = kernel::module_ref::text_owner(t.addr) else {
                continue;
            };
            if !pins.iter().any(|p: &ModuleRef| p.as_ptr() as usize == m) {
                pr_warn!(
                    "{:?}: target_not_loaded: {:?} lies in a module that was not matched\n",
                    e.name(),
                    e.pack().target_name(t.target)
                );
                return Err(AbortCause::TargetNotLoaded);
            }
        }
        if let Some(c) = &checked {
            for w in c.writes.iter() {
                // SAFETY: The place lies in a replacement of the pack module (checked against
                // its size), which no CPU runs: the pack is not applied.
                unsafe { text_patching::write_unreached(w.place, &w.bytes[..w.len]) };
            }
        }
    }
    let mut ranges = ranges(e, &targets, reverse).map_err(|_| AbortCause::OutOfMemory)?;
    let (released, superseded, waiting) = match checked.as_mut() {
        Some(c) => (
            core::mem::take(&mut c.released),
            core::mem::take(&mut c.superseded),
            core::mem::take(&mut c.waiting),
        ),
        None => (KVec::new(), KVec::new(), KVec::new()),
    };
    // No task may be in the code of a pack it supersedes, which goes back to `reversed` and
    // may be unloaded (as for a reverse of that pack), and their sites are given back.
    let mut superseded_sites = KVec::new();
    for &sid in superseded.iter() {
        let s = guard.get(sid).ok_or(AbortCause::BadPack)?;
        let oom = |_| AbortCause::OutOfMemory;
        superseded_sites
            .extend_from_slice(&written_sites(&s.targets)?, GFP_KERNEL)
            .map_err(oom)?;
        let (start, end) = s.pins.first().ok_or(AbortCause::BadPack)?.text();
        ranges
            .push(
                Range {
                    start,
                    end,
                    name: Label::Kernel(c"(code of a pack it replaces)"),
                    written: (0, 0),
                },
                GFP_KERNEL,
            )
            .map_err(oom)?;
    }
    Ok(Prepared {
        released,
        superseded,
        superseded_sites,
        waiting,
        on_load: e.pack().patches_on_load(),
        // SAFETY: Unregistering the pack (its module's exit) waits for its action
        // (`registry::ACTIONS`, `Entry::acting`), which this copy does not outlive.
        held: unsafe { e.held.share() },
        owner: e.owner,
        hooks: e.hooks,
        reverse,
        targets,
        pins,
        ranges,
        park: guard.park,
        tries: guard.tries.max(1),
        retry_delay_ms: guard.retry_delay_ms,
    })
}

/// The pre hooks, then tries of the switch until one goes through, the code stays busy
/// after the last try, or another cause stops it; the fail hooks run if it did not go
/// through, the post hooks if it did. Runs with the registry let go: the pack cannot go
/// meanwhile (its module is pinned, and unregistering waits for [`registry::ACTIONS`]).
/// `scratch` keeps what the last walk of the stacks found.
fn switch_with_tries(p: &Prepared, scratch: &mut Scratch) -> Done {
    let mut parking = None;
    let mut tries = 0;
    let outcome = (|| {
        // From here on every way out but success runs the fail hooks (`FailHooks`), before
        // this returns.
        let pack = p.held.pack();
        let mut fail_hooks = FailHooks::new(p.hooks, pack.name(), p.reverse);
        if p.hooks.run(pack.name(), Kind::Pre, p.reverse).is_err() {
            // The pre hooks before the failing one may have done something to undo.
            return Err(AbortCause::HookFailed);
        }
        if p.park {
            parking = Some(Parking::new().map_err(|_| AbortCause::OutOfMemory)?);
        }
        let r = try_switch(p, scratch, parking.as_mut(), &mut tries);
        if r.is_ok() {
            // Switched: whatever follows, the pre hooks' work is not to be undone.
            fail_hooks.disarm();
            let _ = p.hooks.run(pack.name(), Kind::Post, p.reverse);
        }
        r
    })();
    // The parked tasks go on (as `parking` goes), into the code that is current now.
    Done {
        outcome,
        tries,
        parked: parking.as_ref().map_or(0, |p| p.arrived()),
    }
}

/// How an apply or reverse ended ([`switch_with_tries`]).
struct Done {
    outcome: core::result::Result<SwitchTimes, AbortCause>,
    tries: u32,
    /// Tasks moved out of the code ([`crate::park`]).
    parked: usize,
}

/// Tries the switch up to `p.tries` times, counting them in `attempt`.
fn try_switch(
    p: &Prepared,
    scratch: &mut Scratch,
    mut parking: Option<&mut Parking>,
    attempt: &mut u32,
) -> core::result::Result<SwitchTimes, AbortCause> {
    loop {
        *attempt += 1;
        // Every stack is walked first while tasks run; a task found in the code makes this
        // try busy without stopping the machine, and inside the stop only the tasks that ran
        // since are walked again.
        let mut r = prechecked(&p.ranges, scratch);
        // Tasks asleep in the code that return to user space are sent a fake signal and held
        // on their way out; once they are there, the stacks are walked again.
        if let (Err(AbortCause::CodeBusy), Some(park)) = (r, parking.as_deref_mut()) {
            let mut moved = false;
            for t in scratch.parkable.iter() {
                moved |= park.park(t);
            }
            if moved {
                park.wait_arrived(PARK_WAIT_MS.max(p.retry_delay_ms));
                r = prechecked(&p.ranges, scratch);
            }
        }
        let r = r.and_then(|()| {
            // Writable aliases of the jump sites for this try only, mapped before the stop
            // (mapping may sleep) and unmapped when it ends (`TextAlias`).
            let pack = p.held.pack();
            let aliases = aliases_of(pack.name(), &p.targets)?;
            let released = aliases_of(pack.name(), &p.released)?;
            let also = Superseded {
                released: &p.released,
                aliases: &released,
                sites: &p.superseded_sites,
            };
            switch(
                p.hooks,
                Some(&pack),
                &p.targets,
                &aliases,
                p.reverse,
                also,
                &p.ranges,
                scratch,
            )
        });
        if !matches!(r, Err(AbortCause::CodeBusy | AbortCause::NmiNotHeld)) || *attempt >= p.tries {
            if let Err(cause @ (AbortCause::CodeBusy | AbortCause::NmiNotHeld)) = r {
                pr_warn!(
                    "{:?}: {} after {} tries\n",
                    p.held.pack().name(),
                    cause.name(),
                    *attempt
                );
            }
            return r;
        }
        // Let the blocking tasks move on.
        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(i64::from(
            p.retry_delay_ms,
        )));
    }
}

/// Records the outcome of an apply or reverse in the registry.
fn record(
    guard: &mut Guard,
    id: u64,
    p: Prepared,
    done: Done,
    scratch: &Scratch,
) -> core::result::Result<(), AbortCause> {
    let seq = guard.next_seq;
    if done.outcome.is_ok() && !p.reverse {
        guard.next_seq += 1;
    }
    let e = guard.get_mut(id).ok_or(AbortCause::BadPack)?;
    e.timings.tries = done.tries;
    e.timings.parked = done.parked as u64;
    e.conflicts.clear();
    e.busy = scratch.busy;
    let _ = e
        .conflicts
        .extend_from_slice(&scratch.conflicts, GFP_KERNEL);
    let times = done.outcome?;
    e.timings.pause_ns = times.pause;
    e.timings.stack_check_ns = times.stack_check;
    e.timings.commit_ns = times.commit;
    e.timings.stop_walks = scratch.walked as u64;
    e.timings.stop_machine_ns = times.stop_machine;
    if p.reverse {
        crate::shadow::free_owned_by(p.owner);
        // Lets the pack module and the modules it patched go.
        e.pins = KVec::new();
        e.applied_seq = 0;
        e.waiting = KVec::new();
    } else {
        // An oops report says the kernel runs code a pack changed, as for livepatch.
        if let Some(own) = p.pins.first() {
            own.taint_livepatch();
        }
        e.targets = p.targets;
        e.pins = p.pins;
        e.applied_seq = seq;
        e.waiting = p.waiting;
        if p.on_load {
            // The target modules may go (their targets then wait for them again,
            // `crate::modules`); the pack's own module stays.
            e.pins.truncate(1);
        }
    }
    // A replace pack went through: the packs it supersedes are reversed, as if each had been
    // (their hooks do not run: its own take over what theirs did), and may be unloaded.
    let by = p.held.pack();
    for &sid in p.superseded.iter() {
        let Some(s) = guard.get_mut(sid) else {
            continue;
        };
        crate::shadow::free_owned_by(s.owner);
        s.pins = KVec::new();
        s.applied_seq = 0;
        s.waiting = KVec::new();
        s.life.superseded();
        pr_info!("{:?}: superseded by {:?}; reversed\n", s.name(), by.name());
    }
    Ok(())
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_patch)]
mod tests {
    use super::*;
    use kernel::kallsyms;

    #[test]
    fn calls_under_the_jump() {
        // push %rbx; call *%rax; mov %rdi,%rax: the call returns to offset 3, under the jump.
        let code = [0x53, 0xff, 0xd0, 0x48, 0x89, 0xf8, 0xc3, 0xcc];
        assert_eq!(call_ends_under_jump(&code), Some(true));
        // call rel32 first: it returns to offset 5, where the jump ends.
        let code = [0xe8, 0, 0, 0, 0, 0x53, 0xc3, 0xcc];
        assert_eq!(call_ends_under_jump(&code), Some(false));
        // push %rbx; mov %rdi,%rax; call *%rax: returns to offset 6, past the jump.
        let code = [0x53, 0x48, 0x89, 0xf8, 0xff, 0xd0, 0xc3, 0xcc];
        assert_eq!(call_ends_under_jump(&code), Some(false));
        // push %rbx; push %rax (0xff group 5, not a call); mov %rdi,%rax.
        let code = [0x53, 0xff, 0xf0, 0x48, 0x89, 0xf8, 0xc3, 0xcc];
        assert_eq!(call_ends_under_jump(&code), Some(false));
        // Truncated code does not decode.
        assert_eq!(call_ends_under_jump(&[0x53, 0xe8, 0]), None);
    }

    /// Code the test writes over (never called).
    #[inline(never)]
    fn victim(x: u64) -> u64 {
        core::hint::black_box(x).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5a5a
    }

    /// `victim` as a target whose site was checked holding `saved`, to be written `jump`.
    fn victim_target(saved: [u8; JMP_LEN], jump: [u8; JMP_LEN]) -> TargetState {
        let site = victim as *const () as usize;
        TargetState {
            target: 0,
            addr: site,
            size: 0,
            live: site,
            live_size: 0,
            site,
            saved,
            jump,
            before: saved,
            hop: None,
            repl: 0,
            repl_size: 0,
        }
    }

    /// A jump site that is not mapped text (a freed page stands for the text of a module that
    /// went) fails the switch as `text_changed`, not as a shortage of memory.
    #[test]
    fn an_unmapped_site_is_text_changed() -> Result {
        let page = VBox::new([0x90u8; 4096], GFP_KERNEL)?;
        let gone = page.as_ptr() as usize;
        drop(page);
        let mut t = victim_target([0x90; JMP_LEN], [0x90; JMP_LEN]);
        t.site = gone;
        assert!(matches!(
            aliases_of(c"test", &[t]),
            Err(AbortCause::TextChanged)
        ));
        t.site = victim as *const () as usize;
        assert!(aliases_of(c"test", &[t]).is_ok());
        Ok(())
    }

    /// `switch` as an action tries it: again while a CPU did not take the commit NMI in time
    /// (`nmi_not_held`, which a loaded host running the test guest can cause), at most 20
    /// times.
    fn switch_retrying(
        t: TargetState,
        alias: &Aliases,
        ranges: &[Range],
        scratch: &mut Scratch,
    ) -> core::result::Result<SwitchTimes, AbortCause> {
        // SAFETY: An empty table.
        let hooks = unsafe { Hooks::new(core::ptr::null(), 0) };
        let mut r = Err(AbortCause::NmiNotHeld);
        for _ in 0..20 {
            r = switch(
                hooks,
                None,
                &[t],
                core::slice::from_ref(alias),
                false,
                Superseded::default(),
                ranges,
                scratch,
            );
            if !matches!(r, Err(AbortCause::NmiNotHeld)) {
                break;
            }
        }
        r
    }

    /// The stop writes a jump only over the bytes it was checked with: when another patcher
    /// changed them, the try is `text_changed` and nothing is written.
    #[test]
    fn bytes_changed_since_the_check_are_not_written_over() -> Result {
        let site = victim as *const () as usize;
        let mut before = [0u8; JMP_LEN];
        text_patching::read(site, &mut before)?;
        let nop5 = [0x0f, 0x1f, 0x44, 0x00, 0x00];
        assert_ne!(before, nop5);
        let mut t = victim_target([0xcc; JMP_LEN], nop5);
        let alias = Aliases {
            jump: TextAlias::<JMP_LEN>::new(site)?,
            hop: None,
        };
        let mut scratch = Scratch::new(None)?;
        let mut apply = |t: TargetState| switch_retrying(t, &alias, &[], &mut scratch);
        let r = apply(t);
        assert!(matches!(r, Err(AbortCause::TextChanged)));
        let mut after = [0u8; JMP_LEN];
        text_patching::read(site, &mut after)?;
        assert_eq!(after, before);
        // Checked with the bytes that are there: the write goes through (here it writes
        // them again).
        t.saved = before;
        t.before = before;
        t.jump = before;
        assert!(apply(t).is_ok());
        text_patching::read(site, &mut after)?;
        assert_eq!(after, before);
        // What the successful try reserved, as a reverse would give it back.
        reserved::release(&KprobesHeld::new(), &[(site, site + JMP_LEN)]);
        Ok(())
    }

    /// Code the stop runs itself is never written: every CPU goes on inside
    /// `multi_cpu_stop()` (its CPU stopper's loop) once the commit is over, and no walk of the
    /// tasks sees that, as those tasks run. The try is `cannot_redirect`, nothing written.
    #[test]
    fn code_of_the_stop_itself_is_not_written() -> Result {
        let site = victim as *const () as usize;
        let mut before = [0u8; JMP_LEN];
        text_patching::read(site, &mut before)?;
        // Would be written if the stop path were not checked: the bytes with the first one
        // changed.
        let t = victim_target(before, [0xcc, before[1], before[2], before[3], before[4]]);
        let stop = kallsyms::lookup_name(c"multi_cpu_stop").ok_or(ENOENT)?;
        let (size, _) = kallsyms::size_offset(stop).ok_or(ENOENT)?;
        let ranges = [Range {
            start: stop,
            end: stop + size,
            name: Label::Kernel(c"multi_cpu_stop"),
            written: (0, 0),
        }];
        let alias = Aliases {
            jump: TextAlias::<JMP_LEN>::new(site)?,
            hop: None,
        };
        let mut scratch = Scratch::new(None)?;
        let r = switch_retrying(t, &alias, &ranges, &mut scratch);
        assert!(matches!(r, Err(AbortCause::CannotRedirect)));
        let mut after = [0u8; JMP_LEN];
        text_patching::read(site, &mut after)?;
        assert_eq!(after, before);
        Ok(())
    }

    /// A function too short for a jump gets one at the start of its prefix, the `nop`s before
    /// it, and a short jump there from its entry: `simple_strtoul()` (`endbr64; jmp
    /// simple_strtoull`, two bytes after its entry).
    #[test]
    fn a_short_function_jumps_from_its_prefix() -> Result {
        let addr = kallsyms::lookup_name(c"simple_strtoul").ok_or(ENOENT)?;
        let island = prefix_island(addr, addr + 4, c"simple_strtoul");
        assert_eq!(island, Ok(addr - 16));
        // The prefix is another function's name: no island.
        let other = prefix_island(addr, addr + 4, c"simple_strtoull");
        assert!(matches!(other, Err((AbortCause::CannotRedirect, _))));
        // The hop reaches back 128 bytes from its end, no more.
        assert_eq!(short_jump(addr + 4, addr - 16), Some([0xeb, 0xea]));
        assert_eq!(short_jump(addr + 126, addr), Some([0xeb, 0x80]));
        assert_eq!(short_jump(addr + 127, addr), None);
        assert!(prefix_island(addr, addr + 200, c"simple_strtoul").is_err());
        Ok(())
    }

    /// A prefix holds the jump when it is all nops, or nops for the jump and then the call
    /// depth accounting thunk of the function (`retbleed=stuff`: 7 nops, then the 9-byte
    /// `sarq $5,%gs:__x86_call_depth(%rip)`); not when the thunk leaves too few nops, nor when
    /// the nops end in anything else (FineIBT's hash, a kprobe's `int3`).
    #[test]
    fn a_prefix_holds_a_jump_before_a_call_thunk() {
        let thunk = [0x65, 0x48, 0xc1, 0x3d, 1, 2, 3, 4, 5];
        let mut prefix = [0x90u8; 16];
        assert!(prefix_holds_island(&prefix, |_| false));
        prefix[7..].copy_from_slice(&thunk);
        assert!(prefix_holds_island(&prefix, |at| at == 7));
        assert!(!prefix_holds_island(&prefix, |_| false));
        let mut short = [0x90u8; 12];
        short[4..12].copy_from_slice(&thunk[..8]);
        assert!(!prefix_holds_island(&short, |at| at == 4));
    }

    /// A target as the tests of replace packs lay them out: `saved` before it, `jump` written.
    fn laid(
        addr: usize,
        saved: [u8; JMP_LEN],
        jump: [u8; JMP_LEN],
        hop: Option<Hop>,
    ) -> TargetState {
        TargetState {
            target: 0,
            addr,
            size: 32,
            live: addr,
            live_size: 32,
            site: addr + 4,
            saved,
            jump,
            before: saved,
            hop,
            repl: 0x9000,
            repl_size: 16,
        }
    }

    /// A replace pack is matched against the kernel's own code under the packs it replaces:
    /// in a copy of live code, each jump and hop as the first pack over the function saved
    /// them (not the bytes of a pack stacked on it); and it gives the kernel's code back to
    /// what they redirect and it does not carry, from the jump of the pack on top.
    #[test]
    fn a_replace_pack_sees_and_gives_back_the_kernels_own_code() -> Result {
        let (a, b) = (0x1000usize, 0x2000usize);
        let hop = Hop {
            at: a + 2,
            saved: [7, 8],
            jump: [0xeb, 0xf0],
            before: [7, 8],
        };
        let bottom = laid(a, [1, 2, 3, 4, 5], [0xe9, 0, 0, 0, 0], Some(hop));
        let top = laid(a, [0xe9, 0, 0, 0, 0], [0xe9, 1, 1, 1, 1], None);
        let other = laid(b, [9; JMP_LEN], [0xe9, 2, 2, 2, 2], None);
        let applied = registry::Applied::of(&[(1, 10, bottom), (2, 11, top), (3, 12, other)])?;
        let mut code = [0xccu8; 16];
        applied.own_code(a, &mut code);
        assert_eq!(code[..2], [0xcc, 0xcc]);
        assert_eq!(code[2..4], [7, 8]);
        assert_eq!(code[4..9], [1, 2, 3, 4, 5]);
        assert_eq!(code[9..], [0xcc; 7]);
        // It carries `a` alone: `b` is given back, and the three packs are superseded.
        let (released, superseded) =
            released_by(&applied, &[13], &[laid(a, [0; 5], [0; 5], None)]).map_err(|_| EINVAL)?;
        assert_eq!(released.len(), 1);
        assert_eq!((released[0].addr, released[0].saved), (b, [9; JMP_LEN]));
        assert_eq!(released[0].jump, [0xe9, 2, 2, 2, 2]);
        // Pack 13 is applied with no target redirected (they wait for their module).
        assert_eq!(superseded[..], [13, 10, 11, 12]);
        Ok(())
    }

    #[test]
    fn noinstr_idle_and_entry_code() {
        // The C side of system call entry is noinstr; its assembly side is entry text.
        let c_entry = kallsyms::lookup_name(c"do_syscall_64");
        assert!(c_entry.is_some_and(|a| noinstr(a) && !idle_or_entry(a)));
        assert!(c_entry.is_some_and(|a| !module_noinstr(a)));
        let asm_entry = kallsyms::lookup_name(c"entry_SYSCALL_64");
        assert!(asm_entry.is_some_and(|a| idle_or_entry(a) && !noinstr(a)));
        // Idle code lies within the noinstr range, and is refused.
        let idle = kallsyms::lookup_name(c"default_idle");
        assert!(idle.is_some_and(|a| idle_or_entry(a) && !noinstr(a)));
        let ordinary = kallsyms::lookup_name(c"schedule");
        assert!(ordinary.is_some_and(|a| !noinstr(a) && !idle_or_entry(a)));
    }
}
