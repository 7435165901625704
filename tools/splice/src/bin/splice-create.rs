// SPDX-License-Identifier: GPL-2.0

//! `splice-create`: makes splice packs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use object::Object as _;

use splice_tools::assemble::{assemble, Options, TargetSel};
use splice_tools::elf::Obj;
use splice_tools::generate::{generate, Options as GenOptions};
use splice_tools::input::symvers::Symvers;
use splice_tools::policy::Stop;

#[derive(Parser)]
#[command(
    name = "splice-create",
    version,
    about = "Make a splice pack (a rebootless kernel fix) from a unified diff",
    long_about = "Make a splice pack (a rebootless kernel fix) from a unified diff and the \
        configured, built source tree of the running kernel. The tree is only read. The pack \
        is a kernel module: load it, then check, apply and reverse it through \
        /sys/kernel/splice/<name>/ (or the splice CLI).",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    generate: GenerateArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Assemble a pack from the pre- and post-patch objects of one compilation unit.
    Assemble(AssembleArgs),
}

#[derive(Args)]
struct GenerateArgs {
    /// The configured and built kernel tree the running kernel was built from.
    #[arg(long, required = true)]
    tree: Option<PathBuf>,
    /// The fix, as a unified diff (-p1, as git and diff -u write them), or a series of
    /// mails (git format-patch) in one file. Repeatable: the diffs apply in order, each on
    /// top of the ones before, and the pack carries them all (a cumulative pack's fixes).
    #[arg(long, required = true)]
    patch: Vec<PathBuf>,
    /// A diff the running kernel's source has on top of the tree, such as the patch of a pack
    /// applied before this one (repeatable, applied in order).
    #[arg(long, value_name = "DIFF")]
    base: Vec<PathBuf>,
    /// Name of the pack (letters, digits, '-', '_'); from the patch's file name by default.
    #[arg(long)]
    name: Option<String>,
    /// One line describing the fix; by default the subjects of the patch's commits
    /// (`Subject:` of each mail) and the CVE ids their messages name.
    #[arg(long)]
    description: Option<String>,
    /// A fix the pack carries, as one line (its commit's subject), listed by `splice show`
    /// (repeatable; by default the subjects of the patch's commits).
    #[arg(long = "fix", value_name = "SUBJECT")]
    fixes: Vec<String>,
    /// The kernel version whose fixes the pack carries (for example 7.2.13, when it is a
    /// fix of that stable release): `splice status` then says the running kernel is this
    /// release plus fixes of that version.
    #[arg(long, value_name = "VERSION")]
    fixed_in: Option<String>,
    /// A cumulative pack, carrying every fix so far: applying it takes over the targets of
    /// every applied pack and gives back the kernel's code to those it does not carry, in
    /// one stop; the packs it replaces are left reversed and can be unloaded.
    #[arg(long)]
    replace: bool,
    /// The pack patches its target modules when they load: applied, it redirects the
    /// modules loaded then and the others as they load (before their init runs); a module
    /// whose code does not match is refused.
    #[arg(long, conflicts_with = "replace")]
    on_load: bool,
    /// The pack module to write (default: `splice_<name>.ko`).
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// The JSON report to write (default: the module's name with .json).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Keep the scratch files (sources, objects, logs, module) in this directory.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Parallel compile jobs (default: the number of CPUs).
    #[arg(short = 'j', long)]
    jobs: Option<usize>,
    /// Print errors only.
    #[arg(short, long)]
    quiet: bool,
    /// Make the pack even when the C compiler here is not the one the tree was built with.
    /// Such a pack does not match the running kernel (splice check refuses it with
    /// no_match); for tests of run-pre matching.
    #[arg(long)]
    any_compiler: bool,
}

fn run_generate(a: GenerateArgs) -> Result<()> {
    let (Some(tree), false) = (a.tree, a.patch.is_empty()) else {
        bail!("--tree and --patch are required");
    };
    // Several diffs: one series, in order, in a file named after the last.
    let series = splice_tools::input::diff::Series::of(&a.patch)?;
    let patch = series.path().to_path_buf();
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report = generate(&GenOptions {
        tree,
        patch,
        base: a.base,
        name: a.name,
        description: a.description,
        fixes: a.fixes,
        fixed_in: a.fixed_in,
        replace: a.replace,
        on_load: a.on_load,
        output: a.output,
        report: a.report,
        work: a.work,
        jobs,
        quiet: a.quiet,
        any_compiler: a.any_compiler,
    })?;
    // What the admin does next, on the machine that runs this kernel.
    if !a.quiet {
        eprintln!(
            "splice-create: next, on the machine running {}: splice load {} && splice apply {}",
            report.kernel_release, report.module_file, report.pack.pack
        );
    }
    Ok(())
}

