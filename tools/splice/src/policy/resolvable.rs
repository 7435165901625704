// SPDX-License-Identifier: GPL-2.0

//! The resolve pass: before a pack is written, every symbol its replacement code leaves to
//! the core must be one the core will find at `check`.
//!
//! The core (`kernel/splice/resolve.rs`) resolves a relocation of a target or fixup in one
//! of two ways: a value run-pre matching learned (a pre function of the pack, or a symbol the
//! pack's pre code refers to: for a `static` one, in the same object), or, for a global
//! symbol, the one vmlinux symbol kallsyms has of that name. Anything else is
//! `unresolved_symbol` at `check`, after the admin has copied and loaded the pack; the
//! generator knows it first, from the tree's `System.map`, and refuses, naming the symbol.
//!
//! The symbols the module loader links (exported, or carried in the pack) are not in the
//! blob's relocations and are not this pass's concern.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};

use crate::elf::Obj;
use crate::format::{self, reader, Pack};
use crate::report::{ReportFixup, ReportTarget};

/// A symbol the core would not resolve, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolvable {
    /// The symbol.
    pub symbol: String,
    /// The object whose replacement code refers to it.
    pub object: String,
    /// Why the core cannot find it.
    pub why: String,
}

impl std::fmt::Display for Unresolvable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (used by {}): {}", self.symbol, self.object, self.why)
    }
}

/// A symbol as the core knows it: a `static` one by its object and name, a global by name.
type Key<'a> = (Option<usize>, &'a str);

/// What run-pre matching learns from `pack`: its pre functions, and every symbol their
/// relocations name.
fn learnable(pack: &Pack) -> HashSet<Key<'_>> {
    let mut out = HashSet::new();
    for (oi, o) in pack.objects.iter().enumerate() {
        for f in &o.functions {
            out.insert((f.local.then_some(oi), f.name.as_str()));
            for r in f.relocs.iter().filter(|r| !r.symbol.is_empty()) {
                out.insert((r.local.then_some(oi), r.symbol.as_str()));
            }
        }
    }
    out
}

