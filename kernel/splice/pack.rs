// SPDX-License-Identifier: GPL-2.0

//! The metadata table of a splice pack, format versions 1 and 2.
//!
//! A pack module hands the core one read-only byte blob that describes the pack: its identity,
//! the pre-patch code of every function of each changed object (for run-pre matching), the
//! relocations in that code, and the targets (pre function to replace, replacement function of
//! the pack). All integers are little-endian. The layout is documented in
//! `Documentation/splice/pack-format.rst`; `tools/splice` writes it.
//!
//! [`Pack::parse`] checks every offset, count, index and string of the blob before anything
//! looks at it, so the accessors cannot go out of bounds: a malformed blob is a
//! [`PackError`], which the core reports as `bad_pack`, never a crash.

use kernel::prelude::*;

/// The first eight bytes of every blob.
pub(crate) const MAGIC: [u8; 8] = *b"SPLCPACK";
/// The newest format version this core reads (it reads version 1 too).
pub(crate) const VERSION: u32 = 2;
/// Size of the fixed header of version 1.
pub(crate) const HEADER_SIZE_V1: usize = 128;
/// Size of the fixed header of version 2: version 1's, then the fixes the pack carries.
pub(crate) const HEADER_SIZE: usize = 136;

/// The size of the header of format `version`, if this core reads it.
fn header_size_of(version: u32) -> Option<usize> {
    match version {
        1 => Some(HEADER_SIZE_V1),
        2 => Some(HEADER_SIZE),
        _ => None,
    }
}
/// Longest build-id a header can hold.
pub(crate) const BUILD_ID_MAX: usize = 32;

/// Sizes of the table entries.
pub(crate) const OBJECT_SIZE: usize = 16;
pub(crate) const FUNCTION_SIZE: usize = 32;
pub(crate) const RELOC_SIZE: usize = 24;
pub(crate) const TARGET_SIZE: usize = 24;
pub(crate) const FIXUP_SIZE: usize = 16;

/// Header offsets.
mod hdr {
    pub(super) const VERSION: usize = 8;
    pub(super) const HEADER_SIZE: usize = 12;
    pub(super) const TOTAL_SIZE: usize = 16;
    pub(super) const FLAGS: usize = 20;
    pub(super) const NAME: usize = 24;
    pub(super) const DESCRIPTION: usize = 28;
    pub(super) const RELEASE: usize = 32;
    pub(super) const BUILD_ID_LEN: usize = 36;
    pub(super) const BUILD_ID: usize = 40;
    pub(super) const STRINGS: usize = 72;
    pub(super) const CODE: usize = 80;
    pub(super) const OBJECTS: usize = 88;
    pub(super) const FUNCTIONS: usize = 96;
    pub(super) const RELOCS: usize = 104;
    pub(super) const TARGETS: usize = 112;
    pub(super) const FIXUPS: usize = 120;
    /// Version 2.
    pub(super) const FIXES: usize = 128;
    pub(super) const FIXED_IN: usize = 132;
}

/// Why a blob is not a valid pack. Every variant is reported as the abort cause `bad_pack`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PackError {
    /// The blob is shorter than its header or than the size the header states.
    Truncated,
    /// The blob does not start with [`MAGIC`].
    BadMagic,
    /// The blob has a format version this core does not read.
    BadVersion(u32),
    /// A header field is out of its range (named).
    BadHeader(&'static str),
    /// A region of the blob (named) lies outside it.
    OutOfBounds(&'static str),
    /// A string reference does not point into the string table.
    BadString,
    /// An index (named) refers past the end of its table.
    BadIndex(&'static str),
    /// A relocation has an unknown type or lies outside its code.
    BadReloc,
}

impl core::fmt::Display for PackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated"),
            Self::BadMagic => f.write_str("bad magic"),
            Self::BadVersion(v) => {
                write!(f, "format version {v}, this kernel reads 1 to {VERSION}")
            }
            Self::BadHeader(what) => write!(f, "bad header field {what}"),
            Self::OutOfBounds(what) => write!(f, "{what} out of bounds"),
            Self::BadString => f.write_str("bad string reference"),
            Self::BadIndex(what) => write!(f, "bad {what} index"),
            Self::BadReloc => f.write_str("bad relocation"),
        }
    }
}

/// For the kernel's log (`pr_err!("{e}")`).
impl kernel::fmt::Display for PackError {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

type PResult<T> = core::result::Result<T, PackError>;

/// The `N` bytes of `b` at `off`.
fn bytes_at<const N: usize>(b: &[u8], off: usize) -> PResult<[u8; N]> {
    let end = off.checked_add(N).ok_or(PackError::Truncated)?;
    let mut a = [0u8; N];
    a.copy_from_slice(b.get(off..end).ok_or(PackError::Truncated)?);
    Ok(a)
}

fn u32_at(b: &[u8], off: usize) -> PResult<u32> {
    Ok(u32::from_le_bytes(bytes_at(b, off)?))
}

fn u64_at(b: &[u8], off: usize) -> PResult<u64> {
    Ok(u64::from_le_bytes(bytes_at(b, off)?))
}

fn usize_at(b: &[u8], off: usize) -> PResult<usize> {
    usize::try_from(u32_at(b, off)?).map_err(|_| PackError::Truncated)
}

/// A checked `start..start + len` of the blob.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// `len` bytes at `start`, inside `area` (after the header, before the end of the blob).
    fn new(start: usize, len: usize, area: (usize, usize), what: &'static str) -> PResult<Self> {
        let end = start.checked_add(len).ok_or(PackError::OutOfBounds(what))?;
        if len > 0 && (start < area.0 || end > area.1) {
            return Err(PackError::OutOfBounds(what));
        }
        Ok(Self { start, len })
    }

