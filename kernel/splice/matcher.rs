// SPDX-License-Identifier: GPL-2.0

//! Run-pre matching of one function: does the live code equal the pack's pre-patch code?
//!
//! Both are walked instruction by instruction with the kernel's x86 decoder. Outside
//! relocations the bytes must be equal. At a relocation of the pre code, the live bytes tell
//! the value of its symbol, which goes to a [`Learner`]; a value that contradicts what was
//! learned before rejects the match. The assembler may have relaxed a branch the compiler
//! emitted as `jmp rel32` to `jmp rel8` when the running kernel was linked (and not in the
//! pack's object, which has one section per function), so relative branches are compared by
//! kind and destination, not by encoding, and offsets in the live code may drift from those in
//! the pre code; every branch inside the function must land on the instruction that
//! corresponds to its pre-code destination. At run-time sites (ftrace, alternatives, jump
//! labels, ...) every form the kernel may have written there is accepted. Alignment padding
//! (`nop` of any length) is skipped on both sides: the padding the assembler puts before an
//! aligned loop depends on where the function lies in its section, at the start of a section
//! of its own in the pack's object, anywhere in `.text` in the linked kernel (Debian's kernels
//! align functions to 64 bytes and loops to 32). A branch must not land on padding.
//!
//! Nothing here reads kernel memory: the caller passes copies, which makes it testable on
//! synthetic buffers.

use crate::pack::{Reloc, RelocType, SiteKind};
use kernel::insn::{BranchKind, Insn};
use kernel::prelude::*;

/// Receives the symbol values the live code reveals.
pub(crate) trait Learner<'a> {
    /// `reloc`'s symbol has the value `value`; fails, saying why, if that contradicts an
    /// earlier value or what the pack knows of the symbol.
    fn learn(&mut self, reloc: &Reloc<'a>, value: u64) -> core::result::Result<(), &'static str>;

    /// The start of the live function named by `reloc`'s symbol that contains `addr`, if
    /// there is one. A branch into another function's middle (a `.cold` part jumping back
    /// into its function) lands at an offset that the alignment padding before it moves:
    /// its destination tells where the function is, not its pre offset.
    fn start_of(&self, _reloc: &Reloc<'a>, _addr: u64) -> Option<u64> {
        None
    }

    /// Whether the kernel may still rewrite its SMP lock prefixes (`ds` back into `lock` when
    /// a second CPU comes online after a boot with one: `alternatives_enable_smp()`). A jump
    /// must then cover none, as for the sites rewritten after load: the rewrite would land in
    /// the jump, and a reverse would put back a `ds` where `lock` is needed.
    fn lock_prefixes_may_change(&self) -> bool {
        false
    }

    /// The function whose call depth accounting thunk starts at `addr`, if one does. With call
    /// depth tracking on (`retbleed=stuff`) the kernel points the direct calls it lists in
    /// `.call_sites` at a thunk in the padding before their callee, which accounts for the
    /// call and runs into the callee: the live call is the pre code's call of the callee.
    fn call_thunk_of(&self, _addr: u64) -> Option<u64> {
        None
    }
}

/// Why the live code is not the pre code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// Offset in the pre code of the instruction that differs.
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

/// The reason of a [`Mismatch`] (or of a [`Learner`] refusal) that is no mismatch at all: an
/// allocation failed, and nothing is known of the code.
pub(crate) const OUT_OF_MEMORY: &str = "out of memory";

impl Mismatch {
    /// Whether matching stopped because an allocation failed, not because the code differs.
    pub(crate) fn out_of_memory(&self) -> bool {
        self.reason == OUT_OF_MEMORY
    }
}

/// A successful match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Matched {
    /// How many bytes of the live code the pre code covers.
    pub(crate) live_len: usize,
    /// Where a 5-byte jump to a replacement can go: the first instruction after the entry's
    /// `endbr` and ftrace sites, if five bytes from there belong to the function and to no
    /// ftrace, jump label or static call site, which the kernel could rewrite under the jump
    /// (nor to a lock prefix while the kernel may still switch them: see
    /// [`Learner::lock_prefixes_may_change`]). The other sites (alternatives, retpolines,
    /// return thunks, `endbr`) are rewritten only when their code is loaded, so the jump may
    /// cover them; reverse puts back what it covered.
    pub(crate) patch_offset: Option<usize>,
    /// Where a 2-byte `jmp rel8` can go when a jump cannot ([`HOP_LEN`]): the same place, if
    /// two bytes from there belong to the function and to no site the kernel rewrites later.
    /// The core then writes the jump to the replacement into the function's prefix and hops
    /// there (`simple_strtoul()`: `endbr64; jmp simple_strtoull`, a 2-byte tail call;
    /// Debian's `power_supply_dev_release()`: 4 bytes, then a jump label).
    pub(crate) hop_offset: Option<usize>,
    /// Whether a branch of the function lands on the bytes the jump at the patch offset
    /// covers, its first byte included: code already running in the function would then
    /// reach the jump, or the middle of it.
    pub(crate) branch_under_jump: bool,
}

/// Length of the jump written at the patch offset.
pub(crate) const JMP_LEN: usize = 5;
/// Length of the short jump written at the hop offset.
pub(crate) const HOP_LEN: usize = 2;

const NOP5: [u8; 5] = [0x0f, 0x1f, 0x44, 0x00, 0x00];
const NOP2: [u8; 2] = [0x66, 0x90];
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
/// What `arch_static_call_transform()` writes at a call of the `WARN_trap` static call:
/// `ud1 (%edx),%rdi`, the trap `WARN()` raises.
const WARN_INSN: [u8; 5] = [0x67, 0x48, 0x0f, 0xb9, 0x3a];
/// What it writes at a call of a static call set to `__static_call_return0`: `cs cs cs xor
/// %eax,%eax` (with `PREEMPT_DYNAMIC`, `might_resched()` in full preemption mode).
const XOR5RAX: [u8; 5] = [0x2e, 0x2e, 0x2e, 0x31, 0xc0];
/// What `apply_seal_endbr()` writes over an `endbr64` that nothing calls indirectly.
const ENDBR_POISON: [u8; 4] = [0x0f, 0x1f, 0x40, 0xd6];

