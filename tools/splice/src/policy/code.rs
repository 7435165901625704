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
        refuse_merged(pre, name)?;
        refuse_merged(post, name)?;
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

/// Refuses `name` if, in `o`, its code is also that of other function symbols: one body
/// under several names, as rustc makes of functions whose code is the same
/// (`-Zmerge-functions`, generic instances such as `ParseInt::from_str` for `i32` and
/// `u32`), or a C alias. A pack replaces one function's code by one name; the names would
/// not stay one body after the fix.
fn refuse_merged(o: &Obj, name: &str) -> Result<()> {
    let Some(f) = o.defined(name).filter(|s| s.is_func()) else {
        return Ok(());
    };
    let names: Vec<&str> = o
        .symbols
        .iter()
        .filter(|s| s.is_func() && s.size > 0 && s.section == f.section && s.value == f.value)
        .map(|s| s.name.as_str())
        .collect();
    if names.len() < 2 {
        return Ok(());
    }
    let how = if name.starts_with("_R") {
        "rustc merged functions whose code is the same (-Zmerge-functions)"
    } else {
        "aliases of one function"
    };
    bail!(
        "{}: {name}: one body under {} names ({}): {how}; splice cannot replace a body of \
         several names yet (the fix needs a reboot)",
        o.path,
        names.len(),
        names.join(", ")
    );
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
