// SPDX-License-Identifier: GPL-2.0

//! Equivalence to a rebuild: every replacement against the same function compiled by an
//! ordinary build of the patched file.
//!
//! `splice-create` compiles with `-ffunction-sections -fdata-sections` and with the patched
//! files laid over the tree, so that it can tell functions apart and carry them one by one.
//! The code a pack carries must still be the code an ordinary build of the fixed kernel
//! runs: anything else is a generator bug, and the admin would believe the machine fixed.
//! This pass compiles each changed object once more with the command Kbuild recorded, as it
//! is, and compares each target with the function of that name there, relocation-aware, as
//! run-pre matching compares pre code with the running kernel:
//!
//! * the sizes and every byte outside the places that refer elsewhere are equal;
//! * each place refers to the same thing on both sides: a symbol by name at the same
//!   offset into it (a section-relative relocation or a branch the assembler resolved
//!   within one section is named by the function or object it lands in, the instruction
//!   decoded to find where it ends), a literal of a mergeable section by its content.
//!
//! Data and code that are not in the function (a static the function reads, a string) are
//! compared by what names them, not by content: their content is the data-change passes'
//! concern.

use std::collections::BTreeMap;

use anyhow::Result;
use iced_x86::{Decoder, DecoderOptions, OpKind};
use serde::Serialize;

use crate::elf::{Obj, Rel, Sym};
use crate::format::rtype;
use crate::input::lines::Renumbering;

/// What a place of a function refers to, named the same way in both builds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ref {
    /// A symbol, by name, and the offset into it the instruction lands at (for a
    /// PC-relative place, counted from the end of its instruction).
    Symbol {
        name: String,
        local: bool,
        offset: i64,
    },
    /// Where a section-relative place lands on objects that share an address (objects of
    /// size zero, such as lockdep's keys without lockdep): any of them.
    AnyOf { names: Vec<String>, offset: i64 },
    /// A literal of a mergeable section, by content, and how far into it the place points
    /// (the length of a string, for a pointer to its end).
    Literal(Vec<u8>, i64),
    /// Data no symbol covers, by the family of its section (`.rodata`, `.data`, ...).
    Anonymous { family: String },
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Symbol { name, offset, .. } if *offset == 0 => write!(f, "{name}"),
            Ref::Symbol { name, offset, .. } => write!(f, "{name}{offset:+}"),
            Ref::AnyOf { names, offset } => write!(f, "{}{offset:+}", names.join(" or ")),
            Ref::Literal(b, 0) => write!(f, "literal {:?}", String::from_utf8_lossy(b)),
            Ref::Literal(b, k) => write!(f, "literal {:?}+{k}", String::from_utf8_lossy(b)),
            Ref::Anonymous { family } => write!(f, "anonymous {family} data"),
        }
    }
}

/// One place: how wide it is, and what it refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    width: u64,
    pc_relative: bool,
    to: Ref,
}

/// The verdict for one target.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// The object, by its path in the tree.
    pub object: String,
    pub function: String,
    /// `None` when the replacement is the rebuild's function; otherwise the first
    /// difference.
    pub difference: Option<String>,
}

/// The family of a section name: `.rodata.foo` and `.rodata` are both `.rodata`.
fn family(name: &str) -> String {
    let rest = name.strip_prefix('.').unwrap_or(name);
    let head = rest.split('.').next().unwrap_or(rest);
    format!(".{head}")
}

/// What lands at offset `t` of section `si` of `obj`: the symbol that covers it, or the
/// symbols that all start there.
fn covering(obj: &Obj, si: usize, t: i64) -> Option<Ref> {
    let at: Vec<&Sym> = obj
        .section_symbols(si)
        .iter()
        .map(|&i| &obj.symbols[i])
        .filter(|y| {
            let v = y.value as i64;
            t >= v && (t < v + y.size as i64 || (y.size == 0 && t == v))
        })
        .collect();
    match at.as_slice() {
        [] => None,
        [y] => Some(Ref::Symbol {
            name: y.name.clone(),
            local: !y.global,
            offset: t - y.value as i64,
        }),
        many => Some(Ref::AnyOf {
            names: many.iter().map(|y| y.name.clone()).collect(),
            offset: t - many[0].value as i64,
        }),
    }
}