    fn sub(&self, off: usize, len: usize, what: &'static str) -> PResult<Self> {
        let end = off.checked_add(len).ok_or(PackError::OutOfBounds(what))?;
        if end > self.len {
            return Err(PackError::OutOfBounds(what));
        }
        Ok(Self {
            start: self.start + off,
            len,
        })
    }
}

/// A checked table: `count` entries of `size` bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Table {
    span: Span,
    count: usize,
    size: usize,
}

impl Table {
    fn new(
        b: &[u8],
        at: usize,
        size: usize,
        area: (usize, usize),
        what: &'static str,
    ) -> PResult<Self> {
        let off = usize_at(b, at)?;
        let count = usize_at(b, at + 4)?;
        let len = count
            .checked_mul(size)
            .ok_or(PackError::OutOfBounds(what))?;
        Ok(Self {
            span: Span::new(off, len, area, what)?,
            count,
            size,
        })
    }

    /// Offset of entry `i`; `i` must be below `count`.
    fn entry(&self, i: usize) -> usize {
        self.span.start + i * self.size
    }

    /// Checks that `first..first + count` is a range of entries.
    fn range(&self, first: usize, count: usize, what: &'static str) -> PResult<()> {
        match first.checked_add(count) {
            Some(end) if end <= self.count => Ok(()),
            _ => Err(PackError::BadIndex(what)),
        }
    }
}

/// Relocation types of x86-64 ELF that packs may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelocType {
    /// `R_X86_64_64`: S + A, 8 bytes.
    Abs64,
    /// `R_X86_64_PC32`: S + A - P, 4 bytes.
    Pc32,
    /// `R_X86_64_32`: S + A, 4 bytes, zero-extended.
    Abs32,
    /// `R_X86_64_32S`: S + A, 4 bytes, sign-extended.
    Abs32S,
    /// `R_X86_64_PLT32`: as `Pc32` for the kernel.
    Plt32,
    /// A site the kernel rewrites at run time (not an ELF type); its length is the addend.
    Site(SiteKind),
}

/// Code the kernel rewrites after linking: the forms the matcher accepts at such a site are
/// listed in `Documentation/splice/pack-format.rst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SiteKind {
    Ftrace,
    Alternative,
    JumpLabel,
    StaticCall,
    Retpoline,
    ReturnThunk,
    Endbr,
    LockPrefix,
    RuntimeConst,
}

impl SiteKind {
    const ALL: [SiteKind; 9] = [
        Self::Ftrace,
        Self::Alternative,
        Self::JumpLabel,
        Self::StaticCall,
        Self::Retpoline,
        Self::ReturnThunk,
        Self::Endbr,
        Self::LockPrefix,
        Self::RuntimeConst,
    ];

    /// Whether the kernel may rewrite such a site after its code was loaded (ftrace when
    /// tracing starts or stops, jump labels and static calls when they are switched); the
    /// others are rewritten once, at boot or module load.
    pub(crate) fn rewritten_after_load(self) -> bool {
        matches!(self, Self::Ftrace | Self::JumpLabel | Self::StaticCall)
    }

    /// The type number in the relocation table.
    pub(crate) fn number(self) -> u32 {
        0x101 + self as u32
    }
}

impl RelocType {
    fn from_elf(t: u32) -> PResult<Self> {
        Ok(match t {
            1 => Self::Abs64,
            2 => Self::Pc32,
            4 => Self::Plt32,
            10 => Self::Abs32,
            11 => Self::Abs32S,
            _ => {
                return SiteKind::ALL
                    .into_iter()
                    .find(|k| k.number() == t)
                    .map(Self::Site)
                    .ok_or(PackError::BadReloc)
            }
        })
    }

    /// The ELF number of the type.
    #[cfg(CONFIG_SPLICE_KUNIT_TEST)]
    pub(crate) fn to_elf(self) -> u32 {
        match self {
            Self::Abs64 => 1,
            Self::Pc32 => 2,
            Self::Plt32 => 4,
            Self::Abs32 => 10,
            Self::Abs32S => 11,
            Self::Site(k) => k.number(),
        }
    }

    /// How many bytes an ELF relocation covers (a site: see [`Reloc::width`]).
    pub(crate) fn width(self) -> usize {
        match self {
            Self::Abs64 => 8,
            _ => 4,
        }
    }

    /// Whether this is a run-time site rather than an ELF relocation.
    pub(crate) fn is_site(self) -> bool {
        matches!(self, Self::Site(_))
    }

    /// Whether the value is relative to the place (`P`).
    pub(crate) fn is_pc_relative(self) -> bool {
        matches!(self, Self::Pc32 | Self::Plt32)
    }
}

/// A relocation in pre code or in a replacement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reloc<'a> {
    /// Offset of the place from the start of its function.
    pub(crate) offset: usize,
    pub(crate) kind: RelocType,
    /// The symbol the place refers to.
    pub(crate) symbol: &'a CStr,
    /// Whether the symbol is local to the object (static), so names alone cannot find it.
    pub(crate) local: bool,
    pub(crate) addend: i64,
}

impl Reloc<'_> {
    /// How many bytes the relocation or site covers.
    pub(crate) fn width(&self) -> usize {
        match self.kind {
            RelocType::Site(_) => usize::try_from(self.addend).unwrap_or(usize::MAX),
            k => k.width(),
        }
    }
}

/// A changed object (compilation unit) of the pack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Object<'a> {
    /// Its path in the kernel tree, for example `fs/proc/version.o`.
    pub(crate) name: &'a CStr,
    /// The module the object is built into; empty for vmlinux.
    pub(crate) module: &'a CStr,
    pub(crate) first_function: usize,
    pub(crate) function_count: usize,
}

