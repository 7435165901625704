// SPDX-License-Identifier: GPL-2.0

//! The compare pass: which functions and objects differ between the pre and the post
//! object, relocation-aware (targets compared by what they are, literals by content).

/// Whether two relocation targets are the same, comparing the referenced bytes for
/// mergeable sections (strings, constants) and the contents of read-only data objects.
use anyhow::{bail, Result};
use object::elf;

use crate::elf::{Canon, Obj, Rel, Sym};
use crate::names::{cold_parent, correlation_stem};
use crate::x86::{intra_section_branches, width};

fn same_target(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Result<bool> {
    // Literals by content: the compiler puts a string shared by several functions in the
    // section of one of them, which may be another one after the patch.
    if let Some(same) = same_literal(pre, a, post, b) {
        return Ok(same);
    }
    if let Some(same) = same_sanitizer_data(pre, a, post, b)? {
        return Ok(same);
    }
    if let Some(same) = same_rust_constant(pre, a, post, b, 0)? {
        return Ok(same);
    }
    if a.name != b.name || a.local != b.local {
        return Ok(false);
    }
    if a.addend != b.addend {
        return Ok(false);
    }
    Ok(!rodata_changed(pre, post, &a.name)?)
}

/// For two targets in UBSAN's per-check data (`.data..Lubsan_data12`, `.data..Lubsan_type3`:
/// a check's file, line, column and type), whether they hold the same: the compiler numbers
/// them in the order of the checks in the file, so a check the patch adds above renumbers
/// those below. `None` if either target is not such data.
fn same_sanitizer_data(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Result<Option<bool>> {
    let data = |o: &'_ Obj, c: &Canon| {
        c.section
            .and_then(|i| o.sections.get(i))
            .filter(|s| s.name.contains("..Lubsan_"))
            .cloned()
    };
    let (Some(x), Some(y)) = (data(pre, a), data(post, b)) else {
        return Ok(None);
    };
    if a.sec_offset != b.sec_offset || x.data != y.data || x.relocs.len() != y.relocs.len() {
        return Ok(Some(false));
    }
    for (r, q) in x.relocs.iter().zip(&y.relocs) {
        if r.offset != q.offset
            || r.rtype != q.rtype
            || !same_target(pre, &pre.canon(r), post, &post.canon(q))?
        {
            return Ok(Some(false));
        }
    }
    Ok(Some(true))
}

/// The section of `c` if it is one of rustc's anonymous constants (`.rodata..Lanon.<crate
/// hash>.<n>`: panic locations, the bytes of string slices, vtables).
fn rust_constant<'o>(o: &'o Obj, c: &Canon) -> Option<&'o crate::elf::Sec> {
    c.section
        .and_then(|i| o.sections.get(i))
        .filter(|s| s.name.contains("..Lanon."))
}

/// Whether the constant `s` is a panic location, `core::panic::Location`: the file name (a
/// pointer to bytes ending in `.rs`, in the strings or another constant, and its length),
/// then line and column, 24 bytes.
fn is_panic_location(o: &Obj, s: &crate::elf::Sec) -> bool {
    let [r] = s.relocs.as_slice() else {
        return false;
    };
    if s.data.len() != 24 || r.offset != 0 {
        return false;
    }
    let len = s.data[8..16]
        .try_into()
        .map(u64::from_le_bytes)
        .unwrap_or(0) as usize;
    let c = o.canon(r);
    let Some(name) = c.section.and_then(|i| o.sections.get(i)) else {
        return false;
    };
    let at = c.sec_offset.max(0) as usize;
    name.data
        .get(at..at + len)
        .is_some_and(|f| f.ends_with(b".rs"))
}

