// SPDX-License-Identifier: GPL-2.0

//! `splice status` for monitoring: the node_exporter textfile format
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>), so that a fleet's
//! Prometheus sees which machines run which fixes, and which pack failed last, without
//! anything of splice's own on the server.

use crate::admin::{PackState, Status};
use std::fmt::Write;

/// A label value, escaped as the text format wants (backslash, double quote, line feed).
fn label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// One metric family: its help, its type, and its samples (labels, value).
fn family(out: &mut String, name: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The status as node_exporter textfile metrics (write it to a `.prom` file of the
/// textfile collector's directory).
pub fn prometheus(st: &Status) -> String {
    let mut out = String::new();
    let kernel = format!(
        "kernel_release=\"{}\",build_id=\"{}\",effective_version=\"{}\"",
        label(&st.kernel_release),
        label(st.build_id.as_deref().unwrap_or("")),
        label(&st.effective_version)
    );
    family(
        &mut out,
        "splice_present",
        "Whether the running kernel has splice (CONFIG_SPLICE), with what it now is.",
        &[(kernel, u64::from(st.present))],
    );
    family(
        &mut out,
        "splice_packs_applied",
        "How many packs are applied.",
        &[(String::new(), st.applied.len() as u64)],
    );
    let pack = |p: &PackState| format!("pack=\"{}\"", label(&p.name));
    let info: Vec<_> = st
        .packs
        .iter()
        .map(|p| {
            (
                format!(
                    "{},module=\"{}\",stage=\"{}\",fixed_in=\"{}\",abort_cause=\"{}\"",
                    pack(p),
                    label(&p.module),
                    label(&p.stage),
                    label(&p.fixed_in),
                    label(&p.abort_cause)
                ),
                1,
            )
        })
        .collect();
    family(
        &mut out,
        "splice_pack_info",
        "A loaded pack: its stage, the version whose fixes it carries, the cause of its last failed action (none after a success).",
        &info,
    );
    // One sample a pack.
    let per_pack = |out: &mut String, name: &str, help: &str, value: fn(&PackState) -> u64| {
        let samples: Vec<_> = st.packs.iter().map(|p| (pack(p), value(p))).collect();
        family(out, name, help, &samples);
    };
    per_pack(
        &mut out,
        "splice_pack_applied",
        "1 while the pack is applied.",
        |p| u64::from(p.stage == "applied"),
    );
    per_pack(
        &mut out,
        "splice_pack_last_action_failed",
        "1 if the pack's last action failed (abort_cause of splice_pack_info says why).",
        |p| u64::from(p.abort_cause != "none"),
    );
    per_pack(
        &mut out,
        "splice_pack_fixes",
        "How many fixes the pack says it carries.",
        |p| p.fixes.len() as u64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::PackState;

    fn status() -> Status {
        let pack = |name: &str, stage: &str, cause: &str, fixed_in: &str| PackState {
            name: name.into(),
            module: format!("splice_{}", name.replace('-', "_")),
            stage: stage.into(),
            description: String::new(),
            fixed_in: fixed_in.into(),
            fixes: vec!["a: \"quoted\" fix".into()],
            nr_targets: 1,
            abort_cause: cause.into(),
        };
        Status {
            present: true,
            version: Some("1.0.0".into()),
            kernel_release: "7.2.12-cloud-amd64".into(),
            build_id: Some("ab12".into()),
            tries: Some(5),
            retry_delay_ms: Some(200),
            park: Some(true),
            applied: vec!["fix-a".into()],
            not_applied: vec!["fix-b".into()],
            patch_level: "7.2.12-cloud-amd64 + fix-a".into(),
            effective_version: "7.2.12-cloud-amd64 + fixes of 7.2.13".into(),
            carried: vec![],
            packs: vec![
                pack("fix-a", "applied", "none", "7.2.13"),
                pack("fix-b", "checked", "code_busy", ""),
            ],
        }
    }

    /// Every line is a comment or a sample `name{labels} value`; each pack has its
    /// samples, and the values say which is applied and which failed last.
    #[test]
    fn the_textfile_format() {
        let t = prometheus(&status());
        for l in t.lines() {
            assert!(
                l.starts_with("# HELP splice_")
                    || l.starts_with("# TYPE splice_")
                    || (l.starts_with("splice_")
                        && l.rsplit(' ')
                            .next()
                            .is_some_and(|v| v.parse::<u64>().is_ok())),
                "{l}"
            );
        }
        assert!(t.contains(
            "splice_present{kernel_release=\"7.2.12-cloud-amd64\",build_id=\"ab12\",effective_version=\"7.2.12-cloud-amd64 + fixes of 7.2.13\"} 1\n"
        ));
        assert!(t.contains("splice_packs_applied 1\n"));
        assert!(t.contains("splice_pack_applied{pack=\"fix-a\"} 1\n"));
        assert!(t.contains("splice_pack_applied{pack=\"fix-b\"} 0\n"));
        assert!(t.contains("splice_pack_last_action_failed{pack=\"fix-b\"} 1\n"));
        assert!(t.contains("splice_pack_last_action_failed{pack=\"fix-a\"} 0\n"));
        assert!(t.contains(
            "splice_pack_info{pack=\"fix-b\",module=\"splice_fix_b\",stage=\"checked\",fixed_in=\"\",abort_cause=\"code_busy\"} 1\n"
        ));
        assert!(t.contains("splice_pack_fixes{pack=\"fix-a\"} 1\n"));
    }

    /// Label values are escaped: a quote or a line break in a description-like value cannot
    /// end the label or the line.
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut st = status();
        st.effective_version = "x\"}\n1".into();
        let t = prometheus(&st);
        assert!(t.contains("effective_version=\"x\\\"}\\n1\"} 1\n"), "{t}");
        assert_eq!(
            t.lines()
                .filter(|l| l.starts_with("splice_present"))
                .count(),
            1
        );
    }

    /// Without splice in the kernel: present 0, nothing applied, no pack samples.
    #[test]
    fn a_kernel_without_splice() {
        let st = Status {
            present: false,
            build_id: None,
            applied: vec![],
            packs: vec![],
            ..status()
        };
        let t = prometheus(&st);
        assert!(t.contains("build_id=\"\""));
        assert!(t.contains("} 0\n"));
        assert!(t.contains("splice_packs_applied 0\n"));
        assert!(!t.contains("pack=\""));
    }
}
