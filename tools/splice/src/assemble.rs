// SPDX-License-Identifier: GPL-2.0

//! `splice-create assemble`: from the pre and post objects of one compilation unit, make the
//! pack's metadata blob, the carried code and data (`repl.o`), and the module glue.
//!
//! # Carrying
//!
//! The post sections of the targets are carried. Every relocation of a carried section is
//! sorted by its (canonical) symbol:
//!
//! * defined in a section that is already carried, mergeable or anonymous (strings,
//!   constants, switch tables: named by their section), a `.cold` part, another target, a
//!   symbol the pre object does not define (new), or read-only data whose contents changed:
//!   the section is carried too, and the relocation stays an ELF relocation of `repl.o`;
//! * defined in the post object and also in the pre object (existing functions, `static`
//!   variables whose state must be kept): not carried; the place points at a trap in `repl.o`
//!   (`__splice_unresolved`) if it is a call or jump, else at zeroed data
//!   (`__splice_unresolved_data`), and the relocation is listed in the blob, for the core to
//!   resolve with the value it learned by run-pre matching;
//! * undefined: kept as an ELF relocation if `Module.symvers` exports the symbol or another
//!   object of the pack defines it anew (a new global function the patch adds in one file and
//!   calls from another: carried there, linked within the pack), else listed in the blob
//!   (global) for the core.
//!
//! Special-section entries (alternatives, exception table, ...) that point into carried code
//! are copied with it; their relocations must be ones the module loader can resolve.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use anyhow::{bail, Context, Result};
use object::elf;
use object::write::{Object as WObject, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionFlags, SectionKind,
    SymbolFlags, SymbolKind, SymbolScope,
};
use serde::Serialize;

use crate::elf::{rtype_name, Canon, Obj, Rel, Sec, Sym};
use crate::format::{self, rtype, Reloc};
use crate::special::{
    self, ALTINSTRUCTIONS, ALTINSTR_REPLACEMENT, ORC_ENTRY_SIZE, ORC_UNWIND, ORC_UNWIND_IP,
};
use crate::split;
use crate::stub;
use crate::symvers::{Symvers, KLP_SYM_PREFIX};
use crate::tables;

/// How the targets are chosen.
#[derive(Clone, Debug)]
pub enum TargetSel {
    /// These functions.
    Explicit(Vec<String>),
    /// Every function present in both objects whose code differs.
    Auto,
}

/// What to assemble.
#[derive(Clone, Debug)]
pub struct Options {
    /// The object's path in the kernel tree, e.g. `fs/proc/version.o`.
    pub object_name: String,
    /// The module the object is linked into; empty for vmlinux.
    pub module: String,
    pub name: String,
    pub description: String,
    pub release: String,
    pub build_id: Vec<u8>,
    pub targets: TargetSel,
    /// The entry sizes of the kernel's special sections.
    pub layout: special::Layout,
    /// The kernel's global `__noreturn` functions ([`PackInfo::noreturns`]).
    pub noreturns: HashSet<String>,
}

/// One target, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportTarget {
    pub function: String,
    /// The object the function is compiled in (two objects may each have a static of the
    /// same name).
    pub object: String,
    pub replacement: String,
    pub core_relocs: usize,
}

/// One registered entry that is not a target, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFixup {
    pub carried: String,
    pub replacement: String,
    pub core_relocs: usize,
}

/// What was done, as `report.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub pack: String,
    pub module: String,
    /// The objects (compilation units) of the pack.
    pub objects: Vec<String>,
    pub pre_functions: usize,
    pub targets: Vec<ReportTarget>,
    pub fixups: Vec<ReportFixup>,
    /// Entries of the hook table.
    pub hooks: usize,
    /// Carried functions that are not targets (new functions, `.cold` parts).
    pub carried_new_functions: Vec<String>,
    /// Carried data: objects by name, anonymous sections by section name.
    pub carried_data: Vec<String>,
    pub carried_sections: Vec<String>,
    /// Relocations the core resolves (targets and fixups).
    pub core_resolved_relocations: usize,
    /// Relocations left in `repl.o` for the module loader.
    pub kept_elf_relocations: usize,
    /// Entries of special sections copied to `repl.o`, by section.
    pub special_entries: BTreeMap<String, usize>,
    /// Symbols of `repl.o` the module loader resolves.
    pub undefined_symbols: Vec<String>,
}

impl Report {
    /// Adds what one unit did.
    fn merge(&mut self, u: Report) {
        self.objects.extend(u.objects);
        self.pre_functions += u.pre_functions;
        self.targets.extend(u.targets);
        self.fixups.extend(u.fixups);
        self.carried_new_functions.extend(u.carried_new_functions);
        self.carried_data.extend(u.carried_data);
        self.carried_sections.extend(u.carried_sections);
        self.core_resolved_relocations += u.core_resolved_relocations;
        self.kept_elf_relocations += u.kept_elf_relocations;
        for (k, v) in u.special_entries {
            *self.special_entries.entry(k).or_default() += v;
        }
    }
}

/// Everything `assemble` writes.
#[derive(Clone, Debug)]
pub struct Output {
    pub modname: String,
    pub kbuild: String,
    /// `repl<k>.o` of each unit.
    pub repl_objs: Vec<Vec<u8>>,
    pub stub_c: String,
    pub blob: Vec<u8>,
    pub report: Report,
}

const LOCAL_TYPES: [u32; 5] = [
    rtype::R_X86_64_64,
    rtype::R_X86_64_PC32,
    rtype::R_X86_64_PLT32,
    rtype::R_X86_64_32,
    rtype::R_X86_64_32S,
];
const R_X86_64_PC64: u32 = 24;

/// The section `splice_hook()` puts hook entries in, and the size of an entry
/// (`struct splice_hook`).
pub const HOOKS_SECTION: &str = ".splice.hooks";
const HOOK_SIZE: u64 = 16;
/// Where the places the core resolves point until it does: a function that traps (`int3`)
/// and, as objtool reads it, returns, like the functions the core later puts there.
const UNRESOLVED_SECTION: &str = ".text.__splice_unresolved";
const UNRESOLVED_SYMBOL: &str = "__splice_unresolved";
/// Where the places the core resolves that are not calls or jumps point until it does.
const UNRESOLVED_DATA_SECTION: &str = ".data.__splice_unresolved";
const UNRESOLVED_DATA_SYMBOL: &str = "__splice_unresolved_data";
/// Where the calls the core resolves to a function that never returns point until it does:
/// a trap that, as objtool reads it, does not return either (`endbr64; int3; ud2`), as
/// objtool read the callee when it checked the kernel. A call to the returning trap instead
/// would be, in objtool's reading, a call that comes back to nothing ("unexpected end of
/// section") and leaves the replacement's ORC data in doubt.
const UNRESOLVED_NORETURN_SECTION: &str = ".text.__splice_unresolved_noreturn";
const UNRESOLVED_NORETURN_SYMBOL: &str = "__splice_unresolved_noreturn";
const UNRESOLVED_NORETURN_CODE: [u8; 7] = [0xf3, 0x0f, 0x1e, 0xfa, 0xcc, 0x0f, 0x0b];
/// `endbr64; int3; ret; int3`.
const UNRESOLVED_CODE: [u8; 7] = [0xf3, 0x0f, 0x1e, 0xfa, 0xcc, 0xc3, 0xcc];
/// `endbr64; int3; jmp __x86_return_thunk; int3`, for code built with return thunks.
const UNRESOLVED_CODE_RETHUNK: [u8; 11] = [
    0xf3, 0x0f, 0x1e, 0xfa, 0xcc, 0xe9, 0x00, 0x00, 0x00, 0x00, 0xcc,
];
/// Where the `jmp` of [`UNRESOLVED_CODE_RETHUNK`] is relocated.
const UNRESOLVED_THUNK_PLACE: u64 = 6;
const RETURN_THUNK: &str = "__x86_return_thunk";
/// The table of `BUG()`/`WARN()` sites, whose entries `WARN()` code refers to.
const BUG_TABLE: &str = "__bug_table";
/// The symbol of `repl.o` at the start of the carried hook table.
pub const HOOKS_SYMBOL: &str = "__splice_hooks";

/// The undefined symbol `name` of `repl.o`, added on first use.
fn undefined_symbol(
    o: &mut WObject<'_>,
    undef: &mut BTreeMap<String, SymbolId>,
    name: &str,
) -> SymbolId {
    *undef.entry(name.to_owned()).or_insert_with(|| {
        o.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Dynamic,
            // Weak, so that modpost does not report it as missing: the module loader
            // resolves it (loadrel.rs).
            weak: name.starts_with(KLP_SYM_PREFIX),
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        })
    })
}

pub(crate) fn width(t: u32) -> u64 {
    match t {
        rtype::R_X86_64_64 | R_X86_64_PC64 => 8,
        _ => 4,
    }
}

fn is_cold(name: &str) -> bool {
    name.ends_with(".cold") || name.contains(".cold.")
}

/// The function a `.cold` part belongs to.
fn cold_parent(name: &str) -> &str {
    name.rfind(".cold").map(|i| &name[..i]).unwrap_or(name)
}

/// The targets a shared section holds, for messages (its name if none).
fn label_targets(obj: &Obj, si: usize, targets: &HashSet<String>) -> String {
    let names: Vec<&str> = obj
        .section_symbols(si)
        .iter()
        .map(|&i| obj.symbols[i].name.as_str())
        .filter(|n| targets.contains(*n))
        .collect();
    if names.is_empty() {
        obj.sections[si].name.clone()
    } else {
        names.join(", ")
    }
}

/// Name of what a section holds, for messages.
fn label(obj: &Obj, si: usize) -> String {
    match obj.section_symbols(si) {
        [one] => obj.symbols[*one].name.clone(),
        _ => obj.sections[si].name.clone(),
    }
}

/// A reference into a mergeable section (string literals, constants), named by what it
/// points at: `.str1.1:text` for a string (bytes outside printable ASCII and `\` as `\xNN`),
/// `.cst16:hex` for a constant; with the addend relative to that. The linker merges equal
/// strings and constants across the whole kernel, so their addresses have nothing to do with
/// the section they came from: each is a symbol of its own, whose content the core checks.
fn merged_constant(obj: &Obj, c: &Canon, rtype: u32) -> Option<(String, i64)> {
    let si = c.section?;
    let sec = &obj.sections[si];
    if c.sym.is_some() || !sec.is_mergeable() {
        return None;
    }
    // Where the reference points: for a PC-relative one, past the end of its displacement
    // by what the instruction holds after it ([`Canon::bias`], from the decoded code).
    let at = if rtype::is_pc_relative(rtype) {
        c.sec_offset.checked_add(c.bias)?
    } else {
        c.sec_offset
    };
    let start = usize::try_from(at).ok()?;
    let flavor = sec.name.rfind(".str").or_else(|| sec.name.rfind(".cst"))?;
    let flavor = &sec.name[flavor..];
    let strings = sec.flags & u64::from(elf::SHF_STRINGS) != 0 || flavor.starts_with(".str");
    let name = if strings {
        let rest = sec.data.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        let mut n = format!("{flavor}:");
        for &b in &rest[..end] {
            if (0x20..0x7f).contains(&b) && b != b'\\' {
                n.push(b as char);
            } else {
                n.push_str(&format!("\\x{b:02x}"));
            }
        }
        n
    } else {
        let size = usize::try_from(sec.entsize.max(1)).ok()?;
        let bytes = sec.data.get(start..start.checked_add(size)?)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{flavor}:{hex}")
    };
    Some((name, c.addend - at))
}

