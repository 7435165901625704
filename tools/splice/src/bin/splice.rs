// SPDX-License-Identifier: GPL-2.0

//! `splice`: the admin command of splice packs on a running kernel.
//!
//! It reads and writes only `/sys/kernel/splice/` and loads and removes pack modules with
//! `finit_module(2)` and `delete_module(2)`. Exit codes: `Documentation/splice/admin-guide.rst`
//! (and [`splice_tools::admin::exit`]).

use clap::{Parser, Subcommand};
use nix::errno::Errno;
use nix::kmod;
use serde_json::json;
use splice_tools::admin::{self, exit, human_ns, Action, Failure, Pack, Sysfs};
use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "splice",
    version,
    about = "Load, check, apply and reverse splice packs on the running kernel",
    after_help = "Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 no splice in this kernel, \
                  4 no such pack, 5 permission, 6 not valid in this stage, 10 pack does not fit, \
                  11 code busy (try again later), 12 target or symbol missing, 13 hook failed, \
                  14 bad pack, 15 conflict, 16 cannot redirect, 17 out of memory."
)]
struct Cli {
    /// Print JSON instead of text (list, show, status, load, and the actions).
    #[arg(long, global = true)]
    json: bool,
    /// The splice sysfs directory (for tests).
    #[arg(long, env = "SPLICE_SYSFS", hide = true)]
    sysfs: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Is splice present, which kernel, what it now is (the effective version), what is
    /// applied and which fixes.
    Status {
        /// Print node_exporter textfile metrics (for a .prom file of its textfile
        /// collector) instead of text; not with --json.
        #[arg(long)]
        prometheus: bool,
    },
    /// Every loaded pack: name, stage, number of targets, description.
    List,
    /// One pack: targets and addresses, last failure explained, timings.
    Show { pack: String },
    /// Load a pack module (finit_module), then show it. Nothing changes until apply.
    Load { ko: PathBuf },
    /// Prove that the pack fits the running kernel (run-pre matching); changes nothing.
    Check { pack: String },
    /// Switch the running kernel to the pack's functions.
    Apply {
        /// The pack (its name or its module's), or --all.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        pack: Option<String>,
        /// Load and apply every pack installed for the running kernel (in --dir), in the
        /// order they were installed, stopping at the first failure: what splice.service
        /// runs at boot. Skipped with splice.enable=0 on the kernel command line; refused
        /// while the marker of an apply that never ended is there (a crash during it).
        #[arg(long)]
        all: bool,
        /// Where --all finds the packs (default: /lib/modules/$(uname -r)/splice).
        #[arg(long, value_name = "DIR", requires = "all")]
        dir: Option<PathBuf>,
        /// Where --all keeps its marker (default: /var/lib/splice).
        #[arg(
            long,
            value_name = "DIR",
            requires = "all",
            default_value = "/var/lib/splice"
        )]
        state: PathBuf,
        /// The kernel command line --all reads (for tests).
        #[arg(
            long,
            env = "SPLICE_CMDLINE",
            hide = true,
            default_value = "/proc/cmdline"
        )]
        cmdline: PathBuf,
        #[command(flatten)]
        retry: Retry,
    },
    /// Switch back to the original functions.
    Reverse {
        pack: String,
        #[command(flatten)]
        retry: Retry,
    },
    /// Remove a pack module that is not applied.
    Unload { pack: String },
    /// Make a Debian package of a pack module (splice-pack-NAME), for apt: it installs
    /// under /lib/modules/RELEASE/splice, applies it when installed on that kernel and at
    /// each boot, and reverses it when removed.
    Package {
        ko: PathBuf,
        /// Where to write the .deb.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// The package's maintainer, "Name <mail>" (default: DEBFULLNAME and DEBEMAIL).
        #[arg(long)]
        maintainer: Option<String>,
    },
}

/// How hard an action tries while tasks are in the code (the kernel's `tries` and
/// `retry_delay_ms`, set for this action and put back after it).
#[derive(clap::Args, Clone, Copy)]
struct Retry {
    /// Tries before giving up with code_busy (1 to 100; default: /sys/kernel/splice/tries).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    tries: Option<u32>,
    /// Milliseconds between tries (0 to 10000; default: /sys/kernel/splice/retry_delay_ms).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u32).range(0..=10000))]
    retry_delay: Option<u32>,
}

