// SPDX-License-Identifier: GPL-2.0

//! Writer of the splice pack metadata table, format v2 (`VERSION`).
//!
//! The layout is documented in `Documentation/splice/pack-format.rst` and read by the kernel in
//! `kernel/splice/pack.rs`. All integers are little-endian; offsets are from the start of the
//! blob. [`Pack::to_bytes`] lays the blob out as
//!
//! ```text
//! header (136) | strings | code | objects | functions | relocs | targets | fixups
//! ```
//!
//! with every table aligned to 8 bytes (padding between areas is zero and lies inside
//! `header_size .. total_size`, which the reader allows).
//!
//! The relocation table holds, in this order, the relocations of every pre function (in
//! function order), then those of every target, then those of every fixup; each entry refers
//! to its own contiguous range.

use std::collections::HashMap;

use anyhow::{bail, Result};

/// The first eight bytes of every blob.
pub const MAGIC: [u8; 8] = *b"SPLCPACK";
/// The format version written: 2, version 1 and the fixes the pack carries.
pub const VERSION: u32 = 2;
/// Size of the fixed header.
pub const HEADER_SIZE: usize = 136;
/// Longest build-id a header can hold.
pub const BUILD_ID_MAX: usize = 32;

/// Sizes of the table entries.
pub const OBJECT_SIZE: usize = 16;
pub const FUNCTION_SIZE: usize = 32;
pub const RELOC_SIZE: usize = 24;
pub const TARGET_SIZE: usize = 24;
pub const FIXUP_SIZE: usize = 16;

/// Header flag: patch target modules when they load.
pub const FLAG_PATCH_ON_LOAD: u32 = 1;
/// Header flag: the pack replaces every applied pack (`splice-create --replace`).
pub const FLAG_REPLACE: u32 = 2;
/// The flags a pack may have.
const FLAGS_KNOWN: u32 = FLAG_PATCH_ON_LOAD | FLAG_REPLACE;
/// Relocation flag: the symbol is local to its object.
pub const RELOC_LOCAL: u32 = 1;
/// Function flag: the function is local to its object (`static`).
pub const FUNCTION_LOCAL: u32 = 1;

/// Header offsets.
pub mod hdr {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 8;
    pub const HEADER_SIZE: usize = 12;
    pub const TOTAL_SIZE: usize = 16;
    pub const FLAGS: usize = 20;
    pub const NAME: usize = 24;
    pub const DESCRIPTION: usize = 28;
    pub const RELEASE: usize = 32;
    pub const BUILD_ID_LEN: usize = 36;
    pub const BUILD_ID: usize = 40;
    pub const STRINGS: usize = 72;
    pub const CODE: usize = 80;
    pub const OBJECTS: usize = 88;
    pub const FUNCTIONS: usize = 96;
    pub const RELOCS: usize = 104;
    pub const TARGETS: usize = 112;
    pub const FIXUPS: usize = 120;
    pub const FIXES: usize = 128;
    pub const FIXED_IN: usize = 132;
}

/// ELF x86-64 relocation types a pack may use, and the run-time site types.
pub mod rtype {
    pub const R_X86_64_64: u32 = 1;
    pub const R_X86_64_PC32: u32 = 2;
    pub const R_X86_64_PLT32: u32 = 4;
    pub const R_X86_64_32: u32 = 10;
    pub const R_X86_64_32S: u32 = 11;

    /// ftrace entry (`call __fentry__` / nop5).
    pub const SITE_FTRACE: u32 = 0x101;
    /// Alternative instruction.
    pub const SITE_ALTERNATIVE: u32 = 0x102;
    /// Jump label.
    pub const SITE_JUMP_LABEL: u32 = 0x103;
    /// Static call.
    pub const SITE_STATIC_CALL: u32 = 0x104;
    /// Retpoline call/jmp.
    pub const SITE_RETPOLINE: u32 = 0x105;
    /// Return thunk.
    pub const SITE_RETURN_THUNK: u32 = 0x106;
    /// IBT endbr64.
    pub const SITE_ENDBR: u32 = 0x107;
    /// SMP lock prefix.
    pub const SITE_LOCK: u32 = 0x108;
    /// Runtime constant (`runtime_const_ptr()`, `runtime_const_shift_right_32()`): an
    /// instruction whose immediate the kernel sets at boot.
    pub const SITE_RUNTIME_CONST: u32 = 0x109;

    /// Width of the place of an ELF relocation type, or `None` if the type is not allowed.
    pub fn width(t: u32) -> Option<usize> {
        match t {
            R_X86_64_64 => Some(8),
            R_X86_64_PC32 | R_X86_64_PLT32 | R_X86_64_32 | R_X86_64_32S => Some(4),
            _ => None,
        }
    }

    /// Whether `t` is a run-time site type.
    pub fn is_site(t: u32) -> bool {
        (SITE_FTRACE..=SITE_RUNTIME_CONST).contains(&t)
    }

