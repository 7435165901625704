// SPDX-License-Identifier: GPL-2.0

//! `repl.o`: the carried sections, the special sections, the placeholders the core
//! resolves, symbols and relocations, written with `object`'s writer.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{bail, Result};
use object::elf;
use object::write::{Object as WObject, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionFlags, SectionKind,
    SymbolFlags, SymbolKind, SymbolScope,
};

use crate::clone::{Carried, CoreRel, Dest, Kept, OutSpecial};
use crate::elf::{Obj, Sec};
use crate::format::{rtype, HOOKS_SYMBOL};
use crate::input::symvers::KLP_SYM_PREFIX;
use crate::register::Entry;
use crate::special::ALTINSTR_REPLACEMENT;
use crate::x86::{is_branch_place, width};

/// What the emit pass wrote of one unit.
pub struct Repl {
    /// The bytes of `repl<k>.o`.
    pub bytes: Vec<u8>,
    /// How many ELF relocations it kept.
    pub kept: usize,
    /// The undefined symbols it refers to, which the module loader links.
    pub undefined: Vec<String>,
    /// The carried functions that are not targets (new ones, `.cold` parts, callees).
    pub new_functions: Vec<String>,
    /// The carried data, by symbol (or section, for data without one).
    pub data: Vec<String>,
}

/// Writes `repl<k>.o` of a unit: the sections `c` carries of `post`, the registered
/// `entries` (exported as `__splice_repl_<entry_base + i>`), and the placeholders the
/// places the core resolves point at until it does. `pack_new` are the pack's new globals,
/// visible to its other objects; `noreturns` the kernel's functions that do not return.
pub fn write(
    post: &Obj,
    c: &Carried,
    entries: &[Entry],
    entry_base: usize,
    pack_new: &HashSet<String>,
    noreturns: &HashSet<String>,
) -> Result<Repl> {
    let mut w = Writer {
        post,
        c,
        pack_new,
        o: WObject::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little),
        out_ids: HashMap::new(),
        entsizes: Vec::new(),
        position: HashMap::new(),
        special_ids: Vec::new(),
        alt_id: None,
        undef: BTreeMap::new(),
        kept: 0,
        rethunk: false,
        padding: 0,
        branches: HashSet::new(),
        noreturn: HashSet::new(),
        trap: None,
        noreturn_trap: None,
        data_trap: None,
        new_functions: Vec::new(),
        data: Vec::new(),
    };
    w.carried_sections();
    w.special_sections();
    w.placeholders(noreturns);
    w.symbols(entries, entry_base);
    w.kept_relocations()?;
    w.core_relocations()?;
    let mut bytes = w.o.write().map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
    patch_entsizes(&mut bytes, &w.entsizes)?;
    Ok(Repl {
        bytes,
        kept: w.kept,
        undefined: w.undef.keys().cloned().collect(),
        new_functions: w.new_functions,
        data: w.data,
    })
}

/// A placeholder section and its symbol.
type Placeholder = Option<(SectionId, SymbolId)>;

struct Writer<'a> {
    post: &'a Obj,
    c: &'a Carried,
    pack_new: &'a HashSet<String>,
    o: WObject<'static>,
    /// The output section of each carried post section.
    out_ids: HashMap<usize, SectionId>,
    /// (name, sh_entsize, sh_link as a position in this list) of every section added.
    entsizes: Vec<(String, u64, Option<usize>)>,
    /// The position in `entsizes` of each carried post section.
    position: HashMap<usize, usize>,
    special_ids: Vec<(SectionId, &'a OutSpecial)>,
    alt_id: Option<SectionId>,
    undef: BTreeMap<String, SymbolId>,
    kept: usize,
    /// Whether the object returns through the return thunk.
    rethunk: bool,
    /// The `nop`s before each of the object's functions, which the traps get too.
    padding: usize,
    /// The places the core resolves that are calls or jumps: (section, offset).
    branches: HashSet<(usize, u64)>,
    /// Those of them that call a function that does not return.
    noreturn: HashSet<(usize, u64)>,
    trap: Placeholder,
    noreturn_trap: Placeholder,
    data_trap: Placeholder,
    new_functions: Vec<String>,
    data: Vec<String>,
}

