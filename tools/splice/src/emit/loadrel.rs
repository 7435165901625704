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

use crate::input::symvers::KLP_SYM_PREFIX;

const SHT_SYMTAB: u32 = 2;
const SHT_RELA: u32 = 4;
const SHF_INFO_LINK: u64 = 0x40;
const SHF_RELA_LIVEPATCH: u64 = 0x0010_0000;
const SHN_LIVEPATCH: u16 = 0xff20;
const SHDR: usize = 64;
const SYM: usize = 24;
const RELA: usize = 24;

fn rd<const N: usize>(d: &[u8], at: usize) -> Result<[u8; N]> {
    d.get(at..at + N)
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("read of {N} bytes at {at:#x} out of bounds"))
}
fn u16_at(d: &[u8], at: usize) -> Result<u16> {
    Ok(u16::from_le_bytes(rd(d, at)?))
}
fn u32_at(d: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(rd(d, at)?))
}
fn u64_at(d: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(rd(d, at)?))
}
fn put(d: &mut [u8], at: usize, b: &[u8]) -> Result<()> {
    match d.get_mut(at..at + b.len()) {
        Some(s) => {
            s.copy_from_slice(b);
            Ok(())
        }
        None => bail!("write of {} bytes at {at:#x} out of bounds", b.len()),
    }
}

#[derive(Clone, Copy)]
struct Shdr {
    name: u32,
    sh_type: u32,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
}

fn shdr(d: &[u8], shoff: usize, i: usize) -> Result<Shdr> {
    let at = shoff + i * SHDR;
    Ok(Shdr {
        name: u32_at(d, at)?,
        sh_type: u32_at(d, at + 4)?,
        offset: u64_at(d, at + 24)?,
        size: u64_at(d, at + 32)?,
        link: u32_at(d, at + 40)?,
        info: u32_at(d, at + 44)?,
    })
}

fn cstr(d: &[u8], at: usize) -> Result<&str> {
    let rest = d.get(at..).context("string out of bounds")?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .context("unterminated string")?;
    std::str::from_utf8(&rest[..end]).context("string is not UTF-8")
}

fn range(d: &[u8], h: &Shdr) -> Result<std::ops::Range<usize>> {
    let (s, e) = (h.offset as usize, (h.offset + h.size) as usize);
    if e > d.len() || s > e {
        bail!("section contents out of bounds");
    }
    Ok(s..e)
}

