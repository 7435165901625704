// SPDX-License-Identifier: GPL-2.0

//! The registered entries of a unit (targets, then carried code the core must fix up),
//! and the metadata the blob says of them: the pre function table, targets and fixups.

use std::collections::HashMap;

use anyhow::{bail, Result};
use object::elf;

use crate::clone::Carried;
use crate::elf::{rtype_name, Canon, Obj, Sym};
use crate::format::{self, rtype, Reloc};
use crate::report::{ReportFixup, ReportTarget};
use crate::x86::{intra_section_branches, width, LOCAL_TYPES};

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
    // The literal it points into (to the end of a string, too), or the one at the local
    // symbol it names ([`Canon::anchor`]), which the addend then counts from.
    let (start, bytes) = sec.literal_at(c.anchor.or(usize::try_from(at).ok())?)?;
    let flavor = sec.name.rfind(".str").or_else(|| sec.name.rfind(".cst"))?;
    let flavor = &sec.name[flavor..];
    let strings = sec.flags & u64::from(elf::SHF_STRINGS) != 0 || flavor.starts_with(".str");
    let name = if strings {
        let mut n = format!("{flavor}:");
        for &b in bytes {
            if (0x20..0x7f).contains(&b) && b != b'\\' {
                n.push(b as char);
            } else {
                n.push_str(&format!("\\x{b:02x}"));
            }
        }
        n
    } else {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("{flavor}:{hex}")
    };
    Some((name, c.addend - i64::try_from(start).ok()?))
}

/// Positions in `syms` by name (the first of a name).
pub fn index_by_name<'a>(syms: &[&'a Sym]) -> HashMap<&'a str, usize> {
    syms.iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .rev()
        .collect()
}

/// The relocations of pre function `f`, at offsets from its start, named canonically (a
/// merged constant by its contents' place). Relocations inside run-time sites are listed
/// too (the kernel ignores them): the list stays the object's, and the site says which
/// bytes the kernel may rewrite.
fn function_relocs(pre: &Obj, f: &Sym) -> Result<Vec<Reloc>> {
    let sec = &pre.sections[f.section.unwrap_or(0)];
    let mut relocs = Vec::new();
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
    Ok(relocs)
}