/// Whether `a` (the generator's build) and `b` (the rebuild) refer to the same thing.
fn same_ref(a: &Ref, b: &Ref) -> bool {
    let names = |r: &Ref| -> Option<(Vec<String>, i64)> {
        match r {
            Ref::Symbol { name, offset, .. } => Some((vec![name.clone()], *offset)),
            Ref::AnyOf { names, offset } => Some((names.clone(), *offset)),
            _ => None,
        }
    };
    match (a, b) {
        (Ref::Symbol { local: x, .. }, Ref::Symbol { local: y, .. }) if x != y => false,
        (Ref::Anonymous { .. }, Ref::Anonymous { .. }) => true,
        _ => match (names(a), names(b)) {
            (Some((na, oa)), Some((nb, ob))) => oa == ob && na.iter().any(|n| nb.contains(n)),
            _ => a == b,
        },
    }
}

/// What `r` refers to; `tail` is the distance from its place to the end of its
/// instruction (PC-relative places count from there).
fn reference(obj: &Obj, r: &Rel, tail: u64) -> Ref {
    let s = &obj.symbols[r.sym];
    let pc = rtype::is_pc_relative(r.rtype);
    let extra = if pc { tail as i64 } else { 0 };
    let Some(si) = s.section.filter(|&i| i < obj.sections.len()) else {
        // Undefined: global, but for the statics of the running kernel the core resolves
        // in a pack's code ([`resolved_as_the_core_will`]).
        return Ref::Symbol {
            name: s.name.clone(),
            local: !s.global,
            offset: r.addend + extra,
        };
    };
    let sec = &obj.sections[si];
    let t = (s.value as i64).wrapping_add(r.addend).wrapping_add(extra);
    if sec.is_mergeable() {
        // Named by a local symbol (`.LC1+5`): of the literal at the symbol, as the linker
        // takes it ([`crate::elf::Canon::anchor`]).
        let anchor = if s.is_section() { t } else { s.value as i64 };
        let found = usize::try_from(anchor)
            .ok()
            .and_then(|a| sec.literal_at(a))
            .and_then(|(start, lit)| Some((lit, t - i64::try_from(start).ok()?)));
        return match found {
            Some((lit, inner)) => Ref::Literal(lit.to_vec(), inner),
            None => Ref::Literal(Vec::new(), 0),
        };
    }
    if !s.is_section() {
        return Ref::Symbol {
            name: s.name.clone(),
            local: !s.global,
            offset: t - s.value as i64,
        };
    }
    covering(obj, si, t).unwrap_or_else(|| Ref::Anonymous {
        family: family(&sec.name),
    })
}

/// The places of function `f` of `obj`, by offset into `f`: its relocations, and the
/// branches out of it that the assembler resolved within its section.
fn places(obj: &Obj, f: &Sym) -> Result<BTreeMap<u64, Place>> {
    let si = f.section.unwrap_or(0);
    let sec = &obj.sections[si];
    let code = obj.symbol_bytes(f)?;
    let relocs = sec.relocs_in(f.value, f.value + f.size);
    let mut out = BTreeMap::new();
    let mut d = Decoder::with_ip(64, &code, f.value, DecoderOptions::NONE);
    let mut next = relocs.iter().peekable();
    while d.can_decode() {
        let insn = d.decode();
        let end = insn.next_ip();
        let mut had = false;
        while let Some(r) = next.next_if(|r| r.offset < end) {
            had = true;
            let width = rtype::width(r.rtype).unwrap_or(8) as u64;
            out.insert(
                r.offset - f.value,
                Place {
                    width,
                    pc_relative: rtype::is_pc_relative(r.rtype),
                    to: reference(obj, r, end.saturating_sub(r.offset)),
                },
            );
        }
        if had || insn.is_invalid() {
            continue;
        }
        // A branch out of the function that the assembler resolved itself, near (rel32) or
        // short (rel8: a tail call to a function close by in the same section).
        let branch = matches!(insn.op0_kind(), OpKind::NearBranch64 | OpKind::NearBranch32);
        let target = insn.near_branch_target();
        if branch && (target < f.value || target >= f.value + f.size) {
            let to = covering(obj, si, target as i64).unwrap_or_else(|| Ref::Anonymous {
                family: family(&sec.name),
            });
            let width = if insn.len() >= 5 { 4 } else { 1 };
            out.insert(
                end - width - f.value,
                Place {
                    width,
                    pc_relative: true,
                    to,
                },
            );
        }
    }
    Ok(out)
}

/// One decoded instruction of a function, for the comparison.
struct Insn {
    /// Offset into the function.
    off: u64,
    len: u64,
    mnemonic: iced_x86::Mnemonic,
    /// For a branch that lands inside the function, the index (among the instructions
    /// that are not padding) of the instruction it lands on.
    inner: Option<usize>,
    /// For a branch out of the function, where it lands: compared by that, not by its
    /// form (the generator's build, one section per function, has a relocated `jmp rel32`
    /// where an ordinary build may have a `jmp rel8` to a neighbour: `simple_strtoul()`).
    out: Option<Ref>,
}