/// The pre-patch code of one function of a changed object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Function<'a> {
    pub(crate) name: &'a CStr,
    /// Whether the function is local (static) to its object.
    pub(crate) local: bool,
    pub(crate) object: usize,
    pub(crate) code: &'a [u8],
    pub(crate) first_reloc: usize,
    pub(crate) reloc_count: usize,
}

/// A function to replace, and its replacement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    /// The pre function (index into the function table) whose live copy is replaced.
    pub(crate) function: usize,
    /// Index into the replacement table the pack module passes at registration.
    pub(crate) replacement: usize,
    /// Relocations in the replacement that the core resolves at apply time.
    pub(crate) first_reloc: usize,
    pub(crate) reloc_count: usize,
}

/// Relocations in other carried code or data of the pack module.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fixup {
    /// Index into the replacement table.
    pub(crate) replacement: usize,
    pub(crate) first_reloc: usize,
    pub(crate) reloc_count: usize,
    /// The object whose local symbols the relocations name.
    pub(crate) object: usize,
}

/// A validated pack blob.
///
/// # Invariants
///
/// Every span and table lies inside `blob`; every index stored in an entry is below the count
/// of its table; every relocation lies inside its function's code; every string reference
/// points into `strings`, which ends with a NUL byte.
#[derive(Clone, Copy)]
pub(crate) struct Pack<'a> {
    blob: &'a [u8],
    /// The size of the header, by the format version.
    header: usize,
    strings: Span,
    code: Span,
    objects: Table,
    functions: Table,
    relocs: Table,
    targets: Table,
    fixups: Table,
}

