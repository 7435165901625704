// SPDX-License-Identifier: GPL-2.0

//! `splice-create`: from a unified diff and the built tree of the running kernel, a pack.
//!
//! 1. The patch's files are copied to a scratch directory and the patch is applied there
//!    (GNU `patch`); the tree is only read, so it stays as it was whatever happens.
//! 2. The objects to compile are the changed `.c` files' and, for a changed header, every
//!    object whose Kbuild dependency list names it.
//! 3. Each object is compiled twice with the command Kbuild recorded for it plus
//!    `-ffunction-sections -fdata-sections`: from the tree (pre), and with the patched
//!    files first (post). objtool runs on the pre object as the kernel's build ran it.
//! 4. The pre and post objects are compared ([`crate::assemble`]); unchanged objects drop
//!    out, and the rest become one pack.
//! 5. Kbuild builds the pack module against the tree (`M=`), and `scripts/sign-file` signs
//!    it when the kernel signs modules.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use object::Object as _;
use serde::Serialize;

use crate::assemble::{self, assemble_units, PackInfo, TargetSel, UnitInput};
use crate::compare;
use crate::correlate;
use crate::elf::Obj;
use crate::emit::loadrel;
use crate::emit::Output;
use crate::equiv;
use crate::input::diff;
use crate::input::kbuild::{self, CmdFile, Recompile};
use crate::input::lines::Renumbering;
use crate::input::symvers::{system_map_names, Symvers};
use crate::policy::files::refuse_files;
use crate::policy::layout::refuse_layout_changes;
use crate::policy::{code, data, resolvable, room, stop, types, Kind, Stop};
use crate::report::Report;

/// What to generate.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The configured and built tree of the running kernel.
    pub tree: PathBuf,
    /// The fix, as a unified diff (`-p1`).
    pub patch: PathBuf,
    /// Diffs that make the running kernel's source from the tree, applied before `patch`:
    /// for a pack made on top of applied packs.
    pub base: Vec<PathBuf>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The fixes the pack carries, a subject each; by default the subjects of the patch's
    /// commits.
    pub fixes: Vec<String>,
    /// The kernel version whose fixes the pack carries (`7.2.13`), if it is one's.
    pub fixed_in: Option<String>,
    /// A cumulative pack: applying it replaces every applied pack.
    pub replace: bool,
    /// The pack patches its target modules when they load.
    pub on_load: bool,
    /// The pack module to write; `splice_<name>.ko` in the current directory by default.
    pub output: Option<PathBuf>,
    /// The JSON report; `<output without .ko>.json` by default.
    pub report: Option<PathBuf>,
    /// Scratch directory (kept); a temporary one, removed at the end, by default.
    pub work: Option<PathBuf>,
    pub jobs: usize,
    pub quiet: bool,
    /// Make the pack although the C compiler here is not the one the tree was built with
    /// (for tests of run-pre matching, which must refuse such a pack).
    pub any_compiler: bool,
}

/// One phase and how long it took.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
}

/// `report.json` of a generated pack.
#[derive(Clone, Debug, Serialize)]
pub struct GenReport {
    pub patch: String,
    pub tree: String,
    pub kernel_release: String,
    pub module_file: String,
    pub signed: bool,
    /// Objects compiled before and after the patch.
    pub compiled: Vec<String>,
    /// Compiled objects whose code the patch does not change.
    pub unchanged: Vec<String>,
    /// Changed files not built in this configuration, with what that means.
    pub not_built: Vec<String>,
    pub pack: Report,
    /// Each target against the same function of an ordinary build of the fixed source
    /// ([`crate::equiv`]); a pack is made only when all are the same.
    pub equivalence: Vec<equiv::Verdict>,
    /// What the module build warned about (objtool's checks of the carried code), also
    /// printed: a pack whose code objtool cannot follow may lack ORC data for it.
    pub warnings: Vec<String>,
    pub phases: Vec<Phase>,
}

struct Progress {
    quiet: bool,
    t0: Instant,
    phase_start: Instant,
    phases: Vec<Phase>,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let t0 = Instant::now();
        Progress {
            quiet,
            t0,
            phase_start: t0,
            phases: Vec::new(),
        }
    }

    fn say(&self, msg: &str) {
        if !self.quiet {
            eprintln!(
                "[splice-create {:6.1}s] {msg}",
                self.t0.elapsed().as_secs_f64()
            );
        }
    }

    fn phase(&mut self, name: &str) {
        let now = Instant::now();
        self.phases.push(Phase {
            name: name.to_owned(),
            seconds: (now - self.phase_start).as_secs_f64(),
        });
        self.phase_start = now;
    }
}

/// The warnings of a build log: compiler and objtool lines that say `warning:`.
fn build_warnings(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("warning:"))
        .map(str::to_owned)
        .collect()
}

/// The objects a patch's changed headers affect, and the changed `.c` files no object
/// includes.
#[derive(Default)]
struct HeaderObjects {
    objects: Vec<String>,
    not_built: Vec<String>,
}

/// The objects that include one of `headers` (Kbuild's dependency lists), but not those
/// that include only headers which gain macros or enumerators and name none of the names
/// that changed (crate::policy::macros): they compile as before. `included` are the `.c` files among the headers;
/// `patched` the objects the patch changes anyway.
fn header_objects(
    tree: &Path,
    pre_dir: &Path,
    post_dir: &Path,
    headers: &[String],
    included: &[String],
    patched: &[String],
    pr: &Progress,
) -> Result<HeaderObjects> {
    let deps = kbuild::dependents(tree, headers)?;
    let mut found = HeaderObjects::default();
    for f in included {
        if !deps.values().any(|files| files.contains(f)) {
            found.not_built.push(format!(
                "{f}: not built in this configuration; nothing to patch"
            ));
        }
    }
    // Of the objects that include a header which only gains macros, those that name
    // none of them compile as before (crate::policy::macros).
    let mut additions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for h in headers.iter().filter(|h| !included.contains(h)) {
        if let (Ok(a), Ok(b)) = (
            std::fs::read_to_string(pre_dir.join(h)),
            std::fs::read_to_string(post_dir.join(h)),
        ) {
            if let Some(names) = crate::policy::macros::changed_names(&a, &b) {
                additions.insert(h.as_str(), names);
            }
        }
    }
    let added: Vec<&String> = additions.values().flatten().collect();
    let mut named: HashMap<String, bool> = HashMap::new();
    let (mut includers, mut unaffected) = (0, 0);
    for (obj, hits) in deps {
        if !patched.contains(&obj)
            && !additions.is_empty()
            && hits.iter().all(|h| additions.contains_key(h.as_str()))
        {
            includers += 1;
            let cf = kbuild::read_cmd(tree, &obj)?;
            let names_one = std::iter::once(&cf.source)
                .chain(&cf.deps)
                .filter(|d| !additions.contains_key(d.as_str()))
                .any(|d| {
                    *named.entry(d.clone()).or_insert_with(|| {
                        // A file that cannot be read may name them.
                        std::fs::read_to_string(tree.join(d)).map_or(true, |t| {
                            added.iter().any(|n| crate::policy::macros::names(&t, n))
                        })
                    })
                });
            if !names_one {
                unaffected += 1;
                continue;
            }
        }
        found.objects.push(obj);
    }
    for (h, names) in &additions {
        pr.say(&format!(
            "  {h} only gains macros or enumerators (changed names: {})",
            names.join(", ")
        ));
    }
    if includers > 0 {
        pr.say(&format!(
            "  {unaffected} of the {includers} objects that include them name none: not compiled"
        ));
    }
    Ok(found)
}