/// Whether `live` is a form the kernel may have left at a site of `kind`.
fn site_accepts(kind: SiteKind, live: &[u8]) -> bool {
    let first = live.first().copied();
    match kind {
        SiteKind::Alternative | SiteKind::Retpoline => true,
        SiteKind::Ftrace => live == NOP5 || matches!(first, Some(0xe8 | 0xe9)),
        SiteKind::JumpLabel => match live.len() {
            2 => live == NOP2 || first == Some(0xeb),
            5 => live == NOP5 || first == Some(0xe9),
            _ => false,
        },
        SiteKind::StaticCall => {
            live.len() == 5
                && (live == NOP5
                    || live == WARN_INSN
                    || live == XOR5RAX
                    || matches!(first, Some(0xe8 | 0xe9 | 0xc3)))
        }
        SiteKind::ReturnThunk => {
            live.len() == 5
                && (first == Some(0xe9)
                    || live.iter().skip(1).all(|&b| b == 0xcc) && first == Some(0xc3))
        }
        SiteKind::Endbr => live == ENDBR64 || live == ENDBR_POISON,
        SiteKind::LockPrefix => live == [0xf0] || live == [0x3e],
        // The immediate is set at boot; the opcode stays: movabs (REX.W B8+r imm64) or
        // shr ([REX] C1 /5 imm8).
        SiteKind::RuntimeConst => match live.len() {
            10 => live[0] & 0xf8 == 0x48 && (0xb8..=0xbf).contains(&live[1]),
            3 => live[0] == 0xc1,
            4 => live[0] & 0xf0 == 0x40 && live[1] == 0xc1,
            _ => false,
        },
    }
}

/// The length of the padding instruction at the start of `code`: `nop` (`90`, with `66`
/// prefixes only: `xchg %ax,%ax`), or the multi-byte `nopw`/`nopl` (`0f 1f /0`, any
/// prefixes). `None` for anything else, `pause` (`f3 90`) and `xchg %eax,%r8d` (`41 90`)
/// included.
fn padding(code: &[u8]) -> Option<usize> {
    let i = Insn::decode(code).ok()?;
    let prefixes = code.get(..i.prefix_len())?;
    match i.opcode() {
        [0x90] if prefixes.iter().all(|&b| b == 0x66) => Some(i.len()),
        [0x0f, 0x1f] if i.modrm().is_some_and(|m| m & 0x38 == 0) => Some(i.len()),
        _ => None,
    }
}

/// The offset of the first instruction at or after `at` in `code` that is not padding; `at`
/// itself when it lies outside `code`.
fn past_padding(code: &[u8], at: i64) -> i64 {
    let Ok(mut i) = usize::try_from(at) else {
        return at;
    };
    while let Some(n) = code.get(i..).and_then(padding) {
        i += n;
    }
    i64::try_from(i).unwrap_or(at)
}

/// Reads the `width`-byte little-endian value at `at` of `b`, sign- or zero-extended.
fn read_value(b: &[u8], at: usize, kind: RelocType) -> Option<u64> {
    Some(match kind {
        RelocType::Abs64 => u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?),
        RelocType::Abs32 => u64::from(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)),
        RelocType::Pc32 | RelocType::Plt32 | RelocType::Abs32S => {
            i64::from(i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)) as u64
        }
        RelocType::Site(_) => return None,
    })
}

/// Matches the pre code `pre` with relocations `relocs` (sorted by offset) against `live`, the
/// live code at address `live_addr`.
pub(crate) fn match_code<'a>(
    pre: &[u8],
    relocs: &[Reloc<'a>],
    live: &[u8],
    live_addr: u64,
    learner: &mut dyn Learner<'a>,
) -> core::result::Result<Matched, Mismatch> {
    let mut walk = Walk {
        pre,
        relocs,
        live,
        live_addr,
        learner,
        starts: KVec::new(),
        branches: KVec::new(),
        sites: KVec::new(),
        entry_end: None,
        pi: 0,
        li: 0,
        ri: 0,
    };
    while walk.pi < pre.len() {
        walk.step()?;
    }
    walk.finish()
}

/// A [`Mismatch`] at `offset` of the pre code.
fn mismatch(offset: usize, reason: &'static str) -> Mismatch {
    Mismatch { offset, reason }
}

const SITE_INSIDE: &str = "run-time site inside an instruction";

/// One step of the walk: `Err` stops it.
type Step = core::result::Result<(), Mismatch>;

/// The walk of [`match_code`] through both codes, an instruction at a time: where it is on
/// each side, and what it has seen that [`Walk::finish`] checks at the end.
struct Walk<'c, 'a, 'l> {
    pre: &'c [u8],
    relocs: &'c [Reloc<'a>],
    live: &'c [u8],
    live_addr: u64,
    learner: &'l mut dyn Learner<'a>,
    /// Instruction starts: (pre offset, live offset).
    starts: KVec<(usize, usize)>,
    /// Branches inside the function: (pre destination, live destination), as offsets.
    branches: KVec<(i64, i64)>,
    /// Live ranges of the run-time sites the kernel may rewrite after boot.
    sites: KVec<(usize, usize)>,
    /// Where the function's entry (its `endbr` and ftrace sites) ends in the live code.
    entry_end: Option<usize>,
    /// The offset in the pre code, in the live code, and the next relocation.
    pi: usize,
    li: usize,
    ri: usize,
}