fn main() {
    splice_tools::default_sigpipe();
    let cli = Cli::parse();
    let sys = Sysfs::new(cli.sysfs.clone());
    let code = match run(&cli, &sys) {
        Ok(code) => code,
        Err(f) => {
            if cli.json {
                println!("{}", f.to_json());
            }
            eprintln!("splice: {}", f.message);
            f.code
        }
    };
    std::process::exit(code);
}

fn run(cli: &Cli, sys: &Sysfs) -> Result<i32, Failure> {
    match &cli.cmd {
        Cmd::Status { prometheus } => status(cli, sys, *prometheus),
        Cmd::List => list(cli, sys),
        Cmd::Show { pack } => {
            let name = sys.resolve(pack)?;
            print_pack(cli, &sys.pack(&name)?);
            Ok(exit::OK)
        }
        Cmd::Load { ko } => load(cli, sys, ko),
        Cmd::Check { pack } => act(cli, sys, pack, Action::Check),
        Cmd::Apply {
            pack: Some(pack),
            retry,
            ..
        } => with_retry(sys, *retry, || act(cli, sys, pack, Action::Apply)),
        Cmd::Apply {
            dir,
            state,
            cmdline,
            retry,
            ..
        } => {
            // splice.enable=0: nothing of splice is touched, its tunables included.
            if boot_disabled(cmdline)? {
                println!("splice: splice.enable=0 on the kernel command line: no pack applied");
                return Ok(exit::OK);
            }
            let dir = dir
                .clone()
                .unwrap_or_else(|| splice_tools::boot::pack_dir(&release()));
            with_retry(sys, *retry, || apply_all(cli, sys, &dir, state))
        }
        Cmd::Reverse { pack, retry } => {
            with_retry(sys, *retry, || act(cli, sys, pack, Action::Reverse))
        }
        Cmd::Unload { pack } => unload(cli, sys, pack),
        Cmd::Package {
            ko,
            output,
            maintainer,
        } => package(cli, ko, output, maintainer.as_deref()),
    }
}

/// `splice package`: the pack `ko` as a Debian package in `output`.
fn package(cli: &Cli, ko: &Path, output: &Path, maintainer: Option<&str>) -> Result<i32, Failure> {
    let Some(who) = maintainer
        .map(str::to_owned)
        .or_else(splice_tools::package::maintainer_from_env)
    else {
        return Err(Failure::new(
            exit::USAGE,
            "the package needs a maintainer: give --maintainer 'Name <mail>', or set \
             DEBFULLNAME and DEBEMAIL"
                .to_string(),
        ));
    };
    splice_tools::package::check_maintainer(&who)
        .map_err(|e| Failure::new(exit::USAGE, format!("{e:#}")))?;
    let deb = splice_tools::package::build(ko, output, &who).map_err(|e| {
        // A file that cannot be read or written is not a bad pack.
        let code = match e
            .root_cause()
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
        {
            Some(io::ErrorKind::NotFound) => exit::NO_PACK,
            Some(io::ErrorKind::PermissionDenied) => exit::PERMISSION,
            Some(_) => exit::ERROR,
            None => exit::BAD_PACK,
        };
        Failure::new(code, format!("{e:#}"))
    })?;
    if cli.json {
        println!("{}", json!({ "deb": deb }));
    } else {
        println!("{}", deb.display());
    }
    Ok(exit::OK)
}

/// Runs `f` with the kernel's tunables set as `retry` asks, and puts them back after: on
/// every way out, with the signals that would end the command held back meanwhile, and with
/// the tunables' lock held, so that another command's values are neither used nor saved as
/// the ones to put back.
fn with_retry(
    sys: &Sysfs,
    retry: Retry,
    f: impl FnOnce() -> Result<i32, Failure>,
) -> Result<i32, Failure> {
    if retry.tries.is_none() && retry.retry_delay.is_none() {
        return f();
    }
    sys.present()?;
    // Dropped in reverse order: the tunables put back, the signals let in, the lock let go.
    // Waiting for the lock, the command can still be interrupted.
    let _lock = sys.lock_tunables()?;
    let _held = splice_tools::signals::Held::new()
        .map_err(|e| Failure::new(exit::ERROR, format!("cannot hold signals back: {e}")))?;
    let mut set = Tunables {
        sys,
        saved: Vec::new(),
    };
    for (file, value) in [
        ("tries", retry.tries),
        ("retry_delay_ms", retry.retry_delay),
    ] {
        let Some(v) = value else { continue };
        let old = sys.root_value(file)?;
        sys.set_root_value(file, &v.to_string())?;
        set.saved.push((file, old));
    }
    let r = f();
    let back = set.put_back();
    match (r, back) {
        (Err(f), Err(t)) => {
            eprintln!("splice: warning: {t}; write it to /sys/kernel/splice/ by hand");
            Err(f)
        }
        (Err(f), Ok(())) => Err(f),
        (Ok(_), Err(t)) => Err(Failure::new(
            exit::ERROR,
            format!("the action is done, but {t}; write it to /sys/kernel/splice/ by hand"),
        )),
        (Ok(code), Ok(())) => Ok(code),
    }
}