/// A scratch directory, removed when dropped unless the user chose it, and on Ctrl-C.
struct Work {
    dir: PathBuf,
    keep: bool,
}

/// The scratch directory to remove if the user interrupts.
static SCRATCH: Mutex<Option<PathBuf>> = Mutex::new(None);

impl Work {
    /// `--work`, kept; or a fresh folder only this user can enter (mkdtemp), removed at the
    /// end.
    fn open(o: &Options) -> Result<Self> {
        let Some(w) = &o.work else {
            let d = tempfile::Builder::new()
                .prefix("splice-create-")
                .tempdir()
                .context("cannot create the work folder in the temporary directory")?
                .keep();
            return Ok(Work::temporary(d));
        };
        std::fs::create_dir_all(w)
            .with_context(|| format!("{}: cannot create the work folder", w.display()))?;
        Ok(Work {
            dir: std::fs::canonicalize(w)?,
            keep: true,
        })
    }

    fn temporary(dir: PathBuf) -> Self {
        if let Ok(mut s) = SCRATCH.lock() {
            *s = Some(dir.clone());
        }
        // Compilers and make get the signal too (same process group) and stop; the tree
        // was never written, so removing the scratch directory is all there is to undo.
        let _ = ctrlc::set_handler(|| {
            if let Ok(s) = SCRATCH.lock() {
                if let Some(d) = s.as_ref() {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            eprintln!("splice-create: interrupted; the tree is unchanged");
            std::process::exit(130);
        });
        Self { dir, keep: false }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
            if let Ok(mut s) = SCRATCH.lock() {
                *s = None;
            }
        }
    }
}

fn run(cmd: &mut Command, what: &str, log: &Path) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot run {:?}", cmd.get_program()))?;
    let mut text = out.stdout.clone();
    text.extend_from_slice(&out.stderr);
    let _ = std::fs::write(log, &text);
    if !out.status.success() {
        let s = String::from_utf8_lossy(&text);
        let tail: Vec<&str> = s.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{what} failed (log: {}):\n{}",
            log.display(),
            tail.join("\n")
        );
    }
    Ok(())
}

fn sh(tree: &Path, command: &str, what: &str, log: &Path) -> Result<()> {
    run(
        Command::new("sh").arg("-c").arg(command).current_dir(tree),
        what,
        log,
    )
}

/// The default pack name: the patch's file name, letters, digits, '-' and '_' only.
fn default_name(patch: &Path) -> String {
    let stem = patch
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem
        .trim_end_matches(".patch")
        .trim_end_matches(".diff")
        .to_owned();
    let s: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() {
        "fix".into()
    } else {
        s
    }
}

fn config_value(config: &str, key: &str) -> Option<String> {
    config.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_owned())
    })
}

