// SPDX-License-Identifier: GPL-2.0

//! Special sections: tables of entries that point into code, which the kernel (or the module
//! loader) uses to rewrite code at run time. Layouts are those of Linux 7.2 x86-64:
//!
//! * `.altinstructions`: `struct alt_instr` (`arch/x86/include/asm/alternative.h`, packed):
//!   `s32 instr_offset; s32 repl_offset; u32 ft_flags; u8 instrlen; u8 replacementlen;` (14).
//! * `__jump_table`: `struct jump_entry` (`include/linux/jump_label.h`):
//!   `s32 code; s32 target; long key;` (16; `key` is `.quad key - .`, an `R_X86_64_PC64`).
//! * `.static_call_sites`: `struct static_call_site` (`include/linux/static_call_types.h`):
//!   `s32 addr; s32 key;` (8).
//! * `__ex_table`: `struct exception_table_entry` (`arch/x86/include/asm/extable.h`):
//!   `int insn, fixup, data;` (12).
//! * `__bug_table`: `struct bug_entry` with `CONFIG_GENERIC_BUG_RELATIVE_POINTERS` and
//!   `HAVE_ARCH_BUG_FORMAT` (x86-64): `s32 bug_addr_disp; s32 format_disp;`, with
//!   `CONFIG_DEBUG_BUGVERBOSE` `s32 file_disp; u16 line;`, then `u16 flags;` (16, or 12
//!   without `CONFIG_DEBUG_BUGVERBOSE`: [`Layout`]).
//! * `.retpoline_sites`, `.return_sites`, `.call_sites`, `.smp_locks`, `.ibt_endbr_seal`,
//!   `.kcfi_traps` (the `ud2` of each kCFI check, clang's `-fsanitize=kcfi`; a module's go to
//!   its `__kcfi_traps`, `scripts/module.lds.S`): `s32` relative pointers (4).
//! * `__mcount_loc`, `__patchable_function_entries`: absolute addresses (8).
//! * `.orc_unwind_ip` (`s32`, 4) and `.orc_unwind` (`struct orc_entry`, 6, no relocations):
//!   parallel arrays.
//! * `.discard.annotate_insn`: objtool's annotations (`include/linux/annotate.h`):
//!   `s32 insn; u32 type;` (8). The linker drops them; objtool, run on the pack module,
//!   reads them, e.g. that the code after a `WARN()`'s `ud2` is reachable, and builds the
//!   carried code's ORC data accordingly.

use anyhow::{bail, Result};

use crate::elf::Sec;

/// A table of fixed-size entries whose field at `key` points into code.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    pub entry_size: u64,
    /// Offset in the entry of the relocated field that points at the code site.
    pub key: u64,
}

pub const ALTINSTRUCTIONS: &str = ".altinstructions";
pub const ALTINSTR_REPLACEMENT: &str = ".altinstr_replacement";
pub const ORC_UNWIND_IP: &str = ".orc_unwind_ip";
pub const ORC_UNWIND: &str = ".orc_unwind";
pub const ORC_ENTRY_SIZE: u64 = 6;

/// Every entry table copied into `repl.o` for the carried code. `.altinstructions` comes
/// first: it decides which parts of `.altinstr_replacement` are carried, and other tables may
/// point into those.
pub const TABLES: &[Table] = &[
    Table {
        name: ALTINSTRUCTIONS,
        entry_size: 14,
        key: 0,
    },
    Table {
        name: ".retpoline_sites",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: ".return_sites",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: ".call_sites",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: "__jump_table",
        entry_size: 16,
        key: 0,
    },
    Table {
        name: ".static_call_sites",
        entry_size: 8,
        key: 0,
    },
    Table {
        name: "__ex_table",
        entry_size: 12,
        key: 0,
    },
    Table {
        name: "__bug_table",
        entry_size: 16,
        key: 0,
    },
    Table {
        name: ".smp_locks",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: "__mcount_loc",
        entry_size: 8,
        key: 0,
    },
    Table {
        name: ORC_UNWIND_IP,
        entry_size: 4,
        key: 0,
    },
    Table {
        name: ".ibt_endbr_seal",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: ".kcfi_traps",
        entry_size: 4,
        key: 0,
    },
    Table {
        name: "__patchable_function_entries",
        entry_size: 8,
        key: 0,
    },
    Table {
        name: ".discard.annotate_insn",
        entry_size: 8,
        key: 0,
    },
];

