// SPDX-License-Identifier: GPL-2.0

//! splice userspace tools: the pack generator (`splice-create`) and the admin command
//! (`splice`).
//!
//! The generator is laid out as passes, each a module, the data flowing one way (as in
//! objtool's `klp-diff.c`); [`generate`] and [`assemble`] run them in this order:
//!
//! 1. [`input`][]: the patch ([`input::diff`]), what Kbuild recorded of the tree
//!    ([`input::kbuild`]), the post source's kept line numbers ([`input::lines`]),
//!    `Module.symvers` and `System.map` ([`input::symvers`]).
//! 2. The object model: [`elf`][] (objects, canonical names of relocation targets),
//!    [`x86`][] (decoded branches, relocation types), [`sites`][] (run-time site markers),
//!    [`names`][] (names the compiler makes), [`special`][] (special sections' layouts).
//! 3. [`correlate`][]: post symbols named as the pre symbols they correspond to.
//! 4. [`compare`][]: which functions and data differ.
//! 5. [`policy`][]: every refusal, with its kind ([`policy::Stop`]).
//! 6. [`clone`][]: what is carried, and how each relocation is resolved.
//! 7. [`register`][]: the entries the core must know, the blob's metadata of them.
//! 8. [`emit`][]: `repl.o`, the module glue, the linked module's livepatch relocations;
//!    [`format`](mod@format) is the metadata blob (format v1, `Documentation/splice/pack-format.rst`)
//!    and [`report`][] the report.
//! 9. [`equiv`][]: the evidence, every replacement against an ordinary rebuild.
//!
//! [`pool`][] runs the compiles in parallel. [`admin`][] is the `splice` command's side.
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
//! * Functions and objects are paired by name. Numbered function-local statics (`x.0`) and
//!   compiler clones (`.constprop.N`, `.isra.N`, `.part.N`) renumbered between pre and post
//!   are paired by their users or when the pairing is unique
//!   ([`correlate::correlate_locals`]); others are new things (carried).
//! * A changed initial value of an existing writable variable is refused unless the patch
//!   has hooks (its live state is kept); a changed read-only object is carried anew.
//! * Special-section entries of carried code (jump labels, static calls, ...) are resolved
//!   by the module loader, not the core: their keys must be exported, carried, or (with
//!   `CONFIG_LIVEPATCH`) named uniquely in `System.map` for a livepatch relocation.
//! * `repl.o` is written for x86-64 only.

pub mod admin;
pub mod assemble;
pub mod boot;
pub mod clone;
pub mod compare;
pub mod correlate;
pub mod crates;
pub mod elf;
pub mod emit;
pub mod equiv;
pub mod format;
pub mod generate;
pub mod input;
pub mod inventory;
pub mod names;
pub mod package;
pub mod policy;
pub mod pool;
pub mod register;
pub mod report;
pub mod signals;
pub mod sites;
pub mod special;
pub mod x86;

/// Lets a write to a closed pipe end the process, as it ends `cat` or `grep`.
///
/// Rust ignores `SIGPIPE`, so `println!` to a pipe whose reader has gone (`splice status |
/// grep -q applied`, `splice-create ... | head`) panics with a backtrace hint. The tools call
/// this first thing in `main()`: the kernel is never left half-changed by it, since every
/// action is one `write(2)` to sysfs that is complete before its result is printed.
pub fn default_sigpipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: `SigDfl` installs no handler; the process is single-threaded when `main()`
    // starts, so nothing races with the change of disposition.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

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
mod correlate_tests;
#[cfg(test)]
mod tests;
