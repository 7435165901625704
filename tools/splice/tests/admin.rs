// SPDX-License-Identifier: GPL-2.0

//! The `splice` admin command against a directory laid out like `/sys/kernel/splice`: what
//! it prints, its JSON, and its exit codes. The real kernel interface is exercised in the VM
//! (tools/testing/selftests/splice/tests/95-cli.sh).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fake_sysfs(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("splice-admin-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    for (f, v) in [
        ("version", "0.2.0\n"),
        ("build_id", "abcdef\n"),
        ("tries", "5\n"),
        ("retry_delay_ms", "200\n"),
        ("park", "1\n"),
    ] {
        fs::write(root.join(f), v).unwrap();
    }
    root
}

fn add_pack(root: &Path, name: &str, stage: &str, cause: &str, conflicts: &str) {
    let d = root.join(name);
    fs::create_dir_all(&d).unwrap();
    let targets = if stage == "loaded" {
        String::new()
    } else {
        format!("fix_me 0xffffffff81000000 0xffffffffc0000000 {stage}\n")
    };
    for (f, v) in [
        ("stage", format!("{stage}\n")),
        ("abort_cause", format!("{cause}\n")),
        ("conflicts", conflicts.to_string()),
        ("targets", targets),
        (
            "timings",
            "match_ns 1500000\npause_ns 138000\nstack_check_ns 40000\nstop_walks 4\n\
             stop_machine_ns 300000\ntotal_ns 2000000\ntries 3\n"
                .to_string(),
        ),
        ("description", format!("fixes {name}\n")),
        ("warnings", String::new()),
        ("module", format!("splice_{}\n", name.replace('-', "_"))),
        ("nr_targets", "1\n".to_string()),
    ] {
        fs::write(d.join(f), v).unwrap();
    }
}

