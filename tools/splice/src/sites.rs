// SPDX-License-Identifier: GPL-2.0

//! Run-time site markers of pre code (relocation types 0x101..0x109 of format v2), computed
//! from the special sections of the pre object. Each marker says: the kernel may have
//! rewritten these bytes, so run-pre matching must accept any of the forms listed in
//! `Documentation/splice/pack-format.rst` there.

use std::collections::{BTreeSet, HashMap};

use anyhow::{bail, Result};

use crate::elf::{Obj, Sym};
use crate::format::rtype;

/// Markers by function symbol index: sorted, unique `(offset, type, length)`.
pub type Sites = HashMap<usize, BTreeSet<(u32, u32, u32)>>;

/// Finds, among the listed functions `funcs`, the one that holds `sec:off`.
fn function_at<'a>(funcs: &[&'a Sym], sec: usize, off: i64) -> Option<&'a Sym> {
    funcs.iter().copied().find(|f| {
        f.section == Some(sec) && off >= f.value as i64 && off < (f.value + f.size) as i64
    })
}

/// Where the entry field at `table[at]` points: (section, offset), from its relocation.
fn pointee(obj: &Obj, table: &crate::elf::Sec, at: u64) -> Option<(usize, i64)> {
    let r = table.relocs_in(at, at + 1).first()?;
    let s = &obj.symbols[r.sym];
    Some((s.section?, (s.value as i64).wrapping_add(r.addend)))
}

/// Length of the retpoline call/jmp at `code` (with an optional `cs` prefix).
fn retpoline_len(code: &[u8]) -> Option<u32> {
    let (prefix, code) = match code.first() {
        Some(0x2e) => (1, &code[1..]),
        _ => (0, code),
    };
    match code {
        [0xe8 | 0xe9, ..] => Some(5 + prefix),
        [0x0f, 0x80..=0x8f, ..] => Some(6 + prefix),
        _ => None,
    }
}

/// The entries of the sections of `obj` called `name`, `size` bytes each: (section, offset).
fn entries<'a>(
    obj: &'a Obj,
    name: &'a str,
    size: usize,
) -> impl Iterator<Item = (&'a crate::elf::Sec, u64)> + 'a {
    obj.sections_named(name)
        .flat_map(move |t| (0..t.size).step_by(size).map(move |at| (t, at)))
}

/// Computes the markers of every listed function of `obj`: one pass per kind of run-time
/// site, each reading where the kernel lists such sites (or the code itself).
pub fn find(obj: &Obj) -> Result<Sites> {
    let funcs = obj.functions();
    let mut walk = Walk {
        obj,
        funcs: &funcs,
        sites: HashMap::new(),
    };
    // ftrace: __mcount_loc entries, and every call to __fentry__.
    walk.mark_each("__mcount_loc", 8, rtype::SITE_FTRACE, 5);
    walk.fentry_calls();
    walk.endbr();
    walk.alternatives();
    walk.jump_labels();
    walk.mark_each(".static_call_sites", 8, rtype::SITE_STATIC_CALL, 5);
    walk.retpolines()?;
    walk.mark_each(".return_sites", 4, rtype::SITE_RETURN_THUNK, 5);
    walk.mark_each(".smp_locks", 4, rtype::SITE_LOCK, 1);
    walk.runtime_constants()?;
    Ok(walk.sites)
}

/// The walk of [`find`] over one object: the functions markers belong to, and the markers
/// found so far.
struct Walk<'a, 'f> {
    obj: &'a Obj,
    /// The listed functions of `obj`.
    funcs: &'f [&'a Sym],
    sites: Sites,
}

