// SPDX-License-Identifier: GPL-2.0

//! Changes of existing data, which a pack cannot make to the live copy.

/// Refuses changes to existing writable data objects (their size or initial value): the
/// running kernel's copy holds live state that a new initializer cannot reach, unless the
/// patch supplies hooks to convert it. Read-only data that changed is carried as a new copy.
use anyhow::{bail, Result};
use object::elf;

use crate::compare::{same_data_bytes, same_data_pointers};
use crate::elf::Obj;

pub fn refuse_data_changes(pre: &Obj, post: &Obj) -> Result<()> {
    if post.declares_hooks() {
        return Ok(());
    }
    for b in post.symbols.iter().filter(|s| s.is_object() && s.size > 0) {
        let Some(sec) = b.section.and_then(|i| post.sections.get(i)) else {
            continue;
        };
        if sec.flags & u64::from(elf::SHF_WRITE) == 0 || sec.is_init_or_exit() {
            continue;
        }
        let Some(a) = pre.defined(&b.name).filter(|a| a.is_object()) else {
            continue;
        };
        let differs = a.size != b.size
            || (!sec.is_nobits() && !same_data_bytes(pre, a, post, b, &sec.name)?)
            || !same_data_pointers(pre, a, post, b)?
            || pre
                .sections
                .get(a.section.unwrap_or(0))
                .is_some_and(|s| s.is_nobits() != sec.is_nobits());
        if differs {
            bail!(
                "{}: {}: an existing data object changes ({} -> {} bytes or a new initial \
                 value); its live copy would not follow. Supply splice hooks \
                 (include/linux/splice_pack.h) that convert it, or change code only",
                post.path,
                b.name,
                a.size,
                b.size
            );
        }
    }
    Ok(())
}
