// SPDX-License-Identifier: GPL-2.0

//! The plan and compile passes for Rust ([`crate::input::rustc`]): which crates a change to
//! `.rs` files compiles, in which order, and which post metadata each reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::input::kbuild::{self, CmdFile};
use crate::input::rustc;

/// The crates to compile for changed `.rs` files.
pub struct Crates {
    /// The objects of the crates built from the files, and of every crate built against
    /// one of those (transitively).
    pub objects: Vec<String>,
    /// Files no crate of the tree is built from (a driver this configuration leaves out).
    pub not_built: Vec<String>,
}

/// The crates of `tree` built from `files` and the crates built against them.
pub fn plan(tree: &Path, files: &[String]) -> Result<Crates> {
    let direct = kbuild::dependents(tree, files)?;
    let mut objects: BTreeSet<String> = BTreeSet::new();
    let mut not_built = Vec::new();
    for f in files {
        let hit: Vec<&String> = direct
            .iter()
            .filter(|(_, fs)| fs.contains(f))
            .map(|(o, _)| o)
            .collect();
        if hit.is_empty() {
            not_built.push(f.clone());
        }
        objects.extend(hit.into_iter().cloned());
    }
    // Crates that read the metadata of a planned crate, until no more join.
    let mut metadata: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    loop {
        for o in &objects {
            if seen.insert(o.clone()) {
                if let Some(m) = kbuild::read_cmd(tree, o)
                    .ok()
                    .and_then(|cf| rustc::crate_of(&cf.command))
                    .and_then(|k| k.metadata)
                {
                    metadata.push(m);
                }
            }
        }
        if metadata.is_empty() {
            break;
        }
        let users = kbuild::dependents(tree, &std::mem::take(&mut metadata))?;
        let before = objects.len();
        objects.extend(users.into_keys());
        if objects.len() == before {
            break;
        }
    }
    Ok(Crates {
        objects: objects.into_iter().collect(),
        not_built,
    })
}

/// The Rust objects of `cmds` in an order that compiles a crate after every crate of
/// `cmds` it reads the metadata of.
pub fn order(cmds: &[CmdFile]) -> Vec<&CmdFile> {
    let mut left: Vec<&CmdFile> = cmds.iter().filter(|c| c.is_rust()).collect();
    let mut out: Vec<&CmdFile> = Vec::new();
    while !left.is_empty() {
        let ready = left.iter().position(|c| {
            !left.iter().any(|u| {
                u.object != c.object
                    && rustc::crate_of(&u.command)
                        .and_then(|k| k.metadata)
                        .is_some_and(|m| c.deps.contains(&m))
            })
        });
        // A cycle cannot happen between crates; take the first if it did.
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

/// For the post side: each crate of `cmds` that others read, with the metadata its post
/// compile wrote under `post_objects` (once written).
pub fn post_externs(cmds: &[CmdFile], post_objects: &Path) -> Vec<(String, PathBuf)> {
    cmds.iter()
        .filter_map(|c| rustc::crate_of(&c.command))
        .filter_map(|k| {
            let p = rustc::post_metadata(&k, post_objects)?;
            p.exists().then_some((k.name, p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::kbuild::parse_cmd;

    fn cmd(object: &str, name: &str, root: &str, meta: bool, deps: &[&str]) -> CmdFile {
        let m = if meta {
            format!(" --emit=metadata=rust/lib{name}.rmeta")
        } else {
            String::new()
        };
        let d: String = deps.iter().map(|d| format!("  {d} \\\n")).collect();
        let text = format!(
            "savedcmd_{object} := rustc --emit=obj={object}{m} --crate-name {name} {root}\n\n\
             deps_{object} := \\\n{d}\n"
        );
        parse_cmd(object, &text).unwrap()
    }

    #[test]
    fn a_crate_compiles_after_the_crates_it_reads() {
        let m = cmd(
            "samples/m.o",
            "m",
            "samples/m.rs",
            false,
            &["samples/m.rs", "./rust/libkernel.rmeta"],
        );
        let k = cmd(
            "rust/kernel.o",
            "kernel",
            "rust/kernel/lib.rs",
            true,
            &["rust/kernel/lib.rs"],
        );
        let c = parse_cmd(
            "a.o",
            "savedcmd_a.o := gcc -c -o a.o a.c\n\nsource_a.o := a.c\n",
        )
        .unwrap();
        let cmds = vec![m, c, k];
        let o: Vec<&str> = order(&cmds).iter().map(|c| c.object.as_str()).collect();
        assert_eq!(o, vec!["rust/kernel.o", "samples/m.o"]);
    }
}