/// Positions in `syms` by name (the first of a name).
fn index_by_name<'a>(syms: &[&'a Sym]) -> HashMap<&'a str, usize> {
    syms.iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .rev()
        .collect()
}

/// The relative branches of function `f` that leave it: `(instruction address, length,
/// target)`, addresses relative to its section (decoded with `iced-x86`).
pub fn branches_out(obj: &Obj, f: &Sym) -> Result<Vec<(u64, usize, u64)>> {
    use iced_x86::{Decoder, DecoderOptions, OpKind};
    let code = obj.symbol_bytes(f)?;
    let mut out = Vec::new();
    let mut d = Decoder::with_ip(64, &code, f.value, DecoderOptions::NONE);
    while d.can_decode() {
        let insn = d.decode();
        if insn.is_invalid() {
            break;
        }
        if insn.op_count() != 1
            || !matches!(insn.op0_kind(), OpKind::NearBranch64 | OpKind::NearBranch32)
        {
            continue;
        }
        let target = insn.near_branch_target();
        if target < f.value || target >= f.value + f.size {
            out.push((insn.ip(), insn.len(), target));
        }
    }
    Ok(out)
}

/// Calls and jumps of function `f` to other functions of its own section, which the
/// assembler resolved without a relocation (functions placed in one named section, such as
/// `.sched.text`, call each other directly): `(place, function called, addend)` as a
/// PC-relative relocation would say, with the place and the addend relative to the section.
pub fn intra_section_branches(obj: &Obj, f: &Sym) -> Result<Vec<(u64, String, i64)>> {
    let Some(si) = f.section else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (ip, len, target) in branches_out(obj, f)? {
        // rel32: the displacement is the last 4 bytes of the instruction.
        if len < 5 {
            continue;
        }
        let end = ip + len as u64;
        let place = end - 4;
        if !obj.sections[si].relocs_in(place, end).is_empty() {
            continue;
        }
        let callee = obj
            .section_symbols(si)
            .iter()
            .map(|&i| &obj.symbols[i])
            .find(|y| y.is_func() && target >= y.value && target < y.value + y.size.max(1));
        if let Some(y) = callee {
            out.push((place, y.name.clone(), (target - y.value) as i64 - 4));
        }
    }
    Ok(out)
}

/// The pre function table of the blob, with relocations and run-time site markers.
fn pre_functions(pre: &Obj) -> Result<(Vec<&Sym>, Vec<format::Function>)> {
    let mut funcs = pre.functions();
    funcs.sort_by_key(|f| (f.section, f.value, f.index));
    let sites = crate::sites::find(pre)?;
    let mut out = Vec::with_capacity(funcs.len());
    for f in &funcs {
        let sec = &pre.sections[f.section.unwrap_or(0)];
        let code = pre.symbol_bytes(f)?;
        let mut relocs = Vec::new();
        // Relocations inside run-time sites are listed too (the kernel ignores them): the
        // list stays the object's, and the site says which bytes the kernel may rewrite.
        for r in sec.relocs_in(f.value, f.value + f.size) {
            if !LOCAL_TYPES.contains(&r.rtype) {
                bail!(
                    "{}: {}: relocation type {} is not supported",
                    pre.path,
                    f.name,
                    rtype_name(r.rtype)
                );
            }
            if r.offset + width(r.rtype) > f.value + f.size {
                bail!(
                    "{}: {}: relocation at {:#x} crosses the end of the function",
                    pre.path,
                    f.name,
                    r.offset
                );
            }
            let c = pre.canon(r);
            if c.name.is_empty() {
                bail!(
                    "{}: {}: relocation at {:#x} has no symbol",
                    pre.path,
                    f.name,
                    r.offset
                );
            }
            let (symbol, addend) = match merged_constant(pre, &c, r.rtype) {
                Some(k) => k,
                None => (c.name, c.addend),
            };
            relocs.push(Reloc {
                offset: (r.offset - f.value) as u32,
                rtype: r.rtype,
                symbol,
                local: c.local,
                addend,
            });
        }
        for (place, callee, addend) in intra_section_branches(pre, f)? {
            let local = pre.defined(&callee).is_some_and(|y| !y.global);
            relocs.push(Reloc {
                offset: (place - f.value) as u32,
                rtype: rtype::R_X86_64_PC32,
                symbol: callee,
                local,
                addend,
            });
        }
        if let Some(s) = sites.get(&f.index) {
            for &(off, t, len) in s {
                relocs.push(Reloc::site(off, t, len));
            }
        }
        relocs.sort_by_key(|r| (r.offset, r.rtype));
        out.push(format::Function {
            name: f.name.clone(),
            local: !f.global,
            code,
            relocs,
        });
    }
    Ok((funcs, out))
}

