// SPDX-License-Identifier: GPL-2.0

//! Functions of a shared text section, and objects of a shared writable data section, each
//! given a section of its own.
//!
//! Writable data the source places in a named section (`__read_mostly`, `__ro_after_init`,
//! `.data..once`) is not split by `-fdata-sections` either. Carried whole for one new object,
//! it would bring fresh copies of the objects beside it, which the replacement would then
//! use instead of the running kernel's instances, at their initial values. [`shared_data`]
//! cuts such a section at object boundaries, so that a new object is carried alone and the
//! others are found in the running kernel like any existing static.
//!
//! `-ffunction-sections` gives every function its own section, except those the source
//! places in a named section: `__sched` functions share `.sched.text`, `noinstr` ones
//! `.noinstr.text`, and so on. The assembler resolves calls between them without a
//! relocation, and a relocation into the section names the section, not the function. To
//! carry one of them, [`shared_text`] rewrites the post object as if that section had been
//! split by function:
//!
//! - the section is cut at function boundaries; the bytes before a function (its
//!   `CALL_PADDING` prefix) go with it, the last function takes the rest;
//! - symbols and relocations move with their bytes;
//! - every relocation of the object that points into the section (from code, or from the
//!   special tables: ORC, `__bug_table`, `.altinstructions`, ...) is pointed at the
//!   function's section instead;
//! - a call or jump to another function of the section, which had no relocation, gets one
//!   (found by decoding the function with `iced-x86`, as matching does); a short jump to
//!   another function, which a relocation cannot express, is refused.
//!
//! The old section keeps its bytes but nothing refers to it, so it is never carried.
//!
//! `.altinstr_aux` (the run-time tests of `static_cpu_has()`) is cut the same way, at the
//! stubs code jumps to ([`aux_stubs`]): a replacement carries its own stubs, not the file's.

use anyhow::{bail, Result};
use object::elf;

use crate::elf::{Obj, Rel, Sec, Sym};
use crate::format::rtype;
use crate::format::HOOKS_SECTION;
use crate::x86::{branches_out, intra_section_branches};

/// The function regions of section `si`: (start, end, function symbol), covering it.
fn regions(o: &Obj, si: usize) -> Vec<(u64, u64, usize)> {
    let mut funcs: Vec<&Sym> = o
        .section_symbols(si)
        .iter()
        .map(|&i| &o.symbols[i])
        .filter(|s| s.is_func() && s.size > 0)
        .collect();
    funcs.sort_by_key(|s| s.value);
    let size = o.sections[si].size;
    let mut out = Vec::new();
    let mut start = 0;
    for (k, f) in funcs.iter().enumerate() {
        let end = match funcs.get(k + 1) {
            Some(_) => (f.value + f.size).min(size),
            None => size,
        };
        out.push((start, end, f.index));
        start = end;
    }
    out
}

/// Whether section `si` is text shared by several functions.
pub fn is_shared_text(o: &Obj, si: usize) -> bool {
    let s = &o.sections[si];
    s.is_exec()
        && s.is_alloc()
        && o.section_symbols(si)
            .iter()
            .filter(|&&i| o.symbols[i].is_func())
            .count()
            > 1
}

/// The post object with each shared text section that holds one of `targets` split by
/// function; `None` if there is none.
pub fn shared_text(o: &Obj, targets: &[String]) -> Result<Option<Obj>> {
    let shared: Vec<usize> = (0..o.sections.len())
        .filter(|&si| is_shared_text(o, si))
        .filter(|&si| {
            o.section_symbols(si)
                .iter()
                .any(|&i| targets.contains(&o.symbols[i].name))
        })
        .collect();
    if shared.is_empty() {
        return Ok(None);
    }
    let mut cuts = Vec::new();
    for &si in &shared {
        let old = &o.sections[si];
        let mut pieces = Vec::new();
        for (start, end, fi) in regions(o, si) {
            let f = &o.symbols[fi];
            // A short (rel8) jump to another function cannot become a relocation.
            let short = branches_out(o, f)?.into_iter().find(|b| b.1 < 5);
            if let Some(at) = short.map(|b| b.0 - f.value) {
                bail!(
                    "{}: {}: a short jump at offset {at:#x} leaves it for another function of {}; \
                     splice cannot carry it apart from them",
                    o.path,
                    f.name,
                    old.name
                );
            }
            // Calls and jumps to the other functions, which had no relocation.
            let mut extra = Vec::new();
            for (place, callee, addend) in intra_section_branches(o, f)? {
                let Some(c) = o.defined(&callee) else {
                    bail!(
                        "{}: {}: calls {callee}, which it cannot find",
                        o.path,
                        f.name
                    );
                };
                extra.push(Rel {
                    section: 0,
                    offset: place,
                    rtype: rtype::R_X86_64_PC32,
                    sym: c.index,
                    addend,
                });
            }
            pieces.push(Piece { start, end, extra });
        }
        cuts.push((si, pieces));
    }
    cut(o, &cuts).map(Some)
}

