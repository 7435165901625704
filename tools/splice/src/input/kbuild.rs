// SPDX-License-Identifier: GPL-2.0

//! What Kbuild recorded about a built tree: the command that compiled each object and the
//! files it depended on (`.<object>.cmd`), and the command objtool ran.
//!
//! The generator compiles objects again with Kbuild's own recorded command, so the flags are
//! exactly the running kernel's; it only redirects the output, adds
//! `-ffunction-sections -fdata-sections`, and for the patched side puts the patched files
//! first on the include paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Kbuild's record of one object.
#[derive(Clone, Debug)]
pub struct CmdFile {
    /// The object, relative to the tree (`fs/proc/version.o`).
    pub object: String,
    /// The source it was compiled from (`fs/proc/version.c`).
    pub source: String,
    /// The compile command (without the objtool part).
    pub command: String,
    /// objtool's arguments when Kbuild ran it on this object (module objects), without the
    /// object's name.
    pub objtool: Option<String>,
    /// The module the object is linked into, `None` for vmlinux.
    pub module: Option<String>,
    /// Files it was built from, relative to the tree.
    pub deps: Vec<String>,
}

impl CmdFile {
    /// Whether the object was assembled from a `.S` file.
    pub fn is_asm(&self) -> bool {
        self.source.ends_with(".S")
    }

    /// Whether the object is a Rust crate ([`super::rustc`]).
    pub fn is_rust(&self) -> bool {
        self.source.ends_with(".rs")
    }
}

/// The `.cmd` file of `object`.
pub fn cmd_path(tree: &Path, object: &str) -> PathBuf {
    let p = Path::new(object);
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(object);
    tree.join(p.parent().unwrap_or(Path::new("")))
        .join(format!(".{name}.cmd"))
}

/// Parses the text of a `.cmd` file.
pub fn parse_cmd(object: &str, text: &str) -> Result<CmdFile> {
    let mut command = None;
    let mut source = None;
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("savedcmd_") {
            command = rest.split_once(" := ").map(|(_, c)| c.to_owned());
            in_deps = false;
        } else if let Some(rest) = line.strip_prefix("source_") {
            source = rest.split_once(" := ").map(|(_, s)| s.trim().to_owned());
            in_deps = false;
        } else if line.starts_with("deps_") {
            in_deps = true;
        } else if in_deps {
            let d = line.trim().trim_end_matches('\\').trim();
            if d.is_empty() {
                if !line.ends_with('\\') {
                    in_deps = false;
                }
                continue;
            }
            if !d.starts_with("$(") {
                deps.push(d.trim_start_matches("./").to_owned());
            }
            if !line.ends_with('\\') {
                in_deps = false;
            }
        }
    }
    let Some(full) = command else {
        bail!("{object}: no savedcmd in its .cmd file");
    };
    let (command, objtool) = match full.split_once(" ; ./tools/objtool/objtool ") {
        Some((c, o)) => {
            let o = o.trim();
            let o = o.strip_suffix(object).unwrap_or(o).trim().to_owned();
            (c.trim().to_owned(), Some(o))
        }
        None => (full.trim().to_owned(), None),
    };
    // A rustc command's source is its crate root (with CLIPPY=1 Kbuild records clippy's
    // configuration file as the source).
    let source = match (super::rustc::crate_of(&command), source) {
        (Some(krate), _) => krate.root,
        (None, Some(s)) => s.trim_start_matches("./").to_owned(),
        (None, None) => bail!("{object}: no source_ line in its .cmd file"),
    };
    let module = if command.contains(" --cfg MODULE ") {
        // A Rust module: Kbuild passes its name as the path of its .mod file.
        command
            .split_whitespace()
            .find_map(|t| t.strip_prefix("RUST_MODFILE="))
            .map(|m| m.rsplit('/').next().unwrap_or(m).to_owned())
    } else if command.contains(" -DMODULE ") {
        command
            .split_once("-DKBUILD_MODNAME='\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(m, _)| m.to_owned())
    } else {
        None
    };
    Ok(CmdFile {
        object: object.to_owned(),
        source,
        command,
        objtool,
        module,
        deps,
    })
}

/// Kbuild's record of `object` in `tree`.
pub fn read_cmd(tree: &Path, object: &str) -> Result<CmdFile> {
    let p = cmd_path(tree, object);
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    parse_cmd(object, &text)
}

