// SPDX-License-Identifier: GPL-2.0

//! Headers a patch changes only by adding macros or enumerators.
//!
//! A fix often adds a helper macro to a header that thousands of objects include
//! (`mas_lock_irqsave()` in `maple_tree.h`) and uses it in one `.c` file. Defining a macro
//! under a new name changes what the preprocessor makes of a file only where that name
//! appears: in a use, `#ifdef`, `defined()` or `#undef`. So of the objects that include
//! such a header, only those whose sources or headers name one of the new macros can
//! compile differently; the others need not be compiled at all.
//!
//! The rule holds when the header's other lines are the same (comments and blank lines
//! aside), the names are new to the header, and none of them is one the kernel builds by
//! token pasting on purpose (`CONFIG_*`, `__ARG_PLACEHOLDER_*` of `IS_ENABLED()`).
//!
//! A value added to an enum (a new mount flag in `mount.h`) is the same kind of change: it
//! changes what the compiler makes of a file only where the new enumerator, or one after
//! it in the same enum (whose value may have moved), is named. [`changed_names`] gives
//! those names when nothing else in the header changed and the header itself does not use
//! a moved enumerator outside its enum (an inline function that does would change for every
//! caller).

use std::collections::BTreeSet;

use crate::policy::layout::{is_ident, strip_comments};

/// The lines of `src` with continuation lines joined, trimmed, empty ones left out.
fn logical_lines(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in src.lines() {
        let (body, more) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        cur.push_str(body.trim());
        cur.push(' ');
        if !more {
            let l = cur.split_whitespace().collect::<Vec<_>>().join(" ");
            if !l.is_empty() {
                out.push(l);
            }
            cur.clear();
        }
    }
    let l = cur.split_whitespace().collect::<Vec<_>>().join(" ");
    if !l.is_empty() {
        out.push(l);
    }
    out
}

/// The name a `#define` line defines.
fn defined_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix('#')?
        .trim_start()
        .strip_prefix("define")?;
    if !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Whether `text` holds `name` as a whole identifier.
pub fn names(text: &str, name: &str) -> bool {
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return true;
        }
        from = at + name.len();
    }
    false
}

/// The macros `post` adds to `pre`, if adding macros under new names is all that changes
/// between them (comments and blank lines aside); `None` otherwise.
pub fn added_only(pre: &str, post: &str) -> Option<Vec<String>> {
    let (pre, post) = (strip_comments(pre), strip_comments(post));
    let (a, b) = (logical_lines(&pre), logical_lines(&post));
    let had: BTreeSet<&str> = a.iter().filter_map(|l| defined_name(l)).collect();
    let mut added = Vec::new();
    let mut rest = Vec::new();
    for l in &b {
        match defined_name(l) {
            Some(n) if !had.contains(n) => added.push(n.to_owned()),
            _ => rest.push(l),
        }
    }
    let same = rest.len() == a.len() && rest.iter().zip(&a).all(|(x, y)| *x == y);
    let special = |n: &str| n.starts_with("CONFIG_") || n.starts_with("__ARG_PLACEHOLDER_");
    if !same || added.is_empty() || added.iter().any(|n| special(n) || names(&pre, n)) {
        return None;
    }
    added.sort();
    added.dedup();
    Some(added)
}

/// `IDENT` or `IDENT = value`, with or without its trailing comma: an enumerator line.
fn enumerator(line: &str) -> Option<&str> {
    let l = line.trim_end_matches(',').trim();
    let end = l.find(|c: char| !is_ident(c)).unwrap_or(l.len());
    let (name, rest) = l.split_at(end);
    let rest = rest.trim_start();
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && (rest.is_empty() || rest.starts_with('=') && !rest.starts_with("=="));
    ok.then_some(name)
}

/// Whether logical line `l` opens an enum body (`enum x {`, `typedef enum {`).
fn opens_enum(l: &str) -> bool {
    (l.starts_with("enum ") || l.starts_with("enum{") || l.starts_with("typedef enum"))
        && l.ends_with('{')
}

