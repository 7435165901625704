// SPDX-License-Identifier: GPL-2.0

//! The life of a pack: its stages, the actions that move it, and the named causes of an
//! aborted action.
//!
//! ```text
//!   loaded --check--> checked --apply--> applied --reverse--> reversed
//!      |                 ^ |                                     | |
//!      +-----apply-------|-+---------------------------------------+ +--check/apply-->
//! ```
//!
//! `check` and `apply` are valid in every stage but `applied`; `reverse` only in `applied`.
//! An action that is not valid in the current stage is refused with `EINVAL` and changes
//! nothing. An action that fails leaves the stage as it was and records an [`AbortCause`].

use kernel::prelude::*;

/// Where a pack is in its life. Shown by `/sys/kernel/splice/<pack>/stage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Registered; nothing in the kernel changed.
    Loaded,
    /// Matched and resolved against the running kernel; nothing changed.
    Checked,
    /// The targets run the pack's code.
    Applied,
    /// Was applied, and the original code runs again.
    Reversed,
}

impl Stage {
    /// The name shown in sysfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Checked => "checked",
            Self::Applied => "applied",
            Self::Reversed => "reversed",
        }
    }
}

/// What an administrator can ask of a pack by writing to `stage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Check,
    Apply,
    Reverse,
}

impl Action {
    /// Parses a write to `stage`; one trailing newline is allowed.
    pub(crate) fn parse(input: &[u8]) -> Result<Self> {
        let word = input.strip_suffix(b"\n").unwrap_or(input);
        match word {
            b"check" => Ok(Self::Check),
            b"apply" => Ok(Self::Apply),
            b"reverse" => Ok(Self::Reverse),
            _ => Err(EINVAL),
        }
    }

    /// The word written to `stage` for the action.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Apply => "apply",
            Self::Reverse => "reverse",
        }
    }

    /// Whether the action may start in `stage`.
    pub(crate) fn valid_in(self, stage: Stage) -> bool {
        match self {
            Self::Check | Self::Apply => stage != Stage::Applied,
            Self::Reverse => stage == Stage::Applied,
        }
    }

    /// The stage after the action succeeded.
    pub(crate) fn success_stage(self) -> Stage {
        match self {
            Self::Check => Stage::Checked,
            Self::Apply => Stage::Applied,
            Self::Reverse => Stage::Reversed,
        }
    }
}

/// Why the last action of a pack failed. Shown by `/sys/kernel/splice/<pack>/abort_cause`;
/// each is documented in `Documentation/splice/admin-guide.rst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AbortCause {
    None,
    NoMatch,
    AmbiguousMatch,
    CodeBusy,
    TargetNotLoaded,
    HookFailed,
    BadPack,
    KernelMismatch,
    ConflictingPack,
    OutOfMemory,
    UnresolvedSymbol,
    CannotRedirect,
    Livepatched,
    /// A CPU did not take the commit NMI in time: nothing was written.
    NmiNotHeld,
    /// The bytes at a jump site changed since the check (another code patcher).
    TextChanged,
}

impl AbortCause {
    /// The name shown in sysfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::NoMatch => "no_match",
            Self::AmbiguousMatch => "ambiguous_match",
            Self::CodeBusy => "code_busy",
            Self::TargetNotLoaded => "target_not_loaded",
            Self::HookFailed => "hook_failed",
            Self::BadPack => "bad_pack",
            Self::KernelMismatch => "kernel_mismatch",
            Self::ConflictingPack => "conflicting_pack",
            Self::OutOfMemory => "out_of_memory",
            Self::UnresolvedSymbol => "unresolved_symbol",
            Self::CannotRedirect => "cannot_redirect",
            Self::Livepatched => "livepatched",
            Self::NmiNotHeld => "nmi_not_held",
            Self::TextChanged => "text_changed",
        }
    }

    /// The error code a failed `stage` write returns for this cause.
    pub(crate) fn errno(self) -> Error {
        match self {
            Self::None => EINVAL,
            Self::NoMatch | Self::AmbiguousMatch | Self::KernelMismatch => ENOEXEC,
            Self::CodeBusy => EBUSY,
            Self::NmiNotHeld => EAGAIN,
            Self::TextChanged => Error::from_errno(-(kernel::bindings::ESTALE as i32)),
            Self::TargetNotLoaded | Self::UnresolvedSymbol => ENOENT,
            Self::HookFailed => Error::from_errno(-(kernel::bindings::ECANCELED as i32)),
            Self::BadPack => EINVAL,
            Self::CannotRedirect => Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)),
            Self::ConflictingPack | Self::Livepatched => EEXIST,
            Self::OutOfMemory => ENOMEM,
        }
    }
}

/// The stage of a pack and the cause of its last failure.
pub(crate) struct Life {
    stage: Stage,
    cause: AbortCause,
}

impl Life {
    /// A pack that has just been loaded.
    pub(crate) fn new() -> Self {
        Self {
            stage: Stage::Loaded,
            cause: AbortCause::None,
        }
    }

    pub(crate) fn stage(&self) -> Stage {
        self.stage
    }

    pub(crate) fn cause(&self) -> AbortCause {
        self.cause
    }

    /// An applied pack that a replace pack took over from: its code no longer runs, as after
    /// a reverse ([`Stage::Reversed`]).
    pub(crate) fn superseded(&mut self) {
        self.stage = Stage::Reversed;
        self.cause = AbortCause::None;
    }

    /// Records why something the pack did on its own failed (a module it waits for did not
    /// match, and was refused); the stage stays.
    pub(crate) fn note(&mut self, cause: AbortCause) {
        self.cause = cause;
    }