/// Directories whose objects are never part of the running kernel's text.
const NOT_KERNEL: &[&str] = &[
    "scripts/",
    "tools/",
    "usr/",
    "arch/x86/boot/",
    "arch/x86/realmode/",
    "arch/x86/entry/vdso/",
    "arch/x86/tools/",
    "Documentation/",
];

/// Whether `object` can be code of the running kernel (vmlinux or a module).
pub fn is_kernel_object(object: &str) -> bool {
    object.ends_with(".o")
        && !NOT_KERNEL.iter().any(|d| object.starts_with(d))
        && !object.ends_with(".mod.o")
        && !object.contains("/.tmp_")
        && !object.starts_with(".")
}

/// Every kernel object of `tree` that was compiled from a source file and depends on one
/// of `files`: object -> the files among `files` it depends on.
pub fn dependents(tree: &Path, files: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![tree.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(_) => continue,
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if name != ".git" && name != ".splice" {
                    stack.push(path);
                }
                continue;
            }
            let Some(obj) = name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".o.cmd"))
            else {
                continue;
            };
            let rel_dir = dir.strip_prefix(tree).unwrap_or(Path::new(""));
            let object = rel_dir
                .join(format!("{obj}.o"))
                .to_string_lossy()
                .into_owned();
            if !is_kernel_object(&object) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            // Cheap test before parsing.
            if !files.iter().any(|f| text.contains(f.as_str())) {
                continue;
            }
            let Ok(cf) = parse_cmd(&object, &text) else {
                continue;
            };
            let hit: Vec<String> = files
                .iter()
                .filter(|f| cf.deps.iter().any(|d| d == *f) || cf.source == **f)
                .cloned()
                .collect();
            if !hit.is_empty() {
                out.insert(object, hit);
            }
        }
    }
    Ok(out)
}

/// The arguments objtool ran with on vmlinux.o, for objects of vmlinux, without the object's
/// name and without `--link` and the checks that need it (`--ibt`, `--noinstr`, `--unret`,
/// `--klp-symids`: objtool refuses them on one object; a distro-like configuration, with
/// `CONFIG_NOINSTR_VALIDATION` or the untraining mitigations, has them).
pub fn vmlinux_objtool_args(tree: &Path) -> Result<String> {
    let p = tree.join(".vmlinux.o.cmd");
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    let at = text
        .find("objtool/objtool ")
        .with_context(|| format!("{}: objtool is not run on vmlinux.o", p.display()))?;
    let rest = &text[at + "objtool/objtool ".len()..];
    let args = rest.split([';', '\n']).next().unwrap_or("");
    let args: Vec<&str> = args
        .split_whitespace()
        .filter(|a| {
            !matches!(
                *a,
                "--ibt" | "--link" | "--noinstr" | "--unret" | "--klp-symids" | "vmlinux.o"
            )
        })
        .collect();
    Ok(args.join(" "))
}

/// How to compile an object again.
#[derive(Clone, Debug, Default)]
pub struct Recompile {
    /// The source to compile instead of the recorded one (absolute), if any.
    pub source: Option<PathBuf>,
    /// Where the object goes (absolute).
    pub output: PathBuf,
    /// Directories searched before the tree's include directories: for each `-I<dir>` of
    /// the command, `<overlay>/<dir>` if it exists.
    pub overlay: Option<PathBuf>,
    /// Compile as the tree's build did, without `-ffunction-sections -fdata-sections`: the
    /// ordinary build a pack's code is compared with ([`crate::equiv`]).
    pub plain: bool,
    /// Rust: crates read from another metadata file than the tree's (`--extern NAME=PATH`),
    /// the post metadata of a crate compiled before this one.
    pub externs: Vec<(String, PathBuf)>,
    /// Rust: where the crate's metadata goes, for the crates compiled after it; none is
    /// written without.
    pub metadata: Option<PathBuf>,
}

