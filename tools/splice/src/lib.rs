// SPDX-License-Identifier: GPL-2.0

//! splice userspace tools: the pack assembler behind `splice-create assemble`.
//!
//! * [`format`][]: the pack metadata blob, format v1 (`Documentation/splice/pack-format.rst`).
//! * [`elf`][]: the pre/post objects, and canonical names of relocation targets.
//! * [`sites`][]: run-time site markers of pre code.
//! * [`special`][]: special sections (alternatives, exception table, ...) and their layouts.
//! * [`assemble`][]: targets, carried code and data, `repl.o`, blob, report.
//! * [`stub`][]: `stub.c` and `Kbuild` of the pack module.
//! * [`symvers`][]: `Module.symvers`.
//!
//! # Canonical symbol names
//!
//! Pre and post relocations are named by one rule ([`elf::Obj::canon`]), so the names agree
//! between the two objects and with what the kernel's matcher sees:
//!
//! * a relocation against a section symbol names the function/object symbol of that section
//!   at the target (for PC-relative types, `addend + 4`), or the only one of the section, with
//!   the addend made relative to it (`.text.foo + 12` → `foo - 4`); if there is none, or the
//!   section is mergeable (`.rodata.str*`, `.rodata.cst*`), it names the section, flagged
//!   local;
//! * a local symbol in a mergeable section (a `.LC` label kept by the assembler) is named by
//!   its section, the addend adjusted by its value;
//! * other local symbols name themselves, flagged local; globals and undefined symbols name
//!   themselves, not flagged.
//!
//! # Known limits
//!
//! * Functions and objects are paired by name: GCC clone suffixes (`.constprop.N`,
//!   `.isra.N`, `.part.N`) and numbered function-local statics (`x.0`) that are renumbered
//!   between pre and post are seen as new things (carried) rather than as the same thing.
//! * A changed initial value of an existing writable variable is not patched (its live
//!   state is kept); a changed read-only object is carried anew.
//! * Special-section entries of carried code (jump labels, static calls, ...) must refer to
//!   exported or carried symbols: the module loader resolves them, not the core. A jump label
//!   on a `static` key of the object is refused.
//! * `repl.o` is written for x86-64 only.

pub mod admin;
pub mod assemble;
pub mod diff;
pub mod elf;
pub mod format;
pub mod generate;
pub mod kbuild;
pub mod layout;
pub mod loadrel;
pub mod sites;
pub mod special;
pub mod split;
pub mod stub;
pub mod symvers;
pub mod tables;

/// For the tests (unit and command line): compiler flags that make code shaped like the
/// kernel's (ftrace entries, IBT, retpolines, return thunks, kernel code model).
#[doc(hidden)]
pub mod testing {
    pub const KERNEL_LIKE_CFLAGS: &[&str] = &[
        "-O2",
        "-mcmodel=kernel",
        "-fno-pic",
        "-mno-red-zone",
        "-ffunction-sections",
        "-fdata-sections",
        "-pg",
        "-mfentry",
        "-mrecord-mcount",
        "-fcf-protection=branch",
        "-mindirect-branch=thunk-extern",
        "-mfunction-return=thunk-extern",
        "-fno-asynchronous-unwind-tables",
        "-fno-jump-tables",
    ];
}

#[cfg(test)]
mod tests;