impl<'c, 'a> Walk<'c, 'a, '_> {
    /// Takes the relocations that start before `end`, none of which may be a run-time site (a
    /// site inside an instruction); on one, the offset of that site.
    fn take_relocs(&mut self, end: usize) -> core::result::Result<&'c [Reloc<'a>], usize> {
        let relocs = self.relocs;
        let first = self.ri;
        while let Some(r) = relocs.get(self.ri).filter(|r| r.offset < end) {
            if r.kind.is_site() {
                return Err(r.offset);
            }
            self.ri += 1;
        }
        Ok(relocs.get(first..self.ri).unwrap_or(&[]))
    }

    /// Matches what starts at the pre offset: padding, a run-time site or an instruction.
    fn step(&mut self) -> Step {
        let (pre, relocs, pi) = (self.pre, self.relocs, self.pi);
        // Relocations before this instruction belong to no instruction.
        self.take_relocs(pi)
            .map_err(|at| mismatch(at, SITE_INSIDE))?;
        // Padding, where no relocation or run-time site is: skipped on both sides. A live
        // nop under a pre site is the site's (ftrace's nop5), compared in `site()`.
        let next = relocs.get(self.ri);
        if let Some(n) = pre
            .get(pi..)
            .and_then(padding)
            .filter(|&n| next.is_none_or(|r| r.offset >= pi + n))
        {
            self.pi += n;
            return Ok(());
        }
        let site = next.filter(|r| r.offset == pi && r.kind.is_site());
        if site.is_none() {
            while let Some(n) = self.live.get(self.li..).and_then(padding) {
                self.li += n;
            }
        }
        self.starts
            .push((pi, self.li), GFP_KERNEL)
            .map_err(|_| mismatch(pi, OUT_OF_MEMORY))?;
        match site {
            Some(site) => self.site(site),
            None => {
                self.entry_end.get_or_insert(self.li);
                self.insn()
            }
        }
    }

    /// Matches the run-time site `site` at the pre offset: any form the kernel may have left
    /// there, and the relocations inside it are not compared.
    fn site(&mut self, site: &Reloc<'a>) -> Step {
        let (pre, live, pi) = (self.pre, self.live, self.pi);
        let RelocType::Site(kind) = site.kind else {
            return Err(mismatch(pi, "bad site"));
        };
        let len = site.width();
        // A live nop before the site is the site's (ftrace's nop5) or padding that the pre
        // side had too and skipped in `step()` (the nop after a WARN()'s ud2, before a return
        // thunk): skipped only when the site is not there without it.
        let accepts = |at: usize| {
            live.get(at..at + len)
                .is_some_and(|l| site_accepts(kind, l))
        };
        if !accepts(self.li) {
            // Padding by padding: the site itself may be a nop (a jump label's nop5).
            let mut at = self.li;
            while let Some(n) = live.get(at..).and_then(padding) {
                at += n;
                if accepts(at) {
                    self.li = at;
                    break;
                }
            }
        }
        let li = self.li;
        // A jump label whose target is near is 2 bytes in the kernel's build (a nop2 or a jmp
        // rel8), 5 in the pre object, whose function sections put the target farther
        // (Debian's vmbus_onmodifychannel_response()).
        let llen = if len == 5
            && kind == SiteKind::JumpLabel
            && !accepts(li)
            && live.get(li..li + 2).is_some_and(|l| site_accepts(kind, l))
        {
            2
        } else {
            len
        };
        let Some(l) = live.get(li..li + llen) else {
            return Err(mismatch(pi, "live code ends inside a run-time site"));
        };
        if pre.len() < pi + len {
            return Err(mismatch(pi, "run-time site past the end of the function"));
        }
        if !site_accepts(kind, l) {
            return Err(mismatch(pi, "unexpected code at a run-time site"));
        }
        // Boot sets a runtime constant's immediate (the last 8 bytes of a movabs, the last
        // byte of a shr), never its operation or register.
        if kind == SiteKind::RuntimeConst {
            let fixed = len.saturating_sub(if len == 10 { 8 } else { 1 });
            if pre.get(pi..pi + fixed) != l.get(..fixed) {
                return Err(mismatch(pi, "different instruction at a runtime constant"));
            }
        }
        let rewritten = kind.rewritten_after_load()
            || (kind == SiteKind::LockPrefix && self.learner.lock_prefixes_may_change());
        if rewritten {
            self.sites
                .push((li, li + llen), GFP_KERNEL)
                .map_err(|_| mismatch(pi, OUT_OF_MEMORY))?;
        }
        // Skip the site and every relocation inside it.
        self.pi += len;
        self.li += llen;
        while self.relocs.get(self.ri).is_some_and(|r| r.offset < self.pi) {
            self.ri += 1;
        }
        if self.entry_end.is_none() && !matches!(kind, SiteKind::Endbr | SiteKind::Ftrace) {
            self.entry_end = Some(li);
        }
        Ok(())
    }

    /// Matches the instruction at the pre offset with the live one: a branch by its
    /// destination, anything else by its bytes outside relocations.
    fn insn(&mut self) -> Step {
        let pi = self.pi;
        let Ok(p) = Insn::decode(self.pre.get(pi..).unwrap_or(&[])) else {
            return Err(mismatch(pi, "pre code does not decode"));
        };
        let Ok(l) = Insn::decode(self.live.get(self.li..).unwrap_or(&[])) else {
            return Err(mismatch(pi, "live code does not decode"));
        };
        let here = self
            .take_relocs(pi + p.len())
            .map_err(|_| mismatch(pi, SITE_INSIDE))?;
        match (p.branch(), l.branch()) {
            (Some(pb), Some(lb)) => self.branch(&p, pb, &l, lb, here)?,
            (None, None) => self.bytes(&p, &l, here)?,
            _ => return Err(mismatch(pi, "branch where the other code has none")),
        }
        self.pi += p.len();
        self.li += l.len();
        Ok(())
    }

    /// Matches the relative branches `p` (with displacement `pdisp`) and `l`: the same kind
    /// and prefixes; a destination inside the function is checked by [`Walk::finish`], one
    /// outside (a relocation at the end of the instruction) is learned.
    fn branch(
        &mut self,
        p: &Insn,
        (pk, pdisp): (BranchKind, i64),
        l: &Insn,
        (lk, ldisp): (BranchKind, i64),
        here: &[Reloc<'a>],
    ) -> Step {
        let (pi, li) = (self.pi, self.li);
        let (plen, llen) = (p.len(), l.len());
        if pk != lk
            || self.pre.get(pi..pi + p.prefix_len()) != self.live.get(li..li + l.prefix_len())
        {
            return Err(mismatch(pi, "different branch"));
        }
        let live_next = self.live_addr + (li + llen) as u64;
        let mut live_dest = live_next.wrapping_add(ldisp as u64);
        if pk == BranchKind::Call {
            live_dest = self.learner.call_thunk_of(live_dest).unwrap_or(live_dest);
        }
        match here {
            [] => {
                // Its live destination, through a call thunk, as an offset.
                let pd = (pi + plen) as i64 + pdisp;
                let ld = live_dest.wrapping_sub(self.live_addr) as i64;
                self.branches
                    .push((pd, ld), GFP_KERNEL)
                    .map_err(|_| mismatch(pi, OUT_OF_MEMORY))
            }
            [r] if r.kind.is_pc_relative() && r.offset + r.width() == pi + plen => {
                // The place holds S + A - P and the CPU adds the end of the instruction:
                // destination = S + A + (end - P).
                let tail = (pi + plen - r.offset) as u64;
                let mut value = live_dest.wrapping_sub(r.addend as u64).wrapping_sub(tail);
                if value != live_dest {
                    value = self.learner.start_of(r, live_dest).unwrap_or(value);
                }
                self.learner
                    .learn(r, value)
                    .map_err(|why| mismatch(pi, why))
            }
            _ => Err(mismatch(pi, "unexpected relocation on a branch")),
        }
    }

    /// Matches the instructions `p` and `l`, neither a branch: the same bytes outside the
    /// relocations `here`, whose values the live bytes tell.
    fn bytes(&mut self, p: &Insn, l: &Insn, here: &[Reloc<'a>]) -> Step {
        let (pi, li, plen) = (self.pi, self.li, p.len());
        if plen != l.len() {
            return Err(mismatch(pi, "different instruction length"));
        }
        let (Some(pre), Some(live)) = (self.pre.get(pi..pi + plen), self.live.get(li..li + plen))
        else {
            return Err(mismatch(pi, "code ends inside an instruction"));
        };
        let relocated = |j: usize| {
            here.iter()
                .any(|r| r.offset <= pi + j && pi + j < r.offset + r.width())
        };
        let mut covered = 0usize;
        for (j, (a, b)) in pre.iter().zip(live).enumerate() {
            if relocated(j) {
                covered += 1;
            } else if a != b {
                return Err(mismatch(pi, "different bytes"));
            }
        }
        if covered == plen && plen > 0 {
            return Err(mismatch(pi, "relocation covers a whole instruction"));
        }
        for r in here {
            let place = li + (r.offset - pi);
            if r.offset + r.width() > pi + plen {
                return Err(mismatch(pi, "relocation crosses an instruction"));
            }
            let Some(v) = read_value(self.live, place, r.kind) else {
                return Err(mismatch(pi, "bad relocation"));
            };
            let value = if r.kind.is_pc_relative() {
                v.wrapping_add(self.live_addr + place as u64)
                    .wrapping_sub(r.addend as u64)
            } else {
                v.wrapping_sub(r.addend as u64)
            };
            self.learner
                .learn(r, value)
                .map_err(|why| mismatch(pi, why))?;
        }
        Ok(())
    }

    /// The end of the walk: every branch inside the function lands on corresponding
    /// instructions, and where a jump to a replacement can go.
    fn finish(mut self) -> core::result::Result<Matched, Mismatch> {
        let (pi, li) = (self.pi, self.li);
        self.starts
            .push((pi, li), GFP_KERNEL)
            .map_err(|_| mismatch(pi, OUT_OF_MEMORY))?;
        // A branch lands on the same instruction on both sides; one that lands on padding (the
        // nop before a WARN()'s ud2), which the walk skipped, lands on what follows it.
        let lands = |pd: i64, ld: i64| {
            self.starts
                .iter()
                .find(|&&(p, _)| p as i64 == pd)
                .is_some_and(|&(_, l)| l as i64 == ld)
        };
        for &(pd, ld) in self.branches.iter() {
            if !lands(pd, ld) && !lands(past_padding(self.pre, pd), past_padding(self.live, ld)) {
                let off = usize::try_from(pd).unwrap_or(0);
                return Err(mismatch(off, "branch lands elsewhere"));
            }
        }
        let room = |len: usize| {
            self.entry_end.filter(|&at| {
                at + len <= li && !self.sites.iter().any(|&(s, e)| s < at + len && at < e)
            })
        };
        let patch_offset = room(JMP_LEN);
        let hop_offset = room(HOP_LEN);
        let branch_under_jump = patch_offset.is_some_and(|at| {
            self.branches
                .iter()
                .any(|&(_, ld)| ld >= at as i64 && ld < (at + JMP_LEN) as i64)
        });
        Ok(Matched {
            live_len: li,
            patch_offset,
            hop_offset,
            branch_under_jump,
        })
    }
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_matcher)]
mod tests {
    use super::*;