impl<'a> Pack<'a> {
    /// Checks `blob` and returns a view of it. `replacements` is how many replacement
    /// functions the pack module provides.
    pub(crate) fn parse(blob: &'a [u8], replacements: usize) -> PResult<Self> {
        if blob.len() < HEADER_SIZE_V1 {
            return Err(PackError::Truncated);
        }
        if blob.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(PackError::BadMagic);
        }
        let version = u32_at(blob, hdr::VERSION)?;
        let header = header_size_of(version).ok_or(PackError::BadVersion(version))?;
        if blob.len() < header {
            return Err(PackError::Truncated);
        }
        if usize_at(blob, hdr::HEADER_SIZE)? != header {
            return Err(PackError::BadHeader("header_size"));
        }
        let total = usize_at(blob, hdr::TOTAL_SIZE)?;
        if total < header {
            return Err(PackError::BadHeader("total_size"));
        }
        if total > blob.len() {
            return Err(PackError::Truncated);
        }
        if u32_at(blob, hdr::FLAGS)? & !FLAGS_KNOWN != 0 {
            return Err(PackError::BadHeader("flags"));
        }
        if usize_at(blob, hdr::BUILD_ID_LEN)? > BUILD_ID_MAX {
            return Err(PackError::BadHeader("build_id_len"));
        }
        let strings = Span::new(
            usize_at(blob, hdr::STRINGS)?,
            usize_at(blob, hdr::STRINGS + 4)?,
            (header, total),
            "string table",
        )?;
        // The table starts with the empty string and ends with a NUL, so every offset into it
        // starts a NUL-terminated string.
        if strings.len == 0
            || blob.get(strings.start) != Some(&0)
            || blob.get(strings.start + strings.len - 1) != Some(&0)
        {
            return Err(PackError::BadString);
        }
        let code = Span::new(
            usize_at(blob, hdr::CODE)?,
            usize_at(blob, hdr::CODE + 4)?,
            (header, total),
            "code",
        )?;
        let area = (header, total);
        let pack = Self {
            blob: &blob[..total],
            header,
            strings,
            code,
            objects: Table::new(blob, hdr::OBJECTS, OBJECT_SIZE, area, "object table")?,
            functions: Table::new(blob, hdr::FUNCTIONS, FUNCTION_SIZE, area, "function table")?,
            relocs: Table::new(blob, hdr::RELOCS, RELOC_SIZE, area, "relocation table")?,
            targets: Table::new(blob, hdr::TARGETS, TARGET_SIZE, area, "target table")?,
            fixups: Table::new(blob, hdr::FIXUPS, FIXUP_SIZE, area, "fixup table")?,
        };
        pack.check_strings()?;
        for i in 0..pack.objects.count {
            let o = pack.raw_object(i)?;
            pack.functions
                .range(o.first_function, o.function_count, "object function")?;
        }
        for i in 0..pack.functions.count {
            let f = pack.raw_function(i)?;
            if f.object >= pack.objects.count {
                return Err(PackError::BadIndex("function object"));
            }
            pack.check_relocs(f.first_reloc, f.reloc_count, f.code.len())?;
        }
        for i in 0..pack.targets.count {
            let t = pack.raw_target(i)?;
            if t.function >= pack.functions.count {
                return Err(PackError::BadIndex("target function"));
            }
            if t.replacement >= replacements {
                return Err(PackError::BadIndex("target replacement"));
            }
            // Replacement sizes are known only to the module; the core checks those places
            // against the module's text when it resolves them.
            pack.check_relocs(t.first_reloc, t.reloc_count, usize::MAX)?;
        }
        for i in 0..pack.fixups.count {
            let f = pack.raw_fixup(i)?;
            if f.replacement >= replacements {
                return Err(PackError::BadIndex("fixup replacement"));
            }
            if f.object >= pack.objects.count {
                return Err(PackError::BadIndex("fixup object"));
            }
            pack.check_relocs(f.first_reloc, f.reloc_count, usize::MAX)?;
        }
        // INVARIANT: All spans, tables, indices, relocations and strings were checked above.
        Ok(pack)
    }

    fn check_strings(&self) -> PResult<()> {
        for at in [hdr::NAME, hdr::DESCRIPTION, hdr::RELEASE] {
            self.string(u32_at(self.blob, at)?)?;
        }
        if self.header >= HEADER_SIZE {
            for at in [hdr::FIXES, hdr::FIXED_IN] {
                self.string(u32_at(self.blob, at)?)?;
            }
        }
        Ok(())
    }

    /// The string of header field `at` of version 2, empty in a version 1 pack.
    fn v2_string(&self, at: usize) -> &'a CStr {
        if self.header < HEADER_SIZE {
            return c"";
        }
        self.string(u32_at(self.blob, at).unwrap_or(0))
            .unwrap_or(c"")
    }

    /// Whether the pack patches its target modules when they load ([`FLAG_ON_LOAD`]).
    pub(crate) fn patches_on_load(&self) -> bool {
        u32_at(self.blob, hdr::FLAGS).is_ok_and(|f| f & FLAG_ON_LOAD != 0)
    }

    /// Whether the pack replaces every applied pack ([`FLAG_REPLACE`]).
    pub(crate) fn replaces_all(&self) -> bool {
        u32_at(self.blob, hdr::FLAGS).is_ok_and(|f| f & FLAG_REPLACE != 0)
    }

    /// The fixes the pack carries, one subject a line (empty if it does not say).
    pub(crate) fn fixes(&self) -> &'a CStr {
        self.v2_string(hdr::FIXES)
    }

    /// The kernel version whose fixes the pack carries, such as `7.2.13` (empty if it does
    /// not say).
    pub(crate) fn fixed_in(&self) -> &'a CStr {
        self.v2_string(hdr::FIXED_IN)
    }

    fn check_relocs(&self, first: usize, count: usize, code_len: usize) -> PResult<()> {
        self.relocs.range(first, count, "relocation")?;
        for i in first..first + count {
            let r = self.raw_reloc(i)?;
            if r.kind.is_site() && !(1..=255).contains(&r.addend) {
                return Err(PackError::BadReloc);
            }
            let end = r.offset.checked_add(r.width()).ok_or(PackError::BadReloc)?;
            if end > code_len {
                return Err(PackError::BadReloc);
            }
        }
        Ok(())
    }

    /// The NUL-terminated string at offset `off` of the string table.
    fn string(&self, off: u32) -> PResult<&'a CStr> {
        let off = usize::try_from(off).map_err(|_| PackError::BadString)?;
        if off >= self.strings.len {
            return Err(PackError::BadString);
        }
        let bytes = self
            .blob
            .get(self.strings.start + off..self.strings.start + self.strings.len)
            .ok_or(PackError::BadString)?;
        CStr::from_bytes_until_nul(bytes).map_err(|_| PackError::BadString)
    }

    fn raw_object(&self, i: usize) -> PResult<Object<'a>> {
        let at = self.objects.entry(i);
        Ok(Object {
            name: self.string(u32_at(self.blob, at)?)?,
            module: self.string(u32_at(self.blob, at + 4)?)?,
            first_function: usize_at(self.blob, at + 8)?,
            function_count: usize_at(self.blob, at + 12)?,
        })
    }

    fn raw_function(&self, i: usize) -> PResult<Function<'a>> {
        let at = self.functions.entry(i);
        let code = self.code.sub(
            usize_at(self.blob, at + 8)?,
            usize_at(self.blob, at + 12)?,
            "function code",
        )?;
        Ok(Function {
            name: self.string(u32_at(self.blob, at)?)?,
            object: usize_at(self.blob, at + 4)?,
            code: self
                .blob
                .get(code.start..code.start + code.len)
                .ok_or(PackError::OutOfBounds("function code"))?,
            first_reloc: usize_at(self.blob, at + 16)?,
            reloc_count: usize_at(self.blob, at + 20)?,
            local: u32_at(self.blob, at + 24)? & FUNCTION_LOCAL != 0,
        })
    }

    fn raw_reloc(&self, i: usize) -> PResult<Reloc<'a>> {
        let at = self.relocs.entry(i);
        let flags = u32_at(self.blob, at + 12)?;
        Ok(Reloc {
            offset: usize_at(self.blob, at)?,
            kind: RelocType::from_elf(u32_at(self.blob, at + 4)?)?,
            symbol: self.string(u32_at(self.blob, at + 8)?)?,
            local: flags & RELOC_LOCAL != 0,
            addend: u64_at(self.blob, at + 16)? as i64,
        })
    }

    fn raw_fixup(&self, i: usize) -> PResult<Fixup> {
        let at = self.fixups.entry(i);
        Ok(Fixup {
            replacement: usize_at(self.blob, at)?,
            first_reloc: usize_at(self.blob, at + 4)?,
            reloc_count: usize_at(self.blob, at + 8)?,
            object: usize_at(self.blob, at + 12)?,
        })
    }

    fn raw_target(&self, i: usize) -> PResult<Target> {
        let at = self.targets.entry(i);
        Ok(Target {
            function: usize_at(self.blob, at)?,
            replacement: usize_at(self.blob, at + 4)?,
            first_reloc: usize_at(self.blob, at + 8)?,
            reloc_count: usize_at(self.blob, at + 12)?,
        })
    }

    /// The pack's name.
    pub(crate) fn name(&self) -> &'a CStr {
        self.string(u32_at(self.blob, hdr::NAME).unwrap_or(0))
            .unwrap_or(c"")
    }

    /// The pack's one-line description.
    pub(crate) fn description(&self) -> &'a CStr {
        self.string(u32_at(self.blob, hdr::DESCRIPTION).unwrap_or(0))
            .unwrap_or(c"")
    }

    /// The kernel release (`uname -r`) the pack was made for.
    pub(crate) fn kernel_release(&self) -> &'a CStr {
        self.string(u32_at(self.blob, hdr::RELEASE).unwrap_or(0))
            .unwrap_or(c"")
    }

    /// The GNU build-id of the vmlinux the pack was made from.
    pub(crate) fn build_id(&self) -> &'a [u8] {
        let len = usize_at(self.blob, hdr::BUILD_ID_LEN).unwrap_or(0);
        self.blob
            .get(hdr::BUILD_ID..hdr::BUILD_ID + len)
            .unwrap_or(&[])
    }

    /// The changed objects.
    #[cfg(CONFIG_SPLICE_KUNIT_TEST)]
    pub(crate) fn objects(&self) -> impl Iterator<Item = Object<'a>> + '_ {
        (0..self.objects.count).filter_map(move |i| self.raw_object(i).ok())
    }

    /// Object `i`.
    pub(crate) fn object(&self, i: usize) -> Option<Object<'a>> {
        (i < self.objects.count)
            .then(|| self.raw_object(i).ok())
            .flatten()
    }

    /// Pre function `i`.
    pub(crate) fn function(&self, i: usize) -> Option<Function<'a>> {
        self.raw_function(i).ok()
    }

    /// The number of pre functions.
    pub(crate) fn function_count(&self) -> usize {
        self.functions.count
    }

    /// The relocations `first..first + count`.
    pub(crate) fn relocs(
        &self,
        first: usize,
        count: usize,
    ) -> impl Iterator<Item = Reloc<'a>> + '_ {
        (first..first.saturating_add(count)).filter_map(move |i| self.raw_reloc(i).ok())
    }

    /// The targets.
    pub(crate) fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        (0..self.targets.count).filter_map(move |i| self.raw_target(i).ok())
    }

    /// The number of targets.
    pub(crate) fn target_count(&self) -> usize {
        self.targets.count
    }

    /// A function two targets replace, if any (its index): applied, the second jump would
    /// overwrite the first, and no reverse could find either where it wrote it.
    pub(crate) fn twice_targeted(&self) -> Result<Option<usize>> {
        let mut functions = KVec::with_capacity(self.targets.count, GFP_KERNEL)?;
        for t in self.targets() {
            functions.push(t.function, GFP_KERNEL)?;
        }
        functions.sort_unstable();
        Ok(functions.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]))
    }

    /// The fixups.
    pub(crate) fn fixups(&self) -> impl Iterator<Item = Fixup> + '_ {
        (0..self.fixups.count).filter_map(move |i| self.raw_fixup(i).ok())
    }

    /// The name of the function target `i` replaces, or `?` past the targets.
    pub(crate) fn target_name(&self, i: usize) -> &'a CStr {
        self.raw_target(i)
            .ok()
            .filter(|_| i < self.targets.count)
            .and_then(|t| self.function(t.function))
            .map_or(c"?", |f| f.name)
    }

    /// The same checked layout over `blob`. Only for the blob it was checked on ([`Held`]).
    fn over<'b>(&self, blob: &'b [u8]) -> Pack<'b> {
        Pack {
            blob,
            header: self.header,
            strings: self.strings,
            code: self.code,
            objects: self.objects,
            functions: self.functions,
            relocs: self.relocs,
            targets: self.targets,
            fixups: self.fixups,
        }
    }
}