/// The command that compiles `cf` as `r` says, with `-ffunction-sections -fdata-sections`
/// (and `-g` if it has no debug info) unless `r.plain`.
pub fn recompile_command(cf: &CmdFile, r: &Recompile) -> Result<String> {
    if cf.is_rust() {
        return super::rustc::recompile_command(cf, r);
    }
    let mut cmd = cf.command.clone();
    let obj_path = Path::new(&cf.object);
    let dir = obj_path.parent().unwrap_or(Path::new("")).to_string_lossy();
    let name = obj_path.file_name().unwrap_or_default().to_string_lossy();
    let depfile = if dir.is_empty() {
        format!(".{name}.d")
    } else {
        format!("{dir}/.{name}.d")
    };
    let out = r.output.to_string_lossy();
    cmd = cmd.replace(&format!("-Wp,-MMD,{depfile}"), &format!("-Wp,-MMD,{out}.d"));
    let o = format!(" -o {} ", cf.object);
    if !cmd.contains(&o) {
        bail!(
            "{}: the recorded command has no '-o {}'",
            cf.object,
            cf.object
        );
    }
    cmd = cmd.replacen(&o, &format!(" -o {out} "), 1);
    let src_suffix = format!(" {}", cf.source);
    let Some(base) = cmd.strip_suffix(&src_suffix) else {
        bail!(
            "{}: the recorded command does not end with its source {}",
            cf.object,
            cf.source
        );
    };
    let mut base = base.to_owned();
    if let Some(ov) = &r.overlay {
        let front = overlay_options(cf, &base, ov);
        let (cc, rest) = base.split_once(' ').unwrap_or((base.as_str(), ""));
        base = format!("{cc} {} {rest}", front.join(" "));
    }
    let src = match &r.source {
        Some(s) => s.to_string_lossy().into_owned(),
        None => cf.source.clone(),
    };
    if r.plain {
        return Ok(format!("{base} {src}"));
    }
    // The types the unit uses, for the layout check from the compiled types
    // (`policy::types`); `-g` does not change the code GCC makes.
    let debug = base
        .split_whitespace()
        .any(|t| matches!(t, "-g" | "-g2" | "-g3") || t.starts_with("-gdwarf"));
    let g = if debug { "" } else { " -g" };
    Ok(format!(
        "{base}{g} -ffunction-sections -fdata-sections {src}"
    ))
}

/// The options that put overlay `ov` (the patched files) in front of the tree for the
/// compile of `cf` whose recorded command, up to its source, is `base`: its headers found
/// first, and `__FILE__` what the tree's build makes of it.
fn overlay_options(cf: &CmdFile, base: &str, ov: &Path) -> Vec<String> {
    // __FILE__ as in the tree's build: relative to the tree for the source, as found on
    // the include path for headers (GCC uses the last matching map, so general first).
    let mut front = vec![format!("-fmacro-prefix-map={}/=", ov.display())];
    // Patched headers first: an overlay directory for every include directory.
    for word in base.split_whitespace() {
        let Some(d) = word.strip_prefix("-I").filter(|d| !d.is_empty()) else {
            continue;
        };
        let d = d.trim_start_matches("./");
        let od = ov.join(d);
        if od.is_dir() {
            front.push(format!("-I{}", od.display()));
            front.push(format!(
                "-fmacro-prefix-map={}/=./{}/",
                od.display(),
                d.trim_end_matches('/')
            ));
        }
    }
    // The source itself as the tree's build names it (kernel/trace/x.c), even when its
    // directory is also an include directory (kernel/trace adds -I$(src)), whose map
    // above would make it ./kernel/trace/x.c: last, so that it wins. FORTIFY_SOURCE's
    // messages and WARN()s carry __FILE__.
    front.push(format!(
        "-fmacro-prefix-map={}={}",
        ov.join(&cf.source).display(),
        cf.source
    ));
    // Quoted includes next to the source: the tree's directory after the overlay's.
    let src_dir = Path::new(&cf.source).parent().unwrap_or(Path::new(""));
    front.push(format!("-iquote{}", src_dir.display()));
    front
}

/// The C compiler a tree was configured with: Kbuild keeps its `--version` line in
/// `CONFIG_CC_VERSION_TEXT` (`gcc (Debian 12.2.0-14) 12.2.0`,
/// `x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0`), whose first word is the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiler {
    /// The program Kbuild ran as `$(CC)`.
    pub program: String,
    /// Its `--version` line when the tree was configured.
    pub text: String,
}

impl Compiler {
    /// The compiler of the tree whose `.config` is `config`.
    pub fn of_config(config: &str) -> Result<Compiler> {
        let text = config
            .lines()
            .find_map(|l| l.strip_prefix("CONFIG_CC_VERSION_TEXT="))
            .map(|v| v.trim_matches('"').to_owned())
            .context(".config has no CONFIG_CC_VERSION_TEXT (configure the tree first)")?;
        let program = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        if program.is_empty() {
            bail!(".config: CONFIG_CC_VERSION_TEXT is empty");
        }
        Ok(Compiler { program, text })
    }

