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

use std::borrow::Cow;
use std::collections::HashSet;

use anyhow::{bail, Context, Result};

use crate::clone::{self, split};
use crate::correlate::correlate_locals;
use crate::elf::{Obj, Sym};
use crate::emit::repl;
use crate::emit::stub;
use crate::emit::Output;
use crate::format;
use crate::input::symvers::Symvers;
use crate::names::{cold_parent, is_cold};
use crate::policy::code;
use crate::policy::resolvable::refuse_unlearnable;
use crate::register::{self, index_by_name, pre_functions, Bases};
use crate::report::Report;
use crate::special;

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

/// Assembles a pack from `pre` and `post` (one compilation unit).
pub fn assemble(opts: &Options, pre: &Obj, post: &Obj, symvers: &Symvers) -> Result<Output> {
    let info = PackInfo {
        name: opts.name.clone(),
        description: opts.description.clone(),
        fixes: Vec::new(),
        fixed_in: String::new(),
        replace: false,
        on_load: false,
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
    /// The subjects of the fixes the pack carries.
    pub fixes: Vec<String>,
    /// The kernel version whose fixes it carries, or empty.
    pub fixed_in: String,
    /// Whether it replaces every applied pack (a cumulative pack).
    pub replace: bool,
    /// Whether it patches its target modules when they load.
    pub on_load: bool,
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
    let mut pack = empty_pack(info);
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
        let bases = Bases {
            function: functions,
            entry: registered,
            object: k,
        };
        let out = assemble_unit(u, info, symvers, &pack_new, bases)?;
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
    let namespaces = namespaces_of(&undefined, symvers);
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

/// The pack's header as `info` says, with no object yet.
fn empty_pack(info: &PackInfo) -> format::Pack {
    let mut flags = 0;
    if info.replace {
        flags |= format::FLAG_REPLACE;
    }
    if info.on_load {
        flags |= format::FLAG_PATCH_ON_LOAD;
    }
    format::Pack {
        name: info.name.clone(),
        description: info.description.clone(),
        fixes: info.fixes.clone(),
        fixed_in: info.fixed_in.clone(),
        kernel_release: info.release.clone(),
        build_id: info.build_id.clone(),
        flags,
        objects: Vec::new(),
        targets: Vec::new(),
        fixups: Vec::new(),
    }
}

/// The symbol namespaces of the `undefined` symbols the pack uses, each once, sorted: the
/// module must import them.
fn namespaces_of(undefined: &[String], symvers: &Symvers) -> Vec<String> {
    let mut v: Vec<String> = undefined
        .iter()
        .filter_map(|n| symvers.namespace(n).map(str::to_owned))
        .collect();
    v.sort();
    v.dedup();
    v
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
/// and registered entries from `repl_base` in the whole pack: the passes, in order.
fn assemble_unit(
    unit: &UnitInput,
    info: &PackInfo,
    symvers: &Symvers,
    pack_new: &HashSet<String>,
    bases: Bases,
) -> Result<UnitOut> {
    // Correlate: post symbols named as their pre counterparts.
    let post_correlated = correlate_locals(unit.pre, unit.post);
    let (pre, post) = (unit.pre, &post_correlated);
    // The pre function table of the blob (refused if the pre code has what a pack cannot
    // describe).
    let all_pre = pre_functions(pre)?;
    // Compare (and the policy on what changed): the targets.
    let targets = select_targets(&unit.targets, pre, post)?;
    let post_split = split_post(post, &targets)?;
    let post = &*post_split;
    let (pre_syms, pre_funcs) = matched_pre_functions(all_pre, &targets);
    let pre_index = index_by_name(&pre_syms);
    // Clone: what is carried, and how each of its relocations is resolved.
    let carried = clone::carry(pre, post, info.layout, symvers, pack_new, &targets)?;
    // Register: the entries the core must know, and the blob's metadata of them.
    let entries = register::entries(post, &targets, &carried)?;
    let meta = register::metadata(
        post,
        (&unit.object_name, &unit.module),
        pre_funcs,
        &pre_index,
        &carried,
        &entries,
        &targets,
        bases,
    )?;
    refuse_unlearnable(
        post,
        &meta.object,
        &meta.targets,
        &meta.fixups,
        &meta.report_targets,
        &meta.report_fixups,
    )?;
    // Emit: repl.o.
    let repl = repl::write(
        post,
        &carried,
        &entries,
        bases.entry,
        pack_new,
        &info.noreturns,
    )?;
    let report = Report {
        objects: vec![unit.object_name.clone()],
        pre_functions: pre_syms.len(),
        targets: meta.report_targets,
        fixups: meta.report_fixups,
        carried_new_functions: repl.new_functions,
        carried_data: repl.data,
        ..carried_report(post, &carried, repl.kept)
    };
    Ok(UnitOut {
        object: meta.object,
        targets: meta.targets,
        fixups: meta.fixups,
        repl_o: repl.bytes,
        registered: entries.len(),
        hooks: carried.hooks.map_or(0, |(_, n)| n),
        undefined: repl.undefined,
        report,
    })
}

/// Split: what the post object shares between carried and live parts gets sections of its
/// own (data shared by carried and live code, text shared with the targets, auxiliary
/// stubs); `post` itself when nothing is shared.
fn split_post<'p>(post: &'p Obj, targets: &[String]) -> Result<Cow<'p, Obj>> {
    let mut post = Cow::Borrowed(post);
    if let Some(s) = split::shared_data(&post)? {
        post = Cow::Owned(s);
    }
    if let Some(s) = split::shared_text(&post, targets)? {
        post = Cow::Owned(s);
    }
    if let Some(s) = split::aux_stubs(&post)? {
        post = Cow::Owned(s);
    }
    Ok(post)
}

/// The part of a unit's report that tells what is carried: its sections, the relocations the
/// core resolves and the `kept` ones of the ELF object, the special entries.
fn carried_report(post: &Obj, carried: &clone::Carried, kept: usize) -> Report {
    Report {
        carried_sections: carried
            .order
            .iter()
            .map(|&si| post.sections[si].name.clone())
            .collect(),
        core_resolved_relocations: carried.core.values().map(Vec::len).sum(),
        kept_elf_relocations: kept,
        special_entries: carried
            .alt
            .iter()
            .chain(&carried.specials)
            .map(|s| (s.name.clone(), s.entries))
            .collect(),
        ..Report::default()
    }
}

/// The targets of a unit, in pre function order (explicit ones in command-line order): the
/// named ones, each a function of both objects, or the changed functions, refused if one
/// of them is a change no pack makes.
fn select_targets(sel: &TargetSel, pre: &Obj, post: &Obj) -> Result<Vec<String>> {
    let names = match sel {
        TargetSel::Explicit(names) => names,
        TargetSel::Auto => {
            let targets = code::patchable_changes(pre, post)?;
            if targets.is_empty() {
                bail!(
                    "{} and {}: no functional change (no function differs)",
                    pre.path,
                    post.path
                );
            }
            return Ok(targets);
        }
    };
    let post_funcs = post.functions_by_name();
    let mut targets: Vec<String> = Vec::new();
    for n in names {
        if pre.functions().iter().all(|f| f.name != *n) {
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
    Ok(targets)
}

/// The pre functions run-pre matching checks, and their table in the blob. A weak function
/// that is not a target may have been overridden by another object's definition in the
/// linked kernel (kernel/sys.c's `arch_prctl_spec_ctrl_get` by the x86 one): its code is
/// not the running code of its name, so it is left out.
fn matched_pre_functions<'a>(
    (syms, funcs): (Vec<&'a Sym>, Vec<format::Function>),
    targets: &[String],
) -> (Vec<&'a Sym>, Vec<format::Function>) {
    syms.into_iter()
        .zip(funcs)
        .filter(|(f, _)| !f.weak || targets.iter().any(|t| t == cold_parent(&f.name)))
        .unzip()
}
