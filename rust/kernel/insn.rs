// SPDX-License-Identifier: GPL-2.0

//! The kernel's x86 instruction decoder.
//!
//! Decodes one 64-bit instruction from a byte buffer with the decoder the kernel itself uses
//! for kprobes, alternatives and objtool-compatible checks.
//!
//! C header: [`arch/x86/include/asm/insn.h`](srctree/arch/x86/include/asm/insn.h).

use crate::{bindings, error::code::EINVAL, prelude::*};

/// The longest x86 instruction, in bytes.
pub const MAX_INSN_SIZE: usize = 15;

/// A relative branch: where it goes and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    /// `call rel32`.
    Call,
    /// `jmp rel8` or `jmp rel32`.
    Jump,
    /// `jcc rel8` or `jcc rel32`, with the condition code (0 to 15).
    Conditional(u8),
    /// `loop`, `loope`, `loopne` or `jrcxz`, with the opcode (`0xe0` to `0xe3`).
    Loop(u8),
}

/// One decoded instruction.
///
/// # Invariants
///
/// `raw` was filled by a successful `insn_decode()` of at most `MAX_INSN_SIZE` bytes, and its
/// pointers into the decoded buffer are never followed again.
///
/// # Examples
///
/// ```
/// use kernel::insn::{BranchKind, Insn};
///
/// // jmp .+0x10 (rel8), then call .+0x100 (rel32), then mov %rdi,%rax.
/// let jmp = Insn::decode(&[0xeb, 0x0e])?;
/// assert_eq!(jmp.len(), 2);
/// assert_eq!(jmp.branch(), Some((BranchKind::Jump, 0x0e)));
/// let call = Insn::decode(&[0xe8, 0xfb, 0x00, 0x00, 0x00])?;
/// assert_eq!(call.branch(), Some((BranchKind::Call, 0xfb)));
/// let mov = Insn::decode(&[0x48, 0x89, 0xf8, 0xcc])?;
/// assert_eq!((mov.len(), mov.branch()), (3, None));
/// // A truncated instruction does not decode.
/// assert!(Insn::decode(&[0xe8, 0x00]).is_err());
/// # Ok::<(), Error>(())
/// ```
pub struct Insn {
    raw: bindings::insn,
}

impl Insn {
    /// Decodes the instruction at the start of `code`.
    pub fn decode(code: &[u8]) -> Result<Self> {
        let len = code.len().min(MAX_INSN_SIZE);
        // SAFETY: `struct insn` is plain data; all zeroes is a valid (empty) value.
        let mut raw: bindings::insn = unsafe { core::mem::zeroed() };
        // SAFETY: `raw` is valid for writes, and the decoder reads at most `len` bytes from
        // `code`, which has at least that many.
        let ret = unsafe {
            bindings::insn_decode(
                &mut raw,
                code.as_ptr().cast(),
                len as i32,
                bindings::insn_mode_INSN_MODE_KERN,
            )
        };
        if ret < 0 || raw.length == 0 || usize::from(raw.length) > len {
            return Err(EINVAL);
        }
        // INVARIANT: decoded successfully from at most `MAX_INSN_SIZE` bytes.
        Ok(Self { raw })
    }

    /// The length of the instruction in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.raw.length)
    }

    /// Always false: a decoded instruction has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The opcode bytes (one to three), without prefixes.
    pub fn opcode(&self) -> &[u8] {
        let n = usize::from(self.raw.opcode.nbytes).min(4);
        // SAFETY: Both members of the union are plain bytes of the same storage.
        let bytes = unsafe { &self.raw.opcode.__bindgen_anon_1.bytes };
        &bytes[..n]
    }

    /// The number of prefix bytes (legacy and REX) before the opcode.
    pub fn prefix_len(&self) -> usize {
        usize::from(self.raw.prefixes.nbytes) + usize::from(self.raw.rex_prefix.nbytes)
    }

    /// The ModRM byte, if the instruction has one.
    pub fn modrm(&self) -> Option<u8> {
        // SAFETY: Both members of the union are plain bytes of the same storage.
        let byte = unsafe { self.raw.modrm.__bindgen_anon_1.bytes[0] };
        (self.raw.modrm.nbytes != 0).then_some(byte)
    }

    /// Whether the instruction is a call: `call rel32`, or an indirect call (`call *%rax`,
    /// `call *8(%rdi)`; group 5 of opcode `0xff` with ModRM.reg 2 or 3).
    ///
    /// ```
    /// use kernel::insn::Insn;
    ///
    /// assert!(Insn::decode(&[0xe8, 0, 0, 0, 0])?.is_call());
    /// // call *%rax, call *0x8(%rdi)
    /// assert!(Insn::decode(&[0xff, 0xd0])?.is_call());
    /// assert!(Insn::decode(&[0xff, 0x57, 0x08])?.is_call());
    /// // jmp *%rax, push 0x8(%rdi), inc %eax: group 5 as well, but no call.
    /// assert!(!Insn::decode(&[0xff, 0xe0])?.is_call());
    /// assert!(!Insn::decode(&[0xff, 0x77, 0x08])?.is_call());
    /// assert!(!Insn::decode(&[0xff, 0xc0])?.is_call());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn is_call(&self) -> bool {
        match self.opcode() {
            [0xe8] => true,
            [0xff] => self.modrm().is_some_and(|m| matches!((m >> 3) & 7, 2 | 3)),
            _ => false,
        }
    }

    /// The sign-extended immediate operand, if there is one.
    pub fn immediate(&self) -> Option<i64> {
        // SAFETY: All members of the union are `insn_field`s of the same layout; the decoder
        // fills `immediate`, and `value` holds it sign-extended.
        let (nbytes, value) = unsafe {
            let imm = &self.raw.__bindgen_anon_2.immediate;
            (imm.nbytes, imm.__bindgen_anon_1.value)
        };
        (nbytes != 0).then_some(i64::from(value))
    }

    /// The kind and displacement (from the end of the instruction) of a relative branch.
    pub fn branch(&self) -> Option<(BranchKind, i64)> {
        let op = self.opcode();
        let kind = match *op.first()? {
            0xe8 => BranchKind::Call,
            0xe9 | 0xeb => BranchKind::Jump,
            b @ 0x70..=0x7f => BranchKind::Conditional(b & 0xf),
            b @ 0xe0..=0xe3 => BranchKind::Loop(b),
            0x0f => match op.get(1) {
                Some(&b @ 0x80..=0x8f) => BranchKind::Conditional(b & 0xf),
                _ => return None,
            },
            _ => return None,
        };
        Some((kind, self.immediate()?))
    }
}