/// The tunables a command set, with the values to put back ([`with_retry`]); put back when
/// dropped if [`Tunables::put_back`] was not called (an error, a panic).
struct Tunables<'a> {
    sys: &'a Sysfs,
    saved: Vec<(&'static str, String)>,
}

impl Tunables<'_> {
    /// Puts back every tunable not yet put back; says which could not be, and why.
    fn restore(&mut self) -> Vec<String> {
        let mut failed = Vec::new();
        for (file, old) in std::mem::take(&mut self.saved) {
            if let Err(e) = self.sys.set_root_value(file, &old) {
                failed.push(format!("{file} was not put back to {old} ({})", e.message));
            }
        }
        failed
    }

    /// Puts every tunable back; the error names those that could not be.
    fn put_back(mut self) -> Result<(), String> {
        let failed = self.restore();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}

impl Drop for Tunables<'_> {
    fn drop(&mut self) {
        for f in self.restore() {
            eprintln!("splice: warning: {f}");
        }
    }
}

fn release() -> String {
    nix::sys::utsname::uname().map_or_else(
        |_| "unknown".into(),
        |u| u.release().to_string_lossy().into_owned(),
    )
}

fn status(cli: &Cli, sys: &Sysfs, prometheus: bool) -> Result<i32, Failure> {
    if prometheus && cli.json {
        return Err(Failure::new(
            exit::USAGE,
            "status: --prometheus and --json are two formats: choose one",
        ));
    }
    let st = sys.status(&release())?;
    let code = if st.present {
        exit::OK
    } else {
        exit::NO_SPLICE
    };
    if prometheus {
        print!("{}", splice_tools::inventory::prometheus(&st));
        return Ok(code);
    }
    if cli.json {
        println!("{}", json!(st));
        return Ok(code);
    }
    if !st.present {
        println!(
            "splice: not present in this kernel (Linux {}): no {}; it needs CONFIG_SPLICE=y",
            st.kernel_release,
            sys.root.display()
        );
        return Ok(code);
    }
    println!(
        "splice core {} (tools {}) on Linux {} (build-id {})",
        st.version.as_deref().unwrap_or("?"),
        env!("CARGO_PKG_VERSION"),
        st.kernel_release,
        st.build_id.as_deref().unwrap_or("?")
    );
    println!(
        "retries: tries {}, retry_delay_ms {}, park {}",
        st.tries.map_or("?".into(), |t| t.to_string()),
        st.retry_delay_ms.map_or("?".into(), |t| t.to_string()),
        st.park.map_or("?", |p| if p {
            "1 (tasks asleep in the code are parked)"
        } else {
            "0"
        })
    );
    println!("effective version: {}", st.effective_version);
    println!("patch level: {}", st.patch_level);
    if st.applied.is_empty() {
        println!("applied: none");
    }
    for n in &st.applied {
        let Some(p) = sys.pack_if_loaded(n)? else {
            continue;
        };
        println!("applied: {n} ({} targets) {}", p.nr_targets, p.description);
        for f in &p.fixes {
            println!("  fix: {f}");
        }
    }
    for n in &st.not_applied {
        let Some(p) = sys.pack_if_loaded(n)? else {
            continue;
        };
        println!("loaded, not applied: {n} ({}) {}", p.stage, p.description);
    }
    Ok(code)
}

fn list(cli: &Cli, sys: &Sysfs) -> Result<i32, Failure> {
    let packs = sys.packs()?;
    if cli.json {
        let v: Vec<_> = packs
            .iter()
            .map(|p| {
                json!({ "name": p.name, "module": p.module, "stage": p.stage,
                        "nr_targets": p.nr_targets, "description": p.description })
            })
            .collect();
        println!("{}", json!(v));
        return Ok(exit::OK);
    }
    if packs.is_empty() {
        println!("no packs loaded");
        return Ok(exit::OK);
    }
    let w = packs.iter().map(|p| p.name.len()).max().unwrap_or(4).max(4);
    println!("{:w$}  {:9}  {:7}  DESCRIPTION", "NAME", "STAGE", "TARGETS");
    for p in &packs {
        println!(
            "{:w$}  {:9}  {:7}  {}",
            p.name, p.stage, p.nr_targets, p.description
        );
    }
    Ok(exit::OK)
}