/// Copies `rel` from the tree into `dir`, if the tree has it.
/// The unchanged headers next to each changed header outside the include directories
/// (`fs/ext4/ext4.h` beside a changed `fs/ext4/extents_status.h`), to be mirrored with it.
///
/// A quoted include is looked up first in the directory of the file that includes it: the
/// tree's `ext4.h` would include the tree's `extents_status.h`, not the patched one. With
/// its neighbours mirrored, the chain stays in the overlay. Headers under an `include/`
/// directory are found through `-I` overlays instead and need no neighbours.
fn local_header_siblings(tree: &Path, touched: &[String]) -> Result<Vec<String>> {
    let mut dirs: Vec<&str> = touched
        .iter()
        .filter(|f| f.ends_with(".h"))
        .filter_map(|f| f.rsplit_once('/').map(|(d, _)| d))
        .filter(|d| !d.starts_with("include/") && !d.contains("/include/") && *d != "include")
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(tree.join(d)) else {
            continue;
        };
        for e in entries {
            let e = e.with_context(|| format!("{}: cannot list", tree.join(d).display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{d}/{name}");
            if name.ends_with(".h") && e.file_type()?.is_file() && !touched.contains(&rel) {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn mirror(tree: &Path, dir: &Path, rel: &str) -> Result<()> {
    let src = tree.join(rel);
    if !src.exists() {
        return Ok(());
    }
    let dst = dir.join(rel);
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p)?;
    }
    std::fs::copy(&src, &dst).with_context(|| format!("{}: cannot copy", src.display()))?;
    Ok(())
}

fn apply(dir: &Path, patch: &Path, log: &Path) -> Result<()> {
    let abs = std::fs::canonicalize(patch)
        .with_context(|| format!("{}: cannot read", patch.display()))?;
    run(
        Command::new("patch")
            .args(["-p1", "--fuzz=0", "--no-backup-if-mismatch", "-s", "-d"])
            .arg(dir)
            .arg("-i")
            .arg(&abs),
        &format!("applying {}", patch.display()),
        log,
    )
    .with_context(|| {
        format!(
            "{} does not apply to the tree's source (is it the running kernel's?)",
            patch.display()
        )
    })
}

/// Refuses a tree whose objects are not the code that runs: with link-time optimisation the
/// `.o` files hold LLVM bitcode and the functions are only laid out at the final link, so
/// neither pre nor post code can be compared with the running kernel's.
fn refuse_tree(config: &str) -> Result<()> {
    if config_value(config, "CONFIG_LTO_CLANG") == Some("y".into()) {
        bail!(
            "the tree is built with link-time optimisation (CONFIG_LTO_CLANG=y): its objects are \
             bitcode, not the code that runs; splice needs a kernel built without LTO"
        );
    }
    Ok(())
}

/// Copies `src_dir` into `out_dir`, the overlay a side is compiled from: each C file named
/// as the tree's ([`crate::input::lines::named_as_in_tree`]) and, given `pre_dir`, every file it
/// also has renumbered so that its unchanged lines keep their pre numbers ([`crate::input::lines`]).
fn compile_overlay(src_dir: &Path, pre_dir: Option<&Path>, out_dir: &Path) -> Result<Renumbering> {
    let _ = std::fs::remove_dir_all(out_dir);
    std::fs::create_dir_all(out_dir)?;
    let mut out = Renumbering::default();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(src_dir.join(&rel))? {
            let e = e?;
            let r = rel.join(e.file_name());
            if e.file_type()?.is_dir() {
                stack.push(r);
                continue;
            }
            let name = r.to_string_lossy().into_owned();
            let dst = out_dir.join(&r);
            std::fs::create_dir_all(dst.parent().unwrap_or(out_dir))?;
            let bytes = std::fs::read(src_dir.join(&r))?;
            let Ok(mut text) = String::from_utf8(bytes.clone()) else {
                std::fs::write(&dst, &bytes)?;
                continue;
            };
            // Rust has no #line: its line numbers stay as the post source has them, and the
            // compare pass reads panic locations without them (`crate::compare`).
            let renumber = pre_dir.filter(|_| !name.ends_with(".rs"));
            if let Some(pre) = renumber.and_then(|d| std::fs::read(d.join(&r)).ok()) {
                let (kept, steps) =
                    crate::input::lines::keep_line_numbers(&String::from_utf8_lossy(&pre), &text);
                text = kept;
                if !steps.steps.is_empty() {
                    out.files.insert(name.clone(), steps);
                }
            }
            if crate::input::lines::is_c_text(&name) {
                text = crate::input::lines::named_as_in_tree(&name, &text);
            }
            std::fs::write(&dst, text)?;
        }
    }
    Ok(out)
}

/// Copies `rel` from the tree into the compile overlay `dir`, named as the tree's file.
fn mirror_for_compile(tree: &Path, dir: &Path, rel: &str) -> Result<()> {
    mirror(tree, dir, rel)?;
    let dst = dir.join(rel);
    if crate::input::lines::is_c_text(rel) && dst.exists() {
        let text = std::fs::read_to_string(&dst)
            .with_context(|| format!("{}: cannot read", dst.display()))?;
        std::fs::write(&dst, crate::input::lines::named_as_in_tree(rel, &text))?;
    }
    Ok(())
}

/// Compiles the post source of each unit as the tree's build did (no function sections) and
/// compares every target of `report` that the unit holds with the function of that name
/// there ([`crate::equiv`]).
fn rebuild_and_compare(
    tree: &Path,
    plan: &Plan,
    units: &[UnitInput],
    report: &Report,
    d: &Dirs,
    jobs: usize,
) -> Result<Vec<equiv::Verdict>> {
    let work: Vec<(&CmdFile, &UnitInput)> = units
        .iter()
        .filter_map(|u| {
            plan.cmds
                .iter()
                .find(|c| c.object == u.object_name)
                .map(|c| (c, u))
        })
        .collect();
    let plain = crate::pool::map(jobs, &work, |&(cf, _)| {
        compile_plain(tree, &plan.cmds, cf, d)
    });
    let mut verdicts = Vec::new();
    for (&(cf, unit), plain) in work.iter().zip(plain) {
        let plain = named_as_post(&plain?, unit.post, &d.objects.join("post").join(&cf.object))?;
        let names: Vec<String> = report
            .targets
            .iter()
            .filter(|t| t.object == cf.object)
            .map(|t| t.function.clone())
            .collect();
        verdicts.extend(equiv::verdicts(
            &cf.object,
            unit.post,
            &plain,
            &names,
            &plan.renumbering,
        )?);
    }
    Ok(verdicts)
}

/// An ordinary build of `cf`'s fixed source (`d.post`, mirrored from the tree where the
/// patch leaves it), as Kbuild would make it: in `objects/plain`, with the other post
/// crates (`cmds`) as its externs.
fn compile_plain(tree: &Path, cmds: &[CmdFile], cf: &CmdFile, d: &Dirs) -> Result<Obj> {
    let plain_dir = d.objects.join("plain");
    let out = plain_dir.join(&cf.object);
    std::fs::create_dir_all(out.parent().unwrap_or(&plain_dir))?;
    let source = d.post.join(&cf.source);
    if !source.exists() {
        mirror(tree, &d.post, &cf.source)?;
    }
    for f in crate::input::rustc::crate_sources(cf) {
        if cf.is_rust() && !d.post.join(&f).exists() {
            mirror(tree, &d.post, &f)?;
        }
    }
    let cmd = kbuild::recompile_command(
        cf,
        &Recompile {
            source: Some(source),
            output: out.clone(),
            overlay: Some(d.post.clone()),
            plain: true,
            externs: crate::crates::post_externs(cmds, &d.objects.join("post")),
            metadata: None,
        },
    )?;
    let log = d
        .logs
        .join(format!("{}-plain.log", cf.object.replace('/', "_")));
    sh(
        tree,
        &cmd,
        &format!("compiling {} (ordinary build)", cf.object),
        &log,
    )?;
    let data = std::fs::read(&out).with_context(|| format!("{}: cannot read", out.display()))?;
    Obj::parse(&format!("{} (ordinary build)", cf.object), &data)
}

/// `plain` (an ordinary build of the post source) with its symbols renamed as
/// [`correlate::correlate_locals`] renamed those of the generator's post object (read raw
/// from `raw_post`): both builds number static locals and clones alike, from one source.
fn named_as_post(plain: &Obj, post: &Obj, raw_post: &Path) -> Result<Obj> {
    let raw = Obj::read(raw_post)?;
    let renamed: HashMap<&str, &str> = raw
        .symbols
        .iter()
        .zip(&post.symbols)
        .filter(|(a, b)| a.name != b.name)
        .map(|(a, b)| (a.name.as_str(), b.name.as_str()))
        .collect();
    let renames: Vec<(usize, String)> = plain
        .symbols
        .iter()
        .filter_map(|s| {
            renamed
                .get(s.name.as_str())
                .map(|n| (s.index, (*n).to_owned()))
        })
        .collect();
    let mut plain = plain.clone();
    plain.rename(&renames);
    Ok(plain)
}

/// What a pack says it fixes when `--description` does not: the subjects of the patch's
/// commits (`; ` between them) and the CVE ids their messages name, as `splice status` and
/// `splice show` list them.
fn default_description(patch: &diff::Patch, file: &Path) -> String {
    let mut d = if patch.subjects.is_empty() {
        format!("fix from {}", file.display())
    } else {
        patch.subjects.join("; ")
    };
    let missing: Vec<&str> = patch
        .cves
        .iter()
        .map(String::as_str)
        .filter(|c| !d.contains(c))
        .collect();
    if !missing.is_empty() {
        d.push_str(&format!(" ({})", missing.join(", ")));
    }
    d
}

/// The first target whose code in the assembled pack (its `repl<k>.o`, each place the core
/// resolves named as the metadata names it) differs from its function in the post object,
/// relocation-aware ([`equiv::resolved_as_the_core_will`]): (object, function, difference).
fn assembled_difference(
    units: &[UnitInput],
    out: &Output,
) -> Result<Option<(String, String, String)>> {
    let registered = out.report.targets.len() + out.report.fixups.len();
    let blob = crate::format::reader::parse(&out.blob, registered)
        .context("reading back the pack's metadata")?
        .pack;
    for (i, (u, repl)) in units.iter().zip(&out.repl_objs).enumerate() {
        let repl = Obj::parse(&format!("repl{i}.o"), repl)?;
        let targets = out
            .report
            .targets
            .iter()
            .zip(&blob.targets)
            .filter(|(t, _)| t.object == u.object_name);
        for (t, b) in targets {
            let resolved = equiv::resolved_as_the_core_will(&repl, &t.replacement, &b.relocs)?;
            let (Some(a), Some(p)) = (resolved.defined(&t.function), u.post.defined(&t.function))
            else {
                return Ok(Some((
                    u.object_name.clone(),
                    t.function.clone(),
                    "not in the assembled pack".into(),
                )));
            };
            if let Some(d) = equiv::difference(&resolved, a, u.post, p, &Renumbering::default())? {
                return Ok(Some((u.object_name.clone(), t.function.clone(), d)));
            }
        }
    }
    Ok(None)
}

/// Refuses a target of vmlinux whose running code ends too soon after its entry for the
/// core's jump ([`room`]): `check` would refuse it as `cannot_redirect`.
fn refuse_short_targets(vmlinux: &object::File, units: &[UnitInput]) -> Result<()> {
    let sites = room::run_time_sites(vmlinux);
    for u in units.iter().filter(|u| u.module.is_empty()) {
        let TargetSel::Explicit(names) = &u.targets else {
            continue;
        };
        if let Some((name, after)) = room::too_short(vmlinux, &sites, names).first() {
            bail!(
                "{}: {name}: the running kernel's {name} has {after} byte(s) of code after its \
                 entry (endbr64 and the ftrace call; vmlinux) before its end or a jump label or \
                 static call site the kernel may rewrite, fewer than the {} a jump needs, and \
                 no room for the {}-byte jump to a prefix of nops before it (CALL_PADDING), so \
                 it cannot be redirected; make the fix in the functions it calls, or in its \
                 callers",
                u.object_name,
                room::JMP_LEN,
                room::HOP_LEN
            );
        }
    }
    Ok(())
}

/// Makes a pack from `o.patch`; returns the report (also written as JSON).
pub fn generate(o: &Options) -> Result<GenReport> {
    let mut pr = Progress::new(o.quiet);
    let mut work = Work::open(o)?;
    let result = keep_work_on_failure(generate_with(o, &mut pr, &work), &mut work);
    if let Err(e) = &result {
        write_refusal(o, &pr, e)?;
    }
    result
}

/// `result`, naming the work folder it keeps when the failure's message names a log in it,
/// or when it is no plain refusal (a tool error, a generator bug): what went wrong is there.
fn keep_work_on_failure(result: Result<GenReport>, work: &mut Work) -> Result<GenReport> {
    let Err(e) = &result else { return result };
    let plain = matches!(
        Stop::kind_of(e),
        Some(Kind::Refused | Kind::NoFunctionalChange)
    ) && !format!("{e:#}").contains("log");
    if plain || work.keep {
        return result;
    }
    work.keep = true;
    let kept = format!("work folder kept: {}", work.dir.display());
    Err(match e.downcast_ref::<Stop>() {
        Some(st) => anyhow::Error::new(Stop {
            kind: st.kind,
            message: format!("{} ({kept})", st.message),
        }),
        None => anyhow::anyhow!("{e:#} ({kept})"),
    })
}

/// A refusal is reported too, where a report was asked for (`--report`, or beside `-o`).
fn write_refusal(o: &Options, pr: &Progress, e: &anyhow::Error) -> Result<()> {
    let Some(rpath) = o
        .report
        .clone()
        .or_else(|| o.output.as_ref().map(|d| d.with_extension("json")))
    else {
        return Ok(());
    };
    let kind = match Stop::kind_of(e) {
        Some(Kind::Refused) => "refused",
        Some(Kind::NoFunctionalChange) => "no_functional_change",
        Some(Kind::GeneratorBug) => "generator_bug",
        None => "tool_error",
    };
    let refusal = Refusal {
        patch: o.patch.display().to_string(),
        tree: o.tree.display().to_string(),
        kind,
        refused: format!("{e:#}"),
        phases: pr.phases.clone(),
    };
    std::fs::write(&rpath, serde_json::to_string_pretty(&refusal)? + "\n")
        .with_context(|| format!("{}: cannot write", rpath.display()))
}

/// `report.json` when no pack was made: why, and how long each phase that ran took.
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    pub patch: String,
    pub tree: String,
    /// `refused`, `no_functional_change`, `generator_bug` or `tool_error`.
    pub kind: &'static str,
    pub refused: String,
    pub phases: Vec<Phase>,
}

fn generate_with(o: &Options, pr: &mut Progress, work: &Work) -> Result<GenReport> {
    let tree = Tree::open(o, pr)?;
    let fix = Fix::read(o, pr)?;
    let dirs = Dirs::make(&work.dir)?;
    // 1. Sources: the running kernel's (the tree, plus base diffs) and the patched ones.
    let touched = prepare_sources(o, &tree.path, &fix.patch, &dirs)?;
    let files: Vec<&str> = fix.patch.files.iter().map(|f| f.path.as_str()).collect();
    pr.say(&format!(
        "{}: {} file(s): {}",
        o.patch.display(),
        files.len(),
        files.join(" ")
    ));
    pr.phase("prepare");
    // 2. The objects to compile.
    let plan = plan_objects(o, &tree.path, &touched, &dirs, pr)?;
    pr.phase("objects");
    // 3. Compile, pre and post, in parallel.
    compile_objects(o, &tree.path, &plan, &dirs, pr)?;
    pr.phase("compile");
    // 4. Compare, and assemble what changed.
    pr.say("comparing pre and post objects");
    let loaded = load_objects(&plan.cmds, &dirs.objects)?;
    let (units, unchanged) = select_units(o, &loaded, pr)?;
    let out = assemble_pack(&tree, &fix, &units)?;
    pr.phase("compare");
    // 5. Each target against an ordinary build of the patched file.
    let equivalence = check_equivalence(o, &tree.path, &plan, &units, &out, &dirs, pr)?;
    let mdir = dirs.work.join("module");
    let _ = std::fs::remove_dir_all(&mdir);
    out.write_to(&mdir)?;
    pr.phase("rebuild");
    // 6. The module, by Kbuild.
    let module = build_module(o, &tree, &fix.modname, &mdir, &dirs.logs, pr)?;
    pr.phase("module");

    let report = GenReport {
        patch: o.patch.display().to_string(),
        tree: tree.path.display().to_string(),
        kernel_release: tree.release.clone(),
        module_file: module.dest.display().to_string(),
        signed: module.signed,
        compiled: plan.cmds.iter().map(|c| c.object.clone()).collect(),
        unchanged,
        not_built: plan.not_built,
        pack: out.report,
        equivalence,
        warnings: module.warnings,
        phases: pr.phases.clone(),
    };
    write_report(o, pr, &report, &fix.name, &module.dest)?;
    Ok(report)
}

/// Writes `report` (`--report`, or beside the module) and says what the pack holds.
fn write_report(
    o: &Options,
    pr: &Progress,
    report: &GenReport,
    name: &str,
    module: &Path,
) -> Result<()> {
    let rpath = o
        .report
        .clone()
        .unwrap_or_else(|| module.with_extension("json"));
    std::fs::write(&rpath, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("{}: cannot write", rpath.display()))?;
    for t in &report.pack.targets {
        match &t.rust {
            Some(path) => pr.say(&format!("target {} ({path})", t.function)),
            None => pr.say(&format!("target {}", t.function)),
        }
    }
    pr.say(&format!(
        "{}: pack {name}, {} target(s) in {} object(s); report {}",
        module.display(),
        report.pack.targets.len(),
        report.pack.objects.len(),
        rpath.display()
    ));
    for p in &report.phases {
        pr.say(&format!("  {:8} {:6.2} s", p.name, p.seconds));
    }
    Ok(())
}

/// The built tree of the running kernel, as `splice-create` reads it.
struct Tree {
    path: PathBuf,
    config: String,
    compiler: kbuild::Compiler,
    release: String,
}

impl Tree {
    /// Opens `o.tree`: configured and built, of a configuration splice patches, with the
    /// compiler it names (or `--any-compiler`).
    fn open(o: &Options, pr: &Progress) -> Result<Tree> {
        let tree = std::fs::canonicalize(&o.tree)
            .with_context(|| format!("{}: no such kernel tree", o.tree.display()))?;
        for need in [
            ".config",
            "vmlinux",
            "Module.symvers",
            "include/config/kernel.release",
        ] {
            if !tree.join(need).exists() {
                bail!(
                    "{}: no {need}: the tree must be configured and built (make) first",
                    tree.display()
                );
            }
        }
        let config = std::fs::read_to_string(tree.join(".config"))?;
        refuse_tree(&config)
            .with_context(|| format!("{}", tree.display()))
            .map_err(stop(Kind::Refused))?;
        let compiler =
            kbuild::Compiler::of_config(&config).with_context(|| format!("{}", tree.display()))?;
        if let Some(why) = compiler.mismatch(compiler.installed_version().as_deref()) {
            if !o.any_compiler {
                bail!("{why}");
            }
            pr.say(&format!(
                "warning: {why}; going on (--any-compiler): the pack will not match"
            ));
        }
        let release = std::fs::read_to_string(tree.join("include/config/kernel.release"))?
            .trim()
            .to_owned();
        Ok(Tree {
            path: tree,
            config,
            compiler,
            release,
        })
    }

    /// Whether the configuration sets `key` to `y`.
    fn is_set(&self, key: &str) -> bool {
        config_value(&self.config, key) == Some("y".into())
    }
}

/// The fix, and what the pack will be called.
struct Fix {
    patch: diff::Patch,
    name: String,
    modname: String,
    description: String,
    /// The subjects of the fixes it carries.
    fixes: Vec<String>,
    /// The kernel version whose fixes it carries, or empty.
    fixed_in: String,
    /// Whether it replaces every applied pack.
    replace: bool,
    /// Whether it patches its target modules when they load.
    on_load: bool,
}

impl Fix {
    /// Reads `o.patch`, refused if it touches what splice does not build.
    fn read(o: &Options, pr: &Progress) -> Result<Fix> {
        let text = std::fs::read_to_string(&o.patch)
            .with_context(|| format!("{}: cannot read", o.patch.display()))?;
        let patch = diff::parse(&text)
            .with_context(|| format!("{}", o.patch.display()))
            .map_err(stop(Kind::Refused))?;
        refuse_files(&patch, &o.patch).map_err(stop(Kind::Refused))?;
        for f in &patch.mode_only {
            pr.say(&format!(
                "note: {f}: the patch changes only its mode, which no running code depends on"
            ));
        }
        let name = o.name.clone().unwrap_or_else(|| default_name(&o.patch));
        let modname = assemble::module_name(&name)?;
        let description = o
            .description
            .clone()
            .unwrap_or_else(|| default_description(&patch, &o.patch));
        if let Some(v) = o.fixed_in.as_deref() {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("--fixed-in {v:?}: a kernel version such as 7.2.13, one word");
            }
        }
        if let Some(f) = o
            .fixes
            .iter()
            .find(|f| f.trim().is_empty() || f.contains('\n'))
        {
            bail!("--fix {f:?}: a fix is one line, its commit's subject");
        }
        let fixes = if o.fixes.is_empty() {
            patch.subjects.clone()
        } else {
            o.fixes.clone()
        };
        Ok(Fix {
            patch,
            name,
            modname,
            description,
            fixes,
            fixed_in: o.fixed_in.clone().unwrap_or_default(),
            replace: o.replace,
            on_load: o.on_load,
        })
    }
}

