// SPDX-License-Identifier: GPL-2.0

//! What a patch touches: refused when it is a kind of file or change splice does not
//! build (before any compiler runs, so the message names the file, not a Kbuild error).

use std::path::Path;

use anyhow::{bail, Result};

use crate::input::diff::{self, Change};

pub fn refuse_files(p: &diff::Patch, patch: &Path) -> Result<()> {
    for f in &p.files {
        let path = &f.path;
        let base = path.rsplit('/').next().unwrap_or(path);
        if path.ends_with(".S") || path.ends_with(".s") {
            bail!(
                "{}: {path}: assembly file; splice patches C code only",
                patch.display()
            );
        }
        if base == "Makefile" || base == "Kbuild" || base.starts_with("Kconfig") {
            bail!(
                "{}: {path}: build system change; a pack cannot change how the kernel is built",
                patch.display()
            );
        }
        match f.change {
            Change::Deleted => bail!(
                "{}: {path}: the patch deletes a file; splice cannot",
                patch.display()
            ),
            Change::Added if path.ends_with(".c") => bail!(
                "{}: {path}: the patch adds a new object file; add the code to an existing file",
                patch.display()
            ),
            _ => {}
        }
    }
    Ok(())
}