/// Rewrites the linked module `ko` so that the module loader resolves its `.klp.sym.*`
/// relocations (see the module documentation). Returns how many relocations moved; a
/// module without such symbols is left as it is.
pub fn convert(ko: &mut Vec<u8>) -> Result<usize> {
    let d = &ko[..];
    if d.get(..4) != Some(b"\x7fELF") || d.get(4) != Some(&2) || d.get(5) != Some(&1) {
        bail!("not a 64-bit little-endian ELF file");
    }
    let shoff = u64_at(d, 0x28)? as usize;
    let shnum = usize::from(u16_at(d, 0x3c)?);
    let shstrndx = usize::from(u16_at(d, 0x3e)?);
    if usize::from(u16_at(d, 0x3a)?) != SHDR || shstrndx >= shnum {
        bail!("unexpected section header table");
    }
    let sh: Vec<Shdr> = (0..shnum)
        .map(|i| shdr(d, shoff, i))
        .collect::<Result<_>>()?;
    let name_of =
        |h: &Shdr| -> Result<&str> { cstr(d, sh[shstrndx].offset as usize + h.name as usize) };
    let Some(symtab) = sh.iter().position(|h| h.sh_type == SHT_SYMTAB) else {
        bail!("no symbol table");
    };
    let strtab = sh
        .get(sh[symtab].link as usize)
        .context("symbol table without strings")?;
    let syms = range(d, &sh[symtab])?;
    let mut klp = Vec::new();
    for (i, at) in syms.clone().step_by(SYM).enumerate().skip(1) {
        let name = cstr(d, strtab.offset as usize + u32_at(d, at)? as usize)?;
        if name.starts_with(KLP_SYM_PREFIX) {
            if u16_at(d, at + 6)? != 0 {
                bail!("{name}: a load-time symbol must be undefined in the linked module");
            }
            klp.push((i, at));
        }
    }
    if klp.is_empty() {
        return Ok(0);
    }
    let is_klp = |i: u64| klp.iter().any(|&(k, _)| k as u64 == i);

    // The relocations to move, by the section they apply to.
    let mut moved: Vec<(u32, String, Vec<u8>)> = Vec::new();
    let mut nones: Vec<usize> = Vec::new();
    for h in &sh {
        if h.sh_type != SHT_RELA || h.link as usize != symtab {
            continue;
        }
        for at in range(d, h)?.step_by(RELA) {
            let info = u64_at(d, at + 8)?;
            if !is_klp(info >> 32) {
                continue;
            }
            let target = sh
                .get(h.info as usize)
                .context("relocation section without target")?;
            let name = format!(".klp.rela.vmlinux.{}", name_of(target)?);
            let e = match moved.iter().position(|m| m.0 == h.info) {
                Some(e) => e,
                None => {
                    moved.push((h.info, name, Vec::new()));
                    moved.len() - 1
                }
            };
            moved[e].2.extend_from_slice(&d[at..at + RELA]);
            nones.push(at);
        }
    }
    let count = nones.len();
    if count == 0 {
        bail!("load-time symbols that no relocation uses");
    }

    // New contents at the end: the relocation sections, a longer .shstrtab, and a new
    // section header table (the old one stays behind, unused).
    let old_shstr = d[range(d, &sh[shstrndx])?].to_vec();
    let mut out = ko.clone();
    for at in nones {
        let info = u64_at(&out, at + 8)?;
        put(&mut out, at + 8, &(info & !0xffff_ffff).to_le_bytes())?;
    }
    for &(_, at) in &klp {
        put(&mut out, at + 6, &SHN_LIVEPATCH.to_le_bytes())?;
    }
    let align = |v: &mut Vec<u8>| {
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
    };
    let mut headers: Vec<u8> = out[shoff..shoff + shnum * SHDR].to_vec();
    let mut shstr = old_shstr;
    for (target, name, relas) in &moved {
        align(&mut out);
        let offset = out.len() as u64;
        out.extend_from_slice(relas);
        let name_at = shstr.len() as u32;
        shstr.extend_from_slice(name.as_bytes());
        shstr.push(0);
        let mut h = [0u8; SHDR];
        h[0..4].copy_from_slice(&name_at.to_le_bytes());
        h[4..8].copy_from_slice(&SHT_RELA.to_le_bytes());
        h[8..16].copy_from_slice(&(SHF_INFO_LINK | SHF_RELA_LIVEPATCH).to_le_bytes());
        h[24..32].copy_from_slice(&offset.to_le_bytes());
        h[32..40].copy_from_slice(&(relas.len() as u64).to_le_bytes());
        h[40..44].copy_from_slice(&(symtab as u32).to_le_bytes());
        h[44..48].copy_from_slice(&target.to_le_bytes());
        h[48..56].copy_from_slice(&8u64.to_le_bytes());
        h[56..64].copy_from_slice(&(RELA as u64).to_le_bytes());
        headers.extend_from_slice(&h);
    }
    let shstr_off = out.len() as u64;
    out.extend_from_slice(&shstr);
    let hs = shstrndx * SHDR;
    headers[hs + 24..hs + 32].copy_from_slice(&shstr_off.to_le_bytes());
    headers[hs + 32..hs + 40].copy_from_slice(&(shstr.len() as u64).to_le_bytes());
    align(&mut out);
    let new_shoff = out.len() as u64;
    out.extend_from_slice(&headers);
    let new_shnum = u16::try_from(shnum + moved.len()).context("too many sections")?;
    put(&mut out, 0x28, &new_shoff.to_le_bytes())?;
    put(&mut out, 0x3c, &new_shnum.to_le_bytes())?;
    *ko = out;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object, Relocation, Symbol, SymbolSection};
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
        assert_eq!(sh_flags, SHF_INFO_LINK | SHF_RELA_LIVEPATCH);
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
