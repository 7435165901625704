// SPDX-License-Identifier: GPL-2.0

//! Load-time relocations: special-section entries that refer to unexported vmlinux symbols.
//!
//! The module loader links a pack's `__jump_table` and `.static_call_sites` entries to their
//! keys as the pack loads, before splice runs, so a key the kernel does not export (a
//! tracepoint's `__tracepoint_NAME` or `__SCK__tp_func_NAME`, a file's static key) cannot
//! wait for run-pre matching. The kernel has one mechanism for this, livepatch's: a
//! relocation section flagged `SHF_RELA_LIVEPATCH`, named `.klp.rela.vmlinux.SECTION`,
//! against symbols `.klp.sym.vmlinux.NAME,0` of section `SHN_LIVEPATCH`, which
//! `apply_relocations()` resolves through kallsyms (`klp_apply_section_relocs()`, for any
//! module, with `CONFIG_LIVEPATCH`).
//!
//! The assembler writes those relocations as ordinary ones against weak undefined symbols
//! named `.klp.sym.…` (modpost and the linker know nothing else); [`convert`] then rewrites
//! the linked `.ko`, as `objtool klp post-link` does for klp-build: each such relocation
//! moves to a `.klp.rela.vmlinux.SECTION` section and becomes `R_X86_64_NONE` where it was,
//! and the symbols get `SHN_LIVEPATCH`. It must run before the module is signed.

use anyhow::{bail, Context, Result};
use object::build::elf::{Builder, Relocation, SectionData, SectionId};
use object::build::ByteString;
use object::elf::{R_X86_64_NONE, SHF_INFO_LINK, SHT_RELA, SHT_SYMTAB};

use crate::input::symvers::KLP_SYM_PREFIX;

const SHF_RELA_LIVEPATCH: u64 = 0x0010_0000;
const SHN_LIVEPATCH: u16 = 0xff20;
const RELA: u64 = 24;

/// Rewrites the linked module `ko` so that the module loader resolves its `.klp.sym.*`
/// relocations (see the module documentation). Returns how many relocations moved; a
/// module without such symbols is left as it is.
pub fn convert(ko: &mut Vec<u8>) -> Result<usize> {
    match rewrite(ko)? {
        Some((out, n)) => {
            *ko = out;
            Ok(n)
        }
        None => Ok(0),
    }
}