/// A checked pack in the memory of the module that registered it, with the module's table of
/// replacement functions, held by their raw parts. What is read of it ([`Held::pack`],
/// [`Held::replacements`]) borrows the holder, so nothing of the blob outlives it: the
/// registry's entry of the pack, which the module's exit removes, or a copy made for an
/// action ([`Held::share`]), which the module outlives.
///
/// # Invariants
///
/// `blob` points to `len` bytes and `replacements` to `nr_replacements` pointers that stay
/// readable and unchanged while this object lives; `layout` is [`Pack::parse`]'s view of those
/// bytes, its blob left empty.
pub(crate) struct Held {
    blob: *const u8,
    len: usize,
    replacements: *const *mut core::ffi::c_void,
    nr_replacements: usize,
    layout: Pack<'static>,
}

impl Held {
    /// Checks the blob a pack module passed ([`Pack::parse`]) and holds it.
    ///
    /// # Safety
    ///
    /// `blob` points to `len` readable bytes and `replacements` (unless `nr_replacements` is
    /// 0) to `nr_replacements` pointers, all of which stay readable and unchanged while the
    /// returned object and its [`Held::share`] copies live.
    pub(crate) unsafe fn new(
        blob: *const u8,
        len: usize,
        replacements: *const *mut core::ffi::c_void,
        nr_replacements: usize,
    ) -> PResult<Self> {
        if blob.is_null() || (nr_replacements != 0 && replacements.is_null()) {
            return Err(PackError::Truncated);
        }
        // SAFETY: By the safety requirements, `blob` points to `len` readable bytes.
        let bytes = unsafe { core::slice::from_raw_parts(blob, len) };
        let pack = Pack::parse(bytes, nr_replacements)?;
        // INVARIANT: The memory is the caller's promise; `layout` was checked on its first
        // `pack.blob.len()` bytes (the size the header states).
        Ok(Self {
            blob,
            len: pack.blob.len(),
            replacements,
            nr_replacements,
            layout: pack.over(&[]),
        })
    }

    /// Another holder of the same pack, for an action that runs without the registry.
    ///
    /// # Safety
    ///
    /// The pack's module stays loaded while the copy lives: the caller holds a reference to
    /// it, or its unregistering waits for the copy to go.
    pub(crate) unsafe fn share(&self) -> Self {
        // INVARIANT: The caller's promise; the rest is this object's.
        Self {
            blob: self.blob,
            len: self.len,
            replacements: self.replacements,
            nr_replacements: self.nr_replacements,
            layout: self.layout,
        }
    }