/// The folders of the work folder.
struct Dirs {
    work: PathBuf,
    /// The touched files as the running kernel has them, and patched.
    pre: PathBuf,
    post: PathBuf,
    /// The post sources compiled for the pack (unchanged lines numbered as before).
    lines: PathBuf,
    /// With base diffs, the pre sources compiled, named likewise.
    pre_compile: PathBuf,
    objects: PathBuf,
    logs: PathBuf,
}

impl Dirs {
    fn make(work: &Path) -> Result<Dirs> {
        let d = Dirs {
            work: work.to_owned(),
            pre: work.join("pre-src"),
            post: work.join("post-src"),
            lines: work.join("post-lines-src"),
            pre_compile: work.join("pre-compile-src"),
            objects: work.join("objects"),
            logs: work.join("logs"),
        };
        for dir in [&d.pre, &d.post, &d.objects, &d.logs] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir)?;
        }
        Ok(d)
    }
}

/// Copies the files the patch (and the base diffs) touch, with the local headers beside
/// them, applies the base diffs to both copies and the patch to the post one; refused if
/// the patch does not apply or changes a type layout. Returns the touched files.
fn prepare_sources(o: &Options, tree: &Path, patch: &diff::Patch, d: &Dirs) -> Result<Vec<String>> {
    let (pre_dir, post_dir, logs) = (&d.pre, &d.post, &d.logs);
    let mut bases = Vec::new();
    for b in &o.base {
        let t =
            std::fs::read_to_string(b).with_context(|| format!("{}: cannot read", b.display()))?;
        bases.push(diff::parse(&t).with_context(|| format!("{}", b.display()))?);
    }
    let mut touched: Vec<String> = patch.files.iter().map(|f| f.path.clone()).collect();
    for b in &bases {
        touched.extend(b.files.iter().map(|f| f.path.clone()));
    }
    touched.sort();
    touched.dedup();
    let siblings = local_header_siblings(tree, &touched)?;
    for f in touched.iter().chain(&siblings) {
        mirror(tree, pre_dir, f)?;
    }
    for b in &o.base {
        apply(pre_dir, b, &logs.join("base.log"))?;
    }
    for f in touched.iter().chain(&siblings) {
        let src = pre_dir.join(f);
        if src.exists() {
            let dst = post_dir.join(f);
            std::fs::create_dir_all(dst.parent().unwrap_or(post_dir))?;
            std::fs::copy(&src, &dst)?;
        }
    }
    apply(post_dir, &o.patch, &logs.join("patch.log")).map_err(stop(Kind::Refused))?;
    refuse_layout_changes(patch, &o.patch, pre_dir, post_dir).map_err(stop(Kind::Refused))?;
    Ok(touched)
}

