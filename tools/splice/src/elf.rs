// SPDX-License-Identifier: GPL-2.0

//! A plain model of an ELF64 x86-64 relocatable object (sections, symbols, relocations), read
//! with `object::read`, and the canonical naming of relocation targets.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{
    Endianness, Object as _, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
    SectionIndex, SymbolSection,
};

use crate::format::rtype;

/// A relocation of a section.
#[derive(Clone, Debug)]
pub struct Rel {
    /// The section the relocation applies to (its place), by index.
    pub section: usize,
    pub offset: u64,
    pub rtype: u32,
    /// Index into [`Obj::symbols`].
    pub sym: usize,
    pub addend: i64,
}

/// A section.
#[derive(Clone, Debug)]
pub struct Sec {
    pub index: usize,
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub align: u64,
    pub entsize: u64,
    /// `sh_link` (meaningful for `SHF_LINK_ORDER` sections).
    pub link: u32,
    pub size: u64,
    /// Contents; empty for `SHT_NOBITS`.
    pub data: Vec<u8>,
    /// Relocations, sorted by offset.
    pub relocs: Vec<Rel>,
}

impl Sec {
    pub fn is_exec(&self) -> bool {
        self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }

    pub fn is_alloc(&self) -> bool {
        self.flags & u64::from(elf::SHF_ALLOC) != 0
    }

    pub fn is_write(&self) -> bool {
        self.flags & u64::from(elf::SHF_WRITE) != 0
    }

    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS
    }

    /// Mergeable or anonymous constant section (strings, constants): referenced by offset, not
    /// by a symbol, and always carried when referenced.
    pub fn is_mergeable(&self) -> bool {
        self.flags & u64::from(elf::SHF_MERGE) != 0 || merge_section_kind(&self.name).is_some()
    }

    pub fn is_strings(&self) -> bool {
        self.flags & u64::from(elf::SHF_STRINGS) != 0
            || merge_section_kind(&self.name) == Some("str")
    }

    /// The literal of this mergeable section that offset `off` points into, and where it
    /// starts: for strings, the NUL-terminated string that holds `off`, whose NUL counts as
    /// its own (a pointer to the end of a string, `s + strlen(s)`, is of that string, not
    /// the empty string that starts at the NUL: the linker keeps a string whole wherever it
    /// puts it, and puts an empty string of the object elsewhere); for constants, the entry
    /// of `entsize` bytes that holds `off`. The bytes of a string are without its NUL.
    pub fn literal_at(&self, off: usize) -> Option<(usize, &[u8])> {
        if self.is_strings() {
            self.data.get(off)?;
            let start = self.data[..off]
                .iter()
                .rposition(|&b| b == 0)
                .map_or(0, |i| i + 1);
            let len = self.data[start..].iter().position(|&b| b == 0)?;
            Some((start, &self.data[start..start + len]))
        } else {
            let n = usize::try_from(self.entsize).ok()?.max(1);
            let start = off - off % n;
            Some((start, self.data.get(start..start.checked_add(n)?)?))
        }
    }

    /// Sections of init or exit code and data, which are never carried.
    pub fn is_init_or_exit(&self) -> bool {
        self.name.starts_with(".init.")
            || self.name.starts_with(".exit.")
            || self.name.starts_with(".init_")
            || self.name.starts_with(".exit_")
    }

    /// The relocations whose place lies in `start..end`.
    pub fn relocs_in(&self, start: u64, end: u64) -> &[Rel] {
        let a = self.relocs.partition_point(|r| r.offset < start);
        let b = self.relocs.partition_point(|r| r.offset < end);
        &self.relocs[a..b]
    }
}

/// A symbol.
#[derive(Clone, Debug)]
pub struct Sym {
    pub index: usize,
    pub name: String,
    /// `STT_*`.
    pub st_type: u8,
    /// Binding is not `STB_LOCAL`.
    pub global: bool,
    /// Binding is `STB_WEAK`: another object may override it in the linked kernel.
    pub weak: bool,
    /// Defining section; `None` for undefined (and absolute/common) symbols.
    pub section: Option<usize>,
    pub undefined: bool,
    pub value: u64,
    pub size: u64,
}

impl Sym {
    pub fn is_section(&self) -> bool {
        self.st_type == elf::STT_SECTION
    }

    pub fn is_func(&self) -> bool {
        self.st_type == elf::STT_FUNC
    }

    pub fn is_object(&self) -> bool {
        self.st_type == elf::STT_OBJECT
    }
}