/// Whether section `si` is writable data that several named objects share
/// (`.data..read_mostly`, `.data..ro_after_init`, `.data..once`, per-CPU data in
/// `.data..percpu`, `pr_debug()`'s descriptors in `__dyndbg`): a section the source names,
/// which `-fdata-sections` does not split. Per-CPU pieces keep the section's name, so the
/// pieces carried are linked into the pack module's one `.data..percpu`, which the module
/// loader gives a per-CPU area; `__dyndbg` pieces go to the pack module's table of
/// descriptors. Objects with made-up names (`__UNIQUE_ID_*`, numbered by the order of the
/// source) carry the names of the running kernel's by now: correlation
/// ([`crate::correlate::correlate_locals`]) paired them by content. The special tables are
/// left whole.
pub fn is_shared_data(o: &Obj, si: usize) -> bool {
    let s = &o.sections[si];
    if !s.is_alloc() || !s.is_write() || s.is_exec() || s.is_mergeable() {
        return false;
    }
    if crate::special::table(&s.name).is_some()
        || crate::special::is_dropped(&s.name)
        || s.name == HOOKS_SECTION
    {
        return false;
    }
    let objects: Vec<&Sym> = o
        .section_symbols(si)
        .iter()
        .map(|&i| &o.symbols[i])
        .filter(|y| !y.is_section() && y.size > 0)
        .collect();
    objects.len() > 1 && objects.iter().all(|y| y.is_object())
}

/// The post object with each shared writable data section ([`is_shared_data`]) split by
/// object, so that carrying a new object does not carry its neighbours: those the running
/// kernel has stay its live instances. `None` if there is none.
pub fn shared_data(o: &Obj) -> Result<Option<Obj>> {
    let mut cuts = Vec::new();
    for si in (0..o.sections.len()).filter(|&si| is_shared_data(o, si)) {
        let starts: Vec<u64> = o
            .section_symbols(si)
            .iter()
            .map(|&i| &o.symbols[i])
            .filter(|y| !y.is_section() && y.size > 0)
            .map(|y| y.value)
            .collect();
        // The bytes before the first object, and the padding after each, go with it.
        cuts.push((si, pieces_at(starts, o.sections[si].size)));
    }
    if cuts.is_empty() {
        return Ok(None);
    }
    cut(o, &cuts).map(Some)
}

/// The section of `static_cpu_has()`'s run-time tests (`arch/x86/include/asm/cpufeature.h`).
pub const ALTINSTR_AUX: &str = ".altinstr_aux";

/// The post object with `.altinstr_aux` cut into its stubs. Until alternatives patch it,
/// `static_cpu_has()` jumps to a test there that jumps back into its function: one stub per
/// use, every function's of the file in the one section. Carried whole, it would bring the
/// stubs of functions the pack does not replace, whose jumps back the core would have to
/// resolve into code run-pre matching never saw; cut at the places other sections point to,
/// a replacement carries its own stubs only. `None` if nothing points into such a section.
pub fn aux_stubs(o: &Obj) -> Result<Option<Obj>> {
    let Some(si) = o.sections.iter().position(|s| s.name == ALTINSTR_AUX) else {
        return Ok(None);
    };
    let size = o.sections[si].size;
    let mut starts: Vec<u64> = Vec::new();
    for sec in o.sections.iter().filter(|s| s.index != si) {
        for r in &sec.relocs {
            let y = &o.symbols[r.sym];
            if y.section != Some(si) {
                continue;
            }
            let t = y.value as i64 + r.addend + o.target_bias(r);
            if let Ok(t) = u64::try_from(t) {
                if t < size {
                    starts.push(t);
                }
            }
        }
    }
    if starts.is_empty() {
        return Ok(None);
    }
    // The bytes before the first stub go with it.
    cut(o, &[(si, pieces_at(starts, size))]).map(Some)
}

/// A section of `size` bytes cut at `starts` (in any order): one piece from each start to
/// the next, the first from the section's start, the last to its end.
fn pieces_at(mut starts: Vec<u64>, size: u64) -> Vec<Piece> {
    starts.sort_unstable();
    starts.dedup();
    starts
        .iter()
        .enumerate()
        .map(|(k, &v)| Piece {
            start: if k == 0 { 0 } else { v },
            end: starts.get(k + 1).copied().unwrap_or(size),
            extra: Vec::new(),
        })
        .collect()
}

/// One piece a section is cut into: its bytes `start..end`, and relocations to add (at
/// offsets of the old section).
struct Piece {
    start: u64,
    end: u64,
    extra: Vec<Rel>,
}