/// The entry sizes that depend on the kernel's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `sizeof(struct bug_entry)`.
    pub bug_entry: u64,
}

impl Default for Layout {
    /// A distribution's kernel: `CONFIG_DEBUG_BUGVERBOSE=y`.
    fn default() -> Self {
        Layout { bug_entry: 16 }
    }
}

impl Layout {
    /// The layout of the kernel configured by `config` (the text of its `.config`).
    pub fn of_config(config: &str) -> Layout {
        let verbose = config.lines().any(|l| l == "CONFIG_DEBUG_BUGVERBOSE=y");
        Layout {
            bug_entry: if verbose { 16 } else { 12 },
        }
    }

    /// The size of an entry of `table` in section `sec` of object `path`: the
    /// configuration's, checked against what the object says (`sh_entsize`, when the
    /// assembler set one, and the section's size, which must hold whole entries).
    pub fn entry_size(&self, table: &Table, sec: &Sec, path: &str) -> Result<u64> {
        let size = if table.name == "__bug_table" {
            self.bug_entry
        } else {
            table.entry_size
        };
        if sec.entsize != 0 && sec.entsize != size {
            bail!(
                "{path}: {}: entries of {} bytes (sh_entsize), where this kernel's are {size}: \
                 splice does not know this layout",
                sec.name,
                sec.entsize
            );
        }
        if !sec.size.is_multiple_of(size) {
            bail!(
                "{path}: {}: {} bytes, not a whole number of {size}-byte entries: splice does \
                 not know this layout (is the tree's .config the one it was built with?)",
                sec.name,
                sec.size
            );
        }
        Ok(size)
    }
}

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Sections never copied to `repl.o`, and never carried because code refers to them.
pub fn is_dropped(name: &str) -> bool {
    name.starts_with(".discard")
        || name == ".comment"
        || (name.starts_with(".note") && name != ".note.GNU-stack")
        || name.starts_with(".init.")
        || name.starts_with(".exit.")
        || name.starts_with("__ksymtab")
        || name.starts_with(".initcall")
        || name.starts_with(".export_symbol")
        || name.starts_with(".debug")
        || name.starts_with(".BTF")
        || name == ORC_UNWIND
        || name == ALTINSTR_REPLACEMENT
        || table(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(name: &str, size: u64, entsize: u64) -> Sec {
        Sec {
            index: 1,
            name: name.into(),
            sh_type: 1,
            flags: 0,
            align: 4,
            entsize,
            link: 0,
            size,
            data: vec![0; size as usize],
            relocs: Vec::new(),
        }
    }

    #[test]
    fn entry_sizes_follow_the_configuration_and_the_object() {
        let bug = table("__bug_table").unwrap();
        let verbose = Layout::of_config("CONFIG_BUG=y\nCONFIG_DEBUG_BUGVERBOSE=y\n");
        let terse = Layout::of_config("CONFIG_BUG=y\n# CONFIG_DEBUG_BUGVERBOSE is not set\n");
        assert_eq!((verbose.bug_entry, terse.bug_entry), (16, 12));
        assert_eq!(
            verbose
                .entry_size(bug, &section("__bug_table", 48, 0), "x.o")
                .unwrap(),
            16
        );
        assert_eq!(
            terse
                .entry_size(bug, &section("__bug_table", 36, 0), "x.o")
                .unwrap(),
            12
        );
        // A remainder is an error, never a dropped tail.
        let e = verbose
            .entry_size(bug, &section("__bug_table", 36, 0), "x.o")
            .unwrap_err();
        assert!(
            format!("{e}").contains("not a whole number of 16-byte entries"),
            "{e}"
        );
        // What the assembler says wins over nothing, and must agree.
        let ex = table("__ex_table").unwrap();
        assert_eq!(
            verbose
                .entry_size(ex, &section("__ex_table", 24, 12), "x.o")
                .unwrap(),
            12
        );
        let e = verbose
            .entry_size(ex, &section("__ex_table", 32, 16), "x.o")
            .unwrap_err();
        assert!(format!("{e}").contains("16 bytes (sh_entsize)"), "{e}");
    }
}