    /// Learns into a small table, refusing contradictions.
    struct Table(KVec<(&'static CStr, u64)>);

    impl Learner<'static> for Table {
        fn learn(
            &mut self,
            r: &Reloc<'static>,
            value: u64,
        ) -> core::result::Result<(), &'static str> {
            for &(n, v) in self.0.iter() {
                if n.to_bytes() == r.symbol.to_bytes() {
                    return if v == value {
                        Ok(())
                    } else {
                        Err("contradiction")
                    };
                }
            }
            self.0
                .push((r.symbol, value), GFP_KERNEL)
                .map_err(|_| OUT_OF_MEMORY)
        }

        fn start_of(&self, r: &Reloc<'static>, addr: u64) -> Option<u64> {
            FUNCTIONS
                .iter()
                .find(|(n, start, size)| {
                    *n == r.symbol.to_bytes() && (*start..start + size).contains(&addr)
                })
                .map(|&(_, start, _)| start)
        }

        fn call_thunk_of(&self, addr: u64) -> Option<u64> {
            [THUNK, ADDR - 9].contains(&addr).then_some(addr + 9)
        }
    }

    /// Where the live kernel has a call depth accounting thunk, 9 bytes before its callee, for
    /// [`Learner::call_thunk_of`] (and before `ADDR`, where the code matched is).
    const THUNK: u64 = ADDR + 0x200 - 9;

    /// Functions the live kernel has, for [`Learner::start_of`]: name, start, size.
    const FUNCTIONS: [(&[u8], u64, u64); 1] = [(b"f", ADDR + 0x100, 0x40)];

    impl Table {
        fn get(&self, name: &[u8]) -> Option<u64> {
            self.0
                .iter()
                .find(|(n, _)| n.to_bytes() == name)
                .map(|&(_, v)| v)
        }
    }

    fn rel(offset: usize, kind: RelocType, symbol: &'static CStr, addend: i64) -> Reloc<'static> {
        Reloc {
            offset,
            kind,
            symbol,
            local: false,
            addend,
        }
    }

    fn site(offset: usize, kind: SiteKind, len: i64) -> Reloc<'static> {
        rel(offset, RelocType::Site(kind), c"", len)
    }

    const ADDR: u64 = 0xffff_ffff_8100_0000;