impl<'a> Writer<'a> {
    /// The carried sections, the places the core resolves zeroed.
    fn carried_sections(&mut self) {
        let strip = u64::from(elf::SHF_LINK_ORDER | elf::SHF_GROUP | elf::SHF_INFO_LINK);
        for &si in &self.c.order {
            let sec = &self.post.sections[si];
            let kind = if sec.is_exec() {
                SectionKind::Text
            } else if sec.is_nobits() {
                SectionKind::UninitializedData
            } else {
                SectionKind::Data
            };
            let id = self
                .o
                .add_section(Vec::new(), sec.name.as_bytes().to_vec(), kind);
            self.o.section_mut(id).flags = SectionFlags::Elf {
                sh_flags: sec.flags & !strip,
            };
            if sec.is_nobits() {
                self.o.append_section_bss(id, sec.size, sec.align);
            } else {
                let mut data = sec.data.clone();
                for r in self.c.core.get(&si).into_iter().flatten() {
                    let (a, b) = (r.offset as usize, (r.offset + width(r.rtype)) as usize);
                    if let Some(place) = data.get_mut(a..b) {
                        place.fill(0);
                    }
                }
                self.o.set_section_data(id, data, sec.align);
            }
            self.position.insert(si, self.entsizes.len());
            self.entsizes.push((sec.name.clone(), sec.entsize, None));
            self.out_ids.insert(si, id);
        }
    }

    /// The special sections of the carried code; a link-ordered one links to its code.
    fn special_sections(&mut self) {
        let c = self.c;
        let strip = u64::from(elf::SHF_LINK_ORDER | elf::SHF_GROUP | elf::SHF_INFO_LINK);
        for s in c.alt.iter().chain(&c.specials) {
            let kind = if s.flags & u64::from(elf::SHF_EXECINSTR) != 0 {
                SectionKind::Text
            } else {
                SectionKind::Data
            };
            let id = self
                .o
                .add_section(Vec::new(), s.name.as_bytes().to_vec(), kind);
            let link = s.link.and_then(|l| self.position.get(&l).copied());
            let keep = if link.is_some() {
                u64::from(elf::SHF_LINK_ORDER)
            } else {
                0
            };
            self.o.section_mut(id).flags = SectionFlags::Elf {
                sh_flags: s.flags & (!strip | keep),
            };
            self.o.set_section_data(id, s.data.clone(), s.align);
            self.entsizes.push((s.name.clone(), s.entsize, link));
            if s.name == ALTINSTR_REPLACEMENT {
                self.alt_id = Some(id);
            }
            self.special_ids.push((id, s));
        }
    }

    /// The placeholders the places the core resolves point at until it does.
    fn placeholders(&mut self, noreturns: &HashSet<String>) {
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
        self.rethunk = self
            .post
            .symbols
            .iter()
            .any(|s| s.undefined && s.name == RETURN_THUNK);
        // The traps are functions as the object's are, with the padding before them where call
        // depth tracking (retbleed=stuff) writes the thunk the module loader points the pack's
        // calls of them at (callthunks_patch_module_calls()): without it, the loader would read
        // and write before the trap, before the module's text when the trap comes first.
        self.padding = function_padding(self.post);
        let branches = self.core_branches();
        let is_branch_in = |si: usize, r: &CoreRel| branches.contains(&(si, r.offset));
        self.data_trap = self
            .c
            .core
            .iter()
            .any(|(&si, v)| {
                v.iter()
                    .any(|r| r.rtype != rtype::R_X86_64_32 && !is_branch_in(si, r))
            })
            .then(|| {
                add_placeholder(
                    &mut self.o,
                    &mut self.entsizes,
                    (UNRESOLVED_DATA_SECTION, UNRESOLVED_DATA_SYMBOL),
                    SectionKind::Data,
                    elf::SHF_ALLOC | elf::SHF_WRITE,
                    (0, vec![0u8; 16]),
                )
            });
        let noreturn = self.noreturn_calls(&branches, noreturns);
        self.noreturn_trap = (!noreturn.is_empty()).then(|| {
            add_placeholder(
                &mut self.o,
                &mut self.entsizes,
                (UNRESOLVED_NORETURN_SECTION, UNRESOLVED_NORETURN_SYMBOL),
                SectionKind::Text,
                elf::SHF_ALLOC | elf::SHF_EXECINSTR,
                padded(self.padding, &UNRESOLVED_NORETURN_CODE),
            )
        });
        self.trap = (branches.len() > noreturn.len()).then(|| {
            let code: &[u8] = if self.rethunk {
                &UNRESOLVED_CODE_RETHUNK
            } else {
                &UNRESOLVED_CODE
            };
            add_placeholder(
                &mut self.o,
                &mut self.entsizes,
                (UNRESOLVED_SECTION, UNRESOLVED_SYMBOL),
                SectionKind::Text,
                elf::SHF_ALLOC | elf::SHF_EXECINSTR,
                padded(self.padding, code),
            )
        });
        self.branches = branches;
        self.noreturn = noreturn;
        let gnu_stack =
            self.o
                .add_section(Vec::new(), b".note.GNU-stack".to_vec(), SectionKind::Other);
        self.o.section_mut(gnu_stack).flags = SectionFlags::Elf { sh_flags: 0 };
        self.entsizes.push((".note.GNU-stack".to_owned(), 0, None));
    }