/// The pre function table of the blob, with relocations and run-time site markers.
pub fn pre_functions(pre: &Obj) -> Result<(Vec<&Sym>, Vec<format::Function>)> {
    let mut funcs = pre.functions();
    // Static call trampolines: the kernel rewrites their jump whenever the call's target
    // changes (a probe on a tracepoint), so their live code tells nothing of what they
    // jumped to when built. Code that calls one reaches it by name.
    funcs.retain(|f| {
        f.section
            .and_then(|i| pre.sections.get(i))
            .is_none_or(|s| s.name != STATIC_CALL_TEXT)
    });
    funcs.sort_by_key(|f| (f.section, f.value, f.index));
    let sites = crate::sites::find(pre)?;
    let mut out = Vec::with_capacity(funcs.len());
    for f in &funcs {
        let code = pre.symbol_bytes(f)?;
        let mut relocs = function_relocs(pre, f)?;
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

/// The section of static call trampolines (`DEFINE_STATIC_CALL`, tracepoints).
const STATIC_CALL_TEXT: &str = ".static_call.text";

/// A registered entry: something carried that the core must know (it is exported from the
/// pack module as `__splice_repl_<n>`).
#[derive(Clone, Debug)]
pub struct Entry {
    /// The carried post section it is in.
    pub sec: usize,
    /// Where in the section, and how long.
    pub start: u64,
    pub size: u64,
    /// The function, object or section it is, for messages.
    pub label: String,
    /// Whether it is code.
    pub func: bool,
}

/// The registered entries of a unit: one for each target, in the order of `targets`, then
/// one for each other carried section with relocations the core resolves (its only symbol
/// if that holds them all, else the whole section).
pub fn entries(post: &Obj, targets: &[String], c: &Carried) -> Result<Vec<Entry>> {
    let post_funcs = post.functions_by_name();
    let mut out: Vec<Entry> = Vec::new();
    for t in targets {
        let Some(q) = post_funcs.get(t.as_str()) else {
            bail!(
                "{}: {t}: target is not a function of the post object",
                post.path
            );
        };
        out.push(Entry {
            sec: q.section.unwrap_or(0),
            start: q.value,
            size: q.size,
            label: t.clone(),
            func: true,
        });
    }
    for &si in &c.order {
        let Some(core) = c.core.get(&si) else {
            continue;
        };
        if core.is_empty() || out[..targets.len()].iter().any(|e| e.sec == si) {
            continue;
        }
        let sec = &post.sections[si];
        let lo = core.iter().map(|r| r.offset).min().unwrap_or(0);
        let hi = core
            .iter()
            .map(|r| r.offset + width(r.rtype))
            .max()
            .unwrap_or(0);
        let entry = match post.section_symbols(si) {
            [one]
                if post.symbols[*one].value <= lo
                    && hi <= post.symbols[*one].value + post.symbols[*one].size =>
            {
                let y = &post.symbols[*one];
                Entry {
                    sec: si,
                    start: y.value,
                    size: y.size,
                    label: y.name.clone(),
                    func: sec.is_exec(),
                }
            }
            _ => Entry {
                sec: si,
                start: 0,
                size: sec.size,
                label: sec.name.clone(),
                func: sec.is_exec(),
            },
        };
        out.push(entry);
    }
    Ok(out)
}

/// Where a unit's numbers start in the whole pack.
#[derive(Clone, Copy, Debug)]
pub struct Bases {
    /// Its first pre function in the pack's function table.
    pub function: usize,
    /// Its first registered entry.
    pub entry: usize,
    /// Its position in the pack's object table.
    pub object: usize,
}

/// What the blob says of a unit, and the report of it.
pub struct Metadata {
    pub object: format::Object,
    pub targets: Vec<format::Target>,
    pub fixups: Vec<format::Fixup>,
    pub report_targets: Vec<ReportTarget>,
    pub report_fixups: Vec<ReportFixup>,
}

/// The relocations the core resolves in entry `u` of `post`, at offsets from its start;
/// an error if one lies outside it.
fn entry_relocs(post: &Obj, c: &Carried, u: &Entry) -> Result<Vec<Reloc>> {
    let Some(rels) = c.core.get(&u.sec) else {
        return Ok(Vec::new());
    };
    rels.iter()
        .map(|r| {
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
        })
        .collect()
}

/// The blob's object (`object_name`, in `module`; its pre functions `pre_funcs`, indexed by
/// `pre_index`), targets and fixups of a unit: each entry with the relocations the core
/// resolves in it.
#[allow(clippy::too_many_arguments)]
pub fn metadata(
    post: &Obj,
    (object_name, module): (&str, &str),
    pre_funcs: Vec<format::Function>,
    pre_index: &HashMap<&str, usize>,
    c: &Carried,
    entries: &[Entry],
    targets: &[String],
    bases: Bases,
) -> Result<Metadata> {
    let mut m = Metadata {
        object: format::Object {
            name: object_name.to_owned(),
            module: module.to_owned(),
            functions: pre_funcs,
        },
        targets: Vec::new(),
        fixups: Vec::new(),
        report_targets: Vec::new(),
        report_fixups: Vec::new(),
    };
    for (i, u) in entries.iter().enumerate() {
        let relocs = entry_relocs(post, c, u)?;
        let replacement = bases.entry + i;
        match targets.get(i) {
            Some(t) => {
                let Some(&function) = pre_index.get(t.as_str()) else {
                    bail!(
                        "{}: {t}: target is not a function of the pre object",
                        post.path
                    );
                };
                m.report_targets.push(ReportTarget {
                    function: t.clone(),
                    rust: crate::names::rust_path(t),
                    object: object_name.to_owned(),
                    replacement: format!("__splice_repl_{replacement}"),
                    core_relocs: relocs.len(),
                });
                m.targets.push(format::Target {
                    function: (bases.function + function) as u32,
                    replacement: replacement as u32,
                    relocs,
                });
            }
            None => {
                m.report_fixups.push(ReportFixup {
                    carried: u.label.clone(),
                    replacement: format!("__splice_repl_{replacement}"),
                    core_relocs: relocs.len(),
                });
                m.fixups.push(format::Fixup {
                    replacement: replacement as u32,
                    // The local symbols the relocations name are this object's.
                    object: bases.object as u32,
                    relocs,
                });
            }
        }
    }
    Ok(m)
}
