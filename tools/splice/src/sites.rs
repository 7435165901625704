// SPDX-License-Identifier: GPL-2.0

//! Run-time site markers of pre code (relocation types 0x101..0x108 of format v1), computed
//! from the special sections of the pre object. Each marker says: the kernel may have
//! rewritten these bytes, so run-pre matching must accept any of the forms listed in
//! `Documentation/splice/pack-format.rst` there.

use std::collections::{BTreeSet, HashMap};

use anyhow::{bail, Result};

use crate::elf::{Obj, Sym};
use crate::format::rtype;

/// Markers by function symbol index: sorted, unique `(offset, type, length)`.
pub type Sites = HashMap<usize, BTreeSet<(u32, u32, u32)>>;

/// Finds the listed function of `obj` that holds `sec:off`.
fn function_at<'a>(funcs: &[&'a Sym], sec: usize, off: i64) -> Option<&'a Sym> {
    funcs.iter().copied().find(|f| {
        f.section == Some(sec) && off >= f.value as i64 && off < (f.value + f.size) as i64
    })
}

/// Where the entry field at `sec_name[at]` points: (section, offset), from its relocation.
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

/// Computes the markers of every listed function of `obj`.
pub fn find(obj: &Obj) -> Result<Sites> {
    let funcs = obj.functions();
    let mut sites: Sites = HashMap::new();
    let mut add = |sec: usize, off: i64, t: u32, len: u32| -> Option<()> {
        let f = function_at(&funcs, sec, off)?;
        let rel = (off - f.value as i64) as u32;
        // A site covers whole instructions of its function.
        if u64::from(rel) + u64::from(len) > f.size || len == 0 {
            return None;
        }
        sites.entry(f.index).or_default().insert((rel, t, len));
        Some(())
    };
    let code = |sec: usize, off: i64, n: usize| -> &[u8] {
        let d = &obj.sections[sec].data;
        let o = usize::try_from(off).unwrap_or(usize::MAX);
        d.get(o..).map(|s| &s[..s.len().min(n)]).unwrap_or(&[])
    };

    // ftrace: __mcount_loc entries, and every call to __fentry__.
    for t in obj.sections_named("__mcount_loc") {
        for at in (0..t.size).step_by(8) {
            if let Some((sec, off)) = pointee(obj, t, at) {
                add(sec, off, rtype::SITE_FTRACE, 5);
            }
        }
    }
    for f in &funcs {
        let Some(si) = f.section else { continue };
        let sec = &obj.sections[si];
        for r in sec.relocs_in(f.value, f.value + f.size) {
            if obj.symbols[r.sym].name == "__fentry__"
                && rtype::is_pc_relative(r.rtype)
                && r.offset >= 1
                && code(si, r.offset as i64 - 1, 1) == [0xe8]
            {
                add(si, r.offset as i64 - 1, rtype::SITE_FTRACE, 5);
            }
        }
    }
    // IBT: endbr64 at the start of a function.
    for f in &funcs {
        let Some(si) = f.section else { continue };
        if code(si, f.value as i64, 4) == [0xf3, 0x0f, 0x1e, 0xfa] {
            add(si, f.value as i64, rtype::SITE_ENDBR, 4);
        }
    }
    // Alternatives: the original instructions, instrlen bytes.
    for t in obj.sections_named(".altinstructions") {
        for at in (0..t.size).step_by(14) {
            let len = t.data.get(at as usize + 12).copied().unwrap_or(0);
            if let Some((sec, off)) = pointee(obj, t, at) {
                add(sec, off, rtype::SITE_ALTERNATIVE, u32::from(len));
            }
        }
    }
    // Jump labels: a 2-byte (jmp rel8 / nop2) or 5-byte site.
    for t in obj.sections_named("__jump_table") {
        for at in (0..t.size).step_by(16) {
            if let Some((sec, off)) = pointee(obj, t, at) {
                let len = match code(sec, off, 2) {
                    [0xeb, ..] | [0x66, 0x90] => 2,
                    _ => 5,
                };
                add(sec, off, rtype::SITE_JUMP_LABEL, len);
            }
        }
    }
    for t in obj.sections_named(".static_call_sites") {
        for at in (0..t.size).step_by(8) {
            if let Some((sec, off)) = pointee(obj, t, at) {
                add(sec, off, rtype::SITE_STATIC_CALL, 5);
            }
        }
    }
    for t in obj.sections_named(".retpoline_sites") {
        for at in (0..t.size).step_by(4) {
            if let Some((sec, off)) = pointee(obj, t, at) {
                let Some(len) = retpoline_len(code(sec, off, 3)) else {
                    let f = function_at(&funcs, sec, off)
                        .map(|f| f.name.as_str())
                        .unwrap_or(obj.sections[sec].name.as_str());
                    bail!(
                        "{}: {f}: .retpoline_sites entry at {:#x} is not a call/jmp/jcc rel32",
                        obj.path,
                        off
                    );
                };
                add(sec, off, rtype::SITE_RETPOLINE, len);
            }
        }
    }
    for (name, t_, len) in [
        (".return_sites", rtype::SITE_RETURN_THUNK, 5),
        (".smp_locks", rtype::SITE_LOCK, 1),
    ] {
        for t in obj.sections_named(name) {
            for at in (0..t.size).step_by(4) {
                if let Some((sec, off)) = pointee(obj, t, at) {
                    add(sec, off, t_, len);
                }
            }
        }
    }
    // Runtime constants: the entry points at the immediate the kernel sets at boot, the
    // last field of its instruction; the site is the whole instruction.
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
                // movabs $imm64, %reg: REX.W, B8+r, imm64.
                let c = code(sec, imm - 2, 2);
                (c.len() == 2 && c[0] & 0xf8 == 0x48 && (0xb8..=0xbf).contains(&c[1]))
                    .then_some(imm - 2)
            } else {
                // shr $imm8, %reg: [REX] C1 /5 ib.
                let rex = code(sec, imm - 3, 1)
                    .first()
                    .is_some_and(|&b| b & 0xf0 == 0x40);
                match (rex, code(sec, imm - 2, 1)) {
                    (true, [0xc1]) => Some(imm - 3),
                    (false, [0xc1]) => Some(imm - 2),
                    _ => None,
                }
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
            add(sec, start, rtype::SITE_RUNTIME_CONST, (end - start) as u32);
        }
    }
    Ok(sites)
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