    /// The places (section, offset) the core resolves that are calls or jumps. Read from the
    /// code: the assembler relocates a branch to a local symbol with `R_X86_64_PC32` as it
    /// does a data access.
    fn core_branches(&self) -> HashSet<(usize, u64)> {
        self.c
            .core
            .iter()
            .filter(|(si, _)| self.post.sections[**si].is_exec())
            .flat_map(|(si, v)| v.iter().map(move |r| (*si, r)))
            .filter(|(si, r)| is_branch_place(&self.post.sections[*si].data, r.offset, r.rtype))
            .map(|(si, r)| (si, r.offset))
            .collect()
    }

    /// Those of the `branches` that call a function that does not return (`noreturns`).
    fn noreturn_calls(
        &self,
        branches: &HashSet<(usize, u64)>,
        noreturns: &HashSet<String>,
    ) -> HashSet<(usize, u64)> {
        self.c
            .core
            .iter()
            .flat_map(|(si, v)| v.iter().map(move |r| (*si, r)))
            .filter(|(si, r)| {
                branches.contains(&(*si, r.offset))
                    && is_noreturn_call(self.post, *si, r, noreturns)
            })
            .map(|(si, r)| (si, r.offset))
            .collect()
    }

    /// Symbols: the carried ones stay local, but for new globals, which the pack's other
    /// objects may use (global, hidden); the registered ones are global.
    fn symbols(&mut self, entries: &[Entry], entry_base: usize) {
        for &si in &self.c.order {
            let syms = self.post.section_symbols(si);
            if syms.is_empty() && !self.post.sections[si].is_exec() {
                self.data.push(self.post.sections[si].name.clone());
            }
            for &yi in syms {
                let y = &self.post.symbols[yi];
                if y.is_func() {
                    if !self.c.targets.contains(&y.name) {
                        self.new_functions.push(y.name.clone());
                    }
                } else {
                    self.data.push(y.name.clone());
                }
                self.o.add_symbol(Symbol {
                    name: y.name.as_bytes().to_vec(),
                    value: y.value,
                    size: y.size,
                    kind: if y.is_func() {
                        SymbolKind::Text
                    } else {
                        SymbolKind::Data
                    },
                    scope: if y.global && self.pack_new.contains(&y.name) {
                        SymbolScope::Linkage
                    } else {
                        SymbolScope::Compilation
                    },
                    weak: false,
                    section: SymbolSection::Section(self.out_ids[&si]),
                    flags: SymbolFlags::None,
                });
            }
        }
        for (i, u) in entries.iter().enumerate() {
            self.o.add_symbol(Symbol {
                name: format!("__splice_repl_{}", entry_base + i).into_bytes(),
                value: u.start,
                size: u.size,
                kind: if u.func {
                    SymbolKind::Text
                } else {
                    SymbolKind::Data
                },
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(self.out_ids[&u.sec]),
                flags: SymbolFlags::None,
            });
        }
        if let Some((si, _)) = self.c.hooks {
            self.o.add_symbol(Symbol {
                name: HOOKS_SYMBOL.as_bytes().to_vec(),
                value: 0,
                size: self.post.sections[si].size,
                kind: SymbolKind::Data,
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(self.out_ids[&si]),
                flags: SymbolFlags::None,
            });
        }
    }

    /// The relocations that stay ELF relocations: of carried sections and special entries,
    /// and the trap's jump to the return thunk.
    fn kept_relocations(&mut self) -> Result<()> {
        let c = self.c;
        for &si in &c.order {
            if let Some(k) = c.kept.get(&si) {
                self.add_kept(self.out_ids[&si], k)?;
            }
        }
        let specials: Vec<(SectionId, &OutSpecial)> = self.special_ids.clone();
        for (id, s) in specials {
            self.add_kept(id, &s.relocs)?;
        }
        if let (Some((trap, _)), true) = (self.trap, self.rethunk) {
            let thunk = undefined_symbol(&mut self.o, &mut self.undef, RETURN_THUNK);
            self.o
                .add_relocation(
                    trap,
                    Relocation {
                        offset: self.padding as u64 + UNRESOLVED_THUNK_PLACE,
                        symbol: thunk,
                        addend: -4,
                        flags: RelocationFlags::Elf {
                            r_type: rtype::R_X86_64_PLT32,
                        },
                    },
                )
                .map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
        }
        Ok(())
    }