fn print_pack(cli: &Cli, p: &Pack) {
    if cli.json {
        print_pack_json(p);
        return;
    }
    println!("pack:        {}", p.name);
    println!("module:      {}", p.module);
    println!("description: {}", p.description);
    if !p.fixed_in.is_empty() {
        println!("fixes of:    {}", p.fixed_in);
    }
    for f in &p.fixes {
        println!("fix:         {f}");
    }
    println!("stage:       {}", p.stage);
    for w in &p.warnings {
        println!("warning:     {w}");
    }
    print_targets(p);
    print_last_failure(p);
    print_last_action(p);
}

fn print_pack_json(p: &Pack) {
    let timings: serde_json::Map<_, _> = p
        .timings
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let cause = p.cause();
    println!(
        "{}",
        json!({
            "name": p.name, "module": p.module, "stage": p.stage,
            "description": p.description, "fixes": p.fixes, "fixed_in": p.fixed_in,
            "nr_targets": p.nr_targets,
            "targets": p.targets, "abort_cause": p.abort_cause,
            "abort_explanation": cause.map(|c| c.explain()),
            "advice": cause.map(|c| c.advice()),
            "conflicts": p.conflicts, "more_conflicts": p.more_conflicts,
            "timings": timings, "warnings": p.warnings,
        })
    );
}

fn print_targets(p: &Pack) {
    if p.targets.is_empty() {
        println!(
            "targets:     {} (addresses known after check)",
            p.nr_targets
        );
        return;
    }
    println!("targets:     {}", p.targets.len());
    let w = p
        .targets
        .iter()
        .map(|t| t.function.len())
        .max()
        .unwrap_or(0);
    for t in &p.targets {
        println!(
            "  {:w$}  {} -> {}  {}",
            t.function, t.old_address, t.new_address, t.state
        );
    }
}

/// Why the last action failed, what blocked it, and what to do next.
fn print_last_failure(p: &Pack) {
    let c = match p.cause() {
        Some(admin::Cause::None) | None => {
            println!("last failure: none");
            return;
        }
        Some(c) => c,
    };
    println!("last failure: {c}: {}", c.explain());
    for k in &p.conflicts {
        println!(
            "  blocked by {} (pid {}) in {} at {}",
            k.comm, k.pid, k.function, k.address
        );
    }
    if p.more_conflicts > 0 {
        println!("  ... and {} more", p.more_conflicts);
    }
    println!("  next: {}", c.advice());
}

/// How long the last action took, and how long it stopped the kernel.
fn print_last_action(p: &Pack) {
    if p.timing("total_ns") == 0 {
        return;
    }
    let pause = p.timing("pause_ns");
    print!(
        "last action: {} total, matching {}",
        human_ns(p.timing("total_ns")),
        human_ns(p.timing("match_ns"))
    );
    if pause > 0 {
        print!(
            ", kernel stopped {} (stack check {})",
            human_ns(pause),
            human_ns(p.timing("stack_check_ns"))
        );
    }
    println!(", tries {}", p.timing("tries"));
}

fn act(cli: &Cli, sys: &Sysfs, pack: &str, action: Action) -> Result<i32, Failure> {
    let name = sys.resolve(pack)?;
    let p = sys.act(&name, action)?;
    report_action(cli, &name, action, &p);
    Ok(exit::OK)
}

/// Prints what `action` did to pack `name`, now `p`.
fn report_action(cli: &Cli, name: &str, action: Action, p: &Pack) {
    if cli.json {
        print_pack(cli, p);
        return;
    }
    let what = match action {
        Action::Check => "fits the running kernel; nothing was changed",
        Action::Apply => "applied: the running kernel uses the new functions",
        Action::Reverse => "reversed: the running kernel uses its original functions",
    };
    let mut figures = String::new();
    if p.timing("match_ns") > 0 {
        figures = format!("matching {}, ", human_ns(p.timing("match_ns")));
    }
    if action != Action::Check {
        figures.push_str(&format!(
            "kernel stopped {}, tries {}",
            human_ns(p.timing("pause_ns")),
            p.timing("tries")
        ));
    }
    let figures = figures.trim_end_matches(", ");
    println!(
        "{name}: {what} ({} target{}; {figures})",
        p.nr_targets,
        if p.nr_targets == 1 { "" } else { "s" }
    );
    for w in &p.warnings {
        println!("{name}: warning: {w}");
    }
}

