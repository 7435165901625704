// SPDX-License-Identifier: GPL-2.0

//! Tables the linker gathers and the kernel walks by their bounds: initcalls, `__setup`
//! parameters, PCI fixups, module parameters, tracepoint pointers and the like. An object adds
//! entries to them with `__used` data in a named section that no code of the object refers
//! to. The kernel reads them when it boots or when it loads the object, so a pack can neither
//! add to them nor change them: a patch that does is refused here, naming the table and the
//! entries it touches, instead of being taken for "no functional change" (the new entry's
//! function is referred to by nothing else, so no compared function differs).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use crate::elf::{Obj, Sec};
use crate::special;

/// Tables read once, at boot: their changes take effect only on the next boot.
fn is_boot_table(name: &str) -> bool {
    name.starts_with(".initcall")
        || name.starts_with(".init.")
        || name.starts_with(".con_initcall")
        || name.starts_with(".security_initcall")
}

/// `EXPORT_SYMBOL()`'s entries (license, namespace, the symbol), from which the kernel's
/// export table was made when it was linked.
fn is_export_table(name: &str) -> bool {
    name == ".export_symbol"
}

/// UBSAN's per-check data (`.data..Lubsan_data12`, `.data..Lubsan_type3`): what a check
/// reports (file, line, column, type), reached only from the check's code. A section of it
/// that nothing refers to belongs to a check the optimizer removed, not to a table.
fn is_sanitizer_data(name: &str) -> bool {
    name.contains("..Lubsan_")
}

/// rustc's anonymous constants (`.rodata..Lanon.<hash>.12`: panic locations, string slices,
/// vtables): data its code refers to, never a table. One that nothing refers to is left over
/// from code the optimizer folded (a panic location of a check it removed).
fn is_rust_constant(name: &str) -> bool {
    name.contains("..Lanon.")
}

/// The tables of `o`, by name: allocated, non-executable sections with contents, that no other
/// section of the object refers to and that define no global symbol (a global object is data
/// other objects use, compared as data). Special sections splice rewrites ([`special::TABLES`]),
/// the patch's hooks and sections that never reach the running kernel's data are not tables
/// here.
fn tables(o: &Obj) -> BTreeMap<&str, &Sec> {
    let referenced: BTreeSet<usize> = o
        .sections
        .iter()
        .flat_map(|s| s.relocs.iter().map(move |r| (s.index, r)))
        .filter_map(|(from, r)| o.symbols[r.sym].section.filter(|&to| to != from))
        .collect();
    let global: BTreeSet<usize> = o
        .symbols
        .iter()
        .filter(|s| s.global && !s.undefined)
        .filter_map(|s| s.section)
        .collect();
    o.sections
        .iter()
        .filter(|s| s.is_alloc() && !s.is_exec() && !s.is_nobits() && s.size > 0)
        .filter(|s| !s.is_mergeable() && s.name != ".modinfo" && !s.name.starts_with("__kcrctab"))
        // The patch's own hooks: the pack carries them.
        .filter(|s| s.name != crate::format::HOOKS_SECTION)
        .filter(|s| !is_sanitizer_data(&s.name) && !is_rust_constant(&s.name))
        .filter(|s| {
            !special::is_dropped(&s.name) || is_boot_table(&s.name) || is_export_table(&s.name)
        })
        .filter(|s| !referenced.contains(&s.index) && !global.contains(&s.index))
        .map(|s| (s.name.as_str(), s))
        .collect()
}

/// What the entries of table `s` point at, by name (a compiler's or a line's number taken
/// off: `__setup_str_foo.12` is `__setup_str_foo`), with the relocation's place, type and
/// addend; and the bytes no relocation covers.
type Entries = (Vec<(u64, u32, String, i64)>, Vec<u8>);

fn entries(o: &Obj, s: &Sec) -> Entries {
    let mut bytes = s.data.clone();
    let refs = s
        .relocs
        .iter()
        .map(|r| {
            let c = o.canon(r);
            let at = r.offset as usize;
            let end = (at + crate::x86::width(r.rtype) as usize).min(s.data.len());
            if let Some(b) = bytes.get_mut(at..end) {
                b.fill(0);
            }
            let name = crate::names::numbered_stem(&c.name)
                .map(str::to_owned)
                .unwrap_or(c.name);
            (r.offset, r.rtype, name, c.addend)
        })
        .collect();
    (refs, bytes)
}

/// The names an entry list points at.
fn pointees(e: &Entries) -> BTreeSet<&str> {
    e.0.iter().map(|(_, _, n, _)| n.as_str()).collect()
}

/// Refuses a patch that adds, removes or changes entries of a boot- or load-time table of
/// the object `post` (compiled from the patched source) against `pre`, naming every table
/// that changes (an initcall that moves to another level leaves one and joins another).
pub fn refuse_table_changes(pre: &Obj, post: &Obj) -> Result<()> {
    let (a, b) = (tables(pre), tables(post));
    let names: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
    let mut changes = Vec::new();
    let mut exports = Vec::new();
    let mut boot = true;
    for name in names {
        let ea = a.get(name).map(|s| entries(pre, s));
        let eb = b.get(name).map(|s| entries(post, s));
        if ea == eb {
            continue;
        }
        let empty = (Vec::new(), Vec::new());
        let (pa, pb) = (
            pointees(ea.as_ref().unwrap_or(&empty)),
            pointees(eb.as_ref().unwrap_or(&empty)),
        );
        let mut what = Vec::new();
        let added: Vec<&str> = pb.difference(&pa).copied().collect();
        let removed: Vec<&str> = pa.difference(&pb).copied().collect();
        if is_export_table(name) {
            exports.extend(added.iter().map(|n| format!("{n} exported")));
            exports.extend(removed.iter().map(|n| format!("{n} no longer exported")));
            if added.is_empty() && removed.is_empty() {
                exports.push("an export's license or namespace changes".to_owned());
            }
            continue;
        }
        if !added.is_empty() {
            what.push(format!("entries for {} added", added.join(", ")));
        }
        if !removed.is_empty() {
            what.push(format!("entries for {} removed", removed.join(", ")));
        }
        if what.is_empty() {
            what.push("an entry's contents change".to_owned());
        }
        boot &= is_boot_table(name);
        changes.push(format!("{name}: {}", what.join("; ")));
    }
    if !exports.is_empty() {
        bail!(
            "{}: exports change ({}): the running kernel's export table was made when it was \
             linked, and a pack cannot add to it, remove from it or change an export (modules \
             that need the new export would not load)",
            post.path,
            exports.join(", ")
        );
    }
    if changes.is_empty() {
        return Ok(());
    }
    if boot {
        bail!(
            "{}: boot-time tables change ({}): the running kernel read them when it booted, \
             so the change would take effect only at the next boot (make the fix in code that \
             runs later)",
            post.path,
            changes.join(", ")
        );
    }
    bail!(
        "{}: tables the kernel gathers when it boots or loads the object change ({}): a pack \
         cannot add to them or change them",
        post.path,
        changes.join(", ")
    );
}