/// What to compile: the objects built from the touched files (or that include them), their
/// recorded commands, the renumbering of the post sources.
struct Plan {
    cmds: Vec<CmdFile>,
    not_built: Vec<String>,
    renumbering: Renumbering,
    /// objtool's arguments for objects linked into vmlinux.
    vmlinux_objtool: String,
}

/// Finds the objects to compile: each changed `.c` file's, and the objects that include a
/// changed header; lays out the post sources with the pre line numbers kept.
fn plan_objects(
    o: &Options,
    tree: &Path,
    touched: &[String],
    d: &Dirs,
    pr: &Progress,
) -> Result<Plan> {
    let (objects, not_built) = affected_objects(tree, touched, d, pr)?;
    let cmds = objects
        .iter()
        .map(|obj| kbuild::read_cmd(tree, obj))
        .collect::<Result<Vec<CmdFile>>>()?;
    if cmds.is_empty() {
        return Err(stop(Kind::NoFunctionalChange)(anyhow::anyhow!(
            "{}: no object of this kernel is built from the files it changes ({})",
            o.patch.display(),
            touched.join(", ")
        )));
    }
    let vmlinux_objtool = kbuild::vmlinux_objtool_args(tree)?;
    let renumbering = lay_out_sources(o, d, pr)?;
    Ok(Plan {
        cmds,
        not_built,
        renumbering,
        vmlinux_objtool,
    })
}

