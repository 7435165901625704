// SPDX-License-Identifier: GPL-2.0

//! The clone pass: what is carried. From the targets (and new globals, and hooks), every
//! section their relocations need is carried; each relocation is sorted into one that
//! stays an ELF relocation of `repl.o` and one the core resolves.

mod special_entries;

pub use special_entries::OutSpecial;

use std::collections::{HashMap, HashSet, VecDeque};

use anyhow::{bail, Result};

use crate::compare::rodata_changed;
use crate::elf::{rtype_name, Canon, Obj, Rel};
use crate::format::{HOOKS_SECTION, HOOK_SIZE};
use crate::input::symvers::Symvers;
use crate::names::{is_cold, is_function_name_string};
use crate::special::{self, ALTINSTR_REPLACEMENT};
use crate::x86::{LOCAL_TYPES, R_X86_64_PC64};

pub mod split;

/// The table of `BUG()`/`WARN()` sites, whose entries `WARN()` code refers to.
const BUG_TABLE: &str = "__bug_table";

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

/// Where a kept ELF relocation of `repl.o` points.
#[derive(Clone, Debug)]
pub enum Dest {
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

/// A relocation of carried code or data that stays an ELF relocation of `repl.o`.
#[derive(Clone, Debug)]
pub struct Kept {
    pub offset: u64,
    pub rtype: u32,
    pub dest: Dest,
}

/// A relocation of carried code or data that the core resolves, with the value it learned
/// by run-pre matching.
#[derive(Clone, Debug)]
pub struct CoreRel {
    pub offset: u64,
    pub rtype: u32,
    pub canon: Canon,
}

enum Class {
    Keep(Dest),
    Core(Canon),
}

/// What the clone pass carries of one unit.
pub struct Carried {
    /// The targets, by name.
    pub targets: HashSet<String>,
    /// The carried post sections, in the order they were reached.
    pub order: Vec<usize>,
    /// The relocations of each carried section that stay ELF relocations.
    pub kept: HashMap<usize, Vec<Kept>>,
    /// The relocations of each carried section that the core resolves.
    pub core: HashMap<usize, Vec<CoreRel>>,
    /// The special-section entries of the carried code.
    pub specials: Vec<OutSpecial>,
    /// The carried parts of `.altinstr_replacement`.
    pub alt: Option<OutSpecial>,
    /// The hook table the patch declares: (post section, number of hooks).
    pub hooks: Option<(usize, usize)>,
}

/// Carries the post sections of `targets` (functions of `post`), the new globals of the
/// pack that `post` defines (`pack_new`: another object of the pack may be their only
/// user), the hook table the patch declares, and everything these reach.
pub fn carry(
    pre: &Obj,
    post: &Obj,
    layout: special::Layout,
    symvers: &Symvers,
    pack_new: &HashSet<String>,
    targets: &[String],
) -> Result<Carried> {
    let mut c = Carrier {
        pre,
        post,
        layout,
        symvers,
        pack_new,
        targets: targets.iter().cloned().collect(),
        order: Vec::new(),
        carried: HashSet::new(),
        queue: VecDeque::new(),
        kept: HashMap::new(),
        core: HashMap::new(),
    };
    let post_funcs = post.functions_by_name();
    for t in targets {
        match post_funcs.get(t.as_str()) {
            Some(q) => c.carry(q.section.unwrap_or(0)),
            None => bail!(
                "{}: {t}: target is not a function of the post object",
                post.path
            ),
        }
    }
    for y in post
        .symbols
        .iter()
        .filter(|y| y.global && pack_new.contains(&y.name))
    {
        if let Some(si) = y.section {
            c.carry(si);
        }
    }
    let hooks = hook_table(pre, post)?;
    if let Some((si, _)) = hooks {
        c.carry(si);
    }
    // Carried code brings its special entries, whose relocations may bring more code.
    let (specials, alt) = loop {
        c.drain()?;
        let r = c.specials()?;
        if c.queue.is_empty() {
            break r;
        }
    };
    Ok(Carried {
        targets: c.targets,
        order: c.order,
        kept: c.kept,
        core: c.core,
        specials,
        alt,
        hooks,
    })
}

/// The hook table the patch declares (`splice_hook()` in include/linux/splice_pack.h):
/// carried, and with it the hook functions. (post section, number of hooks).
fn hook_table(pre: &Obj, post: &Obj) -> Result<Option<(usize, usize)>> {
    if pre.sections.iter().any(|s| s.name == HOOKS_SECTION) {
        bail!(
            "{}: the unpatched source already declares splice hooks ({HOOKS_SECTION})",
            pre.path
        );
    }
    let Some(si) = post.sections.iter().position(|s| s.name == HOOKS_SECTION) else {
        return Ok(None);
    };
    let size = post.sections[si].size;
    if size == 0 || !size.is_multiple_of(HOOK_SIZE) {
        bail!(
            "{}: {HOOKS_SECTION} is {size} bytes, not a whole number of {HOOK_SIZE}-byte entries",
            post.path
        );
    }
    Ok(Some((si, (size / HOOK_SIZE) as usize)))
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
        let c = post.canon(r);
        let Some(si) = c.section else {
            return self.classify_undefined(owner, r, special, c);
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
            // What only carried data names (a new pr_debug()'s function), and run-pre
            // matching could not find: a copy of the characters reads the same.
            || (is_function_name_string(&c.name) && !sec.is_write())
            || self.targets.contains(&c.name)
            || self.pre.defined(&c.name).is_none()
            || rodata_changed(self.pre, post, &c.name)?;
        if carry {
            self.carry(si);
            return Ok(Class::Keep(Dest::Sec(si, c.sec_offset)));
        }
        match special {
            Some(sp) => self.special_key(owner, sp, c),
            None => Ok(Class::Core(c)),
        }
    }

    /// [`Self::classify`] of a relocation against an undefined symbol `c`: exported or new
    /// in the pack (the module loader links it), a special section entry's key (the module
    /// loader too, by name), else the core's to resolve at `check`.
    fn classify_undefined(
        &self,
        owner: &str,
        r: &Rel,
        special: Option<&str>,
        c: Canon,
    ) -> Result<Class> {
        let post = self.post;
        let s = &post.symbols[r.sym];
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
        Ok(Class::Core(Canon { local: false, ..c }))
    }

    /// [`Self::classify`] of a special section entry's reference to a key this object
    /// defines and the pack does not carry (a static key of the file, a pr_debug()'s
    /// descriptor): the running kernel's instance, by name if the name is unique in
    /// vmlinux, else by its position among those of that name.
    fn special_key(&self, owner: &str, sp: &str, c: Canon) -> Result<Class> {
        let resolved = match c.sym {
            Some(_) if c.local => self
                .symvers
                .load_time_local(&c.name, self.pre.source_file()),
            Some(_) if !self.symvers.is_exported(&c.name) => self.symvers.load_time_symbol(&c.name),
            _ => Err("it is not a named symbol".into()),
        };
        match resolved {
            Ok(k) => Ok(Class::Keep(Dest::Undef(k, c.addend))),
            Err(why) => bail!(
                "{}: {owner}: {sp} entry refers to {}, which is not carried and not exported, and {why}",
                self.post.path,
                c.name
            ),
        }
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
}