/// Whether the kernel command line in `cmdline` turns splice off (`splice.enable=0`).
fn boot_disabled(cmdline: &Path) -> Result<bool, Failure> {
    let line = std::fs::read_to_string(cmdline).map_err(|e| Failure::io(cmdline, "read", &e))?;
    Ok(splice_tools::boot::disabled(&line))
}

/// `splice apply --all` ([`splice_tools::boot`]).
fn apply_all(cli: &Cli, sys: &Sysfs, dir: &Path, state: &Path) -> Result<i32, Failure> {
    use splice_tools::boot;
    sys.present()?;
    refuse_after_crash(state)?;
    let packs = match boot::packs_in_order(dir) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!(
                "splice: no pack installed for this kernel ({} does not exist)",
                dir.display()
            );
            return Ok(exit::OK);
        }
        Err(e) => return Err(Failure::io(dir, "list", &e)),
    };
    std::fs::create_dir_all(state).map_err(|e| Failure::io(state, "create", &e))?;
    let mut applied = Vec::new();
    let mut already = 0;
    for (i, ko) in packs.iter().enumerate() {
        let r = apply_installed(cli, sys, ko, state);
        match r {
            Ok(Some(name)) => applied.push(name),
            Ok(None) => already += 1,
            Err(mut f) => {
                // What this run did before it stopped, and what it did not try: in the
                // failure's message, which --json carries too.
                let rest: Vec<String> = packs[i + 1..]
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                f.message = format!(
                    "{}\nstopped at {}: applied now: {}; already applied: {already}; not tried: {}",
                    f.message,
                    ko.display(),
                    listed(&applied),
                    listed(&rest)
                );
                return Err(f);
            }
        }
    }
    if cli.json {
        println!(
            "{}",
            json!({ "applied": applied, "already_applied": already, "installed": packs.len() })
        );
    } else {
        println!(
            "splice: {} of {} installed packs applied now; the others were already",
            applied.len(),
            packs.len()
        );
    }
    Ok(exit::OK)
}

/// Refuses to apply at boot while the crash marker in `state` says a boot stopped in the
/// middle of an apply: the pack it names may crash the kernel again.
fn refuse_after_crash(state: &Path) -> Result<(), Failure> {
    let marker = splice_tools::boot::marker(state);
    let Ok(was) = std::fs::read_to_string(&marker) else {
        return Ok(());
    };
    Err(Failure::new(
        exit::ERROR,
        format!(
            "a boot stopped while applying {} ({} is still there): no pack applied, to keep a pack that crashes the kernel from doing it again; once the cause is known, remove {} to apply at the next boot",
            was.trim(),
            marker.display(),
            marker.display()
        ),
    ))
}