/// For two targets among rustc's anonymous constants, whether they hold the same: rustc
/// numbers them in the order it makes them, so a constant the patch adds renumbers those
/// after it, and they are compared by contents (what they point at likewise, a few levels
/// deep). A panic location is the same whatever its line, which a line the patch added
/// above moves (Rust has no `#line`; C's file:line strings are read the same way,
/// [`without_line_numbers`]). `None` if either target is not such a constant.
fn same_rust_constant(
    pre: &Obj,
    a: &Canon,
    post: &Obj,
    b: &Canon,
    depth: u32,
) -> Result<Option<bool>> {
    let (Some(x), Some(y)) = (rust_constant(pre, a), rust_constant(post, b)) else {
        return Ok(None);
    };
    if a.sec_offset != b.sec_offset
        || x.data.len() != y.data.len()
        || x.relocs.len() != y.relocs.len()
    {
        return Ok(Some(false));
    }
    if depth > 4 {
        return Ok(Some(x.data == y.data));
    }
    let mut mask = vec![false; x.data.len()];
    if is_panic_location(pre, x) && is_panic_location(post, y) {
        mask[16..20].fill(true);
    }
    for (r, q) in x.relocs.iter().zip(&y.relocs) {
        if r.offset != q.offset || r.rtype != q.rtype {
            return Ok(Some(false));
        }
        let (cr, cq) = (pre.canon(r), post.canon(q));
        let same = match same_rust_constant(pre, &cr, post, &cq, depth + 1)? {
            Some(same) => same,
            None => same_target(pre, &cr, post, &cq)?,
        };
        if !same {
            return Ok(Some(false));
        }
        let end = (r.offset + width(r.rtype)).min(x.data.len() as u64);
        mask[r.offset as usize..end as usize].fill(true);
    }
    Ok(Some(
        x.data
            .iter()
            .zip(&y.data)
            .zip(&mask)
            .all(|((p, q), &m)| m || p == q),
    ))
}

/// For two targets in mergeable sections (strings, constants), whether they hold the same
/// literal: the compiler places literals by content, so a patch may move them. `None` if
/// either target is not a literal.
fn same_literal(pre: &Obj, a: &Canon, post: &Obj, b: &Canon) -> Option<bool> {
    let merged = |o: &Obj, c: &Canon| c.section.is_some_and(|s| o.sections[s].is_mergeable());
    (merged(pre, a) && merged(post, b)).then(|| {
        let (x, y) = (pre.merged_value(a), post.merged_value(b));
        x == y
            || x.zip(y).is_some_and(|((x, i), (y, j))| {
                i == j && without_line_numbers(&x) == without_line_numbers(&y)
            })
    })
}

/// A literal with the line number after each source file name (`kernel/x.c:1134`, as
/// FORTIFY_SOURCE's and BUG()'s messages have it) left out: a line the patch added or
/// removed above moves them, and a function whose only change is that is not a target.
fn without_line_numbers(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        out.push(s[i]);
        let after_name = [".c:", ".h:", ".rs:", ".S:"]
            .iter()
            .find(|e| s[..=i].ends_with(&e.as_bytes()[..e.len()]));
        if after_name.is_some() {
            while s.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        i += 1;
    }
    out
}

