// SPDX-License-Identifier: GPL-2.0

//! The admin side of splice: what the `splice` command reads from and writes to
//! `/sys/kernel/splice/` (`Documentation/ABI/testing/sysfs-kernel-splice`), the abort causes
//! explained in plain language, and the exit codes (`Documentation/splice/admin-guide.rst`).
//!
//! Only the sysfs files of splice are read or written here; loading and removing pack modules
//! (`finit_module`, `delete_module`) is the binary's job.

use nix::errno::Errno;
use serde::Serialize;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Exit codes of `splice`, one per class of failure.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An unexpected error (I/O on sysfs, a file that cannot be read).
    pub const ERROR: i32 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// The running kernel has no splice (`CONFIG_SPLICE` is not set).
    pub const NO_SPLICE: i32 = 3;
    /// No pack of that name is loaded, or the pack file does not exist.
    pub const NO_PACK: i32 = 4;
    /// Not allowed: splice's files and the module syscalls need root.
    pub const PERMISSION: i32 = 5;
    /// The action is not valid in the pack's stage (apply an applied pack, unload an applied
    /// pack, ...).
    pub const STAGE: i32 = 6;
    /// The pack does not fit this kernel: `no_match`, `ambiguous_match`, `kernel_mismatch`.
    pub const NO_FIT: i32 = 10;
    /// `code_busy`, `nmi_not_held`: a task is in the code, or a CPU did not stop in time;
    /// trying again later is safe.
    pub const BUSY: i32 = 11;
    /// `target_not_loaded`, `unresolved_symbol`: something the pack patches or needs is absent.
    pub const MISSING: i32 = 12;
    /// `hook_failed`: one of the pack's hooks refused.
    pub const HOOK: i32 = 13;
    /// `bad_pack`, or the kernel refused to load the module (format, signature, vermagic).
    pub const BAD_PACK: i32 = 14;
    /// `conflicting_pack`, `livepatched`, `text_changed`, or a module of that name is already
    /// loaded.
    pub const CONFLICT: i32 = 15;
    /// `cannot_redirect`: a target has no room for the jump.
    pub const CANNOT_REDIRECT: i32 = 16;
    /// `out_of_memory`.
    pub const NO_MEMORY: i32 = 17;
}

/// An abort cause, as `<pack>/abort_cause` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    None,
    NoMatch,
    AmbiguousMatch,
    CodeBusy,
    TargetNotLoaded,
    HookFailed,
    BadPack,
    KernelMismatch,
    ConflictingPack,
    OutOfMemory,
    UnresolvedSymbol,
    CannotRedirect,
    Livepatched,
    NmiNotHeld,
    TextChanged,
}

impl Cause {
    /// Every cause, in the order of the admin guide's table.
    pub const ALL: [Cause; 15] = [
        Cause::None,
        Cause::NoMatch,
        Cause::AmbiguousMatch,
        Cause::CodeBusy,
        Cause::TargetNotLoaded,
        Cause::HookFailed,
        Cause::BadPack,
        Cause::KernelMismatch,
        Cause::ConflictingPack,
        Cause::OutOfMemory,
        Cause::UnresolvedSymbol,
        Cause::CannotRedirect,
        Cause::Livepatched,
        Cause::NmiNotHeld,
        Cause::TextChanged,
    ];

