// SPDX-License-Identifier: GPL-2.0

//! Unified diffs: which files a patch touches, and how.
//!
//! Only the file headers are read here (`---`/`+++`, and git's `new file`/`deleted file`
//! lines); applying the hunks is left to GNU `patch`, which reports what does not apply.

use anyhow::{bail, Result};

/// What a patch does to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Modified,
    Added,
    Deleted,
}

/// One file of a patch, by its path in the tree (the `a/`, `b/` prefixes removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePatch {
    pub path: String,
    pub change: Change,
}

/// A parsed patch.
#[derive(Clone, Debug, Default)]
pub struct Patch {
    pub files: Vec<FilePatch>,
    /// The first line of the commit message of a `git format-patch` mail (`Subject:`), if any.
    pub subject: Option<String>,
}

/// Strips the first path component (`patch -p1`) and any trailing tab and timestamp.
fn strip(name: &str) -> Option<String> {
    let name = name.split('\t').next().unwrap_or(name).trim_end();
    if name == "/dev/null" {
        return None;
    }
    let rest = name.split_once('/').map_or(name, |(_, r)| r);
    Some(rest.to_owned())
}

/// Reads the file list of a unified diff (as `diff -u` or `git diff` write it, `-p1`).
pub fn parse(text: &str) -> Result<Patch> {
    let mut p = Patch::default();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        if p.subject.is_none() {
            if let Some(s) = l.strip_prefix("Subject: ") {
                let s = s.trim();
                let s = if s.starts_with('[') {
                    s.split_once("] ").map_or(s, |(_, r)| r)
                } else {
                    s
                };
                p.subject = Some(s.to_owned());
            }
        }
        let Some(old) = l.strip_prefix("--- ") else {
            continue;
        };
        let Some(new) = lines.peek().and_then(|n| n.strip_prefix("+++ ")) else {
            continue;
        };
        let (old, new) = (strip(old), strip(new));
        lines.next();
        let f = match (old, new) {
            (Some(o), Some(n)) => {
                if o != n {
                    bail!("the patch renames {o} to {n}; splice cannot rename files");
                }
                FilePatch {
                    path: n,
                    change: Change::Modified,
                }
            }
            (None, Some(n)) => FilePatch {
                path: n,
                change: Change::Added,
            },
            (Some(o), None) => FilePatch {
                path: o,
                change: Change::Deleted,
            },
            (None, None) => bail!("a file header of the patch names /dev/null twice"),
        };
        if f.path.is_empty() || f.path.split('/').any(|c| c == "..") || f.path.starts_with('/') {
            bail!("the patch names a file outside the tree: {:?}", f.path);
        }
        if !p.files.iter().any(|g| g.path == f.path) {
            p.files.push(f);
        }
    }
    if p.files.is_empty() {
        bail!("no file in the patch (not a unified diff?)");
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_and_diff_u_headers() {
        let text = "From 1 Mon\nSubject: [PATCH 7.2] proc: fix a leak\n\n---\n\
            diff --git a/fs/proc/base.c b/fs/proc/base.c\n\
            --- a/fs/proc/base.c\n+++ b/fs/proc/base.c\n@@ -1 +1 @@\n-a\n+b\n\
            --- linux.orig/include/linux/x.h\t2026-01-01\n+++ linux/include/linux/x.h\t2026-01-02\n\
            @@ -1 +1 @@\n-a\n+b\n\
            --- /dev/null\n+++ b/fs/new.c\n@@ -0,0 +1 @@\n+x\n";
        let p = parse(text).unwrap();
        assert_eq!(p.subject.as_deref(), Some("proc: fix a leak"));
        assert_eq!(
            p.files,
            vec![
                FilePatch {
                    path: "fs/proc/base.c".into(),
                    change: Change::Modified
                },
                FilePatch {
                    path: "include/linux/x.h".into(),
                    change: Change::Modified
                },
                FilePatch {
                    path: "fs/new.c".into(),
                    change: Change::Added
                },
            ]
        );
    }

    #[test]
    fn renames_and_empty_patches_are_refused() {
        assert!(parse("--- a/x.c\n+++ b/y.c\n").is_err());
        assert!(parse("hello\n").is_err());
        assert!(parse("--- a/../x.c\n+++ b/../x.c\n").is_err());
    }
}
