// SPDX-License-Identifier: GPL-2.0

//! x86-64 code as the passes read it: the relocation types a pack carries, the width of
//! their places, and the relative branches found by decoding (`iced-x86`).

use anyhow::Result;

use crate::elf::{Obj, Sym};
use crate::format::rtype;

pub const LOCAL_TYPES: [u32; 5] = [
    rtype::R_X86_64_64,
    rtype::R_X86_64_PC32,
    rtype::R_X86_64_PLT32,
    rtype::R_X86_64_32,
    rtype::R_X86_64_32S,
];

pub const R_X86_64_PC64: u32 = 24;

pub(crate) fn width(t: u32) -> u64 {
    match t {
        rtype::R_X86_64_64 | R_X86_64_PC64 => 8,
        _ => 4,
    }
}

/// The relative branches of function `f` that leave it: `(instruction address, length,
/// target)`, addresses relative to its section (decoded with `iced-x86`).
pub fn branches_out(obj: &Obj, f: &Sym) -> Result<Vec<(u64, usize, u64)>> {
    use iced_x86::{Decoder, DecoderOptions, OpKind};
    let code = obj.symbol_bytes(f)?;
    let mut out = Vec::new();
    let mut d = Decoder::with_ip(64, &code, f.value, DecoderOptions::NONE);
    while d.can_decode() {
        let insn = d.decode();
        if insn.is_invalid() {
            break;
        }
        if insn.op_count() != 1
            || !matches!(insn.op0_kind(), OpKind::NearBranch64 | OpKind::NearBranch32)
        {
            continue;
        }
        let target = insn.near_branch_target();
        if target < f.value || target >= f.value + f.size {
            out.push((insn.ip(), insn.len(), target));
        }
    }
    Ok(out)
}

/// Calls and jumps of function `f` to other functions of its own section, which the
/// assembler resolved without a relocation (functions placed in one named section, such as
/// `.sched.text`, call each other directly): `(place, function called, addend)` as a
/// PC-relative relocation would say, with the place and the addend relative to the section.
pub fn intra_section_branches(obj: &Obj, f: &Sym) -> Result<Vec<(u64, String, i64)>> {
    let Some(si) = f.section else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (ip, len, target) in branches_out(obj, f)? {
        // rel32: the displacement is the last 4 bytes of the instruction.
        if len < 5 {
            continue;
        }
        let end = ip + len as u64;
        let place = end - 4;
        if !obj.sections[si].relocs_in(place, end).is_empty() {
            continue;
        }
        let callee = obj
            .section_symbols(si)
            .iter()
            .map(|&i| &obj.symbols[i])
            .find(|y| y.is_func() && target >= y.value && target < y.value + y.size.max(1));
        if let Some(y) = callee {
            out.push((place, y.name.clone(), (target - y.value) as i64 - 4));
        }
    }
    Ok(out)
}

/// Whether the 32-bit PC-relative place at `offset` of `code` is the operand of a call, a
/// jump or a conditional jump (`e8`, `e9`, `0f 80`..`0f 8f`). The byte before the operand of
/// an instruction that accesses data RIP-relatively is its ModRM byte (`0x05`..`0x3d`),
/// which none of these opcodes is.
pub fn is_branch_place(code: &[u8], offset: u64, rtype: u32) -> bool {
    if !matches!(rtype, rtype::R_X86_64_PC32 | rtype::R_X86_64_PLT32) {
        return false;
    }
    let Ok(at) = usize::try_from(offset) else {
        return false;
    };
    let byte = |back: usize| at.checked_sub(back).and_then(|i| code.get(i)).copied();
    matches!(byte(1), Some(0xe8 | 0xe9))
        || (byte(2) == Some(0x0f) && byte(1).is_some_and(|b| b & 0xf0 == 0x80))
}