/// A relocatable object file.
#[derive(Clone, Debug)]
pub struct Obj {
    /// The name used in messages (the path given on the command line).
    pub path: String,
    /// Indexed by ELF section index (index 0 is the null section).
    pub sections: Vec<Sec>,
    /// Indexed by ELF symbol index (index 0 is the null symbol).
    pub symbols: Vec<Sym>,
    /// Defined non-section symbols by name (the first one of a name).
    by_name: HashMap<String, usize>,
    /// FUNC/OBJECT symbols of each section, by section index.
    sec_syms: HashMap<usize, Vec<usize>>,
    /// The end of every instruction of each code section, sorted, decoded on first use
    /// ([`Obj::pc_bias`]).
    insn_ends: std::sync::OnceLock<HashMap<usize, Vec<u64>>>,
}

/// The canonical name of a relocation target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canon {
    pub name: String,
    pub local: bool,
    /// Addend relative to the named symbol (or section).
    pub addend: i64,
    /// The named symbol, if the target is named by a function/object/other symbol rather
    /// than by its section.
    pub sym: Option<usize>,
    /// Defining section of the target, `None` if undefined.
    pub section: Option<usize>,
    /// For a PC-relative relocation, how far past `sec_offset` its target is
    /// ([`Obj::target_bias`]); 0 for an absolute one.
    pub bias: i64,
    /// Offset of `symbol + addend` in `section` (for defined targets).
    pub sec_offset: i64,
    /// For a place named by a local symbol of a mergeable section (`.LC1+5`): where that
    /// symbol is in the section. The linker adds the addend to where it put the literal
    /// that starts there, wherever the offset falls (one past the string's NUL, even).
    pub anchor: Option<usize>,
}

/// ELF names of x86-64 relocation types, for messages.
pub fn rtype_name(t: u32) -> String {
    let n = match t {
        0 => "R_X86_64_NONE",
        1 => "R_X86_64_64",
        2 => "R_X86_64_PC32",
        3 => "R_X86_64_GOT32",
        4 => "R_X86_64_PLT32",
        5 => "R_X86_64_COPY",
        6 => "R_X86_64_GLOB_DAT",
        7 => "R_X86_64_JUMP_SLOT",
        8 => "R_X86_64_RELATIVE",
        9 => "R_X86_64_GOTPCREL",
        10 => "R_X86_64_32",
        11 => "R_X86_64_32S",
        12 => "R_X86_64_16",
        13 => "R_X86_64_PC16",
        14 => "R_X86_64_8",
        15 => "R_X86_64_PC8",
        16 => "R_X86_64_DTPMOD64",
        17 => "R_X86_64_DTPOFF64",
        18 => "R_X86_64_TPOFF64",
        19 => "R_X86_64_TLSGD",
        20 => "R_X86_64_TLSLD",
        21 => "R_X86_64_DTPOFF32",
        22 => "R_X86_64_GOTTPOFF",
        23 => "R_X86_64_TPOFF32",
        24 => "R_X86_64_PC64",
        25 => "R_X86_64_GOTOFF64",
        26 => "R_X86_64_GOTPC32",
        41 => "R_X86_64_GOTPCRELX",
        42 => "R_X86_64_REX_GOTPCRELX",
        _ => return format!("{t}"),
    };
    n.to_owned()
}

