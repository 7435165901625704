// SPDX-License-Identifier: GPL-2.0

//! Run-pre matching of a whole pack against the running kernel, and resolution of the
//! relocations of the pack's replacement code with what the matching learned.
//!
//! Every pre function is tried at each address kallsyms knows for its name (in vmlinux, or in
//! the module its object is built into). Functions with fewer candidates go first so that what
//! they teach narrows the others down. Each function must match at one candidate, a target
//! at exactly one, and all values learned from all functions must agree: this proves the
//! running code is the code the pack was made from, and finds `static` and duplicate-name
//! symbols without trusting names.

use crate::matcher::{self, Learner, Matched, Mismatch};
use crate::pack::{Pack, Reloc, RelocType};
use core::ops::ControlFlow;
use kernel::alloc::AllocError;
use kernel::module_ref::ModuleRef;
use kernel::prelude::*;
use kernel::{kallsyms, text_patching};

/// A symbol name, in the blob of the pack being matched ([`crate::pack::Held`]).
pub(crate) type Name<'a> = &'a CStr;

/// How a symbol is known: a local (static) one by its object and name, a global one by name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key<'a> {
    object: Option<usize>,
    name: Name<'a>,
}

impl<'a> Key<'a> {
    fn same(&self, other: &Key<'_>) -> bool {
        self.object == other.object && self.name.to_bytes() == other.name.to_bytes()
    }

    fn of(reloc: &Reloc<'a>, object: usize) -> Self {
        Key {
            object: reloc.local.then_some(object),
            name: reloc.symbol,
        }
    }
}

/// Symbol values learned from the live code.
pub(crate) struct Learned<'a> {
    entries: KVec<(Key<'a>, u64)>,
}

impl<'a> Learned<'a> {
    pub(crate) fn new() -> Self {
        Self {
            entries: KVec::new(),
        }
    }

    pub(crate) fn get(&self, key: &Key<'_>) -> Option<u64> {
        self.entries
            .iter()
            .find(|(k, _)| k.same(key))
            .map(|&(_, v)| v)
    }