    /// Whether `t` is PC-relative.
    pub fn is_pc_relative(t: u32) -> bool {
        matches!(t, R_X86_64_PC32 | R_X86_64_PLT32)
    }
}

/// One relocation entry (24 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloc {
    /// Offset of the place from the start of its function (or registered replacement).
    pub offset: u32,
    /// ELF type or run-time site type.
    pub rtype: u32,
    /// Symbol name; empty for run-time sites.
    pub symbol: String,
    /// Whether the symbol is local to its object.
    pub local: bool,
    /// Addend; the length of the site for run-time sites.
    pub addend: i64,
}

impl Reloc {
    /// A run-time site marker.
    pub fn site(offset: u32, rtype: u32, len: u32) -> Self {
        Self {
            offset,
            rtype,
            symbol: String::new(),
            local: false,
            addend: i64::from(len),
        }
    }
}

/// The pre code of one function.
#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: String,
    /// Whether the function is local to its object (`STB_LOCAL`, i.e. `static`).
    pub local: bool,
    pub code: Vec<u8>,
    pub relocs: Vec<Reloc>,
}

/// A changed object and its functions.
#[derive(Clone, Debug, Default)]
pub struct Object {
    pub name: String,
    pub module: String,
    pub functions: Vec<Function>,
}

/// A function to replace.
#[derive(Clone, Debug)]
pub struct Target {
    /// Index of the pre function in the whole function table (across objects).
    pub function: u32,
    /// Index into the registered replacement table.
    pub replacement: u32,
    /// Relocations in the replacement the core resolves.
    pub relocs: Vec<Reloc>,
}

/// Relocations in other carried code or data.
#[derive(Clone, Debug)]
pub struct Fixup {
    pub replacement: u32,
    /// Index of the object whose local symbols the relocations name.
    pub object: u32,
    pub relocs: Vec<Reloc>,
}

/// A whole pack's metadata.
#[derive(Clone, Debug, Default)]
pub struct Pack {
    pub name: String,
    pub description: String,
    /// The fixes the pack carries: one subject each (`Documentation/splice/pack-format.rst`).
    pub fixes: Vec<String>,
    /// The kernel version whose fixes it carries, such as `7.2.13`, or empty.
    pub fixed_in: String,
    pub kernel_release: String,
    pub build_id: Vec<u8>,
    pub flags: u32,
    pub objects: Vec<Object>,
    pub targets: Vec<Target>,
    pub fixups: Vec<Fixup>,
}

/// Interned strings: starts with the empty string, every string NUL-terminated.
struct Strings {
    bytes: Vec<u8>,
    index: HashMap<String, u32>,
}

impl Strings {
    fn new() -> Self {
        let mut index = HashMap::new();
        index.insert(String::new(), 0);
        Self {
            bytes: vec![0],
            index,
        }
    }

    fn add(&mut self, s: &str) -> Result<u32> {
        if let Some(&off) = self.index.get(s) {
            return Ok(off);
        }
        if s.as_bytes().contains(&0) {
            bail!("string {s:?} contains a NUL byte");
        }
        let off = to_u32(self.bytes.len(), "string table")?;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.index.insert(s.to_owned(), off);
        Ok(off)
    }
}

