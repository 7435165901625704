// SPDX-License-Identifier: GPL-2.0

//! The emit pass: the files of the pack module, `repl<k>.o` ([`repl`]), `stub.c` and
//! `Kbuild` ([`stub`]), and, once it is linked, its livepatch relocations ([`loadrel`]).

pub mod loadrel;
pub mod repl;
pub mod stub;

use anyhow::{Context, Result};

use crate::report::Report;

/// Everything `assemble` writes.
#[derive(Clone, Debug)]
pub struct Output {
    pub modname: String,
    pub kbuild: String,
    /// `repl<k>.o` of each unit.
    pub repl_objs: Vec<Vec<u8>>,
    pub stub_c: String,
    pub blob: Vec<u8>,
    pub report: Report,
}

impl Output {
    /// How many entries the pack registers (targets and fixups).
    pub fn registered(&self) -> usize {
        self.report.targets.len() + self.report.fixups.len()
    }

    /// Writes `Kbuild`, `repl<k>.o`, `stub.c`, `pack-meta.bin` and `report.json` into `dir`,
    /// creating it.
    pub fn write_to(&self, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        let report = serde_json::to_string_pretty(&self.report)? + "\n";
        let mut files: Vec<(String, &[u8])> = vec![
            ("Kbuild".into(), self.kbuild.as_bytes()),
            ("stub.c".into(), self.stub_c.as_bytes()),
            ("pack-meta.bin".into(), &self.blob[..]),
            ("report.json".into(), report.as_bytes()),
        ];
        for (k, o) in self.repl_objs.iter().enumerate() {
            files.push((format!("repl{k}.o"), &o[..]));
        }
        for (name, data) in files {
            let p = dir.join(name);
            std::fs::write(&p, data).with_context(|| format!("{}: cannot write", p.display()))?;
        }
        Ok(())
    }
}