    /// Learns that `key` is at `value`. A function an applied pack replaced is reached in the
    /// live code at its own address or at its replacement's (`redirect`): a replacement calls
    /// another replacement of its pack directly. Both are the function as it is now, and the
    /// function's own address is kept.
    fn set(
        &mut self,
        key: Key<'a>,
        value: u64,
        redirect: &dyn Fn(usize) -> Option<usize>,
    ) -> core::result::Result<(), &'static str> {
        let replaced_by = |f: u64, r: u64| redirect(f as usize) == Some(r as usize);
        let Some(i) = self.entries.iter().position(|(k, _)| k.same(&key)) else {
            return self
                .entries
                .push((key, value), GFP_KERNEL)
                .map_err(|_| matcher::OUT_OF_MEMORY);
        };
        let v = self.entries[i].1;
        if v == value || replaced_by(v, value) {
            Ok(())
        } else if replaced_by(value, v) {
            self.entries[i].1 = value;
            Ok(())
        } else {
            Err("symbol value contradicts an earlier value")
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Learns into a [`Learned`] on behalf of one object; can be rolled back.
struct Scope<'s, 'a> {
    learned: &'s mut Learned<'a>,
    object: usize,
    /// Where applied packs took functions to ([`Learned::set`]).
    redirect: &'s dyn Fn(usize) -> Option<usize>,
}

impl<'a> Learner<'a> for Scope<'_, 'a> {
    fn learn(&mut self, reloc: &Reloc<'a>, value: u64) -> core::result::Result<(), &'static str> {
        match merged_constant_matches(reloc.symbol.to_bytes(), value) {
            Err(AllocError) => return Err(matcher::OUT_OF_MEMORY),
            Ok(false) => return Err("string or constant differs from the pre code's"),
            Ok(true) => {}
        }
        self.learned
            .set(Key::of(reloc, self.object), value, self.redirect)
    }

    fn start_of(&self, reloc: &Reloc<'a>, addr: u64) -> Option<u64> {
        let mut start = None;
        let mut each = |a: usize| {
            if matches!(kallsyms::size_offset(a), Some((size, 0)) if (a..a + size).contains(&(addr as usize)))
            {
                start = Some(a as u64);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        };
        // vmlinux's functions; a module's keep the pre offset's answer.
        kallsyms::for_each_vmlinux_match(reloc.symbol, &mut each);
        start
    }

    fn lock_prefixes_may_change(&self) -> bool {
        kernel::text_patching::lock_prefixes_may_change()
    }

    fn call_thunk_of(&self, addr: u64) -> Option<u64> {
        let addr = usize::try_from(addr).ok()?;
        kernel::text_patching::call_thunk_of(addr).map(|f| f as u64)
    }
}

/// Whether `value` points at the string or constant a symbol name of the form `.str1.1:text`
/// or `.cst8:hex` describes (other names: yes). The linker merges equal strings and
/// constants across the kernel, so the pack names them by content (see
/// `Documentation/splice/pack-format.rst`), and their content is part of the match. A
/// failed allocation is an error, not a mismatch.
fn merged_constant_matches(name: &[u8], value: u64) -> core::result::Result<bool, AllocError> {
    let Some(colon) = name.iter().position(|&b| b == b':') else {
        return Ok(true);
    };
    let (kind, content) = (&name[..colon], &name[colon + 1..]);
    let mut want = KVec::new();
    if kind.starts_with(b".str") {
        let mut i = 0;
        while i < content.len() {
            let b = if content[i] == b'\\' {
                let hex = content
                    .get(i + 2..i + 4)
                    .and_then(|h| core::str::from_utf8(h).ok());
                let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    return Ok(false);
                };
                i += 4;
                b
            } else {
                i += 1;
                content[i - 1]
            };
            want.push(b, GFP_KERNEL)?;
        }
        // The string ends where the pre code's did.
        want.push(0, GFP_KERNEL)?;
    } else if kind.starts_with(b".cst") {
        for pair in content.chunks(2) {
            let hex = core::str::from_utf8(pair).ok();
            let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                return Ok(false);
            };
            want.push(b, GFP_KERNEL)?;
        }
    } else {
        return Ok(true);
    }
    let mut live = KVec::from_elem(0u8, want.len(), GFP_KERNEL)?;
    Ok(text_patching::read(value as usize, &mut live).is_ok() && live[..] == want[..])
}

/// Where a pre function matched.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FunctionMatch {
    /// The function's entry in the running kernel.
    pub(crate) addr: usize,
    /// Its size according to kallsyms.
    pub(crate) size: usize,
    /// The code that was compared: `addr`, or the replacement an applied pack redirects it to.
    pub(crate) live: usize,
    pub(crate) live_size: usize,
    pub(crate) matched: Matched,
}

/// Why a pack does not fit the running kernel.
#[derive(Debug)]
pub(crate) enum Failure<'a> {
    NoMatch(Name<'a>, Option<(usize, Mismatch)>),
    /// No symbol of the function's name (the function, then its object).
    NoSymbol(Name<'a>, Name<'a>),
    Ambiguous(Name<'a>, usize),
    /// More symbols of the name than matching tries ([`MAX_CANDIDATES`]).
    TooMany(Name<'a>),
    NotLoaded(Name<'a>),
    /// The target's module is being loaded (its init runs).
    Loading(Name<'a>),
    Unresolved(Name<'a>),
    OutOfMemory,
}

/// Where a function's pre code matches among its candidates.
enum Candidates {
    One(FunctionMatch),
    /// How many, and the first.
    Several(usize, FunctionMatch),
    /// The first candidate that did not match, and why.
    None(Option<(usize, Mismatch)>),
}

/// How matching reads the running kernel's code ([`match_pack`]).
#[derive(Clone, Copy)]
struct View<'v> {
    redirect: &'v dyn Fn(usize) -> Option<usize>,
    own_code: &'v dyn Fn(usize, &mut [u8]),
}

/// Tries `code` with `relocs` at each of `cands` (all, or only `known` if its address was
/// learned). Each candidate learns on its own and the learning is rolled back: the caller
/// learns again from the one it keeps.
fn match_function<'a>(
    code: &[u8],
    relocs: &[Reloc<'a>],
    cands: &[usize],
    known: Option<u64>,
    object: usize,
    learned: &mut Learned<'a>,
    view: View<'_>,
) -> core::result::Result<Candidates, Failure<'a>> {
    let View { redirect, own_code } = view;
    let mut winner: Option<FunctionMatch> = None;
    let mut wins = 0usize;
    let mut first_miss = None;
    for &addr in cands {
        // Known by the live code: at its address, or at its replacement's ([`Learned::set`]).
        if known.is_some_and(|k| k != addr as u64 && redirect(addr) != Some(k as usize)) {
            continue;
        }
        let live = redirect(addr).unwrap_or(addr);
        let (size, live_size) = match (kallsyms::size_offset(addr), kallsyms::size_offset(live)) {
            (Some((s, 0)), Some((ls, 0))) => (s, ls),
            _ => continue,
        };
        let mut live_bytes = live_code(live, live_size)?;
        own_code(live, &mut live_bytes);
        let mark = learned.len();
        let r = matcher::match_code(
            code,
            relocs,
            &live_bytes,
            live as u64,
            &mut Scope {
                learned,
                object,
                redirect,
            },
        );
        learned.entries.truncate(mark);
        match r {
            Ok(matched) => {
                wins += 1;
                winner.get_or_insert(FunctionMatch {
                    addr,
                    size,
                    live,
                    live_size,
                    matched,
                });
            }
            // An allocation failure says nothing of the code: it is not a no_match.
            Err(m) if m.out_of_memory() => return Err(Failure::OutOfMemory),
            Err(m) => {
                first_miss.get_or_insert((addr, m));
            }
        }
    }
    Ok(match (wins, winner) {
        (1, Some(w)) => Candidates::One(w),
        (k, Some(w)) => Candidates::Several(k, w),
        (_, None) => Candidates::None(first_miss),
    })
}

/// Which objects of a pack matching reads ([`match_pack`]).
#[derive(Clone, Copy)]
pub(crate) enum Modules<'m> {
    /// All of them: an object of a module that is not loaded is `target_not_loaded`.
    All,
    /// Those of vmlinux and of the modules loaded now; the others wait for their module (a
    /// pack that patches modules when they load).
    Loaded,
    /// Only those of the module being loaded now, by this name: its loader holds it, before
    /// its init runs.
    Coming(&'m CStr),
}

/// The result of matching a whole pack.
pub(crate) struct Resolution<'a> {
    pub(crate) learned: Learned<'a>,
    /// One per pre function, in the pack's order; `None` for those matching did not read
    /// ([`Modules`]).
    pub(crate) functions: KVec<Option<FunctionMatch>>,
    /// The target modules, each pinned before its code was read.
    pub(crate) modules: KVec<ModuleRef>,
}

/// How many symbols of one name matching tries at most.
pub(crate) const MAX_CANDIDATES: usize = 64;

/// Collects the addresses `each` offers (it calls its argument once per symbol of `name`
/// until told to stop): more than [`MAX_CANDIDATES`] is [`Failure::TooMany`], a failed
/// allocation [`Failure::OutOfMemory`].
fn collect_candidates<'a>(
    name: Name<'a>,
    each: impl FnOnce(&mut dyn FnMut(usize) -> ControlFlow<()>),
) -> core::result::Result<KVec<usize>, Failure<'a>> {
    let mut found = KVec::new();
    let mut failure = None;
    each(&mut |addr| {
        if found.len() >= MAX_CANDIDATES {
            failure = Some(Failure::TooMany(name));
        } else if found.push(addr, GFP_KERNEL).is_err() {
            failure = Some(Failure::OutOfMemory);
        } else {
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(())
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(found),
    }
}

/// The addresses kallsyms knows for `name` in `module` (vmlinux if empty).
fn candidates<'a>(name: Name<'a>, module: &CStr) -> core::result::Result<KVec<usize>, Failure<'a>> {
    collect_candidates(name, |push| {
        if module.is_empty() {
            kallsyms::for_each_vmlinux_match(name, push);
        } else {
            kallsyms::for_each_module_symbol(module, |n, addr| {
                if n.to_bytes() == name.to_bytes() {
                    push(addr)
                } else {
                    ControlFlow::Continue(())
                }
            });
        }
    })
}

/// Copies `size` bytes of live code at `addr`.
fn live_code<'a>(addr: usize, size: usize) -> core::result::Result<KVec<u8>, Failure<'a>> {
    let mut buf = KVec::from_elem(0u8, size, GFP_KERNEL).map_err(|_| Failure::OutOfMemory)?;
    text_patching::read(addr, &mut buf).map_err(|_| Failure::OutOfMemory)?;
    Ok(buf)
}

/// Matches every pre function of `pack`. `redirect` tells, for a function entry, the
/// replacement an applied pack runs instead, if any, whose code is compared instead of the
/// function's. `own_code(addr, code)` puts back, in a copy of live code read at `addr`, the
/// kernel's own bytes where applied packs wrote (a replace pack is matched against the code
/// the packs it replaces were: the kernel's own, with no redirect).
///
/// Two passes: [`find_functions`] finds the candidates of each function matching reads,
/// then a [`Resolver`] matches them, those with the fewest candidates first.
pub(crate) fn match_pack<'a>(
    pack: &Pack<'a>,
    redirect: &dyn Fn(usize) -> Option<usize>,
    own_code: &dyn Fn(usize, &mut [u8]),
    scope: Modules<'_>,
) -> core::result::Result<Resolution<'a>, Failure<'a>> {
    let found = find_functions(pack, scope)?;
    let n = pack.function_count();
    let mut functions = KVec::with_capacity(n, GFP_KERNEL).map_err(|_| Failure::OutOfMemory)?;
    for _ in 0..n {
        functions
            .push(None::<FunctionMatch>, GFP_KERNEL)
            .map_err(|_| Failure::OutOfMemory)?;
    }
    let mut is_target = KVec::from_elem(false, n, GFP_KERNEL).map_err(|_| Failure::OutOfMemory)?;
    for t in pack.targets() {
        if let Some(x) = is_target.get_mut(t.function) {
            *x = true;
        }
    }
    let mut resolver = Resolver {
        pack,
        view: View { redirect, own_code },
        cands: found.cands,
        relocs: found.relocs,
        is_target,
        learned: Learned::new(),
        functions,
    };
    let mut deferred = KVec::new();
    for &i in found.order.iter() {
        resolver.step(i, false, &mut deferred)?;
    }
    let again = core::mem::take(&mut deferred);
    for &i in again.iter() {
        resolver.step(i, true, &mut deferred)?;
    }
    Ok(Resolution {
        learned: resolver.learned,
        functions: resolver.functions,
        modules: found.modules,
    })
}

