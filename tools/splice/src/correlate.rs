// SPDX-License-Identifier: GPL-2.0

//! The correlate pass: post symbols named after the pre symbols they correspond to, where
//! the compiler numbered them differently (static locals, `__UNIQUE_ID_*`, clones).

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::compare::{same_data_bytes, same_data_pointers};
use crate::elf::Obj;
use crate::names::correlation_stem;

/// The local data objects with a numbered name (`count.3`: static locals and the like;
/// `__UNIQUE_ID_*`), by [`correlation_stem`], and the functions that use each.
fn numbered_locals(o: &Obj) -> Vec<(usize, String, BTreeSet<String>)> {
    let mut users: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for f in o.functions() {
        let Some(sec) = f.section.and_then(|i| o.sections.get(i)) else {
            continue;
        };
        for r in sec.relocs_in(f.value, f.value + f.size) {
            if let Some(y) = o.canon(r).sym {
                users.entry(y).or_default().insert(f.name.clone());
            }
        }
    }
    o.symbols
        .iter()
        .filter(|s| s.is_object() && !s.global && s.section.is_some())
        .filter_map(|s| {
            let stem = correlation_stem(&s.name)?;
            Some((s.index, stem, users.remove(&s.index).unwrap_or_default()))
        })
        .collect()
}

/// `post` with its numbered local data objects (`count.3`) named after the pre objects they
/// correspond to: the one of the same stem used by the same functions. GCC numbers static
/// locals in the order it meets them, so a patch that adds one elsewhere in the file
/// renumbers the others; paired by name alone, a replacement would use another function's
/// variable, or carry a fresh copy and lose the running kernel's state. A post object that
/// corresponds to none gets a name the pre object does not have: it is new. Compiler
/// clones numbered differently are paired too ([`correlate_clones`]).
pub fn correlate_locals(pre: &Obj, post: &Obj) -> Obj {
    let (a, b) = (numbered_locals(pre), numbered_locals(post));
    let pre_named = |name: &str| a.iter().find(|(ai, _, _)| pre.symbols[*ai].name == name);
    // Whether pre object `ai` holds what post object `bi` does.
    let same = |ai: usize, bi: usize| {
        let (x, y) = (&pre.symbols[ai], &post.symbols[bi]);
        let section = y
            .section
            .and_then(|i| post.sections.get(i))
            .map_or("", |s| s.name.as_str());
        x.size == y.size
            && same_data_bytes(pre, x, post, y, section).unwrap_or(false)
            && same_data_pointers(pre, x, post, y).unwrap_or(false)
    };
    // `__COUNTER__` numbers every use of a macro in the file: one added above renumbers all
    // below, so that two objects of one function trade names. Those are paired by name only
    // if they hold the same.
    let counted = |stem: &str| stem.starts_with("__UNIQUE_ID_");
    // First the objects whose name and users are unchanged: the common case.
    let mut taken: HashSet<usize> = HashSet::new();
    let mut settled: HashSet<usize> = HashSet::new();
    for (bi, stem, users) in &b {
        if let Some((ai, _, u)) = pre_named(&post.symbols[*bi].name) {
            if (!u.is_disjoint(users) || (u.is_empty() && users.is_empty()))
                && (!counted(stem) || same(*ai, *bi))
            {
                taken.insert(*ai);
                settled.insert(*bi);
            }
        }
    }
    let mut renames = Vec::new();
    for (bi, stem, users) in b.iter().filter(|(bi, _, _)| !settled.contains(bi)) {
        let mut cands: Vec<usize> = a
            .iter()
            .filter(|(ai, s, u)| s == stem && !taken.contains(ai) && !u.is_disjoint(users))
            .map(|(ai, _, _)| *ai)
            .collect();
        // Of several, the one that holds the same, if there is one.
        if cands.len() > 1 {
            let alike: Vec<usize> = cands.iter().copied().filter(|&ai| same(ai, *bi)).collect();
            if alike.len() == 1 {
                cands = alike;
            }
        }
        let name = &post.symbols[*bi].name;
        match cands.as_slice() {
            // Renumbered: the pre object the same functions use.
            [ai] => {
                taken.insert(*ai);
                renames.push((*bi, pre.symbols[*ai].name.clone()));
            }
            // New, but named like another pre object: a name of its own.
            [] if pre.defined(name).is_some() => {
                renames.push((*bi, format!("{stem}.splice_new.{bi}")));
            }
            // New, or several candidates: the name stays (paired by name, as before).
            _ => {}
        }
    }
    renames.extend(correlate_clones(pre, post));
    let mut out = post.clone();
    if !renames.is_empty() {
        out.rename(&renames);
    }
    out
}

/// A compiler clone's name with its numbers left out (`foo.constprop.#.isra.#`), `None`
/// for a name that is not a numbered clone.
fn clone_key(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let numbered = parts[1..]
        .iter()
        .any(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let clone = parts[1..].iter().any(|p| {
        matches!(
            *p,
            "isra" | "constprop" | "part" | "lto_priv" | "specialized"
        )
    });
    (numbered && clone).then(|| {
        parts
            .iter()
            .map(|p| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    "#"
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    })
}

/// Renames of post compiler clones (`foo.constprop.1`) that GCC numbered differently than
/// in the pre object: a clone whose name only the post object has, paired with the one
/// pre clone of the same name but for the numbers that only the pre object has. Paired,
/// its callers compare equal when their code is; the clone itself is compared, and replaced
/// if it changed, as if the compiler had kept the number.
pub fn correlate_clones(pre: &Obj, post: &Obj) -> Vec<(usize, String)> {
    let only = |a: &Obj, b: &Obj| -> HashMap<String, Vec<usize>> {
        let mut m: HashMap<String, Vec<usize>> = HashMap::new();
        for s in a
            .symbols
            .iter()
            .filter(|s| s.is_func() && s.section.is_some())
        {
            if b.defined(&s.name).is_some() {
                continue;
            }
            if let Some(k) = clone_key(&s.name) {
                m.entry(k).or_default().push(s.index);
            }
        }
        m
    };
    let (a, b) = (only(pre, post), only(post, pre));
    let mut out = Vec::new();
    for (k, bs) in &b {
        if let (Some([ai]), [bi]) = (a.get(k).map(Vec::as_slice), bs.as_slice()) {
            out.push((*bi, pre.symbols[*ai].name.clone()));
        }
    }
    out
}