impl Obj {
    /// Reads the object at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let data =
            std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&path.display().to_string(), &data)
    }

    /// Parses `data`; `name` is used in messages.
    ///
    /// The object is read in passes, each over what the one before made: the header is
    /// checked, the sections are read, their relocations put on them, and the symbols read
    /// (a section symbol takes its section's name); [`Obj::from_parts`] then checks the
    /// indices and makes the lookup tables.
    pub fn parse(name: &str, data: &[u8]) -> Result<Self> {
        let file = ElfFile64::<Endianness>::parse(data)
            .map_err(|e| anyhow!("{name}: not an ELF64 object: {e}"))?;
        check_header(name, &file)?;
        let mut sections = read_sections(name, &file, data)?;
        read_relocations(name, &file, &mut sections)?;
        let symbols = read_symbols(&file, &sections);
        Self::from_parts(name, sections, symbols)
    }

    /// An object from its sections and symbols (indexed by position, as in an ELF file),
    /// with the lookup tables made and the indices checked.
    pub fn from_parts(name: &str, sections: Vec<Sec>, symbols: Vec<Sym>) -> Result<Self> {
        if let Some(s) = sections.iter().enumerate().find(|(i, s)| s.index != *i) {
            bail!("{name}: section {} is not at its index", s.1.name);
        }
        if let Some(s) = symbols.iter().enumerate().find(|(i, s)| s.index != *i) {
            bail!("{name}: symbol {} is not at its index", s.1.name);
        }
        let mut by_name = HashMap::new();
        let mut sec_syms: HashMap<usize, Vec<usize>> = HashMap::new();
        for s in &symbols {
            if s.is_section() || s.st_type == elf::STT_FILE || s.name.is_empty() {
                continue;
            }
            if s.section.is_some() {
                by_name.entry(s.name.clone()).or_insert(s.index);
                if (s.is_func() && !s.name.starts_with("__pfx_")) || s.is_object() {
                    sec_syms
                        .entry(s.section.unwrap_or(0))
                        .or_default()
                        .push(s.index);
                }
            }
        }
        for s in &symbols {
            if s.section.is_some_and(|i| i >= sections.len()) {
                bail!("{name}: symbol {} has a bad section index", s.name);
            }
        }
        for r in sections.iter().flat_map(|s| &s.relocs) {
            if r.sym >= symbols.len() {
                bail!("{name}: relocation against bad symbol index {}", r.sym);
            }
        }
        Ok(Self {
            path: name.to_owned(),
            sections,
            symbols,
            by_name,
            sec_syms,
            insn_ends: std::sync::OnceLock::new(),
        })
    }

    /// How far past a PC-relative field at `offset` of section `si` the CPU counts from:
    /// the end of the instruction that holds it, decoded with `iced-x86`, minus `offset`.
    /// The field's target is `addend + pc_bias`. It is 4 only when the displacement is the
    /// last field of its instruction: `cmpl $1, sym(%rip)` has an immediate after it (the
    /// relocation says `sym - 5`, the bias is 5). A field in data (`.long sym - .` of a
    /// special section) is counted from itself: 0.
    pub fn pc_bias(&self, si: usize, offset: u64) -> i64 {
        let Some(sec) = self.sections.get(si).filter(|s| s.is_exec()) else {
            return 0;
        };
        let ends = self.insn_ends.get_or_init(|| self.decode_code());
        match ends.get(&sec.index).and_then(|e| {
            let i = e.partition_point(|&end| end <= offset);
            e.get(i)
        }) {
            Some(&end) => end as i64 - offset as i64,
            // Not code the decoder could follow: the common case.
            None => 4,
        }
    }

    /// How far past `symbol + addend` the target of relocation `r` lies: [`Obj::pc_bias`]
    /// of its place for a PC-relative one, 0 for an absolute one.
    pub fn target_bias(&self, r: &Rel) -> i64 {
        if rtype::is_pc_relative(r.rtype) {
            self.pc_bias(r.section, r.offset)
        } else {
            0
        }
    }

    /// Instruction ends of every code section, decoding each function from its symbol and
    /// what lies between functions from the end of the one before.
    fn decode_code(&self) -> HashMap<usize, Vec<u64>> {
        use iced_x86::{Decoder, DecoderOptions};
        let mut out = HashMap::new();
        for sec in self.sections.iter().filter(|s| s.is_exec()) {
            let mut starts: Vec<u64> = self
                .section_symbols(sec.index)
                .iter()
                .map(|&i| self.symbols[i].value)
                .chain(std::iter::once(0))
                .filter(|&v| v < sec.data.len() as u64)
                .collect();
            starts.sort_unstable();
            starts.dedup();
            let mut ends = Vec::new();
            for (k, &start) in starts.iter().enumerate() {
                let stop = starts.get(k + 1).copied().unwrap_or(sec.data.len() as u64);
                if ends.last().is_some_and(|&e| e > start) {
                    continue;
                }
                let code = &sec.data[start as usize..stop as usize];
                let mut d = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
                while d.can_decode() {
                    let insn = d.decode();
                    if insn.is_invalid() {
                        break;
                    }
                    ends.push(insn.next_ip());
                }
            }
            out.insert(sec.index, ends);
        }
        out
    }

    /// Renames symbols: `(index, new name)`. Names of defined symbols stay unique if the new
    /// names are.
    pub fn rename(&mut self, renames: &[(usize, String)]) {
        for (i, name) in renames {
            if let Some(s) = self.symbols.get_mut(*i) {
                s.name = name.clone();
            }
        }
        self.by_name.clear();
        for s in &self.symbols {
            if s.section.is_some()
                && !s.is_section()
                && s.st_type != elf::STT_FILE
                && !s.name.is_empty()
            {
                self.by_name.entry(s.name.clone()).or_insert(s.index);
            }
        }
    }

    /// The defined non-section symbol called `name`.
    /// The source file the object was compiled from, as the compiler was given it (its
    /// first `STT_FILE` symbol: `samples/splice/splice_target.c` in a Kbuild tree).
    pub fn source_file(&self) -> Option<&str> {
        self.symbols
            .iter()
            .find(|y| y.st_type == elf::STT_FILE && !y.name.is_empty())
            .map(|y| y.name.as_str())
    }

    pub fn defined(&self, name: &str) -> Option<&Sym> {
        self.by_name.get(name).map(|&i| &self.symbols[i])
    }

    /// Whether the object uses `name` without defining it (an undefined symbol).
    pub fn refers_to(&self, name: &str) -> bool {
        self.symbols.iter().any(|s| s.undefined && s.name == name)
    }

    /// FUNC/OBJECT symbols defined in section `sec`.
    pub fn section_symbols(&self, sec: usize) -> &[usize] {
        self.sec_syms.get(&sec).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The section called `name` (the first one).
    pub fn section_by_name(&self, name: &str) -> Option<&Sec> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The sections called `name`.
    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sec> + 'a {
        self.sections.iter().filter(move |s| s.name == name)
    }

    /// Whether the object declares splice hooks (`splice_hook()` of
    /// include/linux/splice_pack.h).
    pub fn declares_hooks(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.name == crate::format::HOOKS_SECTION)
    }

    /// [`Obj::functions`] by name (the first of a name).
    pub fn functions_by_name(&self) -> HashMap<&str, &Sym> {
        self.functions()
            .into_iter()
            .rev()
            .map(|f| (f.name.as_str(), f))
            .collect()
    }

    /// The functions of the object that a pack lists: every `STT_FUNC` with a size in an
    /// executable section that is not init or exit code. objtool's `__pfx_` symbols (the
    /// padding before a function, `--prefix`) are not functions of their own.
    ///
    /// Aliases (several symbols for one function, as `SYSCALL_DEFINE` makes: a local
    /// `__do_sys_x` and a global `__x64_sys_x`) are one function, named by the global symbol.
    pub fn functions(&self) -> Vec<&Sym> {
        let all: Vec<&Sym> = self
            .symbols
            .iter()
            .filter(|s| s.is_func() && s.size > 0 && !s.name.starts_with("__pfx_"))
            .filter(|s| {
                s.section
                    .and_then(|i| self.sections.get(i))
                    .is_some_and(|sec| sec.is_exec() && !sec.is_init_or_exit())
            })
            .collect();
        all.iter()
            .copied()
            .filter(|s| {
                !all.iter().any(|o| {
                    o.index != s.index
                        && o.section == s.section
                        && o.value == s.value
                        && (o.global, std::cmp::Reverse(o.index))
                            > (s.global, std::cmp::Reverse(s.index))
                })
            })
            .collect()
    }

    /// The bytes of symbol `s` (zeros for `SHT_NOBITS`).
    pub fn symbol_bytes(&self, s: &Sym) -> Result<Vec<u8>> {
        let sec = match s.section.and_then(|i| self.sections.get(i)) {
            Some(sec) => sec,
            None => bail!("{}: {}: not defined in a section", self.path, s.name),
        };
        if s.value.checked_add(s.size).is_none_or(|end| end > sec.size) {
            bail!(
                "{}: {}: symbol lies outside its section {}",
                self.path,
                s.name,
                sec.name
            );
        }
        if sec.is_nobits() {
            return Ok(vec![0; s.size as usize]);
        }
        let start = s.value as usize;
        match start
            .checked_add(s.size as usize)
            .and_then(|end| sec.data.get(start..end))
        {
            Some(b) => Ok(b.to_vec()),
            None => bail!(
                "{}: {}: symbol lies outside its section {}",
                self.path,
                s.name,
                sec.name
            ),
        }
    }

    /// Canonical name of the target of relocation `r` (see the crate documentation):
    /// a section symbol names the function/object symbol it points at when there is exactly
    /// one, otherwise the section (mergeable sections are always named by the section);
    /// other symbols name themselves, except local symbols in mergeable sections.
    pub fn canon(&self, r: &Rel) -> Canon {
        let bias = self.target_bias(r);
        let s = &self.symbols[r.sym];
        let sec = s.section.and_then(|i| self.sections.get(i));
        let Some(sec) = sec else {
            return Canon {
                name: s.name.clone(),
                local: !s.global && !s.undefined,
                bias,
                addend: r.addend,
                sym: None,
                section: None,
                sec_offset: r.addend,
                anchor: None,
            };
        };
        let sec_offset = (s.value as i64).wrapping_add(r.addend);
        let by_section = |sec: &Sec| Canon {
            name: sec.name.clone(),
            local: true,
            bias,
            addend: sec_offset,
            sym: None,
            section: Some(sec.index),
            sec_offset,
            anchor: None,
        };
        if s.is_section() {
            if sec.is_mergeable() {
                return by_section(sec);
            }
            // Where the relocation points: a PC-relative displacement counts from the end
            // of its instruction.
            return match self.symbol_at(sec.index, sec_offset.wrapping_add(bias)) {
                Some(i) => {
                    let y = &self.symbols[i];
                    Canon {
                        name: y.name.clone(),
                        local: !y.global,
                        bias,
                        addend: sec_offset.wrapping_sub(y.value as i64),
                        sym: Some(i),
                        section: Some(sec.index),
                        sec_offset,
                        anchor: None,
                    }
                }
                None => by_section(sec),
            };
        }
        if !s.global && sec.is_mergeable() {
            return Canon {
                anchor: usize::try_from(s.value).ok(),
                ..by_section(sec)
            };
        }
        Canon {
            name: s.name.clone(),
            local: !s.global,
            bias,
            addend: r.addend,
            sym: Some(s.index),
            section: Some(sec.index),
            sec_offset,
            anchor: None,
        }
    }

    /// The function or object symbol of section `si` that holds offset `t` when exactly one
    /// does, else the section's only one, if it has just one.
    fn symbol_at(&self, si: usize, t: i64) -> Option<usize> {
        let syms = self.section_symbols(si);
        let at: Vec<usize> = syms
            .iter()
            .copied()
            .filter(|&i| {
                let y = &self.symbols[i];
                let v = y.value as i64;
                t >= v && (t < v + y.size as i64 || (y.size == 0 && t == v))
            })
            .collect();
        match (at.as_slice(), syms) {
            ([i], _) | (_, [i]) => Some(*i),
            _ => None,
        }
    }

    /// The literal a relocation into a mergeable section refers to ([`Sec::literal_at`], or
    /// the one at its symbol, [`Canon::anchor`]), and how far into it.
    pub fn merged_value(&self, c: &Canon) -> Option<(Vec<u8>, i64)> {
        let sec = self.sections.get(c.section?)?;
        let off = c.sec_offset + c.bias;
        let (start, bytes) = sec.literal_at(c.anchor.or(usize::try_from(off).ok())?)?;
        Some((bytes.to_vec(), off - i64::try_from(start).ok()?))
    }

    /// Reads a little-endian i32 at `off` of `sec`.
    pub fn read_i32(&self, sec: &Sec, off: u64) -> Option<i32> {
        let o = usize::try_from(off).ok()?;
        let b = sec.data.get(o..o + 4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Refuses anything but an x86-64 relocatable object: the rest of the generator reads its
/// relocations as x86-64 ones, and only a relocatable object has them unapplied.
fn check_header(name: &str, file: &ElfFile64<'_, Endianness>) -> Result<()> {
    let endian = file.endian();
    if file.elf_header().e_machine(endian) != elf::EM_X86_64 {
        bail!("{name}: not an x86-64 object");
    }
    if file.elf_header().e_type(endian) != elf::ET_REL {
        bail!("{name}: not a relocatable object");
    }
    Ok(())
}

/// The sections of `file`, indexed by ELF section index, the null section first, without
/// their relocations yet. `data` is the whole file, which the section headers point into;
/// a `SHT_NOBITS` section has no contents there.
fn read_sections(name: &str, file: &ElfFile64<'_, Endianness>, data: &[u8]) -> Result<Vec<Sec>> {
    let endian = file.endian();
    let nsec = file.elf_section_table().len();
    let mut sections: Vec<Sec> = Vec::with_capacity(nsec);
    sections.push(Sec {
        index: 0,
        name: String::new(),
        sh_type: elf::SHT_NULL,
        flags: 0,
        align: 1,
        entsize: 0,
        link: 0,
        size: 0,
        data: Vec::new(),
        relocs: Vec::new(),
    });
    for i in 1..nsec {
        let hdr = file
            .elf_section_table()
            .section(SectionIndex(i))
            .map_err(|e| anyhow!("{name}: section {i}: {e}"))?;
        let sname = file
            .elf_section_table()
            .section_name(endian, hdr)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let sh_type = hdr.sh_type(endian);
        let data = if sh_type == elf::SHT_NOBITS {
            Vec::new()
        } else {
            hdr.data(endian, data)
                .map_err(|e| anyhow!("{name}: section {sname}: {e}"))?
                .to_vec()
        };
        sections.push(Sec {
            index: i,
            name: sname,
            sh_type,
            flags: hdr.sh_flags(endian),
            align: hdr.sh_addralign(endian).max(1),
            entsize: hdr.sh_entsize(endian),
            link: hdr.sh_link(endian),
            size: hdr.sh_size(endian),
            data,
            relocs: Vec::new(),
        });
    }
    Ok(sections)
}

/// Puts on each of `sections` the relocations that apply to it, sorted by offset (so that
/// [`Sec::relocs_in`] can find those of a range by bisection). A relocation that is not an
/// ELF one, or whose target is neither a symbol nor absolute, is refused: nothing after
/// this could name it.
fn read_relocations(
    name: &str,
    file: &ElfFile64<'_, Endianness>,
    sections: &mut [Sec],
) -> Result<()> {
    for section in file.sections() {
        let idx = section.index().0;
        let sec_name = section.name().unwrap_or("(unnamed section)");
        let mut relocs = Vec::new();
        for (offset, r) in section.relocations() {
            let rtype = match r.flags() {
                RelocationFlags::Elf { r_type } => r_type,
                f => bail!("{name}: {sec_name}: unexpected relocation {f:?}"),
            };
            let sym = match r.target() {
                RelocationTarget::Symbol(s) => s.0,
                RelocationTarget::Absolute => 0,
                t => bail!("{name}: {sec_name}: unexpected relocation target {t:?}"),
            };
            relocs.push(Rel {
                section: idx,
                offset,
                rtype,
                sym,
                addend: r.addend(),
            });
        }
        relocs.sort_by_key(|r| r.offset);
        if let Some(s) = sections.get_mut(idx) {
            s.relocs = relocs;
        }
    }
    Ok(())
}

/// The symbols of `file`, indexed by ELF symbol index, the null symbol first (and any
/// index the symbol table skips filled with a copy of it, so that positions stay indices).
/// A section symbol without a name of its own is named by its section, from `sections`.
fn read_symbols(file: &ElfFile64<'_, Endianness>, sections: &[Sec]) -> Vec<Sym> {
    let mut symbols = vec![Sym {
        index: 0,
        name: String::new(),
        st_type: elf::STT_NOTYPE,
        global: false,
        weak: false,
        section: None,
        undefined: true,
        value: 0,
        size: 0,
    }];
    for s in file.symbols() {
        let i = s.index().0;
        let (st_type, section, undefined) = {
            let es = s.elf_symbol();
            let st_type = es.st_type();
            match s.section() {
                SymbolSection::Section(si) => (st_type, Some(si.0), false),
                SymbolSection::Undefined => (st_type, None, true),
                _ => (st_type, None, false),
            }
        };
        let mut sname = String::from_utf8_lossy(s.name_bytes().unwrap_or_default()).into_owned();
        if st_type == elf::STT_SECTION && sname.is_empty() {
            if let Some(si) = section {
                sname = sections.get(si).map(|s| s.name.clone()).unwrap_or_default();
            }
        }
        while symbols.len() < i {
            let idx = symbols.len();
            symbols.push(Sym {
                index: idx,
                ..symbols[0].clone()
            });
        }
        symbols.push(Sym {
            index: i,
            name: sname,
            st_type,
            global: !s.is_local(),
            weak: s.is_weak(),
            section,
            undefined,
            value: s.address(),
            size: s.size(),
        });
    }
    symbols
}

/// `"str"` or `"cst"` for the name of a section the compiler makes for mergeable strings
/// (`.rodata.str1.1`, `.rodata.str2.2`) or constants (`.rodata.cst16`): not for the section
/// `-fdata-sections` makes for a variable named like one (`.rodata.str.0`, the static local
/// `str` of a function: an array of pointers, not a string).
pub fn merge_section_kind(name: &str) -> Option<&'static str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = name.strip_prefix(".rodata.str") {
        let (size, align) = rest.split_once('.')?;
        (digits(size) && digits(align)).then_some("str")
    } else {
        let size = name.strip_prefix(".rodata.cst")?;
        digits(size).then_some("cst")
    }
}
