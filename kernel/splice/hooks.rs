// SPDX-License-Identifier: GPL-2.0

//! Hooks of a pack: functions the patch author supplies for fixes that change the meaning of
//! data. Their kinds and contexts are documented in `include/linux/splice_pack.h`.

use kernel::bindings;
use kernel::prelude::*;

/// When hooks run; the values are `enum splice_hook_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Pre,
    Check,
    Do,
    Post,
    Fail,
}

impl Kind {
    fn number(self, reverse: bool) -> u32 {
        let base = if reverse {
            bindings::splice_hook_kind_SPLICE_HOOK_PRE_REVERSE
        } else {
            bindings::splice_hook_kind_SPLICE_HOOK_PRE_APPLY
        };
        base + self as u32
    }

    /// The kind's name as the kernel log and the documentation write it (`pre-apply`, ...).
    pub(crate) fn name(self, reverse: bool) -> &'static str {
        match (self, reverse) {
            (Self::Pre, false) => "pre-apply",
            (Self::Check, false) => "check-apply",
            (Self::Do, false) => "apply",
            (Self::Post, false) => "post-apply",
            (Self::Fail, false) => "fail-apply",
            (Self::Pre, true) => "pre-reverse",
            (Self::Check, true) => "check-reverse",
            (Self::Do, true) => "reverse",
            (Self::Post, true) => "post-reverse",
            (Self::Fail, true) => "fail-reverse",
        }
    }
}

/// The hook table of a registered pack.
///
/// # Invariants
///
/// `table` points to `len` hooks in the pack module, which stays loaded while the pack is
/// registered; each `fn` is null or a function of that module.
#[derive(Clone, Copy)]
pub(crate) struct Hooks {
    table: *const bindings::splice_hook,
    len: usize,
}

impl Hooks {
    /// # Safety
    ///
    /// `table` points to `len` valid hooks that outlive the returned value.
    pub(crate) unsafe fn new(table: *const bindings::splice_hook, len: usize) -> Self {
        let len = if table.is_null() { 0 } else { len };
        // INVARIANT: By the safety requirements.
        Self { table, len }
    }

    fn all(&self) -> &[bindings::splice_hook] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: By the type invariants.
        unsafe { core::slice::from_raw_parts(self.table, self.len) }
    }

    /// Whether the pack declares no hooks.
    pub(crate) fn is_empty(&self) -> bool {
        self.all().is_empty()
    }

    /// The index of the first hook whose function does not pass `within` (a function of the
    /// pack module), if any.
    pub(crate) fn first_outside(&self, within: impl Fn(usize) -> bool) -> Option<usize> {
        self.all()
            .iter()
            .position(|h| h.fn_.is_some_and(|f| !within(f as usize)))
    }

    /// Whether any hook has a kind this core does not know.
    pub(crate) fn has_unknown_kind(&self) -> bool {
        self.all()
            .iter()
            .any(|h| h.kind >= bindings::splice_hook_kind_SPLICE_HOOK_KINDS)
    }

    /// Runs the hooks of `kind` in table order. For `Pre` and `Check` the first failure stops
    /// the run and is returned; the other kinds cannot fail and all of them run. A failure is
    /// logged with `pack`'s name, the hook's kind and its entry in the table.
    pub(crate) fn run(
        &self,
        pack: &CStr,
        kind: Kind,
        reverse: bool,
    ) -> core::result::Result<(), i32> {
        let n = kind.number(reverse);
        for (i, h) in self.all().iter().enumerate().filter(|(_, h)| h.kind == n) {
            let Some(f) = h.fn_ else { continue };
            // SAFETY: By the type invariants `f` is a function of the loaded pack module with
            // the documented signature; its context rules are the documented ones for `kind`.
            let ret = unsafe { f() };
            if ret == 0 {
                continue;
            }
            let name = kind.name(reverse);
            if matches!(kind, Kind::Pre | Kind::Check) {
                pr_warn!("{pack:?}: hook_failed: its {name} hook (entry {i}) returned {ret}\n");
                return Err(ret);
            }
            pr_warn!(
                "{pack:?}: its {name} hook (entry {i}) returned {ret}; that kind cannot fail: ignored\n"
            );
        }
        Ok(())
    }
}

// SAFETY: The table is read-only data of a module that outlives the registration; calling
// hooks from any task is allowed by the documented contract.
unsafe impl Send for Hooks {}

// SAFETY: As for `Send`: the table is never written.
unsafe impl Sync for Hooks {}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_hooks)]
mod tests {
    use super::*;

    extern "C" fn ok_hook() -> i32 {
        0
    }

    /// A hook table whose second function lies outside the range a pack module would have
    /// is found, by index; an empty slot is no function.
    #[test]
    fn a_hook_outside_the_pack_is_found() {
        let f: unsafe extern "C" fn() -> i32 = ok_hook;
        let table = [
            bindings::splice_hook {
                kind: bindings::splice_hook_kind_SPLICE_HOOK_PRE_APPLY,
                fn_: Some(f),
            },
            bindings::splice_hook {
                kind: bindings::splice_hook_kind_SPLICE_HOOK_POST_APPLY,
                fn_: Some(f),
            },
            bindings::splice_hook {
                kind: bindings::splice_hook_kind_SPLICE_HOOK_POST_APPLY,
                fn_: None,
            },
        ];
        // SAFETY: `table` outlives `hooks`.
        let hooks = unsafe { Hooks::new(table.as_ptr(), table.len()) };
        let at = f as usize;
        assert_eq!(hooks.first_outside(|a| a == at), None);
        assert_eq!(hooks.first_outside(|a| a != at), Some(0));
        // SAFETY: As above.
        let tail = unsafe { Hooks::new(table.as_ptr().wrapping_add(2), 1) };
        assert_eq!(tail.first_outside(|_| false), None);
    }
}
