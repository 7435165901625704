// SPDX-License-Identifier: GPL-2.0

//! End-to-end tests: small C files compiled with gcc and kernel-like flags at test time.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::assemble::{assemble, Options, TargetSel};
use crate::elf::Obj;
use crate::emit::Output;
use crate::format::{reader, rtype, Pack};
use crate::input::symvers::Symvers;
use crate::policy::code::patchable_changes as changed_functions;

use crate::testing::KERNEL_LIKE_CFLAGS as FLAGS;

const SYMVERS: &str = "0x0\tseq_printf\tvmlinux\tEXPORT_SYMBOL\t\n\
0x0\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n\
0x0\tsome_key\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
0x0\tns_func\tvmlinux\tEXPORT_SYMBOL_GPL\tTEST_NS\n";

/// These tests compile C: without gcc they fail (deps.sh installs it) rather than pass
/// without having run.
fn require_gcc() {
    let ok = Command::new("gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "gcc is not installed: these tests compile C (scripts/splice/deps.sh installs it)"
    );
}

/// The built kernel tree the tests marked `#[ignore]` read (`KERNEL_TREE`; the tools test of
/// `make check` sets it and runs them with `--include-ignored`).
pub(crate) fn kernel_tree() -> PathBuf {
    let t = std::env::var_os("KERNEL_TREE")
        .map(PathBuf::from)
        .expect("KERNEL_TREE must name a built kernel tree for this test");
    assert!(
        t.join("vmlinux").exists(),
        "KERNEL_TREE={}: no vmlinux (build the kernel first)",
        t.display()
    );
    t
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!("splice-test-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn compile(dir: &Path, name: &str, src: &str, extra: &[&str]) -> Obj {
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, src).unwrap();
    let out = Command::new("gcc")
        .args(FLAGS)
        .args(extra)
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&o).unwrap();
    Obj::parse(&format!("{name}.o"), &data).unwrap()
}

fn opts(targets: TargetSel) -> Options {
    Options {
        object_name: "test/unit.o".into(),
        module: String::new(),
        name: "test-pack".into(),
        description: "a \"test\" pack".into(),
        release: "7.2.12".into(),
        build_id: vec![0xab; 20],
        targets,
        layout: Default::default(),
        noreturns: Default::default(),
    }
}

fn build(tag: &str, pre: &str, post: &str, targets: TargetSel, extra: &[&str]) -> Result<Output> {
    let d = TempDir::new(tag);
    let pre = compile(&d.0, "pre", pre, extra);
    let post = compile(&d.0, "post", post, extra);
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    assemble(&opts(targets), &pre, &post, &symvers)
}

/// The data-change policy of `splice-create` on two sources (`refuse_data_changes`).
fn data_check(tag: &str, pre: &str, post: &str) -> Result<()> {
    let d = TempDir::new(tag);
    let pre = compile(&d.0, "pre", pre, &[]);
    let post = compile(&d.0, "post", post, &[]);
    crate::policy::data::refuse_data_changes(&pre, &post)
}

/// The targets of a pack, by function name.
fn target_names(out: &Output) -> Vec<&str> {
    out.report
        .targets
        .iter()
        .map(|t| t.function.as_str())
        .collect()
}

fn parsed(out: &Output) -> Pack {
    let nr = out.report.targets.len() + out.report.fixups.len();
    reader::parse(&out.blob, nr).unwrap().pack
}

fn repl(out: &Output) -> Obj {
    Obj::parse("repl.o", &out.repl_objs[0]).unwrap()
}

/// The symbol the ELF relocation of `repl.o` at `offset` of carried function `func` names.
fn place_symbol(r: &Obj, func: &str, offset: u32) -> String {
    let f = r.defined(func).unwrap();
    let text = &r.sections[f.section.unwrap()];
    let at = f.value + u64::from(offset);
    let x = text.relocs.iter().find(|x| x.offset == at).unwrap();
    assert!(!r.symbols[x.sym].global);
    r.symbols[x.sym].name.clone()
}

const BASE: &str = r#"
struct seq_file;
extern int seq_printf(struct seq_file *m, const char *fmt, ...);
extern int hidden_kernel_fn(int);
static int counter;
static inline int helper(int x) { return x * 3 + 1; }
int show_a(struct seq_file *m) { counter++; return seq_printf(m, "hello %d\n", helper(counter)); }
int show_b(struct seq_file *m, int v) { return seq_printf(m, "b %d\n", helper(v)); }
int untouched(int v) { return hidden_kernel_fn(v) + 1; }
"#;