/// The instructions of `f`, padding (`nop` of any length, `int3`) left out. A branch whose
/// displacement is a place (`places`: a relocation, or a branch out that the assembler
/// resolved) is compared by the place, not as a branch inside.
fn instructions(obj: &Obj, f: &Sym, places: &BTreeMap<u64, Place>) -> Result<Vec<Insn>> {
    use iced_x86::Mnemonic;
    let code = obj.symbol_bytes(f)?;
    let mut d = Decoder::with_ip(64, &code, 0, DecoderOptions::NONE);
    let mut all = Vec::new();
    while d.can_decode() {
        let insn = d.decode();
        let branch = matches!(insn.op0_kind(), OpKind::NearBranch64 | OpKind::NearBranch32);
        let target = insn.near_branch_target();
        let mut here = places.range(insn.ip()..insn.next_ip());
        let placed = here.clone().next().is_some();
        let out = here
            .find(|(_, p)| p.pc_relative)
            .filter(|_| branch)
            .map(|(_, p)| p.to.clone());
        all.push((
            insn.ip(),
            insn.len() as u64,
            insn.mnemonic(),
            (branch && !placed && target < f.size).then_some(target),
            out,
        ));
    }
    let kept: Vec<_> = all
        .into_iter()
        .filter(|(_, _, m, _, _)| !matches!(m, Mnemonic::Nop | Mnemonic::Int3))
        .collect();
    // A branch inside the function names the first instruction at or after its target.
    let index_of = |t: u64| kept.partition_point(|&(off, _, _, _, _)| off < t);
    Ok(kept
        .iter()
        .map(|(off, len, mnemonic, t, out)| Insn {
            off: *off,
            len: *len,
            mnemonic: *mnemonic,
            inner: t.map(index_of),
            out: out.clone(),
        })
        .collect())
}

/// Whether `a` (into `built`) and `b` (into `rebuilt`) land on the same instruction of the
/// same function: a `.cold` part jumps back into its function, at an offset that the
/// padding before it moves.
fn same_instruction(built: &Obj, a: &Ref, rebuilt: &Obj, b: &Ref) -> Result<bool> {
    let (
        Ref::Symbol {
            name: na,
            offset: oa,
            ..
        },
        Ref::Symbol {
            name: nb,
            offset: ob,
            ..
        },
    ) = (a, b)
    else {
        return Ok(false);
    };
    let (Some(fa), Some(fb)) = (built.defined(na), rebuilt.defined(nb)) else {
        return Ok(false);
    };
    if na != nb || !fa.is_func() || !fb.is_func() || *oa < 0 || *ob < 0 {
        return Ok(false);
    }
    let index = |o: &Obj, f: &Sym, off: i64| -> Result<Option<usize>> {
        let ins = instructions(o, f, &places(o, f)?)?;
        Ok(ins.iter().position(|i| i.off == off as u64))
    };
    let (ia, ib) = (index(built, fa, *oa)?, index(rebuilt, fb, *ob)?);
    Ok(ia.is_some() && ia == ib)
}

/// The first difference between function `a` of `built` (the generator's build) and `b`
/// of `rebuilt` (the ordinary one), or `None` if they are the same code.
///
/// The comparison is instruction by instruction, with the padding the assembler puts
/// before aligned loops and jump targets left out: it depends on where the function lies in
/// its section (at 0 in the generator's own section, anywhere in `.text` of an ordinary
/// build), not on the source. A branch inside the function is compared by the instruction
/// it lands on (its displacement, even its short or near form, follows the padding); every
/// other instruction by its bytes, its places by what they refer to.
///
/// The generator's build numbers unchanged lines as the running kernel does
/// ([`crate::input::lines`]): an immediate that differs from the rebuild's exactly by `lines` is the
/// same line, kept.
pub fn difference(
    built: &Obj,
    a: &Sym,
    rebuilt: &Obj,
    b: &Sym,
    lines: &Renumbering,
) -> Result<Option<String>> {
    let (pa, pb) = (places(built, a)?, places(rebuilt, b)?);
    let (ia, ib) = (instructions(built, a, &pa)?, instructions(rebuilt, b, &pb)?);
    let (ca, cb) = (built.symbol_bytes(a)?, rebuilt.symbol_bytes(b)?);
    let pair = Pair {
        a: Side {
            obj: built,
            places: pa,
            code: ca,
        },
        b: Side {
            obj: rebuilt,
            places: pb,
            code: cb,
        },
        lines,
    };
    for (k, (x, y)) in ia.iter().zip(&ib).enumerate() {
        if let Some(d) = pair.instruction_difference(k, x, y)? {
            return Ok(Some(d));
        }
    }
    if ia.len() != ib.len() {
        return Ok(Some(format!(
            "{} instructions, the rebuild's {} (padding left out)",
            ia.len(),
            ib.len()
        )));
    }
    Ok(None)
}

