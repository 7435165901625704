// SPDX-License-Identifier: GPL-2.0

//! Changed code that a pack cannot redirect: boot- or load-time code and tables, idle and
//! entry code.

use anyhow::{bail, Result};

use crate::compare::{changed_functions, changed_init_functions};
use crate::elf::Obj;
use crate::policy::tables;

/// Sections of code that splice does not redirect: the idle code, which the kernel recognises
/// by the address it runs at, and the entry code, which runs before the kernel's stack and page
/// tables are set up. (`noinstr` functions, in `.noinstr.text`, are carried in a section of
/// that name, which the module loader records and kprobes leave alone.)
pub const UNREDIRECTABLE_SECTIONS: [&str; 2] = [".cpuidle.text", ".entry.text"];

/// Refuses, naming it, a change splice cannot make: `__init`/`__exit` code (it ran already,
/// or runs with the module's removal from its original copy), or idle or entry code
/// ([`UNREDIRECTABLE_SECTIONS`]) among the `changed` functions.
pub fn refuse_unpatchable(pre: &Obj, post: &Obj, changed: &[String]) -> Result<()> {
    if let Some(name) = changed_init_functions(pre, post)?.first() {
        bail!(
            "{}: {name}: __init or __exit code changes; splice cannot change code that \
             ran at boot or load (make the fix in the code that runs later)",
            post.path
        );
    }
    for name in changed {
        let Some(sec) = pre
            .defined(name)
            .and_then(|s| s.section)
            .and_then(|i| pre.sections.get(i))
            .filter(|sec| UNREDIRECTABLE_SECTIONS.contains(&sec.name.as_str()))
        else {
            continue;
        };
        let why = if sec.name == ".entry.text" {
            "it runs before the kernel's stack and page tables are set up"
        } else {
            "the kernel recognises idle CPUs by the address they run at"
        };
        bail!(
            "{}: {name}: idle or entry code ({}) changes; {why}, so it cannot be \
             redirected to a replacement in module text",
            post.path,
            sec.name
        );
    }
    Ok(())
}

/// The functions that differ between `pre` and `post` ([`changed_functions`]), refused if
/// the change is one no pack makes: of a boot- or load-time table ([`tables`]), or
/// [`refuse_unpatchable`].
pub fn patchable_changes(pre: &Obj, post: &Obj) -> Result<Vec<String>> {
    tables::refuse_table_changes(pre, post)?;
    let changed = changed_functions(pre, post)?;
    refuse_unpatchable(pre, post, &changed)?;
    Ok(changed)
}