#[test]
fn string_change_is_found_and_the_string_carried() {
    require_gcc();
    let post = BASE.replace("hello %d", "hello world %d");
    let out = build("string", BASE, &post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    assert_eq!(names, ["show_a"]);
    assert!(out
        .report
        .carried_sections
        .iter()
        .any(|s| s.starts_with(".rodata") && s.contains(".str")));
    let r = repl(&out);
    let strs = r
        .sections
        .iter()
        .find(|s| s.name.contains(".str"))
        .expect("string section in repl.o");
    assert!(strs.data.windows(11).any(|w| w == b"hello world"));
    // The string is reached by an ELF relocation of repl.o, not by the core.
    let text = r.section_by_name(".text.show_a").unwrap();
    assert!(text
        .relocs
        .iter()
        .any(|x| r.symbols[x.sym].section == Some(strs.index)));
    assert_eq!(
        out.kbuild,
        "obj-m := splice_test_pack.o\nsplice_test_pack-y := stub.o repl0.o\n"
    );
    assert!(out.stub_c.contains("extern char __splice_repl_0[];"));
    assert!(out
        .stub_c
        .contains("MODULE_DESCRIPTION(\"splice pack test-pack: a \\\"test\\\" pack\");"));
    let p = parsed(&out);
    assert_eq!(p.name, "test-pack");
    assert_eq!(p.objects[0].name, "test/unit.o");
    assert_eq!(p.build_id, vec![0xab; 20]);
    let f = &p.objects[0].functions[p.targets[0].function as usize];
    assert_eq!(f.name, "show_a");
}

#[test]
fn inline_helper_change_targets_both_callers() {
    require_gcc();
    let post = BASE.replace("x * 3 + 1", "x * 5 + 1");
    let out = build("helper", BASE, &post, TargetSel::Auto, &[]).unwrap();
    let mut names: Vec<&str> = out
        .report
        .targets
        .iter()
        .map(|t| t.function.as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["show_a", "show_b"]);
    assert!(out.stub_c.contains("{ __splice_repl_0, __splice_repl_1 }"));
    let r = repl(&out);
    for i in 0..2 {
        let s = r.defined(&format!("__splice_repl_{i}")).unwrap();
        assert!(s.global && s.is_func() && s.size > 0);
    }
    // The original names stay, as local symbols.
    assert!(!r.defined("show_a").unwrap().global);
}

#[test]
fn static_counter_is_resolved_by_the_core() {
    require_gcc();
    let post = BASE.replace("counter++;", "counter += 2;");
    let out = build("counter", BASE, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(out.report.targets.len(), 1);
    assert!(!out
        .report
        .carried_sections
        .iter()
        .any(|s| s.contains("counter")));
    assert!(out.report.core_resolved_relocations >= 1);
    let p = parsed(&out);
    let t = &p.targets[0];
    let rel = t
        .relocs
        .iter()
        .find(|r| r.symbol == "counter")
        .expect("core relocation to counter");
    assert!(rel.local);
    assert_eq!(rel.rtype, rtype::R_X86_64_PC32);
    // In repl.o the place is zero and points, by an ELF relocation, at zeroed data
    // `__splice_unresolved_data` until the core resolves it.
    let r = repl(&out);
    let text = r.section_by_name(".text.show_a").unwrap();
    let at = (r.defined("show_a").unwrap().value + u64::from(rel.offset)) as usize;
    assert_eq!(&text.data[at..at + 4], &[0, 0, 0, 0]);
    assert_eq!(
        place_symbol(&r, "show_a", rel.offset),
        "__splice_unresolved_data"
    );
    let data = r.section_by_name(".data.__splice_unresolved").unwrap();
    assert!(data.data.iter().all(|&b| b == 0));
    assert!(r.section_by_name(".text.__splice_unresolved").is_none());
    assert!(r.symbols.iter().all(|s| s.name != "counter"));
    // The pre code names the same symbol.
    let f = &p.objects[0].functions[t.function as usize];
    assert!(f.relocs.iter().any(|r| r.symbol == "counter" && r.local));
}

/// Writable data of a section several objects share (`__read_mostly`, `__ro_after_init`,
/// `.data..once`): the existing object's state lives in the running kernel, so the
/// replacement must use its live instance, also when the patch adds a new object to the same
/// section. Carrying the section whole would give the replacement fresh copies at their
/// initial values (a limit an admin changed at run time back to its default).
#[test]
fn an_existing_object_of_a_shared_section_keeps_its_live_instance() {
    require_gcc();
    let src = |body: &str, new: &str| {
        format!(
            "extern int hidden_kernel_fn(int);\n\
             static int limit __attribute__((section(\".data..read_mostly\"))) = 10;\n\
             {new}\n\
             void set_limit(int v) {{ limit = v; }}\n\
             int check(int v) {{ {body} }}\n"
        )
    };
    let pre = src("return hidden_kernel_fn(v) > limit;", "");
    let post = src(
        "seen++; return hidden_kernel_fn(v) > limit + seen;",
        "static int seen __attribute__((section(\".data..read_mostly\"))) = 0;",
    );
    let out = build("read-mostly", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["check"]);
    let p = parsed(&out);
    let t = &p.targets[0];
    assert!(
        t.relocs.iter().any(|r| r.symbol == "limit" && r.local),
        "limit is not resolved to the running kernel's instance: {:?} (carried: {:?} {:?})",
        t.relocs.iter().map(|r| &r.symbol).collect::<Vec<_>>(),
        out.report.carried_data,
        out.report.carried_sections
    );
    // The new object is carried, at its initial value; the old one is not.
    assert!(
        out.report.carried_data.iter().any(|d| d == "seen"),
        "{:?}",
        out.report.carried_data
    );
    assert!(!out.report.carried_data.iter().any(|d| d == "limit"));
    let r = repl(&out);
    assert!(r.symbols.iter().all(|s| s.name != "limit"));
}

/// Per-CPU data (`DEFINE_PER_CPU`, all in `.data..percpu`): a counter the running kernel
/// already has keeps its live per-CPU instances when the patch adds a per-CPU object beside
/// it. Carried whole, the section would give the replacement a fresh, zeroed counter.
#[test]
fn an_existing_per_cpu_object_keeps_its_live_instance_beside_a_new_one() {
    require_gcc();
    let src = |body: &str, new: &str| {
        format!(
            "extern int hidden_kernel_fn(int);\n\
             static int hits __attribute__((section(\".data..percpu\"))) = 0;\n\
             static int limit __attribute__((section(\".data..percpu\"))) = 10;\n\
             {new}\n\
             void count(void) {{ hits++; }}\n\
             int check(int v) {{ {body} }}\n"
        )
    };
    let pre = src("return hidden_kernel_fn(v) > limit + hits;", "");
    let post = src(
        "seen++; return hidden_kernel_fn(v) > limit + hits + seen;",
        "static int seen __attribute__((section(\".data..percpu\"))) = 0;",
    );
    let out = build("percpu", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["check"]);
    let p = parsed(&out);
    let t = &p.targets[0];
    for live in ["hits", "limit"] {
        assert!(
            t.relocs.iter().any(|r| r.symbol == live && r.local),
            "{live} is not resolved to the running kernel's instance: {:?} (carried: {:?} {:?})",
            t.relocs.iter().map(|r| &r.symbol).collect::<Vec<_>>(),
            out.report.carried_data,
            out.report.carried_sections
        );
        assert!(!out.report.carried_data.iter().any(|d| d == live));
    }
    assert!(
        out.report.carried_data.iter().any(|d| d == "seen"),
        "{:?}",
        out.report.carried_data
    );
    // The new object goes in a section the module loader takes for per-CPU data.
    let r = repl(&out);
    let seen = r.defined("seen").expect("seen in repl.o");
    let sec = seen.section.map(|i| r.sections[i].name.clone());
    assert_eq!(sec.as_deref(), Some(".data..percpu"));
    assert!(r
        .symbols
        .iter()
        .all(|s| s.name != "hits" && s.name != "limit"));
}

#[test]
fn calls_the_core_resolves_to_a_noreturn_function_point_at_a_trap_that_does_not_return() {
    require_gcc();
    // do_exit() ends with a call to do_task_dead(), which the core resolves: pointed at the
    // returning trap, objtool reads the replacement as falling off its end.
    let pre = format!(
        "{BASE}extern void __attribute__((noreturn)) hidden_dead(void);\n\
         void __attribute__((noreturn)) finish(int v) {{ counter = v; hidden_dead(); }}\n"
    );
    let post = pre.replace("counter = v;", "counter = v + hidden_kernel_fn(v);");
    let out = build("noreturn", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let place = |sym: &str| {
        p.targets[0]
            .relocs
            .iter()
            .find(|r| r.symbol == sym)
            .unwrap_or_else(|| panic!("core relocation to {sym}"))
            .offset
    };
    let r = repl(&out);
    // The call the function ends with: the trap that does not return (by its place, no list).
    assert_eq!(
        place_symbol(&r, "finish", place("hidden_dead")),
        "__splice_unresolved_noreturn"
    );
    let trap = r
        .section_by_name(".text.__splice_unresolved_noreturn")
        .unwrap();
    assert_eq!(trap.data, [0xf3, 0x0f, 0x1e, 0xfa, 0xcc, 0x0f, 0x0b]);
    // A call that comes back: the returning trap.
    assert_eq!(
        place_symbol(&r, "finish", place("hidden_kernel_fn")),
        "__splice_unresolved"
    );
    // Named by objtool's list, a call in the middle of a function is one too.
    let pre = format!(
        "{BASE}extern void hidden_dead(void);\n\
         int check(int v) {{ if (v > 3) hidden_dead(); return v; }}\n"
    );
    let post = pre.replace("v > 3", "v > 4");
    let d = TempDir::new("noreturn-list");
    let (pre, post) = (
        compile(&d.0, "pre", &pre, &[]),
        compile(&d.0, "post", &post, &[]),
    );
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let mut o = opts(TargetSel::Auto);
    o.noreturns =
        crate::assemble::noreturns_of("/* list */\nNORETURN(hidden_dead)\nNORETURN(panic)\n");
    assert!(o.noreturns.contains("panic"));
    let out = assemble(&o, &pre, &post, &symvers).unwrap();
    let p = parsed(&out);
    let at = p.targets[0]
        .relocs
        .iter()
        .find(|r| r.symbol == "hidden_dead")
        .unwrap()
        .offset;
    assert_eq!(
        place_symbol(&repl(&out), "check", at),
        "__splice_unresolved_noreturn"
    );
}

#[test]
fn the_traps_have_the_padding_the_kernels_functions_have() {
    require_gcc();
    // With CALL_PADDING every function has 16 nops before it, where call depth tracking
    // (retbleed=stuff) writes the thunk that the module loader points the pack's calls of the
    // function at: a trap without them sent the loader to read and write before the module's
    // text (a page fault at module load, the trap first in it).
    let pad = ["-fpatchable-function-entry=16,16"];
    let pre = format!(
        "{BASE}extern void __attribute__((noreturn)) hidden_dead(void);\n\
         void __attribute__((noreturn)) finish(int v) {{ counter = v; hidden_dead(); }}\n"
    );
    let post = pre.replace("counter = v;", "counter = v + hidden_kernel_fn(v);");
    let out = build("trap-padding", &pre, &post, TargetSel::Auto, &pad).unwrap();
    let r = repl(&out);
    for name in ["__splice_unresolved", "__splice_unresolved_noreturn"] {
        let trap = r.section_by_name(&format!(".text.{name}")).unwrap();
        let sym = r.symbols.iter().find(|y| y.name == name).unwrap();
        assert_eq!(sym.value, 16, "{name}");
        assert!(trap.data[..16].iter().all(|&b| b == 0x90), "{name}");
        assert_eq!(&trap.data[16..20], [0xf3, 0x0f, 0x1e, 0xfa], "{name}");
    }
    let trap = r.section_by_name(".text.__splice_unresolved").unwrap();
    let thunk = trap.relocs.iter().find(|x| x.offset == 16 + 6).unwrap();
    assert_eq!(r.symbols[thunk.sym].name, "__x86_return_thunk");
    // Without padding, none.
    let out = build("trap-no-padding", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let r = repl(&out);
    let sym = r
        .symbols
        .iter()
        .find(|y| y.name == "__splice_unresolved")
        .unwrap();
    assert_eq!(sym.value, 0);
}

#[test]
fn calls_the_core_resolves_point_at_a_returning_trap() {
    require_gcc();
    // `hidden_kernel_fn` is a function of the running kernel that no module may call: a call
    // to it is resolved by the core.
    let post = BASE.replace("counter++;", "counter += hidden_kernel_fn(2);");
    let out = build("trap", BASE, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let rel = p.targets[0]
        .relocs
        .iter()
        .find(|r| r.symbol == "hidden_kernel_fn")
        .expect("core relocation to hidden_kernel_fn");
    assert_eq!(rel.rtype, rtype::R_X86_64_PLT32);
    // Until then the call goes to the trap `__splice_unresolved` (a trap that returns, for
    // objtool).
    let r = repl(&out);
    assert_eq!(
        place_symbol(&r, "show_a", rel.offset),
        "__splice_unresolved"
    );
    let trap = r.section_by_name(".text.__splice_unresolved").unwrap();
    // endbr64; int3; jmp __x86_return_thunk: the object's returns go through the thunk.
    assert_eq!(&trap.data[..6], [0xf3, 0x0f, 0x1e, 0xfa, 0xcc, 0xe9]);
    let thunk = trap.relocs.iter().find(|x| x.offset == 6).unwrap();
    assert_eq!(r.symbols[thunk.sym].name, "__x86_return_thunk");
    assert_eq!(thunk.rtype, rtype::R_X86_64_PLT32);

    // A call to a static function of the running kernel, and a tail call to it (which the
    // assembler may relocate with R_X86_64_PC32, as a data access): the trap too. The
    // static counter the code also reads goes to the data placeholder.
    let pre = format!(
        "static int twice(int v);\n{BASE}static __attribute__((noinline)) int twice(int v) \
         {{ return hidden_kernel_fn(v) * 2; }}\nint use_twice(int v) {{ return twice(v); }}\n"
    );
    let post = pre.replace("counter++;", "counter += twice(counter);");
    let post = post.replace(
        "int use_twice(int v) { return twice(v); }",
        "int use_twice(int v) { if (v > counter) return twice(v + 1); return twice(v); }",
    );
    let out = build("trap-static", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let r = repl(&out);
    let mut seen = 0;
    for (t, rt) in p.targets.iter().zip(&out.report.targets) {
        for rel in &t.relocs {
            let want = match rel.symbol.as_str() {
                "twice" => "__splice_unresolved",
                "counter" => "__splice_unresolved_data",
                _ => continue,
            };
            let got = place_symbol(&r, &rt.function, rel.offset);
            assert_eq!(got, want, "{} in {}", rel.symbol, rt.function);
            seen += 1;
        }
    }
    assert!(seen >= 3, "{seen} places checked");
}

#[test]
fn new_static_function_is_carried_and_registered() {
    require_gcc();
    let post = BASE.replace(
        "int show_a(struct seq_file *m) { counter++;",
        "static __attribute__((noinline, noclone)) void bump(int by) { counter += by; hidden_kernel_fn(by); }\n\
         int show_a(struct seq_file *m) { bump(7);",
    );
    let out = build("newfn", BASE, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(out.report.targets.len(), 1);
    assert_eq!(out.report.targets[0].function, "show_a");
    assert!(out
        .report
        .carried_new_functions
        .contains(&"bump".to_string()));
    assert_eq!(out.report.fixups.len(), 1);
    assert_eq!(out.report.fixups[0].carried, "bump");
    assert_eq!(out.report.fixups[0].replacement, "__splice_repl_1");
    let p = parsed(&out);
    let x = &p.fixups[0];
    assert_eq!(x.replacement, 1);
    assert!(x.relocs.iter().any(|r| r.symbol == "counter" && r.local));
    // Not exported: resolved by the core, as a global.
    assert!(x
        .relocs
        .iter()
        .any(|r| r.symbol == "hidden_kernel_fn" && !r.local));
    let r = repl(&out);
    let reg = r.defined("__splice_repl_1").unwrap();
    let bump = r.defined("bump").unwrap();
    assert_eq!(
        (reg.section, reg.value, reg.size),
        (bump.section, bump.value, bump.size)
    );
    assert!(reg.global && !bump.global);
    // show_a calls bump through an ELF relocation of repl.o.
    let text = r.section_by_name(".text.show_a").unwrap();
    assert!(text.relocs.iter().any(|x| {
        let s = &r.symbols[x.sym];
        s.section == bump.section
    }));
    assert!(out.stub_c.contains("__splice_repl_0[], __splice_repl_1[]"));
}

#[test]
fn static_functions_are_flagged_local() {
    require_gcc();
    let pre = format!(
        "{BASE}static __attribute__((noinline, noclone)) int twice(int v) {{ return v * 2; }}\n\
         int uses_twice(int v) {{ return twice(v) + 1; }}\n"
    );
    let post = pre.replace("twice(v) + 1", "twice(v) + 2");
    let out = build("local", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let f = |name: &str| {
        p.objects[0]
            .functions
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("pre function {name}"))
    };
    assert!(f("twice").local);
    assert!(!f("uses_twice").local);
    assert!(!f("show_a").local);
}

#[test]
fn no_change_is_an_error() {
    require_gcc();
    let e = build("nochange", BASE, BASE, TargetSel::Auto, &[]).unwrap_err();
    assert!(format!("{e:#}").contains("no functional change"), "{e:#}");
}

#[test]
fn explicit_targets_must_exist() {
    require_gcc();
    let e = build(
        "explicit",
        BASE,
        BASE,
        TargetSel::Explicit(vec!["nope".into()]),
        &[],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("nope") && m.contains("pre.o"), "{m}");
    // An explicit target need not differ.
    let out = build(
        "explicit2",
        BASE,
        BASE,
        TargetSel::Explicit(vec!["untouched".into()]),
        &[],
    )
    .unwrap();
    assert_eq!(out.report.targets[0].function, "untouched");
    let p = parsed(&out);
    assert!(p.targets[0]
        .relocs
        .iter()
        .any(|r| r.symbol == "hidden_kernel_fn"));
}

#[test]
fn unsupported_relocation_is_named() {
    require_gcc();
    let src = format!(
        "{BASE}\nextern int some_var;\nlong bad(void) {{ long v; asm(\"movq some_var@GOTPCREL(%%rip), %0\" : \"=r\"(v)); return v; }}\n"
    );
    let e = build(
        "gotpcrel",
        &src,
        &src,
        TargetSel::Auto,
        &["-Wa,-mrelax-relocations=no"],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains("pre.o: bad: relocation type R_X86_64_GOTPCREL is not supported"),
        "{m}"
    );
}

#[test]
fn init_reference_is_an_error() {
    require_gcc();
    let pre = format!("{BASE}\nstatic int __attribute__((section(\".init.text\"), noinline)) setup(void) {{ return hidden_kernel_fn(0); }}\nint __attribute__((section(\".init.text\"))) keep(void) {{ return setup(); }}\nint uses(void) {{ return 1; }}\n");
    let post = pre.replace(
        "int uses(void) { return 1; }",
        "int uses(void) { return setup(); }",
    );
    let e = build("init", &pre, &post, TargetSel::Auto, &[]).unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains("uses") && m.contains("setup") && m.contains(".init.text"),
        "{m}"
    );
    // A change of __init code itself is refused.
    let post = pre.replace("hidden_kernel_fn(0)", "hidden_kernel_fn(1)");
    let e = build("init2", &pre, &post, TargetSel::Auto, &[]).unwrap_err();
    assert!(format!("{e:#}").contains("setup: __init or __exit code changes"));
}

#[test]
fn noinstr_code_is_carried_in_noinstr_text() {
    require_gcc();
    let noinstr = |name: &str, body: &str| {
        format!(
            "int __attribute__((section(\".noinstr.text\"), noinline)) {name}(int v) {{ {body} }}\n"
        )
    };
    let pre = format!(
        "{BASE}\n{}{}",
        noinstr("enter", "return v + 1;"),
        noinstr("leave", "return v - 1;")
    );
    // Both noinstr functions change: each is cut out of the shared section, and carried in
    // one named `.noinstr.text` (which the module loader records, and kprobes leave alone).
    let post = pre
        .replace("return v + 1;", "return v + 2;")
        .replace("return v - 1;", "return v - 2;");
    let out = build("noinstr", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["enter", "leave"]);
    let r = repl(&out);
    for name in ["enter", "leave"] {
        let f = r.defined(name).unwrap();
        let sec = &r.sections[f.section.unwrap()];
        assert_eq!(sec.name, ".noinstr.text", "{name}");
    }
    // Ordinary code beside it is carried as before.
    let post = pre.replace("counter++;", "counter += 3;");
    let out = build("noinstr2", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["show_a"]);
    assert_ne!(
        repl(&out).sections[repl(&out).defined("show_a").unwrap().section.unwrap()].name,
        ".noinstr.text"
    );
}

#[test]
fn idle_and_entry_code_are_refused() {
    require_gcc();
    for (sec, why) in [
        (
            ".entry.text",
            "before the kernel's stack and page tables are set up",
        ),
        (".cpuidle.text", "recognises idle CPUs by the address"),
    ] {
        let pre = format!(
            "{BASE}\nint __attribute__((section(\"{sec}\"), noinline)) enter(int v) \
             {{ return v + 1; }}\n"
        );
        let post = pre.replace("return v + 1;", "return v + 2;");
        let e = build("entry", &pre, &post, TargetSel::Auto, &[]).unwrap_err();
        let m = format!("{e:#}");
        assert!(
            m.contains(&format!("enter: idle or entry code ({sec}) changes")) && m.contains(why),
            "{m}"
        );
    }
}

#[test]
fn ftrace_and_endbr_markers() {
    require_gcc();
    let post = BASE.replace("hello %d", "hello world %d");
    for (extra, name) in [
        (&[][..], "plain"),
        (&["-fpatchable-function-entry=16,16"][..], "padded"),
    ] {
        let out = build(name, BASE, &post, TargetSel::Auto, extra).unwrap();
        let p = parsed(&out);
        for f in &p.objects[0].functions {
            assert_eq!(&f.code[..4], &[0xf3, 0x0f, 0x1e, 0xfa], "{name} {}", f.name);
            assert_eq!(f.code[4], 0xe8, "{name} {}", f.name);
            let sites: Vec<(u32, u32, i64)> = f
                .relocs
                .iter()
                .filter(|r| rtype::is_site(r.rtype))
                .map(|r| (r.offset, r.rtype, r.addend))
                .collect();
            assert!(
                sites.contains(&(0, rtype::SITE_ENDBR, 4)),
                "{name} {}: {sites:?}",
                f.name
            );
            assert!(
                sites.contains(&(4, rtype::SITE_FTRACE, 5)),
                "{name} {}: {sites:?}",
                f.name
            );
            // One marker per site, even though both __mcount_loc and the call name it.
            assert_eq!(
                sites.iter().filter(|s| s.1 == rtype::SITE_FTRACE).count(),
                1
            );
            // The call to __fentry__ is listed too.
            assert!(f
                .relocs
                .iter()
                .any(|r| r.offset == 5 && r.symbol == "__fentry__"));
            assert!(f.relocs.windows(2).all(|w| w[0].offset <= w[1].offset));
        }
        // __mcount_loc of the carried code goes to repl.o; with padding, so does
        // __patchable_function_entries.
        assert_eq!(out.report.special_entries.get("__mcount_loc"), Some(&1));
        let r = repl(&out);
        let m = r.section_by_name("__mcount_loc").unwrap();
        assert_eq!(m.relocs.len(), 1);
        let show_a = r.defined("show_a").unwrap();
        assert_eq!(m.relocs[0].addend as u64, show_a.value + 4);
        if name == "padded" {
            assert_eq!(show_a.value, 16);
            let pfe = r.section_by_name("__patchable_function_entries").unwrap();
            assert_eq!(pfe.size, 8);
            // Link-ordered to the carried text, as gcc emits it (ld refuses a mix).
            assert_ne!(pfe.flags & u64::from(object::elf::SHF_LINK_ORDER), 0);
            assert_eq!(pfe.link as usize, show_a.section.unwrap());
            let reg = r.defined("__splice_repl_0").unwrap();
            assert_eq!(reg.value, 16);
        }
    }
}

const SPECIAL: &str = r#"
extern int printk(const char *fmt, ...);
extern struct static_key some_key;
static inline int alt_value(void)
{
	int r;
	asm volatile("1: mov $1, %0\n"
		".pushsection .altinstr_replacement,\"ax\"\n"
		"2: mov $2, %0\n3:\n"
		".popsection\n"
		".pushsection .altinstructions,\"a\"\n"
		".long 1b - .\n.long 2b - .\n.long 0x1234\n.byte 5\n.byte 3b - 2b\n"
		".popsection\n" : "=r"(r));
	return r;
}
static inline int key_on(void)
{
	asm goto("1: .byte 0x0f,0x1f,0x44,0,0\n"
		".pushsection __jump_table, \"aw\"\n.balign 8\n"
		".long 1b - .\n.long %l[yes] - .\n.quad some_key - .\n"
		".popsection\n" : : : : yes);
	return 0;
yes:
	return 1;
}
static inline int read_user(const int *p)
{
	int v = 0;
	asm volatile("1: movl (%1), %0\n2:\n"
		".pushsection __ex_table, \"aM\", @progbits, 12\n.balign 4\n"
		".long 1b - .\n.long 2b - .\n.long 3\n.popsection\n" : "+r"(v) : "r"(p));
	return v;
}
static inline void warn_here(void)
{
	asm volatile("1: ud2\n"
		".pushsection .rodata.str1.1, \"aMS\", @progbits, 1\n"
		"8: .asciz \"special.c\"\n9: .asciz \"fmt %d\"\n.popsection\n"
		".pushsection __bug_table, \"aw\"\n"
		"7: .long 1b - .\n.long 9b - .\n.long 8b - .\n.word 12\n.word 0\n.org 7b + 16\n"
		".popsection\n");
}
int special_fn(const int *p)
{
	if (key_on())
		warn_here();
	return alt_value() + read_user(p) + VALUE;
}
int other_fn(const int *p)
{
	if (key_on())
		warn_here();
	return alt_value() + read_user(p);
}
"#;

#[test]
fn special_sections_follow_the_carried_code() {
    require_gcc();
    let pre = SPECIAL.replace("VALUE", "1");
    let post = SPECIAL.replace("VALUE", "2");
    let out = build("special", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    assert_eq!(names, ["special_fn"]);
    // Only the entries of special_fn, not those of other_fn.
    for s in [
        ".altinstructions",
        "__jump_table",
        "__ex_table",
        "__bug_table",
        ".altinstr_replacement",
    ] {
        assert_eq!(
            out.report.special_entries.get(s),
            Some(&1),
            "{s}: {:?}",
            out.report.special_entries
        );
    }
    let r = repl(&out);
    let ex = r.section_by_name("__ex_table").unwrap();
    assert_eq!((ex.size, ex.entsize), (12, 12));
    assert_eq!(ex.relocs.len(), 2);
    let alt = r.section_by_name(".altinstr_replacement").unwrap();
    // mov $2, %reg
    assert!(
        matches!(alt.data[..], [0xb8..=0xbf, 2, 0, 0, 0]),
        "{:x?}",
        alt.data
    );
    let ai = r.section_by_name(".altinstructions").unwrap();
    assert_eq!(ai.size, 14);
    assert_eq!(r.symbols[ai.relocs[1].sym].section, Some(alt.index));
    let jt = r.section_by_name("__jump_table").unwrap();
    assert!(jt
        .relocs
        .iter()
        .any(|x| r.symbols[x.sym].name == "some_key" && x.rtype == 24));
    let bt = r.section_by_name("__bug_table").unwrap();
    assert_eq!(bt.relocs.len(), 3);
    assert!(r.sections.iter().any(|s| s.name == ".note.GNU-stack"));
    // Pre code has the matching run-time sites.
    let p = parsed(&out);
    let f = &p.objects[0].functions[p.targets[0].function as usize];
    let has = |t: u32, len: i64| f.relocs.iter().any(|r| r.rtype == t && r.addend == len);
    assert!(has(rtype::SITE_ALTERNATIVE, 5), "{:?}", f.relocs);
    assert!(has(rtype::SITE_JUMP_LABEL, 5), "{:?}", f.relocs);
}

/// `WARN()` of a kernel without `CONFIG_DEBUG_BUGVERBOSE`: 12-byte `__bug_table` entries
/// (no file, no line). Read with the verbose kernel's 16, the table has a remainder: an
/// error, never entries cut across; with the configuration's size, the carried function's
/// entry alone is carried, whole.
#[test]
fn bug_entries_have_the_size_of_the_configuration() {
    require_gcc();
    let src = "extern int hidden_kernel_fn(int);\n\
        static inline void warn_here(void)\n{\n\
        \tasm volatile(\"1: ud2\\n\"\n\
        \t\t\".pushsection .rodata.str1.1, \\\"aMS\\\", @progbits, 1\\n\"\n\
        \t\t\"9: .asciz \\\"fmt\\\"\\n.popsection\\n\"\n\
        \t\t\".pushsection __bug_table, \\\"aw\\\"\\n\"\n\
        \t\t\"7: .long 1b - .\\n.long 9b - .\\n.word 0\\n.org 7b + 12\\n.popsection\\n\");\n}\n\
        int warn_a(int v) { if (v > 3) warn_here(); return hidden_kernel_fn(v) + VALUE; }\n\
        int warn_b(int v) { if (v > 4) warn_here(); return hidden_kernel_fn(v); }\n";
    let d = TempDir::new("bug-terse");
    let pre = compile(&d.0, "pre", &src.replace("VALUE", "1"), &[]);
    let post = compile(&d.0, "post", &src.replace("VALUE", "2"), &[]);
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let bt = post.section_by_name("__bug_table").unwrap();
    assert_eq!(bt.size, 24, "two 12-byte entries");
    let e = assemble(&opts(TargetSel::Auto), &pre, &post, &symvers).unwrap_err();
    assert!(
        format!("{e:#}").contains("not a whole number of 16-byte entries"),
        "{e:#}"
    );
    let mut o = opts(TargetSel::Auto);
    o.layout = crate::special::Layout::of_config("# CONFIG_DEBUG_BUGVERBOSE is not set\n");
    let out = assemble(&o, &pre, &post, &symvers).unwrap();
    assert_eq!(target_names(&out), ["warn_a"]);
    let r = repl(&out);
    let bt = r.section_by_name("__bug_table").unwrap();
    assert_eq!((bt.size, bt.relocs.len()), (12, 2));
}

/// kCFI's trap table (`.kcfi_traps`, clang's `-fsanitize=kcfi`: one `s32` relative pointer
/// per check's `ud2`, which the kernel reads to report a CFI failure instead of a plain BUG):
/// the carried function's entries go with it, linked by the pack module's `__kcfi_traps`, and
/// no entry of a function left in the running kernel.
#[test]
fn kcfi_trap_entries_follow_the_carried_code() {
    require_gcc();
    let src = "extern int hidden_kernel_fn(int);\n\
        static inline void cfi_check(void)\n{\n\
        \tasm volatile(\"1: ud2\\n.pushsection .kcfi_traps, \\\"a\\\"\\n\"\n\
        \t\t\".long 1b - .\\n.popsection\\n\");\n}\n\
        int kcfi_a(int v) { if (v > 3) cfi_check(); return hidden_kernel_fn(v) + VALUE; }\n\
        int kcfi_b(int v) { if (v > 4) cfi_check(); return hidden_kernel_fn(v); }\n";
    let pre = src.replace("VALUE", "1");
    let post = src.replace("VALUE", "2");
    let out = build("kcfi", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["kcfi_a"]);
    assert_eq!(
        out.report.special_entries.get(".kcfi_traps"),
        Some(&1),
        "{:?}",
        out.report.special_entries
    );
    let r = repl(&out);
    let t = r.section_by_name(".kcfi_traps").unwrap();
    assert_eq!((t.size, t.relocs.len()), (4, 1));
}

/// A jump label on a key vmlinux does not export (a tracepoint's): the module loader must
/// link the entry before splice runs, so it is named for livepatch's load-time relocations,
/// only when the kernel has them and the name is unique.
#[test]
fn unexported_jump_label_keys_are_resolved_at_load() {
    require_gcc();
    let d = TempDir::new("tpkey");
    let src = SPECIAL.replace("some_key", "__tracepoint_x");
    let pre = compile(&d.0, "pre", &src.replace("VALUE", "1"), &[]);
    let post = compile(&d.0, "post", &src.replace("VALUE", "2"), &[]);
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let e = assemble(&opts(TargetSel::Auto), &pre, &post, &symvers)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("__jump_table entry refers to __tracepoint_x, which is not exported")
            && e.contains("CONFIG_LIVEPATCH"),
        "{e}"
    );
    let map = "ffffffff81000000 D __tracepoint_x\nffffffff81000010 d dup\nffffffff81000020 d dup\n";
    let lp = symvers.clone().with_load_time_names(map);
    let out = assemble(&opts(TargetSel::Auto), &pre, &post, &lp).unwrap();
    let r = repl(&out);
    let jt = r.section_by_name("__jump_table").unwrap();
    let key = jt
        .relocs
        .iter()
        .map(|x| &r.symbols[x.sym])
        .find(|s| s.name.starts_with(".klp.sym."))
        .unwrap();
    assert_eq!(key.name, ".klp.sym.vmlinux.__tracepoint_x,0");
    assert!(key.undefined && key.weak);
    // A name two vmlinux symbols share cannot be resolved by name.
    let src = SPECIAL.replace("some_key", "dup");
    let pre = compile(&d.0, "pre2", &src.replace("VALUE", "1"), &[]);
    let post = compile(&d.0, "post2", &src.replace("VALUE", "2"), &[]);
    let e = assemble(&opts(TargetSel::Auto), &pre, &post, &lp)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("vmlinux has 2 symbols of that name"), "{e}");
}

#[test]
fn namespaced_exports_are_imported() {
    require_gcc();
    let pre = format!(
        "{BASE}\nextern int ns_func(int);\nint nsuser(int v) {{ return ns_func(v) + 1; }}\n"
    );
    let post = pre.replace("ns_func(v) + 1", "ns_func(v) + 2");
    let out = build("ns", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert!(out.stub_c.contains("MODULE_IMPORT_NS(\"TEST_NS\");"));
    assert!(out
        .report
        .undefined_symbols
        .contains(&"ns_func".to_string()));
}

#[test]
#[ignore = "needs a built kernel tree (KERNEL_TREE)"]
fn tree_object_without_function_sections_is_listed() {
    let o = Obj::read(&kernel_tree().join("fs/proc/version.o")).unwrap();
    let names: Vec<&str> = o.functions().iter().map(|f| f.name.as_str()).collect();
    // proc_version_init is in .init.text and is not listed.
    assert_eq!(names, ["version_proc_show"]);
    let sites = crate::sites::find(&o).unwrap();
    let f = o.defined("version_proc_show").unwrap();
    let s = &sites[&f.index];
    assert!(s.contains(&(0, rtype::SITE_ENDBR, 4)));
    assert!(s.contains(&(4, rtype::SITE_FTRACE, 5)));
}

const COLD: &str = r#"
extern void report_bug(const char *, int) __attribute__((cold));
extern int seq_printf(void *m, const char *fmt, ...);
int foo(void *m, int x)
{
	if (__builtin_expect(x > 100, 0)) {
		report_bug("too big", x);
		seq_printf(m, "big %d\n", x);
		return -1;
	}
	return seq_printf(m, "x=%d\n", x);
}
"#;

#[test]
fn cold_parts_go_with_their_function() {
    require_gcc();
    let d = TempDir::new("coldprobe");
    assert!(
        compile(&d.0, "probe", COLD, &[])
            .defined("foo.cold")
            .is_some(),
        "gcc made no foo.cold of an unlikely branch that calls a cold function"
    );
    // A change in the cold part only: the target is foo, and foo.cold is carried.
    let post = COLD.replace("big %d", "very big %d");
    let out = build("cold", COLD, &post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    assert_eq!(names, ["foo"]);
    assert!(out
        .report
        .carried_new_functions
        .contains(&"foo.cold".to_string()));
    let r = repl(&out);
    let cold = r.defined("foo.cold").unwrap();
    let text = r.section_by_name(".text.foo").unwrap();
    assert!(text
        .relocs
        .iter()
        .any(|x| r.symbols[x.sym].section == cold.section));
    // The pre table lists foo.cold as a function of its own.
    let p = parsed(&out);
    assert!(p.objects[0].functions.iter().any(|f| f.name == "foo.cold"));
}

const HOOKS: &str = r#"
struct splice_hook { unsigned int kind; int (*fn)(void); };
static int fix_pre(void) { counter = 0; return 0; }
static int fix_post(void) { return hidden_kernel_fn(1); }
static const struct splice_hook h0 __attribute__((used, section(".splice.hooks"), aligned(8))) = { 0, fix_pre };
static const struct splice_hook h1 __attribute__((used, section(".splice.hooks"), aligned(8))) = { 3, fix_post };
"#;

#[test]
fn hook_table_is_carried_with_its_functions() {
    require_gcc();
    let post = format!("{}{HOOKS}", BASE.replace("\"hello %d\\n\"", "\"hi %d\\n\""));
    let out = build("hooks", BASE, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(out.report.hooks, 2);
    assert_eq!(out.report.targets.len(), 1);
    for f in ["fix_pre", "fix_post"] {
        assert!(out.report.carried_new_functions.contains(&f.to_string()));
    }
    // fix_pre writes the kernel's `counter`: resolved by the core in a fixup.
    let p = parsed(&out);
    assert!(p
        .fixups
        .iter()
        .any(|x| x.relocs.iter().any(|r| r.symbol == "counter" && r.local)));
    let r = repl(&out);
    let table = r.defined("__splice_hooks").unwrap();
    assert!(table.global);
    let sec = &r.sections[table.section.unwrap()];
    assert_eq!(sec.name, ".splice.hooks");
    assert_eq!(sec.size, 32);
    // Each entry's function pointer is a relocation of repl.o to carried code.
    assert_eq!(sec.relocs.len(), 2);
    assert!(out
        .stub_c
        .contains(".hooks = __splice_hooks, .nr_hooks = 2,"));

    // Hooks in the unpatched source: refused.
    let err = build(
        "hooks-pre",
        &post,
        &post.replace("hi %d", "ho %d"),
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("already declares splice hooks"));
}

#[test]
fn hooks_alone_make_a_pack_without_targets() {
    require_gcc();
    // A fix of data alone: no function changes, and hooks that convert the live data.
    let post = format!("{BASE}{HOOKS}");
    let out = build(
        "hooks-only",
        BASE,
        &post,
        TargetSel::Explicit(Vec::new()),
        &[],
    )
    .unwrap();
    assert!(out.report.targets.is_empty());
    assert_eq!(out.report.hooks, 2);
    let p = parsed(&out);
    assert!(p.targets.is_empty());
    assert!(p
        .fixups
        .iter()
        .any(|x| x.relocs.iter().any(|r| r.symbol == "counter" && r.local)));
}

#[test]
fn static_data_no_code_refers_to_is_refused() {
    require_gcc();
    // `quota` is reached only through `quotas[]`, data: no pre function refers to it, so
    // run-pre matching could not find it in the running kernel.
    let pre = format!("{BASE}static int quota = 5;\nint *quotas[] = {{ &quota }};\n");
    let post = format!(
        "{pre}struct splice_hook {{ unsigned int kind; int (*fn)(void); }};\n\
         static int fix(void) {{ quota = 6; return 0; }}\n\
         static const struct splice_hook h0 __attribute__((used, section(\".splice.hooks\"), \
         aligned(8))) = {{ 2, fix }};\n"
    );
    let e = build(
        "unlearnable",
        &pre,
        &post,
        TargetSel::Explicit(Vec::new()),
        &[],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains(
            "fix: refers to quota, a static symbol that no function of the object refers to"
        ),
        "{m}"
    );
    // Through a static array that code refers to, it is found.
    let pre = format!(
        "{BASE}static int quota = 5;\nstatic int *quotas[] = {{ &quota }};\n\
         int quota_of(int i) {{ return *quotas[i]; }}\n"
    );
    let post = format!(
        "{pre}struct splice_hook {{ unsigned int kind; int (*fn)(void); }};\n\
         static int fix(void) {{ *quotas[0] = 6; return 0; }}\n\
         static const struct splice_hook h0 __attribute__((used, section(\".splice.hooks\"), \
         aligned(8))) = {{ 2, fix }};\n"
    );
    build(
        "learnable",
        &pre,
        &post,
        TargetSel::Explicit(Vec::new()),
        &[],
    )
    .unwrap();
}

#[test]
fn a_variable_named_str_is_not_a_string() {
    require_gcc();
    // -fdata-sections puts the static local `str` in `.rodata.str.0`, a name like that of a
    // section of mergeable strings: it is an array of pointers, matched as data.
    let pre = format!(
        "{BASE}const char *kind_name(int i) {{ static const char *const str[] = \
         {{ \"one\", \"two\" }}; return str[i & 1]; }}\n"
    );
    let post = pre.replace("counter++;", "counter += 2;");
    let out = build("str-var", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let f = p.objects[0]
        .functions
        .iter()
        .find(|f| f.name == "kind_name")
        .unwrap();
    let names: Vec<&str> = f.relocs.iter().map(|r| r.symbol.as_str()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".str")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("str.")), "{names:?}");
    assert_eq!(
        crate::elf::merge_section_kind(".rodata.str1.1"),
        Some("str")
    );
    assert_eq!(crate::elf::merge_section_kind(".rodata.cst16"), Some("cst"));
    assert_eq!(crate::elf::merge_section_kind(".rodata.str.0"), None);
    assert_eq!(crate::elf::merge_section_kind(".rodata.cst_table"), None);
}

#[test]
fn strings_are_named_by_content() {
    require_gcc();
    let post = BASE.replace("\"b %d\\n\"", "\"B %d\\n\"");
    let out = build("strings", BASE, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let names: Vec<&str> = p.objects[0]
        .functions
        .iter()
        .flat_map(|f| f.relocs.iter().map(|r| r.symbol.as_str()))
        .collect();
    // The pre code's literals, by content, not by their section and offset.
    for want in [".str1.1:hello %d\\x0a", ".str1.1:b %d\\x0a"] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with(".rodata")));
}

/// A string reached by an instruction with an immediate after its displacement
/// (`cmpb $0x41, .LC0(%rip)`: the relocation says `.LC0 - 5`) is named by the string it
/// points at, not by the byte before it, as a guess that the displacement ends the
/// instruction would name it.
#[test]
fn a_string_compared_with_an_immediate_is_named_by_its_content() {
    require_gcc();
    let pre = format!(
        "{BASE}const char *first(void) {{ return \"abc\"; }}\n\
         int has_a(void) {{ int r = 0; asm volatile(\"cmpb $0x41, %1\\n\\tsete %b0\" \
         : \"+q\"(r) : \"m\"(*(const char *)\"xhello\")); return r; }}\n"
    );
    let post = pre.replace("counter++;", "counter += 2;");
    let out = build("str-imm", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let f = p.objects[0]
        .functions
        .iter()
        .find(|f| f.name == "has_a")
        .unwrap();
    let names: Vec<(&str, i64)> = f
        .relocs
        .iter()
        .filter(|r| r.symbol.contains("str"))
        .map(|r| (r.symbol.as_str(), r.addend))
        .collect();
    assert_eq!(names, [(".str1.1:xhello", -5)]);
}

/// A pointer to the end of a string (`s + strlen(s)`, its NUL, as a loop that copies it
/// compares with: the relocation says `.LC0+6`) is named by the string it ends, with the
/// length as its addend: not as the empty string that starts at that NUL, which the linker
/// puts elsewhere (gcc-16 made this of vsprintf.c's `clock()`, and matching then found two
/// values for `.str1.1:`).
#[test]
fn the_end_of_a_string_is_named_by_the_string_it_ends() {
    require_gcc();
    let pre = format!(
        "{BASE}char *copy_str(char *buf, char *end) {{ const char *s = \"(%pC?)\"; \
         const char *p = s; while (buf < end && p != s + 6) *buf++ = *p++; return buf; }}\n\
         const char *empty(void) {{ return \"\"; }}\n"
    );
    let post = pre.replace("counter++;", "counter += 2;");
    let out = build("str-end", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let refs = |name: &str| -> Vec<(String, i64)> {
        let f = p.objects[0]
            .functions
            .iter()
            .find(|f| f.name == name)
            .unwrap();
        f.relocs
            .iter()
            .filter(|r| r.symbol.starts_with(".str"))
            .map(|r| (r.symbol.clone(), r.addend))
            .collect()
    };
    let copy = refs("copy_str");
    assert!(copy.contains(&(".str1.1:(%pC?)".into(), 0)), "{copy:?}");
    assert!(copy.contains(&(".str1.1:(%pC?)".into(), 6)), "{copy:?}");
    assert!(!copy.iter().any(|(n, _)| n == ".str1.1:"), "{copy:?}");
    assert_eq!(refs("empty"), [(".str1.1:".to_string(), 0)]);
}

/// A pointer one past a string's NUL (`s + sizeof(s)`, as a loop that copies the whole
/// array compares with) that gcc writes against the string's own local symbol (`.LC1+5`,
/// vsprintf.c's `resource_string()` on Debian's gcc-16) is of that string: the linker adds
/// the 5 to where it put the string, though the object has another string there.
#[test]
fn one_past_a_string_by_its_symbol_is_named_by_that_string() {
    require_gcc();
    let pre = format!(
        "{BASE}char *copy5(char *buf, char *end, int q) {{ const char *s = q ? \"??? \" : \"bus \"; \
         const char *p = s; while (buf < end && p != s + 5) *buf++ = *p++; return buf; }}\n\
         char *copyb(char *buf, char *end) {{ const char *s = \"bus \"; const char *p = s; \
         while (buf < end && p != s + 5) *buf++ = *p++; *buf = *\"??? \"; return buf; }}\n"
    );
    let post = pre.replace("counter++;", "counter += 2;");
    let out = build("str-past", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let f = p.objects[0]
        .functions
        .iter()
        .find(|f| f.name == "copyb")
        .unwrap();
    let refs: Vec<(&str, i64)> = f
        .relocs
        .iter()
        .filter(|r| r.rtype == crate::format::rtype::R_X86_64_32S)
        .map(|r| (r.symbol.as_str(), r.addend))
        .collect();
    assert!(refs.contains(&(".str1.1:bus ", 5)), "{refs:?}");
    assert!(
        !refs.iter().any(|(n, _)| n.starts_with(".rodata")),
        "{refs:?}"
    );
}

#[test]
fn pack_module_may_not_take_the_target_module_name() {
    require_gcc();
    let d = TempDir::new("modname");
    let pre = compile(&d.0, "pre", BASE, &[]);
    let post = compile(&d.0, "post", &BASE.replace("x * 3", "x * 4"), &[]);
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let mut o = opts(TargetSel::Auto);
    o.name = "target-mod".into();
    o.module = "splice_target_mod".into();
    let err = assemble(&o, &pre, &post, &symvers).unwrap_err();
    assert!(format!("{err:#}").contains("choose another name"));
}

#[test]
fn shared_literal_moving_section_is_no_change() {
    require_gcc();
    // "%d\n" is used by both; the patch changes show_a's other literal, and the shared
    // one may land in another function's string section: show_b is still unchanged.
    let base = "extern int seq_printf(void *m, const char *fmt, ...);\n\
        int show_a(void *m) { seq_printf(m, \"x\\n\"); return seq_printf(m, \"%d\\n\", 1); }\n\
        int show_b(void *m) { return seq_printf(m, \"%d\\n\", 2); }\n";
    let post = base.replace("\"x\\n\"", "\"y\\n\"");
    let out = build("sharedstr", base, &post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    assert_eq!(names, ["show_a"]);
}

#[test]
fn weak_functions_are_matched_only_when_targets() {
    require_gcc();
    let pre = format!("{BASE}\nint __attribute__((weak)) arch_hook(int x) {{ return x - 1; }}\n");
    let post = pre.replace("counter++;", "counter += 3;");
    let out = build("weak", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let names: Vec<&str> = p.objects[0]
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(!names.contains(&"arch_hook"), "{names:?}");
    assert!(names.contains(&"show_a"));
    // Changed, it is a target and is matched like any other.
    let post = pre.replace("x - 1", "x - 2");
    let out = build("weak2", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    assert!(p.objects[0].functions.iter().any(|f| f.name == "arch_hook"));
}

/// Two `__COUNTER__`-numbered objects of one function (two `pr_debug()` descriptors), both
/// renumbered by a new one above them: paired by name, the first would take the second's
/// pre name (same stem, same user). They are paired by what they hold.
#[test]
fn counter_numbered_objects_of_one_function_are_paired_by_content() {
    require_gcc();
    let src = |extra: &str, body: &str, a: u32, b: u32| {
        format!(
            "struct desc {{ const char *fmt; int line; }};\n\
             extern void emit(struct desc *d);\n\
             {extra}\n\
             void f(int v) {{\n\
             static struct desc __UNIQUE_ID_d{a} __attribute__((used, section(\"__dyndbg\"))) = {{ \"alpha\", 0 }};\n\
             static struct desc __UNIQUE_ID_d{b} __attribute__((used, section(\"__dyndbg\"))) = {{ \"beta\", 0 }};\n\
             emit(&__UNIQUE_ID_d{a}); {body} if (v) emit(&__UNIQUE_ID_d{b}); }}\n"
        )
    };
    let pre = src("", "", 10, 11);
    let post = src(
        "void g(void) { static struct desc __UNIQUE_ID_d10 __attribute__((used, \
         section(\"__dyndbg\"))) = { \"gamma\", 0 }; emit(&__UNIQUE_ID_d10); }",
        "emit(0);",
        11,
        12,
    );
    let d = TempDir::new("counter-pair");
    let pre_o = compile(&d.0, "pre", &pre, &[]);
    let post_o = compile(&d.0, "post", &post, &[]);
    let paired = crate::correlate::correlate_locals(&pre_o, &post_o);
    // The pre name of what holds "alpha", in each object.
    let holder = |o: &Obj, what: &str| -> String {
        o.symbols
            .iter()
            .filter(|y| y.name.starts_with("__UNIQUE_ID_d") && y.is_object())
            .find(|y| {
                let sec = &o.sections[y.section.unwrap()];
                sec.relocs.iter().filter(|r| r.offset == y.value).any(|r| {
                    let c = o.canon(r);
                    let lit = &o.sections[c.section.unwrap()].data;
                    lit[c.sec_offset as usize..].starts_with(what.as_bytes())
                })
            })
            .map(|y| y.name.clone())
            .unwrap_or_default()
    };
    for what in ["alpha", "beta"] {
        assert_eq!(
            holder(&paired, what),
            holder(&pre_o, what),
            "{what}: the post object is named as another pre object"
        );
    }
    assert!(holder(&paired, "gamma") != holder(&pre_o, "alpha"));
}

/// UBSAN's per-check data (`.data..Lubsan_dataN`: file, line, column, type) is numbered in
/// the order of the checks in the file: a check the fix adds above renumbers those of every
/// function below, whose code is otherwise the same. They are compared by content.
#[test]
fn renumbered_sanitizer_data_is_no_change() {
    require_gcc();
    let src = |extra: &str| {
        // One file name for both builds, as a tree's pre and post have.
        format!(
            "#line 1 \"u.c\"\n\
             int first(int v, int s) {{ return v{extra}; }}\n\
             int later(int v, int s) {{ return v << s; }}\n"
        )
    };
    let (pre, post) = (src(""), src(" + (v << (s + 1))"));
    let out = build("ubsan", &pre, &post, TargetSel::Auto, &["-fsanitize=shift"]).unwrap();
    assert_eq!(target_names(&out), ["first"]);
    // The check itself still counts: another shift is a change.
    let other = pre.replace("v << s", "v >> s");
    let out = build(
        "ubsan2",
        &pre,
        &other,
        TargetSel::Auto,
        &["-fsanitize=shift"],
    )
    .unwrap();
    assert_eq!(target_names(&out), ["later"]);
}

#[test]
fn static_locals_renumbered_by_the_patch_keep_their_state() {
    require_gcc();
    // The patch adds a function with its own static local `count` before `a`: GCC now
    // numbers them differently, yet `a` must keep using the running kernel's `count`.
    let pre = "int a(void) { static int count; return ++count; }\n\
               int b(void) { static int count; return count += 5; }\n";
    let post = "int z(void) { static int count; return count += 9; }\n\
                int a(void) { static int count; return ++count + 1; }\n\
                int b(void) { static int count; return count += 5; }\n";
    let out = build("renumber", pre, post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    // b did not change; a did.
    assert_eq!(names, ["a"]);
    let d = TempDir::new("renumber2");
    let pre_o = compile(&d.0, "pre", pre, &[]);
    let a_count = |o: &Obj, f: &str| -> String {
        let s = o.defined(f).unwrap();
        let sec = &o.sections[s.section.unwrap()];
        sec.relocs_in(s.value, s.value + s.size)
            .iter()
            .filter_map(|r| o.canon(r).sym.map(|y| o.symbols[y].name.clone()))
            .find(|n| n.starts_with("count"))
            .unwrap()
    };
    // The core resolves a's `count` with the name the pre code uses.
    let p = parsed(&out);
    let want = a_count(&pre_o, "a");
    assert!(
        p.targets[0]
            .relocs
            .iter()
            .any(|r| r.symbol == want && r.local),
        "{:?}",
        p.targets[0].relocs
    );
    // z's count is new: its name is none of the pre object's.
    let post_o = compile(&d.0, "post", post, &[]);
    let c = crate::correlate::correlate_locals(&pre_o, &post_o);
    assert_eq!(a_count(&c, "a"), want);
    assert_eq!(a_count(&c, "b"), a_count(&pre_o, "b"));
    assert!(pre_o.defined(&a_count(&c, "z")).is_none());
}

#[test]
fn calls_within_a_named_section_are_matched_by_callee() {
    require_gcc();
    // Both in .sched.text (not split by -ffunction-sections): the call from outer to inner
    // has no relocation.
    let base = "#define S __attribute__((section(\".sched.text\"), noinline))\n\
        extern int hidden_kernel_fn(int);\n\
        static S int inner(int x) { return hidden_kernel_fn(x) + 1; }\n\
        S int outer(int x) { return inner(x) * 2; }\n\
        int plain(int x) { return outer(x) - 3; }\n";
    let post = base.replace("outer(x) - 3", "outer(x) - 4");
    let out = build("schedtext", base, &post, TargetSel::Auto, &[]).unwrap();
    let names = target_names(&out);
    assert_eq!(names, ["plain"]);
    // The pre code of outer names inner at its call, for run-pre matching.
    let p = parsed(&out);
    let outer = p.objects[0]
        .functions
        .iter()
        .find(|f| f.name == "outer")
        .unwrap();
    assert!(
        outer
            .relocs
            .iter()
            .any(|r| r.symbol == "inner" && r.rtype == rtype::R_X86_64_PC32),
        "{:?}",
        outer.relocs
    );
    // A change of code in that section moves the call's destination; outer is compared by
    // the function it calls, so only inner changed, and inner, sharing its section, is
    // carried alone.
    let post = base.replace("hidden_kernel_fn(x) + 1", "hidden_kernel_fn(x + 7) + 11");
    let out = build("schedtext2", base, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["inner"]);
    assert!(repl(&out).defined("outer").is_none());
}

/// A changed function that is one body under several names (a C alias here; rustc's merged
/// functions in the catalogue's rust-merged case) is refused by name, in pre and post alike.
#[test]
fn one_body_under_several_names_is_refused() {
    require_gcc();
    let d = TempDir::new("alias");
    let src = r#"
int level(int x) { return x + ONE; }
int level_alias(int x) __attribute__((alias("level")));
int other(int x) { return x * 3; }
"#;
    let pre = compile(&d.0, "pre", &src.replace("ONE", "1"), &[]);
    let post = compile(&d.0, "post", &src.replace("ONE", "2"), &[]);
    let e = changed_functions(&pre, &post).unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("one body under 2 names"), "{m}");
    assert!(
        m.contains("level_alias") && m.contains("aliases of one function"),
        "{m}"
    );
    // A change elsewhere in the object is not refused for the alias.
    let post = compile(
        &d.0,
        "post2",
        &src.replace("ONE", "1").replace("* 3", "* 4"),
        &[],
    );
    assert_eq!(changed_functions(&pre, &post).unwrap(), ["other"]);
}

/// `src` compiled by the host's rustc as a crate `t`, one section per function and constant
/// (rustc's default on Linux), overflow checks on: every `*` has a panic location.
fn compile_rust(dir: &Path, name: &str, src: &str) -> Obj {
    // Each side as t.rs, named so in its panic locations, as the generator's overlay is
    // (--remap-path-prefix).
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let rs = Path::new("t.rs");
    let o = dir.join("t.o");
    std::fs::write(dir.join(rs), src).unwrap();
    let out = Command::new("rustc")
        .current_dir(&dir)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--crate-name",
            "t",
        ])
        .args([
            "--emit",
            "obj",
            "-C",
            "opt-level=2",
            "-C",
            "overflow-checks=on",
        ])
        .args(["-C", "panic=abort", "-C", "force-unwind-tables=no"])
        .args(["-C", "symbol-mangling-version=v0", "-o"])
        .arg(&o)
        .arg(rs)
        .output()
        .expect("rustc runs (the tools are built with it)");
    assert!(
        out.status.success(),
        "rustc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Obj::parse(&format!("{name}.o"), &std::fs::read(&o).unwrap()).unwrap()
}

/// Rust: a line added above moves the panic locations below it (Rust has no `#line`), and
/// rustc's anonymous constants are numbered, not named: the function whose code changed is
/// the only one that differs.
#[test]
fn a_moved_panic_location_is_no_change() {
    let d = TempDir::new("rust-lines");
    let src = r#"#![no_std]
#[inline(never)]
pub fn twice(x: u32) -> u32 {
    x * 2
}

#[inline(never)]
pub fn thrice(x: u32) -> u32 {
    x * 3
}
"#;
    let pre = compile_rust(&d.0, "pre", src);
    let post = compile_rust(
        &d.0,
        "post",
        &src.replace("    x * 2\n", "    // one more than twice\n    x * 2 + 1\n"),
    );
    let changed = changed_functions(&pre, &post).unwrap();
    let paths: Vec<String> = changed
        .iter()
        .filter_map(|n| crate::names::rust_path(n))
        .collect();
    assert_eq!(paths, ["t::twice"], "{changed:?}");
}

/// A table of strings whose strings move in the merged string section, because the patch
/// adds a string before them, is unchanged: its user is not a target.
#[test]
fn moved_strings_of_a_rodata_table_are_no_change() {
    require_gcc();
    let d = TempDir::new("strtab");
    let src = r#"
extern int printk(const char *fmt, ...);
static const char *const names[] = { "alpha", "beta" };
EXTRA
int show(int i) { return printk("%s\n", names[i]); }
int first(int x) { return printk("one %d\n", x); }
"#;
    let pre = compile(&d.0, "pre", &src.replace("EXTRA", ""), &[]);
    let post = compile(
        &d.0,
        "post",
        &src.replace("EXTRA", "const char *const extra[] = { \"zzz\" };"),
        &[],
    );
    // The strings did move (or the test shows nothing).
    let table = post.defined("names").unwrap();
    let rel = &post.sections[table.section.unwrap()].relocs[0];
    assert_ne!(post.canon(rel).addend, 0, "the strings did not move");
    assert!(changed_functions(&pre, &post).unwrap().is_empty());
}

const SCHED: &str = r#"
extern int printk(const char *fmt, ...);
#define __sched __attribute__((section(".sched.text")))
static __attribute__((noinline)) int __sched helper_a(int x) { return printk("a %d\n", x) * 5; }
int __sched caller_b(int x) { return helper_a(x) + VALUE; }
int __sched other_c(int x) { return helper_a(x + 1) + 2; }
"#;

/// A function of a section it shares with others (`__sched`): carried alone, its direct
/// call to a function of that section (no relocation in the object) resolved by the core.
#[test]
fn shared_section_functions_are_carried_alone() {
    require_gcc();
    let pre = SCHED.replace("VALUE", "1");
    let post = SCHED.replace("VALUE", "3");
    let out = build("sched", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["caller_b"]);
    let r = repl(&out);
    let texts: Vec<&crate::elf::Sec> = r.sections_named(".sched.text").collect();
    assert_eq!(texts.len(), 1);
    let b = r.defined("caller_b").unwrap();
    assert_eq!(b.section, Some(texts[0].index));
    assert!(r.defined("other_c").is_none() && r.defined("helper_a").is_none());
    // The call to helper_a goes to the running kernel's, through the core.
    assert!(out.report.core_resolved_relocations >= 1);
}

/// A compiler clone the patch made GCC number differently (`scale.constprop.0` became
/// `.4`) is the same function: paired, neither it nor its callers are targets.
#[test]
fn renumbered_clones_are_paired() {
    require_gcc();
    let d = TempDir::new("clones");
    let src = r#"
extern int printk(const char *fmt, ...);
static __attribute__((noinline)) int scale(int x, int k) { printk("s"); return x * k + printk("%d", k); }
int use_a(int x) { return scale(x, 7) + 1; }
int use_b(int x) { return scale(x, 7) + 2; }
"#;
    let pre = compile(&d.0, "pre", src, &[]);
    let mut post = compile(&d.0, "post", src, &[]);
    let clone = post
        .defined("scale.constprop.0")
        .expect("gcc made no constprop clone");
    post.rename(&[(clone.index, "scale.constprop.4".into())]);
    assert_eq!(
        changed_functions(&pre, &post).unwrap(),
        ["use_a", "use_b"],
        "renumbered, the callers differ"
    );
    let paired = crate::correlate::correlate_locals(&pre, &post);
    assert!(paired.defined("scale.constprop.0").is_some());
    assert!(changed_functions(&pre, &paired).unwrap().is_empty());
}

/// A table entry in the style of `DECLARE_PCI_FIXUP_FINAL`: `__used` data in a named section
/// that nothing in the object refers to.
fn fixup_table(entries: &[&str]) -> String {
    let mut s =
        format!("{BASE}\nstruct fixup {{ unsigned short vendor, device; void (*hook)(int); }};\n");
    for (i, e) in entries.iter().enumerate() {
        s.push_str(&format!(
            "static void {e}(int d) {{ hidden_kernel_fn(d + {i}); }}\n\
             static const struct fixup __fixup_{e}_{} __attribute__((used, \
             section(\".pci_fixup_final\"), aligned(8))) = {{ 0x144d, {i}, {e} }};\n",
            100 + i
        ));
    }
    s
}

#[test]
fn added_table_entry_is_refused_naming_the_table() {
    require_gcc();
    let e = build(
        "table",
        &fixup_table(&["quirk_a"]),
        &fixup_table(&["quirk_a", "quirk_new"]),
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains("tables the kernel gathers")
            && m.contains(".pci_fixup_final: entries for quirk_new added"),
        "{m}"
    );
    // The same table after a line shift (entries renamed by __LINE__) is not a change.
    let shifted = fixup_table(&["quirk_a"]).replace("_100 ", "_250 ");
    let e = build(
        "table-same",
        &fixup_table(&["quirk_a"]),
        &shifted,
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("no functional change"), "{e:#}");
}

/// `EXPORT_SYMBOL()` as `include/linux/export.h` of 7.2 writes it: an entry of
/// `.export_symbol` (license, namespace, a reference to the symbol) for modpost and the
/// linker, which the running kernel's export table was made from.
fn exported(names: &[&str], license: &str) -> String {
    let mut s = BASE.to_owned();
    for n in names {
        s.push_str(&format!(
            "asm(\".section \\\".export_symbol\\\",\\\"a\\\"\\n\
             __export_symbol_{n}:\\n.asciz \\\"{license}\\\"\\n.asciz \\\"\\\"\\n\
             .balign 4\\n.long {n} - .\\n.previous\");\n"
        ));
    }
    s
}

/// A new `EXPORT_SYMBOL()` is refused by name: the pack cannot add to the running kernel's
/// export table, and ignoring it would leave modules that need it unloadable.
#[test]
fn a_new_export_is_refused() {
    require_gcc();
    let e = build(
        "export-new",
        &exported(&["show_a"], ""),
        &exported(&["show_a", "untouched"], ""),
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains("exports change") && m.contains("untouched exported"),
        "{m}"
    );
    // An export that becomes GPL-only changes too.
    let e = build(
        "export-gpl",
        &exported(&["show_a"], ""),
        &exported(&["show_a"], "GPL"),
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("exports change"), "{m}");
    // The same exports: nothing to say.
    let e = build(
        "export-same",
        &exported(&["show_a"], ""),
        &exported(&["show_a"], ""),
        TargetSel::Auto,
        &[],
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("no functional change"), "{e:#}");
}

#[test]
fn moved_initcall_is_refused_as_boot_time() {
    require_gcc();
    let call = |level: &str| {
        format!(
            "{BASE}\nstatic int __attribute__((section(\".init.text\"))) ready(void) \
             {{ return hidden_kernel_fn(1); }}\n\
             static int (*const __initcall_ready)(void) __attribute__((used, \
             section(\".initcall{level}.init\"))) = ready;\n"
        )
    };
    let e = build("initcall", &call("1"), &call("4"), TargetSel::Auto, &[]).unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains(
            "boot-time tables change (.initcall1.init: entries for ready removed, \
                    .initcall4.init: entries for ready added)"
        ) && m.contains("next boot"),
        "{m}"
    );
}

#[test]
fn new_global_function_called_from_another_object_is_linked_in_the_pack() {
    require_gcc();
    // fs/ext4 in 7.2.13: extents_status.c splits ext4_es_destroy_stats() out of
    // ext4_es_unregister_shrinker(); super.c calls it.
    let d = TempDir::new("newglobal");
    let head = "struct sbi { long a, b; };\nextern void kfree(void *);\n\
                extern void hidden_kernel_fn(long);\n";
    let es_pre = format!(
        "{head}void unreg(struct sbi *s) {{ hidden_kernel_fn(s->a); hidden_kernel_fn(s->b); }}\n"
    );
    let es_post = format!(
        "{head}void unreg(struct sbi *s) {{ hidden_kernel_fn(s->b); }}\n\
         void destroy_stats(struct sbi *s) {{ hidden_kernel_fn(s->a); }}\n"
    );
    let su_pre = format!(
        "{head}void unreg(struct sbi *);\nvoid put(struct sbi *s) {{ unreg(s); kfree(s); }}\n"
    );
    let su_post = format!(
        "{head}void unreg(struct sbi *);\nvoid destroy_stats(struct sbi *);\n\
         void put(struct sbi *s) {{ unreg(s); destroy_stats(s); kfree(s); }}\n"
    );
    let objs = [
        compile(&d.0, "es_pre", &es_pre, &[]),
        compile(&d.0, "es_post", &es_post, &[]),
        compile(&d.0, "su_pre", &su_pre, &[]),
        compile(&d.0, "su_post", &su_post, &[]),
    ];
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let unit = |name: &str, pre, post| crate::assemble::UnitInput {
        object_name: name.into(),
        module: String::new(),
        pre,
        post,
        targets: TargetSel::Auto,
    };
    let info = crate::assemble::PackInfo {
        name: "test-pack".into(),
        description: "two objects".into(),
        fixes: vec!["ext4: free the stats".into()],
        fixed_in: "7.2.13".into(),
        replace: true,
        on_load: false,
        release: "7.2.12".into(),
        build_id: vec![0xab; 20],
        layout: Default::default(),
        noreturns: Default::default(),
    };
    let out = crate::assemble::assemble_units(
        &info,
        &[
            unit("fs/ext4/extents_status.o", &objs[0], &objs[1]),
            unit("fs/ext4/super.o", &objs[2], &objs[3]),
        ],
        &symvers,
    )
    .unwrap();
    assert!(out
        .report
        .carried_new_functions
        .contains(&"destroy_stats".to_string()));
    // Not for the core to look up in the running kernel, which has no such function.
    let p = reader::parse(
        &out.blob,
        out.report.targets.len() + out.report.fixups.len(),
    )
    .unwrap()
    .pack;
    // What it carries is in the metadata as given.
    assert_eq!(p.fixes, ["ext4: free the stats"]);
    assert_eq!(p.fixed_in, "7.2.13");
    assert_eq!(p.flags, crate::format::FLAG_REPLACE);
    let core: Vec<&str> = p
        .targets
        .iter()
        .flat_map(|t| &t.relocs)
        .chain(p.fixups.iter().flat_map(|f| &f.relocs))
        .map(|r| r.symbol.as_str())
        .collect();
    assert!(!core.contains(&"destroy_stats"), "{core:?}");
    assert!(!out
        .report
        .undefined_symbols
        .contains(&"destroy_stats".to_string()));
    // Linked, the two parts of the pack leave it defined, once.
    let a = d.0.join("a.o");
    let b = d.0.join("b.o");
    std::fs::write(&a, &out.repl_objs[0]).unwrap();
    std::fs::write(&b, &out.repl_objs[1]).unwrap();
    let linked = d.0.join("linked.o");
    let st = Command::new("ld")
        .args(["-r", "-o"])
        .arg(&linked)
        .arg(&a)
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success());
    let l = Obj::parse("linked.o", &std::fs::read(&linked).unwrap()).unwrap();
    let y = l.defined("destroy_stats").unwrap();
    assert!(y.section.is_some() && !y.undefined);
    assert!(!l
        .symbols
        .iter()
        .any(|s| s.undefined && s.name == "destroy_stats"));
}

/// `cmpl $5, b(%rip)`: an immediate follows the displacement, so the relocation says
/// `.data + (b - 5)`. Taking the target as 4 bytes past the addend (the usual rel32 case)
/// lands one byte before `b`, in the object before it: the reference must be named `b`.
#[test]
fn pc_relative_target_counts_from_the_end_of_the_instruction() {
    require_gcc();
    let d = TempDir::new("pcbias");
    let src = "static int a[4] = {1, 2, 3, 4};\n\
               static int b = 7;\n\
               int *pa(void) { return a; }\n\
               void set(int v) { b = v; }\n\
               int f(void) { if (b == 5) return 1; return 0; }\n";
    let o = compile(&d.0, "u", src, &["-fno-data-sections"]);
    let f = o.defined("f").unwrap();
    let relocs = o.sections[f.section.unwrap()].relocs_in(f.value, f.value + f.size);
    let canon: Vec<_> = relocs
        .iter()
        .filter(|r| rtype::is_pc_relative(r.rtype))
        .map(|r| (o.canon(r), r.addend))
        .filter(|(c, _)| c.section.is_some_and(|s| o.sections[s].name == ".data"))
        .collect();
    assert_eq!(canon.len(), 1, "f refers to .data once: {canon:?}");
    let (c, addend) = &canon[0];
    assert!(
        *addend != -4 && *addend != 12,
        "no immediate after the displacement (addend {addend}): the test shows nothing"
    );
    assert_eq!(c.name, "b", "{c:?}");
    assert_eq!(c.addend + c.bias, 0, "{c:?}");
}

/// UBSAN's per-check data (`.data..Lubsan_data*`: file, line, column) left behind by checks
/// the optimizer removed: nothing refers to it and the kernel gathers nothing from it, so a
/// line shift that changes its line is no table change (Debian's kernels set UBSAN).
#[test]
fn orphan_sanitizer_data_is_not_a_table() {
    require_gcc();
    let ubsan = |line: u32| {
        format!(
            "{BASE}\nstruct source_location {{ const char *file; unsigned int line, column; }};\n\
             static struct source_location ld __attribute__((used, \
             section(\".data..Lubsan_data7\"))) = {{ \"kernel/x.c\", {line}, 5 }};\n"
        )
    };
    let post = ubsan(11).replace("hello %d", "hello, %d");
    let out = build("ubsan", &ubsan(10), &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["show_a"]);
}

/// `.fn = h1` becoming `.fn = h2` in an existing object changes none of its bytes, only
/// where a relocation points: still a data change (the live object keeps h1), refused.
#[test]
fn a_changed_pointer_in_existing_data_is_a_data_change() {
    require_gcc();
    let ops = |h: &str| {
        format!(
            "{BASE}\nstatic void h1(int v) {{ hidden_kernel_fn(v); }}\n\
             static void h2(int v) {{ hidden_kernel_fn(v + 1); }}\n\
             struct ops {{ void (*fn)(int); int x; }};\n\
             static struct ops my_ops = {{ .fn = {h}, .x = 1 }};\n\
             struct ops *get_ops(void) {{ return &my_ops; }}\n\
             void (*other(void))(int) {{ return h1 == {h} ? h2 : h1; }}\n"
        )
    };
    let e = data_check("ptr", &ops("h1"), &ops("h2")).unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("my_ops: an existing data object changes"), "{m}");
}

/// A `pr_debug()` below a changed line: its descriptor in `__dyndbg` gets a new line
/// number, which is no data change; a new format string is one.
#[test]
fn a_dynamic_debug_line_number_is_not_a_data_change() {
    require_gcc();
    let dd = |line: u32, fmt: &str| {
        format!(
            "{BASE}\nstruct ddebug {{ const char *modname, *function, *filename, *format; \
             unsigned int lineno:18, class_id:6, flags:8; long key[2]; }} \
             __attribute__((aligned(8)));\n\
             static struct ddebug d1 __attribute__((used, section(\"__dyndbg\"))) = \
             {{ \"m\", \"f\", \"x.c\", \"{fmt}\", {line} }};\n\
             int dd_flags(void) {{ return d1.flags; }}\n"
        )
    };
    data_check("dyndbg", &dd(100, "fmt %d"), &dd(103, "fmt %d")).unwrap();
    let e = data_check("dyndbg-fmt", &dd(100, "fmt %d"), &dd(103, "fmt %u")).unwrap_err();
    assert!(
        format!("{e:#}").contains("d1: an existing data object changes"),
        "{e:#}"
    );
}
/// A `pr_debug()` kept in a changed function and a new one beside it (`CONFIG_DYNAMIC_DEBUG`):
/// the kept descriptor is the running kernel's (which the admin may have turned on), the new
/// one the pack's, and what the new one names that the running kernel has only for data
/// (the function's name, `__func__`) is carried: constant characters, whose copy reads the
/// same. Before, the pack was refused (nothing run-pre matching reads refers to `__func__`).
#[test]
fn a_kept_pr_debug_is_the_live_descriptor_and_a_new_one_is_carried() {
    require_gcc();
    let src = |new: &str, call: &str| {
        format!(
            "struct ddebug {{ const char *modname, *function, *filename, *format; \
             unsigned int lineno:18, class_id:6, flags:8; long key[2]; }} \
             __attribute__((aligned(8)));\n\
             extern void __dynamic_pr_debug(struct ddebug *d, const char *fmt, ...);\n\
             int debug_show(int n) {{\n\
             static struct ddebug __UNIQUE_ID_ddebug10 __attribute__((used, \
             section(\"__dyndbg\"))) = {{ \"m\", __func__, \"x.c\", \"read %d\", 100 }};\n\
             {new}\n\
             if (__UNIQUE_ID_ddebug10.flags) __dynamic_pr_debug(&__UNIQUE_ID_ddebug10, \"read %d\", n);\n\
             {call}\n\
             return n + 1; }}\n"
        )
    };
    let pre = src("", "");
    let post = src(
        "static struct ddebug __UNIQUE_ID_ddebug11 __attribute__((used, \
         section(\"__dyndbg\"))) = { \"m\", __func__, \"x.c\", \"read %d is odd\", 102 };",
        "if (__UNIQUE_ID_ddebug11.flags) __dynamic_pr_debug(&__UNIQUE_ID_ddebug11, \"read %d is odd\", n);",
    );
    let out = build("ddebug", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["debug_show"]);
    let p = parsed(&out);
    let t = &p.targets[0];
    assert!(
        t.relocs
            .iter()
            .any(|r| r.symbol.starts_with("__UNIQUE_ID_ddebug10.") && r.local),
        "the kept descriptor is not the running kernel's: {:?} (carried: {:?})",
        t.relocs
            .iter()
            .map(|r| (&r.symbol, r.local))
            .collect::<Vec<_>>(),
        out.report.carried_data
    );
    let carried = |name: &str| out.report.carried_data.iter().any(|d| d.starts_with(name));
    assert!(
        !carried("__UNIQUE_ID_ddebug10"),
        "{:?}",
        out.report.carried_data
    );
    assert!(
        carried("__UNIQUE_ID_ddebug11"),
        "{:?}",
        out.report.carried_data
    );
    assert!(carried("__func__"), "{:?}", out.report.carried_data);
}

/// FORTIFY_SOURCE's message names the file and line (`"... at kernel/x.c:1134"`): a line
/// removed above it shifts the number, and that alone makes no target.
#[test]
fn a_shifted_line_number_in_a_message_is_no_change() {
    require_gcc();
    let src = |line: u32| {
        format!(
            "{BASE}\nint warn_here(int v) {{ if (v > 9) \
             return seq_printf(0, \"field spanning at kernel/x.c:{line}\\n\"); return v; }}\n"
        )
    };
    let post = src(1133).replace("hello %d", "hello, %d");
    let out = build("line", &src(1134), &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["show_a"]);
    // Another message is a change.
    let post = src(1134).replace("field spanning", "field overflow");
    let out = build("line-text", &src(1134), &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["warn_here"]);
}

#[test]
fn the_assembled_replacement_is_compared_with_the_compiled_fix() {
    require_gcc();
    // A call the core resolves (hidden_kernel_fn), a static it finds by matching (counter),
    // an exported call and a carried string: as the core will resolve them, the assembled
    // code is the post object's.
    let post_src = BASE.replace("counter++;", "counter += hidden_kernel_fn(2);");
    let d = TempDir::new("assembled");
    let pre = compile(&d.0, "pre", BASE, &[]);
    let post = compile(&d.0, "post", &post_src, &[]);
    let symvers = Symvers::parse("Module.symvers", SYMVERS).unwrap();
    let out = assemble(&opts(TargetSel::Auto), &pre, &post, &symvers).unwrap();
    let p = parsed(&out);
    let t = &out.report.targets[0];
    assert_eq!(t.function, "show_a");
    let same = |relocs: &[crate::format::Reloc]| {
        let r =
            crate::equiv::resolved_as_the_core_will(&repl(&out), &t.replacement, relocs).unwrap();
        crate::equiv::difference(
            &r,
            r.defined("show_a").unwrap(),
            &post,
            post.defined("show_a").unwrap(),
            &Default::default(),
        )
        .unwrap()
    };
    assert_eq!(same(&p.targets[0].relocs), None);
    // Metadata that would make the core resolve a place elsewhere is a difference.
    let mut wrong = p.targets[0].relocs.clone();
    let k = wrong
        .iter()
        .position(|r| r.symbol == "counter")
        .expect("counter is resolved by the core");
    wrong[k].addend += 4;
    assert!(
        same(&wrong).is_some_and(|d| d.contains("counter")),
        "{:?}",
        same(&wrong)
    );
    let mut wrong = p.targets[0].relocs.clone();
    let k = wrong
        .iter()
        .position(|r| r.symbol == "hidden_kernel_fn")
        .unwrap();
    wrong[k].symbol = "another_fn".into();
    assert!(
        same(&wrong).is_some(),
        "a call resolved to another function"
    );
    // A place the metadata leaves out points at the trap: a difference too.
    let mut wrong = p.targets[0].relocs.clone();
    wrong.remove(k);
    assert!(same(&wrong).is_some(), "a core place left at its trap");
}

/// The type-layout policy on two sources compiled with `-g`
/// ([`crate::policy::types::refuse_layout_changes`]).
fn types_check(tag: &str, pre: &str, post: &str) -> Result<()> {
    require_gcc();
    let d = TempDir::new(tag);
    let pre = compile(&d.0, "pre", pre, &["-g"]);
    let post = compile(&d.0, "post", post, &["-g"]);
    crate::policy::types::refuse_layout_changes(&pre, &post)
}

const TYPES: &str = r#"
#define SLOTS 4
typedef struct { int a; long b; } pair_t;
struct box { int slots[SLOTS]; pair_t p; };
struct __attribute__((aligned(8))) tag { char c; };
enum state { IDLE, BUSY, NR_STATES };
pair_t *get_pair(struct box *x) { return &x->p; }
int first_slot(struct box *x, struct tag *t, enum state s) { return x->slots[0] + t->c + s; }
"#;

/// An anonymous struct known by its typedef: the source check, which reads named
/// definitions, does not see it change.
#[test]
fn a_typedef_struct_that_changes_layout_is_refused() {
    let post = TYPES.replace(
        "typedef struct { int a; long b; }",
        "typedef struct { long a; long b; }",
    );
    let e = types_check("types-typedef", TYPES, &post).unwrap_err();
    let m = format!("{e:#}");
    assert!(m.contains("typedef pair_t changes layout"), "{m}");
    assert!(m.contains("member a@0:0 int becomes a@0:0 long int"), "{m}");
}

/// An array whose size a macro sets: the definition's text is the same before and after.
#[test]
fn an_array_sized_by_a_macro_that_grows_is_refused() {
    let post = TYPES.replace("#define SLOTS 4", "#define SLOTS 8");
    let e = types_check("types-macro", TYPES, &post).unwrap_err();
    let m = format!("{e:#}");
    assert!(
        m.contains("struct box changes layout (its size changes from 32 to 48 bytes"),
        "{m}"
    );
}

#[test]
fn an_alignment_from_an_attribute_that_changes_is_refused() {
    let post = TYPES.replace("aligned(8)", "aligned(16)");
    let e = types_check("types-align", TYPES, &post).unwrap_err();
    assert!(
        format!("{e:#}").contains("struct tag changes layout"),
        "{e:#}"
    );
}

/// Code changes, a new type, and a new enumerator (a change of values, not of layout) are
/// not refused; nor is anything without DWARF.
#[test]
fn code_new_types_and_enumerators_keep_the_layouts() -> Result<()> {
    let code = TYPES.replace("x->slots[0] + t->c", "x->slots[1] + t->c");
    types_check("types-code", TYPES, &code)?;
    let added = format!(
        "{TYPES}struct fresh {{ int z; }};\nint use_fresh(struct fresh *f) {{ return f->z; }}\n"
    );
    types_check("types-new", TYPES, &added)?;
    let enumerator = TYPES.replace("BUSY, NR_STATES", "BUSY, STOPPED, NR_STATES");
    types_check("types-enum", TYPES, &enumerator)?;
    let d = TempDir::new("types-nodwarf");
    let pre = compile(&d.0, "pre", TYPES, &[]);
    let post = compile(
        &d.0,
        "post",
        &TYPES.replace("#define SLOTS 4", "#define SLOTS 8"),
        &[],
    );
    assert!(crate::policy::types::layouts(&pre)?.is_empty());
    crate::policy::types::refuse_layout_changes(&pre, &post)
}

/// A static call trampoline (`__SCT__*` in `.static_call.text`, as DEFINE_STATIC_CALL and
/// every tracepoint of a CREATE_TRACE_POINTS object make) is rewritten by the kernel whenever
/// the call's target changes (one probe on a tracepoint: a running tracer's sched_wakeup
/// probe, say): its live jump says nothing of the function it jumped to when it was built,
/// so it is not part of run-pre matching. Matched, it taught the core a wrong address for
/// `__traceiter_sched_wakeup`, and every pack of kernel/sched/core.o was `no_match` while
/// a tracer ran.
#[test]
fn static_call_trampolines_are_left_out_of_run_pre_matching() {
    require_gcc();
    let sct = "int sct_target(int x) { return x + 7; }\n\
        asm(\".pushsection .static_call.text, \\\"ax\\\"\\n.align 4\\n\
        .globl __SCT__demo\\n.type __SCT__demo, @function\\n__SCT__demo:\\n\
        jmp sct_target\\nint3\\nint3\\nint3\\n.size __SCT__demo, 8\\n.popsection\\n\");\n";
    let pre = format!("{BASE}{sct}");
    let post = pre.replace("counter++;", "counter += 2;");
    let out = build("sct", &pre, &post, TargetSel::Auto, &[]).unwrap();
    let p = parsed(&out);
    let names: Vec<&str> = p.objects[0]
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(names.contains(&"sct_target"), "{names:?}");
    assert!(!names.contains(&"__SCT__demo"), "{names:?}");
}

/// `static_cpu_has()` jumps, until alternatives patch it, to a test in `.altinstr_aux` that
/// jumps back into its function: one such stub per use, all of a file's in one section.
/// Carried whole, the section would bring the other functions' stubs, and through their
/// jumps back, copies of those functions. Only the stubs of the carried code go with it.
#[test]
fn only_the_altinstr_aux_stubs_of_the_carried_code_are_carried() {
    require_gcc();
    let src = |body_f: &str| {
        format!(
            "extern unsigned char cpu_caps[64];\n\
             extern int hidden_kernel_fn(int);\n\
             static inline __attribute__((always_inline)) int has(void) {{\n\
             \tasm goto(\"jmp 6f\\n\"\n\
             \t\t\".pushsection .altinstr_aux,\\\"ax\\\"\\n\"\n\
             \t\t\"6: testb $8, cpu_caps+5(%%rip)\\n\"\n\
             \t\t\"jnz %l[yes]\\n\"\n\
             \t\t\"jmp %l[no]\\n\"\n\
             \t\t\".popsection\\n\" : : : : yes, no);\n\
             yes:\treturn 1;\n\
             no:\treturn 0;\n\
             }}\n\
             int other(int v) {{ return has() ? hidden_kernel_fn(v) : v; }}\n\
             int f(int v) {{ {body_f} }}\n"
        )
    };
    let pre = src("return has() ? v + 1 : v;");
    let post = src("return has() ? v + 2 : v;");
    let out = build("altinstr-aux", &pre, &post, TargetSel::Auto, &[]).unwrap();
    assert_eq!(target_names(&out), ["f"]);
    let r = repl(&out);
    assert!(
        r.defined("other").is_none()
            && !out
                .report
                .carried_sections
                .iter()
                .any(|s| s.contains("other")),
        "other() was carried: {:?}",
        out.report.carried_sections
    );
    let aux = r
        .section_by_name(".altinstr_aux")
        .expect("f's stub in repl.o");
    // One stub: testb (7 bytes), jnz (6), jmp (5).
    assert_eq!(aux.data.len(), 18, "{:?}", out.report.carried_sections);
}