    fn run(
        pre: &[u8],
        relocs: &[Reloc<'static>],
        live: &[u8],
    ) -> (core::result::Result<Matched, Mismatch>, Table) {
        let mut t = Table(KVec::new());
        let r = match_code(pre, relocs, live, ADDR, &mut t);
        (r, t)
    }

    // endbr64; call __fentry__ (reloc); mov $0,%eax; call a (reloc); mov a(%rip),%rdx (reloc);
    // ret
    const PRE: [u8; 27] = [
        0xf3, 0x0f, 0x1e, 0xfa, // endbr64
        0xe8, 0, 0, 0, 0, // call __fentry__
        0xb8, 0, 0, 0, 0, // mov $0,%eax
        0xe8, 0, 0, 0, 0, // call a
        0x48, 0x8b, 0x15, 0, 0, 0, 0,    // mov a(%rip),%rdx
        0xc3, // ret
    ];

    fn pre_relocs() -> [Reloc<'static>; 4] {
        [
            site(0, SiteKind::Endbr, 4),
            site(4, SiteKind::Ftrace, 5),
            rel(15, RelocType::Plt32, c"a", -4),
            rel(22, RelocType::Pc32, c"a", -4),
        ]
    }

    /// The live form of `PRE` where `a` is at `a`: sealed endbr, nop5 for ftrace.
    fn live_for(a: u64) -> [u8; 27] {
        let mut l = PRE;
        l[..4].copy_from_slice(&ENDBR_POISON);
        l[4..9].copy_from_slice(&NOP5);
        let call = a.wrapping_sub(ADDR + 19) as u32;
        l[15..19].copy_from_slice(&call.to_le_bytes());
        let load = a.wrapping_sub(ADDR + 26) as u32;
        l[22..26].copy_from_slice(&load.to_le_bytes());
        l
    }

    /// `mov $1,%eax; nop; 1: dec %eax; jne 1b; ret` against the same code with a two-byte
    /// nop before the loop (the padding of a function placed elsewhere): a match, the branch
    /// landing on the corresponding `dec`. Another instruction instead of the nop is not.
    /// A `.cold` part's jump back into `f`, 0x10 bytes in in the pre code and 0x14 in the live
    /// one (padding before the target moved it): `f` is learned where it starts, not 4 bytes
    /// past it, so that matching `f` itself later finds it.
    #[test]
    fn a_branch_into_a_function_teaches_where_it_starts() {
        let pre = [0xe9, 0, 0, 0, 0, 0xc3];
        let relocs = [rel(1, RelocType::Pc32, c"f", 0x10 - 4)];
        let mut live = pre;
        let dest = (ADDR + 0x100 + 0x14).wrapping_sub(ADDR + 5) as u32;
        live[1..5].copy_from_slice(&dest.to_le_bytes());
        let (r, t) = run(&pre, &relocs, &live);
        assert!(r.is_ok());
        assert_eq!(t.get(b"f"), Some(ADDR + 0x100));
        // Into no function of that name: the pre offset says where it starts.
        let relocs = [rel(1, RelocType::Pc32, c"g", 0x10 - 4)];
        let (r, t) = run(&pre, &relocs, &live);
        assert!(r.is_ok());
        assert_eq!(t.get(b"g"), Some(ADDR + 0x100 + 0x14 - 0x10));
    }

    /// `PRE` where the kernel points the call of `a` at the call depth accounting thunk before
    /// `a` (`retbleed=stuff`) and leaves the load: `a` is where the thunk runs into, and the
    /// load agrees. A jump there (a tail call, which the kernel never points at a thunk) is
    /// not a call of `a`.
    #[test]
    fn a_call_through_its_callees_thunk_calls_the_callee() {
        let a = THUNK + 9;
        let mut live = live_for(a);
        let call = THUNK.wrapping_sub(ADDR + 19) as u32;
        live[15..19].copy_from_slice(&call.to_le_bytes());
        let (r, t) = run(&PRE, &pre_relocs(), &live);
        assert!(r.is_ok());
        assert_eq!(t.get(b"a"), Some(a));
        live[14] = 0xe9;
        let mut pre = PRE;
        pre[14] = 0xe9;
        let (r, _) = run(&pre, &pre_relocs(), &live);
        assert_eq!(r.map_err(|m| m.reason), Err("contradiction"));
    }

    /// A function that calls itself (Debian's `eventfs_set_attrs()`): with call depth tracking
    /// the live call goes to its own thunk, and lands on its entry as the pre one does; a jump
    /// there does not.
    #[test]
    fn a_recursive_call_through_its_thunk_lands_on_the_entry() {
        // call self; ret
        let pre = [0xe8, 0xfb, 0xff, 0xff, 0xff, 0xc3];
        let live = [0xe8, 0xf2, 0xff, 0xff, 0xff, 0xc3];
        let (r, _) = run(&pre, &[], &live);
        assert!(r.is_ok());
        let (pre, live) = (
            [0xe9, 0xfb, 0xff, 0xff, 0xff, 0xc3],
            [0xe9, 0xf2, 0xff, 0xff, 0xff, 0xc3],
        );
        assert_eq!(
            run(&pre, &[], &live).0.map_err(|m| m.reason),
            Err("branch lands elsewhere")
        );
    }

    /// A branch to the nop before a WARN()'s ud2 (eval configuration:
    /// `regcache_cache_only()`), which the walk skips as padding: it lands on the same code
    /// when both sides have the nop, or when only one has it; not when the ud2 is elsewhere.
    #[test]
    fn a_branch_to_padding_lands_on_what_follows() {
        // test %edi,%edi; jne +1; ret; nop; ud2
        let pre = [0x85, 0xff, 0x75, 0x01, 0xc3, 0x90, 0x0f, 0x0b];
        let (r, _) = run(&pre, &[], &pre);
        assert_eq!(r.map(|m| m.live_len), Ok(8));
        let live = [0x85, 0xff, 0x75, 0x01, 0xc3, 0x0f, 0x0b];
        let (r, _) = run(&pre, &[], &live);
        assert_eq!(r.map(|m| m.live_len), Ok(7));
        let (r, _) = run(&live, &[], &pre);
        assert_eq!(r.map(|m| m.live_len), Ok(8));
        // Landing on the ret instead.
        let other = [0x85, 0xff, 0x75, 0xff, 0xc3, 0x90, 0x0f, 0x0b];
        assert_eq!(
            run(&pre, &[], &other).0.map_err(|m| m.reason),
            Err("branch lands elsewhere")
        );
    }

    /// The nop after a WARN()'s ud2, before a return thunk (eval configuration:
    /// `calipso_pad_write()`): skipped on the pre side as padding, it is skipped on the live
    /// side too, not taken for the start of the site.
    #[test]
    fn padding_before_a_run_time_site_is_skipped_on_both_sides() {
        // ud2; nop; jmp __x86_return_thunk (a site)
        let pre = [0x0f, 0x0b, 0x90, 0xe9, 0, 0, 0, 0];
        let relocs = [site(3, SiteKind::ReturnThunk, 5)];
        let live = [0x0f, 0x0b, 0x90, 0xe9, 0x10, 0x20, 0x30, 0x40];
        let (r, _) = run(&pre, &relocs, &live);
        assert_eq!(r.map(|m| m.live_len), Ok(8));
        // Without it on the live side.
        let short = [0x0f, 0x0b, 0xe9, 0x10, 0x20, 0x30, 0x40];
        let (r, _) = run(&pre, &relocs, &short);
        assert_eq!(r.map(|m| m.live_len), Ok(7));
        // Something else than the site after the nop does not match.
        let other = [0x0f, 0x0b, 0x90, 0x31, 0xc0, 0x90, 0x90, 0x90];
        assert!(run(&pre, &relocs, &other).0.is_err());
        // A site that is a nop itself (a jump label off: set_task_cpu()).
        let pre = [0x0f, 0x0b, 0x90, 0x0f, 0x1f, 0x44, 0, 0, 0xc3];
        let relocs = [site(3, SiteKind::JumpLabel, 5)];
        let (r, _) = run(&pre, &relocs, &pre);
        assert_eq!(r.map(|m| m.live_len), Ok(9));
    }

    /// A jump label the kernel's build made 2 bytes long (its target near) where the pre
    /// object, compiled with function sections, has 5: the same site.
    #[test]
    fn a_short_jump_label_matches_a_long_one() {
        // nop5 (a jump label, off); ret
        let pre = [0x0f, 0x1f, 0x44, 0, 0, 0xc3];
        let relocs = [site(0, SiteKind::JumpLabel, 5)];
        for live in [[0x66, 0x90, 0xc3], [0xeb, 0x01, 0xc3]] {
            let (r, _) = run(&pre, &relocs, &live);
            assert_eq!(r.map(|m| m.live_len), Ok(3));
        }
        // Other 2 bytes are not the site.
        assert!(run(&pre, &relocs, &[0x31, 0xc0, 0xc3]).0.is_err());
    }

    #[test]
    fn padding_is_skipped_on_both_sides() {
        let pre = [0xb8, 1, 0, 0, 0, 0x90, 0xff, 0xc8, 0x75, 0xfc, 0xc3];
        let live = [0xb8, 1, 0, 0, 0, 0x66, 0x90, 0xff, 0xc8, 0x75, 0xfc, 0xc3];
        let (r, _) = run(&pre, &[], &live);
        assert_eq!(r.map(|m| m.live_len), Ok(12));
        let (r, _) = run(&live, &[], &pre);
        assert_eq!(r.map(|m| m.live_len), Ok(11));
        let other = [0xb8, 1, 0, 0, 0, 0xff, 0xc0, 0xff, 0xc8, 0x75, 0xfc, 0xc3];
        let (r, _) = run(&pre, &[], &other);
        assert!(r.is_err());
    }

    #[test]
    fn relocation_sites_teach_symbol_values() {
        let a = ADDR + 0x1234;
        let (r, t) = run(&PRE, &pre_relocs(), &live_for(a));
        assert_eq!(
            r,
            Ok(Matched {
                live_len: 27,
                patch_offset: Some(9),
                hop_offset: Some(9),
                branch_under_jump: false,
            })
        );
        assert_eq!(t.get(b"a"), Some(a));
    }

    #[test]
    fn contradicting_values_reject() {
        let mut live = live_for(ADDR + 0x1234);
        // The load says `a` is somewhere else than the call does.
        live[22] = live[22].wrapping_add(8);
        let (r, _) = run(&PRE, &pre_relocs(), &live);
        assert_eq!(r.map_err(|m| m.offset), Err(19));
    }

    #[test]
    fn different_bytes_outside_relocations_reject() {
        let mut live = live_for(ADDR + 0x1234);
        live[10] = 1; // mov $1,%eax
        let (r, _) = run(&PRE, &pre_relocs(), &live);
        assert_eq!(
            r,
            Err(Mismatch {
                offset: 9,
                reason: "different bytes"
            })
        );
        let mut live = live_for(ADDR + 0x1234);
        live[26] = 0xcc; // int3 instead of ret
        let (r, _) = run(&PRE, &pre_relocs(), &live);
        assert!(r.is_err());
        // Truncated live code.
        let live = live_for(ADDR + 0x1234);
        let (r, _) = run(&PRE, &pre_relocs(), &live[..20]);
        assert!(r.is_err());
    }

    #[test]
    fn rewritten_sites_match() {
        let a = ADDR + 0x40;
        // ftrace enabled: call to a trampoline; endbr not sealed.
        let mut live = live_for(a);
        live[..4].copy_from_slice(&ENDBR64);
        live[4] = 0xe8;
        live[5..9].copy_from_slice(&[0x10, 0x20, 0x30, 0x40]);
        assert!(run(&PRE, &pre_relocs(), &live).0.is_ok());
        // Something else at the ftrace site.
        live[4..9].copy_from_slice(&[0x90; 5]);
        assert!(run(&PRE, &pre_relocs(), &live).0.is_err());

        // A jump label: pre `nop2`, live `jmp rel8`; a lock prefix turned into `ds`; a
        // return thunk turned into `ret; int3...`.
        let pre = [0x66, 0x90, 0xf0, 0xff, 0x07, 0xe9, 0, 0, 0, 0];
        let relocs = [
            site(0, SiteKind::JumpLabel, 2),
            site(2, SiteKind::LockPrefix, 1),
            site(5, SiteKind::ReturnThunk, 5),
            rel(6, RelocType::Plt32, c"b", -4),
        ];
        let live = [0xeb, 0x03, 0x3e, 0xff, 0x07, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc];
        let (r, t) = run(&pre, &relocs, &live);
        assert!(r.is_ok());
        assert_eq!(t.get(b"b"), None);
        // `lock incl (%rdi)` whose operand changed does not match.
        let live = [0xeb, 0x03, 0x3e, 0xff, 0x0f, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc];
        assert!(run(&pre, &relocs, &live).0.is_err());
        // A jump label site must still be a jump or a nop.
        let live = [0x31, 0xc0, 0xf0, 0xff, 0x07, 0xc3, 0xcc, 0xcc, 0xcc, 0xcc];
        assert!(run(&pre, &relocs, &live).0.is_err());

        // A static call returning 0 (`might_resched()` with full dynamic preemption):
        // `call __SCT__might_resched` became `cs cs cs xor %eax,%eax`.
        let pre = [0xe8, 0, 0, 0, 0, 0x90];
        let relocs = [site(0, SiteKind::StaticCall, 5)];
        let live = [0x2e, 0x2e, 0x2e, 0x31, 0xc0, 0x90];
        assert!(run(&pre, &relocs, &live).0.is_ok());
        let live = [0x2e, 0x2e, 0x2e, 0x31, 0xc9, 0x90];
        assert!(run(&pre, &relocs, &live).0.is_err());
    }

    #[test]
    fn relaxed_branches_match_by_destination() {
        // Pre: test %edi,%edi; jne rel32 -> ret below; call b; ret  (function sections keep
        // rel32); live: the assembler relaxed jne to rel8.
        let pre = [
            0x85, 0xff, // test %edi,%edi
            0x0f, 0x85, 0x05, 0, 0, 0, // jne +5 (over the call)
            0xe8, 0, 0, 0, 0,    // call b
            0xc3, // ret
        ];
        let relocs = [rel(9, RelocType::Plt32, c"b", -4)];
        let b = ADDR + 0x800;
        let mut live = KVec::new();
        live.extend_from_slice(&[0x85, 0xff, 0x75, 0x05, 0xe8], GFP_KERNEL)
            .ok();
        let call = b.wrapping_sub(ADDR + 9) as u32;
        live.extend_from_slice(&call.to_le_bytes(), GFP_KERNEL).ok();
        live.push(0xc3, GFP_KERNEL).ok();
        let (r, t) = run(&pre, &relocs, &live);
        assert_eq!(r.map(|m| m.live_len), Ok(10));
        assert_eq!(t.get(b"b"), Some(b));
        // The same branch landing one byte off does not match.
        live[3] = 0x04;
        assert_eq!(
            run(&pre, &relocs, &live).0.map_err(|m| m.reason),
            Err("branch lands elsewhere")
        );
        // A different condition does not match.
        live[3] = 0x05;
        live[2] = 0x74;
        assert_eq!(
            run(&pre, &relocs, &live).0.map_err(|m| m.reason),
            Err("different branch")
        );
    }

    #[test]
    fn runtime_constants_match_whatever_boot_set() {
        // movabs $0x0123456789abcdef,%rdi (the placeholder); ret
        let pre = [
            0x48, 0xbf, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0xc3,
        ];
        let mut live = pre;
        live[2..10].copy_from_slice(&0xff11_0000_0012_3400u64.to_le_bytes());
        let relocs = [site(0, SiteKind::RuntimeConst, 10)];
        let (r, _) = run(&pre, &relocs, &live);
        assert!(r.is_ok());
        // Without the site the immediate must be equal.
        let (r, _) = run(&pre, &[], &live);
        assert!(r.is_err());
        // The opcode must stay a movabs.
        live[1] = 0x90;
        let (r, _) = run(&pre, &relocs, &live);
        assert!(r.is_err());
    }

    /// Boot sets a runtime constant's immediate and nothing else: the operation and the
    /// register are the pre code's. A `movabs` into another register, or a `shl` where the pre
    /// code shifts right, is other code.
    #[test]
    fn a_runtime_constant_keeps_its_operation_and_register() {
        // movabs $0x0123456789abcdef,%rdi; ret
        let pre = [
            0x48, 0xbf, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0xc3,
        ];
        let relocs = [site(0, SiteKind::RuntimeConst, 10)];
        let mut live = pre;
        live[1] = 0xb8; // %rax
        assert!(run(&pre, &relocs, &live).0.is_err());
        // shr $0xc,%edx; ret: boot may set the count, not turn it into shl $0xc,%edx.
        let pre = [0xc1, 0xea, 0x0c, 0xc3];
        let relocs = [site(0, SiteKind::RuntimeConst, 3)];
        let mut live = pre;
        live[2] = 0x14;
        assert!(run(&pre, &relocs, &live).0.is_ok());
        live[1] = 0xe2;
        assert!(run(&pre, &relocs, &live).0.is_err());
        // shr $0xc,%r8d; ret, against shr $0xc,%r9d.
        let pre = [0x41, 0xc1, 0xe8, 0x0c, 0xc3];
        let relocs = [site(0, SiteKind::RuntimeConst, 4)];
        let mut live = pre;
        live[2] = 0xe9;
        assert!(run(&pre, &relocs, &live).0.is_err());
    }

    /// A learner whose memory is short.
    struct Starved;

    impl Learner<'static> for Starved {
        fn learn(
            &mut self,
            _r: &Reloc<'static>,
            _value: u64,
        ) -> core::result::Result<(), &'static str> {
            Err(OUT_OF_MEMORY)
        }
    }

    /// An allocation failure while matching is told apart from code that differs: the
    /// caller answers out_of_memory, not no_match.
    #[test]
    fn an_allocation_failure_is_not_a_mismatch() {
        let relocs = pre_relocs();
        let live = live_for(ADDR + 0x1000);
        let (r, _) = run(&PRE, &relocs, &live);
        assert!(r.is_ok());
        let r = match_code(&PRE, &relocs, &live, ADDR, &mut Starved);
        assert!(r.is_err_and(|m| m.out_of_memory()));
        // A real difference is not one: `mov $1,%eax` for `mov $0,%eax`.
        let mut other = live;
        other[10] = 1;
        let (r, _) = run(&PRE, &relocs, &other);
        assert!(r.is_err_and(|m| !m.out_of_memory()));
    }

    /// A learner of a kernel that booted with one CPU and may still switch its lock prefixes.
    struct UpTable(Table);

    impl Learner<'static> for UpTable {
        fn learn(
            &mut self,
            r: &Reloc<'static>,
            value: u64,
        ) -> core::result::Result<(), &'static str> {
            self.0.learn(r, value)
        }

        fn lock_prefixes_may_change(&self) -> bool {
            true
        }
    }

    /// A lock prefix right after the entry: the jump may cover it once the kernel can no
    /// longer switch it (booted SMP, or a second CPU came up), not before.
    #[test]
    fn a_lock_prefix_the_kernel_may_still_switch_is_not_covered() {
        // endbr; nop5 (ftrace); lock incl (%rdi); xor %eax,%eax; xor %eax,%eax; ret
        let pre = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0, 0, 0xf0, 0xff, 0x07, 0x31, 0xc0, 0x31,
            0xc0, 0xc3,
        ];
        let relocs = [
            site(0, SiteKind::Endbr, 4),
            site(4, SiteKind::Ftrace, 5),
            site(9, SiteKind::LockPrefix, 1),
        ];
        let (r, _) = run(&pre, &relocs, &pre);
        assert_eq!(r.map(|m| m.patch_offset), Ok(Some(9)));
        // Booted with one CPU: the prefix is `ds`, and becomes `lock` again later.
        let mut live = pre;
        live[9] = 0x3e;
        let mut up = UpTable(Table(KVec::new()));
        let r = match_code(&pre, &relocs, &live, ADDR, &mut up);
        assert_eq!(r.map(|m| m.patch_offset), Ok(None));
    }

    #[test]
    fn no_patch_offset_when_too_short_or_on_a_site() {
        // endbr; nop5 (ftrace); ret: nothing after the entry to put a jump on.
        let pre = [0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0, 0, 0xc3];
        let relocs = [site(0, SiteKind::Endbr, 4), site(4, SiteKind::Ftrace, 5)];
        let (r, _) = run(&pre, &relocs, &pre);
        assert_eq!(r.map(|m| m.patch_offset), Ok(None));
        // A jump label right after the entry would be rewritten under the jump.
        let pre = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x66, 0x90, 0x31, 0xc0, 0x31, 0xc0, 0xc3,
        ];
        let relocs = [site(0, SiteKind::Endbr, 4), site(4, SiteKind::JumpLabel, 2)];
        let (r, _) = run(&pre, &relocs, &pre);
        assert_eq!(r.map(|m| m.patch_offset), Ok(None));
        // Without an endbr or ftrace site the jump goes at the start.
        let pre = [0x31, 0xc0, 0x31, 0xc0, 0x31, 0xc0, 0xc3];
        let (r, _) = run(&pre, &[], &pre);
        assert_eq!(r.map(|m| m.patch_offset), Ok(Some(0)));
        // A return thunk site is rewritten only at load: the jump may cover it, even when
        // the kernel made it `ret; int3...`.
        let pre = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0, 0, 0x48, 0x8d, 0x47, 0x03, 0xe9, 0, 0, 0,
            0,
        ];
        let mut live = pre;
        live[13..].copy_from_slice(&[0xc3, 0xcc, 0xcc, 0xcc, 0xcc]);
        let relocs = [
            site(0, SiteKind::Endbr, 4),
            site(4, SiteKind::Ftrace, 5),
            site(13, SiteKind::ReturnThunk, 5),
        ];
        let (r, _) = run(&pre, &relocs, &live);
        assert_eq!(r.map(|m| m.patch_offset), Ok(Some(9)));
    }

    /// A function too short for a jump has room for a hop when two bytes after its entry
    /// are its own and no run-time site's.
    #[test]
    fn a_hop_fits_where_a_jump_does_not() {
        // endbr64; jmp g: `simple_strtoul()`, a tail call the kernel's build made 2 bytes.
        let pre = [0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0, 0, 0, 0];
        let relocs = [
            site(0, SiteKind::Endbr, 4),
            rel(5, RelocType::Plt32, c"g", -4),
        ];
        let live = [0xf3, 0x0f, 0x1e, 0xfa, 0xeb, 0xdc];
        let (r, t) = run(&pre, &relocs, &live);
        assert_eq!(
            r.map(|m| (m.patch_offset, m.hop_offset)),
            Ok((None, Some(4)))
        );
        assert_eq!(t.get(b"g"), Some(ADDR + 6 - 0x24));
        // endbr64; nop5 (ftrace); lea -0x30(%rdi),%rax; a jump label; mov %rax,%rdi; jmp g:
        // Debian's `power_supply_dev_release()`, 4 bytes before the jump label.
        let pre = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0, 0, 0x48, 0x8d, 0x47, 0xd0, 0x66, 0x90,
            0x48, 0x89, 0xc7, 0xe9, 0, 0, 0, 0,
        ];
        let relocs = [
            site(0, SiteKind::Endbr, 4),
            site(4, SiteKind::Ftrace, 5),
            site(13, SiteKind::JumpLabel, 2),
            rel(19, RelocType::Plt32, c"g", -4),
        ];
        let (r, _) = run(&pre, &relocs, &pre);
        assert_eq!(
            r.map(|m| (m.patch_offset, m.hop_offset)),
            Ok((None, Some(9)))
        );
        // endbr64; ret: one byte, no room for either.
        let pre = [0xf3, 0x0f, 0x1e, 0xfa, 0xc3];
        let (r, _) = run(&pre, &[site(0, SiteKind::Endbr, 4)], &pre);
        assert_eq!(r.map(|m| (m.patch_offset, m.hop_offset)), Ok((None, None)));
    }

    #[test]
    fn branches_under_the_jump() {
        // xor %eax,%eax; 2: inc %eax; cmp $10,%eax; jne 2; ret: the loop comes back to
        // offset 2, under a jump at 0.
        let pre = [0x31, 0xc0, 0xff, 0xc0, 0x83, 0xf8, 0x0a, 0x75, 0xf9, 0xc3];
        let (r, _) = run(&pre, &[], &pre);
        assert_eq!(
            r.map(|m| (m.patch_offset, m.branch_under_jump)),
            Ok((Some(0), true))
        );
        // Two more instructions before the loop: it comes back to offset 6, past the jump.
        let pre = [
            0x31, 0xc0, 0x31, 0xc9, 0x31, 0xd2, 0xff, 0xc0, 0x83, 0xf8, 0x0a, 0x75, 0xf9, 0xc3,
        ];
        let (r, _) = run(&pre, &[], &pre);
        assert_eq!(
            r.map(|m| (m.patch_offset, m.branch_under_jump)),
            Ok((Some(0), false))
        );
    }
}
