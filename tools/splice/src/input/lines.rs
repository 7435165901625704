// SPDX-License-Identifier: GPL-2.0

//! Line numbers kept: the post source numbered as the pre source wherever it is unchanged.
//!
//! A fix that adds or removes lines shifts the line numbers of everything below it, and line
//! numbers are compiled into code: `__might_sleep(__FILE__, __LINE__)`, `WARN()` and `BUG()`
//! (the line field of `__bug_table`), lockdep's class names. Compared as they are, functions
//! that the fix does not touch would differ only by such a number and become targets; a fix
//! made of such shifts only would look like a change. So after each changed run of lines of
//! the post source, a `#line N` directive (which keeps the file name) numbers the next line
//! as the pre source numbers it, and unchanged code compiles as it did.
//!
//! A directive is placed only where the preprocessor reads one: at the start of a line that
//! is not inside a comment nor the continuation of a line ending in `\`. Where the line after
//! a change is not such a place, the directive moves down over unchanged lines until one is.
//!
//! An ordinary build of the fixed file has the shifted numbers. The equivalence pass
//! ([`crate::equiv`]) knows the renumbering from [`Renumbering`] and accepts a constant that
//! differs from the rebuild's exactly by it.

use std::collections::BTreeMap;

use similar::{capture_diff_slices, Algorithm, DiffOp};

/// How the numbers of one file were changed: from post line `from` on (the line numbers of
/// an ordinary build), a line is numbered `line - shift`, until the next entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileRenumbering {
    pub steps: Vec<(u64, i64)>,
}

impl FileRenumbering {
    /// The number the build with directives gives the line an ordinary build numbers `line`.
    pub fn renumbered(&self, line: u64) -> u64 {
        let shift = self
            .steps
            .iter()
            .take_while(|&&(from, _)| from <= line)
            .last()
            .map_or(0, |&(_, s)| s);
        line.saturating_add_signed(-shift)
    }
}

/// The renumbering of every file the pass changed, by path in the tree.
#[derive(Clone, Debug, Default)]
pub struct Renumbering {
    pub files: BTreeMap<String, FileRenumbering>,
}

impl Renumbering {
    /// Whether `built` (a constant of the build with directives) is `plain` (the same
    /// constant of an ordinary build) renumbered by some file: a line number, kept.
    pub fn explains(&self, built: u64, plain: u64) -> bool {
        built != plain && self.files.values().any(|f| f.renumbered(plain) == built)
    }
}

/// Whether `rel` is a C source or header, whose compiled copy is named as in the tree.
pub fn is_c_text(rel: &str) -> bool {
    rel.ends_with(".c") || rel.ends_with(".h")
}

/// `text`, the copy of the tree's file `rel` that an overlay compiles, named as the tree's
/// file: `#line 1 "rel"` before it. The compiler records the name of the file it reads in
/// more than `__FILE__` (which `-fmacro-prefix-map` maps back): UBSAN's source locations
/// and the like keep the overlay's path, so that every function with such a check would
/// differ from the tree's build only by it, and a replacement would report it.
pub fn named_as_in_tree(rel: &str, text: &str) -> String {
    format!("#line 1 \"{rel}\"\n{text}")
}

/// Whether each line of `text` starts where the preprocessor reads a directive: not in a
/// block comment, not continuing a line that ends with a backslash. One entry per line.
fn directive_places(lines: &[&str]) -> Vec<bool> {
    let mut out = Vec::with_capacity(lines.len() + 1);
    let mut in_comment = false;
    let mut continued = false;
    for line in lines {
        out.push(!in_comment && !continued);
        let b = line.as_bytes();
        let mut i = 0;
        // Quotes only matter on one line: a literal cannot span lines without a backslash,
        // and a continued line is no place anyway.
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if in_comment {
                if c == b'*' && b.get(i + 1) == Some(&b'/') {
                    in_comment = false;
                    i += 1;
                }
            } else if let Some(q) = quote {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            } else if c == b'"' || c == b'\'' {
                quote = Some(c);
            } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                in_comment = true;
                i += 1;
            } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
                break;
            }
            i += 1;
        }
        continued = line.ends_with('\\');
    }
    out.push(!in_comment && !continued);
    out
}