fn to_u32(v: usize, what: &str) -> Result<u32> {
    match u32::try_from(v) {
        Ok(v) => Ok(v),
        Err(_) => bail!("{what} too large for format v2 ({v})"),
    }
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn push32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn align8(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(8) {
        b.push(0);
    }
}

/// Appends rows of 32-bit words, as the fixed-size table entries are laid out.
fn push_rows<const N: usize>(b: &mut Vec<u8>, rows: &[[u32; N]]) {
    for row in rows {
        for &v in row {
            push32(b, v);
        }
    }
}

// The string table follows the header with no padding: aligning it changes nothing.
const _: () = assert!(HEADER_SIZE.is_multiple_of(8));

/// Writes one area of the blob: pads it to 8 bytes, lets `write` append the area and records
/// its offset and `count` (entries, or bytes for the strings and the code) in the header
/// field at `at`.
fn put_area(
    b: &mut Vec<u8>,
    at: usize,
    count: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Result<()> {
    align8(b);
    let off = b.len();
    write(b);
    let off = to_u32(off, "blob")?;
    let n = to_u32(count, "blob")?;
    put32(b, at, off);
    put32(b, at + 4, n);
    Ok(())
}

/// A pack's tables as the blob holds them, collected by [`Pack::tables`]: every name is an
/// offset in the string table, every list of relocations a range of the one relocation table,
/// and every entry the row of 32-bit words it is written as.
struct Tables<'a> {
    strings: Strings,
    /// String offsets of the header's name, description, kernel release, fixes and fixed-in.
    name: u32,
    description: u32,
    release: u32,
    fixes: u32,
    fixed_in: u32,
    /// The pre code of every function, one after another.
    code: Vec<u8>,
    /// Name, module, first function, function count.
    objects: Vec<[u32; 4]>,
    /// Name, object, code offset, code length, first relocation, relocation count, flags and a
    /// reserved zero.
    functions: Vec<[u32; 8]>,
    /// The relocations of the functions, then of the targets, then of the fixups.
    relocs: Vec<&'a Reloc>,
    /// String offset of the symbol of each of `relocs`.
    reloc_syms: Vec<u32>,
    /// Function, replacement, first relocation, relocation count and two reserved zeros.
    targets: Vec<[u32; 6]>,
    /// Replacement, first relocation, relocation count, object.
    fixups: Vec<[u32; 4]>,
}

impl<'a> Tables<'a> {
    /// Checks every object's functions and adds them: their names, their code and their
    /// relocations, in function order.
    fn add_objects(&mut self, objects: &'a [Object]) -> Result<()> {
        for (oi, o) in objects.iter().enumerate() {
            self.objects.push([
                self.strings.add(&o.name)?,
                self.strings.add(&o.module)?,
                to_u32(self.functions.len(), "function table")?,
                to_u32(o.functions.len(), "function table")?,
            ]);
            for f in &o.functions {
                Pack::check_relocs(&f.relocs, Some(f.code.len()), &f.name)?;
                self.functions.push([
                    self.strings.add(&f.name)?,
                    to_u32(oi, "object table")?,
                    to_u32(self.code.len(), "code")?,
                    to_u32(f.code.len(), "code")?,
                    to_u32(self.relocs.len(), "relocation table")?,
                    to_u32(f.relocs.len(), "relocation table")?,
                    if f.local { FUNCTION_LOCAL } else { 0 },
                    0,
                ]);
                self.code.extend_from_slice(&f.code);
                self.relocs.extend(f.relocs.iter());
            }
        }
        Ok(())
    }

    /// Checks the targets against the `nfunc` functions and the `replacements` registered
    /// replacements and adds them, their relocations after the functions' ones.
    fn add_targets(
        &mut self,
        targets: &'a [Target],
        nfunc: usize,
        replacements: usize,
    ) -> Result<()> {
        for t in targets {
            if t.function as usize >= nfunc {
                bail!("target function index {} out of range", t.function);
            }
            if t.replacement as usize >= replacements {
                bail!("target replacement index {} out of range", t.replacement);
            }
            Pack::check_relocs(&t.relocs, None, "target")?;
            self.targets.push([
                t.function,
                t.replacement,
                to_u32(self.relocs.len(), "relocation table")?,
                to_u32(t.relocs.len(), "relocation table")?,
                0,
                0,
            ]);
            self.relocs.extend(t.relocs.iter());
        }
        Ok(())
    }

    /// Checks the fixups against the `nobj` objects and the `replacements` registered
    /// replacements and adds them, their relocations last.
    fn add_fixups(&mut self, fixups: &'a [Fixup], nobj: usize, replacements: usize) -> Result<()> {
        for x in fixups {
            if x.replacement as usize >= replacements {
                bail!("fixup replacement index {} out of range", x.replacement);
            }
            if x.object as usize >= nobj {
                bail!("fixup object index {} out of range", x.object);
            }
            Pack::check_relocs(&x.relocs, None, "fixup")?;
            self.fixups.push([
                x.replacement,
                to_u32(self.relocs.len(), "relocation table")?,
                to_u32(x.relocs.len(), "relocation table")?,
                x.object,
            ]);
            self.relocs.extend(x.relocs.iter());
        }
        Ok(())
    }

    /// Adds the symbols of the relocations to the string table, after every other string.
    fn add_reloc_symbols(&mut self) -> Result<()> {
        self.reloc_syms = self
            .relocs
            .iter()
            .map(|r| self.strings.add(&r.symbol))
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// Writes the areas after the header, in the documented order, and records each in the
    /// header.
    fn write_areas(&self, b: &mut Vec<u8>) -> Result<()> {
        let strings = &self.strings.bytes;
        put_area(b, hdr::STRINGS, strings.len(), |b| {
            b.extend_from_slice(strings)
        })?;
        put_area(b, hdr::CODE, self.code.len(), |b| {
            b.extend_from_slice(&self.code)
        })?;
        put_area(b, hdr::OBJECTS, self.objects.len(), |b| {
            push_rows(b, &self.objects)
        })?;
        put_area(b, hdr::FUNCTIONS, self.functions.len(), |b| {
            push_rows(b, &self.functions)
        })?;
        put_area(b, hdr::RELOCS, self.relocs.len(), |b| {
            for (r, &sym) in self.relocs.iter().zip(&self.reloc_syms) {
                let flags = if r.local { RELOC_LOCAL } else { 0 };
                push_rows(b, &[[r.offset, r.rtype, sym, flags]]);
                b.extend_from_slice(&r.addend.to_le_bytes());
            }
        })?;
        put_area(b, hdr::TARGETS, self.targets.len(), |b| {
            push_rows(b, &self.targets)
        })?;
        put_area(b, hdr::FIXUPS, self.fixups.len(), |b| {
            push_rows(b, &self.fixups)
        })?;
        Ok(())
    }
}

impl Pack {
    /// Number of pre functions across all objects.
    pub fn function_count(&self) -> usize {
        self.objects.iter().map(|o| o.functions.len()).sum()
    }

    fn check_relocs(relocs: &[Reloc], code_len: Option<usize>, what: &str) -> Result<()> {
        for r in relocs {
            let width = if rtype::is_site(r.rtype) {
                if code_len.is_none() {
                    bail!("{what}: run-time site type {:#x} outside pre code", r.rtype);
                }
                match usize::try_from(r.addend) {
                    Ok(w) if w > 0 => w,
                    _ => bail!(
                        "{what}: run-time site at {:#x} has length {}",
                        r.offset,
                        r.addend
                    ),
                }
            } else {
                match rtype::width(r.rtype) {
                    Some(w) => w,
                    None => bail!("{what}: relocation type {} is not allowed", r.rtype),
                }
            };
            if let Some(len) = code_len {
                if r.offset as usize + width > len {
                    bail!(
                        "{what}: relocation at {:#x} (+{width}) lies outside the code ({len} bytes)",
                        r.offset
                    );
                }
            }
        }
        Ok(())
    }

    /// Lays the pack out as a format v2 blob. `replacements` is the number of entries of the
    /// registered table.
    ///
    /// It runs in three steps: `tables` checks the pack and collects its tables, `header`
    /// writes the fixed header and `Tables::write_areas` lays out the areas after it; the total
    /// size, known last, completes the header.
    pub fn to_bytes(&self, replacements: usize) -> Result<Vec<u8>> {
        let tables = self.tables(replacements)?;
        let mut b = self.header(&tables);
        tables.write_areas(&mut b)?;
        let total = to_u32(b.len(), "blob")?;
        put32(&mut b, hdr::TOTAL_SIZE, total);
        Ok(b)
    }

    /// Checks the pack and collects its tables. The string table takes the header's strings
    /// first, then the names of the objects and functions, then the relocation symbols, so the
    /// blob is the same for the same pack.
    fn tables(&self, replacements: usize) -> Result<Tables<'_>> {
        if self.build_id.len() > BUILD_ID_MAX {
            bail!(
                "build-id is {} bytes, at most {BUILD_ID_MAX}",
                self.build_id.len()
            );
        }
        if self.flags & !FLAGS_KNOWN != 0 {
            bail!("unknown pack flags {:#x}", self.flags);
        }
        let nfunc = self.function_count();
        let mut strings = Strings::new();
        let name = strings.add(&self.name)?;
        let description = strings.add(&self.description)?;
        let release = strings.add(&self.kernel_release)?;
        if let Some(f) = self.fixes.iter().find(|f| f.is_empty() || f.contains('\n')) {
            bail!("fix subject {f:?} is empty or has a line break: one line each");
        }
        let fixes = strings.add(&self.fixes.join("\n"))?;
        let fixed_in = strings.add(&self.fixed_in)?;
        let mut t = Tables {
            strings,
            name,
            description,
            release,
            fixes,
            fixed_in,
            code: Vec::new(),
            objects: Vec::with_capacity(self.objects.len()),
            functions: Vec::with_capacity(nfunc),
            relocs: Vec::new(),
            reloc_syms: Vec::new(),
            targets: Vec::with_capacity(self.targets.len()),
            fixups: Vec::with_capacity(self.fixups.len()),
        };
        t.add_objects(&self.objects)?;
        t.add_targets(&self.targets, nfunc, replacements)?;
        t.add_fixups(&self.fixups, self.objects.len(), replacements)?;
        t.add_reloc_symbols()?;
        Ok(t)
    }

    /// Writes the fixed header, all but the areas and the total size, which
    /// [`Tables::write_areas`] and [`Pack::to_bytes`] fill in.
    fn header(&self, t: &Tables) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_SIZE];
        b[hdr::MAGIC..hdr::MAGIC + 8].copy_from_slice(&MAGIC);
        put32(&mut b, hdr::VERSION, VERSION);
        put32(&mut b, hdr::HEADER_SIZE, HEADER_SIZE as u32);
        put32(&mut b, hdr::FLAGS, self.flags);
        put32(&mut b, hdr::NAME, t.name);
        put32(&mut b, hdr::DESCRIPTION, t.description);
        put32(&mut b, hdr::RELEASE, t.release);
        put32(&mut b, hdr::FIXES, t.fixes);
        put32(&mut b, hdr::FIXED_IN, t.fixed_in);
        put32(&mut b, hdr::BUILD_ID_LEN, self.build_id.len() as u32);
        b[hdr::BUILD_ID..hdr::BUILD_ID + self.build_id.len()].copy_from_slice(&self.build_id);
        b
    }
}