impl<'a> Walk<'a, '_> {
    /// Marks `len` bytes at `sec:off` as a site of type `t` of the listed function that holds
    /// them. A site of no bytes, or not wholly inside a listed function, is left out.
    fn add(&mut self, sec: usize, off: i64, t: u32, len: u32) {
        let Some(f) = function_at(self.funcs, sec, off) else {
            return;
        };
        let rel = (off - f.value as i64) as u32;
        // A site covers whole instructions of its function.
        if u64::from(rel) + u64::from(len) > f.size || len == 0 {
            return;
        }
        self.sites.entry(f.index).or_default().insert((rel, t, len));
    }

    /// Up to `n` bytes of section `sec` from `off`: fewer at its end, none outside it.
    fn code(&self, sec: usize, off: i64, n: usize) -> &'a [u8] {
        let obj = self.obj;
        let d = &obj.sections[sec].data;
        let o = usize::try_from(off).unwrap_or(usize::MAX);
        d.get(o..).map(|s| &s[..s.len().min(n)]).unwrap_or(&[])
    }

    /// Marks a site of type `t`, `len` bytes, where each entry of the sections called `name`
    /// (`size` bytes each) points.
    fn mark_each(&mut self, name: &str, size: usize, t: u32, len: u32) {
        let obj = self.obj;
        for (table, at) in entries(obj, name, size) {
            if let Some((sec, off)) = pointee(obj, table, at) {
                self.add(sec, off, t, len);
            }
        }
    }

    /// ftrace: every `call __fentry__` of a listed function, whether or not `__mcount_loc`
    /// lists it.
    fn fentry_calls(&mut self) {
        let obj = self.obj;
        for &f in self.funcs {
            let Some(si) = f.section else { continue };
            let sec = &obj.sections[si];
            for r in sec.relocs_in(f.value, f.value + f.size) {
                if obj.symbols[r.sym].name == "__fentry__"
                    && rtype::is_pc_relative(r.rtype)
                    && r.offset >= 1
                    && self.code(si, r.offset as i64 - 1, 1) == [0xe8]
                {
                    self.add(si, r.offset as i64 - 1, rtype::SITE_FTRACE, 5);
                }
            }
        }
    }

    /// IBT: endbr64 at the start of a function.
    fn endbr(&mut self) {
        for &f in self.funcs {
            let Some(si) = f.section else { continue };
            if self.code(si, f.value as i64, 4) == [0xf3, 0x0f, 0x1e, 0xfa] {
                self.add(si, f.value as i64, rtype::SITE_ENDBR, 4);
            }
        }
    }

    /// Alternatives: the original instructions, instrlen bytes (byte 12 of the entry).
    fn alternatives(&mut self) {
        let obj = self.obj;
        for (t, at) in entries(obj, ".altinstructions", 14) {
            let len = t.data.get(at as usize + 12).copied().unwrap_or(0);
            if let Some((sec, off)) = pointee(obj, t, at) {
                self.add(sec, off, rtype::SITE_ALTERNATIVE, u32::from(len));
            }
        }
    }

    /// Jump labels: a 2-byte (jmp rel8 / nop2) or 5-byte site.
    fn jump_labels(&mut self) {
        let obj = self.obj;
        for (t, at) in entries(obj, "__jump_table", 16) {
            if let Some((sec, off)) = pointee(obj, t, at) {
                let len = match self.code(sec, off, 2) {
                    [0xeb, ..] | [0x66, 0x90] => 2,
                    _ => 5,
                };
                self.add(sec, off, rtype::SITE_JUMP_LABEL, len);
            }
        }
    }

    /// Retpolines: a call, jmp or jcc rel32 ([`retpoline_len`]). An entry at any other
    /// instruction is an error.
    fn retpolines(&mut self) -> Result<()> {
        let obj = self.obj;
        for (t, at) in entries(obj, ".retpoline_sites", 4) {
            let Some((sec, off)) = pointee(obj, t, at) else {
                continue;
            };
            let Some(len) = retpoline_len(self.code(sec, off, 3)) else {
                let f = function_at(self.funcs, sec, off)
                    .map(|f| f.name.as_str())
                    .unwrap_or(obj.sections[sec].name.as_str());
                bail!(
                    "{}: {f}: .retpoline_sites entry at {:#x} is not a call/jmp/jcc rel32",
                    obj.path,
                    off
                );
            };
            self.add(sec, off, rtype::SITE_RETPOLINE, len);
        }
        Ok(())
    }

    /// Runtime constants: the entry points at the immediate the kernel sets at boot, the
    /// last field of its instruction; the site is the whole instruction. An entry at an
    /// instruction splice does not know is an error.
    fn runtime_constants(&mut self) -> Result<()> {
        let obj = self.obj;
        for t in obj
            .sections
            .iter()
            .filter(|s| s.name.starts_with("runtime_ptr_") || s.name.starts_with("runtime_shift_"))
        {
            let ptr = t.name.starts_with("runtime_ptr_");
            for at in (0..t.size).step_by(4) {
                let Some((sec, imm)) = pointee(obj, t, at) else {
                    continue;
                };
                let start = if ptr {
                    self.movabs_start(sec, imm)
                } else {
                    self.shr_start(sec, imm)
                };
                let Some(start) = start else {
                    bail!(
                        "{}: {} entry at {:#x} is not at a known instruction",
                        obj.path,
                        t.name,
                        imm
                    );
                };
                let end = imm + if ptr { 8 } else { 1 };
                self.add(sec, start, rtype::SITE_RUNTIME_CONST, (end - start) as u32);
            }
        }
        Ok(())
    }

    /// Where the `movabs $imm64, %reg` (REX.W, B8+r, imm64) whose immediate is at `sec:imm`
    /// starts, if that is the instruction there.
    fn movabs_start(&self, sec: usize, imm: i64) -> Option<i64> {
        let c = self.code(sec, imm - 2, 2);
        (c.len() == 2 && c[0] & 0xf8 == 0x48 && (0xb8..=0xbf).contains(&c[1])).then_some(imm - 2)
    }

    /// Where the `shr $imm8, %reg` ([REX] C1 /5 ib) whose immediate is at `sec:imm` starts,
    /// if that is the instruction there.
    fn shr_start(&self, sec: usize, imm: i64) -> Option<i64> {
        let rex = self
            .code(sec, imm - 3, 1)
            .first()
            .is_some_and(|&b| b & 0xf0 == 0x40);
        match (rex, self.code(sec, imm - 2, 1)) {
            (true, [0xc1]) => Some(imm - 3),
            (false, [0xc1]) => Some(imm - 2),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retpoline_lengths() {
        assert_eq!(retpoline_len(&[0xe8, 0, 0]), Some(5));
        assert_eq!(retpoline_len(&[0x2e, 0xe8, 0]), Some(6));
        assert_eq!(retpoline_len(&[0x0f, 0x85, 0]), Some(6));
        assert_eq!(retpoline_len(&[0xff, 0xd0]), None);
    }
}
