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

pub mod assemble;
pub mod elf;
pub mod format;
pub mod sites;
pub mod special;
pub mod stub;
pub mod symvers;

#[cfg(test)]
mod tests;
