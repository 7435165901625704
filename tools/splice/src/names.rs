// SPDX-License-Identifier: GPL-2.0

//! Names the compiler makes: `.cold` parts of functions, numbered statics (`count.3`),
//! `__UNIQUE_ID_*` names, and what they are correlated under.

pub fn is_cold(name: &str) -> bool {
    name.ends_with(".cold") || name.contains(".cold.")
}

/// The name of a function as a string constant the compiler makes (`__func__.0`,
/// `__FUNCTION__.3`, `__PRETTY_FUNCTION__.1`): characters nothing compares by address, so a
/// copy is as good as the running kernel's.
pub fn is_function_name_string(name: &str) -> bool {
    matches!(
        numbered_stem(name).unwrap_or(name),
        "__func__" | "__FUNCTION__" | "__PRETTY_FUNCTION__"
    )
}

/// The function a `.cold` part belongs to.
pub fn cold_parent(name: &str) -> &str {
    name.rfind(".cold").map(|i| &name[..i]).unwrap_or(name)
}

/// `name` without a trailing `.<digits>` (the number GCC gives a static local or a clone).
pub(crate) fn numbered_stem(name: &str) -> Option<&str> {
    let (stem, n) = name.rsplit_once('.')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !stem.is_empty()).then_some(stem)
}

/// The name a local data object is correlated under, numbers left out: `count` for
/// `count.3` (GCC numbers static locals in the order it meets them), `__UNIQUE_ID_ddebug`
/// for `__UNIQUE_ID_ddebug412` or `__UNIQUE_ID_ddebug412.7` (the preprocessor's
/// `__COUNTER__`, which a macro used above renumbers). `None` for a name with neither.
pub(crate) fn correlation_stem(name: &str) -> Option<String> {
    let base = numbered_stem(name).unwrap_or(name);
    if let Some(id) = base.strip_prefix("__UNIQUE_ID_") {
        let kept = id.trim_end_matches(|c: char| c.is_ascii_digit());
        if kept.len() < id.len() {
            return Some(format!("__UNIQUE_ID_{kept}"));
        }
    }
    numbered_stem(name).map(str::to_owned)
}

/// A Rust symbol (`_RNvCs..._18splice_target_rust7compute`, mangled v0 as the kernel's
/// `-Csymbol-mangling-version=v0` makes it) as its path without the crate's hash
/// (`splice_target_rust::compute`); `None` for any other symbol.
pub fn rust_path(name: &str) -> Option<String> {
    if !name.starts_with("_R") {
        return None;
    }
    rustc_demangle::try_demangle(name)
        .ok()
        .map(|d| format!("{d:#}"))
}

#[cfg(test)]
mod rust_path_tests {
    #[test]
    fn v0_symbols_read_as_paths() {
        assert_eq!(
            super::rust_path("_RNvCslCy5zVk4MON_18splice_target_rust7compute").as_deref(),
            Some("splice_target_rust::compute")
        );
        assert_eq!(
            super::rust_path("_RNvNtCs1EKtwoKEMO2_6kernel3str16kstrtobool_bytes").as_deref(),
            Some("kernel::str::kstrtobool_bytes")
        );
        assert_eq!(super::rust_path("splice_target_compute"), None);
    }
}
