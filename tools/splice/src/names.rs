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