/// A reader of format v2 that applies the checks of `kernel/splice/pack.rs` (with the fixup
/// table at header offset 120 and the run-time site types, as documented), independent of the
/// writer above. Used by tests and by `splice-create` as a self-check of what it wrote.
pub mod reader {
    use super::*;

    fn u32_at(b: &[u8], off: usize) -> Result<u32> {
        match b.get(off..off.saturating_add(4)) {
            Some(s) => Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
            None => bail!("truncated at {off}"),
        }
    }

    fn u64_at(b: &[u8], off: usize) -> Result<u64> {
        let lo = u64::from(u32_at(b, off)?);
        let hi = u64::from(u32_at(b, off + 4)?);
        Ok(lo | hi << 32)
    }

    /// Where an area lies: its offset, and its count of entries (of bytes for the strings and
    /// the code).
    #[derive(Clone, Copy)]
    struct Span {
        off: usize,
        count: usize,
    }

    fn span(b: &[u8], at: usize, size: usize, total: usize, what: &str) -> Result<Span> {
        let off = u32_at(b, at)? as usize;
        let count = u32_at(b, at + 4)? as usize;
        let len = match count.checked_mul(size) {
            Some(l) => l,
            None => bail!("{what} out of bounds"),
        };
        let end = match off.checked_add(len) {
            Some(e) => e,
            None => bail!("{what} out of bounds"),
        };
        if len > 0 && (off < HEADER_SIZE || end > total) {
            bail!("{what} out of bounds");
        }
        Ok(Span { off, count })
    }