    /// The name in sysfs.
    pub fn name(self) -> &'static str {
        match self {
            Cause::None => "none",
            Cause::NoMatch => "no_match",
            Cause::AmbiguousMatch => "ambiguous_match",
            Cause::CodeBusy => "code_busy",
            Cause::TargetNotLoaded => "target_not_loaded",
            Cause::HookFailed => "hook_failed",
            Cause::BadPack => "bad_pack",
            Cause::KernelMismatch => "kernel_mismatch",
            Cause::ConflictingPack => "conflicting_pack",
            Cause::OutOfMemory => "out_of_memory",
            Cause::UnresolvedSymbol => "unresolved_symbol",
            Cause::CannotRedirect => "cannot_redirect",
            Cause::Livepatched => "livepatched",
            Cause::NmiNotHeld => "nmi_not_held",
            Cause::TextChanged => "text_changed",
        }
    }

    /// The cause named `s` (without its newline).
    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.name() == s.trim())
    }

    /// What happened, in plain language.
    pub fn explain(self) -> &'static str {
        match self {
            Cause::None => "the last action succeeded",
            Cause::NoMatch => {
                "the running code is not the code the pack was built against: the pack was \
                 made from another source tree, another configuration or another compiler"
            }
            Cause::AmbiguousMatch => {
                "a function of the pack matched more than one place in the running kernel, so \
                 splice cannot tell which one to replace"
            }
            Cause::CodeBusy => {
                "a task was running, or sleeping in, code the action replaces, on every try; \
                 nothing was changed"
            }
            Cause::TargetNotLoaded => "a module whose code the pack replaces is not loaded",
            Cause::HookFailed => "a hook of the pack refused the action; its fail hooks ran",
            Cause::BadPack => "the pack's metadata or code is malformed",
            Cause::KernelMismatch => "the pack was made for another kernel release",
            Cause::ConflictingPack => {
                "another pack applied on top of this one replaces the same functions"
            }
            Cause::OutOfMemory => "the kernel could not allocate memory for the action",
            Cause::UnresolvedSymbol => {
                "a symbol the replacement code needs was not found in the running kernel"
            }
            Cause::CannotRedirect => "a target function has no room for a jump at its entry",
            Cause::Livepatched => "an enabled livepatch already replaces a target function",
            Cause::NmiNotHeld => {
                "a CPU did not stop for the switch in time on every try (it may have been \
                 handling an NMI, in code the action replaces); nothing was changed"
            }
            Cause::TextChanged => {
                "the bytes a jump replaces changed since the check (another code patcher, \
                 such as a kprobe, wrote there), or a kprobe is registered on them; nothing \
                 was changed"
            }
        }
    }

    /// What to do next.
    pub fn advice(self) -> &'static str {
        match self {
            Cause::None => "",
            Cause::NoMatch | Cause::KernelMismatch => {
                "build the pack from the exact source and .config of the running kernel; the \
                 kernel log (dmesg) names the function that differs"
            }
            Cause::AmbiguousMatch => "report it to the pack's author; dmesg names the function",
            Cause::CodeBusy => {
                "trying again later is safe; if the tasks listed stay in that code, raise \
                 /sys/kernel/splice/tries or retry_delay_ms, or stop the task that blocks"
            }
            Cause::TargetNotLoaded => "load that module, then try again",
            Cause::HookFailed => "dmesg has the hook's message",
            Cause::BadPack => "rebuild the pack with splice-create; dmesg says what is wrong",
            Cause::ConflictingPack => "reverse the packs applied after this one first",
            Cause::OutOfMemory => "free memory, then try again",
            Cause::UnresolvedSymbol => {
                "the pack needs a symbol this kernel lacks; dmesg names it; rebuild the pack"
            }
            Cause::CannotRedirect => "this fix cannot be applied live",
            Cause::Livepatched => {
                "disable the livepatch that replaces the function, or keep using it"
            }
            Cause::NmiNotHeld => {
                "trying again later is safe; if it persists, look for a CPU stuck in an NMI \
                 (perf, a watchdog) in dmesg"
            }
            Cause::TextChanged => {
                "remove the kprobe or other patch on that function, then check again"
            }
        }
    }

    /// The exit code of `splice` for an action that failed with this cause.
    pub fn exit_code(self) -> i32 {
        match self {
            Cause::None => exit::ERROR,
            Cause::NoMatch | Cause::AmbiguousMatch | Cause::KernelMismatch => exit::NO_FIT,
            Cause::CodeBusy | Cause::NmiNotHeld => exit::BUSY,
            Cause::TargetNotLoaded | Cause::UnresolvedSymbol => exit::MISSING,
            Cause::HookFailed => exit::HOOK,
            Cause::BadPack => exit::BAD_PACK,
            Cause::ConflictingPack | Cause::Livepatched | Cause::TextChanged => exit::CONFLICT,
            Cause::OutOfMemory => exit::NO_MEMORY,
            Cause::CannotRedirect => exit::CANNOT_REDIRECT,
        }
    }

    /// The error a failed write to `stage` returns for this cause (as the kernel's
    /// `AbortCause::errno`): a write that failed with another one was refused before the
    /// action ran, and the cause recorded is an earlier action's.
    pub fn errno(self) -> Errno {
        match self {
            Cause::None | Cause::BadPack => Errno::EINVAL,
            Cause::NoMatch | Cause::AmbiguousMatch | Cause::KernelMismatch => Errno::ENOEXEC,
            Cause::CodeBusy => Errno::EBUSY,
            Cause::NmiNotHeld => Errno::EAGAIN,
            Cause::TextChanged => Errno::ESTALE,
            Cause::TargetNotLoaded | Cause::UnresolvedSymbol => Errno::ENOENT,
            Cause::HookFailed => Errno::ECANCELED,
            Cause::CannotRedirect => Errno::EOPNOTSUPP,
            Cause::ConflictingPack | Cause::Livepatched => Errno::EEXIST,
            Cause::OutOfMemory => Errno::ENOMEM,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error of the admin tool: a message for the user and the exit code of its class.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
    /// For an action the kernel refused: the pack as the kernel left it (its
    /// `abort_cause`, conflicts and tries), for `--json`.
    pub pack: Option<Box<Pack>>,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            pack: None,
        }
    }

    /// The failure as `--json` prints it: the message and exit code, and for an action the
    /// kernel refused the pack's stage, `abort_cause` (with its explanation and advice), the
    /// tasks in the code and the number of tries.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "error": self.message, "exit_code": self.code });
        if let Some(p) = &self.pack {
            let cause = p.cause();
            v["pack"] = p.name.clone().into();
            v["stage"] = p.stage.clone().into();
            v["abort_cause"] = p.abort_cause.clone().into();
            v["abort_explanation"] = cause.map(|c| c.explain()).into();
            v["advice"] = cause.map(|c| c.advice()).into();
            v["conflicts"] = serde_json::to_value(&p.conflicts).unwrap_or_default();
            v["more_conflicts"] = p.more_conflicts.into();
            v["tries"] = p.timing("tries").into();
        }
        v
    }

    /// An I/O error on `path`, classified (permission, other). A file that is not there is
    /// an error like any other: exit 4 says that a pack is missing ([`Failure::io_pack`]).
    pub fn io(path: &Path, what: &str, e: &io::Error) -> Self {
        Self::classified(path, what, e, exit::ERROR)
    }

    /// An I/O error on `path`, a pack's file (the module, a file of its sysfs folder): one
    /// that is not there is a pack that is not (exit 4).
    pub fn io_pack(path: &Path, what: &str, e: &io::Error) -> Self {
        Self::classified(path, what, e, exit::NO_PACK)
    }

    fn classified(path: &Path, what: &str, e: &io::Error, not_found: i32) -> Self {
        let code = match e.kind() {
            io::ErrorKind::PermissionDenied => exit::PERMISSION,
            io::ErrorKind::NotFound => not_found,
            _ => exit::ERROR,
        };
        let hint = if code == exit::PERMISSION {
            " (splice needs root)"
        } else {
            ""
        };
        Failure::new(code, format!("cannot {what} {}: {e}{hint}", path.display()))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A target line of `<pack>/targets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub function: String,
    pub old_address: String,
    pub new_address: String,
    pub state: String,
}

/// A task in `<pack>/conflicts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub comm: String,
    pub pid: u32,
    pub function: String,
    pub address: String,
}