    /// The pack, read from the module's blob for as long as `self` is borrowed.
    pub(crate) fn pack(&self) -> Pack<'_> {
        // SAFETY: By the type invariants the bytes are readable and unchanged while `self`
        // lives, which the returned view cannot outlive.
        let blob = unsafe { core::slice::from_raw_parts(self.blob, self.len) };
        self.layout.over(blob)
    }

    /// The replacement functions of the pack's module, by index.
    pub(crate) fn replacements(&self) -> &[*mut core::ffi::c_void] {
        if self.nr_replacements == 0 {
            return &[];
        }
        // SAFETY: By the type invariants the table is readable and unchanged while `self`
        // lives, which the returned slice cannot outlive.
        unsafe { core::slice::from_raw_parts(self.replacements, self.nr_replacements) }
    }
}

// SAFETY: `Held` only reads memory that does not change while it lives (its invariants), from
// any thread.
unsafe impl Send for Held {}

/// Header flag: the pack replaces every applied pack (a cumulative pack, `splice-create
/// --replace`): applying it takes over their targets and reverses the others, in one stop.
pub(crate) const FLAG_REPLACE: u32 = 2;
/// Header flag: the pack patches its target modules when they load (`splice-create
/// --on-load`): applied, it patches those loaded and arms the others.
pub(crate) const FLAG_ON_LOAD: u32 = 1;
/// Header flags this core knows.
const FLAGS_KNOWN: u32 = FLAG_REPLACE | FLAG_ON_LOAD;
/// Function flag: the function is local (static) to its object.
pub(crate) const FUNCTION_LOCAL: u32 = 1;
/// Relocation flag: the symbol is local to its object.
pub(crate) const RELOC_LOCAL: u32 = 1;

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_pack)]
mod tests {
    use super::*;

    /// Writes a small valid blob: one object with two functions, one target.
    struct Builder {
        blob: KVec<u8>,
    }

    impl Builder {
        fn put(&mut self, at: usize, v: u32) {
            if let Some(b) = self.blob.get_mut(at..at + 4) {
                b.copy_from_slice(&v.to_le_bytes());
            }
        }

        fn push32(&mut self, v: u32) -> Result {
            self.blob.extend_from_slice(&v.to_le_bytes(), GFP_KERNEL)?;
            Ok(())
        }

        fn valid() -> Result<Self> {
            Self::of_version(VERSION)
        }

        fn of_version(version: u32) -> Result<Self> {
            let header = header_size_of(version).ok_or(EINVAL)?;
            let mut s = Self { blob: KVec::new() };
            s.blob.extend_from_slice(&[0u8; HEADER_SIZE], GFP_KERNEL)?;
            s.blob.truncate(header);
            s.blob[..8].copy_from_slice(&MAGIC);
            s.put(hdr::VERSION, version);
            s.put(hdr::HEADER_SIZE, header as u32);
            s.put(hdr::BUILD_ID_LEN, 20);
            for i in 0..20 {
                s.blob[hdr::BUILD_ID + i] = i as u8;
            }
            // Strings: "" at 0, "p" at 1, "fix" at 3, "7.2.12" at 7, "fs/x.o" at 14,
            // "f1" at 21, "f2" at 24, "sym" at 27, "7.2.13" at 31, two subjects at 38.
            let strings =
                b"\0p\0fix\x007.2.12\0fs/x.o\0f1\0f2\0sym\x007.2.13\0x: fix a\ny: fix b\0";
            let at = s.blob.len() as u32;
            s.blob.extend_from_slice(strings, GFP_KERNEL)?;
            s.put(hdr::STRINGS, at);
            s.put(hdr::STRINGS + 4, strings.len() as u32);
            s.put(hdr::NAME, 1);
            s.put(hdr::DESCRIPTION, 3);
            s.put(hdr::RELEASE, 7);
            if header >= HEADER_SIZE {
                s.put(hdr::FIXED_IN, 31);
                s.put(hdr::FIXES, 38);
            }
            // Code: f1 = 16 bytes, f2 = 8 bytes.
            let at = s.blob.len() as u32;
            s.blob
                .extend_from_slice(&[0xe8, 0, 0, 0, 0, 0xc3, 0x90, 0x90], GFP_KERNEL)?;
            s.blob.extend_from_slice(&[0x90; 16], GFP_KERNEL)?;
            s.put(hdr::CODE, at);
            s.put(hdr::CODE + 4, 24);
            // Object 0: fs/x.o in vmlinux, functions 0..2.
            let at = s.blob.len() as u32;
            for v in [14, 0, 0, 2] {
                s.push32(v)?;
            }
            s.put(hdr::OBJECTS, at);
            s.put(hdr::OBJECTS + 4, 1);
            // Functions: f1 (code 0..16, reloc 0), f2 (code 16..24, no reloc).
            let at = s.blob.len() as u32;
            for v in [21, 0, 0, 16, 0, 1, 0, 0, 24, 0, 16, 8, 1, 0, 0, 0] {
                s.push32(v)?;
            }
            s.put(hdr::FUNCTIONS, at);
            s.put(hdr::FUNCTIONS + 4, 2);
            // Reloc 0: PLT32 at 1 to local "sym", addend -4.
            let at = s.blob.len() as u32;
            for v in [1, 4, 27, RELOC_LOCAL] {
                s.push32(v)?;
            }
            s.blob
                .extend_from_slice(&(-4i64).to_le_bytes(), GFP_KERNEL)?;
            s.put(hdr::RELOCS, at);
            s.put(hdr::RELOCS + 4, 1);
            // Target 0: function 0 by replacement 0.
            let at = s.blob.len() as u32;
            for v in [0, 0, 1, 0, 0, 0] {
                s.push32(v)?;
            }
            s.put(hdr::TARGETS, at);
            s.put(hdr::TARGETS + 4, 1);
            let total = s.blob.len() as u32;
            s.put(hdr::TOTAL_SIZE, total);
            Ok(s)
        }