    /// A parsed, checked blob.
    pub struct Parsed {
        pub pack: Pack,
    }

    /// Parses and checks `blob` as the kernel does; `replacements` is the registered count.
    ///
    /// It runs in steps: `header` checks the fixed header, `View::new` finds the string table
    /// and the other areas, then the header's strings, the objects, the functions, the
    /// targets and the fixups are read and checked in that order.
    pub fn parse(blob: &[u8], replacements: usize) -> Result<Parsed> {
        let (total, flags, bid_len) = header(blob)?;
        let view = View::new(blob, total)?;
        let mut pack = Pack {
            name: view.string(u32_at(blob, hdr::NAME)?)?,
            description: view.string(u32_at(blob, hdr::DESCRIPTION)?)?,
            kernel_release: view.string(u32_at(blob, hdr::RELEASE)?)?,
            fixes: view
                .string(u32_at(blob, hdr::FIXES)?)?
                .lines()
                .map(str::to_owned)
                .collect(),
            fixed_in: view.string(u32_at(blob, hdr::FIXED_IN)?)?,
            build_id: blob[hdr::BUILD_ID..hdr::BUILD_ID + bid_len].to_vec(),
            flags,
            ..Pack::default()
        };
        let objects = view.objects()?;
        let functions = view.functions()?;
        pack.objects = objects
            .into_iter()
            .map(|(mut o, (first, count))| {
                o.functions = functions[first..first + count].to_vec();
                o
            })
            .collect();
        pack.targets = view.targets(replacements)?;
        pack.fixups = view.fixups(replacements)?;
        Ok(Parsed { pack })
    }

    /// Checks the fixed header: magic, version, sizes, flags and build-id length. Returns the
    /// total size, the flags and the length of the build-id.
    fn header(blob: &[u8]) -> Result<(usize, u32, usize)> {
        if blob.len() < HEADER_SIZE {
            bail!("truncated");
        }
        if blob[..8] != MAGIC {
            bail!("bad magic");
        }
        if u32_at(blob, hdr::VERSION)? != VERSION {
            bail!("bad version");
        }
        if u32_at(blob, hdr::HEADER_SIZE)? as usize != HEADER_SIZE {
            bail!("bad header field header_size");
        }
        let total = u32_at(blob, hdr::TOTAL_SIZE)? as usize;
        if total < HEADER_SIZE {
            bail!("bad header field total_size");
        }
        if total > blob.len() {
            bail!("truncated");
        }
        let flags = u32_at(blob, hdr::FLAGS)?;
        if flags & !FLAGS_KNOWN != 0 {
            bail!("bad header field flags");
        }
        let bid_len = u32_at(blob, hdr::BUILD_ID_LEN)? as usize;
        if bid_len > BUILD_ID_MAX {
            bail!("bad header field build_id_len");
        }
        Ok((total, flags, bid_len))
    }

    /// Checks that entries `first .. first + count` lie within a table of `n`.
    fn check_range(first: u32, count: u32, n: usize, what: &str) -> Result<()> {
        match (first as usize).checked_add(count as usize) {
            Some(end) if end <= n => Ok(()),
            _ => bail!("bad {what} index"),
        }
    }