/// Everything sysfs says about one pack.
#[derive(Clone, Debug, Serialize)]
pub struct Pack {
    pub name: String,
    pub module: String,
    pub stage: String,
    pub description: String,
    /// The fixes the pack carries, a subject each (none if it does not say).
    pub fixes: Vec<String>,
    /// The kernel version whose fixes it carries (`7.2.13`), or empty.
    pub fixed_in: String,
    pub nr_targets: usize,
    pub targets: Vec<Target>,
    pub abort_cause: String,
    pub conflicts: Vec<Conflict>,
    /// The "... N more" of `conflicts`.
    pub more_conflicts: usize,
    pub timings: Vec<(String, u64)>,
    pub warnings: Vec<String>,
}

impl Pack {
    /// The parsed abort cause.
    pub fn cause(&self) -> Option<Cause> {
        Cause::parse(&self.abort_cause)
    }

    /// A timing by name, 0 if absent.
    pub fn timing(&self, name: &str) -> u64 {
        self.timings
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, v)| *v)
    }
}

/// The splice sysfs directory.
pub struct Sysfs {
    pub root: PathBuf,
}

/// The actions written to `<pack>/stage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Check,
    Apply,
    Reverse,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Check => "check",
            Action::Apply => "apply",
            Action::Reverse => "reverse",
        }
    }

    /// Whether the kernel accepts the action in `stage` (`Documentation/splice/admin-guide.rst`).
    pub fn valid_in(self, stage: &str) -> bool {
        match self {
            Action::Check | Action::Apply => stage != "applied",
            Action::Reverse => stage == "applied",
        }
    }
}

