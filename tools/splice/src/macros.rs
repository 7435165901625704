// SPDX-License-Identifier: GPL-2.0

//! Headers a patch changes only by adding macros.
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

use std::collections::BTreeSet;

use crate::layout::{is_ident, strip_comments};

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

#[cfg(test)]
mod tests {
    use super::*;

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