    /// A blob whose header is checked: its string table, and where each of the other areas
    /// lies within it.
    struct View<'a> {
        blob: &'a [u8],
        strings: &'a [u8],
        code: Span,
        objects: Span,
        functions: Span,
        relocs: Span,
        targets: Span,
        fixups: Span,
    }

    impl<'a> View<'a> {
        /// Finds the areas of `blob`, whose header says it is `total` bytes long. The string
        /// table must start and end with a NUL, so that every string in it ends.
        fn new(blob: &'a [u8], total: usize) -> Result<Self> {
            let Span {
                off: soff,
                count: slen,
            } = span(blob, hdr::STRINGS, 1, total, "string table")?;
            if slen == 0 || blob[soff] != 0 || blob[soff + slen - 1] != 0 {
                bail!("bad string reference");
            }
            Ok(Self {
                blob,
                strings: &blob[soff..soff + slen],
                code: span(blob, hdr::CODE, 1, total, "code")?,
                objects: span(blob, hdr::OBJECTS, OBJECT_SIZE, total, "object table")?,
                functions: span(blob, hdr::FUNCTIONS, FUNCTION_SIZE, total, "function table")?,
                relocs: span(blob, hdr::RELOCS, RELOC_SIZE, total, "relocation table")?,
                targets: span(blob, hdr::TARGETS, TARGET_SIZE, total, "target table")?,
                fixups: span(blob, hdr::FIXUPS, FIXUP_SIZE, total, "fixup table")?,
            })
        }

        /// The string at offset `off` of the string table.
        fn string(&self, off: u32) -> Result<String> {
            let off = off as usize;
            if off >= self.strings.len() {
                bail!("bad string reference");
            }
            let s = &self.strings[off..];
            let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
            Ok(String::from_utf8_lossy(&s[..end]).into_owned())
        }

        /// Relocations `first .. first + count`, checked to lie within `code_len` bytes of pre
        /// code; `None` for a target's or fixup's, whose code the reader does not see and
        /// which may not hold run-time sites.
        fn relocs(&self, first: u32, count: u32, code_len: Option<usize>) -> Result<Vec<Reloc>> {
            let Span {
                off: roff,
                count: rcount,
            } = self.relocs;
            check_range(first, count, rcount, "relocation")?;
            let blob = self.blob;
            let mut v = Vec::new();
            for i in first as usize..first as usize + count as usize {
                let at = roff + i * RELOC_SIZE;
                let r = Reloc {
                    offset: u32_at(blob, at)?,
                    rtype: u32_at(blob, at + 4)?,
                    symbol: self.string(u32_at(blob, at + 8)?)?,
                    local: u32_at(blob, at + 12)? & RELOC_LOCAL != 0,
                    addend: u64_at(blob, at + 16)? as i64,
                };
                let width = if rtype::is_site(r.rtype) && code_len.is_some() {
                    if !r.symbol.is_empty() || r.addend <= 0 {
                        bail!("bad relocation");
                    }
                    r.addend as usize
                } else {
                    match rtype::width(r.rtype) {
                        Some(w) => w,
                        None => bail!("bad relocation"),
                    }
                };
                if r.offset as usize + width > code_len.unwrap_or(usize::MAX) {
                    bail!("bad relocation");
                }
                v.push(r);
            }
            Ok(v)
        }

        /// The objects, without their functions, each with the range of the function table
        /// that holds them.
        fn objects(&self) -> Result<Vec<(Object, (usize, usize))>> {
            let Span {
                off: ooff,
                count: ocount,
            } = self.objects;
            let blob = self.blob;
            let mut v = Vec::new();
            for i in 0..ocount {
                let at = ooff + i * OBJECT_SIZE;
                let first = u32_at(blob, at + 8)?;
                let count = u32_at(blob, at + 12)?;
                check_range(first, count, self.functions.count, "object function")?;
                let object = Object {
                    name: self.string(u32_at(blob, at)?)?,
                    module: self.string(u32_at(blob, at + 4)?)?,
                    functions: Vec::new(),
                };
                v.push((object, (first as usize, count as usize)));
            }
            Ok(v)
        }

        /// The functions of the whole function table, with their code and relocations.
        fn functions(&self) -> Result<Vec<Function>> {
            let Span {
                off: foff,
                count: fcount,
            } = self.functions;
            let Span {
                off: coff,
                count: clen,
            } = self.code;
            let blob = self.blob;
            let mut v = Vec::new();
            for i in 0..fcount {
                let at = foff + i * FUNCTION_SIZE;
                let object = u32_at(blob, at + 4)? as usize;
                if object >= self.objects.count {
                    bail!("bad function object index");
                }
                let co = u32_at(blob, at + 8)? as usize;
                let cl = u32_at(blob, at + 12)? as usize;
                if co.checked_add(cl).is_none_or(|e| e > clen) {
                    bail!("function code out of bounds");
                }
                let fflags = u32_at(blob, at + 24)?;
                if fflags & !FUNCTION_LOCAL != 0 {
                    bail!("bad function flags");
                }
                if u32_at(blob, at + 28)? != 0 {
                    bail!("reserved function word not 0");
                }
                v.push(Function {
                    name: self.string(u32_at(blob, at)?)?,
                    local: fflags & FUNCTION_LOCAL != 0,
                    code: blob[coff + co..coff + co + cl].to_vec(),
                    relocs: self.relocs(
                        u32_at(blob, at + 16)?,
                        u32_at(blob, at + 20)?,
                        Some(cl),
                    )?,
                });
            }
            Ok(v)
        }

        /// The targets, checked against the function table and the `replacements` registered
        /// replacements.
        fn targets(&self, replacements: usize) -> Result<Vec<Target>> {
            let Span {
                off: toff,
                count: tcount,
            } = self.targets;
            let blob = self.blob;
            let mut v = Vec::new();
            for i in 0..tcount {
                let at = toff + i * TARGET_SIZE;
                let function = u32_at(blob, at)?;
                let replacement = u32_at(blob, at + 4)?;
                if function as usize >= self.functions.count {
                    bail!("bad target function index");
                }
                if replacement as usize >= replacements {
                    bail!("bad target replacement index");
                }
                if u32_at(blob, at + 16)? != 0 || u32_at(blob, at + 20)? != 0 {
                    bail!("reserved target word not 0");
                }
                v.push(Target {
                    function,
                    replacement,
                    relocs: self.relocs(u32_at(blob, at + 8)?, u32_at(blob, at + 12)?, None)?,
                });
            }
            Ok(v)
        }

        /// The fixups, checked against the object table and the `replacements` registered
        /// replacements.
        fn fixups(&self, replacements: usize) -> Result<Vec<Fixup>> {
            let Span {
                off: xoff,
                count: xcount,
            } = self.fixups;
            let blob = self.blob;
            let mut v = Vec::new();
            for i in 0..xcount {
                let at = xoff + i * FIXUP_SIZE;
                let replacement = u32_at(blob, at)?;
                if replacement as usize >= replacements {
                    bail!("bad fixup replacement index");
                }
                let object = u32_at(blob, at + 12)?;
                if object as usize >= self.objects.count {
                    bail!("bad fixup object index");
                }
                v.push(Fixup {
                    replacement,
                    object,
                    relocs: self.relocs(u32_at(blob, at + 4)?, u32_at(blob, at + 8)?, None)?,
                });
            }
            Ok(v)
        }
    }
}