/// The functions of a pack that matching reads ([`find_functions`]).
struct Found<'a> {
    /// The target modules, each pinned before its code is read.
    modules: KVec<ModuleRef>,
    /// One per pre function: its candidate addresses (none for a function not read).
    cands: KVec<KVec<usize>>,
    /// One per pre function: its relocations, sorted by offset (none for a function not read).
    relocs: KVec<KVec<Reloc<'a>>>,
    /// The functions read, those with the fewest candidates first.
    order: KVec<usize>,
}

/// The first pass of [`match_pack`]: pins the modules of the objects `scope` reads, and
/// finds each function's candidates and relocations.
fn find_functions<'a>(
    pack: &Pack<'a>,
    scope: Modules<'_>,
) -> core::result::Result<Found<'a>, Failure<'a>> {
    let n = pack.function_count();
    let oom = |_| Failure::OutOfMemory;
    let mut found = Found {
        modules: KVec::new(),
        cands: KVec::with_capacity(n, GFP_KERNEL).map_err(oom)?,
        relocs: KVec::with_capacity(n, GFP_KERNEL).map_err(oom)?,
        order: KVec::with_capacity(n, GFP_KERNEL).map_err(oom)?,
    };
    let coming = matches!(scope, Modules::Coming(_));
    for i in 0..n {
        let f = pack.function(i).ok_or(Failure::OutOfMemory)?;
        let obj = pack.object(f.object).ok_or(Failure::OutOfMemory)?;
        let read = match scope {
            Modules::Coming(m) => obj.module.to_bytes() == m.to_bytes(),
            _ => true,
        };
        // The module is pinned before its code is read, and stays pinned with the result:
        // it cannot go away, nor another take its place, between matching and the switch.
        let pinned = |m: &ModuleRef| m.name() == obj.module;
        if read && !coming && !obj.module.is_empty() && !found.modules.iter().any(pinned) {
            match (ModuleRef::by_name(obj.module), scope) {
                (Some(m), _) => found.modules.push(m, GFP_KERNEL).map_err(oom)?,
                // Being loaded: the notifier that arms waiting targets may have run already,
                // so waiting is no answer; the caller tries again once it has loaded.
                (None, Modules::Loaded) if ModuleRef::is_loading(obj.module) => {
                    return Err(Failure::Loading(obj.module));
                }
                (None, Modules::Loaded) => {}
                (None, _) => return Err(Failure::NotLoaded(obj.module)),
            }
        }
        let read = read && (obj.module.is_empty() || coming || found.modules.iter().any(pinned));
        if !read {
            // Not read: it waits for its module, with no candidate and no place in `order`.
            found.cands.push(KVec::new(), GFP_KERNEL).map_err(oom)?;
            found.relocs.push(KVec::new(), GFP_KERNEL).map_err(oom)?;
            continue;
        }
        let c = candidates(f.name, obj.module)?;
        if c.is_empty() {
            return Err(Failure::NoSymbol(f.name, obj.name));
        }
        found.cands.push(c, GFP_KERNEL).map_err(oom)?;
        found.order.push(i, GFP_KERNEL).map_err(oom)?;
        let mut r = KVec::with_capacity(f.reloc_count, GFP_KERNEL).map_err(oom)?;
        for reloc in pack.relocs(f.first_reloc, f.reloc_count) {
            r.push(reloc, GFP_KERNEL).map_err(oom)?;
        }
        r.sort_unstable_by_key(|r| r.offset);
        found.relocs.push(r, GFP_KERNEL).map_err(oom)?;
    }
    let cands = &found.cands;
    found
        .order
        .sort_unstable_by_key(|&i| cands.get(i).map_or(0, |c| c.len()));
    Ok(found)
}

