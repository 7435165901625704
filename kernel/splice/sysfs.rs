// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/splice/` and one directory per pack. The ABI is documented in
//! `Documentation/ABI/testing/sysfs-kernel-splice`.

use crate::registry;
use crate::stage::Action;
use core::fmt::Write;
use kernel::bindings;
use kernel::kobject::{Attribute, Mode, Operations, Page};
use kernel::prelude::*;

/// The version of the splice core.
pub(crate) const VERSION: &str = "0.3.0";

/// The files of `/sys/kernel/splice/`.
#[derive(Clone, Copy)]
pub(crate) enum RootFile {
    Version,
    BuildId,
    Tries,
    RetryDelayMs,
    Park,
    RefuseMismatchedModules,
}

/// What `/sys/kernel/splice/` carries.
pub(crate) struct Root;

fn parse_u32(input: &[u8], max: u32) -> Result<u32> {
    let s = input.strip_suffix(b"\n").unwrap_or(input);
    if s.is_empty() || s.len() > 10 {
        return Err(EINVAL);
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return Err(EINVAL);
        }
        v = v * 10 + u64::from(c - b'0');
    }
    u32::try_from(v).ok().filter(|&v| v <= max).ok_or(EINVAL)
}

/// Whether the writer may change running code: what loading a module needs,
/// `CAP_SYS_MODULE` in the initial user namespace. The file modes let any
/// task with uid 0 through, root of a user namespace too; this does not.
fn may_change_code() -> Result {
    // SAFETY: `capable()` only reads the current task's credentials; a sysfs
    // store runs in the writer's process context.
    if unsafe { bindings::capable(bindings::CAP_SYS_MODULE as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// Room kept at the end of a page for the line that says how many lines did not fit.
const MORE_ROOM: usize = 32;

/// A writer that only counts what it is given.
struct Count(usize);

impl Write for Count {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Writes `n` lines to `w` (`line(i, w)` writes line `i`), which holds `cap` bytes of which
/// `used(w)` are taken: as many as fit, with room for a last line `... K more` that counts
/// the others, written if there are any. A sysfs file holds one page; a pack with many
/// targets must not make reading the file fail.
fn lines_within<W: Write>(
    w: &mut W,
    used: impl Fn(&W) -> usize,
    cap: usize,
    n: usize,
    mut line: impl FnMut(usize, &mut dyn Write) -> core::fmt::Result,
) -> core::fmt::Result {
    for i in 0..n {
        let mut c = Count(0);
        line(i, &mut c)?;
        let reserve = if i + 1 < n { MORE_ROOM } else { 0 };
        if used(w) + c.0 + reserve > cap {
            return writeln!(w, "... {} more", n - i);
        }
        line(i, w)?;
    }
    Ok(())
}

fn hex(page: &mut Page<'_>, bytes: &[u8]) -> Result {
    for b in bytes {
        write!(page, "{b:02x}")?;
    }
    Ok(())
}

impl Operations for Root {
    type Id = RootFile;
    const ATTRIBUTES: &'static [Attribute<RootFile>] = &[
        Attribute::new(c"version", Mode::READ_ONLY, RootFile::Version),
        Attribute::new(c"build_id", Mode::READ_ONLY, RootFile::BuildId),
        Attribute::new(c"tries", Mode::ROOT_READ_WRITE, RootFile::Tries),
        Attribute::new(
            c"retry_delay_ms",
            Mode::ROOT_READ_WRITE,
            RootFile::RetryDelayMs,
        ),
        Attribute::new(c"park", Mode::ROOT_READ_WRITE, RootFile::Park),
        Attribute::new(
            c"refuse_mismatched_modules",
            Mode::ROOT_READ_WRITE,
            RootFile::RefuseMismatchedModules,
        ),
    ];

    fn show(&self, file: RootFile, page: &mut Page<'_>) -> Result {
        match file {
            RootFile::Version => writeln!(page, "{VERSION}")?,
            RootFile::BuildId => {
                if let Some(id) = crate::buildid::running() {
                    hex(page, &id)?;
                }
                writeln!(page)?;
            }
            RootFile::Tries => writeln!(page, "{}", registry::lock().tries)?,
            RootFile::RetryDelayMs => writeln!(page, "{}", registry::lock().retry_delay_ms)?,
            RootFile::Park => writeln!(page, "{}", u32::from(registry::lock().park))?,
            RootFile::RefuseMismatchedModules => writeln!(
                page,
                "{}",
                u32::from(registry::lock().refuse_mismatched_modules)
            )?,
        }
        Ok(())
    }

    fn store(&self, file: RootFile, input: &[u8]) -> Result {
        may_change_code()?;
        match file {
            RootFile::Tries => {
                registry::lock().tries =
                    parse_u32(input, 100).and_then(|v| if v == 0 { Err(EINVAL) } else { Ok(v) })?
            }
            RootFile::RetryDelayMs => registry::lock().retry_delay_ms = parse_u32(input, 10_000)?,
            RootFile::Park => registry::lock().park = parse_u32(input, 1)? == 1,
            RootFile::RefuseMismatchedModules => {
                registry::lock().refuse_mismatched_modules = parse_u32(input, 1)? == 1
            }
            _ => return Err(EPERM),
        }
        Ok(())
    }
}

/// `conflicts`: a line for each task found in the pack's code at the last try (command, pid,
/// function, address), and how many more there were.
fn show_conflicts(page: &mut Page<'_>, e: &registry::Entry) -> core::fmt::Result {
    for c in e.conflicts.iter() {
        let end = c.comm.iter().position(|&b| b == 0).unwrap_or(c.comm.len());
        let comm = core::str::from_utf8(&c.comm[..end]).unwrap_or("?");
        writeln!(
            page,
            "{} {} {} {:#x}",
            comm,
            c.pid,
            c.name.name(&e.pack()).to_str().unwrap_or("?"),
            c.addr
        )?;
    }
    if e.busy > e.conflicts.len() {
        writeln!(page, "... {} more", e.busy - e.conflicts.len())?;
    }
    Ok(())
}

/// `targets`: a line for each target of pack `id` (name, address, replacement, whether this
/// pack's jump or another's above it is there), then those waiting for their module to load;
/// as many as a page holds.
fn show_targets(
    page: &mut Page<'_>,
    reg: &registry::Registry,
    e: &registry::Entry,
    id: u64,
) -> core::fmt::Result {
    let applied = e.life.stage() == crate::stage::Stage::Applied;
    let targets = &e.targets;
    lines_within(
        page,
        |p| p.len(),
        kernel::page::PAGE_SIZE,
        targets.len() + e.waiting.len(),
        |i, w| {
            let Some(t) = targets.get(i) else {
                let Some(&k) = e.waiting.get(i - targets.len()) else {
                    return Ok(());
                };
                let name = e.pack().target_name(k);
                return writeln!(w, "{} - - waiting", name.to_str().unwrap_or("?"));
            };
            let owner = reg.owner_of(t.addr).map(|(id, _)| id);
            let state = match (applied, owner) {
                (true, Some(o)) if o == id => "applied",
                (true, _) => "applied-under",
                (false, _) => "checked",
            };
            writeln!(
                w,
                "{} {:#x} {:#x} {}",
                e.pack().target_name(t.target).to_str().unwrap_or("?"),
                t.addr,
                t.repl,
                state
            )
        },
    )
}

/// `timings`: the figures of the pack's last action, one `name value` a line.
fn show_timings(page: &mut Page<'_>, t: &registry::Timings) -> core::fmt::Result {
    writeln!(page, "match_ns {}", t.match_ns)?;
    writeln!(page, "pause_ns {}", t.pause_ns)?;
    writeln!(page, "stack_check_ns {}", t.stack_check_ns)?;
    writeln!(page, "commit_ns {}", t.commit_ns)?;
    writeln!(page, "stop_walks {}", t.stop_walks)?;
    writeln!(page, "stop_machine_ns {}", t.stop_machine_ns)?;
    writeln!(page, "total_ns {}", t.total_ns)?;
    writeln!(page, "tries {}", t.tries)?;
    writeln!(page, "parked {}", t.parked)?;
    writeln!(page, "load_ns {}", t.load_ns)
}

/// `fixes`: the subjects of the fixes the pack carries, one a line, as many as a page holds.
fn show_fixes(page: &mut Page<'_>, e: &registry::Entry) -> core::fmt::Result {
    let fixes = e.pack().fixes().to_str().unwrap_or("?");
    let lines = || fixes.lines().filter(|l| !l.is_empty());
    lines_within(
        page,
        |p| p.len(),
        kernel::page::PAGE_SIZE,
        lines().count(),
        |i, w| match lines().nth(i) {
            Some(l) => writeln!(w, "{l}"),
            None => Ok(()),
        },
    )
}

/// The files of `/sys/kernel/splice/<pack>/`.
#[derive(Clone, Copy)]
pub(crate) enum PackFile {
    Stage,
    AbortCause,
    Conflicts,
    Targets,
    Timings,
    Description,
    Warnings,
    Module,
    NrTargets,
    Fixes,
    FixedIn,
}

/// A pack's directory; finds its pack in the registry by id.
pub(crate) struct PackFiles {
    pub(crate) id: u64,
}

impl Operations for PackFiles {
    type Id = PackFile;
    const ATTRIBUTES: &'static [Attribute<PackFile>] = &[
        Attribute::new(c"stage", Mode::ROOT_READ_WRITE, PackFile::Stage),
        Attribute::new(c"abort_cause", Mode::ROOT_READ_ONLY, PackFile::AbortCause),
        Attribute::new(c"conflicts", Mode::ROOT_READ_ONLY, PackFile::Conflicts),
        Attribute::new(c"targets", Mode::ROOT_READ_ONLY, PackFile::Targets),
        Attribute::new(c"timings", Mode::ROOT_READ_ONLY, PackFile::Timings),
        Attribute::new(c"description", Mode::ROOT_READ_ONLY, PackFile::Description),
        Attribute::new(c"warnings", Mode::ROOT_READ_ONLY, PackFile::Warnings),
        Attribute::new(c"module", Mode::ROOT_READ_ONLY, PackFile::Module),
        Attribute::new(c"nr_targets", Mode::ROOT_READ_ONLY, PackFile::NrTargets),
        Attribute::new(c"fixes", Mode::ROOT_READ_ONLY, PackFile::Fixes),
        Attribute::new(c"fixed_in", Mode::ROOT_READ_ONLY, PackFile::FixedIn),
    ];

    fn show(&self, file: PackFile, page: &mut Page<'_>) -> Result {
        let reg = registry::lock();
        let e = reg.get(self.id).ok_or(ENODEV)?;
        match file {
            PackFile::Stage => writeln!(page, "{}", e.life.stage().name())?,
            PackFile::AbortCause => writeln!(page, "{}", e.life.cause().name())?,
            PackFile::Conflicts => show_conflicts(page, e)?,
            PackFile::Targets => show_targets(page, &reg, e, self.id)?,
            PackFile::Timings => show_timings(page, &e.timings)?,
            PackFile::Description => {
                writeln!(page, "{}", e.pack().description().to_str().unwrap_or("?"))?
            }
            PackFile::Module => writeln!(page, "{}", e.module().to_str().unwrap_or("?"))?,
            PackFile::NrTargets => writeln!(page, "{}", e.pack().target_count())?,
            PackFile::Fixes => show_fixes(page, e)?,
            PackFile::FixedIn => writeln!(page, "{}", e.pack().fixed_in().to_str().unwrap_or("?"))?,
            PackFile::Warnings => {
                if e.build_id_differs {
                    write!(page, "build_id_differs: made from ")?;
                    hex(page, e.pack().build_id())?;
                    writeln!(page)?;
                }
            }
        }
        Ok(())
    }

    fn store(&self, file: PackFile, input: &[u8]) -> Result {
        may_change_code()?;
        match file {
            PackFile::Stage => {
                let action = Action::parse(input)?;
                // This task waits for the action in its write(): the frames of that system
                // call outward from here are not conflicts (`stackcheck`).
                let me = crate::stackcheck::Requester::current()?;
                // One action at a time, taken before the registry lock.
                let _one = registry::ACTIONS.lock();
                crate::patch::perform(registry::lock(), self.id, action, Some(me))
            }
            _ => Err(EPERM),
        }
    }
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_sysfs)]
mod tests {
    use super::*;

    /// A page of `cap` bytes.
    struct Buf(KVec<u8>, usize);

    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            if self.0.len() + s.len() > self.1 {
                return Err(core::fmt::Error);
            }
            self.0
                .extend_from_slice(s.as_bytes(), GFP_KERNEL)
                .map_err(|_| core::fmt::Error)
        }
    }

    /// 100 lines of 20 bytes in 1000: as many as fit before the count of the others, and
    /// the read does not fail (it did past one page, about 50 targets).
    #[test]
    fn lines_past_a_page_are_counted_not_an_error() {
        let mut b = Buf(KVec::new(), 1000);
        let r = lines_within(
            &mut b,
            |b| b.0.len(),
            1000,
            100,
            |i, w| writeln!(w, "target_{i:03} 0x1 0x2 ."),
        );
        assert!(r.is_ok());
        assert!(b.0.len() <= 1000);
        let text = core::str::from_utf8(&b.0).unwrap_or("");
        let shown = text.lines().filter(|l| l.starts_with("target_")).count();
        let last = text.lines().last().unwrap_or("");
        assert!(shown > 40 && shown < 50);
        let more = last
            .strip_prefix("... ")
            .and_then(|r| r.strip_suffix(" more"))
            .and_then(|n| n.parse::<usize>().ok());
        assert_eq!(more, Some(100 - shown));
        // All that fit: no count line.
        let mut b = Buf(KVec::new(), 1000);
        let r = lines_within(&mut b, |b| b.0.len(), 1000, 3, |i, w| writeln!(w, "t{i}"));
        assert!(r.is_ok());
        assert_eq!(&b.0[..], b"t0\nt1\nt2\n");
    }
}