        fn err(&self) -> Option<PackError> {
            Pack::parse(&self.blob, 1).err()
        }
    }

    /// A pack held by the raw parts a module passes reads as the blob parses, up to the size
    /// its header states, as a copy of the holder does; its targets are named by index.
    #[test]
    fn a_held_pack_reads_its_blob() -> Result {
        let mut b = Builder::valid()?;
        let total = b.blob.len();
        // Bytes past the stated size are not the pack's.
        b.blob.extend_from_slice(&[0xff; 8], GFP_KERNEL)?;
        let repl = [core::ptr::null_mut::<core::ffi::c_void>(); 1];
        // SAFETY: `b.blob` and `repl` outlive `held` and its copy, unchanged.
        let held = unsafe { Held::new(b.blob.as_ptr(), b.blob.len(), repl.as_ptr(), 1) }
            .map_err(|_| EINVAL)?;
        let pack = held.pack();
        assert_eq!(pack.name(), c"p");
        assert_eq!(pack.target_name(0), c"f1");
        assert_eq!(pack.target_name(1), c"?");
        assert_eq!(pack.blob.len(), total);
        assert_eq!(held.replacements().len(), 1);
        // SAFETY: As above.
        let copy = unsafe { held.share() };
        assert_eq!(copy.pack().build_id(), pack.build_id());
        // A target whose replacement the module does not pass, or no blob, is refused.
        // SAFETY: As above; a null blob is not read.
        let none = unsafe { Held::new(b.blob.as_ptr(), b.blob.len(), repl.as_ptr(), 0) };
        assert!(none.is_err());
        // SAFETY: As above.
        let null = unsafe { Held::new(core::ptr::null(), 0, repl.as_ptr(), 1) };
        assert!(null.is_err());
        Ok(())
    }

    /// A version 2 pack says which fixes it carries, and from which kernel version; a
    /// version 1 pack, made before, parses as it did and says nothing of them.
    #[test]
    fn the_fixes_a_pack_carries() -> Result {
        let b = Builder::valid()?;
        let p = Pack::parse(&b.blob, 1).map_err(|_| EINVAL)?;
        assert_eq!(p.fixes(), c"x: fix a\ny: fix b");
        assert_eq!(p.fixed_in(), c"7.2.13");
        let b = Builder::of_version(1)?;
        let p = Pack::parse(&b.blob, 1).map_err(|_| EINVAL)?;
        assert_eq!(p.name(), c"p");
        assert_eq!(p.target_name(0), c"f1");
        assert_eq!(p.fixes(), c"");
        assert_eq!(p.fixed_in(), c"");
        // A fixes string outside the string table is refused like any other.
        let mut b = Builder::valid()?;
        b.put(hdr::FIXES, 0x7fff);
        assert_eq!(b.err(), Some(PackError::BadString));
        Ok(())
    }

    #[test]
    fn valid_pack_parses() -> Result {
        let b = Builder::valid()?;
        let p = Pack::parse(&b.blob, 1).map_err(|_| EINVAL)?;
        assert_eq!(p.name(), c"p");
        assert_eq!(p.description(), c"fix");
        assert_eq!(p.kernel_release(), c"7.2.12");
        assert_eq!(p.build_id().len(), 20);
        assert_eq!(p.build_id()[19], 19);
        assert_eq!(p.function_count(), 2);
        let o = p.objects().next().ok_or(EINVAL)?;
        assert_eq!(o.name, c"fs/x.o");
        assert_eq!(o.module, c"");
        let f = p.function(0).ok_or(EINVAL)?;
        assert_eq!(f.name, c"f1");
        assert_eq!(f.code.len(), 16);
        assert_eq!(f.code[0], 0xe8);
        let r = p
            .relocs(f.first_reloc, f.reloc_count)
            .next()
            .ok_or(EINVAL)?;
        assert_eq!(r.offset, 1);
        assert_eq!(r.kind, RelocType::Plt32);
        assert_eq!(r.symbol, c"sym");
        assert!(r.local);
        assert_eq!(r.addend, -4);
        assert_eq!(p.function(1).ok_or(EINVAL)?.code.len(), 8);
        assert!(p.function(2).is_none());
        let t = p.targets().next().ok_or(EINVAL)?;
        assert_eq!((t.function, t.replacement), (0, 0));
        Ok(())
    }

    #[test]
    fn reloc_types_round_trip() {
        for t in [1, 2, 4, 10, 11, 0x101, 0x104, 0x108, 0x109] {
            assert_eq!(RelocType::from_elf(t).map(RelocType::to_elf), Ok(t));
        }
        assert_eq!(
            RelocType::from_elf(0x107),
            Ok(RelocType::Site(SiteKind::Endbr))
        );
        for t in [0, 3, 9, 24, 42, 0x100, 0x10a] {
            assert_eq!(RelocType::from_elf(t), Err(PackError::BadReloc));
        }
        assert!(RelocType::Pc32.is_pc_relative() && RelocType::Plt32.is_pc_relative());
        assert!(!RelocType::Abs64.is_pc_relative() && !RelocType::Abs32S.is_pc_relative());
        assert_eq!(RelocType::Abs64.width(), 8);
        assert_eq!(RelocType::Abs32.width(), 4);
    }

    #[test]
    fn every_truncation_is_refused() -> Result {
        let b = Builder::valid()?;
        for len in 0..b.blob.len() {
            assert!(Pack::parse(&b.blob[..len], 1).is_err());
        }
        Ok(())
    }