/// The second pass of [`match_pack`]: matches the functions [`find_functions`] found, one at
/// a time, learning symbol values from each.
struct Resolver<'a, 'p> {
    pack: &'p Pack<'a>,
    view: View<'p>,
    cands: KVec<KVec<usize>>,
    relocs: KVec<KVec<Reloc<'a>>>,
    /// Whether each pre function is a target.
    is_target: KVec<bool>,
    learned: Learned<'a>,
    /// Where each pre function matched, once it has.
    functions: KVec<Option<FunctionMatch>>,
}

impl<'a> Resolver<'a, '_> {
    /// Matches pre function `i`, or defers it to `deferred` while it matches at several
    /// addresses and this is not the `last` round.
    ///
    /// A function whose code matches at more than one address (the same static function in
    /// two objects, as macros make them) waits until the others are matched: what they learn
    /// may name its address. If it still matches at several, a target is ambiguous; any other
    /// function is the pack's at one of them, and whichever it is has the pre code: nothing
    /// is learned from it, so that a replacement that needs its address meets
    /// `unresolved_symbol`.
    fn step(
        &mut self,
        i: usize,
        last: bool,
        deferred: &mut KVec<usize>,
    ) -> core::result::Result<(), Failure<'a>> {
        let pack = self.pack;
        let f = pack.function(i).ok_or(Failure::OutOfMemory)?;
        let (Some(relocs), Some(cands)) = (self.relocs.get(i), self.cands.get(i)) else {
            return Err(Failure::OutOfMemory);
        };
        let own = Key {
            object: f.local.then_some(f.object),
            name: f.name,
        };
        let known = self.learned.get(&own);
        let is_target = self.is_target.get(i).copied().unwrap_or(false);
        let w = match match_function(
            f.code,
            relocs,
            cands,
            known,
            f.object,
            &mut self.learned,
            self.view,
        )? {
            Candidates::One(w) => w,
            Candidates::None(first_miss) => return Err(Failure::NoMatch(f.name, first_miss)),
            Candidates::Several(k, _) if last && is_target => {
                return Err(Failure::Ambiguous(f.name, k))
            }
            Candidates::Several(k, w) if last => {
                pr_debug!(
                    "{:?} matches at {k} addresses; nothing learned from it\n",
                    f.name
                );
                return self.matched(i, w);
            }
            Candidates::Several(..) => {
                return deferred
                    .push(i, GFP_KERNEL)
                    .map_err(|_| Failure::OutOfMemory);
            }
        };
        let mut code = live_code(w.live, w.live_size)?;
        (self.view.own_code)(w.live, &mut code);
        let redirect = self.view.redirect;
        let mut scope = Scope {
            learned: &mut self.learned,
            object: f.object,
            redirect,
        };
        // An allocation failure says nothing of the code: it is not a no_match.
        match matcher::match_code(f.code, relocs, &code, w.live as u64, &mut scope) {
            Err(m) if m.out_of_memory() => return Err(Failure::OutOfMemory),
            Err(_) => return Err(Failure::NoMatch(f.name, None)),
            Ok(_) => {}
        }
        match self.learned.set(own, w.addr as u64, redirect) {
            Err(e) if e == matcher::OUT_OF_MEMORY => return Err(Failure::OutOfMemory),
            Err(_) => return Err(Failure::NoMatch(f.name, None)),
            Ok(()) => {}
        }
        self.matched(i, w)
    }

    /// Records that pre function `i` matched as `w`.
    fn matched(&mut self, i: usize, w: FunctionMatch) -> core::result::Result<(), Failure<'a>> {
        *self.functions.get_mut(i).ok_or(Failure::OutOfMemory)? = Some(w);
        Ok(())
    }
}