/// The names whose meaning `post` changes from `pre` (see the module doc: new macros, new
/// enumerators and those after them in their enum), if that is all that changes between
/// them (comments and blank lines aside); `None` otherwise.
pub fn changed_names(pre: &str, post: &str) -> Option<Vec<String>> {
    if let Some(m) = added_only(pre, post) {
        return Some(m);
    }
    let (pre_t, post_t) = (strip_comments(pre), strip_comments(post));
    let (a, b) = (logical_lines(&pre_t), logical_lines(&post_t));
    let had: BTreeSet<&str> = a.iter().filter_map(|l| defined_name(l)).collect();
    let special = |n: &str| n.starts_with("CONFIG_") || n.starts_with("__ARG_PLACEHOLDER_");
    let (mut added, mut moved) = (Vec::new(), Vec::new());
    // Lines of post outside the enums whose enumerators moved: where a use would be.
    let mut outside = String::new();
    let (mut i, mut in_enum, mut after_insert) = (0, false, false);
    let mut body = Vec::new();
    for l in &b {
        let same = a.get(i).is_some_and(|p| {
            p == l || in_enum && p.trim_end_matches(',') == l.trim_end_matches(',')
        });
        if same {
            i += 1;
            if in_enum {
                if l.starts_with('}') {
                    in_enum = false;
                    if !after_insert {
                        outside.push_str(&body.join("\n"));
                    }
                    body.clear();
                    outside.push_str(l);
                    outside.push('\n');
                } else {
                    body.push(l.clone());
                    if after_insert {
                        moved.extend(enumerator(l).map(str::to_owned));
                    }
                }
                continue;
            }
            in_enum = opens_enum(l);
            after_insert = false;
            outside.push_str(l);
            outside.push('\n');
            continue;
        }
        // Not in pre: a new macro, or a new enumerator inside an enum body.
        match (defined_name(l), in_enum.then(|| enumerator(l)).flatten()) {
            (Some(n), _) if !had.contains(n) => added.push(n.to_owned()),
            (None, Some(n)) => {
                added.push(n.to_owned());
                after_insert = true;
            }
            _ => return None,
        }
    }
    if i != a.len() || added.is_empty() {
        return None;
    }
    if added.iter().any(|n| special(n) || names(&pre_t, n))
        || moved.iter().any(|n| names(&outside, n))
    {
        return None;
    }
    added.extend(moved);
    added.sort();
    added.dedup();
    Some(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENUM: &str = "#ifndef _MNT_H\n#define _MNT_H\nenum mnt_flag {\n\tMNT_A = 1,\n\tMNT_B,\n\tMNT_C\n};\nstatic inline int is_a(int f) { return f == MNT_A; }\n#endif\n";

    #[test]
    fn new_enumerators_and_those_they_move() {
        // Added in the middle: MNT_B and MNT_C may have moved.
        let post = ENUM.replace("\tMNT_B,", "\tMNT_NEW,\n\tMNT_B,");
        assert_eq!(
            changed_names(ENUM, &post),
            Some(vec!["MNT_B".into(), "MNT_C".into(), "MNT_NEW".into()])
        );
        // Added at the end, the last one gaining its comma: only the new name.
        let post = ENUM.replace("\tMNT_C\n", "\tMNT_C,\n\tMNT_D\n");
        assert_eq!(changed_names(ENUM, &post), Some(vec!["MNT_D".into()]));
    }

    #[test]
    fn enum_changes_that_reach_further_are_not() {
        // The header's inline uses a moved enumerator: every caller may change.
        let post = ENUM.replace("\tMNT_A = 1,", "\tMNT_Z,\n\tMNT_A = 1,");
        assert_eq!(changed_names(ENUM, &post), None);
        // A changed value, not an addition.
        assert_eq!(
            changed_names(ENUM, &ENUM.replace("MNT_A = 1", "MNT_A = 2")),
            None
        );
        // A line added outside an enum that is not a macro.
        let post = ENUM.replace("#endif", "extern int mnt_count;\n#endif");
        assert_eq!(changed_names(ENUM, &post), None);
        // Nothing changed.
        assert_eq!(changed_names(ENUM, ENUM), None);
    }

    #[test]
    fn macros_alone_are_changed_names_too() {
        let post = PRE.replace("/* locks */", "#define mas_new(m) (m)");
        assert_eq!(changed_names(PRE, &post), Some(vec!["mas_new".into()]));
    }

    const PRE: &str = "#ifndef _M_H\n#define _M_H\n/* locks */\n#define mas_lock(mas) spin_lock(&(mas)->lock)\nstatic inline int f(void) { return 1; }\n#endif\n";

    #[test]
    fn new_macros_only() {
        let post = PRE.replace(
            "#define mas_lock(mas)",
            "#define mas_lock_irqsave(mas, flags) \\\n\t\tspin_lock_irqsave(&(mas)->lock, flags)\n\n/* new */\n#define mas_lock(mas)",
        );
        assert_eq!(
            added_only(PRE, &post),
            Some(vec!["mas_lock_irqsave".to_owned()])
        );
    }

    #[test]
    fn other_changes_are_not() {
        // A changed inline function.
        assert_eq!(added_only(PRE, &PRE.replace("return 1", "return 2")), None);
        // A redefined macro.
        let post = PRE.replace("spin_lock(", "spin_lock_bh(");
        assert_eq!(added_only(PRE, &post), None);
        // A new name the header already uses (an #ifdef of it changes meaning).
        let pre = PRE
            .replace("static inline", "#ifdef NEWM\nstatic inline")
            .replace("#endif\n", "#endif\n#endif\n");
        let post = pre.replace("/* locks */", "#define NEWM 1");
        assert_eq!(added_only(&pre, &post), None);
        // Configuration symbols.
        assert_eq!(
            added_only(PRE, &PRE.replace("/* locks */", "#define CONFIG_X 1")),
            None
        );
        // Nothing added.
        assert_eq!(added_only(PRE, PRE), None);
    }

    #[test]
    fn whole_identifiers() {
        assert!(names("x = mas_lock_irqsave(m, f);", "mas_lock_irqsave"));
        assert!(!names("x = mas_lock_irqsave2(m);", "mas_lock_irqsave"));
        assert!(!names("my_mas_lock_irqsave(m);", "mas_lock_irqsave"));
    }
}