    /// Why a compiler whose `--version` prints `found` (None: it does not run) is not the
    /// tree's; `None` when it is.
    pub fn mismatch(&self, found: Option<&str>) -> Option<String> {
        match found {
            Some(line) if line.trim() == self.text => None,
            Some(line) => Some(format!(
                "`{} --version` prints '{}', the tree was built with '{}' \
                 (CONFIG_CC_VERSION_TEXT): code compiled by another compiler does not match \
                 the running kernel; run splice-create where the tree's compiler is (for \
                 Debian's toolchain: scripts/splice/buildroot.sh run)",
                self.program,
                line.trim(),
                self.text
            )),
            None => Some(format!(
                "the tree was built with '{}' (CONFIG_CC_VERSION_TEXT), and `{}` does not run \
                 here: run splice-create where the tree's compiler is (for Debian's \
                 toolchain: scripts/splice/buildroot.sh run)",
                self.text, self.program
            )),
        }
    }

    /// The first line `program --version` prints here, `None` if it does not run.
    pub fn installed_version(&self) -> Option<String> {
        let out = std::process::Command::new(&self.program)
            .arg("--version")
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "savedcmd_fs/proc/version.o := gcc -Wp,-MMD,fs/proc/.version.o.d -nostdinc -I./arch/x86/include -I./include -O2 -DKBUILD_MODNAME='\"version\"' -c -o fs/proc/version.o fs/proc/version.c\n\nsource_fs/proc/version.o := fs/proc/version.c\n\ndeps_fs/proc/version.o := \\\n  include/linux/compiler-version.h \\\n    $(wildcard include/config/CC_VERSION_TEXT) \\\n  include/linux/kconfig.h \\\n\nfs/proc/version.o: $(deps_fs/proc/version.o)\n\n$(deps_fs/proc/version.o):\n";

    const MOD: &str = "savedcmd_samples/m/m.o := gcc -Wp,-MMD,samples/m/.m.o.d -I./include -DMODULE -DKBUILD_MODNAME='\"m\"' -c -o samples/m/m.o samples/m/m.c   ; ./tools/objtool/objtool --orc --retpoline --link --module samples/m/m.o\n\nsource_samples/m/m.o := samples/m/m.c\n\ndeps_samples/m/m.o := \\\n  include/linux/module.h \\\n\n";

    #[test]
    fn cmd_files_are_read() {
        let c = parse_cmd("fs/proc/version.o", CMD).unwrap();
        assert_eq!(c.source, "fs/proc/version.c");
        assert_eq!(c.module, None);
        assert_eq!(c.objtool, None);
        assert_eq!(
            c.deps,
            vec![
                "include/linux/compiler-version.h",
                "include/linux/kconfig.h"
            ]
        );
        let m = parse_cmd("samples/m/m.o", MOD).unwrap();
        assert_eq!(m.module.as_deref(), Some("m"));
        assert_eq!(
            m.objtool.as_deref(),
            Some("--orc --retpoline --link --module")
        );
        assert!(m.command.ends_with("samples/m/m.c"));
    }

    #[test]
    fn recompile_redirects_and_adds_flags() {
        let c = parse_cmd("fs/proc/version.o", CMD).unwrap();
        let cmd = recompile_command(
            &c,
            &Recompile {
                output: "/w/pre/version.o".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(cmd.contains(" -o /w/pre/version.o "));
        assert!(cmd.contains("-Wp,-MMD,/w/pre/version.o.d "));
        assert!(cmd.ends_with(" -ffunction-sections -fdata-sections fs/proc/version.c"));
        // The tree was built without debug info: the types come from `-g`, once.
        assert!(cmd
            .contains(" -O2 -DKBUILD_MODNAME='\"version\"' -c -o /w/pre/version.o -g -ffunction"));
        let with_g = CMD.replace(" -O2 ", " -O2 -g ");
        let c2 = parse_cmd("fs/proc/version.o", &with_g).unwrap();
        let cmd2 = recompile_command(&c2, &Recompile::default()).unwrap();
        assert_eq!(cmd2.matches(" -g ").count(), 1, "{cmd2}");
        // The ordinary build a pack is compared with: the recorded flags alone.
        let plain = recompile_command(
            &c,
            &Recompile {
                output: "/w/plain/version.o".into(),
                plain: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!plain.contains("-ffunction-sections"));
        assert!(plain.ends_with(
            " -O2 -DKBUILD_MODNAME='\"version\"' -c -o /w/plain/version.o fs/proc/version.c"
        ));
    }

    /// A source whose directory is an include directory too (`-I./d`, as kernel/trace
    /// has): compiled from the overlay, its `__FILE__` is still the tree's `d/x.c`.
    #[test]
    fn the_overlay_keeps_the_file_name_of_the_source() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let ov = t.join("post");
        for d in [t.join("d"), ov.join("d")] {
            std::fs::create_dir_all(d).unwrap();
        }
        let src = "const char *where = __FILE__;\n";
        std::fs::write(t.join("d/x.c"), src).unwrap();
        std::fs::write(ov.join("d/x.c"), src).unwrap();
        let cf = parse_cmd(
            "d/x.o",
            "savedcmd_d/x.o := gcc -I./d -O2 -c -o d/x.o d/x.c\nsource_d/x.o := d/x.c\n",
        )
        .unwrap();
        let out = t.join("x.o");
        let cmd = recompile_command(
            &cf,
            &Recompile {
                source: Some(ov.join("d/x.c")),
                output: out.clone(),
                overlay: Some(ov.clone()),
                plain: true,
                ..Default::default()
            },
        )
        .unwrap();
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(t)
            .status()
            .unwrap();
        assert!(st.success(), "{cmd}");
        let o = crate::elf::Obj::read(&out).unwrap();
        let strings: Vec<u8> = o
            .sections
            .iter()
            .filter(|s| s.name.starts_with(".rodata"))
            .flat_map(|s| s.data.clone())
            .collect();
        let text = String::from_utf8_lossy(&strings);
        assert!(
            text.contains("d/x.c") && !text.contains("./d/x.c"),
            "{text:?}"
        );
    }

    #[test]
    fn vmlinux_objtool_args_leave_out_link_only_checks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // As a defconfig kernel runs it.
        std::fs::write(
            dir.join(".vmlinux.o.cmd"),
            "savedcmd_vmlinux.o := ld -r -o vmlinux.o ; ./tools/objtool/objtool --hacks=jump_label \
             --hacks=noinstr --ibt --prefix=16 --orc --retpoline --rethunk --static-call \
             --uaccess --noinstr  --unret --link vmlinux.o\n",
        )
        .unwrap();
        let a = vmlinux_objtool_args(dir).unwrap();
        assert_eq!(
            a,
            "--hacks=jump_label --hacks=noinstr --prefix=16 --orc --retpoline --rethunk \
             --static-call --uaccess"
        );
    }

    #[test]
    fn kernel_objects() {
        assert!(is_kernel_object("fs/proc/version.o"));
        assert!(!is_kernel_object("scripts/mod/modpost.o"));
        assert!(!is_kernel_object("arch/x86/boot/main.o"));
        assert!(!is_kernel_object("samples/m/m.mod.o"));
    }

    #[test]
    fn the_tree_compiler_is_the_one_its_config_names() {
        let debian =
            "CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0\"\n\
                      CONFIG_CC_IS_GCC=y\n";
        let c = Compiler::of_config(debian).unwrap();
        assert_eq!(c.program, "x86_64-linux-gnu-gcc-16");
        assert_eq!(
            c.mismatch(Some("x86_64-linux-gnu-gcc-16 (Debian 16.2.0-3) 16.2.0\n")),
            None
        );
        let other = c.mismatch(Some("gcc (Debian 12.2.0-14) 12.2.0")).unwrap();
        assert!(
            other.contains("prints 'gcc (Debian 12.2.0-14) 12.2.0'"),
            "{other}"
        );
        assert!(other.contains("buildroot.sh run"), "{other}");
        let missing = c.mismatch(None).unwrap();
        assert!(
            missing.contains("`x86_64-linux-gnu-gcc-16` does not run here"),
            "{missing}"
        );
        assert!(Compiler::of_config("CONFIG_CC_IS_GCC=y\n").is_err());
        assert!(Compiler::of_config("CONFIG_CC_VERSION_TEXT=\"\"\n").is_err());
    }
}
