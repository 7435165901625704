// SPDX-License-Identifier: GPL-2.0

//! Equivalence to a rebuild: every replacement against the same function compiled by an
//! ordinary build of the patched file.
//!
//! `splice-create` compiles with `-ffunction-sections -fdata-sections` and with the patched
//! files laid over the tree, so that it can tell functions apart and carry them one by one.
//! The code a pack carries must still be the code an ordinary build of the fixed kernel
//! runs: anything else is a generator bug, and the admin would believe the machine fixed.
//! This pass compiles each changed object once more with the command Kbuild recorded, as it
//! is, and compares each target with the function of that name there, relocation-aware, as
//! run-pre matching compares pre code with the running kernel:
//!
//! * the sizes and every byte outside the places that refer elsewhere are equal;
//! * each place refers to the same thing on both sides: a symbol by name at the same
//!   offset into it (a section-relative relocation or a branch the assembler resolved
//!   within one section is named by the function or object it lands in, the instruction
//!   decoded to find where it ends), a literal of a mergeable section by its content.
//!
//! Data and code that are not in the function (a static the function reads, a string) are
//! compared by what names them, not by content: their content is the data-change passes'
//! concern.

use std::collections::BTreeMap;

use anyhow::Result;
use iced_x86::{Decoder, DecoderOptions, OpKind};
use serde::Serialize;

use crate::elf::{Obj, Rel, Sym};
use crate::format::rtype;

/// What a place of a function refers to, named the same way in both builds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ref {
    /// A symbol, by name, and the offset into it the instruction lands at (for a
    /// PC-relative place, counted from the end of its instruction).
    Symbol {
        name: String,
        local: bool,
        offset: i64,
    },
    /// Where a section-relative place lands on objects that share an address (objects of
    /// size zero, such as lockdep's keys without lockdep): any of them.
    AnyOf { names: Vec<String>, offset: i64 },
    /// A literal of a mergeable section, by content.
    Literal(Vec<u8>),
    /// Data no symbol covers, by the family of its section (`.rodata`, `.data`, ...).
    Anonymous { family: String },
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Symbol { name, offset, .. } if *offset == 0 => write!(f, "{name}"),
            Ref::Symbol { name, offset, .. } => write!(f, "{name}{offset:+}"),
            Ref::AnyOf { names, offset } => write!(f, "{}{offset:+}", names.join(" or ")),
            Ref::Literal(b) => write!(f, "literal {:?}", String::from_utf8_lossy(b)),
            Ref::Anonymous { family } => write!(f, "anonymous {family} data"),
        }
    }
}

/// One place: how wide it is, and what it refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    width: u64,
    pc_relative: bool,
    to: Ref,
}

/// The verdict for one target.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// The object, by its path in the tree.
    pub object: String,
    pub function: String,
    /// `None` when the replacement is the rebuild's function; otherwise the first
    /// difference.
    pub difference: Option<String>,
}

/// The family of a section name: `.rodata.foo` and `.rodata` are both `.rodata`.
fn family(name: &str) -> String {
    let rest = name.strip_prefix('.').unwrap_or(name);
    let head = rest.split('.').next().unwrap_or(rest);
    format!(".{head}")
}

/// What lands at offset `t` of section `si` of `obj`: the symbol that covers it, or the
/// symbols that all start there.
fn covering(obj: &Obj, si: usize, t: i64) -> Option<Ref> {
    let at: Vec<&Sym> = obj
        .section_symbols(si)
        .iter()
        .map(|&i| &obj.symbols[i])
        .filter(|y| {
            let v = y.value as i64;
            t >= v && (t < v + y.size as i64 || (y.size == 0 && t == v))
        })
        .collect();
    match at.as_slice() {
        [] => None,
        [y] => Some(Ref::Symbol {
            name: y.name.clone(),
            local: !y.global,
            offset: t - y.value as i64,
        }),
        many => Some(Ref::AnyOf {
            names: many.iter().map(|y| y.name.clone()).collect(),
            offset: t - many[0].value as i64,
        }),
    }
}

/// Whether `a` (the generator's build) and `b` (the rebuild) refer to the same thing.
fn same_ref(a: &Ref, b: &Ref) -> bool {
    let names = |r: &Ref| -> Option<(Vec<String>, i64)> {
        match r {
            Ref::Symbol { name, offset, .. } => Some((vec![name.clone()], *offset)),
            Ref::AnyOf { names, offset } => Some((names.clone(), *offset)),
            _ => None,
        }
    };
    match (a, b) {
        (Ref::Symbol { local: x, .. }, Ref::Symbol { local: y, .. }) if x != y => false,
        (Ref::Anonymous { .. }, Ref::Anonymous { .. }) => true,
        _ => match (names(a), names(b)) {
            (Some((na, oa)), Some((nb, ob))) => oa == ob && na.iter().any(|n| nb.contains(n)),
            _ => a == b,
        },
    }
}