/// Whether two relocation targets are the same, comparing the referenced bytes for
/// mergeable sections (strings, constants) and the contents of read-only data objects.
fn same_target(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Result<bool> {
    // Literals by content: the compiler puts a string shared by several functions in the
    // section of one of them, which may be another one after the patch.
    if let Some(same) = same_literal(pre, a, post, b) {
        return Ok(same);
    }
    if let Some(same) = same_sanitizer_data(pre, a, post, b)? {
        return Ok(same);
    }
    if a.name != b.name || a.local != b.local {
        return Ok(false);
    }
    if a.addend != b.addend {
        return Ok(false);
    }
    Ok(!rodata_changed(pre, post, &a.name)?)
}

/// For two targets in UBSAN's per-check data (`.data..Lubsan_data12`, `.data..Lubsan_type3`:
/// a check's file, line, column and type), whether they hold the same: the compiler numbers
/// them in the order of the checks in the file, so a check the patch adds above renumbers
/// those below. `None` if either target is not such data.
fn same_sanitizer_data(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Result<Option<bool>> {
    let data = |o: &'_ Obj, c: &Canon| {
        c.section
            .and_then(|i| o.sections.get(i))
            .filter(|s| s.name.contains("..Lubsan_"))
            .cloned()
    };
    let (Some(x), Some(y)) = (data(pre, a), data(post, b)) else {
        return Ok(None);
    };
    if a.sec_offset != b.sec_offset || x.data != y.data || x.relocs.len() != y.relocs.len() {
        return Ok(Some(false));
    }
    for (r, q) in x.relocs.iter().zip(&y.relocs) {
        if r.offset != q.offset
            || r.rtype != q.rtype
            || !same_target(pre, &pre.canon(r), post, &post.canon(q))?
        {
            return Ok(Some(false));
        }
    }
    Ok(Some(true))
}

/// For two targets in mergeable sections (strings, constants), whether they hold the same
/// literal: the compiler places literals by content, so a patch may move them. `None` if
/// either target is not a literal.
fn same_literal(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Option<bool> {
    let merged = |o: &Obj, c: &Canon| c.section.is_some_and(|s| o.sections[s].is_mergeable());
    (merged(pre, a) && merged(post, b)).then(|| {
        let (x, y) = (pre.merged_value(a), post.merged_value(b));
        x == y
            || x.zip(y)
                .is_some_and(|(x, y)| without_line_numbers(&x) == without_line_numbers(&y))
    })
}

/// A literal with the line number after each source file name (`kernel/x.c:1134`, as
/// FORTIFY_SOURCE's and BUG()'s messages have it) left out: a line the patch added or
/// removed above moves them, and a function whose only change is that is not a target.
fn without_line_numbers(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        out.push(s[i]);
        let after_name = [".c:", ".h:", ".rs:", ".S:"]
            .iter()
            .find(|e| s[..=i].ends_with(&e.as_bytes()[..e.len()]));
        if after_name.is_some() {
            while s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// Whether `name` is a read-only data object in both objects whose contents differ.
fn rodata_changed(pre: &Obj, post: &Obj, name: &str) -> Result<bool> {
    let (Some(a), Some(b)) = (pre.defined(name), post.defined(name)) else {
        return Ok(false);
    };
    let ro = |o: &Obj, s: &Sym| {
        s.is_object()
            && s.section
                .is_some_and(|i| !o.sections[i].is_write() && !o.sections[i].is_exec())
    };
    if !ro(pre, a) || !ro(post, b) {
        return Ok(false);
    }
    if a.size != b.size || pre.symbol_bytes(a)? != post.symbol_bytes(b)? {
        return Ok(true);
    }
    let ra = pre.sections[a.section.unwrap_or(0)].relocs_in(a.value, a.value + a.size);
    let rb = post.sections[b.section.unwrap_or(0)].relocs_in(b.value, b.value + b.size);
    if ra.len() != rb.len() {
        return Ok(true);
    }
    for (x, y) in ra.iter().zip(rb) {
        let (cx, cy) = (pre.canon(x), post.canon(y));
        if x.offset - a.value != y.offset - b.value || x.rtype != y.rtype {
            return Ok(true);
        }
        // A table of strings points into the merged string section, where a string the
        // patch adds elsewhere moves the others: strings are compared by content.
        let same = same_literal(pre, &cx, post, &cy)
            .unwrap_or(cx.name == cy.name && cx.addend == cy.addend);
        if !same {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Relocation-aware comparison of a pre and a post function.
pub fn same_function(pre: &Obj, a: &Sym, post: &Obj, b: &Sym) -> Result<bool> {
    if a.size != b.size {
        return Ok(false);
    }
    let (ca, cb) = (pre.symbol_bytes(a)?, post.symbol_bytes(b)?);
    // Calls to functions of the same section are compared by the function called.
    let (ba, bb) = (
        intra_section_branches(pre, a)?,
        intra_section_branches(post, b)?,
    );
    if ba.len() != bb.len()
        || ba
            .iter()
            .zip(&bb)
            .any(|(x, y)| x.0 - a.value != y.0 - b.value || x.1 != y.1 || x.2 != y.2)
    {
        return Ok(false);
    }
    let mut branch_mask = vec![false; ca.len()];
    for (place, _, _) in &ba {
        let off = (place - a.value) as usize;
        for m in branch_mask.iter_mut().skip(off).take(4) {
            *m = true;
        }
    }
    let ra = pre.sections[a.section.unwrap_or(0)].relocs_in(a.value, a.value + a.size);
    let rb = post.sections[b.section.unwrap_or(0)].relocs_in(b.value, b.value + b.size);
    if ra.len() != rb.len() {
        return Ok(false);
    }
    let mut mask = vec![false; ca.len()];
    for (x, y) in ra.iter().zip(rb) {
        let off = x.offset - a.value;
        if off != y.offset - b.value || x.rtype != y.rtype {
            return Ok(false);
        }
        if !same_target(pre, &pre.canon(x), post, &post.canon(y))? {
            return Ok(false);
        }
        for i in off..(off + width(x.rtype)).min(a.size) {
            mask[i as usize] = true;
        }
    }
    Ok(ca
        .iter()
        .zip(&cb)
        .zip(mask.iter().zip(&branch_mask))
        .all(|((p, q), (&m, &n))| m || n || p == q))
}

/// Sections of code that splice does not redirect: the idle code, which the kernel recognises
/// by the address it runs at, and the entry code, which runs before the kernel's stack and page
/// tables are set up. (`noinstr` functions, in `.noinstr.text`, are carried in a section of
/// that name, which the module loader records and kprobes leave alone.)
const UNREDIRECTABLE_SECTIONS: [&str; 2] = [".cpuidle.text", ".entry.text"];

/// The functions whose compiled code differs between `pre` and `post`, by name, in `pre`'s
/// order; a `.cold` part counts for its function. Fails, naming it, for a change splice
/// cannot make: `__init`/`__exit` code (it ran already, or runs with the module's removal
/// from its original copy), a boot- or load-time table ([`tables`]), idle or entry code
/// ([`UNREDIRECTABLE_SECTIONS`]), or a changed part whose function is not in both objects.
pub fn changed_functions(pre: &Obj, post: &Obj) -> Result<Vec<String>> {
    tables::refuse_table_changes(pre, post)?;
    let init_funcs = |o: &Obj| -> Vec<(String, usize)> {
        o.symbols
            .iter()
            .filter(|s| s.is_func() && s.size > 0)
            .filter(|s| {
                s.section
                    .and_then(|i| o.sections.get(i))
                    .is_some_and(|sec| sec.is_exec() && sec.is_init_or_exit())
            })
            .map(|s| (s.name.clone(), s.index))
            .collect()
    };
    let (pi, qi) = (init_funcs(pre), init_funcs(post));
    for (name, q) in &qi {
        let same = match pi.iter().find(|(n, _)| n == name) {
            Some((_, p)) => same_function(pre, &pre.symbols[*p], post, &post.symbols[*q])?,
            None => false,
        };
        if !same {
            bail!(
                "{}: {name}: __init or __exit code changes; splice cannot change code that \
                 ran at boot or load (make the fix in the code that runs later)",
                post.path
            );
        }
    }
    let pre_funcs = pre.functions();
    let post_funcs = post.functions_by_name();
    let mut out: Vec<String> = Vec::new();
    for f in &pre_funcs {
        let Some(q) = post_funcs.get(f.name.as_str()) else {
            continue;
        };
        if same_function(pre, f, post, q)? {
            continue;
        }
        let name = cold_parent(&f.name).to_owned();
        if pre.defined(&name).is_none() || !post_funcs.contains_key(name.as_str()) {
            bail!(
                "{}: {}: changed, but its function {name} is not in both objects",
                post.path,
                f.name
            );
        }
        if let Some(sec) = pre
            .defined(&name)
            .and_then(|s| s.section)
            .and_then(|i| pre.sections.get(i))
            .filter(|sec| UNREDIRECTABLE_SECTIONS.contains(&sec.name.as_str()))
        {
            let why = if sec.name == ".entry.text" {
                "it runs before the kernel's stack and page tables are set up"
            } else {
                "the kernel recognises idle CPUs by the address they run at"
            };
            bail!(
                "{}: {name}: idle or entry code ({}) changes; {why}, so it cannot be \
                 redirected to a replacement in module text",
                post.path,
                sec.name
            );
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Whether an object declares splice hooks (`splice_hook()` of include/linux/splice_pack.h).
pub fn declares_hooks(o: &Obj) -> bool {
    o.sections.iter().any(|s| s.name == HOOKS_SECTION)
}

/// Refuses changes to existing writable data objects (their size or initial value): the
/// running kernel's copy holds live state that a new initializer cannot reach, unless the
/// patch supplies hooks to convert it. Read-only data that changed is carried as a new copy.
pub fn refuse_data_changes(pre: &Obj, post: &Obj) -> Result<()> {
    if declares_hooks(post) {
        return Ok(());
    }
    for b in post.symbols.iter().filter(|s| s.is_object() && s.size > 0) {
        let Some(sec) = b.section.and_then(|i| post.sections.get(i)) else {
            continue;
        };
        if sec.flags & u64::from(elf::SHF_WRITE) == 0 || sec.is_init_or_exit() {
            continue;
        }
        let Some(a) = pre.defined(&b.name).filter(|a| a.is_object()) else {
            continue;
        };
        let differs = a.size != b.size
            || (!sec.is_nobits() && !same_data_bytes(pre, a, post, b, &sec.name)?)
            || !same_data_pointers(pre, a, post, b)?
            || pre
                .sections
                .get(a.section.unwrap_or(0))
                .is_some_and(|s| s.is_nobits() != sec.is_nobits());
        if differs {
            bail!(
                "{}: {}: an existing data object changes ({} -> {} bytes or a new initial \
                 value); its live copy would not follow. Supply splice hooks \
                 (include/linux/splice_pack.h) that convert it, or change code only",
                post.path,
                b.name,
                a.size,
                b.size
            );
        }
    }
    Ok(())
}

/// The section of dynamic debug's descriptors (`struct _ddebug`, one per `pr_debug()`).
const DYNDBG: &str = "__dyndbg";
/// Where `struct _ddebug` keeps its line number: the 18 low bits (`lineno:18`) of the
/// word after its four pointers (modname, function, filename, format).
const DYNDBG_LINENO: (usize, u32) = (32, (1 << 18) - 1);

/// Whether the initial bytes of data objects `a` (pre) and `b` (post) are the same. A
/// `pr_debug()` below a changed line keeps its descriptor but gets a new line number: that
/// is the source's bookkeeping, not state (the live descriptor keeps the old number, shown
/// only in the dynamic debug control file), so it is left out of the comparison.
fn same_data_bytes(pre: &Obj, a: &Sym, post: &Obj, b: &Sym, section: &str) -> Result<bool> {
    let (mut x, mut y) = (pre.symbol_bytes(a)?, post.symbol_bytes(b)?);
    let (at, mask) = DYNDBG_LINENO;
    if section == DYNDBG && x.len() >= at + 4 && y.len() >= at + 4 {
        for v in [&mut x, &mut y] {
            let w = u32::from_le_bytes([v[at], v[at + 1], v[at + 2], v[at + 3]]) & !mask;
            v[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    Ok(x == y)
}

/// Whether the pointers in data objects `a` (pre) and `b` (post) point at the same things:
/// the relocations at the same offsets, of the same types, to the same targets (literals
/// by content). `.fn = h1` becoming `.fn = h2` changes no byte of the object, only this.
fn same_data_pointers(pre: &Obj, a: &Sym, post: &Obj, b: &Sym) -> Result<bool> {
    let relocs = |o: &Obj, s: &Sym| -> Vec<Rel> {
        s.section
            .and_then(|i| o.sections.get(i))
            .map(|sec| sec.relocs_in(s.value, s.value + s.size).to_vec())
            .unwrap_or_default()
    };
    let (ra, rb) = (relocs(pre, a), relocs(post, b));
    if ra.len() != rb.len() {
        return Ok(false);
    }
    for (x, y) in ra.iter().zip(&rb) {
        if x.offset - a.value != y.offset - b.value || x.rtype != y.rtype {
            return Ok(false);
        }
        let (cx, cy) = (pre.canon(x), post.canon(y));
        let stem = |c: &Canon| correlation_stem(&c.name).unwrap_or_else(|| c.name.clone());
        let same = same_literal(pre, &cx, post, &cy)
            .unwrap_or(stem(&cx) == stem(&cy) && cx.addend == cy.addend);
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether two objects have the same sections, contents and relocations (for objects
/// assembled from `.S` files, which splice does not patch).
pub fn same_object(a: &Obj, b: &Obj) -> Result<bool> {
    let alloc = |o: &Obj| -> Vec<usize> {
        o.sections
            .iter()
            .filter(|s| s.flags & u64::from(elf::SHF_ALLOC) != 0)
            .map(|s| s.index)
            .collect()
    };
    let (sa, sb) = (alloc(a), alloc(b));
    if sa.len() != sb.len() {
        return Ok(false);
    }
    for (&i, &j) in sa.iter().zip(&sb) {
        let (x, y) = (&a.sections[i], &b.sections[j]);
        if x.name != y.name
            || x.size != y.size
            || x.data != y.data
            || x.relocs.len() != y.relocs.len()
        {
            return Ok(false);
        }
        for (r, q) in x.relocs.iter().zip(&y.relocs) {
            let (cr, cq) = (a.canon(r), b.canon(q));
            if r.offset != q.offset
                || r.rtype != q.rtype
                || cr.name != cq.name
                || cr.addend != cq.addend
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// `name` without a trailing `.<digits>` (the number GCC gives a static local or a clone).
pub(crate) fn numbered_stem(name: &str) -> Option<&str> {
    let (stem, n) = name.rsplit_once('.')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !stem.is_empty()).then_some(stem)
}

/// The name a local data object is correlated under, numbers left out: `count` for
/// `count.3` (GCC numbers static locals in the order it meets them), `__UNIQUE_ID_ddebug`
/// for `__UNIQUE_ID_ddebug412` or `__UNIQUE_ID_ddebug412.7` (the preprocessor's
/// `__COUNTER__`, which a macro used above renumbers). `None` for a name with neither.
pub(crate) fn correlation_stem(name: &str) -> Option<String> {
    let base = numbered_stem(name).unwrap_or(name);
    if let Some(id) = base.strip_prefix("__UNIQUE_ID_") {
        let kept = id.trim_end_matches(|c: char| c.is_ascii_digit());
        if kept.len() < id.len() {
            return Some(format!("__UNIQUE_ID_{kept}"));
        }
    }
    numbered_stem(name).map(str::to_owned)
}

/// The local data objects with a numbered name (`count.3`: static locals and the like;
/// `__UNIQUE_ID_*`), by [`correlation_stem`], and the functions that use each.
fn numbered_locals(o: &Obj) -> Vec<(usize, String, BTreeSet<String>)> {
    let mut users: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for f in o.functions() {
        let Some(sec) = f.section.and_then(|i| o.sections.get(i)) else {
            continue;
        };
        for r in sec.relocs_in(f.value, f.value + f.size) {
            if let Some(y) = o.canon(r).sym {
                users.entry(y).or_default().insert(f.name.clone());
            }
        }
    }
    o.symbols
        .iter()
        .filter(|s| s.is_object() && !s.global && s.section.is_some())
        .filter_map(|s| {
            let stem = correlation_stem(&s.name)?;
            Some((s.index, stem, users.remove(&s.index).unwrap_or_default()))
        })
        .collect()
}

/// `post` with its numbered local data objects (`count.3`) named after the pre objects they
/// correspond to: the one of the same stem used by the same functions. GCC numbers static
/// locals in the order it meets them, so a patch that adds one elsewhere in the file
/// renumbers the others; paired by name alone, a replacement would use another function's
/// variable, or carry a fresh copy and lose the running kernel's state. A post object that
/// corresponds to none gets a name the pre object does not have: it is new. Compiler
/// clones numbered differently are paired too ([`correlate_clones`]).
pub fn correlate_locals(pre: &Obj, post: &Obj) -> Obj {
    let (a, b) = (numbered_locals(pre), numbered_locals(post));
    let pre_named = |name: &str| a.iter().find(|(ai, _, _)| pre.symbols[*ai].name == name);
    // Whether pre object `ai` holds what post object `bi` does.
    let same = |ai: usize, bi: usize| {
        let (x, y) = (&pre.symbols[ai], &post.symbols[bi]);
        let section = y
            .section
            .and_then(|i| post.sections.get(i))
            .map_or("", |s| s.name.as_str());
        x.size == y.size
            && same_data_bytes(pre, x, post, y, section).unwrap_or(false)
            && same_data_pointers(pre, x, post, y).unwrap_or(false)
    };
    // `__COUNTER__` numbers every use of a macro in the file: one added above renumbers all
    // below, so that two objects of one function trade names. Those are paired by name only
    // if they hold the same.
    let counted = |stem: &str| stem.starts_with("__UNIQUE_ID_");
    // First the objects whose name and users are unchanged: the common case.
    let mut taken: HashSet<usize> = HashSet::new();
    let mut settled: HashSet<usize> = HashSet::new();
    for (bi, stem, users) in &b {
        if let Some((ai, _, u)) = pre_named(&post.symbols[*bi].name) {
            if (!u.is_disjoint(users) || (u.is_empty() && users.is_empty()))
                && (!counted(stem) || same(*ai, *bi))
            {
                taken.insert(*ai);
                settled.insert(*bi);
            }
        }
    }
    let mut renames = Vec::new();
    for (bi, stem, users) in b.iter().filter(|(bi, _, _)| !settled.contains(bi)) {
        let mut cands: Vec<usize> = a
            .iter()
            .filter(|(ai, s, u)| s == stem && !taken.contains(ai) && !u.is_disjoint(users))
            .map(|(ai, _, _)| *ai)
            .collect();
        // Of several, the one that holds the same, if there is one.
        if cands.len() > 1 {
            let alike: Vec<usize> = cands.iter().copied().filter(|&ai| same(ai, *bi)).collect();
            if alike.len() == 1 {
                cands = alike;
            }
        }
        let name = &post.symbols[*bi].name;
        match cands.as_slice() {
            // Renumbered: the pre object the same functions use.
            [ai] => {
                taken.insert(*ai);
                renames.push((*bi, pre.symbols[*ai].name.clone()));
            }
            // New, but named like another pre object: a name of its own.
            [] if pre.defined(name).is_some() => {
                renames.push((*bi, format!("{stem}.splice_new.{bi}")));
            }
            // New, or several candidates: the name stays (paired by name, as before).
            _ => {}
        }
    }
    renames.extend(correlate_clones(pre, post));
    let mut out = post.clone();
    if !renames.is_empty() {
        out.rename(&renames);
    }
    out
}

/// A compiler clone's name with its numbers left out (`foo.constprop.#.isra.#`), `None`
/// for a name that is not a numbered clone.
fn clone_key(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let numbered = parts[1..]
        .iter()
        .any(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let clone = parts[1..].iter().any(|p| {
        matches!(
            *p,
            "isra" | "constprop" | "part" | "lto_priv" | "specialized"
        )
    });
    (numbered && clone).then(|| {
        parts
            .iter()
            .map(|p| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    "#"
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// Renames of post compiler clones (`foo.constprop.1`) that GCC numbered differently than
/// in the pre object: a clone whose name only the post object has, paired with the one
/// pre clone of the same name but for the numbers that only the pre object has. Paired,
/// its callers compare equal when their code is; the clone itself is compared, and replaced
/// if it changed, as if the compiler had kept the number.
fn correlate_clones(pre: &Obj, post: &Obj) -> Vec<(usize, String)> {
    let only = |a: &Obj, b: &Obj| -> HashMap<String, Vec<usize>> {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for s in a
            .symbols
            .iter()
            .filter(|s| s.is_func() && s.section.is_some())
        {
            if b.defined(&s.name).is_some() {
                continue;
            }
            if let Some(k) = clone_key(&s.name) {
                m.entry(k).or_default().push(s.index);
            }
        }
        m
    };
    let (a, b) = (only(pre, post), only(post, pre));
    let mut out = Vec::new();
    for (k, bs) in &b {
        if let (Some([ai]), [bi]) = (a.get(k).map(Vec::as_slice), bs.as_slice()) {
            out.push((*bi, pre.symbols[*ai].name.clone()));
        }
    }
    out
}

/// Where a kept ELF relocation of `repl.o` points.
#[derive(Clone, Debug)]
enum Dest {
    /// A carried post section, at this offset.
    Sec(usize, i64),
    /// The copied `.altinstr_replacement`, at this offset.
    AltRepl(i64),
    /// An undefined (exported) symbol, with this addend.
    Undef(String, i64),
    /// An entry of a special table that code refers to (`__bug_table`: `WARN()` passes its
    /// entry): (post table section, offset, how far past it the entry is: the
    /// [`Canon::bias`] of a PC-relative reference), mapped to the copied entry.
    Entry(usize, i64, i64),
}

#[derive(Clone, Debug)]
struct Kept {
    offset: u64,
    rtype: u32,
    dest: Dest,
}

#[derive(Clone, Debug)]
struct CoreRel {
    offset: u64,
    rtype: u32,
    canon: Canon,
}

enum Class {
    Keep(Dest),
    Core(Canon),
}

/// A special section as written to `repl.o`.
#[derive(Clone, Debug)]
struct OutSpecial {
    name: String,
    flags: u64,
    align: u64,
    entsize: u64,
    data: Vec<u8>,
    relocs: Vec<Kept>,
    entries: usize,
    /// For `SHF_LINK_ORDER` tables: the carried post section the entries belong to (one
    /// output section per text section, as the linker wants).
    link: Option<usize>,
    /// The copied entries: (post section, offset, size, offset here).
    copied: Vec<(usize, u64, u64, u64)>,
}

/// The carried parts of `.altinstr_replacement`: (post section, start, len, out offset).
#[derive(Default)]
struct AltPieces {
    pieces: Vec<(usize, u64, u64, u64)>,
}

impl AltPieces {
    fn map(&self, sec: usize, off: i64) -> Option<i64> {
        self.pieces.iter().find_map(|&(s, start, len, out)| {
            (s == sec && off >= start as i64 && off <= (start + len) as i64)
                .then(|| out as i64 + off - start as i64)
        })
    }
}

struct Carrier<'a> {
    pre: &'a Obj,
    post: &'a Obj,
    layout: special::Layout,
    symvers: &'a Symvers,
    /// Global symbols some object of the pack defines and its pre object does not.
    pack_new: &'a HashSet<String>,
    targets: HashSet<String>,
    order: Vec<usize>,
    carried: HashSet<usize>,
    queue: VecDeque<usize>,
    kept: HashMap<usize, Vec<Kept>>,
    core: HashMap<usize, Vec<CoreRel>>,
}

impl<'a> Carrier<'a> {
    fn carry(&mut self, si: usize) {
        if self.carried.insert(si) {
            self.order.push(si);
            self.queue.push_back(si);
        }
    }

    /// Sorts relocation `r` of `owner` (a carried section, or a special section entry when
    /// `special` names it).
    fn classify(&mut self, owner: &str, r: &Rel, special: Option<&str>) -> Result<Class> {
        let post = self.post;
        let s = &post.symbols[r.sym];
        let c = post.canon(r);
        let Some(si) = c.section else {
            if !s.undefined || s.name.is_empty() {
                bail!(
                    "{}: {owner}: relocation at {:#x} against an absolute or missing symbol {:?}",
                    post.path,
                    r.offset,
                    s.name
                );
            }
            if self.symvers.is_exported(&s.name) || self.pack_new.contains(&s.name) {
                return Ok(Class::Keep(Dest::Undef(s.name.clone(), r.addend)));
            }
            if let Some(sp) = special {
                // The module loader links the entry (a jump label or static call key)
                // before splice runs: only it can resolve the symbol, by name.
                return match self.symvers.load_time_symbol(&s.name) {
                    Ok(k) => Ok(Class::Keep(Dest::Undef(k, r.addend))),
                    Err(why) => bail!(
                        "{}: {owner}: {sp} entry refers to {}, which is not exported, and {why}",
                        post.path,
                        s.name
                    ),
                };
            }
            return Ok(Class::Core(Canon { local: false, ..c }));
        };
        let sec = &post.sections[si];
        if sec.is_init_or_exit() {
            bail!(
                "{}: {owner}: refers to {} in {}, which does not exist after boot",
                post.path,
                c.name,
                sec.name
            );
        }
        if sec.name == ALTINSTR_REPLACEMENT {
            // Only entries of .altinstructions may point there; mapped by the caller.
            return Ok(Class::Keep(Dest::Sec(si, c.sec_offset)));
        }
        if sec.name == BUG_TABLE && special.is_none() {
            // WARN() passes its __bug_table entry; the entry goes with the carried code.
            return Ok(Class::Keep(Dest::Entry(si, c.sec_offset, c.bias)));
        }
        if special::is_dropped(&sec.name) {
            bail!(
                "{}: {owner}: refers to {} in {}, which a pack cannot carry",
                post.path,
                c.name,
                sec.name
            );
        }
        let carry = self.carried.contains(&si)
            || sec.is_mergeable()
            || c.sym.is_none()
            || is_cold(&c.name)
            || self.targets.contains(&c.name)
            || self.pre.defined(&c.name).is_none()
            || rodata_changed(self.pre, post, &c.name)?;
        if carry {
            self.carry(si);
            return Ok(Class::Keep(Dest::Sec(si, c.sec_offset)));
        }
        if let Some(sp) = special {
            // A key this object defines (a static key of the file): the running kernel's
            // instance, by name, if the name is unique in vmlinux.
            let resolved = match c.sym {
                Some(_) if !self.symvers.is_exported(&c.name) => {
                    self.symvers.load_time_symbol(&c.name)
                }
                _ => Err("it is not a named symbol".into()),
            };
            return match resolved {
                Ok(k) => Ok(Class::Keep(Dest::Undef(k, c.addend))),
                Err(why) => bail!(
                    "{}: {owner}: {sp} entry refers to {}, which is not carried and not exported, and {why}",
                    post.path,
                    c.name
                ),
            };
        }
        Ok(Class::Core(c))
    }

    fn check_type(&self, owner: &str, r: &Rel, core: bool) -> Result<()> {
        let ok = LOCAL_TYPES.contains(&r.rtype) || (!core && r.rtype == R_X86_64_PC64);
        if !ok {
            bail!(
                "{}: {owner}: relocation type {} is not supported",
                self.post.path,
                rtype_name(r.rtype)
            );
        }
        Ok(())
    }

    /// Carries everything reachable from the queued sections.
    fn drain(&mut self) -> Result<()> {
        while let Some(si) = self.queue.pop_front() {
            let post = self.post;
            let sec = &post.sections[si];
            let owner = label(post, si);
            if sec.is_exec() && post.section_symbols(si).len() > 1 {
                bail!(
                    "{}: {}: in section {} with other functions (a named section, or an \
                     object compiled without -ffunction-sections); splice cannot replace a \
                     function of a shared section yet",
                    post.path,
                    label_targets(post, si, &self.targets),
                    sec.name
                );
            }
            for r in &sec.relocs {
                self.check_type(&owner, r, false)?;
                match self.classify(&owner, r, None)? {
                    Class::Keep(dest) => {
                        if let Dest::Sec(ts, _) = dest {
                            if post.sections[ts].name == ALTINSTR_REPLACEMENT {
                                bail!(
                                    "{}: {owner}: code refers to {ALTINSTR_REPLACEMENT} directly",
                                    post.path
                                );
                            }
                        }
                        self.kept.entry(si).or_default().push(Kept {
                            offset: r.offset,
                            rtype: r.rtype,
                            dest,
                        });
                    }
                    Class::Core(canon) => {
                        self.check_type(&owner, r, true)?;
                        self.core.entry(si).or_default().push(CoreRel {
                            offset: r.offset,
                            rtype: r.rtype,
                            canon,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Where the field at `table[at]` points: (section, offset).
    fn pointee(&self, table: &Sec, at: u64) -> Option<(usize, i64)> {
        let r = table.relocs_in(at, at + 1).first()?;
        let s = &self.post.symbols[r.sym];
        Some((s.section?, (s.value as i64).wrapping_add(r.addend)))
    }

    fn in_carried_code(&self, p: Option<(usize, i64)>, alt: &AltPieces) -> bool {
        match p {
            Some((sec, off)) => {
                (self.carried.contains(&sec) && self.post.sections[sec].is_exec())
                    || alt.map(sec, off).is_some()
            }
            None => false,
        }
    }

    /// Copies relocations of `src[start..start+len]` (`span` is `(start, len)`) to `out` at
    /// `out_off`.
    fn copy_relocs(
        &mut self,
        owner: &str,
        src: &Sec,
        (start, len): (u64, u64),
        out_off: u64,
        alt: &AltPieces,
        out: &mut Vec<Kept>,
    ) -> Result<()> {
        for r in src.relocs_in(start, start + len) {
            self.check_type(owner, r, false)?;
            let dest = match self.classify(owner, r, Some(&src.name))? {
                Class::Keep(dest) => dest,
                Class::Core(c) => bail!(
                    "{}: {owner}: {} entry refers to {}, which the module loader cannot resolve",
                    self.post.path,
                    src.name,
                    c.name
                ),
            };
            let dest = match dest {
                Dest::Sec(ts, off) if self.post.sections[ts].name == ALTINSTR_REPLACEMENT => {
                    match alt.map(ts, off) {
                        Some(o) => Dest::AltRepl(o),
                        None => bail!(
                            "{}: {owner}: {} entry refers to a part of {ALTINSTR_REPLACEMENT} that is not carried",
                            self.post.path,
                            src.name
                        ),
                    }
                }
                d => d,
            };
            out.push(Kept {
                offset: r.offset - start + out_off,
                rtype: r.rtype,
                dest,
            });
        }
        Ok(())
    }

    /// The special sections for the carried code, and the carried alternative replacements.
    fn specials(&mut self) -> Result<(Vec<OutSpecial>, Option<OutSpecial>)> {
        let post = self.post;
        // Alternatives first: they decide the carried parts of .altinstr_replacement.
        let mut wanted: Vec<(usize, u64, u64)> = Vec::new();
        for t in post.sections_named(ALTINSTRUCTIONS) {
            for at in (0..t.size).step_by(14) {
                if !self.in_carried_code(self.pointee(t, at), &AltPieces::default()) {
                    continue;
                }
                let len = u64::from(t.data.get(at as usize + 13).copied().unwrap_or(0));
                match self.pointee(t, at + 4) {
                    Some((sec, off)) if off >= 0 && post.sections[sec].name == ALTINSTR_REPLACEMENT => {
                        wanted.push((sec, off as u64, len))
                    }
                    _ => bail!(
                        "{}: {ALTINSTRUCTIONS} entry at {at:#x} has no replacement in {ALTINSTR_REPLACEMENT}",
                        post.path
                    ),
                }
            }
        }
        wanted.sort();
        let mut merged: Vec<(usize, u64, u64)> = Vec::new();
        for (s, start, len) in wanted {
            match merged.last_mut() {
                Some((ls, lstart, llen)) if *ls == s && start <= *lstart + *llen => {
                    *llen = (*llen).max(start + len - *lstart);
                }
                _ => merged.push((s, start, len)),
            }
        }
        let mut alt = AltPieces::default();
        let mut alt_out = None;
        if !merged.is_empty() {
            let mut data = Vec::new();
            let mut flags = u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR);
            let mut align = 1;
            for &(s, start, len) in &merged {
                let sec = &post.sections[s];
                flags = sec.flags;
                align = align.max(sec.align);
                match sec.data.get(start as usize..(start + len) as usize) {
                    Some(b) => {
                        alt.pieces.push((s, start, len, data.len() as u64));
                        data.extend_from_slice(b);
                    }
                    None => bail!(
                        "{}: {ALTINSTR_REPLACEMENT}: replacement out of bounds",
                        post.path
                    ),
                }
            }
            let mut relocs = Vec::new();
            for &(s, start, len, out) in &alt.pieces.clone() {
                let sec = &post.sections[s];
                self.copy_relocs(
                    ALTINSTR_REPLACEMENT,
                    sec,
                    (start, len),
                    out,
                    &alt,
                    &mut relocs,
                )?;
            }
            alt_out = Some(OutSpecial {
                name: ALTINSTR_REPLACEMENT.to_owned(),
                flags,
                align,
                entsize: 0,
                data,
                relocs,
                entries: alt.pieces.len(),
                link: None,
                copied: Vec::new(),
            });
        }

        let mut outs: Vec<OutSpecial> = Vec::new();
        let orc: Vec<&Sec> = post.sections_named(ORC_UNWIND).collect();
        let mut orc_out: Option<OutSpecial> = None;
        let link_order = u64::from(elf::SHF_LINK_ORDER);
        for table in special::TABLES {
            // Output sections of this table, by linked section (`None`: not link-ordered).
            let mut groups: Vec<OutSpecial> = Vec::new();
            for (ti, t) in post.sections_named(table.name).enumerate() {
                let entry_size = self.layout.entry_size(table, t, &post.path)?;
                let n = t.size / entry_size;
                for i in 0..n {
                    let at = i * entry_size;
                    let key = self.pointee(t, at + table.key);
                    if !self.in_carried_code(key, &alt) {
                        continue;
                    }
                    let link = match key {
                        Some((sec, _)) if t.flags & link_order != 0 => Some(sec),
                        _ => None,
                    };
                    let gi = match groups.iter().position(|g| g.link == link) {
                        Some(gi) => gi,
                        None => {
                            groups.push(OutSpecial {
                                name: t.name.clone(),
                                flags: t.flags,
                                align: t.align,
                                entsize: t.entsize,
                                data: Vec::new(),
                                relocs: Vec::new(),
                                entries: 0,
                                link,
                                copied: Vec::new(),
                            });
                            groups.len() - 1
                        }
                    };
                    let o = &mut groups[gi];
                    let out_off = o.data.len() as u64;
                    let Some(bytes) = t.data.get(at as usize..(at + entry_size) as usize) else {
                        bail!("{}: {}: entry {i} out of bounds", post.path, t.name);
                    };
                    o.data.extend_from_slice(bytes);
                    o.entries += 1;
                    o.copied.push((t.index, at, entry_size, out_off));
                    let mut relocs = std::mem::take(&mut o.relocs);
                    self.copy_relocs(&t.name, t, (at, entry_size), out_off, &alt, &mut relocs)?;
                    groups[gi].relocs = relocs;
                    if table.name == ORC_UNWIND_IP {
                        // The parallel .orc_unwind entry.
                        let Some(u) = orc.get(ti) else {
                            bail!("{}: {ORC_UNWIND_IP} without {ORC_UNWIND}", post.path);
                        };
                        let start = (i * ORC_ENTRY_SIZE) as usize;
                        let Some(e) = u.data.get(start..start + ORC_ENTRY_SIZE as usize) else {
                            bail!("{}: {ORC_UNWIND}: entry {i} out of bounds", post.path);
                        };
                        let uo = orc_out.get_or_insert_with(|| OutSpecial {
                            name: ORC_UNWIND.to_owned(),
                            flags: u.flags,
                            align: u.align,
                            entsize: u.entsize,
                            data: Vec::new(),
                            relocs: Vec::new(),
                            entries: 0,
                            link: None,
                            copied: Vec::new(),
                        });
                        uo.data.extend_from_slice(e);
                        uo.entries += 1;
                    }
                }
            }
            outs.extend(groups);
        }
        outs.extend(orc_out);
        Ok((outs, alt_out))
    }
}

/// A registered entry: something carried that the core must know.
#[derive(Clone, Debug)]
struct Unit {
    sec: usize,
    start: u64,
    size: u64,
    label: String,
    func: bool,
}

/// Assembles a pack from `pre` and `post` (one compilation unit).
pub fn assemble(opts: &Options, pre: &Obj, post: &Obj, symvers: &Symvers) -> Result<Output> {
    let info = PackInfo {
        name: opts.name.clone(),
        description: opts.description.clone(),
        release: opts.release.clone(),
        build_id: opts.build_id.clone(),
        layout: opts.layout,
        noreturns: opts.noreturns.clone(),
    };
    let unit = UnitInput {
        object_name: opts.object_name.clone(),
        module: opts.module.clone(),
        pre,
        post,
        targets: opts.targets.clone(),
    };
    assemble_units(&info, &[unit], symvers)
}

/// What a pack says of itself.
#[derive(Clone, Debug)]
pub struct PackInfo {
    pub name: String,
    pub description: String,
    pub release: String,
    pub build_id: Vec<u8>,
    /// The entry sizes of the kernel's special sections.
    pub layout: special::Layout,
    /// The kernel's global `__noreturn` functions, as objtool knows them
    /// (`tools/objtool/noreturns.h`, [`noreturns_of`]).
    pub noreturns: HashSet<String>,
}

/// One compilation unit of a pack: the object compiled before and after the patch.
pub struct UnitInput<'a> {
    /// The object's path in the kernel tree, e.g. `fs/proc/version.o`.
    pub object_name: String,
    /// The module the object is linked into; empty for vmlinux.
    pub module: String,
    pub pre: &'a Obj,
    pub post: &'a Obj,
    pub targets: TargetSel,
}

/// What one unit contributes to the pack.
struct UnitOut {
    object: format::Object,
    targets: Vec<format::Target>,
    fixups: Vec<format::Fixup>,
    repl_o: Vec<u8>,
    registered: usize,
    hooks: usize,
    undefined: Vec<String>,
    report: Report,
}

/// Checks a pack name and gives its module's name.
pub fn module_name(name: &str) -> Result<String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("pack name {name:?}: use letters, digits, '-' and '_'");
    }
    Ok(format!("splice_{}", name.replace('-', "_")))
}

/// Assembles a pack from several compilation units (a header change, a patch to several
/// files). Each unit gives one object of the metadata table and one `repl<k>.o`.
pub fn assemble_units(info: &PackInfo, units: &[UnitInput], symvers: &Symvers) -> Result<Output> {
    let modname = module_name(&info.name)?;
    if let Some(u) = units.iter().find(|u| modname == u.module.replace('-', "_")) {
        bail!(
            "pack {:?} would be module {modname}, the name of the module it patches ({}); choose another name",
            info.name,
            u.object_name
        );
    }
    if units.is_empty() {
        bail!("no object to make a pack from");
    }
    let mut pack = format::Pack {
        name: info.name.clone(),
        description: info.description.clone(),
        kernel_release: info.release.clone(),
        build_id: info.build_id.clone(),
        flags: 0,
        objects: Vec::new(),
        targets: Vec::new(),
        fixups: Vec::new(),
    };
    let mut report = Report {
        pack: info.name.clone(),
        module: modname.clone(),
        ..Report::default()
    };
    let mut repl_objs = Vec::new();
    let (mut registered, mut hooks) = (0usize, 0usize);
    let mut undefined: Vec<String> = Vec::new();
    let mut functions = 0usize;
    let pack_new = new_globals(units);
    for (k, u) in units.iter().enumerate() {
        let out = assemble_unit(u, info, symvers, &pack_new, functions, registered, k)?;
        if out.hooks > 0 && hooks > 0 {
            bail!(
                "{}: splice hooks are declared in more than one object; declare them in one file",
                u.object_name
            );
        }
        functions += out.object.functions.len();
        registered += out.registered;
        hooks += out.hooks;
        undefined.extend(out.undefined);
        pack.objects.push(out.object);
        pack.targets.extend(out.targets);
        pack.fixups.extend(out.fixups);
        repl_objs.push(out.repl_o);
        report.merge(out.report);
    }
    let blob = pack.to_bytes(registered)?;
    format::reader::parse(&blob, registered).context("self-check of the written blob")?;
    undefined.retain(|n| !pack_new.contains(n));
    undefined.sort();
    undefined.dedup();
    let namespaces: Vec<String> = {
        let mut v: Vec<String> = undefined
            .iter()
            .filter_map(|n| symvers.namespace(n).map(str::to_owned))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let stub_c = stub::stub_c(
        &info.name,
        &info.description,
        &blob,
        registered,
        hooks,
        &namespaces,
    );
    let kbuild = stub::kbuild(&modname, repl_objs.len());
    report.hooks = hooks;
    report.undefined_symbols = undefined;
    Ok(Output {
        modname,
        kbuild,
        repl_objs,
        stub_c,
        blob,
        report,
    })
}

/// Adds to `o` a placeholder the places the core resolves point at until it does: section
/// and local symbol `names` holding `data`. Returns both.
fn add_placeholder(
    o: &mut WObject<'_>,
    entsizes: &mut Vec<(String, u64, Option<usize>)>,
    names: (&str, &str),
    kind: SectionKind,
    flags: u32,
    data: Vec<u8>,
) -> (SectionId, SymbolId) {
    let (section, symbol) = names;
    let id = o.add_section(Vec::new(), section.as_bytes().to_vec(), kind);
    o.section_mut(id).flags = SectionFlags::Elf {
        sh_flags: u64::from(flags),
    };
    let size = data.len() as u64;
    o.set_section_data(id, data, 16);
    entsizes.push((section.to_owned(), 0, None));
    let sym = o.add_symbol(Symbol {
        name: symbol.as_bytes().to_vec(),
        value: 0,
        size,
        kind: if kind == SectionKind::Text {
            SymbolKind::Text
        } else {
            SymbolKind::Data
        },
        scope: SymbolScope::Compilation,
        weak: false,
        section: SymbolSection::Section(id),
        flags: SymbolFlags::None,
    });
    (id, sym)
}

/// Whether the 32-bit PC-relative place at `offset` of `code` is the operand of a call, a
/// jump or a conditional jump (`e8`, `e9`, `0f 80`..`0f 8f`). The byte before the operand of
/// an instruction that accesses data RIP-relatively is its ModRM byte (`0x05`..`0x3d`),
/// which none of these opcodes is.
fn is_branch_place(code: &[u8], offset: u64, rtype: u32) -> bool {
    if !matches!(rtype, rtype::R_X86_64_PC32 | rtype::R_X86_64_PLT32) {
        return false;
    }
    let Ok(at) = usize::try_from(offset) else {
        return false;
    };
    let byte = |back: usize| at.checked_sub(back).and_then(|i| code.get(i)).copied();
    matches!(byte(1), Some(0xe8 | 0xe9))
        || (byte(2) == Some(0x0f) && byte(1).is_some_and(|b| b & 0xf0 == 0x80))
}

/// The functions `noreturns.h` (objtool's list of the kernel's global `__noreturn`
/// functions, `NORETURN(name)` lines) names.
pub fn noreturns_of(noreturns_h: &str) -> HashSet<String> {
    noreturns_h
        .lines()
        .filter_map(|l| l.trim().strip_prefix("NORETURN(")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

/// Whether the place the core resolves at `r` of `post`'s section `si` is a call to a
/// function that does not return: one the kernel's list names, or a call its function ends
/// with (nothing but `int3` after it), as the compiler ends code with a call it knows never
/// comes back.
fn is_noreturn_call(post: &Obj, si: usize, r: &CoreRel, noreturns: &HashSet<String>) -> bool {
    let code = &post.sections[si].data;
    let Some(at) = usize::try_from(r.offset).ok().filter(|&a| a >= 1) else {
        return false;
    };
    if code.get(at - 1) != Some(&0xe8) {
        return false;
    }
    if noreturns.contains(&r.canon.name) {
        return true;
    }
    let end = at + 4;
    let Some(func_end) = post
        .section_symbols(si)
        .iter()
        .map(|&yi| &post.symbols[yi])
        .filter(|y| y.is_func() && y.value <= r.offset && r.offset < y.value + y.size)
        .map(|y| (y.value + y.size) as usize)
        .next()
    else {
        return false;
    };
    code.get(end..func_end.min(code.len()))
        .is_some_and(|rest| rest.iter().all(|&b| b == 0xcc))
}

/// Refuses relocations to a static symbol that run-pre matching cannot find: the kernel
/// learns a static symbol's address only from the live code of the object's pre functions
/// (a static function by matching it, static data by a pre function that refers to it). A
/// static object that only data or boot-time code refers to is out of its reach.
fn refuse_unlearnable(
    post: &Obj,
    object: &format::Object,
    targets: &[format::Target],
    fixups: &[format::Fixup],
    report_targets: &[ReportTarget],
    report_fixups: &[ReportFixup],
) -> Result<()> {
    let mut learnable: HashSet<&str> = HashSet::new();
    for f in &object.functions {
        learnable.insert(&f.name);
        for r in f.relocs.iter().filter(|r| r.local) {
            learnable.insert(&r.symbol);
        }
    }
    let carried = targets
        .iter()
        .zip(report_targets)
        .map(|(t, r)| (&t.relocs, &r.function))
        .chain(
            fixups
                .iter()
                .zip(report_fixups)
                .map(|(f, r)| (&f.relocs, &r.carried)),
        );
    for (relocs, name) in carried {
        if let Some(r) = relocs
            .iter()
            .find(|r| r.local && !learnable.contains(r.symbol.as_str()))
        {
            bail!(
                "{}: {name}: refers to {}, a static symbol that no function of the object \
                 refers to (only data or boot-time code does), so run-pre matching cannot \
                 find it in the running kernel; reach it through data that code refers to",
                post.path,
                r.symbol
            );
        }
    }
    Ok(())
}

/// The global functions and data the objects of a pack define and their pre objects do not:
/// new code and data of the patch that other objects may use. Each is carried by the object
/// that defines it, visible to the pack's other objects (hidden outside the module).
fn new_globals(units: &[UnitInput]) -> HashSet<String> {
    units
        .iter()
        .flat_map(|u| added_globals(u.pre, u.post))
        .collect()
}

/// The global functions and data `post` defines and `pre` does not.
pub fn added_globals(pre: &Obj, post: &Obj) -> Vec<String> {
    post.symbols
        .iter()
        .filter(|y| y.global && !y.undefined && y.section.is_some())
        .filter(|y| (y.is_func() || y.is_object()) && !y.name.is_empty())
        .filter(|y| pre.defined(&y.name).is_none())
        .map(|y| y.name.clone())
        .collect()
}

/// Assembles unit number `object` of a pack, whose functions are numbered from `func_base`
/// and registered entries from `repl_base` in the whole pack.
fn assemble_unit(
    unit: &UnitInput,
    info: &PackInfo,
    symvers: &Symvers,
    pack_new: &HashSet<String>,
    func_base: usize,
    repl_base: usize,
    object: usize,
) -> Result<UnitOut> {
    let post_correlated = correlate_locals(unit.pre, unit.post);
    let (pre, post) = (unit.pre, &post_correlated);
    let (pre_syms, pre_funcs) = pre_functions(pre)?;
    let pre_index = index_by_name(&pre_syms);
    let post_funcs = post.functions_by_name();

    // Targets, in pre function order (explicit ones in command-line order).
    let mut targets: Vec<String> = Vec::new();
    match &unit.targets {
        TargetSel::Explicit(names) => {
            for n in names {
                if !pre_index.contains_key(n.as_str()) {
                    bail!(
                        "{}: {n}: target is not a function of the pre object",
                        pre.path
                    );
                }
                if !post_funcs.contains_key(n.as_str()) {
                    bail!(
                        "{}: {n}: target is not a function of the post object",
                        post.path
                    );
                }
                if is_cold(n) {
                    bail!(
                        "{}: {n}: target is a .cold part; name its function",
                        pre.path
                    );
                }
                if !targets.contains(n) {
                    targets.push(n.clone());
                }
            }
        }
        TargetSel::Auto => {
            targets = changed_functions(pre, post)?;
            if targets.is_empty() {
                bail!(
                    "{} and {}: no functional change (no function differs)",
                    pre.path,
                    post.path
                );
            }
        }
    }

    // A weak function that is not a target may have been overridden by another object's
    // definition in the linked kernel (kernel/sys.c's `arch_prctl_spec_ctrl_get` by the x86
    // one): its code is not the running code of its name, so it is left out of run-pre
    // matching.
    // A target in a text section it shares with other functions (`.sched.text`): the
    // section is split by function, so that the target is carried alone.
    // Writable data that several objects share (`__read_mostly`): split by object, so that a
    // new object is carried alone and the others stay the running kernel's instances.
    let post_data_split;
    let post = match split::shared_data(post)? {
        Some(s) => {
            post_data_split = s;
            &post_data_split
        }
        None => post,
    };
    let post_split;
    let post = match split::shared_text(post, &targets)? {
        Some(s) => {
            post_split = s;
            &post_split
        }
        None => post,
    };
    let post_funcs = post.functions_by_name();
    let keep: Vec<bool> = pre_syms
        .iter()
        .map(|f| !f.weak || targets.contains(&cold_parent(&f.name).to_owned()))
        .collect();
    let pre_syms: Vec<&Sym> = pre_syms
        .into_iter()
        .zip(&keep)
        .filter_map(|(f, &k)| k.then_some(f))
        .collect();
    let pre_funcs: Vec<format::Function> = pre_funcs
        .into_iter()
        .zip(&keep)
        .filter_map(|(f, &k)| k.then_some(f))
        .collect();
    let pre_index = index_by_name(&pre_syms);

    // Carry.
    let mut c = Carrier {
        pre,
        post,
        layout: info.layout,
        symvers,
        pack_new,
        targets: targets.iter().cloned().collect(),
        order: Vec::new(),
        carried: HashSet::new(),
        queue: VecDeque::new(),
        kept: HashMap::new(),
        core: HashMap::new(),
    };
    for t in &targets {
        let q = post_funcs[t.as_str()];
        c.carry(q.section.unwrap_or(0));
    }
    // New globals this object defines: another object of the pack may be their only user.
    for y in post
        .symbols
        .iter()
        .filter(|y| y.global && pack_new.contains(&y.name))
    {
        if let Some(si) = y.section {
            c.carry(si);
        }
    }
    // Hooks the patch declares (splice_hook() in include/linux/splice_pack.h): the table is
    // carried, and with it the hook functions.
    if pre.sections.iter().any(|s| s.name == HOOKS_SECTION) {
        bail!(
            "{}: the unpatched source already declares splice hooks ({HOOKS_SECTION})",
            pre.path
        );
    }
    let hooks_sec = post.sections.iter().position(|s| s.name == HOOKS_SECTION);
    let nr_hooks = match hooks_sec {
        Some(si) => {
            let size = post.sections[si].size;
            if size == 0 || size % HOOK_SIZE != 0 {
                bail!(
                    "{}: {HOOKS_SECTION} is {size} bytes, not a whole number of {HOOK_SIZE}-byte entries",
                    post.path
                );
            }
            c.carry(si);
            (size / HOOK_SIZE) as usize
        }
        None => 0,
    };
    let (specials, alt_out) = loop {
        c.drain()?;
        let r = c.specials()?;
        if c.queue.is_empty() {
            break r;
        }
    };

    // Registered entries: targets first, then carried things with core relocations.
    let mut units: Vec<Unit> = Vec::new();
    let mut target_secs: HashMap<usize, usize> = HashMap::new();
    for t in &targets {
        let q = post_funcs[t.as_str()];
        let si = q.section.unwrap_or(0);
        target_secs.insert(si, units.len());
        units.push(Unit {
            sec: si,
            start: q.value,
            size: q.size,
            label: t.clone(),
            func: true,
        });
    }
    let mut fixup_units: Vec<usize> = Vec::new();
    for &si in &c.order {
        let Some(core) = c.core.get(&si) else {
            continue;
        };
        if core.is_empty() || target_secs.contains_key(&si) {
            continue;
        }
        let sec = &post.sections[si];
        let lo = core.iter().map(|r| r.offset).min().unwrap_or(0);
        let hi = core
            .iter()
            .map(|r| r.offset + width(r.rtype))
            .max()
            .unwrap_or(0);
        let unit = match post.section_symbols(si) {
            [one]
                if post.symbols[*one].value <= lo
                    && hi <= post.symbols[*one].value + post.symbols[*one].size =>
            {
                let y = &post.symbols[*one];
                Unit {
                    sec: si,
                    start: y.value,
                    size: y.size,
                    label: y.name.clone(),
                    func: sec.is_exec(),
                }
            }
            _ => Unit {
                sec: si,
                start: 0,
                size: sec.size,
                label: sec.name.clone(),
                func: sec.is_exec(),
            },
        };
        fixup_units.push(units.len());
        units.push(unit);
    }

    let to_reloc = |u: &Unit, r: &CoreRel| -> Result<Reloc> {
        if r.offset < u.start || r.offset + width(r.rtype) > u.start + u.size {
            bail!(
                "{}: {}: relocation at {:#x} to {} lies outside the function",
                post.path,
                u.label,
                r.offset,
                r.canon.name
            );
        }
        Ok(Reloc {
            offset: (r.offset - u.start) as u32,
            rtype: r.rtype,
            symbol: r.canon.name.clone(),
            local: r.canon.local,
            addend: r.canon.addend,
        })
    };
    let object_out = format::Object {
        name: unit.object_name.clone(),
        module: unit.module.clone(),
        functions: pre_funcs,
    };
    let mut unit_targets = Vec::new();
    let mut unit_fixups = Vec::new();
    let mut report_targets = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let u = &units[i];
        let relocs = c
            .core
            .get(&u.sec)
            .map(|v| v.iter().map(|r| to_reloc(u, r)).collect::<Result<Vec<_>>>())
            .transpose()?
            .unwrap_or_default();
        report_targets.push(ReportTarget {
            function: t.clone(),
            object: unit.object_name.clone(),
            replacement: format!("__splice_repl_{}", repl_base + i),
            core_relocs: relocs.len(),
        });
        unit_targets.push(format::Target {
            function: (func_base + pre_index[t.as_str()]) as u32,
            replacement: (repl_base + i) as u32,
            relocs,
        });
    }
    let mut report_fixups = Vec::new();
    for &ui in &fixup_units {
        let u = &units[ui];
        let relocs = c.core[&u.sec]
            .iter()
            .map(|r| to_reloc(u, r))
            .collect::<Result<Vec<_>>>()?;
        report_fixups.push(ReportFixup {
            carried: u.label.clone(),
            replacement: format!("__splice_repl_{}", repl_base + ui),
            core_relocs: relocs.len(),
        });
        unit_fixups.push(format::Fixup {
            replacement: (repl_base + ui) as u32,
            // The local symbols the relocations name are this object's.
            object: object as u32,
            relocs,
        });
    }

    refuse_unlearnable(
        post,
        &object_out,
        &unit_targets,
        &unit_fixups,
        &report_targets,
        &report_fixups,
    )?;

    // repl.o
    let mut o = WObject::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let mut out_ids: HashMap<usize, SectionId> = HashMap::new();
    // (name, sh_entsize, sh_link as a position in this list) of every section added.
    let mut entsizes: Vec<(String, u64, Option<usize>)> = Vec::new();
    let mut position: HashMap<usize, usize> = HashMap::new();
    let strip = u64::from(elf::SHF_LINK_ORDER | elf::SHF_GROUP | elf::SHF_INFO_LINK);
    for &si in &c.order {
        let sec = &post.sections[si];
        let kind = if sec.is_exec() {
            SectionKind::Text
        } else if sec.is_nobits() {
            SectionKind::UninitializedData
        } else {
            SectionKind::Data
        };
        let id = o.add_section(Vec::new(), sec.name.as_bytes().to_vec(), kind);
        o.section_mut(id).flags = SectionFlags::Elf {
            sh_flags: sec.flags & !strip,
        };
        if sec.is_nobits() {
            o.append_section_bss(id, sec.size, sec.align);
        } else {
            let mut data = sec.data.clone();
            for r in c.core.get(&si).into_iter().flatten() {
                let (a, b) = (r.offset as usize, (r.offset + width(r.rtype)) as usize);
                if let Some(place) = data.get_mut(a..b) {
                    place.fill(0);
                }
            }
            o.set_section_data(id, data, sec.align);
        }
        position.insert(si, entsizes.len());
        entsizes.push((sec.name.clone(), sec.entsize, None));
        out_ids.insert(si, id);
    }
    let mut special_ids: Vec<(SectionId, &OutSpecial)> = Vec::new();
    let mut alt_id = None;
    for s in alt_out.iter().chain(&specials) {
        let kind = if s.flags & u64::from(elf::SHF_EXECINSTR) != 0 {
            SectionKind::Text
        } else {
            SectionKind::Data
        };
        let id = o.add_section(Vec::new(), s.name.as_bytes().to_vec(), kind);
        let link = s.link.and_then(|l| position.get(&l).copied());
        let keep = if link.is_some() {
            u64::from(elf::SHF_LINK_ORDER)
        } else {
            0
        };
        o.section_mut(id).flags = SectionFlags::Elf {
            sh_flags: s.flags & (!strip | keep),
        };
        o.set_section_data(id, s.data.clone(), s.align);
        entsizes.push((s.name.clone(), s.entsize, link));
        if s.name == ALTINSTR_REPLACEMENT {
            alt_id = Some(id);
        }
        special_ids.push((id, s));
    }
    // Until the core resolves them, calls and jumps to what the core resolves point at a
    // trap: objtool, run on the pack module, sees an ordinary call or
    // sibling call instead of a jump into nowhere, and nothing can run the unresolved code by
    // mistake. The trap returns, in objtool's reading, as what the core resolves the places to
    // does: a trap that did not (`ud2` alone) would make objtool take every call to it for a
    // call that never returns, and leave the code after it without ORC data. It returns the
    // way the object's own code does, through the return thunk when there is one.
    // Other places (data accesses, addresses taken) point at zeroed data: objtool wants a
    // reference to text that is not a call to land on an ENDBR, which one from an instruction
    // with an immediate after its displacement (`cmpl $10, x(%rip)`) would not, in its
    // reading, do on the trap. `R_X86_64_32` places stay zero: a module address does not fit
    // them.
    let rethunk = post
        .symbols
        .iter()
        .any(|s| s.undefined && s.name == RETURN_THUNK);
    // Which places are calls or jumps is read from the code, since the assembler relocates a
    // branch to a local symbol with `R_X86_64_PC32` as it does a data access.
    let branches: HashSet<(usize, u64)> = c
        .core
        .iter()
        .filter(|(si, _)| post.sections[**si].is_exec())
        .flat_map(|(si, v)| v.iter().map(move |r| (*si, r)))
        .filter(|(si, r)| is_branch_place(&post.sections[*si].data, r.offset, r.rtype))
        .map(|(si, r)| (si, r.offset))
        .collect();
    let is_branch_in = |si: usize, r: &CoreRel| branches.contains(&(si, r.offset));
    let data_placeholder = c
        .core
        .iter()
        .any(|(&si, v)| {
            v.iter()
                .any(|r| r.rtype != rtype::R_X86_64_32 && !is_branch_in(si, r))
        })
        .then(|| {
            add_placeholder(
                &mut o,
                &mut entsizes,
                (UNRESOLVED_DATA_SECTION, UNRESOLVED_DATA_SYMBOL),
                SectionKind::Data,
                elf::SHF_ALLOC | elf::SHF_WRITE,
                vec![0u8; 16],
            )
        });
    let noreturn: HashSet<(usize, u64)> = c
        .core
        .iter()
        .flat_map(|(si, v)| v.iter().map(move |r| (*si, r)))
        .filter(|(si, r)| is_branch_in(*si, r) && is_noreturn_call(post, *si, r, &info.noreturns))
        .map(|(si, r)| (si, r.offset))
        .collect();
    let noreturn_placeholder = (!noreturn.is_empty()).then(|| {
        add_placeholder(
            &mut o,
            &mut entsizes,
            (UNRESOLVED_NORETURN_SECTION, UNRESOLVED_NORETURN_SYMBOL),
            SectionKind::Text,
            elf::SHF_ALLOC | elf::SHF_EXECINSTR,
            UNRESOLVED_NORETURN_CODE.to_vec(),
        )
    });
    let placeholder = (branches.len() > noreturn.len()).then(|| {
        let code: &[u8] = if rethunk {
            &UNRESOLVED_CODE_RETHUNK
        } else {
            &UNRESOLVED_CODE
        };
        add_placeholder(
            &mut o,
            &mut entsizes,
            (UNRESOLVED_SECTION, UNRESOLVED_SYMBOL),
            SectionKind::Text,
            elf::SHF_ALLOC | elf::SHF_EXECINSTR,
            code.to_vec(),
        )
    });
    let gnu_stack = o.add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
    o.section_mut(gnu_stack).flags = SectionFlags::Elf { sh_flags: 0 };
    entsizes.push((".note.GNU-stack".to_owned(), 0, None));

    // Symbols: the carried ones stay local, but for new globals, which the pack's other
    // objects may use (global, hidden); the registered ones are global.
    let mut carried_new_functions = Vec::new();
    let mut carried_data = Vec::new();
    for &si in &c.order {
        let syms = post.section_symbols(si);
        if syms.is_empty() && !post.sections[si].is_exec() {
            carried_data.push(post.sections[si].name.clone());
        }
        for &yi in syms {
            let y = &post.symbols[yi];
            if y.is_func() {
                if !c.targets.contains(&y.name) {
                    carried_new_functions.push(y.name.clone());
                }
            } else {
                carried_data.push(y.name.clone());
            }
            o.add_symbol(Symbol {
                name: y.name.as_bytes().to_vec(),
                value: y.value,
                size: y.size,
                kind: if y.is_func() {
                    SymbolKind::Text
                } else {
                    SymbolKind::Data
                },
                scope: if y.global && c.pack_new.contains(&y.name) {
                    SymbolScope::Linkage
                } else {
                    SymbolScope::Compilation
                },
                weak: false,
                section: SymbolSection::Section(out_ids[&si]),
                flags: SymbolFlags::None,
            });
        }
    }
    for (i, u) in units.iter().enumerate() {
        o.add_symbol(Symbol {
            name: format!("__splice_repl_{}", repl_base + i).into_bytes(),
            value: u.start,
            size: u.size,
            kind: if u.func {
                SymbolKind::Text
            } else {
                SymbolKind::Data
            },
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(out_ids[&u.sec]),
            flags: SymbolFlags::None,
        });
    }
    if let Some(si) = hooks_sec {
        o.add_symbol(Symbol {
            name: HOOKS_SYMBOL.as_bytes().to_vec(),
            value: 0,
            size: post.sections[si].size,
            kind: SymbolKind::Data,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(out_ids[&si]),
            flags: SymbolFlags::None,
        });
    }
    let mut undef: BTreeMap<String, SymbolId> = BTreeMap::new();
    let mut kept_count = 0;
    let mut add_relocs = |o: &mut WObject, id: SectionId, relocs: &[Kept]| -> Result<()> {
        for k in relocs {
            let (symbol, addend) = match &k.dest {
                Dest::Sec(ts, off) => match out_ids.get(ts) {
                    Some(&tid) => (o.section_symbol(tid), *off),
                    None => bail!("internal: relocation to a section that is not carried"),
                },
                Dest::AltRepl(off) => match alt_id {
                    Some(tid) => (o.section_symbol(tid), *off),
                    None => {
                        bail!("internal: relocation to {ALTINSTR_REPLACEMENT} that is not carried")
                    }
                },
                Dest::Entry(ts, off, bias) => {
                    // A PC-relative displacement counts from the end of its instruction.
                    let at = off + bias;
                    let found = special_ids.iter().find_map(|(id, sp)| {
                        sp.copied.iter().find_map(|&(src, start, size, out)| {
                            (src == *ts && at >= start as i64 && at < (start + size) as i64)
                                .then(|| (*id, out as i64 + off - start as i64))
                        })
                    });
                    match found {
                        Some((tid, a)) => (o.section_symbol(tid), a),
                        None => bail!(
                            "{}: carried code refers to an entry of {} at {at:#x} that is not carried with it",
                            post.path,
                            post.sections[*ts].name
                        ),
                    }
                }
                Dest::Undef(name, a) => (undefined_symbol(o, &mut undef, name), *a),
            };
            o.add_relocation(
                id,
                Relocation {
                    offset: k.offset,
                    symbol,
                    addend,
                    flags: RelocationFlags::Elf { r_type: k.rtype },
                },
            )
            .map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
            kept_count += 1;
        }
        Ok(())
    };
    for &si in &c.order {
        if let Some(k) = c.kept.get(&si) {
            add_relocs(&mut o, out_ids[&si], k)?;
        }
    }
    for (id, s) in &special_ids {
        add_relocs(&mut o, *id, &s.relocs)?;
    }
    if let (Some((trap, _)), true) = (placeholder, rethunk) {
        let thunk = undefined_symbol(&mut o, &mut undef, RETURN_THUNK);
        o.add_relocation(
            trap,
            Relocation {
                offset: UNRESOLVED_THUNK_PLACE,
                symbol: thunk,
                addend: -4,
                flags: RelocationFlags::Elf {
                    r_type: rtype::R_X86_64_PLT32,
                },
            },
        )
        .map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
    }
    for &si in &c.order {
        for r in c.core.get(&si).into_iter().flatten() {
            let to = if r.rtype == rtype::R_X86_64_32 {
                None
            } else if noreturn.contains(&(si, r.offset)) {
                noreturn_placeholder
            } else if is_branch_in(si, r) {
                placeholder
            } else {
                data_placeholder
            };
            let Some((_, symbol)) = to else { continue };
            let pc_relative = matches!(r.rtype, rtype::R_X86_64_PC32 | rtype::R_X86_64_PLT32);
            o.add_relocation(
                out_ids[&si],
                Relocation {
                    offset: r.offset,
                    symbol,
                    addend: if pc_relative { -4 } else { 0 },
                    flags: RelocationFlags::Elf { r_type: r.rtype },
                },
            )
            .map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
        }
    }
    let mut repl_o = o.write().map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
    patch_entsizes(&mut repl_o, &entsizes)?;

    let report = Report {
        objects: vec![unit.object_name.clone()],
        pre_functions: pre_syms.len(),
        targets: report_targets,
        fixups: report_fixups,
        carried_new_functions,
        carried_data,
        carried_sections: c
            .order
            .iter()
            .map(|&si| post.sections[si].name.clone())
            .collect(),
        core_resolved_relocations: c.core.values().map(Vec::len).sum(),
        kept_elf_relocations: kept_count,
        special_entries: alt_out
            .iter()
            .chain(&specials)
            .map(|s| (s.name.clone(), s.entries))
            .collect(),
        ..Report::default()
    };
    Ok(UnitOut {
        object: object_out,
        targets: unit_targets,
        fixups: unit_fixups,
        repl_o,
        registered: units.len(),
        hooks: nr_hooks,
        undefined: undef.keys().cloned().collect(),
        report,
    })
}

/// Sets `sh_entsize` and `sh_link` of the written sections (`object::write` sets the
/// first only for strings and the second never). `sections` lists the non-relocation
/// sections in the order they were added, with the entry size and the position in the list
/// of the section linked to (for `SHF_LINK_ORDER`).
fn patch_entsizes(elf_data: &mut [u8], sections: &[(String, u64, Option<usize>)]) -> Result<()> {
    let check = Obj::parse("repl.o", elf_data)?;
    let content: Vec<&Sec> = check
        .sections
        .iter()
        .filter(|s| {
            s.index != 0
                && !matches!(
                    s.sh_type,
                    elf::SHT_RELA | elf::SHT_REL | elf::SHT_SYMTAB | elf::SHT_STRTAB
                )
        })
        .collect();
    if content.len() != sections.len()
        || content
            .iter()
            .zip(sections)
            .any(|(s, (n, _, _))| &s.name != n)
    {
        bail!("repl.o: written sections are not those added");
    }
    let shoff = u64::from_le_bytes(elf_data[0x28..0x30].try_into()?) as usize;
    for (s, (_, entsize, link)) in content.iter().zip(sections) {
        let at = shoff + s.index * 64;
        let Some(hdr) = elf_data.get_mut(at..at + 64) else {
            bail!("repl.o: section header out of bounds");
        };
        hdr[56..64].copy_from_slice(&entsize.to_le_bytes());
        if let Some(l) = link {
            let Some(target) = content.get(*l) else {
                bail!("repl.o: linked section out of range");
            };
            hdr[40..44].copy_from_slice(&(target.index as u32).to_le_bytes());
        }
    }
    Ok(())
}

impl Output {
    /// Writes `Kbuild`, `repl<k>.o`, `stub.c`, `pack-meta.bin` and `report.json` into `dir`,
    /// creating it.
    pub fn write_to(&self, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let report = serde_json::to_string_pretty(&self.report)? + "\n";
        let mut files: Vec<(String, &[u8])> = vec![
            ("Kbuild".into(), self.kbuild.as_bytes()),
            ("stub.c".into(), self.stub_c.as_bytes()),
            ("pack-meta.bin".into(), &self.blob[..]),
            ("report.json".into(), report.as_bytes()),
        ];
        for (k, o) in self.repl_objs.iter().enumerate() {
            files.push((format!("repl{k}.o"), &o[..]));
        }
        for (name, data) in files {
            let p = dir.join(name);
            std::fs::write(&p, data).with_context(|| format!("{}: cannot write", p.display()))?;
        }
        Ok(())
    }
}
