// SPDX-License-Identifier: GPL-2.0

//! The report of a pack (`report.json`): what was carried and why, for the admin and the
//! tests.

use std::collections::BTreeMap;

use serde::Serialize;

/// One target, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportTarget {
    pub function: String,
    /// A Rust function's path (`kernel::str::kstrtobool_bytes`), from its mangled name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust: Option<String>,
    /// The object the function is compiled in (two objects may each have a static of the
    /// same name).
    pub object: String,
    pub replacement: String,
    pub core_relocs: usize,
}

/// One registered entry that is not a target, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFixup {
    pub carried: String,
    pub replacement: String,
    pub core_relocs: usize,
}

/// What was done, as `report.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub pack: String,
    pub module: String,
    /// The objects (compilation units) of the pack.
    pub objects: Vec<String>,
    pub pre_functions: usize,
    pub targets: Vec<ReportTarget>,
    pub fixups: Vec<ReportFixup>,
    /// Entries of the hook table.
    pub hooks: usize,
    /// Carried functions that are not targets (new functions, `.cold` parts).
    pub carried_new_functions: Vec<String>,
    /// Carried data: objects by name, anonymous sections by section name.
    pub carried_data: Vec<String>,
    pub carried_sections: Vec<String>,
    /// Relocations the core resolves (targets and fixups).
    pub core_resolved_relocations: usize,
    /// Relocations left in `repl.o` for the module loader.
    pub kept_elf_relocations: usize,
    /// Entries of special sections copied to `repl.o`, by section.
    pub special_entries: BTreeMap<String, usize>,
    /// Symbols of `repl.o` the module loader resolves.
    pub undefined_symbols: Vec<String>,
}

impl Report {
    /// Adds what one unit did.
    pub fn merge(&mut self, u: Report) {
        self.objects.extend(u.objects);
        self.pre_functions += u.pre_functions;
        self.targets.extend(u.targets);
        self.fixups.extend(u.fixups);
        self.carried_new_functions.extend(u.carried_new_functions);
        self.carried_data.extend(u.carried_data);
        self.carried_sections.extend(u.carried_sections);
        self.core_resolved_relocations += u.core_resolved_relocations;
        self.kept_elf_relocations += u.kept_elf_relocations;
        for (k, v) in u.special_entries {
            *self.special_entries.entry(k).or_default() += v;
        }
    }
}