/// The rewritten module and how many relocations moved, or `None` if it has no load-time
/// symbols.
fn rewrite(data: &[u8]) -> Result<Option<(Vec<u8>, usize)>> {
    let mut b = Builder::read(data).context("not an ELF file")?;
    if !b.is_64 || b.endian != object::Endianness::Little {
        bail!("not a 64-bit little-endian ELF file");
    }
    let mut klp = Vec::new();
    for s in b.symbols.iter() {
        if s.name.starts_with(KLP_SYM_PREFIX.as_bytes()) {
            if s.section.is_some() || s.st_shndx != 0 {
                bail!(
                    "{}: a load-time symbol must be undefined in the linked module",
                    s.name
                );
            }
            klp.push(s.id());
        }
    }
    if klp.is_empty() {
        return Ok(None);
    }
    let symtab = b
        .sections
        .iter()
        .find(|s| s.sh_type == SHT_SYMTAB)
        .map(|s| s.id())
        .context("no symbol table")?;
    // The relocations to move, by the section they apply to; where they were, they become
    // R_X86_64_NONE.
    let mut moved: Vec<(SectionId, Vec<Relocation>)> = Vec::new();
    for sec in b.sections.iter_mut() {
        if sec.sh_type != SHT_RELA || sec.sh_link_section != Some(symtab) {
            continue;
        }
        let SectionData::Relocation(rels) = &mut sec.data else {
            continue;
        };
        let target = sec.sh_info_section;
        for r in rels.iter_mut() {
            if r.symbol.is_some_and(|y| klp.contains(&y)) {
                let target = target.context("relocation section without target")?;
                match moved.iter_mut().find(|(t, _)| *t == target) {
                    Some((_, list)) => list.push(*r),
                    None => moved.push((target, vec![*r])),
                }
                r.r_type = R_X86_64_NONE;
            }
        }
    }
    let count: usize = moved.iter().map(|(_, l)| l.len()).sum();
    if count == 0 {
        bail!("load-time symbols that no relocation uses");
    }
    for (target, rels) in moved {
        let name = format!(".klp.rela.vmlinux.{}", b.sections.get(target).name);
        let s = b.sections.add();
        s.name = ByteString::from(name.into_bytes());
        s.sh_type = SHT_RELA;
        s.sh_flags = u64::from(SHF_INFO_LINK) | SHF_RELA_LIVEPATCH;
        s.sh_link_section = Some(symtab);
        s.sh_info_section = Some(target);
        s.sh_addralign = 8;
        s.sh_entsize = RELA;
        s.data = SectionData::Relocation(rels);
    }
    for id in klp {
        b.symbols.get_mut(id).st_shndx = SHN_LIVEPATCH;
    }
    let mut out = Vec::new();
    b.write(&mut out).context("cannot write the module back")?;
    Ok(Some((out, count)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object, Relocation, Symbol, SymbolSection};

    const SYM: usize = 24;

    fn u64_at(d: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
    }

    fn u16_at(d: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
    }
    use object::{
        Architecture, BinaryFormat, Endianness, Object as _, ObjectSection, ObjectSymbol,
        RelocationFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
    };

    /// A module-like object: `__jump_table` with one entry whose key is a load-time symbol
    /// and whose code is a local label.
    fn sample() -> Vec<u8> {
        let mut o = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = o.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        o.append_section_data(text, &[0x90; 16], 16);
        let jt = o.add_section(Vec::new(), b"__jump_table".to_vec(), SectionKind::Data);
        o.append_section_data(jt, &[0; 16], 8);
        let key = o.add_symbol(Symbol {
            name: b".klp.sym.vmlinux.__tracepoint_x,0".to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Dynamic,
            weak: true,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
        let code = o.section_symbol(text);
        for (offset, symbol, addend) in [(0, code, 4), (8, key, 1)] {
            let r_type = if offset == 0 { 2 } else { 24 };
            o.add_relocation(
                jt,
                Relocation {
                    offset,
                    symbol,
                    addend,
                    flags: RelocationFlags::Elf { r_type },
                },
            )
            .unwrap();
        }
        o.write().unwrap()
    }

    #[test]
    fn moves_load_time_relocations() {
        let mut ko = sample();
        assert_eq!(convert(&mut ko).unwrap(), 1);
        let f = object::File::parse(&*ko).unwrap();
        let klp = f.section_by_name(".klp.rela.vmlinux.__jump_table").unwrap();
        let object::SectionFlags::Elf { sh_flags } = klp.flags() else {
            panic!("not ELF flags");
        };
        assert_eq!(sh_flags, u64::from(SHF_INFO_LINK) | SHF_RELA_LIVEPATCH);
        assert_eq!(klp.size(), 24);
        let data = klp.data().unwrap();
        assert_eq!(u64_at(data, 0).unwrap(), 8);
        assert_eq!(u64_at(data, 8).unwrap() & 0xffff_ffff, 24);
        assert_eq!(u64_at(data, 16).unwrap(), 1);
        let sym = f
            .symbols()
            .find(|s| s.name() == Ok(".klp.sym.vmlinux.__tracepoint_x,0"))
            .unwrap();
        assert_eq!(sym.section_index(), None);
        let raw = &ko[..];
        let symtab = f.section_by_name(".symtab").unwrap();
        let (off, _) = symtab.file_range().unwrap();
        let at = off as usize + sym.index().0 * SYM;
        assert_eq!(u16_at(raw, at + 6).unwrap(), SHN_LIVEPATCH);
        // The original relocation is now R_X86_64_NONE, the other one is untouched (the
        // object crate lists the moved one too: its section applies to __jump_table).
        let jt = f.section_by_name("__jump_table").unwrap();
        let types: Vec<u32> = jt
            .relocations()
            .map(|(_, r)| match r.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                _ => u32::MAX,
            })
            .collect();
        assert_eq!(types, vec![2, 0, 24]);
        // Sections and names survive the move of .shstrtab.
        assert!(f.section_by_name(".text").is_some());
    }

    #[test]
    fn leaves_other_modules_alone() {
        let mut o = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
        let text = o.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        o.append_section_data(text, &[0xc3], 1);
        let mut ko = o.write().unwrap();
        let before = ko.clone();
        assert_eq!(convert(&mut ko).unwrap(), 0);
        assert_eq!(ko, before);
        assert!(convert(&mut b"not elf".to_vec()).is_err());
    }
}