/// The symbols of `pack`'s targets and fixups the core could not resolve against a kernel
/// whose `System.map` has `vmlinux` (see [`crate::input::symvers::system_map_names`]); empty when every one is
/// learned or unique.
pub fn unresolvable(pack: &Pack, vmlinux: &HashMap<String, u32>) -> Vec<Unresolvable> {
    let learned = learnable(pack);
    // The object of each pre function (targets name them by their index in the whole table).
    let object_of: Vec<usize> = pack
        .objects
        .iter()
        .enumerate()
        .flat_map(|(oi, o)| std::iter::repeat_n(oi, o.functions.len()))
        .collect();
    let uses = pack
        .targets
        .iter()
        .filter_map(|t| Some((*object_of.get(t.function as usize)?, &t.relocs)))
        .chain(pack.fixups.iter().map(|f| (f.object as usize, &f.relocs)));
    let mut out: Vec<Unresolvable> = Vec::new();
    for (oi, relocs) in uses {
        for r in relocs.iter().filter(|r| !r.symbol.is_empty()) {
            if learned.contains(&(r.local.then_some(oi), r.symbol.as_str())) {
                continue;
            }
            let why = if r.local {
                "a static symbol no pre code of the pack refers to, so run-pre matching cannot \
                 learn its address"
                    .to_owned()
            } else {
                match vmlinux.get(&r.symbol).copied().unwrap_or(0) {
                    1 => continue,
                    0 => "neither exported (Module.symvers), nor in vmlinux (System.map), nor \
                          defined by the pack"
                        .to_owned(),
                    n => format!(
                        "vmlinux has {n} symbols of that name (System.map) and no pre code of \
                         the pack refers to it, so the core cannot tell which"
                    ),
                }
            };
            let object = pack
                .objects
                .get(oi)
                .map_or_else(|| format!("object {oi}"), |o| o.name.clone());
            let u = Unresolvable {
                symbol: r.symbol.clone(),
                object,
                why,
            };
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

/// Refuses the pack `out` when the core could not resolve a symbol it leaves to it, naming
/// each one and what to do.
pub fn refuse_unresolvable(
    blob: &[u8],
    registered: usize,
    vmlinux: &HashMap<String, u32>,
) -> Result<()> {
    let pack = reader::parse(blob, registered)
        .context("reading back the pack's metadata")?
        .pack;
    let missing = unresolvable(&pack, vmlinux);
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
    bail!(
        "the pack would fail check with unresolved_symbol: {}. A function the fix adds in a \
         file must be compiled with it (is that file in the patch?); a static one the running \
         kernel has must be referred to by code the pack replaces, or made a target",
        list.join("; ")
    )
}

/// Refuses relocations to a static symbol that run-pre matching cannot find: the kernel
/// learns a static symbol's address only from the live code of the object's pre functions
/// (a static function by matching it, static data by a pre function that refers to it). A
/// static object that only data or boot-time code refers to is out of its reach.
pub fn refuse_unlearnable(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rtype::R_X86_64_PLT32;
    use crate::format::{Fixup, Function, Object, Reloc, Target};
    use crate::input::symvers::system_map_names;

    fn reloc(symbol: &str, local: bool) -> Reloc {
        Reloc {
            offset: 1,
            rtype: R_X86_64_PLT32,
            symbol: symbol.into(),
            local,
            addend: -4,
        }
    }

    fn pack() -> Pack {
        Pack {
            objects: vec![Object {
                name: "fs/x.o".into(),
                module: String::new(),
                functions: vec![Function {
                    name: "f".into(),
                    local: false,
                    code: vec![0xc3],
                    relocs: vec![reloc("helper", true)],
                }],
            }],
            ..Pack::default()
        }
    }

    #[test]
    fn learned_and_unique_symbols_resolve() {
        let mut p = pack();
        p.targets.push(Target {
            function: 0,
            replacement: 0,
            relocs: vec![
                reloc("helper", true),
                reloc("f", false),
                reloc("printk", false),
            ],
        });
        let map = system_map_names("ffffffff81000000 T printk\nffffffff81000010 t helper\n");
        assert_eq!(unresolvable(&p, &map), vec![]);
    }

    #[test]
    fn a_symbol_the_kernel_lacks_is_named() {
        let mut p = pack();
        p.targets.push(Target {
            function: 0,
            replacement: 0,
            relocs: vec![reloc("splice_cat_clamp", false)],
        });
        p.fixups.push(Fixup {
            replacement: 1,
            object: 0,
            relocs: vec![reloc("other_static", true), reloc("twice", false)],
        });
        let map = system_map_names("ffffffff81000000 t twice\nffffffff81000010 t twice\n");
        let u = unresolvable(&p, &map);
        let names: Vec<&str> = u.iter().map(|u| u.symbol.as_str()).collect();
        assert_eq!(names, ["splice_cat_clamp", "other_static", "twice"]);
        assert!(u[0].why.contains("neither exported"), "{}", u[0]);
        assert!(u[1].why.contains("static"), "{}", u[1]);
        assert!(u[2].why.contains("2 symbols"), "{}", u[2]);
        assert_eq!(u[0].object, "fs/x.o");
    }

    #[test]
    fn a_static_is_learned_only_in_its_own_object() {
        let mut p = pack();
        p.objects.push(Object {
            name: "fs/y.o".into(),
            module: String::new(),
            functions: vec![Function {
                name: "g".into(),
                local: false,
                code: vec![0xc3],
                relocs: vec![],
            }],
        });
        // fs/y.o's replacement of g names a static `helper` of its own: fs/x.o's is another.
        p.targets.push(Target {
            function: 1,
            replacement: 0,
            relocs: vec![reloc("helper", true)],
        });
        let u = unresolvable(&p, &HashMap::new());
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].object, "fs/y.o");
    }
}
