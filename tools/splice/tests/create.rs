// SPDX-License-Identifier: GPL-2.0

//! `splice-create` as a user meets it: its version, its exit codes (3 refused, 4 no
//! functional change, 1 a tool error), and what it keeps and says on the way out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("splice-create-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A tree that passes splice-create's first look (configured, "built"): enough for the
/// refusals made before anything is compiled.
fn fake_tree(d: &Path) -> PathBuf {
    let t = d.join("tree");
    std::fs::create_dir_all(t.join("include/config")).unwrap();
    std::fs::create_dir_all(t.join("arch/x86/lib")).unwrap();
    std::fs::write(
        t.join(".config"),
        format!(
            "CONFIG_CC_VERSION_TEXT=\"{}\"\nCONFIG_SPLICE=y\n",
            host_gcc()
        ),
    )
    .unwrap();
    std::fs::write(t.join("vmlinux"), "").unwrap();
    std::fs::write(t.join("Module.symvers"), "").unwrap();
    std::fs::write(t.join("include/config/kernel.release"), "7.2.12\n").unwrap();
    std::fs::write(t.join("arch/x86/lib/x.S"), "ret\n").unwrap();
    t
}

/// The first line of `gcc --version` here: a tree configured with it names it.
fn host_gcc() -> String {
    let out = Command::new("gcc").arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

fn create(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_splice-create"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn version_is_printed() {
    let d = tmp("version");
    let out = create(&["--version"], &d);
    assert!(out.status.success());
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.starts_with("splice-create "), "{v}");
    assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
}

#[test]
fn a_refusal_exits_3_and_its_report_says_refused() {
    let d = tmp("refused");
    let t = fake_tree(&d);
    std::fs::write(
        d.join("asm.diff"),
        "--- a/arch/x86/lib/x.S\n+++ b/arch/x86/lib/x.S\n@@ -1 +1 @@\n-ret\n+nop\n",
    )
    .unwrap();
    let out = create(
        &[
            "--tree",
            t.to_str().unwrap(),
            "--patch",
            "asm.diff",
            "-o",
            "x.ko",
        ],
        &d,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("arch/x86/lib/x.S: assembly file"), "{err}");
    let report = std::fs::read_to_string(d.join("x.json")).unwrap();
    assert!(report.contains("\"kind\": \"refused\""), "{report}");
    assert!(!d.join("x.ko").exists());
}

#[test]
fn a_tool_error_exits_1() {
    let d = tmp("tool-error");
    let out = create(
        &[
            "--tree",
            d.join("none").to_str().unwrap(),
            "--patch",
            "x.diff",
        ],
        &d,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such kernel tree"));
}

/// A patch that does not apply names patch's log, and the work folder that holds it is
/// kept so that the log can be read.
#[test]
fn a_failure_that_names_a_log_keeps_the_work_folder() {
    let d = tmp("kept");
    let t = fake_tree(&d);
    std::fs::create_dir_all(t.join("fs")).unwrap();
    std::fs::write(t.join("fs/a.c"), "int a;\n").unwrap();
    std::fs::write(
        d.join("bad.diff"),
        "--- a/fs/a.c\n+++ b/fs/a.c\n@@ -1 +1 @@\n-int b;\n+int c;\n",
    )
    .unwrap();
    let out = create(&["--tree", t.to_str().unwrap(), "--patch", "bad.diff"], &d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let kept = err
        .split("work folder kept: ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no kept work folder in: {err}"));
    assert!(Path::new(kept).join("logs/patch.log").exists(), "{err}");
    let _ = std::fs::remove_dir_all(kept);
}

#[test]
fn a_tree_built_by_another_compiler_is_named_and_nothing_is_made() {
    let d = tmp("compiler");
    let t = fake_tree(&d);
    // As Debian's configuration names its compiler, which this machine does not have.
    std::fs::write(
        t.join(".config"),
        "CONFIG_CC_VERSION_TEXT=\"x86_64-linux-gnu-gcc-99 (Debian 99.1.0-1) 99.1.0\"\n",
    )
    .unwrap();
    std::fs::write(
        d.join("x.diff"),
        "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n",
    )
    .unwrap();
    let out = create(
        &[
            "--tree",
            t.to_str().unwrap(),
            "--patch",
            "x.diff",
            "-o",
            "x.ko",
        ],
        &d,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("'x86_64-linux-gnu-gcc-99 (Debian 99.1.0-1) 99.1.0'"),
        "{err}"
    );
    assert!(err.contains("does not run here"), "{err}");
    assert!(!d.join("x.ko").exists());
}