/// One build of the function being compared: its object, its places, and its bytes.
struct Side<'a> {
    obj: &'a Obj,
    places: BTreeMap<u64, Place>,
    code: Vec<u8>,
}

impl Side<'_> {
    /// The places of instruction `i`, by offset into the instruction.
    fn places_in(&self, i: &Insn) -> Vec<(u64, Place)> {
        self.places
            .range(i.off..i.off + i.len)
            .map(|(o, q)| (o - i.off, q.clone()))
            .collect()
    }

    /// The bytes of instruction `i`.
    fn bytes_of(&self, i: &Insn) -> &[u8] {
        &self.code[i.off as usize..(i.off + i.len) as usize]
    }
}

/// The two builds of a function, `a` the generator's and `b` the rebuild's, and the
/// renumbering of lines that tells a kept line from a changed one.
struct Pair<'a> {
    a: Side<'a>,
    b: Side<'a>,
    lines: &'a Renumbering,
}

impl Pair<'_> {
    /// The difference between instruction `x` of the generator's build and `y`, the
    /// rebuild's instruction `k`, if any. A branch is compared by where it lands (out of
    /// the function, or which instruction inside it); any other instruction by its length,
    /// its places, then the bytes outside them.
    fn instruction_difference(&self, k: usize, x: &Insn, y: &Insn) -> Result<Option<String>> {
        let at = x.off;
        if x.mnemonic != y.mnemonic {
            return Ok(Some(format!(
                "+{at:#x}: {:?}, the rebuild's instruction {k} is {:?}",
                x.mnemonic, y.mnemonic
            )));
        }
        if x.out.is_some() || y.out.is_some() {
            return self.branch_out_difference(at, x, y);
        }
        if x.inner.is_some() || y.inner.is_some() {
            return Ok(branch_inside_difference(at, x, y));
        }
        if x.len != y.len {
            return Ok(Some(format!(
                "+{at:#x}: a {}-byte instruction, the rebuild's is {} bytes",
                x.len, y.len
            )));
        }
        let (qa, qb) = (self.a.places_in(x), self.b.places_in(y));
        if let Some(d) = self.place_difference(at, &qa, &qb)? {
            return Ok(Some(d));
        }
        Ok(self.byte_difference(at, x, y, &qa))
    }

    /// The difference between two branches of which at least one leaves the function: the
    /// same if both land on the same thing, or on the same instruction of one function.
    fn branch_out_difference(&self, at: u64, x: &Insn, y: &Insn) -> Result<Option<String>> {
        match (&x.out, &y.out) {
            (Some(a), Some(b))
                if same_ref(a, b) || same_instruction(self.a.obj, a, self.b.obj, b)? =>
            {
                Ok(None)
            }
            (a, b) => {
                let show = |r: &Option<Ref>| r.as_ref().map_or("inside".into(), |r| r.to_string());
                Ok(Some(format!(
                    "+{at:#x}: a branch to {}, the rebuild's to {}",
                    show(a),
                    show(b)
                )))
            }
        }
    }

    /// The first difference between the places `qa` of an instruction at `at` of the
    /// generator's build and those, `qb`, of the rebuild's: each must be at the same offset
    /// into the instruction, as wide, and refer to the same thing (a literal that differs
    /// only by a kept line number is the same).
    fn place_difference(
        &self,
        at: u64,
        qa: &[(u64, Place)],
        qb: &[(u64, Place)],
    ) -> Result<Option<String>> {
        for (rel, p) in qa {
            match qb.iter().find(|(r, _)| r == rel).map(|(_, q)| q) {
                None => {
                    return Ok(Some(format!(
                        "+{:#x} refers to {} where the rebuild has none",
                        at + rel,
                        p.to
                    )))
                }
                Some(q) if q.width != p.width || q.pc_relative != p.pc_relative => {
                    return Ok(Some(format!(
                        "+{:#x}: a {}-byte place, the rebuild's is {} bytes",
                        at + rel,
                        p.width,
                        q.width
                    )))
                }
                Some(q)
                    if !same_ref(&p.to, &q.to)
                        && !kept_line_in_literal(&p.to, &q.to, self.lines)
                        && !same_instruction(self.a.obj, &p.to, self.b.obj, &q.to)? =>
                {
                    return Ok(Some(format!(
                        "+{:#x} refers to {}, the rebuild's to {}",
                        at + rel,
                        p.to,
                        q.to
                    )))
                }
                Some(_) => {}
            }
        }
        if let Some((rel, q)) = qb.iter().find(|(r, _)| !qa.iter().any(|(o, _)| o == r)) {
            return Ok(Some(format!(
                "+{:#x}: the rebuild refers to {} where the replacement has no place",
                at + rel,
                q.to
            )));
        }
        Ok(None)
    }

    /// The first byte of instruction `x` that differs from `y`'s outside the places `qa`
    /// (which refer elsewhere, and were compared by what they refer to), unless the bytes
    /// that differ are an immediate that is the same line as `lines` renumbered it.
    fn byte_difference(&self, at: u64, x: &Insn, y: &Insn, qa: &[(u64, Place)]) -> Option<String> {
        let mut mask = vec![false; x.len as usize];
        for (rel, p) in qa {
            for m in mask.iter_mut().skip(*rel as usize).take(p.width as usize) {
                *m = true;
            }
        }
        let (bx, by) = (self.a.bytes_of(x), self.b.bytes_of(y));
        let differs = |i: &usize| !mask[*i] && bx[*i] != by[*i];
        let i = (0..bx.len()).find(differs)?;
        if kept_line(bx, by, (0..bx.len()).filter(differs), self.lines) {
            return None;
        }
        Some(format!(
            "+{:#x}: byte {:#04x}, the rebuild's {:#04x}",
            at + i as u64,
            bx[i],
            by[i]
        ))
    }
}