/// `o` with each section of `cuts` cut into its pieces, each a section of its own with a
/// section symbol: bytes, symbols and relocations go with their piece, and every relocation
/// of the object that points into a cut section points at the piece instead. The old
/// sections keep their bytes but nothing refers to them, so they are never carried.
fn cut(o: &Obj, cuts: &[(usize, Vec<Piece>)]) -> Result<Obj> {
    let cut_sections: Vec<usize> = cuts.iter().map(|c| c.0).collect();
    let mut sections: Vec<Sec> = o.sections.clone();
    let mut symbols: Vec<Sym> = o.symbols.clone();
    let moved = add_pieces(o, cuts, &mut sections, &mut symbols)?;
    move_symbols(o, &mut symbols, &moved, &cut_sections);
    repoint_relocations(o, &mut sections, &moved, &cut_sections)?;
    // Link-ordered tables follow their text, which now has the new section's index: the
    // assembler groups them by the section their entries point at.
    Obj::from_parts(&o.path, sections, symbols)
}

/// Where a piece of a cut section went.
struct Moved {
    /// The cut section, and the piece's bytes in it.
    from: usize,
    start: u64,
    end: u64,
    /// The piece's section, and its section symbol.
    to: usize,
    sym: usize,
}

/// Adds a section for each piece of `cuts` (its bytes and relocations) with its section
/// symbol; the cut sections keep their bytes, without relocations.
fn add_pieces(
    o: &Obj,
    cuts: &[(usize, Vec<Piece>)],
    sections: &mut Vec<Sec>,
    symbols: &mut Vec<Sym>,
) -> Result<Vec<Moved>> {
    let mut moved = Vec::new();
    for (si, pieces) in cuts {
        let si = *si;
        let old = &o.sections[si];
        for p in pieces {
            let (start, end) = (p.start, p.end);
            let ni = sections.len();
            let mut relocs: Vec<Rel> = old
                .relocs
                .iter()
                .chain(&p.extra)
                .filter(|r| r.offset >= start && r.offset < end)
                .map(|r| Rel {
                    section: ni,
                    offset: r.offset - start,
                    ..r.clone()
                })
                .collect();
            relocs.sort_by_key(|r| r.offset);
            let Some(data) = old.data.get(start as usize..end as usize) else {
                bail!(
                    "{}: {}: a piece {start:#x}..{end:#x} out of the section",
                    o.path,
                    old.name
                );
            };
            sections.push(Sec {
                index: ni,
                name: old.name.clone(),
                sh_type: old.sh_type,
                flags: old.flags,
                align: old.align,
                entsize: old.entsize,
                link: 0,
                size: end - start,
                data: data.to_vec(),
                relocs,
            });
            let sym = symbols.len();
            symbols.push(Sym {
                index: sym,
                name: old.name.clone(),
                st_type: elf::STT_SECTION,
                global: false,
                weak: false,
                section: Some(ni),
                undefined: false,
                value: 0,
                size: 0,
            });
            moved.push(Moved {
                from: si,
                start,
                end,
                to: ni,
                sym,
            });
        }
        sections[si].relocs.clear();
    }
    Ok(moved)
}

/// Symbols of the cut sections go with their bytes (a label at the very end stays with the
/// last piece).
fn move_symbols(o: &Obj, symbols: &mut [Sym], moved: &[Moved], cut_sections: &[usize]) {
    for s in symbols.iter_mut() {
        let Some(si) = s.section else { continue };
        if s.is_section() || !cut_sections.contains(&si) {
            continue;
        }
        let region = moved
            .iter()
            .filter(|m| m.from == si)
            .find(|m| s.value >= m.start && (s.value < m.end || m.end == o.sections[si].size));
        if let Some(m) = region {
            s.section = Some(m.to);
            s.value -= m.start;
        }
    }
}

/// Relocations that name a cut section point at the piece that holds their target instead.
fn repoint_relocations(
    o: &Obj,
    sections: &mut [Sec],
    moved: &[Moved],
    cut_sections: &[usize],
) -> Result<()> {
    for sec in sections.iter_mut() {
        // Where this section's bytes were in `o`, whose code was decoded.
        let (origin, shift) = moved
            .iter()
            .find(|m| m.to == sec.index)
            .map_or((sec.index, 0), |m| (m.from, m.start));
        for r in sec.relocs.iter_mut() {
            let s = &o.symbols[r.sym];
            let Some(si) = s
                .section
                .filter(|si| s.is_section() && cut_sections.contains(si))
            else {
                continue;
            };
            // A displacement in an instruction counts from the instruction's end; a table
            // entry points where its addend says.
            let t = r.addend
                + o.target_bias(&Rel {
                    section: origin,
                    offset: r.offset + shift,
                    ..r.clone()
                });
            let Some(m) = moved
                .iter()
                .filter(|m| m.from == si)
                .find(|m| t >= m.start as i64 && t < m.end as i64)
                .or_else(|| moved.iter().rfind(|m| m.from == si && t == m.end as i64))
            else {
                bail!(
                    "{}: {}: a relocation points at offset {t:#x} of {}, outside its pieces",
                    o.path,
                    sec.name,
                    o.sections[si].name
                );
            };
            r.sym = m.sym;
            r.addend -= m.start as i64;
        }
    }
    Ok(())
}
