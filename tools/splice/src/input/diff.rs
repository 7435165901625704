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
    /// Every commit's subject, for a series of mails in one file (the first is `subject`).
    pub subjects: Vec<String>,
    /// The CVE ids the commit messages name (`CVE-2026-1234`), in order, once each.
    pub cves: Vec<String>,
    /// Files whose mode alone the patch changes (git's `old mode`/`new mode`, no hunks).
    pub mode_only: Vec<String>,
}

/// The CVE ids (`CVE-YYYY-N`, four digits of year, four or more of number) in `line`.
pub fn cve_ids(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let upper = line.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(i) = rest.find("CVE-") {
        let tail = &rest[i + 4..];
        let year: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let after_year = &tail[year.len()..];
        let number: String = after_year
            .strip_prefix('-')
            .map(|n| n.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if year.len() == 4 && number.len() >= 4 {
            out.push(format!("CVE-{year}-{number}"));
        }
        rest = tail;
    }
    out
}

/// Several diffs given as one fix (`splice-create --patch A --patch B`): a file holding
/// them in order, which `patch` applies as it would each in turn and [`parse`] reads as a
/// series (every file once, every subject). One diff is used where it is.
pub struct Series {
    path: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Series {
    pub fn of(patches: &[std::path::PathBuf]) -> Result<Series> {
        use anyhow::Context;
        let [first, rest @ ..] = patches else {
            bail!("no patch");
        };
        if rest.is_empty() {
            return Ok(Series {
                path: first.clone(),
                _dir: None,
            });
        }
        let mut text = String::new();
        for p in patches {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            text.push_str(&t);
            if !t.ends_with('\n') {
                text.push('\n');
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("splice-series-")
            .tempdir()
            .context("cannot create a folder for the series of patches")?;
        let last = patches.last().unwrap_or(first);
        let path = dir.path().join(last.file_name().unwrap_or_default());
        std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Series {
            path,
            _dir: Some(dir),
        })
    }

    /// The file to give the generator.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
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
    // The `diff --git` block being read: its path, and whether it changed any content.
    let mut git: Option<GitBlock> = None;
    while let Some(l) = lines.next() {
        if let Some(paths) = l.strip_prefix("diff --git ") {
            finish_git_block(git.take(), &mut p);
            git = Some(GitBlock::new(paths));
            continue;
        }
        if let Some(g) = git.as_mut() {
            g.header_line(l)?;
        }
        p.mail_line(l);
        let Some(old) = l.strip_prefix("--- ") else {
            continue;
        };
        let Some(new) = lines.peek().and_then(|n| n.strip_prefix("+++ ")) else {
            continue;
        };
        let f = FilePatch::of_header(strip(old), strip(new))?;
        lines.next();
        if let Some(g) = git.as_mut() {
            g.content = true;
        }
        if !p.files.iter().any(|g| g.path == f.path) {
            p.files.push(f);
        }
    }
    finish_git_block(git.take(), &mut p);
    if p.files.is_empty() {
        if !p.mode_only.is_empty() {
            bail!(
                "the patch changes only the mode of {}; there is no code to patch",
                p.mode_only.join(", ")
            );
        }
        bail!("no file in the patch (not a unified diff?)");
    }
    Ok(p)
}

impl Patch {
    /// Reads line `l` for what the mail and commit message say: the subjects (without
    /// `[PATCH ...]`) and, outside the hunks, the CVE IDs.
    fn mail_line(&mut self, l: &str) {
        if let Some(s) = l.strip_prefix("Subject: ") {
            let s = s.trim();
            let s = if s.starts_with('[') {
                s.split_once("] ").map_or(s, |(_, r)| r)
            } else {
                s
            };
            self.subject.get_or_insert_with(|| s.to_owned());
            self.subjects.push(s.to_owned());
        }
        if !l.starts_with([' ', '+', '-', '@', '\\']) {
            for id in cve_ids(l) {
                if !self.cves.contains(&id) {
                    self.cves.push(id);
                }
            }
        }
    }
}

impl FilePatch {
    /// The file of a `---`/`+++` header pair (`None` for `/dev/null`): modified, added or
    /// deleted; an error for a rename, or a path outside the tree.
    fn of_header(old: Option<String>, new: Option<String>) -> Result<FilePatch> {
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
        Ok(f)
    }
}

/// One `diff --git a/X b/Y` block, read up to its `---`/`+++` lines (if it has any).
///
/// git writes no `---`/`+++` lines for a pure rename or copy, a change of mode only, or a
/// binary file: those blocks are recognised by their extended header lines, so that none of
/// them is silently left out of what the pack is built from.
struct GitBlock {
    path: String,
    content: bool,
    mode: bool,
}

impl GitBlock {
    fn new(paths: &str) -> Self {
        // `a/X b/X`: with no rename the two halves are equal; take the second.
        let path = paths
            .rsplit_once(" b/")
            .map_or(paths, |(_, b)| b)
            .to_owned();
        GitBlock {
            path,
            content: false,
            mode: false,
        }
    }

    /// Refuses what splice cannot build a pack from; notes a change of mode.
    fn header_line(&mut self, l: &str) -> Result<()> {
        let path = &self.path;
        if let Some(from) = l.strip_prefix("rename from ") {
            bail!("the patch renames {from}; splice cannot rename files");
        }
        if let Some(from) = l.strip_prefix("copy from ") {
            bail!("the patch copies {from} to a new file; splice cannot add files to the build");
        }
        if l.starts_with("Binary files ") || l == "GIT binary patch" {
            bail!("the patch changes the binary file {path}; splice patches source code only");
        }
        if l.starts_with("new mode ") {
            self.mode = true;
        }
        Ok(())
    }
}

/// Ends a git block: a file whose mode alone changed is set aside (the running kernel's
/// code does not depend on it) and named in [`Patch::mode_only`].
fn finish_git_block(g: Option<GitBlock>, p: &mut Patch) {
    if let Some(g) = g {
        if g.mode && !g.content {
            p.mode_only.push(g.path);
        }
    }
}

#[cfg(test)]
mod tests {
    /// Several diffs are one series: in order, each file once, every subject; one diff is
    /// used where it is.
    #[test]
    fn several_diffs_are_one_series() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.diff");
        let b = d.path().join("b.patch");
        std::fs::write(
            &a,
            "Subject: [PATCH] x: fix one\n---\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b",
        )
        .unwrap();
        std::fs::write(
            &b,
            "Subject: y: fix two\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-b\n+c\n--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-d\n+e\n",
        )
        .unwrap();
        let one = Series::of(std::slice::from_ref(&a)).unwrap();
        assert_eq!(one.path(), a.as_path());
        let s = Series::of(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(s.path().file_name().unwrap(), "b.patch");
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert!(text.contains("+b\nSubject: y: fix two\n"), "{text}");
        let p = parse(&text).unwrap();
        let files: Vec<&str> = p.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(files, ["x.c", "y.c"]);
        assert_eq!(p.subjects, ["x: fix one", "y: fix two"]);
        let dir = s.path().parent().unwrap().to_path_buf();
        drop(s);
        assert!(!dir.exists(), "the series' folder outlives it");
        assert!(Series::of(&[]).is_err());
        assert!(Series::of(&[a, d.path().join("missing.diff")]).is_err());
    }

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

    /// The refusal `text` gives, as one line.
    fn refusal(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn git_blocks_without_hunks_are_never_left_out() {
        // A pure rename has no ---/+++ lines at all.
        let r = refusal(
            "diff --git a/fs/x.c b/fs/y.c\nsimilarity index 100%\n\
             rename from fs/x.c\nrename to fs/y.c\n\
             diff --git a/fs/z.c b/fs/z.c\n--- a/fs/z.c\n+++ b/fs/z.c\n@@ -1 +1 @@\n-a\n+b\n",
        );
        assert!(r.contains("renames fs/x.c"), "{r}");
        let r = refusal("diff --git a/fs/x.c b/fs/w.c\nsimilarity index 90%\ncopy from fs/x.c\ncopy to fs/w.c\n");
        assert!(r.contains("copies fs/x.c"), "{r}");
        let r = refusal(
            "diff --git a/fw/blob.bin b/fw/blob.bin\nindex 1..2 100644\n\
             Binary files a/fw/blob.bin and b/fw/blob.bin differ\n",
        );
        assert!(r.contains("binary file fw/blob.bin"), "{r}");
        let r =
            refusal("diff --git a/fw/b.bin b/fw/b.bin\nindex 1..2\nGIT binary patch\nliteral 3\n");
        assert!(r.contains("binary file fw/b.bin"), "{r}");
        // A change of mode alone is set aside, and named when it is all there is.
        let mode = "diff --git a/scripts/x.sh b/scripts/x.sh\nold mode 100644\nnew mode 100755\n";
        let r = refusal(mode);
        assert!(r.contains("only the mode of scripts/x.sh"), "{r}");
        let p = parse(&format!(
            "{mode}diff --git a/fs/z.c b/fs/z.c\n--- a/fs/z.c\n+++ b/fs/z.c\n@@ -1 +1 @@\n-a\n+b\n"
        ))
        .unwrap();
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.mode_only, vec!["scripts/x.sh".to_string()]);
        // A mode change with hunks is an ordinary change.
        let p = parse(
            "diff --git a/fs/z.c b/fs/z.c\nold mode 100644\nnew mode 100755\n\
             --- a/fs/z.c\n+++ b/fs/z.c\n@@ -1 +1 @@\n-a\n+b\n",
        )
        .unwrap();
        assert!(p.mode_only.is_empty());
        assert_eq!(p.files[0].path, "fs/z.c");
    }

    #[test]
    fn renames_and_empty_patches_are_refused() {
        assert!(parse("--- a/x.c\n+++ b/y.c\n").is_err());
        assert!(parse("hello\n").is_err());
        assert!(parse("--- a/../x.c\n+++ b/../x.c\n").is_err());
    }

    #[test]
    fn every_subject_and_cve_of_a_series_is_recorded() {
        let text = "From 1 Mon\nSubject: [PATCH 1/2] net: fix a leak\n\n\
                    Fixes CVE-2026-1234 and cve-2026-99999.\n---\n\
                    --- a/net/x.c\n+++ b/net/x.c\n@@ -1 +1 @@\n-a\n+b /* CVE-2026-0000 */\n\
                    From 2 Mon\nSubject: [PATCH 2/2] net: check a length\n\nCVE-2026-1234 again\n---\n\
                    --- a/net/y.c\n+++ b/net/y.c\n@@ -1 +1 @@\n-a\n+b\n";
        let p = parse(text).unwrap();
        assert_eq!(p.subject.as_deref(), Some("net: fix a leak"));
        assert_eq!(p.subjects, ["net: fix a leak", "net: check a length"]);
        // A CVE id in the code the patch changes is not a claim of the commit message.
        assert_eq!(p.cves, ["CVE-2026-1234", "CVE-2026-99999"]);
        assert!(cve_ids("CVE-26-1 CVE-2026-12").is_empty());
    }
}