fn splice(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splice"))
        .env("SPLICE_SYSFS", root)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_show_and_status() {
    let root = fake_sysfs("list");
    add_pack(&root, "fix-a", "applied", "none", "");
    add_pack(&root, "fix-b", "loaded", "none", "");

    let o = splice(&root, &["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("fix-a") && t.contains("applied") && t.contains("fixes fix-b"),
        "{t}"
    );

    let o = splice(&root, &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "fix-a");
    assert_eq!(v[1]["stage"], "loaded");
    assert_eq!(v[1]["nr_targets"], 1);

    let o = splice(&root, &["status"]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    assert!(t.contains(" + fix-a"), "patch level: {t}");
    assert!(t.contains("loaded, not applied: fix-b"), "{t}");

    let o = splice(&root, &["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["applied"][0], "fix-a");
    assert_eq!(v["present"], true);

    // By module name too.
    let o = splice(&root, &["show", "splice_fix_a"]);
    assert_eq!(o.status.code(), Some(0));
    let t = text(&o);
    assert!(
        t.contains("fix_me  0xffffffff81000000 -> 0xffffffffc0000000  applied"),
        "{t}"
    );
    assert!(t.contains("kernel stopped 138 µs"), "{t}");
    let _ = fs::remove_dir_all(&root);
}

/// What the running kernel now is, for an admin, an inventory and a monitoring system: the
/// fixes each applied pack carries make the effective version; a pack whose files a core
/// older than the tools lacks says nothing of them.
#[test]
fn the_effective_version_for_admins_inventories_and_monitoring() {
    let root = fake_sysfs("effective");
    add_pack(&root, "fix-a", "applied", "none", "");
    fs::write(root.join("fix-a/fixes"), "pipe: fix a\nnet: fix b\n").unwrap();
    fs::write(root.join("fix-a/fixed_in"), "7.2.13\n").unwrap();
    add_pack(&root, "fix-b", "checked", "code_busy", "");
    fs::write(root.join("fix-b/fixes"), "").unwrap();
    fs::write(root.join("fix-b/fixed_in"), "\n").unwrap();
    // An older core: no fixes, no fixed_in.
    add_pack(&root, "local", "applied", "none", "");

    let o = splice(&root, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("\neffective version: "), "{t}");
    assert!(t.contains(" + fixes of 7.2.13 + local\n"), "{t}");
    assert!(t.contains("  fix: pipe: fix a\n  fix: net: fix b\n"), "{t}");

    let o = splice(&root, &["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["effective_version"]
        .as_str()
        .is_some_and(|e| e.ends_with(" + fixes of 7.2.13 + local")));
    assert_eq!(v["carried"][0]["fixes"][1], "net: fix b");
    assert_eq!(v["build_id"], "abcdef");
    let b = v["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fix-b")
        .unwrap();
    assert_eq!(b["stage"], "checked");
    assert_eq!(b["abort_cause"], "code_busy");

    let o = splice(&root, &["show", "fix-a"]);
    let t = text(&o);
    assert!(
        t.contains("fixes of:    7.2.13\nfix:         pipe: fix a\n"),
        "{t}"
    );

    let o = splice(&root, &["status", "--prometheus"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("splice_packs_applied 2\n"), "{t}");
    assert!(
        t.contains("splice_pack_last_action_failed{pack=\"fix-b\"} 1\n"),
        "{t}"
    );
    assert!(t.contains("splice_pack_fixes{pack=\"fix-a\"} 2\n"), "{t}");
    let o = splice(&root, &["--json", "status", "--prometheus"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn failures_are_explained_with_their_exit_codes() {
    let root = fake_sysfs("fail");
    add_pack(
        &root,
        "busy",
        "loaded",
        "code_busy",
        "splice-hold 77 splice_target_hold 0xffffffff81000010\n",
    );
    add_pack(&root, "on", "applied", "none", "");

    let o = splice(&root, &["show", "busy"]);
    let t = text(&o);
    assert!(t.contains("last failure: code_busy"), "{t}");
    assert!(
        t.contains("blocked by splice-hold (pid 77) in splice_target_hold"),
        "{t}"
    );
    assert!(t.contains("trying again later is safe"), "{t}");
    let o = splice(&root, &["show", "busy", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["conflicts"][0]["pid"], 77);
    assert_eq!(v["timings"]["tries"], 3);

    assert_eq!(splice(&root, &["show", "nope"]).status.code(), Some(4));
    let o = splice(&root, &["apply", "on"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(text(&o).contains("already applied"));
    assert_eq!(splice(&root, &["reverse", "busy"]).status.code(), Some(6));
    let o = splice(&root, &["unload", "on"]);
    assert_eq!(o.status.code(), Some(6));
    assert!(
        text(&o).contains("reverse it first: splice reverse on"),
        "{}",
        text(&o)
    );
    let o = splice(&root, &["load", "/nonexistent/pack.ko"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));

    let none = root.join("absent");
    let o = splice(&none, &["list"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("CONFIG_SPLICE"));
    assert_eq!(splice(&none, &["status"]).status.code(), Some(3));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    let root = fake_sysfs("pipe");
    add_pack(&root, "fix-a", "applied", "none", "");
    // A pipe whose reader is closed before the command writes, as `splice status | grep -q`
    // leaves it once grep has its match: the write fails with EPIPE.
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_splice"))
        .env("SPLICE_SYSFS", &root)
        .arg("status")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        o.status.signal(),
        Some(nix::sys::signal::Signal::SIGPIPE as i32),
        "{:?} {err}",
        o.status
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn tries_and_retry_delay_are_set_for_one_action_and_put_back() {
    let root = fake_sysfs("retry");
    add_pack(&root, "fix-b", "loaded", "none", "");
    let o = splice(
        &root,
        &["apply", "fix-b", "--tries", "9", "--retry-delay", "30"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The fake stage file took the word the kernel would act on.
    assert_eq!(
        fs::read_to_string(root.join("fix-b/stage")).unwrap(),
        "apply"
    );
    assert_eq!(fs::read_to_string(root.join("tries")).unwrap().trim(), "5");
    assert_eq!(
        fs::read_to_string(root.join("retry_delay_ms"))
            .unwrap()
            .trim(),
        "200"
    );
    let o = splice(&root, &["apply", "fix-b", "--tries", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = splice(&root, &["status"]);
    let t = text(&o);
    assert!(t.contains("park 1"), "{t}");
    assert!(
        t.contains(&format!(
            "splice core 0.2.0 (tools {})",
            env!("CARGO_PKG_VERSION")
        )),
        "{t}"
    );
    let _ = fs::remove_dir_all(&root);
}

/// A relocatable ELF with only a `.modinfo` naming `module`: what `splice apply --all`
/// reads of an installed pack before it asks the kernel.
fn fake_ko(module: &str) -> Vec<u8> {
    use object::write::Object;
    use object::{Architecture, BinaryFormat, Endianness, SectionKind};
    let mut o = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let s = o.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::Data);
    o.append_section_data(s, format!("license=GPL\0name={module}\0").as_bytes(), 1);
    o.write().unwrap()
}

/// Packs installed for `splice apply --all` in `root`: a folder holding a module of each
/// name in `modules`, listed in that order, a state folder and a kernel command line.
struct Installed {
    dir: PathBuf,
    state: PathBuf,
    cmdline: PathBuf,
}

fn installed(root: &Path, modules: &[&str]) -> Installed {
    let i = Installed {
        dir: root.join("installed"),
        state: root.join("state"),
        cmdline: root.join("cmdline"),
    };
    fs::create_dir_all(&i.dir).unwrap();
    let mut order = String::new();
    for m in modules {
        fs::write(i.dir.join(format!("{m}.ko")), fake_ko(m)).unwrap();
        order.push_str(&format!("{m}.ko\n"));
    }
    fs::write(i.dir.join("order"), order).unwrap();
    fs::write(&i.cmdline, "root=/dev/vda quiet\n").unwrap();
    i
}

impl Installed {
    /// `splice [FLAGS] apply --all` on these packs, run by `cmd` (the command itself, or
    /// strace running it).
    fn apply_all(&self, root: &Path, mut cmd: Command, flags: &[&str]) -> Command {
        cmd.env("SPLICE_SYSFS", root)
            .env("SPLICE_CMDLINE", &self.cmdline)
            .args(flags)
            .args(["apply", "--all", "--dir"])
            .arg(&self.dir)
            .arg("--state")
            .arg(&self.state);
        cmd
    }
}

fn splice_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_splice"))
}

#[test]
fn apply_all_makes_its_crash_marker_durable_before_the_apply() {
    // The marker keeps a pack that crashes the kernel from doing it again at the next boot.
    // It holds only if it is on disk when the kernel dies in the apply: the file's data
    // and its directory entry (fsync of a new file alone does not make its name durable on
    // ext4), both before the apply is asked of the kernel. The syscalls show it.
    let root = fake_sysfs("marker");
    add_pack(&root, "fix-c", "loaded", "none", "");
    let i = installed(&root, &["splice_fix_c"]);
    let state = &i.state;
    let trace = root.join("trace");
    let mut strace = Command::new("strace");
    strace
        .arg("-f")
        .args(["-e", "trace=openat,fsync,fdatasync,unlink,unlinkat"])
        .arg("-o")
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_splice"));
    let o = i
        .apply_all(&root, strace, &[])
        .output()
        .expect("strace (deps.sh installs it)");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(root.join("fix-c/stage")).unwrap(),
        "apply"
    );
    assert!(!state.join("applying").exists(), "the marker stays");

    // Each line: "PID syscall(args) = result". Find the marker's descriptor, the state
    // folder's, their syncs and where the kernel is asked to apply.
    let lines: Vec<String> = fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, r)| r).trim().to_string())
        .collect();
    let fd_of = |path: &Path, flag: &str| {
        let quoted = format!("\"{}\"", path.display());
        lines.iter().enumerate().find_map(|(i, l)| {
            (l.starts_with("openat(") && l.contains(&quoted) && l.contains(flag))
                .then(|| (i, l.rsplit("= ").next().unwrap().trim().to_string()))
        })
    };
    let synced_after = |from: usize, fd: &str| {
        lines[from..]
            .iter()
            .position(|l| l.starts_with(&format!("fsync({fd})")))
            .map(|p| from + p)
    };
    let all = lines.join("\n");
    let (created, mfd) = fd_of(&state.join("applying"), "O_CREAT").expect(&all);
    let marker_synced = synced_after(created, &mfd).expect("the marker's data is synced");
    let (opened, dfd) = fd_of(state, "O_RDONLY").expect("the state folder is opened");
    let dir_synced = synced_after(opened.max(created), &dfd)
        .expect("the state folder is synced after the marker is made");
    let (asked, _) = fd_of(&root.join("fix-c/stage"), "O_WRONLY").expect(&all);
    assert!(
        marker_synced < asked && dir_synced < asked,
        "the marker is durable only after the apply is asked:\n{all}"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn apply_all_leaves_no_crash_marker_when_its_reader_is_gone() {
    // `splice apply --all | head -0`: the reader of its output went before it printed. The
    // signal that then ends it must not come between the apply and the marker's removal: the
    // marker would tell the next boot that the kernel died in the apply, and no pack would be
    // applied there.
    let root = fake_sysfs("reader-gone");
    add_pack(&root, "fix-d", "loaded", "none", "");
    let i = installed(&root, &["splice_fix_d"]);
    let state = &i.state;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = i
        .apply_all(&root, splice_cmd(), &[])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(
        fs::read_to_string(root.join("fix-d/stage")).unwrap(),
        "apply",
        "{}",
        text(&o)
    );
    assert!(
        !state.join("applying").exists(),
        "the marker of a crash that did not happen stays ({:?}): {}",
        o.status,
        text(&o)
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn apply_all_under_splice_enable_0_touches_no_tunable() {
    // splice.enable=0 is the admin's way out of a boot that goes wrong: `apply --all` then
    // does nothing, `--tries` included. Tunables that cannot be read or written (folders
    // here) show whether it tried.
    let root = fake_sysfs("disabled");
    add_pack(&root, "fix-h", "loaded", "none", "");
    for f in ["tries", "retry_delay_ms"] {
        fs::remove_file(root.join(f)).unwrap();
        fs::create_dir(root.join(f)).unwrap();
    }
    let i = installed(&root, &["splice_fix_h"]);
    fs::write(&i.cmdline, "root=/dev/vda splice.enable=0\n").unwrap();
    let o = i
        .apply_all(&root, splice_cmd(), &[])
        .args(["--tries", "9", "--retry-delay", "50"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("splice.enable=0"), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(root.join("fix-h/stage")).unwrap(),
        "loaded\n"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn apply_all_without_a_kernel_command_line_is_no_missing_pack() {
    // Exit 4 says "no such pack": a command line that cannot be read is not that.
    let root = fake_sysfs("no-cmdline");
    add_pack(&root, "fix-i", "loaded", "none", "");
    let i = installed(&root, &["splice_fix_i"]);
    fs::remove_file(&i.cmdline).unwrap();
    let o = i.apply_all(&root, splice_cmd(), &[]).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(splice_tools::admin::exit::ERROR),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&i.cmdline.display().to_string()),
        "{}",
        text(&o)
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn apply_all_that_stops_says_what_it_did_and_did_not() {
    // A boot's apply that stops at a pack names the packs it applied before and those it did
    // not try: the admin knows the state of the kernel without reading every pack.
    let root = fake_sysfs("half-way");
    add_pack(&root, "fix-e", "loaded", "none", "");
    add_pack(&root, "fix-f", "loaded", "none", "");
    add_pack(&root, "fix-g", "loaded", "none", "");
    // fix-f's stage cannot be read or written.
    fs::remove_file(root.join("fix-f/stage")).unwrap();
    fs::create_dir(root.join("fix-f/stage")).unwrap();
    let i = installed(&root, &["splice_fix_e", "splice_fix_f", "splice_fix_g"]);
    let state = &i.state;
    let o = i.apply_all(&root, splice_cmd(), &[]).output().unwrap();
    let t = text(&o);
    assert_ne!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("stopped at"), "{t}");
    assert!(t.contains("splice_fix_f.ko"), "{t}");
    assert!(t.contains("applied now: fix-e;"), "{t}");
    assert!(
        t.contains("not tried:") && t.contains("splice_fix_g.ko"),
        "{t}"
    );
    assert_eq!(
        fs::read_to_string(root.join("fix-e/stage")).unwrap(),
        "apply"
    );
    assert_eq!(
        fs::read_to_string(root.join("fix-g/stage")).unwrap(),
        "loaded\n"
    );
    assert!(!state.join("applying").exists(), "{t}");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn tunables_are_put_back_when_the_second_cannot_be_set() {
    // --tries was set, --retry-delay could not be: the action does not run, and tries is
    // what it was before.
    let root = fake_sysfs("retry-half");
    add_pack(&root, "fix-h", "loaded", "none", "");
    fs::remove_file(root.join("retry_delay_ms")).unwrap();
    fs::create_dir(root.join("retry_delay_ms")).unwrap();
    let o = splice(
        &root,
        &["apply", "fix-h", "--tries", "9", "--retry-delay", "30"],
    );
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        fs::read_to_string(root.join("tries")).unwrap().trim(),
        "5",
        "{}",
        text(&o)
    );
    assert_eq!(
        fs::read_to_string(root.join("fix-h/stage")).unwrap(),
        "loaded\n"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn tunables_of_one_command_wait_for_another_commands() {
    // Two admins' commands with --tries: the second sets the tunables only once the first
    // has put them back (a lock on the sysfs folder), or it would save the first one's value
    // as the one to put back, and leave it for good.
    let root = fake_sysfs("retry-lock");
    add_pack(&root, "fix-i", "loaded", "none", "");
    let held = fs::File::open(&root).unwrap();
    held.lock().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_splice"))
        .env("SPLICE_SYSFS", &root)
        .args(["apply", "fix-i", "--tries", "9"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let tries = fs::read_to_string(root.join("tries")).unwrap();
    let stage = fs::read_to_string(root.join("fix-i/stage")).unwrap();
    held.unlock().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        tries.trim(),
        "5",
        "tries was set while another command held the lock"
    );
    assert_eq!(
        stage, "loaded\n",
        "the apply ran while another command held the lock"
    );
    assert!(status.success());
    assert_eq!(
        fs::read_to_string(root.join("fix-i/stage")).unwrap(),
        "apply"
    );
    assert_eq!(fs::read_to_string(root.join("tries")).unwrap().trim(), "5");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn apply_all_with_json_prints_one_document() {
    // Automation reads `splice --json apply --all` as one JSON value: what it applied.
    let root = fake_sysfs("all-json");
    add_pack(&root, "fix-j", "loaded", "none", "");
    add_pack(&root, "fix-k", "applied", "none", "");
    let i = installed(&root, &["splice_fix_j", "splice_fix_k"]);
    let o = i
        .apply_all(&root, splice_cmd(), &["--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON document ({e}): {out}"));
    assert_eq!(v["applied"], serde_json::json!(["fix-j"]), "{out}");
    assert_eq!(v["already_applied"], 1, "{out}");
    assert_eq!(v["installed"], 2, "{out}");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn package_failures_have_their_class() {
    // A pack file that is not there is exit 4, as for the other commands; a maintainer with
    // no address is a bad command line (2); only a file that is no pack is a bad pack (14).
    let root = fake_sysfs("package");
    let who = "--maintainer=Ops <ops@example.org>";
    let missing = root.join("splice_missing.ko");
    let o = splice(&root, &["package", missing.to_str().unwrap(), who]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("splice_missing.ko"), "{}", text(&o));
    let not_a_pack = root.join("splice_junk.ko");
    fs::write(&not_a_pack, b"not an ELF file").unwrap();
    let o = splice(&root, &["package", not_a_pack.to_str().unwrap(), who]);
    assert_eq!(o.status.code(), Some(14), "{}", text(&o));
    let o = splice(
        &root,
        &["package", not_a_pack.to_str().unwrap(), "--maintainer=Ops"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = fs::remove_dir_all(&root);
}
