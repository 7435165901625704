// SPDX-License-Identifier: GPL-2.0

//! Correlation of static objects between the pre and post builds: a static the running
//! kernel has must be named in the pack as the running kernel's instance, whatever the
//! compiler or a macro numbered it this time.

use std::process::Command;

use crate::assemble::{assemble, Options, TargetSel};
use crate::correlate::correlate_locals;
use crate::elf::Obj;
use crate::format::reader;
use crate::input::symvers::Symvers;
use crate::policy::code::patchable_changes as changed_functions;
use crate::testing::KERNEL_LIKE_CFLAGS;

fn compile(tag: &str, src: &str) -> Obj {
    let d = std::env::temp_dir().join(format!("splice-corr-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let (c, o) = (d.join("u.c"), d.join("u.o"));
    std::fs::write(&c, src).unwrap();
    let out = Command::new("gcc")
        .args(KERNEL_LIKE_CFLAGS)
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .expect("gcc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let obj = Obj::read(&o).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    obj
}

/// The local symbols the core resolves for the pack's targets (by name), and the
/// sections it carries.
fn resolved_and_carried(pre: &Obj, post: &Obj) -> (Vec<String>, Vec<String>) {
    let post = correlate_locals(pre, post);
    let changed = changed_functions(pre, &post).unwrap();
    let opts = Options {
        object_name: "test/u.o".into(),
        module: String::new(),
        name: "corr".into(),
        description: String::new(),
        release: "7.2.12".into(),
        build_id: vec![1; 20],
        targets: TargetSel::Explicit(changed),
        layout: Default::default(),
        noreturns: Default::default(),
    };
    let symvers =
        Symvers::parse("Module.symvers", "0x0\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
    let out = assemble(&opts, pre, &post, &symvers).unwrap();
    let nr = out.report.targets.len() + out.report.fixups.len();
    let pack = reader::parse(&out.blob, nr).unwrap().pack;
    let mut resolved: Vec<String> = pack
        .targets
        .iter()
        .flat_map(|t| t.relocs.iter())
        .filter(|r| r.local)
        .map(|r| r.symbol.clone())
        .collect();
    resolved.sort();
    resolved.dedup();
    (resolved, out.report.carried_sections.clone())
}

/// A static local of a function GCC clones (`count.constprop.0`): a patch that adds a
/// static local above renumbers both the local and, here, the clone.
#[test]
fn static_local_of_a_clone_keeps_the_running_instance() {
    let pre = r#"
extern int printk(const char *fmt, ...);
static __attribute__((noinline)) int count(int x, int step)
{
	static int calls;
	calls += step;
	return printk("%d %d\n", x, calls);
}
int user(int x) { return count(x, 1); }
"#;
    let post = pre
        .replace(
            "extern int printk(const char *fmt, ...);",
            "extern int printk(const char *fmt, ...);\nint first(void) { static int seen; return ++seen; }",
        )
        .replace("return printk(\"%d %d\\n\", x, calls);", "return printk(\"%d %d!\\n\", x, calls);");
    let (a, b) = (compile("clone-pre", pre), compile("clone-post", &post));
    assert!(
        a.symbols
            .iter()
            .any(|s| s.name.starts_with("count.constprop")),
        "gcc made no clone; the test needs one"
    );
    let (resolved, carried) = resolved_and_carried(&a, &b);
    let calls: Vec<&String> = resolved
        .iter()
        .filter(|n| n.starts_with("calls."))
        .collect();
    let pre_calls = a
        .symbols
        .iter()
        .find(|s| s.name.starts_with("calls."))
        .map(|s| s.name.clone())
        .unwrap();
    assert_eq!(
        calls,
        vec![&pre_calls],
        "resolved: {resolved:?}, carried: {carried:?}"
    );
    assert!(!carried.iter().any(|s| s.contains("calls")), "{carried:?}");
}

/// Objects named by `__COUNTER__` (`__UNIQUE_ID_*`, as `pr_debug()` names its
/// descriptor and `__ADDRESSABLE()` its pointer): a new one above renames those below.
/// The function below, whose code is the same, is no target, and the changed one uses
/// the running kernel's instance of its own.
#[test]
fn unique_id_statics_are_paired_by_their_users() {
    let pre = r#"
extern int printk(const char *fmt, ...);
#define __PASTE(a, b) a##b
#define PASTE(a, b) __PASTE(a, b)
#define UNIQUE(p) PASTE(PASTE(__UNIQUE_ID_, p), __COUNTER__)
#define COUNT_ONCE(id) ({ static int id; id++; })
#define COUNT() COUNT_ONCE(UNIQUE(cnt))
int a(int x) { COUNT(); return printk("a %d\n", x); }
int b(int x) { COUNT(); return printk("b %d\n", x); }
"#;
    let post = pre.replace(
        "int a(int x) { COUNT(); return printk(\"a %d\\n\", x); }",
        "int a(int x) { COUNT(); COUNT(); return printk(\"a %d\\n\", x); }",
    );
    let (p, q) = (compile("uid-pre", pre), compile("uid-post", &post));
    let qc = correlate_locals(&p, &q);
    let changed = changed_functions(&p, &qc).unwrap();
    assert_eq!(
        changed,
        vec!["a".to_string()],
        "b only had its static renumbered"
    );
}

#[test]
fn correlation_stems_leave_the_numbers_out() {
    use crate::names::correlation_stem;
    assert_eq!(correlation_stem("count.3").as_deref(), Some("count"));
    assert_eq!(
        correlation_stem("__UNIQUE_ID_ddebug412").as_deref(),
        Some("__UNIQUE_ID_ddebug")
    );
    assert_eq!(
        correlation_stem("__UNIQUE_ID_ddebug412.7").as_deref(),
        Some("__UNIQUE_ID_ddebug")
    );
    assert_eq!(correlation_stem("counter"), None);
    assert_eq!(correlation_stem("__UNIQUE_ID_"), None);
}