    /// Runs `action` if it is valid in the current stage: `run` does the work and returns the
    /// cause of its failure, if any. The stage moves only on success; the cause is recorded
    /// either way. An invalid action returns `EINVAL` without calling `run` or changing the
    /// recorded cause.
    pub(crate) fn perform(
        &mut self,
        action: Action,
        run: impl FnOnce() -> core::result::Result<(), AbortCause>,
    ) -> Result {
        if !action.valid_in(self.stage) {
            return Err(EINVAL);
        }
        match run() {
            Ok(()) => {
                self.stage = action.success_stage();
                self.cause = AbortCause::None;
                Ok(())
            }
            Err(cause) => {
                self.cause = cause;
                Err(cause.errno())
            }
        }
    }
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_stage)]
mod tests {
    use super::*;

    const ALL: [Stage; 4] = [
        Stage::Loaded,
        Stage::Checked,
        Stage::Applied,
        Stage::Reversed,
    ];

    #[test]
    fn names_are_the_documented_abi() {
        let stages = ALL.map(Stage::name);
        assert_eq!(stages, ["loaded", "checked", "applied", "reversed"]);
        let causes = [
            (AbortCause::None, "none"),
            (AbortCause::NoMatch, "no_match"),
            (AbortCause::AmbiguousMatch, "ambiguous_match"),
            (AbortCause::CodeBusy, "code_busy"),
            (AbortCause::TargetNotLoaded, "target_not_loaded"),
            (AbortCause::HookFailed, "hook_failed"),
            (AbortCause::BadPack, "bad_pack"),
            (AbortCause::KernelMismatch, "kernel_mismatch"),
            (AbortCause::ConflictingPack, "conflicting_pack"),
            (AbortCause::OutOfMemory, "out_of_memory"),
            (AbortCause::UnresolvedSymbol, "unresolved_symbol"),
            (AbortCause::CannotRedirect, "cannot_redirect"),
            (AbortCause::Livepatched, "livepatched"),
            (AbortCause::NmiNotHeld, "nmi_not_held"),
            (AbortCause::TextChanged, "text_changed"),
        ];
        for (cause, name) in causes {
            assert_eq!(cause.name(), name);
            // Every failure returns an error; only `none` maps to the generic EINVAL.
            if cause != AbortCause::None && cause != AbortCause::BadPack {
                assert_ne!(cause.errno(), EINVAL);
            }
        }
    }

    #[test]
    fn parse_actions() {
        assert_eq!(Action::parse(b"check"), Ok(Action::Check));
        assert_eq!(Action::parse(b"apply\n"), Ok(Action::Apply));
        assert_eq!(Action::parse(b"reverse\n"), Ok(Action::Reverse));
        assert_eq!(Action::parse(b"reverse\n\n"), Err(EINVAL));
        assert_eq!(Action::parse(b"Apply"), Err(EINVAL));
        assert_eq!(Action::parse(b""), Err(EINVAL));
        assert_eq!(Action::parse(b"applied"), Err(EINVAL));
        for a in [Action::Check, Action::Apply, Action::Reverse] {
            assert_eq!(Action::parse(a.name().as_bytes()), Ok(a));
        }
    }

    #[test]
    fn valid_transitions_move_the_stage() {
        let mut l = Life::new();
        assert_eq!(l.stage(), Stage::Loaded);
        assert_eq!(l.perform(Action::Check, || Ok(())), Ok(()));
        assert_eq!(l.stage(), Stage::Checked);
        assert_eq!(l.perform(Action::Apply, || Ok(())), Ok(()));
        assert_eq!(l.stage(), Stage::Applied);
        assert_eq!(l.perform(Action::Reverse, || Ok(())), Ok(()));
        assert_eq!(l.stage(), Stage::Reversed);
        // A reversed pack can be applied again.
        assert_eq!(l.perform(Action::Apply, || Ok(())), Ok(()));
        assert_eq!(l.stage(), Stage::Applied);
    }

    #[test]
    fn invalid_actions_are_einval_and_change_nothing() {
        for stage in ALL {
            for action in [Action::Check, Action::Apply, Action::Reverse] {
                let mut l = Life {
                    stage,
                    cause: AbortCause::CodeBusy,
                };
                let mut ran = false;
                let r = l.perform(action, || {
                    ran = true;
                    Ok(())
                });
                if action.valid_in(stage) {
                    assert!(ran && r.is_ok());
                } else {
                    assert_eq!(r, Err(EINVAL));
                    assert!(!ran);
                    assert_eq!(l.stage(), stage);
                    assert_eq!(l.cause(), AbortCause::CodeBusy);
                }
            }
        }
        assert!(!Action::Apply.valid_in(Stage::Applied));
        assert!(!Action::Check.valid_in(Stage::Applied));
        assert!(!Action::Reverse.valid_in(Stage::Loaded));
        assert!(!Action::Reverse.valid_in(Stage::Reversed));
    }

    #[test]
    fn failures_keep_the_stage_and_name_the_cause() {
        let mut l = Life::new();
        assert_eq!(
            l.perform(Action::Apply, || Err(AbortCause::CodeBusy)),
            Err(EBUSY)
        );
        assert_eq!(l.stage(), Stage::Loaded);
        assert_eq!(l.cause().name(), "code_busy");
        assert_eq!(
            l.perform(Action::Check, || Err(AbortCause::NoMatch)),
            Err(ENOEXEC)
        );
        assert_eq!(l.cause().name(), "no_match");
        assert_eq!(l.perform(Action::Check, || Ok(())), Ok(()));
        assert_eq!(l.cause(), AbortCause::None);
        assert_eq!(l.cause().name(), "none");
    }
}