/// The objects built from the `touched` files, sorted: a changed `.c` file's own, those
/// whose Kbuild dependencies name a changed header, the crates built from or against a
/// changed `.rs` file; and the changed files not built, with what that means.
fn affected_objects(
    tree: &Path,
    touched: &[String],
    d: &Dirs,
    pr: &Progress,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut objects: Vec<String> = Vec::new();
    let mut not_built = Vec::new();
    let mut headers = Vec::new();
    // A .c file without an object of its own may be included by one
    // (kernel/sched/build_utility.c includes completion.c): it is then a header.
    let mut included = Vec::new();
    let mut rust_files = Vec::new();
    for f in touched {
        if f.ends_with(".rs") {
            rust_files.push(f.clone());
        } else if let Some(stem) = f.strip_suffix(".c") {
            let obj = format!("{stem}.o");
            if kbuild::cmd_path(tree, &obj).exists() {
                objects.push(obj);
            } else {
                included.push(f.clone());
                headers.push(f.clone());
            }
        } else {
            headers.push(f.clone());
        }
    }
    if !headers.is_empty() {
        pr.say(&format!(
            "finding the objects that include {}",
            headers.join(" ")
        ));
        let found = header_objects(tree, &d.pre, &d.post, &headers, &included, &objects, pr)?;
        objects.extend(found.objects);
        not_built.extend(found.not_built);
    }
    if !rust_files.is_empty() {
        pr.say(&format!(
            "finding the crates built from {}, and the crates built against them",
            rust_files.join(" ")
        ));
        let found = crate::crates::plan(tree, &rust_files)?;
        objects.extend(found.objects);
        not_built.extend(found.not_built);
    }
    objects.sort();
    objects.dedup();
    Ok((objects, not_built))
}

/// The post sources compiled for the pack, unchanged lines numbered as before (and with
/// base diffs the pre sources too, named likewise).
fn lay_out_sources(o: &Options, d: &Dirs, pr: &Progress) -> Result<Renumbering> {
    let renumbering = compile_overlay(&d.post, Some(&d.pre), &d.lines)?;
    if !o.base.is_empty() {
        compile_overlay(&d.pre, None, &d.pre_compile)?;
    }
    if !renumbering.files.is_empty() {
        pr.say(&format!(
            "line numbers below the changes kept as before in {}",
            renumbering
                .files
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(renumbering)
}

/// Compiles each planned object before and after the patch (`o.jobs` at a time), and runs
/// objtool on the pre objects as the kernel's build did.
fn compile_objects(o: &Options, tree: &Path, plan: &Plan, d: &Dirs, pr: &Progress) -> Result<()> {
    let (cmds, t0) = (&plan.cmds, pr.t0);
    let (objs_dir, logs, lines_dir, pre_compile_dir) =
        (&d.objects, &d.logs, &d.lines, &d.pre_compile);
    let vmlinux_objtool = &plan.vmlinux_objtool;
    pr.say(&format!(
        "compiling {} object(s) before and after the patch (-j{})",
        cmds.len(),
        o.jobs.max(1)
    ));
    let with_base = !o.base.is_empty();
    compile_crates(o, tree, plan, d, pr)?;
    let jobs: Vec<(usize, bool)> = (0..cmds.len())
        .filter(|&i| !cmds[i].is_rust())
        .flat_map(|i| [(i, false), (i, true)])
        .collect();
    let done = AtomicUsize::new(0);
    let results = crate::pool::map(o.jobs, &jobs, |&(ci, post)| {
        let cf = &cmds[ci];
        let side = if post { "post" } else { "pre" };
        let out = objs_dir.join(side).join(&cf.object);
        let r = (|| -> Result<()> {
            std::fs::create_dir_all(out.parent().unwrap_or(objs_dir))?;
            let src_dir = if post { lines_dir } else { pre_compile_dir };
            let overlay = post || with_base;
            let source = src_dir.join(&cf.source);
            let rc = Recompile {
                source: if overlay {
                    // The source from the overlay (a copy of the tree's if the patch
                    // does not change it), so quoted includes find patched headers.
                    if !source.exists() {
                        mirror_for_compile(tree, src_dir, &cf.source)?;
                    }
                    Some(source)
                } else {
                    None
                },
                output: out.clone(),
                overlay: overlay.then(|| src_dir.to_path_buf()),
                plain: false,
                ..Default::default()
            };
            compile_one(tree, cf, &rc, post, logs, vmlinux_objtool)
        })();
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        if r.is_ok() && !o.quiet && (cmds.len() <= 20 || n.is_multiple_of(20) || n == jobs.len()) {
            eprintln!(
                "[splice-create {:6.1}s]   CC {side:4} {} ({n}/{})",
                t0.elapsed().as_secs_f64(),
                cf.object,
                jobs.len()
            );
        }
        r
    });
    // The first failure in the order of the objects, whichever finished first.
    results.into_iter().collect()
}

/// Compiles `cf` as `rc` says, logging under `logs`; for the pre side, keeps the raw object
/// (`.raw.o`, for the comparison with post) and runs objtool on the other as the kernel's
/// build did (for run-pre matching).
fn compile_one(
    tree: &Path,
    cf: &CmdFile,
    rc: &Recompile,
    post: bool,
    logs: &Path,
    vmlinux_objtool: &str,
) -> Result<()> {
    let side = if post { "post" } else { "pre" };
    let cmd = kbuild::recompile_command(cf, rc)?;
    let log = logs.join(format!("{}-{side}.log", cf.object.replace('/', "_")));
    sh(
        tree,
        &cmd,
        &format!("compiling {} ({side})", cf.object),
        &log,
    )?;
    if !post {
        let out = &rc.output;
        std::fs::copy(out, out.with_extension("raw.o"))?;
        let args = cf.objtool.as_deref().unwrap_or(vmlinux_objtool);
        sh(
            tree,
            &format!("./tools/objtool/objtool {args} {}", out.display()),
            &format!("objtool on {} (pre)", cf.object),
            &log.with_extension("objtool.log"),
        )?;
    }
    Ok(())
}

/// Compiles the Rust crates of the plan before and after the patch, one at a time: a crate
/// after the crates it reads, whose post metadata its post side reads
/// ([`crate::crates`]). objtool runs on the pre objects as for C.
fn compile_crates(o: &Options, tree: &Path, plan: &Plan, d: &Dirs, pr: &Progress) -> Result<()> {
    let with_base = !o.base.is_empty();
    let post_objects = d.objects.join("post");
    for cf in crate::crates::order(&plan.cmds) {
        let krate = crate::input::rustc::crate_of_cmd(cf)?;
        for post in [false, true] {
            let side = if post { "post" } else { "pre" };
            let src_dir = if post { &d.lines } else { &d.pre_compile };
            let overlay = post || with_base;
            if overlay {
                for f in crate::input::rustc::crate_sources(cf) {
                    if !src_dir.join(&f).exists() {
                        mirror_for_compile(tree, src_dir, &f)?;
                    }
                }
            }
            let out = d.objects.join(side).join(&cf.object);
            std::fs::create_dir_all(out.parent().unwrap_or(&d.objects))?;
            let rc = Recompile {
                source: overlay.then(|| src_dir.join(&krate.root)),
                output: out.clone(),
                overlay: overlay.then(|| src_dir.to_path_buf()),
                externs: if post {
                    crate::crates::post_externs(&plan.cmds, &post_objects)
                } else {
                    Vec::new()
                },
                metadata: if post {
                    crate::input::rustc::post_metadata(&krate, &post_objects)
                } else {
                    None
                },
                plain: false,
            };
            compile_one(tree, cf, &rc, post, &d.logs, &plan.vmlinux_objtool)?;
            if !o.quiet {
                eprintln!(
                    "[splice-create {:6.1}s]   RUSTC {side:4} {} (crate {})",
                    pr.t0.elapsed().as_secs_f64(),
                    cf.object,
                    krate.name
                );
            }
        }
    }
    Ok(())
}

/// A compiled object: its command, the raw pre object, the one objtool annotated, and the
/// post object with its symbols correlated to the raw pre one.
type Loaded<'a> = (&'a CmdFile, Obj, Obj, Obj);

/// Reads the compiled objects, named in messages by their paths in the tree.
fn load_objects<'a>(cmds: &'a [CmdFile], objs_dir: &Path) -> Result<Vec<Loaded<'a>>> {
    let mut loaded = Vec::new();
    for cf in cmds {
        let pre_o = objs_dir.join("pre").join(&cf.object);
        let read = |p: &Path, side: &str| -> Result<Obj> {
            let data = std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))?;
            Obj::parse(&format!("{} ({side})", cf.object), &data)
        };
        let raw = read(&pre_o.with_extension("raw.o"), "pre")?;
        let pre = read(&pre_o, "pre")?;
        let post = correlate::correlate_locals(
            &raw,
            &read(&objs_dir.join("post").join(&cf.object), "post")?,
        );
        loaded.push((cf, raw, pre, post));
    }
    Ok(loaded)
}