/// The section `splice_hook()` puts hook entries in, and the size of an entry
/// (`struct splice_hook`).
pub const HOOKS_SECTION: &str = ".splice.hooks";

pub const HOOK_SIZE: u64 = 16;

/// The symbol of `repl.o` at the start of the carried hook table.
pub const HOOKS_SYMBOL: &str = "__splice_hooks";

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pack {
        Pack {
            name: "fix-version".into(),
            description: "a test pack".into(),
            fixes: vec![
                "proc: fix the version string".into(),
                "proc: and its length".into(),
            ],
            fixed_in: "7.2.13".into(),
            kernel_release: "7.2.12".into(),
            build_id: (0..20).collect(),
            flags: 0,
            objects: vec![Object {
                name: "fs/proc/version.o".into(),
                module: String::new(),
                functions: vec![
                    Function {
                        name: "version_proc_show".into(),
                        local: false,
                        code: vec![0xf3, 0x0f, 0x1e, 0xfa, 0xe8, 0, 0, 0, 0, 0xc3],
                        relocs: vec![
                            Reloc::site(0, rtype::SITE_ENDBR, 4),
                            Reloc::site(4, rtype::SITE_FTRACE, 5),
                            Reloc {
                                offset: 5,
                                rtype: rtype::R_X86_64_PLT32,
                                symbol: "__fentry__".into(),
                                local: false,
                                addend: -4,
                            },
                        ],
                    },
                    Function {
                        name: "helper".into(),
                        local: true,
                        code: vec![0x90; 7],
                        relocs: vec![],
                    },
                ],
            }],
            targets: vec![Target {
                function: 0,
                replacement: 0,
                relocs: vec![Reloc {
                    offset: 16,
                    rtype: rtype::R_X86_64_PC32,
                    symbol: "counter".into(),
                    local: true,
                    addend: -4,
                }],
            }],
            fixups: vec![Fixup {
                replacement: 1,
                object: 0,
                relocs: vec![Reloc {
                    offset: 0,
                    rtype: rtype::R_X86_64_64,
                    symbol: "helper".into(),
                    local: true,
                    addend: 0,
                }],
            }],
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let b = p.to_bytes(2).unwrap();
        assert_eq!(&b[..8], b"SPLCPACK");
        assert_eq!(
            b.len(),
            u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize
        );
        let r = reader::parse(&b, 2).unwrap().pack;
        assert_eq!(r.name, "fix-version");
        assert_eq!(r.description, "a test pack");
        assert_eq!(r.fixes, p.fixes);
        assert_eq!(r.fixed_in, "7.2.13");
        assert_eq!(r.kernel_release, "7.2.12");
        assert_eq!(r.build_id, p.build_id);
        assert_eq!(r.objects.len(), 1);
        assert_eq!(r.objects[0].name, "fs/proc/version.o");
        assert_eq!(r.objects[0].module, "");
        assert_eq!(r.objects[0].functions.len(), 2);
        for (a, b) in r.objects[0].functions.iter().zip(&p.objects[0].functions) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.local, b.local);
            assert_eq!(a.code, b.code);
            assert_eq!(a.relocs, b.relocs);
        }
        assert_eq!(r.targets.len(), 1);
        assert_eq!(r.targets[0].relocs, p.targets[0].relocs);
        assert_eq!(r.fixups.len(), 1);
        assert_eq!(r.fixups[0].replacement, 1);
        assert_eq!(r.fixups[0].object, 0);
        assert_eq!(r.fixups[0].relocs, p.fixups[0].relocs);
        // Too few registered replacements: refused by the reader and by the writer.
        assert!(reader::parse(&b, 1).is_err());
        assert!(p.to_bytes(1).is_err());
    }

    #[test]
    fn layout_is_as_documented() {
        let b = sample().to_bytes(2).unwrap();
        let at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        assert_eq!(at(hdr::VERSION), 2);
        assert_eq!(at(hdr::HEADER_SIZE), 136);
        // The fixes, one line each, and the version they come from, in the string table.
        let string = |o: usize| {
            let s = &b[at(hdr::STRINGS) + at(o)..];
            String::from_utf8(s[..s.iter().position(|&c| c == 0).unwrap()].to_vec()).unwrap()
        };
        assert_eq!(
            string(hdr::FIXES),
            "proc: fix the version string\nproc: and its length"
        );
        assert_eq!(string(hdr::FIXED_IN), "7.2.13");
        let strings = at(hdr::STRINGS);
        assert_eq!(strings, HEADER_SIZE);
        assert_eq!(b[strings], 0);
        assert_eq!(b[strings + at(hdr::STRINGS + 4) - 1], 0);
        assert_eq!(at(hdr::FUNCTIONS + 4), 2);
        assert_eq!(at(hdr::RELOCS + 4), 5);
        assert_eq!(at(hdr::TARGETS + 4), 1);
        assert_eq!(at(hdr::FIXUPS + 4), 1);
        for t in [
            hdr::OBJECTS,
            hdr::FUNCTIONS,
            hdr::RELOCS,
            hdr::TARGETS,
            hdr::FIXUPS,
        ] {
            assert_eq!(at(t) % 8, 0);
            assert!(at(t) >= HEADER_SIZE);
        }
        // Target relocs follow the function relocs; fixup relocs follow them.
        let t = at(hdr::TARGETS);
        assert_eq!((at(t + 8), at(t + 12)), (3, 1));
        let x = at(hdr::FIXUPS);
        assert_eq!((at(x + 4), at(x + 8), at(x + 12)), (4, 1, 0));
        // Function flags at +24 (bit 0: local), reserved word at +28.
        let f = at(hdr::FUNCTIONS);
        assert_eq!((at(f + 24), at(f + 28)), (0, 0));
        let f = f + FUNCTION_SIZE;
        assert_eq!((at(f + 24), at(f + 28)), (FUNCTION_LOCAL as usize, 0));
    }

    #[test]
    fn bad_function_flags_and_fixup_object_are_refused_by_the_reader() {
        let b = sample().to_bytes(2).unwrap();
        let at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
        let f = at(hdr::FUNCTIONS);
        let x = at(hdr::FIXUPS);
        for (off, v) in [(f + 24, 2u32), (f + 28, 1), (x + 12, 1)] {
            let mut c = b.clone();
            c[off..off + 4].copy_from_slice(&v.to_le_bytes());
            assert!(reader::parse(&c, 2).is_err(), "{off} = {v}");
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_checked() {
        let b = sample().to_bytes(2).unwrap();
        for len in 0..b.len() {
            assert!(reader::parse(&b[..len], 2).is_err(), "len {len}");
        }
        let mut c = b.clone();
        for i in 0..c.len() {
            for v in [0x00u8, 0x7f, 0xff] {
                c[i] = v;
                let _ = reader::parse(&c, 2);
            }
            c[i] = b[i];
        }
    }

    #[test]
    fn bad_inputs_are_refused_by_the_writer() {
        let mut p = sample();
        p.objects[0].functions[0].relocs[2].offset = 8;
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.objects[0].functions[0].relocs[2].rtype = 9;
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.name = "a\0b".into();
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.build_id = vec![0; 33];
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.targets[0]
            .relocs
            .push(Reloc::site(0, rtype::SITE_ENDBR, 4));
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.fixups[0].object = 1;
        assert!(p.to_bytes(2).is_err());
        // A subject is one line: the kernel lists them a line each.
        let mut p = sample();
        p.fixes.push("two\nlines".into());
        assert!(p.to_bytes(2).is_err());
        let mut p = sample();
        p.fixes.push(String::new());
        assert!(p.to_bytes(2).is_err());
    }
}