/// `v` for a message: comma-separated, or "none".
fn listed(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Loads (if need be) and applies the installed pack `ko`: its name if this applied it, `None`
/// if it was applied already. The crash marker stands for the kernel's apply alone: loading
/// and printing come before and after it ([`splice_tools::boot::Marker`]).
fn apply_installed(
    cli: &Cli,
    sys: &Sysfs,
    ko: &Path,
    state: &Path,
) -> Result<Option<String>, Failure> {
    let bytes = std::fs::read(ko).map_err(|e| Failure::io_pack(ko, "read", &e))?;
    let module = admin::module_name_of(&bytes).ok_or_else(|| {
        Failure::new(
            exit::BAD_PACK,
            format!("{} is not a kernel module", ko.display()),
        )
    })?;
    let name = match sys.pack_of_module(&module)? {
        Some(n) if sys.pack(&n)?.stage == "applied" => return Ok(None),
        Some(n) => n,
        None => {
            let n = load_module(sys, ko)?;
            if !cli.json {
                println!("loaded {} as pack {n}", ko.display());
            }
            n
        }
    };
    let path = splice_tools::boot::marker(state);
    let marker = splice_tools::boot::Marker::make(state, &ko.display().to_string())
        .map_err(|e| Failure::io(&path, "write", &e))?;
    let r = sys.act(&name, Action::Apply);
    let removed = marker.remove();
    let p = r?;
    removed.map_err(|e| Failure::io(&path, "remove", &e))?;
    // With --json, the run's summary is its one document.
    if !cli.json {
        report_action(cli, &name, Action::Apply, &p);
    }
    Ok(Some(name))
}

fn load(cli: &Cli, sys: &Sysfs, ko: &Path) -> Result<i32, Failure> {
    let name = load_module(sys, ko)?;
    let p = sys.pack(&name)?;
    if !cli.json {
        println!(
            "loaded {} as pack {name}; nothing changes until: splice apply {name}",
            ko.display()
        );
    }
    print_pack(cli, &p);
    Ok(exit::OK)
}

/// Loads the pack module `ko`; the name of the pack it registered.
fn load_module(sys: &Sysfs, ko: &Path) -> Result<String, Failure> {
    sys.present()?;
    // Read through the descriptor the kernel loads from (from its start, whatever the
    // offset): the name checked is that of the module loaded, even if the path is replaced
    // meanwhile (an upgrade of the pack's package).
    let mut file = std::fs::File::open(ko).map_err(|e| Failure::io_pack(ko, "open", &e))?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut file, &mut bytes).map_err(|e| Failure::io_pack(ko, "read", &e))?;
    let module = admin::module_name_of(&bytes).ok_or_else(|| {
        Failure::new(
            exit::BAD_PACK,
            format!("{} is not a kernel module (no .modinfo name)", ko.display()),
        )
    })?;
    if let Some(n) = sys.pack_of_module(&module)? {
        return Err(Failure::new(
            exit::CONFLICT,
            format!("{module} is already loaded, as pack {n}"),
        ));
    }
    if let Err(e) = kmod::finit_module(&file, c"", kmod::ModuleInitFlags::empty()) {
        let (code, why) = match e {
            Errno::EPERM => (exit::PERMISSION, "loading modules needs root (CAP_SYS_MODULE), and is refused when module loading is disabled"),
            Errno::EEXIST => (exit::CONFLICT, "a module or pack of that name is already loaded"),
            Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EBADMSG => {
                (exit::BAD_PACK, "its signature was refused; sign it with this kernel's module key")
            }
            Errno::ENOEXEC | Errno::EINVAL | Errno::ENOENT => {
                (exit::BAD_PACK, "the kernel refused it: it was built for another kernel, or its pack is malformed; dmesg says why")
            }
            Errno::ENOMEM => (exit::NO_MEMORY, "out of memory"),
            _ => (exit::ERROR, "see dmesg"),
        };
        let e = io::Error::from(e);
        return Err(Failure::new(
            code,
            format!("cannot load {}: {e}: {why}", ko.display()),
        ));
    }
    sys.pack_of_module(&module)?.ok_or_else(|| {
        Failure::new(
            exit::BAD_PACK,
            format!("{module} loaded but registered no splice pack: it is not a splice pack; remove it with rmmod {module}"),
        )
    })
}

fn unload(cli: &Cli, sys: &Sysfs, pack: &str) -> Result<i32, Failure> {
    let name = sys.resolve(pack)?;
    let p = sys.pack(&name)?;
    if p.stage == "applied" {
        return Err(Failure::new(
            exit::STAGE,
            format!(
                "pack {name} is applied: the running kernel uses its code, so its module stays; \
                 reverse it first: splice reverse {name}"
            ),
        ));
    }
    let module =
        CString::new(p.module.clone()).map_err(|_| Failure::new(exit::ERROR, "bad module name"))?;
    if let Err(e) = kmod::delete_module(&module, kmod::DeleteModuleFlags::O_NONBLOCK) {
        let (code, why) = match e {
            Errno::EPERM => (exit::PERMISSION, "removing modules needs root"),
            Errno::EWOULDBLOCK | Errno::EBUSY => (
                exit::STAGE,
                "the module is in use (it was applied meanwhile?)",
            ),
            Errno::ENOENT => (
                exit::NO_PACK,
                "it is not loaded any more (unloaded meanwhile, by another command?)",
            ),
            _ => (exit::ERROR, "see dmesg"),
        };
        let e = io::Error::from(e);
        return Err(Failure::new(
            code,
            format!("cannot remove {}: {e}: {why}", p.module),
        ));
    }
    if cli.json {
        println!("{}", json!({ "unloaded": name, "module": p.module }));
    } else {
        println!("unloaded pack {name} (module {})", p.module);
    }
    Ok(exit::OK)
}