/// What `r` refers to; `tail` is the distance from its place to the end of its
/// instruction (PC-relative places count from there).
fn reference(obj: &Obj, r: &Rel, tail: u64) -> Ref {
    let s = &obj.symbols[r.sym];
    let pc = rtype::is_pc_relative(r.rtype);
    let extra = if pc { tail as i64 } else { 0 };
    let Some(si) = s.section.filter(|&i| i < obj.sections.len()) else {
        return Ref::Symbol {
            name: s.name.clone(),
            local: false,
            offset: r.addend + extra,
        };
    };
    let sec = &obj.sections[si];
    let t = (s.value as i64).wrapping_add(r.addend).wrapping_add(extra);
    if sec.is_mergeable() {
        let at = usize::try_from(t).ok().and_then(|o| sec.data.get(o..));
        let lit = match at {
            Some(rest) if sec.is_strings() => {
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                rest[..end].to_vec()
            }
            Some(rest) => rest[..rest.len().min((sec.entsize as usize).max(1))].to_vec(),
            None => Vec::new(),
        };
        return Ref::Literal(lit);
    }
    if !s.is_section() {
        return Ref::Symbol {
            name: s.name.clone(),
            local: !s.global,
            offset: t - s.value as i64,
        };
    }
    covering(obj, si, t).unwrap_or_else(|| Ref::Anonymous {
        family: family(&sec.name),
    })
}

/// The places of function `f` of `obj`, by offset into `f`: its relocations, and the
/// branches out of it that the assembler resolved within its section.
fn places(obj: &Obj, f: &Sym) -> Result<BTreeMap<u64, Place>> {
    let si = f.section.unwrap_or(0);
    let sec = &obj.sections[si];
    let code = obj.symbol_bytes(f)?;
    let relocs = sec.relocs_in(f.value, f.value + f.size);
    let mut out = BTreeMap::new();
    let mut d = Decoder::with_ip(64, &code, f.value, DecoderOptions::NONE);
    let mut next = relocs.iter().peekable();
    while d.can_decode() {
        let insn = d.decode();
        let end = insn.next_ip();
        let mut had = false;
        while let Some(r) = next.next_if(|r| r.offset < end) {
            had = true;
            let width = rtype::width(r.rtype).unwrap_or(8) as u64;
            out.insert(
                r.offset - f.value,
                Place {
                    width,
                    pc_relative: rtype::is_pc_relative(r.rtype),
                    to: reference(obj, r, end.saturating_sub(r.offset)),
                },
            );
        }
        if had || insn.is_invalid() {
            continue;
        }
        // A rel32 branch out of the function that the assembler resolved itself.
        let branch = matches!(insn.op0_kind(), OpKind::NearBranch64 | OpKind::NearBranch32);
        let target = insn.near_branch_target();
        if branch && insn.len() >= 5 && (target < f.value || target >= f.value + f.size) {
            let to = covering(obj, si, target as i64).unwrap_or_else(|| Ref::Anonymous {
                family: family(&sec.name),
            });
            out.insert(
                end - 4 - f.value,
                Place {
                    width: 4,
                    pc_relative: true,
                    to,
                },
            );
        }
    }
    Ok(out)
}

/// The first difference between function `a` of `built` (the generator's build) and `b`
/// of `rebuilt` (the ordinary one), or `None` if they are the same code.
pub fn difference(built: &Obj, a: &Sym, rebuilt: &Obj, b: &Sym) -> Result<Option<String>> {
    if a.size != b.size {
        return Ok(Some(format!("{} bytes, the rebuild's {}", a.size, b.size)));
    }
    let (pa, pb) = (places(built, a)?, places(rebuilt, b)?);
    let mut mask = vec![false; a.size as usize];
    for (off, p) in &pa {
        match pb.get(off) {
            None => {
                return Ok(Some(format!(
                    "+{off:#x} refers to {} where the rebuild has none",
                    p.to
                )))
            }
            Some(q) if q.width != p.width || q.pc_relative != p.pc_relative => {
                return Ok(Some(format!(
                    "+{off:#x}: a {}-byte place, the rebuild's is {} bytes",
                    p.width, q.width
                )))
            }
            Some(q) if !same_ref(&p.to, &q.to) => {
                return Ok(Some(format!(
                    "+{off:#x} refers to {}, the rebuild's to {}",
                    p.to, q.to
                )))
            }
            Some(_) => {}
        }
        for m in mask.iter_mut().skip(*off as usize).take(p.width as usize) {
            *m = true;
        }
    }
    if let Some((off, q)) = pb.iter().find(|(off, _)| !pa.contains_key(off)) {
        return Ok(Some(format!(
            "+{off:#x}: the rebuild refers to {} where the replacement has no place",
            q.to
        )));
    }
    let (ca, cb) = (built.symbol_bytes(a)?, rebuilt.symbol_bytes(b)?);
    let first = ca
        .iter()
        .zip(&cb)
        .zip(&mask)
        .position(|((x, y), &m)| !m && x != y);
    Ok(first.map(|i| format!("+{i:#x}: byte {:#04x}, the rebuild's {:#04x}", ca[i], cb[i])))
}