/// Whether `line` is a preprocessor line that ends or switches a conditional group.
fn is_conditional_boundary(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix('#') else {
        return false;
    };
    let word = rest.trim_start();
    ["else", "elif", "endif", "elifdef", "elifndef"]
        .iter()
        .any(|w| {
            word.starts_with(w)
                && !word[w.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        })
}

/// `post` with a `#line` directive after each changed run of lines, so that unchanged lines
/// keep the numbers they have in `pre`; and the renumbering that makes.
pub fn keep_line_numbers(pre: &str, post: &str) -> (String, FileRenumbering) {
    let a: Vec<&str> = pre.lines().collect();
    let b: Vec<&str> = post.lines().collect();
    let places = directive_places(&b);
    // Where each unchanged run of post starts, and the pre line it starts at (0-based).
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            runs.push((new_index, old_index, len));
        }
    }
    // Directives before post lines (0-based), each naming a pre line (1-based).
    let mut directives: BTreeMap<usize, usize> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut shift: i64 = 0;
    for (new, old, len) in runs {
        let need = new as i64 - old as i64;
        if need == shift && need == 0 {
            continue;
        }
        // The first place in the run where a directive is read; and, as a directive in a
        // conditional group the configuration leaves out is not read, the first place
        // after each `#else`, `#elif` and `#endif` of the run too.
        let mut want = vec![0];
        want.extend(
            (0..len)
                .filter(|&k| is_conditional_boundary(b[new + k]))
                .map(|k| k + 1),
        );
        let mut first = None;
        for from in want {
            if let Some(k) = (from..len).find(|&k| places[new + k]) {
                directives.insert(new + k, old + k + 1);
                first.get_or_insert(k);
            }
        }
        if let Some(k) = first.filter(|_| need != shift) {
            steps.push(((new + k + 1) as u64, need));
            shift = need;
        }
    }
    if directives.is_empty() {
        return (post.to_owned(), FileRenumbering::default());
    }
    let mut out = String::with_capacity(post.len() + directives.len() * 16);
    for (i, line) in b.iter().enumerate() {
        if let Some(n) = directives.get(&i) {
            out.push_str(&format!("#line {n}\n"));
        }
        out.push_str(line);
        out.push('\n');
    }
    if !post.ends_with('\n') {
        out.pop();
    }
    (out, FileRenumbering { steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line number the preprocessor gives each line of `text` that contains `mark`.
    fn numbered(text: &str, mark: &str) -> Vec<u64> {
        let mut n = 0u64;
        let mut out = Vec::new();
        for l in text.lines() {
            n += 1;
            if let Some(v) = l.strip_prefix("#line ") {
                n = v.split_whitespace().next().unwrap().parse::<u64>().unwrap() - 1;
                continue;
            }
            if l.contains(mark) {
                out.push(n);
            }
        }
        out
    }

    #[test]
    fn unchanged_lines_keep_their_numbers() {
        let pre = "int a;\nvoid f(void)\n{\n\tWARN_ON(1); /* X */\n}\nvoid g(void)\n{\n\tmight_sleep(); /* Y */\n}\n";
        let post = "int a;\nvoid f(void)\n{\n\tif (a)\n\t\treturn;\n\tWARN_ON(1); /* X */\n}\nvoid g(void)\n{\n\tmight_sleep(); /* Y */\n}\n";
        let (out, r) = keep_line_numbers(pre, post);
        assert_eq!(numbered(&out, "/* Y */"), numbered(pre, "/* Y */"));
        assert_eq!(numbered(&out, "/* X */"), vec![4]);
        // The ordinary build numbers Y 10; the build with directives, as pre, 8.
        assert_eq!(numbered(post, "/* Y */"), vec![10]);
        assert_eq!(r.renumbered(10), 8);
        assert_eq!(r.renumbered(2), 2);
        let mut all = Renumbering::default();
        all.files.insert("x.c".into(), r);
        assert!(all.explains(8, 10));
        assert!(!all.explains(9, 10));
        assert!(!all.explains(10, 10));
    }

    #[test]
    fn removed_lines_and_several_changes() {
        let pre = "a\nb\nc\nd\ne /* E */\nf\ng\nh /* H */\n";
        let post = "a\nd\ne /* E */\nf\nnew1\nnew2\nnew3\ng\nh /* H */\n";
        let (out, _) = keep_line_numbers(pre, post);
        assert_eq!(numbered(&out, "/* E */"), vec![5]);
        assert_eq!(numbered(&out, "/* H */"), vec![8]);
        assert!(!out.contains("new1\n#line"));
    }

    #[test]
    fn no_directive_inside_a_comment_or_a_continued_line() {
        // The change is followed by a comment and a macro continued over lines: the
        // directive waits for the first line where the preprocessor reads one.
        let pre = "x\n/* one\n two */\n#define M(a) \\\n\tdo { } while (0)\nint y; /* Y */\n";
        let post =
            "x\n/* one\n added\n two */\n#define M(a) \\\n\tdo { } while (0)\nint y; /* Y */\n";
        let (out, _) = keep_line_numbers(pre, post);
        let lines: Vec<&str> = out.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("#line")).unwrap();
        assert_eq!(lines[at + 1], "#define M(a) \\");
        assert_eq!(numbered(&out, "/* Y */"), vec![6]);
        let (out, _) = keep_line_numbers(
            "x\n#define M(a) \\\n\tfoo \\\n\tbar\nint y;\n",
            "x\n#define M(a) \\\n\tfoo2 \\\n\tbar \\\n\tbaz\nint y;\n",
        );
        let lines: Vec<&str> = out.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("#line")).unwrap();
        assert_eq!(lines[at + 1], "int y;");
        // A "/*" inside a string opens no comment.
        assert_eq!(
            directive_places(&["char *s = \"/*\";", "int z;"]),
            vec![true, true, true]
        );
    }

    /// What the preprocessor numbers the line with `mark` in `text`, with `defines`.
    fn preprocessed_line(text: &str, mark: &str, defines: &[&str]) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut c = Command::new("gcc")
            .args(["-E", "-P", "-x", "c", "-"])
            .args(defines.iter().map(|d| format!("-D{d}")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gcc runs");
        c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let out = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap();
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("int {mark} = ")))
            .unwrap_or("?")
            .trim_end_matches(';')
            .to_owned()
    }

    /// A change inside a conditional group the configuration leaves out: its directive is
    /// not read, so another after the group's end keeps the lines below numbered as before.
    #[test]
    fn lines_after_a_group_left_out_keep_their_numbers() {
        let pre = "#ifdef X\nint a;\n#else\nint b;\n#endif\nint y = __LINE__;\n";
        let post = "#ifdef X\nint a;\nint a2;\n#else\nint b;\n#endif\nint y = __LINE__;\n";
        let (kept, _) = keep_line_numbers(pre, post);
        for defines in [&[][..], &["X"][..]] {
            assert_eq!(
                preprocessed_line(&kept, "y", defines),
                preprocessed_line(pre, "y", defines),
                "with {defines:?}: {kept}"
            );
        }
        // Inside the #else branch, when it is the one read, too.
        let pre = "#ifdef X\nint a;\n#else\nint z = __LINE__;\n#endif\n";
        let post = "#ifdef X\nint a;\nint a2;\n#else\nint z = __LINE__;\n#endif\n";
        let (kept, _) = keep_line_numbers(pre, post);
        assert_eq!(
            preprocessed_line(&kept, "z", &[]),
            preprocessed_line(pre, "z", &[])
        );
        assert!(is_conditional_boundary("  #  endif /* X */"));
        assert!(!is_conditional_boundary("#endiff"));
        assert!(!is_conditional_boundary("#include <x.h>"));
    }

    #[test]
    fn a_copy_is_named_as_the_tree_file() {
        let t = named_as_in_tree("kernel/x.c", "int a;\nint b; /* B */\n");
        assert!(t.starts_with("#line 1 \"kernel/x.c\"\n"));
        assert_eq!(numbered(&t, "/* B */"), vec![2]);
        assert!(is_c_text("include/linux/x.h") && !is_c_text("kernel/Makefile"));
    }

    #[test]
    fn an_unchanged_file_is_left_alone() {
        let (out, r) = keep_line_numbers("a\nb\n", "a\nb\n");
        assert_eq!(out, "a\nb\n");
        assert!(r.steps.is_empty());
        // A change that keeps the count needs no directive.
        let (out, _) = keep_line_numbers("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(out, "a\nB\nc\n");
    }
}