/// The units of the pack: each object whose code changed (its changed functions the
/// targets, refused if a change is one no pack makes), and each that adds a global the
/// pack uses; and the objects that are unchanged. Stops with no functional change if no
/// object changed.
fn select_units<'a>(
    o: &Options,
    loaded: &'a [Loaded<'a>],
    pr: &Progress,
) -> Result<(Vec<UnitInput<'a>>, Vec<String>)> {
    let mut units = Vec::new();
    let mut unchanged = Vec::new();
    // Objects whose only change is new global functions or data: carried when code of the
    // pack uses them (a function one file adds and another calls).
    let mut spare = Vec::new();
    for (cf, raw, pre, post) in loaded {
        if cf.is_asm() {
            if !compare::same_object(raw, post)? {
                return Err(stop(Kind::Refused)(anyhow::anyhow!(
                    "{}: assembled from {}, and the patch changes its code; splice patches C code only",
                    cf.object,
                    cf.source
                )));
            }
            unchanged.push(cf.object.clone());
            continue;
        }
        types::refuse_layout_changes(raw, post).map_err(stop(Kind::Refused))?;
        let changed = code::patchable_changes(raw, post).map_err(stop(Kind::Refused))?;
        data::refuse_data_changes(raw, post).map_err(stop(Kind::Refused))?;
        // A fix of data alone (a new initial value the running kernel read long ago) has
        // hooks that convert the live data and no function to replace.
        let hooks_only = changed.is_empty() && post.declares_hooks();
        if changed.is_empty() && !hooks_only {
            let added = assemble::added_globals(pre, post);
            if !added.is_empty() {
                spare.push((*cf, pre, post, added));
                continue;
            }
            unchanged.push(cf.object.clone());
            continue;
        }
        if hooks_only {
            pr.say(&format!("  {}: hooks only, no function changes", cf.object));
        } else {
            pr.say(&format!("  {}: {}", cf.object, changed.join(" ")));
        }
        units.push(UnitInput {
            object_name: cf.object.clone(),
            module: cf.module.clone().unwrap_or_default(),
            pre,
            post,
            targets: TargetSel::Explicit(changed),
        });
    }
    carry_spare(spare, &mut units, &mut unchanged, pr);
    if units.is_empty() {
        return Err(stop(Kind::NoFunctionalChange)(anyhow::anyhow!(
            "{}: no functional change: the compiled code of {} is the same before and after the patch",
            o.patch.display(),
            unchanged.join(", ")
        )));
    }
    Ok((units, unchanged))
}

/// An object whose only change is new global functions or data, and those it adds.
type Spare<'a> = (&'a CmdFile, &'a Obj, &'a Obj, Vec<String>);

/// Carries each `spare` object whose additions code of the pack (`units`, growing) uses;
/// the others are `unchanged`.
fn carry_spare<'a>(
    mut spare: Vec<Spare<'a>>,
    units: &mut Vec<UnitInput<'a>>,
    unchanged: &mut Vec<String>,
    pr: &Progress,
) {
    while let Some(i) = spare.iter().position(|(_, _, _, added)| {
        added
            .iter()
            .any(|name| units.iter().any(|u| u.post.refers_to(name)))
    }) {
        let (cf, pre, post, added) = spare.swap_remove(i);
        pr.say(&format!(
            "  {}: no function changes; carries new {}, which the pack calls",
            cf.object,
            added.join(" ")
        ));
        units.push(UnitInput {
            object_name: cf.object.clone(),
            module: cf.module.clone().unwrap_or_default(),
            pre,
            post,
            targets: TargetSel::Explicit(Vec::new()),
        });
    }
    for (cf, _, _, added) in spare {
        pr.say(&format!(
            "  {}: adds {}, which nothing the pack replaces uses",
            cf.object,
            added.join(" ")
        ));
        unchanged.push(cf.object.clone());
    }
}

/// Assembles the pack of `units` for the kernel of `tree`; refused if a target has no room
/// for the jump in the running kernel, or a symbol left to the core is one it will not
/// find at `check`.
fn assemble_pack(tree: &Tree, fix: &Fix, units: &[UnitInput]) -> Result<Output> {
    let map = tree.path.join("System.map");
    let system_map =
        std::fs::read_to_string(&map).with_context(|| format!("{}: cannot read", map.display()))?;
    let mut symvers = Symvers::read(&tree.path.join("Module.symvers"))?;
    let build_id = {
        let data = std::fs::read(tree.path.join("vmlinux"))?;
        let f = object::File::parse(&*data)
            .map_err(|e| anyhow::anyhow!("vmlinux: not an ELF file: {e}"))?;
        refuse_short_targets(&f, units).map_err(stop(Kind::Refused))?;
        if tree.is_set("CONFIG_LIVEPATCH") {
            use object::{Object, ObjectSymbol};
            let symbols = f
                .symbols()
                .filter_map(|y| Some((y.kind(), y.name().ok()?, y.address(), y.is_local())));
            symvers = symvers
                .with_load_time_names(&system_map)
                .with_local_positions(&system_map, symbols);
        }
        match f.build_id() {
            Ok(Some(id)) => id.to_vec(),
            _ => bail!("{}/vmlinux: no GNU build-id", tree.path.display()),
        }
    };
    let info = PackInfo {
        name: fix.name.clone(),
        description: fix.description.clone(),
        fixes: fix.fixes.clone(),
        fixed_in: fix.fixed_in.clone(),
        replace: fix.replace,
        on_load: fix.on_load,
        release: tree.release.clone(),
        build_id,
        layout: crate::special::Layout::of_config(&tree.config),
        // objtool's list of the kernel's __noreturn functions (a tree older than it has none).
        noreturns: std::fs::read_to_string(tree.path.join("tools/objtool/noreturns.h"))
            .map(|t| assemble::noreturns_of(&t))
            .unwrap_or_default(),
    };
    let out = assemble_units(&info, units, &symvers).map_err(stop(Kind::Refused))?;
    // Every symbol left to the core is one it will find at check.
    resolvable::refuse_unresolvable(&out.blob, out.registered(), &system_map_names(&system_map))
        .map_err(stop(Kind::Refused))?;
    Ok(out)
}

