// SPDX-License-Identifier: GPL-2.0

//! Type layout changes in a patch's sources.
//!
//! A patch that adds, removes or retypes a member of a `struct` or `union` changes the layout
//! of every instance, including those the running kernel already allocated (on the heap, in
//! other objects): code compiled for the new layout would read past or misread them. Object
//! code shows this only as shifted offsets, so it is found in the source: the bodies of the
//! named `struct`/`union` definitions of each changed file are compared before and after the
//! patch, without comments, whitespace and macro definitions (a flag `#define`d beside the
//! member it is for is not a member). A conditional member (`#ifdef`) counts even when the
//! configuration leaves it out: the refusal is on the safe side.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};

use crate::input::diff;

/// The source without comments, string and character literals kept.
pub(crate) fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
                out.push_str(&src[start..i]);
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// `src` without its `#define` and `#undef` lines (continuation lines included).
fn strip_defines(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut in_define = false;
    for line in src.split_inclusive('\n') {
        let directive = line.trim_start().strip_prefix('#').map(str::trim_start);
        if in_define || directive.is_some_and(|d| d.starts_with("define") || d.starts_with("undef"))
        {
            in_define = line.trim_end().ends_with('\\');
            out.push('\n');
            continue;
        }
        out.push_str(line);
    }
    out
}

pub(crate) fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The named `struct`/`union` definitions of `src`: "struct name" → body, whitespace
/// collapsed.
pub fn definitions(src: &str) -> BTreeMap<String, String> {
    let s = strip_defines(&strip_comments(src));
    let toks: Vec<char> = s.chars().collect();
    let mut defs = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        // A keyword at a word boundary.
        let kw = ["struct", "union"].into_iter().find(|k| {
            s_at(&toks, i, k)
                && (i == 0 || !is_ident(toks[i - 1]))
                && toks.get(i + k.len()).is_some_and(|c| !is_ident(*c))
        });
        let Some(kw) = kw else {
            i += 1;
            continue;
        };
        let mut j = i + kw.len();
        skip_ws(&toks, &mut j);
        let name_start = j;
        while j < toks.len() && is_ident(toks[j]) {
            j += 1;
        }
        let name: String = toks[name_start..j].iter().collect();
        skip_ws(&toks, &mut j);
        if name.is_empty() || toks.get(j) != Some(&'{') {
            i += kw.len();
            continue;
        }
        // The body, up to the matching brace.
        let mut depth = 0;
        let body_start = j;
        while j < toks.len() {
            match toks[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let body: String = toks[body_start..j.min(toks.len())].iter().collect();
        let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
        defs.insert(format!("{kw} {name}"), body);
        // Nested definitions are part of this body.
        i = j + 1;
    }
    defs
}

fn s_at(toks: &[char], i: usize, k: &str) -> bool {
    k.chars()
        .enumerate()
        .all(|(n, c)| toks.get(i + n) == Some(&c))
}

fn skip_ws(toks: &[char], j: &mut usize) {
    while *j < toks.len() && toks[*j].is_whitespace() {
        *j += 1;
    }
}

/// The types defined in both `pre` and `post` whose definition differs.
pub fn changed_types(pre: &str, post: &str) -> Vec<String> {
    let (a, b) = (definitions(pre), definitions(post));
    a.iter()
        .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Refuses what splice cannot patch, naming the file and why.
/// Refuses a patch that changes the layout of a `struct` or `union` ([`crate::policy::layout`]).
pub fn refuse_layout_changes(p: &diff::Patch, patch: &Path, pre: &Path, post: &Path) -> Result<()> {
    for f in &p.files {
        let (Ok(a), Ok(b)) = (
            std::fs::read_to_string(pre.join(&f.path)),
            std::fs::read_to_string(post.join(&f.path)),
        ) else {
            continue;
        };
        if let Some(t) = crate::policy::layout::changed_types(&a, &b).first() {
            bail!(
                "{}: {}: {t}: layout changes (a member is added, removed or retyped); the \
                 instances the running kernel already has keep the old layout. Keep the layout \
                 and put new state in shadow data (Documentation/splice/hooks.rst)",
                patch.display(),
                f.path
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRE: &str = "/* header */\nstruct power_supply {\n\tint a; /* the a */\n\tstruct {\n\t\tint x;\n\t} inner;\n};\nunion u { int i; long l; };\nstatic int f(struct power_supply *p) { return p->a; }\n";

    #[test]
    fn a_new_member_is_a_layout_change() {
        let post = PRE.replace("\tint a;", "\tint a;\n\tstruct rw_semaphore epc_sem;");
        assert_eq!(changed_types(PRE, &post), vec!["struct power_supply"]);
    }

    #[test]
    fn comments_whitespace_and_code_are_not() {
        let post = PRE
            .replace("/* the a */", "/* the a, documented better */")
            .replace("\tint a;", "    int   a;")
            .replace("return p->a;", "return p->a + 1;");
        assert!(changed_types(PRE, &post).is_empty());
        let post = format!("{PRE}struct new_one {{ int n; }};\n");
        assert!(
            changed_types(PRE, &post).is_empty(),
            "a new type changes nothing that exists"
        );
        // A flag defined beside its member (fsnotify_mark_connector's flags).
        let post = PRE.replace(
            "\tint a;",
            "#define A_FLAG_NEW\t0x04\n#define A_LONG(x) \\\n\t((x) + 1)\n\tint a;",
        );
        assert!(changed_types(PRE, &post).is_empty());
    }

    #[test]
    fn nested_and_unions() {
        let post = PRE.replace("\t\tint x;", "\t\tlong x;");
        assert_eq!(changed_types(PRE, &post), vec!["struct power_supply"]);
        let post = PRE.replace("long l;", "long l; char c[16];");
        assert_eq!(changed_types(PRE, &post), vec!["union u"]);
        // Declarations and uses are not definitions.
        let d = definitions("struct a; struct b *p; int g(struct c x);");
        assert!(d.is_empty(), "{d:?}");
    }
}