/// Whether `name` is a read-only data object in both objects whose contents differ.
pub fn rodata_changed(pre: &Obj, post: &Obj, name: &str) -> Result<bool> {
    let (Some(a), Some(b)) = (pre.defined(name), post.defined(name)) else {
        return Ok(false);
    };
    let ro = |o: &Obj, s: &Sym| {
        s.is_object()
            && s.section
                .is_some_and(|i| !o.sections[i].is_write() && !o.sections[i].is_exec())
    };
    if !ro(pre, a) || !ro(post, b) {
        return Ok(false);
    }
    if a.size != b.size || pre.symbol_bytes(a)? != post.symbol_bytes(b)? {
        return Ok(true);
    }
    let ra = pre.sections[a.section.unwrap_or(0)].relocs_in(a.value, a.value + a.size);
    let rb = post.sections[b.section.unwrap_or(0)].relocs_in(b.value, b.value + b.size);
    if ra.len() != rb.len() {
        return Ok(true);
    }
    for (x, y) in ra.iter().zip(rb) {
        let (cx, cy) = (pre.canon(x), post.canon(y));
        if x.offset - a.value != y.offset - b.value || x.rtype != y.rtype {
            return Ok(true);
        }
        // A table of strings points into the merged string section, where a string the
        // patch adds elsewhere moves the others: strings are compared by content.
        let same = same_literal(pre, &cx, post, &cy)
            .unwrap_or(cx.name == cy.name && cx.addend == cy.addend);
        if !same {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Relocation-aware comparison of a pre and a post function.
pub fn same_function(pre: &Obj, a: &Sym, post: &Obj, b: &Sym) -> Result<bool> {
    if a.size != b.size {
        return Ok(false);
    }
    let (ca, cb) = (pre.symbol_bytes(a)?, post.symbol_bytes(b)?);
    // Calls to functions of the same section are compared by the function called.
    let (ba, bb) = (
        intra_section_branches(pre, a)?,
        intra_section_branches(post, b)?,
    );
    if ba.len() != bb.len()
        || ba
            .iter()
            .zip(&bb)
            .any(|(x, y)| x.0 - a.value != y.0 - b.value || x.1 != y.1 || x.2 != y.2)
    {
        return Ok(false);
    }
    let mut branch_mask = vec![false; ca.len()];
    for (place, _, _) in &ba {
        let off = (place - a.value) as usize;
        for m in branch_mask.iter_mut().skip(off).take(4) {
            *m = true;
        }
    }
    let ra = pre.sections[a.section.unwrap_or(0)].relocs_in(a.value, a.value + a.size);
    let rb = post.sections[b.section.unwrap_or(0)].relocs_in(b.value, b.value + b.size);
    if ra.len() != rb.len() {
        return Ok(false);
    }
    let mut mask = vec![false; ca.len()];
    for (x, y) in ra.iter().zip(rb) {
        let off = x.offset - a.value;
        if off != y.offset - b.value || x.rtype != y.rtype {
            return Ok(false);
        }
        if !same_target(pre, &pre.canon(x), post, &post.canon(y))? {
            return Ok(false);
        }
        for i in off..(off + width(x.rtype)).min(a.size) {
            mask[i as usize] = true;
        }
    }
    Ok(ca
        .iter()
        .zip(&cb)
        .zip(mask.iter().zip(&branch_mask))
        .all(|((p, q), (&m, &n))| m || n || p == q))
}

/// The functions whose compiled code differs between `pre` and `post`, by name, in `pre`'s
/// order; a `.cold` part counts for its function. Fails, naming it, for a changed part
/// whose function is not in both objects. Whether splice may change them is the policy's
/// ([`crate::policy::code::refuse_unpatchable`]).
pub fn changed_functions(pre: &Obj, post: &Obj) -> Result<Vec<String>> {
    let pre_funcs = pre.functions();
    let post_funcs = post.functions_by_name();
    let mut out: Vec<String> = Vec::new();
    for f in &pre_funcs {
        let Some(q) = post_funcs.get(f.name.as_str()) else {
            continue;
        };
        if same_function(pre, f, post, q)? {
            continue;
        }
        let name = cold_parent(&f.name).to_owned();
        if pre.defined(&name).is_none() || !post_funcs.contains_key(name.as_str()) {
            bail!(
                "{}: {}: changed, but its function {name} is not in both objects",
                post.path,
                f.name
            );
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The `__init` and `__exit` functions of `post` whose code is not that of the function of
/// the same name in `pre` (or that `pre` does not have).
pub fn changed_init_functions(pre: &Obj, post: &Obj) -> Result<Vec<String>> {
    let init_funcs = |o: &Obj| -> Vec<(String, usize)> {
        o.symbols
            .iter()
            .filter(|s| s.is_func() && s.size > 0)
            .filter(|s| {
                s.section
                    .and_then(|i| o.sections.get(i))
                    .is_some_and(|sec| sec.is_exec() && sec.is_init_or_exit())
            })
            .map(|s| (s.name.clone(), s.index))
            .collect()
    };
    let (pi, qi) = (init_funcs(pre), init_funcs(post));
    let mut out = Vec::new();
    for (name, q) in &qi {
        let same = match pi.iter().find(|(n, _)| n == name) {
            Some((_, p)) => same_function(pre, &pre.symbols[*p], post, &post.symbols[*q])?,
            None => false,
        };
        if !same {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// The section of dynamic debug's descriptors (`struct _ddebug`, one per `pr_debug()`).
const DYNDBG: &str = "__dyndbg";

/// Where `struct _ddebug` keeps its line number: the 18 low bits (`lineno:18`) of the
/// word after its four pointers (modname, function, filename, format).
const DYNDBG_LINENO: (usize, u32) = (32, (1 << 18) - 1);

/// Whether the initial bytes of data objects `a` (pre) and `b` (post) are the same. A
/// `pr_debug()` below a changed line keeps its descriptor but gets a new line number: that
/// is the source's bookkeeping, not state (the live descriptor keeps the old number, shown
/// only in the dynamic debug control file), so it is left out of the comparison.
pub fn same_data_bytes(pre: &Obj, a: &Sym, post: &Obj, b: &Sym, section: &str) -> Result<bool> {
    let (mut x, mut y) = (pre.symbol_bytes(a)?, post.symbol_bytes(b)?);
    let (at, mask) = DYNDBG_LINENO;
    if section == DYNDBG && x.len() >= at + 4 && y.len() >= at + 4 {
        for v in [&mut x, &mut y] {
            let w = u32::from_le_bytes([v[at], v[at + 1], v[at + 2], v[at + 3]]) & !mask;
            v[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    Ok(x == y)
}

/// Whether the pointers in data objects `a` (pre) and `b` (post) point at the same things:
/// the relocations at the same offsets, of the same types, to the same targets (literals
/// by content). `.fn = h1` becoming `.fn = h2` changes no byte of the object, only this.
pub fn same_data_pointers(pre: &Obj, a: &Sym, post: &Obj, b: &Sym) -> Result<bool> {
    let relocs = |o: &Obj, s: &Sym| -> Vec<Rel> {
        s.section
            .and_then(|i| o.sections.get(i))
            .map(|sec| sec.relocs_in(s.value, s.value + s.size).to_vec())
            .unwrap_or_default()
    };
    let (ra, rb) = (relocs(pre, a), relocs(post, b));
    if ra.len() != rb.len() {
        return Ok(false);
    }
    for (x, y) in ra.iter().zip(&rb) {
        if x.offset - a.value != y.offset - b.value || x.rtype != y.rtype {
            return Ok(false);
        }
        let (cx, cy) = (pre.canon(x), post.canon(y));
        let stem = |c: &Canon| correlation_stem(&c.name).unwrap_or_else(|| c.name.clone());
        let same = same_literal(pre, &cx, post, &cy)
            .unwrap_or(stem(&cx) == stem(&cy) && cx.addend == cy.addend);
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether two objects have the same sections, contents and relocations (for objects
/// assembled from `.S` files, which splice does not patch).
pub fn same_object(a: &Obj, b: &Obj) -> Result<bool> {
    let alloc = |o: &Obj| -> Vec<usize> {
        o.sections
            .iter()
            .filter(|s| s.flags & u64::from(elf::SHF_ALLOC) != 0)
            .map(|s| s.index)
            .collect()
    };
    let (sa, sb) = (alloc(a), alloc(b));
    if sa.len() != sb.len() {
        return Ok(false);
    }
    for (&i, &j) in sa.iter().zip(&sb) {
        let (x, y) = (&a.sections[i], &b.sections[j]);
        if x.name != y.name
            || x.size != y.size
            || x.data != y.data
            || x.relocs.len() != y.relocs.len()
        {
            return Ok(false);
        }
        for (r, q) in x.relocs.iter().zip(&y.relocs) {
            let (cr, cq) = (a.canon(r), b.canon(q));
            if r.offset != q.offset
                || r.rtype != q.rtype
                || cr.name != cq.name
                || cr.addend != cq.addend
            {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