fn parse_targets(s: &str) -> Vec<Target> {
    s.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [function, old, new, state] => Some(Target {
                    function: function.to_string(),
                    old_address: old.to_string(),
                    new_address: new.to_string(),
                    state: state.to_string(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// `conflicts`: "comm pid function address" lines, then "... N more". A comm may hold spaces,
/// so the fields are taken from the right.
fn parse_conflicts(s: &str) -> (Vec<Conflict>, usize) {
    let mut out = Vec::new();
    let mut more = 0;
    for l in s.lines() {
        if let Some(n) = l.strip_prefix("... ").and_then(|r| r.strip_suffix(" more")) {
            more = n.trim().parse().unwrap_or(0);
            continue;
        }
        let mut f = l.rsplitn(4, ' ');
        let (Some(address), Some(function), Some(pid), Some(comm)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let Ok(pid) = pid.parse() else { continue };
        out.push(Conflict {
            comm: comm.to_string(),
            pid,
            function: function.to_string(),
            address: address.to_string(),
        });
    }
    (out, more)
}

fn parse_timings(s: &str) -> Vec<(String, u64)> {
    s.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

impl Sysfs {
    /// `/sys/kernel/splice`, or the directory in `SPLICE_SYSFS` (for tests).
    pub fn new(root: Option<PathBuf>) -> Self {
        Sysfs {
            root: root.unwrap_or_else(|| PathBuf::from("/sys/kernel/splice")),
        }
    }

    /// Fails with `NO_SPLICE` if the running kernel has no splice.
    pub fn present(&self) -> Result<(), Failure> {
        if self.root.join("version").is_file() {
            Ok(())
        } else {
            Err(Failure::new(
                exit::NO_SPLICE,
                format!(
                    "this kernel has no splice: {} is missing (the kernel must be built with \
                     CONFIG_SPLICE=y)",
                    self.root.display()
                ),
            ))
        }
    }

    /// A file of pack `name`'s folder: gone with the pack (exit 4).
    fn read_pack_file(&self, name: &str, file: &str) -> Result<String, Failure> {
        let p = self.root.join(name).join(file);
        fs::read_to_string(&p).map_err(|e| Failure::io_pack(&p, "read", &e))
    }

    /// A file of the root directory, without its newline.
    pub fn root_value(&self, file: &str) -> Result<String, Failure> {
        let p = self.root.join(file);
        let v = fs::read_to_string(&p).map_err(|e| Failure::io(&p, "read", &e))?;
        Ok(v.trim_end().to_string())
    }

    /// The lock of the tunables: one command at a time sets them for its action and puts
    /// them back after it (an exclusive `flock` of the sysfs folder, waited for; let go when
    /// the file goes). `None` on a kernel without file locking (`CONFIG_FILE_LOCKING`),
    /// where commands cannot be kept apart.
    pub fn lock_tunables(&self) -> Result<Option<fs::File>, Failure> {
        let f = fs::File::open(&self.root).map_err(|e| Failure::io(&self.root, "open", &e))?;
        let unsupported = |e: &io::Error| e.raw_os_error() == Some(Errno::ENOSYS as i32);
        match f.try_lock() {
            Ok(()) => return Ok(Some(f)),
            Err(fs::TryLockError::WouldBlock) => {
                eprintln!("splice: waiting for another splice command to put the tunables back");
            }
            Err(fs::TryLockError::Error(e)) if unsupported(&e) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(Failure::io(&self.root, "lock", &e)),
        }
        f.lock().map_err(|e| Failure::io(&self.root, "lock", &e))?;
        Ok(Some(f))
    }

    /// Writes `value` to the root file `file` (a tunable: `tries`, `retry_delay_ms`).
    pub fn set_root_value(&self, file: &str, value: &str) -> Result<(), Failure> {
        let path = self.root.join(file);
        fs::write(&path, value).map_err(|e| Failure::io(&path, "write", &e))
    }

    /// The names of the loaded packs, sorted.
    pub fn pack_names(&self) -> Result<Vec<String>, Failure> {
        self.present()?;
        let rd = fs::read_dir(&self.root).map_err(|e| Failure::io(&self.root, "list", &e))?;
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("stage").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The pack called `name`, or whose module is `name` (`splice_fix_1`, `splice-fix-1`).
    pub fn resolve(&self, name: &str) -> Result<String, Failure> {
        let names = self.pack_names()?;
        if names.iter().any(|n| n == name) {
            return Ok(name.to_string());
        }
        let module = name.replace('-', "_");
        for n in &names {
            if self
                .read_pack_file(n, "module")
                .ok()
                .as_deref()
                .map(str::trim)
                == Some(module.as_str())
            {
                return Ok(n.clone());
            }
        }
        let loaded = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        Err(Failure::new(
            exit::NO_PACK,
            format!("no pack named {name:?} is loaded (loaded: {loaded}); load it with: splice load <pack.ko>"),
        ))
    }

    /// The pack whose module is `module`, if one is loaded.
    pub fn pack_of_module(&self, module: &str) -> Result<Option<String>, Failure> {
        for n in self.pack_names()? {
            match self.read_pack_file(&n, "module") {
                Ok(m) if m.trim() == module => return Ok(Some(n)),
                Ok(_) => {}
                // Unloaded meanwhile: not the one.
                Err(_) if !self.root.join(&n).join("stage").exists() => {}
                Err(f) => return Err(f),
            }
        }
        Ok(None)
    }

    /// Pack `name`, or `None` if it is not loaded (any more): a pack unloaded while it is
    /// read is gone, not an error of the reader.
    pub fn pack_if_loaded(&self, name: &str) -> Result<Option<Pack>, Failure> {
        match self.pack(name) {
            Ok(p) => Ok(Some(p)),
            Err(_) if !self.root.join(name).join("stage").exists() => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// The loaded packs, by name; one unloaded while they are read is left out.
    pub fn packs(&self) -> Result<Vec<Pack>, Failure> {
        let mut packs = Vec::new();
        for n in self.pack_names()? {
            packs.extend(self.pack_if_loaded(&n)?);
        }
        Ok(packs)
    }

    /// Everything about pack `name` (a name [`Sysfs::resolve`] returned).
    pub fn pack(&self, name: &str) -> Result<Pack, Failure> {
        let f = |file: &str| self.read_pack_file(name, file);
        // Files a core older than these tools does not have: as if the pack said nothing.
        let since_v2 = |file: &str| {
            let p = self.root.join(name).join(file);
            match fs::read_to_string(&p) {
                Ok(s) => Ok(s),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(Failure::io_pack(&p, "read", &e)),
            }
        };
        let (conflicts, more_conflicts) = parse_conflicts(&f("conflicts")?);
        Ok(Pack {
            name: name.to_string(),
            module: f("module")?.trim().to_string(),
            stage: f("stage")?.trim().to_string(),
            description: f("description")?.trim().to_string(),
            fixes: since_v2("fixes")?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect(),
            fixed_in: since_v2("fixed_in")?.trim().to_string(),
            nr_targets: f("nr_targets")?.trim().parse().unwrap_or(0),
            targets: parse_targets(&f("targets")?),
            abort_cause: f("abort_cause")?.trim().to_string(),
            conflicts,
            more_conflicts,
            timings: parse_timings(&f("timings")?),
            warnings: f("warnings")?.lines().map(str::to_string).collect(),
        })
    }

    /// Performs `action` on pack `name`: writes it to `stage`. On failure, the error carries
    /// the abort cause, its explanation, the blocking tasks and what to do next.
    pub fn act(&self, name: &str, action: Action) -> Result<Pack, Failure> {
        let before = self.pack(name)?;
        if !action.valid_in(&before.stage) {
            return Err(stage_failure(name, action, &before.stage));
        }
        let path = self.root.join(name).join("stage");
        // Opened apart from the write: refused to open, the file needs root; refused to
        // write, the kernel refused the action.
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Failure::io_pack(&path, "open", &e))?;
        let Err(e) = io::Write::write_all(&mut f, action.word().as_bytes()) else {
            return self.pack(name);
        };
        let errno = e.raw_os_error().map(Errno::from_raw);
        if action == Action::Apply && matches!(errno, Some(Errno::EKEYREJECTED | Errno::EPERM)) {
            return Err(Failure::new(
                exit::BAD_PACK,
                format!(
                    "apply {name} refused: its module is not signed, and the kernel enforces module signatures or is locked down ({e}); load a signed pack (dmesg names the rule)"
                ),
            ));
        }
        let after = self.pack(name)?;
        // Another writer may have moved the stage between the two reads.
        if !action.valid_in(&after.stage) {
            return Err(stage_failure(name, action, &after.stage));
        }
        match after.cause() {
            Some(c) if c != Cause::None && errno == Some(c.errno()) => {
                Err(cause_failure(&after, action, c))
            }
            _ => Err(Failure::new(
                exit::ERROR,
                format!(
                    "{} {name}: {e}; the kernel log (dmesg) says why",
                    action.word()
                ),
            )),
        }
    }
}

fn stage_failure(name: &str, action: Action, stage: &str) -> Failure {
    let next = match (action, stage) {
        (Action::Reverse, _) => "it is not applied; nothing to reverse",
        (_, "applied") => "it is already applied; reverse it first to run it again",
        _ => "",
    };
    Failure::new(
        exit::STAGE,
        format!("cannot {} {name} in stage {stage}: {next}", action.word()),
    )
}

/// The message of an action that failed with `cause`.
pub fn cause_failure(p: &Pack, action: Action, cause: Cause) -> Failure {
    let mut m = format!(
        "{} {} failed: {} — {}",
        action.word(),
        p.name,
        cause,
        cause.explain()
    );
    if cause == Cause::CodeBusy {
        let tries = p.timing("tries");
        m.push_str(&format!(
            "\ntried {tries} time{}; tasks in the code:",
            if tries == 1 { "" } else { "s" }
        ));
        for c in &p.conflicts {
            m.push_str(&format!(
                "\n  {} (pid {}) in {} at {}",
                c.comm, c.pid, c.function, c.address
            ));
        }
        if p.more_conflicts > 0 {
            m.push_str(&format!("\n  ... and {} more", p.more_conflicts));
        }
    }
    m.push_str(&format!("\nthe kernel is unchanged; {}", cause.advice()));
    Failure {
        pack: Some(Box::new(p.clone())),
        ..Failure::new(cause.exit_code(), m)
    }
}

/// `status` of the running kernel.
#[derive(Debug, Serialize)]
pub struct Status {
    pub present: bool,
    pub version: Option<String>,
    pub kernel_release: String,
    pub build_id: Option<String>,
    pub tries: Option<u32>,
    pub retry_delay_ms: Option<u32>,
    /// Whether tasks asleep in the code are parked on their way to user space.
    pub park: Option<bool>,
    /// Applied packs: the running kernel's effective patch level.
    pub applied: Vec<String>,
    /// Loaded packs not applied.
    pub not_applied: Vec<String>,
    /// "7.2.12 + fix-a + fix-b".
    pub patch_level: String,
    /// What the running kernel now is: "7.2.12 + fixes of 7.2.13" ([`effective_version`]).
    pub effective_version: String,
    /// The fixes of the applied packs, in the order the packs are listed.
    pub carried: Vec<Carried>,
    /// Every loaded pack, for inventories and monitoring.
    pub packs: Vec<PackState>,
}

/// What an inventory keeps of one loaded pack.
#[derive(Clone, Debug, Serialize)]
pub struct PackState {
    pub name: String,
    pub module: String,
    pub stage: String,
    pub description: String,
    pub fixed_in: String,
    pub fixes: Vec<String>,
    pub nr_targets: usize,
    /// Of the last action: `none` after a success.
    pub abort_cause: String,
}

impl From<&Pack> for PackState {
    fn from(p: &Pack) -> Self {
        PackState {
            name: p.name.clone(),
            module: p.module.clone(),
            stage: p.stage.clone(),
            description: p.description.clone(),
            fixed_in: p.fixed_in.clone(),
            fixes: p.fixes.clone(),
            nr_targets: p.nr_targets,
            abort_cause: p.abort_cause.clone(),
        }
    }
}

/// The fixes one applied pack carries.
#[derive(Clone, Debug, Serialize)]
pub struct Carried {
    pub pack: String,
    pub fixed_in: String,
    pub fixes: Vec<String>,
}

/// What the running kernel is with `applied` packs (name, the version whose fixes it carries):
/// the release, then "fixes of V" for each version the packs carry fixes of (oldest first),
/// then the name of each pack that does not say. Like Ksplice's `uptrack-uname` and
/// KernelCare's `kcarectl --uname`, but it says "fixes of": a pack carries some of that
/// release's fixes, not the release.
pub fn effective_version(release: &str, applied: &[(&str, &str)]) -> String {
    let mut versions: Vec<&str> = applied
        .iter()
        .map(|&(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect();
    versions.sort_by_key(|v| version_key(v));
    versions.dedup();
    let mut s = release.to_string();
    for v in versions {
        s.push_str(&format!(" + fixes of {v}"));
    }
    for (name, _) in applied.iter().filter(|(_, v)| v.is_empty()) {
        s.push_str(&format!(" + {name}"));
    }
    s
}

/// Orders versions by their numbers (7.2.9 before 7.2.13), then as text.
fn version_key(v: &str) -> (Vec<u64>, String) {
    let nums = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    (nums, v.to_string())
}

impl Sysfs {
    /// The status, given the kernel release (`uname -r`).
    pub fn status(&self, release: &str) -> Result<Status, Failure> {
        if self.present().is_err() {
            return Ok(Status {
                present: false,
                version: None,
                kernel_release: release.to_string(),
                build_id: None,
                tries: None,
                retry_delay_ms: None,
                park: None,
                applied: vec![],
                not_applied: vec![],
                patch_level: release.to_string(),
                effective_version: release.to_string(),
                carried: vec![],
                packs: vec![],
            });
        }
        let mut applied = Vec::new();
        let mut not_applied = Vec::new();
        let mut packs = Vec::new();
        for p in self.packs()? {
            let n = p.name.clone();
            if p.stage == "applied" {
                applied.push(n);
            } else {
                not_applied.push(n);
            }
            packs.push(PackState::from(&p));
        }
        let mut patch_level = release.to_string();
        let mut carried = Vec::new();
        for p in packs.iter().filter(|p| p.stage == "applied") {
            patch_level.push_str(" + ");
            patch_level.push_str(&p.name);
            carried.push(Carried {
                pack: p.name.clone(),
                fixed_in: p.fixed_in.clone(),
                fixes: p.fixes.clone(),
            });
        }
        let by_pack: Vec<(&str, &str)> = carried
            .iter()
            .map(|c| (c.pack.as_str(), c.fixed_in.as_str()))
            .collect();
        let effective_version = effective_version(release, &by_pack);
        let num = |f: &str| self.root_value(f).ok().and_then(|v| v.parse().ok());
        Ok(Status {
            present: true,
            version: Some(self.root_value("version")?),
            kernel_release: release.to_string(),
            build_id: Some(self.root_value("build_id")?),
            tries: num("tries"),
            retry_delay_ms: num("retry_delay_ms"),
            park: num("park").map(|v: u32| v == 1),
            applied,
            not_applied,
            patch_level,
            effective_version,
            carried,
            packs,
        })
    }
}

/// The module name recorded in a `.ko` (`.modinfo` "name="), if any.
pub fn module_name_of(ko: &[u8]) -> Option<String> {
    use object::{Object, ObjectSection};
    let f = object::File::parse(ko).ok()?;
    let data = f.section_by_name(".modinfo")?.data().ok()?;
    data.split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(b"name="))
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

/// Nanoseconds in a short human form.
pub fn human_ns(ns: u64) -> String {
    if ns >= 10_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else if ns >= 1_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{} µs", ns / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_that_went_is_left_out_not_an_error() {
        // `status` and `list` read every pack; one unloaded meanwhile (its directory gone)
        // is not there, while one whose files cannot be read is an error.
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("version"), "0.2.0\n").unwrap();
        let sys = Sysfs {
            root: root.path().to_path_buf(),
        };
        assert!(sys.pack("gone").is_err());
        assert!(sys.pack_if_loaded("gone").unwrap().is_none());
        fs::create_dir(root.path().join("broken")).unwrap();
        fs::write(root.path().join("broken/stage"), "loaded\n").unwrap();
        assert!(sys.pack_if_loaded("broken").is_err());
        assert!(sys.packs().is_err());
    }

    #[test]
    fn each_cause_has_the_kernels_errno() {
        // `act` trusts a recorded cause only when the write failed with its errno: the table
        // must be the kernel's (kernel/splice/stage.rs, `AbortCause::errno`).
        let stage = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../kernel/splice/stage.rs"
        ));
        let body = stage
            .split("fn errno(self) -> Error {")
            .nth(1)
            .and_then(|b| b.split("\n    }\n").next())
            .expect("AbortCause::errno in kernel/splice/stage.rs");
        for c in Cause::ALL {
            let arm = format!("Self::{c:?}");
            let line = body
                .lines()
                .find(|l| {
                    l.split(|ch: char| !ch.is_alphanumeric() && ch != ':')
                        .any(|w| w == arm)
                })
                .unwrap_or_else(|| panic!("{arm} has no arm in AbortCause::errno"));
            let errno = format!("{:?}", c.errno());
            assert!(
                line.contains(&errno),
                "{arm}: the kernel says '{}', splice {errno}",
                line.trim()
            );
        }
    }

    #[test]
    fn every_cause_has_a_distinct_name_and_words() {
        for c in Cause::ALL {
            assert_eq!(Cause::parse(c.name()), Some(c));
            assert!(!c.explain().is_empty());
            if c != Cause::None {
                assert!(!c.advice().is_empty(), "{c}");
                assert_ne!(c.exit_code(), exit::OK);
            }
        }
        assert_eq!(Cause::parse("nonsense"), None);
    }

    #[test]
    fn conflicts_with_spaces_in_comm_and_more() {
        let (c, more) = parse_conflicts(
            "splice-hold 77 splice_target_hold 0xffffffff81000010\nkworker/0:1 H 5 f 0x1\n... 3 more\n",
        );
        assert_eq!(more, 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].comm, "splice-hold");
        assert_eq!(c[0].pid, 77);
        assert_eq!(c[1].comm, "kworker/0:1 H");
        assert_eq!(c[1].function, "f");
    }

    /// The effective version names each release whose fixes packs carry once, oldest
    /// first, then the packs that do not say; with nothing applied it is the release.
    #[test]
    fn the_effective_version() {
        assert_eq!(effective_version("7.2.12", &[]), "7.2.12");
        assert_eq!(
            effective_version(
                "7.2.12",
                &[
                    ("b", "7.2.13"),
                    ("local-fix", ""),
                    ("a", "7.2.9"),
                    ("c", "7.2.13")
                ]
            ),
            "7.2.12 + fixes of 7.2.9 + fixes of 7.2.13 + local-fix"
        );
    }

    #[test]
    fn targets_and_timings() {
        let t = parse_targets("f 0x1 0x2 applied\nbad line\n");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].state, "applied");
        let tm = parse_timings("match_ns 12\ntries 3\n");
        assert_eq!(tm, vec![("match_ns".into(), 12), ("tries".into(), 3)]);
        assert_eq!(human_ns(138_000), "138 µs");
        assert_eq!(human_ns(2_500_000), "2.5 ms");
    }

    #[test]
    fn actions_follow_the_kernels_stage_rules() {
        for s in ["loaded", "checked", "reversed"] {
            assert!(Action::Check.valid_in(s) && Action::Apply.valid_in(s));
            assert!(!Action::Reverse.valid_in(s));
        }
        assert!(Action::Reverse.valid_in("applied"));
        assert!(!Action::Apply.valid_in("applied"));
    }

    #[test]
    fn a_refused_action_in_json_carries_the_cause_the_tasks_and_the_tries() {
        let p = Pack {
            name: "fix-a".into(),
            module: "splice_fix_a".into(),
            stage: "loaded".into(),
            description: String::new(),
            fixes: vec![],
            fixed_in: String::new(),
            nr_targets: 1,
            targets: vec![],
            abort_cause: "code_busy".into(),
            conflicts: vec![Conflict {
                comm: "splice-hold".into(),
                pid: 77,
                function: "splice_target_hold".into(),
                address: "0xffffffff81000010".into(),
            }],
            more_conflicts: 0,
            timings: vec![("tries".into(), 4)],
            warnings: vec![],
        };
        let f = cause_failure(&p, Action::Apply, Cause::CodeBusy);
        let v = f.to_json();
        assert_eq!(v["exit_code"], exit::BUSY);
        assert_eq!(v["abort_cause"], "code_busy");
        assert_eq!(v["stage"], "loaded");
        assert_eq!(v["tries"], 4);
        assert_eq!(v["conflicts"][0]["pid"], 77);
        assert!(v["advice"].as_str().is_some_and(|a| !a.is_empty()), "{v}");
        assert!(
            v["error"].as_str().is_some_and(|e| e.contains("code_busy")),
            "{v}"
        );
        // A failure that is not the kernel's refusal has no pack.
        let v = Failure::new(exit::NO_PACK, "no pack named x").to_json();
        assert!(v.get("abort_cause").is_none(), "{v}");
    }
}