    fn add_kept(&mut self, id: SectionId, relocs: &[Kept]) -> Result<()> {
        let post = self.post;
        for k in relocs {
            let (symbol, addend) = match &k.dest {
                Dest::Sec(ts, off) => match self.out_ids.get(ts) {
                    Some(&tid) => (self.o.section_symbol(tid), *off),
                    None => bail!("internal: relocation to a section that is not carried"),
                },
                Dest::AltRepl(off) => match self.alt_id {
                    Some(tid) => (self.o.section_symbol(tid), *off),
                    None => {
                        bail!("internal: relocation to {ALTINSTR_REPLACEMENT} that is not carried")
                    }
                },
                Dest::Entry(ts, off, bias) => {
                    // A PC-relative displacement counts from the end of its instruction.
                    let at = off + bias;
                    let found = self.special_ids.iter().find_map(|(id, sp)| {
                        sp.copied.iter().find_map(|&(src, start, size, out)| {
                            (src == *ts && at >= start as i64 && at < (start + size) as i64)
                                .then(|| (*id, out as i64 + off - start as i64))
                        })
                    });
                    match found {
                        Some((tid, a)) => (self.o.section_symbol(tid), a),
                        None => bail!(
                            "{}: carried code refers to an entry of {} at {at:#x} that is not carried with it",
                            post.path,
                            post.sections[*ts].name
                        ),
                    }
                }
                Dest::Undef(name, a) => (undefined_symbol(&mut self.o, &mut self.undef, name), *a),
            };
            self.o
                .add_relocation(
                    id,
                    Relocation {
                        offset: k.offset,
                        symbol,
                        addend,
                        flags: RelocationFlags::Elf { r_type: k.rtype },
                    },
                )
                .map_err(|e| anyhow::anyhow!("repl.o: {e}"))?;
            self.kept += 1;
        }
        Ok(())
    }

    /// The places the core resolves, pointed at their placeholders (`R_X86_64_32` ones
    /// stay zero: a module address does not fit them).
    fn core_relocations(&mut self) -> Result<()> {
        let c = self.c;
        for &si in &c.order {
            for r in c.core.get(&si).into_iter().flatten() {
                let to = if r.rtype == rtype::R_X86_64_32 {
                    None
                } else if self.noreturn.contains(&(si, r.offset)) {
                    self.noreturn_trap
                } else if self.branches.contains(&(si, r.offset)) {
                    self.trap
                } else {
                    self.data_trap
                };
                let Some((_, symbol)) = to else { continue };
                let pc_relative = matches!(r.rtype, rtype::R_X86_64_PC32 | rtype::R_X86_64_PLT32);
                self.o
                    .add_relocation(
                        self.out_ids[&si],
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
        Ok(())
    }
}

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

/// The `nop`s the kernel's build puts before each function (`CALL_PADDING`: 16), as `post`'s
/// functions show: the longest run of them from the start of a function's section to the
/// function (each function has a section of its own). None without.
fn function_padding(post: &Obj) -> usize {
    post.symbols
        .iter()
        .filter(|y| y.is_func() && !y.undefined && y.value > 0)
        .filter_map(|y| {
            let code = &post.sections.get(y.section?)?.data;
            let before = code.get(..usize::try_from(y.value).ok()?)?;
            before.iter().all(|&b| b == 0x90).then_some(before.len())
        })
        .max()
        .unwrap_or(0)
}

/// `code` after `padding` `nop`s, where it starts.
fn padded(padding: usize, code: &[u8]) -> (usize, Vec<u8>) {
    let mut data = vec![0x90; padding];
    data.extend_from_slice(code);
    (padding, data)
}

/// Adds to `o` a placeholder the places the core resolves point at until it does: section
/// and local symbol `names`, the section holding `data`, the symbol at `start` of it. Returns
/// both.
fn add_placeholder(
    o: &mut WObject<'_>,
    entsizes: &mut Vec<(String, u64, Option<usize>)>,
    names: (&str, &str),
    kind: SectionKind,
    flags: u32,
    (start, data): (usize, Vec<u8>),
) -> (SectionId, SymbolId) {
    let (section, symbol) = names;
    let id = o.add_section(Vec::new(), section.as_bytes().to_vec(), kind);
    o.section_mut(id).flags = SectionFlags::Elf {
        sh_flags: u64::from(flags),
    };
    let size = (data.len() - start) as u64;
    o.set_section_data(id, data, 16);
    entsizes.push((section.to_owned(), 0, None));
    let sym = o.add_symbol(Symbol {
        name: symbol.as_bytes().to_vec(),
        value: start as u64,
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