/// The verdicts for `functions` of `built` (named by `object`) against `rebuilt`; a
/// `.cold` part of a function is compared with it.
pub fn verdicts(
    object: &str,
    built: &Obj,
    rebuilt: &Obj,
    functions: &[String],
) -> Result<Vec<Verdict>> {
    let mut out = Vec::new();
    for name in functions {
        let mut parts = vec![name.clone()];
        if built.defined(&format!("{name}.cold")).is_some() {
            parts.push(format!("{name}.cold"));
        }
        let mut diff = None;
        for part in &parts {
            let (Some(a), Some(b)) = (built.defined(part), rebuilt.defined(part)) else {
                diff = Some(format!("{part}: not in the rebuild"));
                break;
            };
            if let Some(d) = difference(built, a, rebuilt, b)? {
                diff = Some(if part == name {
                    d
                } else {
                    format!("{part}: {d}")
                });
                break;
            }
        }
        out.push(Verdict {
            object: object.to_owned(),
            function: name.clone(),
            difference: diff,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::KERNEL_LIKE_CFLAGS;
    use std::process::Command;

    /// `src` compiled with the kernel-like flags, with (the generator's build) or without
    /// (an ordinary build) function and data sections.
    fn compile(tag: &str, src: &str, sections: bool) -> Obj {
        let d = std::env::temp_dir().join(format!("splice-equiv-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let (c, o) = (d.join("u.c"), d.join("u.o"));
        std::fs::write(&c, src).unwrap();
        let flags = KERNEL_LIKE_CFLAGS
            .iter()
            .filter(|f| sections || !f.ends_with("-sections"));
        let out = Command::new("gcc")
            .args(flags)
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

    /// Calls to a static function (a relocation in one build, resolved by the assembler in
    /// the other), a static compared with an immediate (the displacement is not the end of
    /// its instruction), a string and an exported function.
    const SRC: &str = r#"
extern int printk(const char *fmt, ...);
static int limit = 3;
static int other_limit = 3;
static int counter;
void set_limits(int v) { limit = v; other_limit = v + 1; }
static __attribute__((noinline)) int helper(int x) { return x * 7 + counter; }
int show(int v)
{
	if (counter == 10)
		return printk("ten %d\n", v);
	counter += helper(v);
	return helper(counter) > limit;
}
"#;

    fn verdict(built: &Obj, rebuilt: &Obj) -> Option<String> {
        let v = verdicts("u.o", built, rebuilt, &["show".to_owned()]).unwrap();
        v[0].difference.clone()
    }

    #[test]
    fn a_function_is_the_same_as_in_an_ordinary_build() {
        let built = compile("same-a", SRC, true);
        let rebuilt = compile("same-b", SRC, false);
        // The assembler resolved the call to helper() in the ordinary build.
        let s = rebuilt.defined("show").unwrap();
        let text = &rebuilt.sections[s.section.unwrap()];
        assert!(text
            .relocs_in(s.value, s.value + s.size)
            .iter()
            .all(|r| rebuilt.symbols[r.sym].name != "helper"));
        assert_eq!(verdict(&built, &rebuilt), None);
    }

    #[test]
    fn a_different_constant_is_a_difference() {
        let built = compile("const-a", SRC, true);
        let rebuilt = compile(
            "const-b",
            &SRC.replace("counter == 10", "counter == 11"),
            false,
        );
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("byte"), "{d}");
    }

    #[test]
    fn a_different_static_is_a_difference() {
        let built = compile("static-a", SRC, true);
        let rebuilt = compile("static-b", &SRC.replace("> limit", "> other_limit"), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(
            d.contains("refers to limit, the rebuild's to other_limit"),
            "{d}"
        );
    }

    #[test]
    fn a_different_string_is_a_difference() {
        let built = compile("string-a", SRC, true);
        let rebuilt = compile("string-b", &SRC.replace("ten %d", "TEN %d"), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("TEN"), "{d}");
    }

    #[test]
    fn a_function_missing_from_the_rebuild_is_named() {
        let built = compile("missing-a", SRC, true);
        let rebuilt = compile("missing-b", &SRC.replace("int show(", "int shown("), false);
        let d = verdict(&built, &rebuilt).expect("a difference");
        assert!(d.contains("show: not in the rebuild"), "{d}");
    }
}
