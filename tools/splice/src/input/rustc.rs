// SPDX-License-Identifier: GPL-2.0

//! Rust crates of a built tree, as Kbuild's recorded `rustc` command builds them.
//!
//! Kbuild compiles a whole crate (the kernel crate `rust/kernel.o`, a Rust module, the Rust
//! part of a subsystem) into one object with one command, whose crate root is the last `.rs`
//! argument; the crate's other files are found from the root (`mod x;`). Crates that use it
//! read its metadata (`rust/libkernel.rmeta`) with `--extern`, and a function the crate
//! makes inlinable (generic, `#[inline]`, or small enough for rustc to inline across crates
//! on its own) is compiled into those crates as well. So a change to a crate compiles that
//! crate and every crate of the tree built against it, before and after; the post side of
//! a dependent crate reads the post metadata.
//!
//! The command is run again as recorded, except: outputs redirected, `-Zfunction-sections=y`
//! (one section per function, as `-ffunction-sections` for C), the crate root from the
//! overlay with the overlay's prefix mapped away (file names in panic locations stay the
//! tree's). The program stays the recorded one: a `CLIPPY=1` build ran `clippy-driver`,
//! whose MIR is not optimized as rustc's is, so its code is not rustc's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::kbuild::{CmdFile, Recompile};

/// Whether `command` is a rustc command (it emits the object with `--emit=obj=`).
pub fn is_rust_command(command: &str) -> bool {
    command
        .split_whitespace()
        .any(|t| t.starts_with("--emit=obj="))
}

/// The crate a rustc command builds: its name and root file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crate {
    /// `--crate-name`, or the root file's name (`kernel`, `splice_target_rust`).
    pub name: String,
    /// The crate root, relative to the tree (`rust/kernel/lib.rs`).
    pub root: String,
    /// Where the build wrote the crate's metadata, if it did (`rust/libkernel.rmeta`): a
    /// crate others are built against.
    pub metadata: Option<String>,
}

/// The crate `command` builds, `None` if it is not a rustc command.
pub fn crate_of(command: &str) -> Option<Crate> {
    if !is_rust_command(command) {
        return None;
    }
    let toks: Vec<&str> = command.split_whitespace().collect();
    let root = toks
        .iter()
        .find(|t| t.ends_with(".rs") && !t.starts_with('-') && !t.contains('='))?
        .trim_start_matches("./")
        .to_owned();
    // Kbuild names the crate of a module or driver after its file (rustc's default).
    let name = match toks.iter().position(|t| *t == "--crate-name") {
        Some(i) => toks.get(i + 1)?.to_string(),
        None => Path::new(&root).file_stem()?.to_string_lossy().into_owned(),
    };
    let metadata = toks
        .iter()
        .find_map(|t| t.strip_prefix("--emit=metadata="))
        .map(|m| m.trim_start_matches("./").to_owned());
    Some(Crate {
        name,
        root,
        metadata,
    })
}

/// The crate of `cf`, which must be a rustc command's record.
pub fn crate_of_cmd(cf: &CmdFile) -> Result<Crate> {
    match crate_of(&cf.command) {
        Some(c) => Ok(c),
        None => bail!(
            "{}: the recorded rustc command names no crate and root file",
            cf.object
        ),
    }
}

/// The rustc command that compiles `cf` as `r` says (see the module documentation).
pub fn recompile_command(cf: &CmdFile, r: &Recompile) -> Result<String> {
    let krate = crate_of_cmd(cf)?;
    let out = r.output.to_string_lossy().into_owned();
    let mut toks: Vec<String> = Vec::new();
    let mut saw_sections = false;
    let mut saw_obj = false;
    let mut words = cf.command.split_whitespace().peekable();
    while let Some(t) = words.next() {
        if t.starts_with("-Zfunction-sections=") {
            saw_sections = true;
            toks.push(if r.plain {
                t.into()
            } else {
                "-Zfunction-sections=y".into()
            });
        } else if t.starts_with("--emit=dep-info=") {
            toks.push(format!("--emit=dep-info={out}.d"));
        } else if t.starts_with("--emit=obj=") {
            saw_obj = true;
            toks.push(format!("--emit=obj={out}"));
        } else if t.starts_with("--emit=metadata=") {
            if let Some(m) = &r.metadata {
                toks.push(format!("--emit=metadata={}", m.display()));
            }
        } else if t == "--extern" {
            let Some(name) = words.next() else {
                bail!("{}: the recorded command ends with --extern", cf.object);
            };
            let bare = name.split('=').next().unwrap_or(name);
            toks.push("--extern".into());
            match r.externs.iter().find(|(n, _)| n == bare) {
                Some((n, p)) => toks.push(format!("{n}={}", p.display())),
                None => toks.push(name.into()),
            }
        } else if t.trim_start_matches("./") == krate.root {
            match &r.source {
                Some(s) => toks.push(s.to_string_lossy().into_owned()),
                None => toks.push(t.into()),
            }
        } else {
            toks.push(t.into());
        }
    }
    if !saw_obj {
        bail!(
            "{}: the recorded rustc command has no --emit=obj=",
            cf.object
        );
    }
    if !saw_sections && !r.plain {
        toks.push("-Zfunction-sections=y".into());
    }
    if let Some(ov) = &r.overlay {
        toks.push(format!("--remap-path-prefix={}/=", ov.display()));
    }
    // Kbuild exports RUSTC_BOOTSTRAP=1 for its -Z options; a command run alone needs it.
    Ok(format!("RUSTC_BOOTSTRAP=1 {}", toks.join(" ")))
}