    #[test]
    fn bad_magic_and_version() -> Result {
        let mut b = Builder::valid()?;
        b.blob[0] = b'X';
        assert_eq!(b.err(), Some(PackError::BadMagic));
        let mut b = Builder::valid()?;
        b.put(hdr::VERSION, 3);
        assert_eq!(b.err(), Some(PackError::BadVersion(3)));
        // Each version has its header size.
        let mut b = Builder::valid()?;
        b.put(hdr::VERSION, 1);
        assert_eq!(b.err(), Some(PackError::BadHeader("header_size")));
        let mut b = Builder::of_version(1)?;
        b.put(hdr::VERSION, 2);
        assert_eq!(b.err(), Some(PackError::BadHeader("header_size")));
        let mut b = Builder::valid()?;
        b.put(hdr::FLAGS, 0x80);
        assert_eq!(b.err(), Some(PackError::BadHeader("flags")));
        // A pack that patches modules when they load says so.
        let mut b = Builder::valid()?;
        b.put(hdr::FLAGS, FLAG_ON_LOAD);
        assert!(Pack::parse(&b.blob, 1)
            .map_err(|_| EINVAL)?
            .patches_on_load());
        // A replace pack says so.
        let b = Builder::valid()?;
        assert!(!Pack::parse(&b.blob, 1).map_err(|_| EINVAL)?.replaces_all());
        let mut b = Builder::valid()?;
        b.put(hdr::FLAGS, FLAG_REPLACE);
        assert!(Pack::parse(&b.blob, 1).map_err(|_| EINVAL)?.replaces_all());
        Ok(())
    }

    #[test]
    fn bad_offsets_are_refused() -> Result {
        let mut b = Builder::valid()?;
        let total = b.blob.len() as u32;
        b.put(hdr::CODE, total - 4);
        assert_eq!(b.err(), Some(PackError::OutOfBounds("code")));
        let mut b = Builder::valid()?;
        b.put(hdr::FUNCTIONS + 4, 0x4000_0000);
        assert_eq!(b.err(), Some(PackError::OutOfBounds("function table")));
        let mut b = Builder::valid()?;
        b.put(hdr::STRINGS, 4);
        assert_eq!(b.err(), Some(PackError::OutOfBounds("string table")));
        let mut b = Builder::valid()?;
        b.put(hdr::NAME, 1000);
        assert_eq!(b.err(), Some(PackError::BadString));
        Ok(())
    }

    #[test]
    fn bad_indices_and_relocs_are_refused() -> Result {
        let b = Builder::valid()?;
        let funcs = u32_at(&b.blob, hdr::FUNCTIONS).map_err(|_| EINVAL)? as usize;
        let relocs = u32_at(&b.blob, hdr::RELOCS).map_err(|_| EINVAL)? as usize;
        let targets = u32_at(&b.blob, hdr::TARGETS).map_err(|_| EINVAL)? as usize;

        let mut b = Builder::valid()?;
        b.put(targets, 2);
        assert_eq!(b.err(), Some(PackError::BadIndex("target function")));
        assert_eq!(
            Pack::parse(&Builder::valid()?.blob, 0).err(),
            Some(PackError::BadIndex("target replacement"))
        );
        let mut b = Builder::valid()?;
        b.put(funcs + 4, 1);
        assert_eq!(b.err(), Some(PackError::BadIndex("function object")));
        let mut b = Builder::valid()?;
        b.put(funcs + 12, 100);
        assert_eq!(b.err(), Some(PackError::OutOfBounds("function code")));
        let mut b = Builder::valid()?;
        b.put(relocs, 14);
        assert_eq!(b.err(), Some(PackError::BadReloc));
        let mut b = Builder::valid()?;
        b.put(relocs + 4, 3);
        assert_eq!(b.err(), Some(PackError::BadReloc));
        let mut b = Builder::valid()?;
        b.put(funcs + 20, 2);
        assert_eq!(b.err(), Some(PackError::BadIndex("relocation")));
        Ok(())
    }

    /// Two targets of one function: each parses, the pack says which function it targets
    /// twice (registering refuses it).
    #[test]
    fn a_function_targeted_twice_is_found() -> Result {
        let b = Builder::valid()?;
        assert_eq!(
            Pack::parse(&b.blob, 1)
                .map_err(|_| EINVAL)?
                .twice_targeted()?,
            None
        );
        let mut b = Builder::valid()?;
        let targets = u32_at(&b.blob, hdr::TARGETS).map_err(|_| EINVAL)? as usize;
        // Target 1: function 0 again, by replacement 1.
        for v in [0, 1, 0, 0, 0, 0] {
            b.push32(v)?;
        }
        b.put(hdr::TARGETS + 4, 2);
        let total = b.blob.len() as u32;
        b.put(hdr::TOTAL_SIZE, total);
        let p = Pack::parse(&b.blob, 2).map_err(|_| EINVAL)?;
        assert_eq!(p.target_count(), 2);
        assert_eq!(p.twice_targeted()?, Some(0));
        // Function 1 for the second: each once.
        b.put(targets + 24, 1);
        assert_eq!(
            Pack::parse(&b.blob, 2)
                .map_err(|_| EINVAL)?
                .twice_targeted()?,
            None
        );
        Ok(())
    }

    #[test]
    fn any_corrupted_byte_is_handled() -> Result {
        let valid = Builder::valid()?;
        let mut b = Builder::valid()?;
        for i in 0..b.blob.len() {
            for v in [0x00, 0x7f, 0xff] {
                b.blob[i] = v;
                // Either refused or parsed; reading a parsed one must stay in bounds.
                if let Ok(p) = Pack::parse(&b.blob, 1) {
                    for f in (0..p.function_count()).filter_map(|i| p.function(i)) {
                        assert!(p
                            .relocs(f.first_reloc, f.reloc_count)
                            .all(|r| r.offset + r.kind.width() <= f.code.len()));
                    }
                    assert!(p.build_id().len() <= BUILD_ID_MAX);
                }
            }
            b.blob[i] = valid.blob[i];
        }
        Ok(())
    }
}