/// The value of the symbol of `reloc` (of object `object`): learned, or for a global symbol
/// the one vmlinux symbol of that name.
pub(crate) fn symbol_value<'a>(
    learned: &Learned<'_>,
    reloc: &Reloc<'a>,
    object: usize,
) -> core::result::Result<u64, Failure<'a>> {
    if let Some(v) = learned.get(&Key::of(reloc, object)) {
        return Ok(v);
    }
    if reloc.local {
        return Err(Failure::Unresolved(reloc.symbol));
    }
    let mut found = None;
    let mut count = 0;
    kallsyms::for_each_vmlinux_match(reloc.symbol, |addr| {
        count += 1;
        found = Some(addr);
        ControlFlow::Continue(())
    });
    match (count, found) {
        (1, Some(addr)) => Ok(addr as u64),
        _ => Err(Failure::Unresolved(reloc.symbol)),
    }
}

/// The bytes to write at `place` for `reloc` with symbol value `value`.
pub(crate) fn reloc_bytes(reloc: &Reloc<'_>, value: u64, place: u64) -> Option<([u8; 8], usize)> {
    let v = value.wrapping_add(reloc.addend as u64);
    let mut out = [0u8; 8];
    let width = match reloc.kind {
        RelocType::Abs64 => {
            out.copy_from_slice(&v.to_le_bytes());
            8
        }
        RelocType::Pc32 | RelocType::Plt32 => {
            let rel = i32::try_from(v.wrapping_sub(place) as i64).ok()?;
            out[..4].copy_from_slice(&rel.to_le_bytes());
            4
        }
        RelocType::Abs32 => {
            out[..4].copy_from_slice(&u32::try_from(v).ok()?.to_le_bytes());
            4
        }
        RelocType::Abs32S => {
            out[..4].copy_from_slice(&i32::try_from(v as i64).ok()?.to_le_bytes());
            4
        }
        RelocType::Site(_) => return None,
    };
    Some((out, width))
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_resolve)]
mod tests {
    use super::*;