/// The difference between two branches of which at least one lands inside the function:
/// the same if both land on the same instruction (padding left out).
fn branch_inside_difference(at: u64, x: &Insn, y: &Insn) -> Option<String> {
    if x.inner != y.inner {
        return Some(format!(
            "+{at:#x}: a branch to instruction {:?}, the rebuild's to {:?}",
            x.inner, y.inner
        ));
    }
    None
}

/// Whether literal `a` (the generator's) differs from `b` (the rebuild's) only in a line
/// number after a file name (`"... at kernel/trace/trace_events_hist.c:5283"`, a message
/// FORTIFY_SOURCE or a WARN() builds from `__FILE__` and `__LINE__`), the same line as
/// `lines` renumbered it.
fn kept_line_in_literal(a: &Ref, b: &Ref, lines: &Renumbering) -> bool {
    let (Ref::Literal(a, i), Ref::Literal(b, j)) = (a, b) else {
        return false;
    };
    if i != j {
        return false;
    }
    let Some(first) = a.iter().zip(b.iter()).position(|(x, y)| x != y) else {
        return false;
    };
    // The run of digits the first difference lies in, on each side.
    let start = a[..first]
        .iter()
        .rposition(|c| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    if start == 0 || a[start - 1] != b':' {
        return false;
    }
    let end = |x: &[u8]| {
        x[start..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(x.len(), |i| start + i)
    };
    let (ea, eb) = (end(a), end(b));
    let number = |x: &[u8]| std::str::from_utf8(x).ok()?.parse::<u64>().ok();
    match (number(&a[start..ea]), number(&b[start..eb])) {
        (Some(na), Some(nb)) => a[ea..] == b[eb..] && lines.explains(na, nb),
        _ => false,
    }
}

/// Whether instruction `a` (the generator's) differs from `b` (the rebuild's) only at bytes
/// `at` of its immediate, and the two immediates are one line number as `lines` renumbered it.
fn kept_line(a: &[u8], b: &[u8], mut at: impl Iterator<Item = usize>, lines: &Renumbering) -> bool {
    if lines.files.is_empty() {
        return false;
    }
    let mut d = Decoder::new(64, a, DecoderOptions::NONE);
    let insn = d.decode();
    let c = d.get_constant_offsets(&insn);
    if !c.has_immediate() || c.has_immediate2() {
        return false;
    }
    let imm = c.immediate_offset()..c.immediate_offset() + c.immediate_size();
    if !at.all(|i| imm.contains(&i)) {
        return false;
    }
    let value = |x: &[u8]| {
        x[imm.clone()]
            .iter()
            .rev()
            .fold(0u64, |v, &byte| v << 8 | u64::from(byte))
    };
    lines.explains(value(a), value(b))
}

/// The verdicts for `functions` of `built` (named by `object`) against `rebuilt`; a
/// `.cold` part of a function is compared with it.
pub fn verdicts(
    object: &str,
    built: &Obj,
    rebuilt: &Obj,
    functions: &[String],
    lines: &Renumbering,
) -> Result<Vec<Verdict>> {
    let mut out = Vec::new();
    for name in functions {
        let mut parts = vec![name.clone()];
        if built.defined(&format!("{name}.cold")).is_some() {
            parts.push(format!("{name}.cold"));
        }
        let mut diff = None;
        for part in &parts {
            let (Some(a), Some(b)) = (built.defined(part), rebuilt.defined(part)) else {
                diff = Some(format!("{part}: not in the rebuild"));
                break;
            };
            if let Some(d) = difference(built, a, rebuilt, b, lines)? {
                diff = Some(if part == name {
                    d
                } else {
                    format!("{part}: {d}")
                });
                break;
            }
        }
        out.push(Verdict {
            object: object.to_owned(),
            function: name.clone(),
            difference: diff,
        });
    }
    Ok(out)
}

/// `repl`, a `repl<k>.o` of a pack, with each place the core resolves in the replacement
/// `function` naming what the pack's metadata says it resolves to (`relocs`: symbol, addend,
/// offset from the replacement's start), instead of the trap or the zeroes that are there
/// until the core writes them. Compared with the generator's post object, it shows that
/// assembling the pack (carrying, placeholders, the metadata) kept the code.
pub fn resolved_as_the_core_will(
    repl: &Obj,
    function: &str,
    relocs: &[crate::format::Reloc],
) -> Result<Obj> {
    let mut out = repl.clone();
    let f = repl
        .defined(function)
        .ok_or_else(|| anyhow::anyhow!("{}: no replacement {function}", repl.path))?;
    let (si, base) = (
        f.section
            .ok_or_else(|| anyhow::anyhow!("{}: {function} is not defined", repl.path))?,
        f.value,
    );
    for r in relocs.iter().filter(|r| !r.symbol.is_empty()) {
        let place = base + u64::from(r.offset);
        let index = out.symbols.len();
        out.symbols.push(Sym {
            index,
            name: r.symbol.clone(),
            st_type: 0,
            global: !r.local,
            weak: false,
            section: None,
            undefined: true,
            value: 0,
            size: 0,
        });
        let sec = &mut out.sections[si];
        sec.relocs.retain(|x| x.offset != place);
        sec.relocs.push(Rel {
            section: si,
            offset: place,
            rtype: r.rtype,
            sym: index,
            addend: r.addend,
        });
        sec.relocs.sort_by_key(|x| x.offset);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::KERNEL_LIKE_CFLAGS;
    use std::process::Command;

    /// `src` compiled with the kernel-like flags, with (the generator's build) or without
    /// (an ordinary build) function and data sections.
    fn compile(tag: &str, src: &str, sections: bool) -> Obj {
        compile_with(tag, src, sections, &[])
    }

    fn compile_with(tag: &str, src: &str, sections: bool, extra: &[&str]) -> Obj {
        let d = std::env::temp_dir().join(format!("splice-equiv-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let (c, o) = (d.join("u.c"), d.join("u.o"));
        std::fs::write(&c, src).unwrap();
        let flags = KERNEL_LIKE_CFLAGS
            .iter()
            .filter(|f| sections || !f.ends_with("-sections"));
        let out = Command::new("gcc")
            .args(flags)
            .args(extra)
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let obj = Obj::read(&o).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        obj
    }

    /// Calls to a static function (a relocation in one build, resolved by the assembler in
    /// the other), a static compared with an immediate (the displacement is not the end of
    /// its instruction), a string and an exported function.
    const SRC: &str = r#"
extern int printk(const char *fmt, ...);
static int limit = 3;
static int other_limit = 3;
static int counter;
void set_limits(int v) { limit = v; other_limit = v + 1; }
static __attribute__((noinline)) int helper(int x) { return x * 7 + counter; }
int show(int v)
{
	if (counter == 10)
		return printk("ten %d\n", v);
	counter += helper(v);
	return helper(counter) > limit;
}
"#;

    fn verdict(built: &Obj, rebuilt: &Obj) -> Option<String> {
        let v = verdicts(
            "u.o",
            built,
            rebuilt,
            &["show".to_owned()],
            &Renumbering::default(),
        )
        .unwrap();
        v[0].difference.clone()
    }

    #[test]
    fn a_function_is_the_same_as_in_an_ordinary_build() {
        let built = compile("same-a", SRC, true);
        let rebuilt = compile("same-b", SRC, false);
        // The assembler resolved the call to helper() in the ordinary build.
        let s = rebuilt.defined("show").unwrap();
        let text = &rebuilt.sections[s.section.unwrap()];
        assert!(text
            .relocs_in(s.value, s.value + s.size)
            .iter()
            .all(|r| rebuilt.symbols[r.sym].name != "helper"));
        assert_eq!(verdict(&built, &rebuilt), None);
    }

    /// A tail call to a global neighbour: in the generator's build a relocated `jmp rel32`,
    /// in an ordinary build (as `simple_strtoul()` calls `simple_strtoull()`) a `jmp rel8`
    /// the assembler resolved. The same branch; one to another function is not.
    #[test]
    fn a_short_tail_call_is_the_same_as_a_relocated_one() {
        const TAIL: &str = r#"
__attribute__((noinline)) unsigned long long to_ull(const char *cp, unsigned int base)
{
	unsigned long long r = 0;
	while (*cp)
		r = r * base + (unsigned char)*cp++ - '0';
	return r;
}
__attribute__((noinline)) unsigned long long to_other(const char *cp, unsigned int base) { return base + *cp; }
unsigned long to_ul(const char *cp, unsigned int base) { return to_ull(cp, base); }
"#;
        let built = compile("tail-a", TAIL, true);
        let rebuilt = compile("tail-b", TAIL, false);
        let f = rebuilt.defined("to_ul").unwrap();
        let code = rebuilt.symbol_bytes(f).unwrap();
        assert!(code.contains(&0xeb), "no short jump in {code:02x?}");
        let v = |built: &Obj, rebuilt: &Obj| {
            let names = ["to_ul".to_owned()];
            verdicts("u.o", built, rebuilt, &names, &Renumbering::default()).unwrap()[0]
                .difference
                .clone()
        };
        assert_eq!(v(&built, &rebuilt), None);
        let other = compile(
            "tail-c",
            &TAIL.replace("return to_ull(cp, base); }", "return to_other(cp, base); }"),
            false,
        );
        let d = v(&built, &other).expect("a difference");
        assert!(
            d.contains("a branch to to_ull, the rebuild's to to_other"),
            "{d}"
        );
    }

    #[test]
    fn a_different_constant_is_a_difference() {
        let built = compile("const-a", SRC, true);
        let rebuilt = compile(
            "const-b",
            &SRC.replace("counter == 10", "counter == 11"),
            false,
        );
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("byte"), "{d}");
    }

    #[test]
    fn a_different_static_is_a_difference() {
        let built = compile("static-a", SRC, true);
        let rebuilt = compile("static-b", &SRC.replace("> limit", "> other_limit"), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(
            d.contains("refers to limit, the rebuild's to other_limit"),
            "{d}"
        );
    }

    #[test]
    fn a_different_string_is_a_difference() {
        let built = compile("string-a", SRC, true);
        let rebuilt = compile("string-b", &SRC.replace("ten %d", "TEN %d"), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("TEN"), "{d}");
    }

    /// A loop aligned to 32 bytes in a function that is not: the padding before the loop
    /// depends on where the function lies (at 0 of its own section, after `first` in
    /// `.text`), and so does the displacement of the branch back to the loop's head.
    #[test]
    fn alignment_padding_is_not_a_difference() {
        let src = "extern int work(int);\n\
                   int first(int v) { return work(v) + work(v + 1) + 3; }\n\
                   int looping(int n) { int s = 0; for (int i = 0; i < n; i++) s += work(i); \
                   return s; }\n";
        let flags = ["-falign-functions=1", "-falign-loops=32", "-falign-jumps=1"];
        let built = compile_with("pad-a", src, true, &flags);
        let rebuilt = compile_with("pad-b", src, false, &flags);
        let (a, b) = (
            built.defined("looping").unwrap(),
            rebuilt.defined("looping").unwrap(),
        );
        assert_ne!(
            a.size, b.size,
            "no padding difference: the test shows nothing"
        );
        assert_eq!(
            difference(&built, a, &rebuilt, b, &Renumbering::default()).unwrap(),
            None
        );
        // A different loop bound is still found.
        let other = compile_with("pad-c", &src.replace("i < n", "i <= n"), false, &flags);
        let c = other.defined("looping").unwrap();
        assert!(difference(&built, a, &other, c, &Renumbering::default())
            .unwrap()
            .is_some());
    }

    /// The same, with a `.cold` part that jumps back into the loop: the place it lands at
    /// moves with the padding, the instruction it lands on does not.
    #[test]
    fn a_cold_part_lands_on_the_same_instruction() {
        let src = "extern int work(int);\n\
                   extern void report(int) __attribute__((cold));\n\
                   int first(int v) { return work(v) + work(v + 1) + 3; }\n\
                   int looping(int n) { int s = 0; for (int i = 0; i < n; i++) { \
                   if (__builtin_expect(work(i) < 0, 0)) report(i); s += work(i + 1); } \
                   return s; }\n";
        let flags = ["-falign-functions=1", "-falign-loops=32", "-falign-jumps=1"];
        let built = compile_with("cold-a", src, true, &flags);
        let rebuilt = compile_with("cold-b", src, false, &flags);
        assert!(built.defined("looping.cold").is_some(), "no cold part");
        let (a, b) = (
            built.defined("looping").unwrap(),
            rebuilt.defined("looping").unwrap(),
        );
        assert_ne!(
            a.size, b.size,
            "no padding difference: the test shows nothing"
        );
        let v = verdicts(
            "u.o",
            &built,
            &rebuilt,
            &["looping".to_owned()],
            &Renumbering::default(),
        )
        .unwrap();
        assert_eq!(v[0].difference, None);
    }

    /// A message that names its file and line, kept by the generator's build (5283) and
    /// shifted in the rebuild (5290): the same literal where the renumbering says so, a
    /// difference otherwise (another line, or a change beside the number).
    #[test]
    fn a_kept_line_number_in_a_literal_is_not_a_difference() {
        let lit = |s: &str| Ref::Literal(s.as_bytes().to_vec(), 0);
        let kept = lit("field \"x\" at kernel/trace/trace_events_hist.c:5283");
        let plain = lit("field \"x\" at kernel/trace/trace_events_hist.c:5290");
        let mut lines = Renumbering::default();
        assert!(!kept_line_in_literal(&kept, &plain, &lines));
        let (_, r) = crate::input::lines::keep_line_numbers(
            &"x\n".repeat(5300),
            &("x\n".repeat(10) + &"y\n".repeat(7) + &"x\n".repeat(5290)),
        );
        lines
            .files
            .insert("kernel/trace/trace_events_hist.c".into(), r);
        assert!(kept_line_in_literal(&kept, &plain, &lines));
        let other = lit("field \"x\" at kernel/trace/trace_events_hist.c:5291");
        assert!(!kept_line_in_literal(&kept, &other, &lines));
        let changed = lit("field \"y\" at kernel/trace/trace_events_hist.c:5290");
        assert!(!kept_line_in_literal(&kept, &changed, &lines));
        let no_file = lit("count 5283");
        assert!(!kept_line_in_literal(&no_file, &lit("count 5290"), &lines));
    }

    /// A function below a change, built with the line numbers kept ([`crate::input::lines`]),
    /// against the ordinary build that has them shifted: the same line, if and only if the
    /// renumbering explains it.
    #[test]
    fn a_kept_line_number_is_not_a_difference() {
        let pre = "extern void warn_at(const char *f, int line);\n\
                   int ready;\n\
                   int first(void) { return ready; }\n\
                   void later(int v) { if (v > 3) warn_at(\"u.c\", __LINE__); ready = v; }\n";
        let mut post = pre.replace(
            "int first(void) { return ready; }\n",
            "int first(void)\n{\n\tif (!ready)\n\t\treturn -1;\n\treturn ready;\n}\n",
        );
        post =
            "/* pad the line numbers past what an 8-bit immediate holds */\n".repeat(200) + &post;
        let pre =
            "/* pad the line numbers past what an 8-bit immediate holds */\n".repeat(200) + pre;
        let (kept, renumbering) = crate::input::lines::keep_line_numbers(&pre, &post);
        let built = compile("line-a", &kept, true);
        let rebuilt = compile("line-b", &post, false);
        let name = ["later".to_owned()];
        let mut lines = Renumbering::default();
        let v = verdicts("u.o", &built, &rebuilt, &name, &lines).unwrap();
        assert!(
            v[0].difference
                .as_deref()
                .is_some_and(|d| d.contains("byte")),
            "the line numbers are not in the code: the test shows nothing ({:?})",
            v[0].difference
        );
        lines.files.insert("u.c".into(), renumbering);
        let v = verdicts("u.o", &built, &rebuilt, &name, &lines).unwrap();
        assert_eq!(v[0].difference, None);
        // Another constant is still a difference.
        let other = compile("line-c", &post.replace("v > 3", "v > 4"), false);
        let v = verdicts("u.o", &built, &other, &name, &lines).unwrap();
        assert!(v[0].difference.is_some());
    }

    #[test]
    fn a_function_missing_from_the_rebuild_is_named() {
        let built = compile("missing-a", SRC, true);
        let rebuilt = compile("missing-b", &SRC.replace("int show(", "int shown("), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("show: not in the rebuild"), "{d}");
    }
}