#[derive(Args)]
struct AssembleArgs {
    /// The object compiled from the unpatched source (-ffunction-sections -fdata-sections).
    #[arg(long)]
    pre: PathBuf,
    /// The object compiled from the patched source, with the same flags.
    #[arg(long)]
    post: PathBuf,
    /// Path of the object in the kernel tree, e.g. fs/proc/version.o.
    #[arg(long)]
    object_name: String,
    /// The module the object is linked into (none: vmlinux).
    #[arg(long)]
    module: Option<String>,
    /// Name of the pack (letters, digits, '-', '_').
    #[arg(long)]
    name: String,
    /// One line describing the pack.
    #[arg(long, default_value = "")]
    description: String,
    /// `uname -r` of the kernel the pack is for.
    #[arg(long)]
    release: String,
    /// GNU build-id of the kernel's vmlinux, in hex.
    #[arg(long, conflicts_with = "vmlinux")]
    build_id: Option<String>,
    /// The kernel's vmlinux, to read its GNU build-id.
    #[arg(long)]
    vmlinux: Option<PathBuf>,
    /// The kernel's Module.symvers.
    #[arg(long)]
    symvers: PathBuf,
    /// The kernel's System.map: refuse a pack whose code names a symbol the kernel would not
    /// resolve at check (default: the System.map beside --vmlinux, if any).
    #[arg(long, value_name = "FILE")]
    system_map: Option<PathBuf>,
    /// The kernel's .config, for the entry sizes of its special sections (default: those
    /// of a kernel with CONFIG_DEBUG_BUGVERBOSE=y).
    #[arg(long, value_name = "FILE")]
    kernel_config: Option<PathBuf>,
    /// A function to replace (repeatable).
    #[arg(
        long = "target",
        value_name = "FUNC",
        required_unless_present = "auto_targets"
    )]
    targets: Vec<String>,
    /// Replace every function whose code changed.
    #[arg(long, conflicts_with = "targets")]
    auto_targets: bool,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--build-id {s:?}: not an even number of hex digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("--build-id"))
        .collect()
}

fn run_assemble(a: AssembleArgs) -> Result<()> {
    let build_id = match (&a.build_id, &a.vmlinux) {
        (Some(h), _) => parse_hex(h)?,
        (None, Some(v)) => {
            let data = std::fs::read(v).with_context(|| format!("{}: cannot read", v.display()))?;
            let f = object::File::parse(&*data)
                .map_err(|e| anyhow::anyhow!("{}: not an ELF file: {e}", v.display()))?;
            match f.build_id() {
                Ok(Some(id)) => id.to_vec(),
                _ => bail!("{}: has no GNU build-id note", v.display()),
            }
        }
        (None, None) => Vec::new(),
    };
    let symvers = Symvers::read(&a.symvers)?;
    let pre = Obj::read(&a.pre)?;
    let post = Obj::read(&a.post)?;
    let layout = match &a.kernel_config {
        Some(f) => splice_tools::special::Layout::of_config(
            &std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?,
        ),
        None => Default::default(),
    };
    let opts = Options {
        object_name: a.object_name,
        module: a.module.unwrap_or_default(),
        name: a.name,
        description: a.description,
        release: a.release,
        build_id,
        targets: if a.auto_targets {
            TargetSel::Auto
        } else {
            TargetSel::Explicit(a.targets)
        },
        layout,
        noreturns: Default::default(),
    };
    let out = assemble(&opts, &pre, &post, &symvers)?;
    let system_map = a
        .system_map
        .clone()
        .or_else(|| a.vmlinux.as_ref().map(|v| v.with_file_name("System.map")))
        .filter(|m| m.exists());
    match &system_map {
        Some(m) => {
            let text =
                std::fs::read_to_string(m).with_context(|| format!("{}: cannot read", m.display()))?;
            splice_tools::policy::resolvable::refuse_unresolvable(
                &out.blob,
                out.registered(),
                &splice_tools::input::symvers::system_map_names(&text),
            )?;
        }
        None => eprintln!(
            "splice-create: no System.map (--system-map): the symbols left to the kernel are not checked"
        ),
    }
    out.write_to(&a.out)?;
    for t in &out.report.targets {
        println!("target {} -> {}", t.function, t.replacement);
    }
    println!(
        "{}: {} bytes of metadata, {} core-resolved and {} kept relocations",
        a.out.display(),
        out.blob.len(),
        out.report.core_resolved_relocations,
        out.report.kept_elf_relocations
    );
    Ok(())
}

fn main() -> ExitCode {
    splice_tools::default_sigpipe();
    let cli = Cli::parse();
    let r = match cli.cmd {
        Some(Cmd::Assemble(a)) => run_assemble(a),
        None => run_generate(cli.generate),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splice-create: {e:#}");
            ExitCode::from(Stop::exit_code(Stop::kind_of(&e)))
        }
    }
}
