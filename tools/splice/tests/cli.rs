// SPDX-License-Identifier: GPL-2.0

//! `splice-create assemble` end to end: files written, and errors reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use splice_tools::testing::KERNEL_LIKE_CFLAGS as FLAGS;

const SRC: &str = r#"
extern int seq_printf(void *m, const char *fmt, ...);
static int calls;
int show(void *m) { calls++; return seq_printf(m, "v1 %d\n", calls); }
"#;

fn tmp(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("splice-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn gcc(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, src).unwrap();
    let st = Command::new("gcc")
        .args(FLAGS)
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status();
    match st {
        Ok(s) if s.success() => o,
        other => panic!("gcc cannot compile the test's C ({other:?}); deps.sh installs it"),
    }
}

fn run(dir: &Path, pre: &Path, post: &Path, extra: &[&str]) -> std::process::Output {
    let symvers = dir.join("Module.symvers");
    std::fs::write(&symvers, "0x0\tseq_printf\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_splice-create"))
        .arg("assemble")
        .arg("--pre")
        .arg(pre)
        .arg("--post")
        .arg(post)
        .args([
            "--object-name",
            "fs/x.o",
            "--name",
            "cli-test",
            "--release",
            "7.2.12",
        ])
        .args(["--build-id", "00112233445566778899aabbccddeeff00112233"])
        .arg("--symvers")
        .arg(&symvers)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn assemble_writes_the_pack_sources() {
    let d = tmp("ok");
    let (pre, post) = (
        gcc(&d, "pre", SRC),
        gcc(&d, "post", &SRC.replace("v1", "v2")),
    );
    let out = run(&d, &pre, &post, &["--auto-targets", "--description", "cli"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = d.join("out");
    let kbuild = std::fs::read_to_string(o.join("Kbuild")).unwrap();
    assert_eq!(
        kbuild,
        "obj-m := splice_cli_test.o\nsplice_cli_test-y := stub.o repl0.o\n"
    );
    let blob = std::fs::read(o.join("pack-meta.bin")).unwrap();
    assert_eq!(&blob[..8], b"SPLCPACK");
    let stub = std::fs::read_to_string(o.join("stub.c")).unwrap();
    let hex: Vec<u8> = stub
        .split("splice_blob[] __aligned(8) = {")
        .nth(1)
        .unwrap()
        .split("};")
        .next()
        .unwrap()
        .split(',')
        .filter_map(|t| u8::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok())
        .collect();
    assert_eq!(hex, blob);
    assert!(stub.contains("MODULE_DESCRIPTION(\"splice pack cli-test: cli\");"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(o.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["targets"][0]["function"], "show");
    assert_eq!(report["targets"][0]["replacement"], "__splice_repl_0");
    assert!(report["core_resolved_relocations"].as_u64().unwrap() >= 1);
    let repl = std::fs::read(o.join("repl0.o")).unwrap();
    assert_eq!(&repl[..4], b"\x7fELF");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn errors_name_the_file_and_symbol() {
    let d = tmp("err");
    let pre = gcc(&d, "pre", SRC);
    let out = run(&d, &pre, &pre, &["--target", "missing_fn"]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("pre.o: missing_fn: target is not a function"),
        "{e}"
    );
    let out = run(&d, &pre, &pre, &["--auto-targets"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no functional change"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_symbol_the_kernel_would_not_resolve_is_refused_with_a_system_map() {
    let d = tmp("sysmap");
    // The fix calls a global the running kernel lacks: no pack, the symbol named.
    let post_src = format!(
        "extern int new_helper(int);\n{}",
        SRC.replace("calls++;", "calls = new_helper(calls);")
    );
    let (pre, post) = (gcc(&d, "pre", SRC), gcc(&d, "post", &post_src));
    let map = d.join("System.map");
    std::fs::write(&map, "ffffffff81000000 T show\nffffffff81000010 t calls\n").unwrap();
    let m = map.to_str().unwrap();
    let out = run(&d, &pre, &post, &["--auto-targets", "--system-map", m]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("unresolved_symbol: new_helper (used by fs/x.o)"),
        "{e}"
    );
    assert!(!d.join("out").join("pack-meta.bin").exists());
    // Once the kernel has it, the pack is made.
    std::fs::write(
        &map,
        "ffffffff81000000 T show\nffffffff81000020 T new_helper\n",
    )
    .unwrap();
    let out = run(&d, &pre, &post, &["--auto-targets", "--system-map", m]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}