/// The evidence that the pack is the fix: its assembled code is the post objects', and each
/// replacement is the function an ordinary build of the fixed source makes. A difference
/// is a generator bug.
fn check_equivalence(
    o: &Options,
    tree: &Path,
    plan: &Plan,
    units: &[UnitInput],
    out: &Output,
    d: &Dirs,
    pr: &Progress,
) -> Result<Vec<equiv::Verdict>> {
    pr.say(&format!(
        "comparing the replacements with an ordinary build of {} object(s)",
        units.len()
    ));
    // The assembled pack's code is the post object's (carrying and metadata kept it).
    if let Some((object, function, diff)) = assembled_difference(units, out)? {
        return Err(stop(Kind::GeneratorBug)(anyhow::anyhow!(
            "generator bug: {object}: {function}: the pack's assembled replacement differs from the compiled fix: {diff} (work folder {}; please report it)",
            d.work.display()
        )));
    }
    let equivalence = rebuild_and_compare(tree, plan, units, &out.report, d, o.jobs)?;
    if let Some(v) = equivalence.iter().find(|v| v.difference.is_some()) {
        return Err(stop(Kind::GeneratorBug)(anyhow::anyhow!(
            "generator bug: {}: {}: the replacement differs from an ordinary build of the fixed source: {} (work folder {}; please report it)",
            v.object,
            v.function,
            v.difference.as_deref().unwrap_or_default(),
            d.work.display()
        )));
    }
    pr.say(&format!(
        "{} replacement(s) are the code an ordinary build of the fix makes",
        equivalence.len()
    ));
    Ok(equivalence)
}

/// The pack module as written.
struct Module {
    dest: PathBuf,
    signed: bool,
    warnings: Vec<String>,
}

/// Builds the pack module in `mdir` with Kbuild, converts its special-section references
/// to unexported symbols into livepatch relocations, signs it as the kernel's modules are,
/// and writes it (whole or not at all) to `o.output`.
fn build_module(
    o: &Options,
    tree: &Tree,
    modname: &str,
    mdir: &Path,
    logs: &Path,
    pr: &Progress,
) -> Result<Module> {
    pr.say(&format!("building {modname}.ko with Kbuild"));
    run(
        Command::new("make")
            .arg("-C")
            .arg(&tree.path)
            .arg(format!("M={}", mdir.display()))
            .arg(format!("CC={}", tree.compiler.program))
            .arg(format!("-j{}", o.jobs.max(1)))
            .arg("modules"),
        "building the pack module",
        &logs.join("module.log"),
    )?;
    let warnings = build_warnings(&logs.join("module.log"));
    for w in &warnings {
        pr.say(&format!("warning: {w}"));
    }
    let ko = mdir.join(format!("{modname}.ko"));
    let mut image = std::fs::read(&ko).with_context(|| format!("{}: cannot read", ko.display()))?;
    let moved = loadrel::convert(&mut image).with_context(|| format!("{}", ko.display()))?;
    if moved > 0 {
        std::fs::write(&ko, &image).with_context(|| format!("{}: cannot write", ko.display()))?;
        pr.say(&format!(
            "{moved} special-section entries refer to unexported vmlinux symbols, resolved by the module loader"
        ));
    }
    let signed = tree.is_set("CONFIG_MODULE_SIG");
    if signed {
        let hash = config_value(&tree.config, "CONFIG_MODULE_SIG_HASH").unwrap_or("sha512".into());
        let key = config_value(&tree.config, "CONFIG_MODULE_SIG_KEY")
            .unwrap_or("certs/signing_key.pem".into());
        run(
            Command::new(tree.path.join("scripts/sign-file"))
                .current_dir(&tree.path)
                .arg(&hash)
                .arg(&key)
                .arg("certs/signing_key.x509")
                .arg(&ko),
            "signing the pack module",
            &logs.join("sign.log"),
        )?;
    }
    let dest = o
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{modname}.ko")));
    // Whole or not at all: a copy cut short (Ctrl-C, a full disk) must not leave a pack
    // module that `splice load` would take.
    let part = dest.with_extension("ko.part");
    std::fs::copy(&ko, &part)
        .and_then(|_| std::fs::rename(&part, &dest))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&part);
        })
        .with_context(|| format!("{}: cannot write", dest.display()))?;
    Ok(Module {
        dest,
        signed,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_patch_files() {
        assert_eq!(
            default_name(Path::new("/x/0001-proc-fix.patch")),
            "0001-proc-fix"
        );
        assert_eq!(default_name(Path::new("fix v2.diff")), "fix-v2");
        assert_eq!(default_name(Path::new(".diff")), "fix");
    }

    #[test]
    fn refusals_name_the_file() {
        let p = diff::parse("--- a/arch/x86/lib/x.S\n+++ b/arch/x86/lib/x.S\n").unwrap();
        let e = refuse_files(&p, Path::new("f.diff")).unwrap_err();
        assert!(format!("{e}").contains("arch/x86/lib/x.S: assembly file"));
        let p = diff::parse("--- /dev/null\n+++ b/fs/new.c\n").unwrap();
        let e = refuse_files(&p, Path::new("f.diff")).unwrap_err();
        assert!(format!("{e}").contains("adds a new object file"));
        let p = diff::parse("--- a/fs/Makefile\n+++ b/fs/Makefile\n").unwrap();
        assert!(refuse_files(&p, Path::new("f.diff")).is_err());
        let p = diff::parse("--- /dev/null\n+++ b/fs/new.h\n").unwrap();
        assert!(refuse_files(&p, Path::new("f.diff")).is_ok());
        // Rust: a crate is compiled from its root, so a new file of a crate is not a new
        // object either.
        let p = diff::parse("--- a/rust/kernel/fs.rs\n+++ b/rust/kernel/fs.rs\n").unwrap();
        assert!(refuse_files(&p, Path::new("f.diff")).is_ok());
        let p = diff::parse("--- /dev/null\n+++ b/rust/kernel/new.rs\n").unwrap();
        assert!(refuse_files(&p, Path::new("f.diff")).is_ok());
    }

    #[test]
    fn link_time_optimised_trees_are_refused() {
        let e = refuse_tree("CONFIG_LTO_CLANG=y\nCONFIG_LTO_CLANG_THIN=y\n").unwrap_err();
        assert!(format!("{e}").contains("CONFIG_LTO_CLANG"), "{e}");
        assert!(refuse_tree("# CONFIG_LTO_CLANG is not set\nCONFIG_LTO_NONE=y\n").is_ok());
    }

    #[test]
    fn local_headers_bring_their_neighbours() {
        let t = std::env::temp_dir().join(format!("splice-siblings-{}", std::process::id()));
        for f in [
            "fs/ext4/ext4.h",
            "fs/ext4/extents_status.h",
            "fs/ext4/super.c",
            "include/linux/fs.h",
            "include/linux/list.h",
        ] {
            std::fs::create_dir_all(t.join(f).parent().unwrap()).unwrap();
            std::fs::write(t.join(f), "").unwrap();
        }
        let touched = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The patched header's neighbour comes along, not itself, not the sources.
        assert_eq!(
            local_header_siblings(
                &t,
                &touched(&["fs/ext4/extents_status.h", "fs/ext4/super.c"])
            )
            .unwrap(),
            vec!["fs/ext4/ext4.h".to_string()]
        );
        // Include directories are searched through -I overlays: no neighbours.
        assert!(local_header_siblings(&t, &touched(&["include/linux/fs.h"]))
            .unwrap()
            .is_empty());
        // A change to sources only brings nothing.
        assert!(local_header_siblings(&t, &touched(&["fs/ext4/super.c"]))
            .unwrap()
            .is_empty());
        let _ = std::fs::remove_dir_all(&t);
    }
}