    /// Offers `n` addresses, stopping when told to.
    fn offering(n: usize) -> impl FnOnce(&mut dyn FnMut(usize) -> ControlFlow<()>) {
        move |push| {
            for a in 0..n {
                if push(0x1000 + a).is_break() {
                    break;
                }
            }
        }
    }

    /// A function an applied pack replaced is the same symbol at its address and at its
    /// replacement's (a replacement calls another of its pack directly); its own address is
    /// the one kept. Any other second value contradicts the first.
    #[test]
    fn a_replaced_function_is_known_at_its_replacement_too() {
        let (f, r, other) = (0x1000u64, 0x9000u64, 0x2000u64);
        let redirect = |a: usize| (a == f as usize).then_some(r as usize);
        let key = || Key {
            object: None,
            name: c"f",
        };
        let mut l = Learned::new();
        assert!(l.set(key(), r, &redirect).is_ok());
        assert!(l.set(key(), f, &redirect).is_ok());
        assert_eq!(l.get(&key()), Some(f));
        assert!(l.set(key(), r, &redirect).is_ok());
        assert_eq!(l.get(&key()), Some(f));
        assert!(l.set(key(), other, &redirect).is_err());
        // Without the pack, the replacement's address is another value.
        let mut l = Learned::new();
        assert!(l.set(key(), f, &|_| None).is_ok());
        assert!(l.set(key(), r, &|_| None).is_err());
    }

    /// More symbols of one name than matching tries is an ambiguity with its own message,
    /// never taken for a failed allocation.
    #[test]
    fn too_many_candidates_are_named() {
        let r = collect_candidates(c"f", offering(MAX_CANDIDATES + 1));
        assert!(matches!(r, Err(Failure::TooMany(n)) if n == c"f"));
        let r = collect_candidates(c"f", offering(MAX_CANDIDATES));
        assert!(matches!(r, Ok(ref v) if v.len() == MAX_CANDIDATES));
        let r = collect_candidates(c"f", offering(0));
        assert!(matches!(r, Ok(ref v) if v.is_empty()));
    }
}