/// The files of the crate of `cf` that an overlay must hold for the crate to compile from
/// it: its sources under the tree (`.rs` files of its dependency list), not the metadata of
/// other crates or generated files outside the tree.
pub fn crate_sources(cf: &CmdFile) -> Vec<String> {
    cf.deps
        .iter()
        .filter(|d| d.ends_with(".rs") && !Path::new(d).is_absolute())
        .cloned()
        .collect()
}

/// The path of the metadata a post compile of `krate` writes under `post_objects`.
pub fn post_metadata(krate: &Crate, post_objects: &Path) -> Option<PathBuf> {
    krate.metadata.as_ref().map(|m| post_objects.join(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::kbuild::parse_cmd;

    const KERNEL: &str = "savedcmd_rust/kernel.o :=  OBJTREE=/t clippy-driver --edition=2021 -Cpanic=abort -Zfunction-sections=n --target=./scripts/target.json @./include/generated/rustc_cfg --extern ffi --extern pin_init --emit=dep-info=rust/.kernel.o.d --emit=obj=rust/kernel.o --emit=metadata=rust/libkernel.rmeta --crate-type rlib -L./rust --crate-name kernel rust/kernel/lib.rs --sysroot=/dev/null -Zunstable-options   \n\nsource_rust/kernel.o := /t/.clippy.toml\n\ndeps_rust/kernel.o := \\\n  rust/kernel/lib.rs \\\n    $(wildcard include/config/RUST) \\\n  rust/kernel/str.rs \\\n  ./rust/libffi.rmeta \\\n\n";

    const MODULE: &str = "savedcmd_samples/s/m.o := OBJTREE=/t RUST_MODFILE=samples/s/m rustc --edition=2021 -Zfunction-sections=n --cfg MODULE --extern ffi --extern kernel --crate-type rlib -L ./rust/ --out-dir samples/s/ --emit=dep-info=samples/s/.m.o.d --emit=obj=samples/s/m.o samples/s/m.rs   ; ./tools/objtool/objtool --orc --link --module samples/s/m.o\n\nsource_samples/s/m.o := samples/s/m.rs\n\ndeps_samples/s/m.o := \\\n  samples/s/m.rs \\\n  ./rust/libkernel.rmeta \\\n\n";

    #[test]
    fn a_crate_is_read_from_its_command() {
        let c = parse_cmd("rust/kernel.o", KERNEL).unwrap();
        assert!(is_rust_command(&c.command));
        let k = crate_of_cmd(&c).unwrap();
        assert_eq!(k.name, "kernel");
        assert_eq!(k.root, "rust/kernel/lib.rs");
        assert_eq!(k.metadata.as_deref(), Some("rust/libkernel.rmeta"));
        assert_eq!(
            crate_sources(&c),
            vec!["rust/kernel/lib.rs", "rust/kernel/str.rs"]
        );
        assert!(!is_rust_command("gcc -c -o a.o a.c"));
    }

    #[test]
    fn recompiled_with_sections_outputs_and_post_metadata() {
        let c = parse_cmd("rust/kernel.o", KERNEL).unwrap();
        let cmd = recompile_command(
            &c,
            &Recompile {
                source: Some("/w/post/rust/kernel/lib.rs".into()),
                output: "/w/o/post/rust/kernel.o".into(),
                overlay: Some("/w/post".into()),
                metadata: Some("/w/o/post/rust/libkernel.rmeta".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            cmd.starts_with("RUSTC_BOOTSTRAP=1 OBJTREE=/t clippy-driver "),
            "{cmd}"
        );
        assert!(cmd.contains(" -Zfunction-sections=y "));
        assert!(!cmd.contains("-Zfunction-sections=n"));
        assert!(cmd.contains(" --emit=obj=/w/o/post/rust/kernel.o "));
        assert!(cmd.contains(" --emit=dep-info=/w/o/post/rust/kernel.o.d "));
        assert!(cmd.contains(" --emit=metadata=/w/o/post/rust/libkernel.rmeta "));
        assert!(cmd.contains(" --crate-name kernel /w/post/rust/kernel/lib.rs "));
        assert!(cmd.ends_with(" --remap-path-prefix=/w/post/="));
        // The ordinary build: the recorded sections, no metadata.
        let plain = recompile_command(
            &c,
            &Recompile {
                output: "/w/plain/kernel.o".into(),
                plain: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(plain.contains(" -Zfunction-sections=n "));
        assert!(!plain.contains("--emit=metadata"));
    }

    #[test]
    fn a_dependent_crate_reads_the_post_metadata() {
        let c = parse_cmd("samples/s/m.o", MODULE).unwrap();
        let cmd = recompile_command(
            &c,
            &Recompile {
                output: "/w/o/post/samples/s/m.o".into(),
                externs: vec![("kernel".into(), "/w/o/post/rust/libkernel.rmeta".into())],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(cmd.contains(" --extern ffi --extern kernel=/w/o/post/rust/libkernel.rmeta "));
        assert!(
            cmd.contains(" --emit=obj=/w/o/post/samples/s/m.o samples/s/m.rs"),
            "{cmd}"
        );
        assert_eq!(crate_of_cmd(&c).unwrap().name, "m");
        assert_eq!(c.module.as_deref(), Some("m"));
        assert_eq!(c.objtool.as_deref(), Some("--orc --link --module"));
    }
}
