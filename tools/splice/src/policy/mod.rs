// SPDX-License-Identifier: GPL-2.0

//! The policy pass: every refusal of the generator, in one place. A fix that splice
//! cannot make live is refused here, by name and with what to do, whether the step that
//! finds it is `generate` (the patch, the tree) or `assemble` (the objects).
//!
//! * [`files`][]: what the patch touches (file kinds, git-style diffs, Rust, assembly).
//! * [`layout`][], [`types`][], [`macros`][]: type layouts (from the source text and from
//!   the compiled types) and the headers that only gain macros.
//! * [`code`][]: changed code a pack cannot redirect (boot-time, idle, entry).
//! * [`data`][]: changes of existing data, whose live copy would not follow.
//! * [`tables`][]: boot- and load-time tables, which no pack changes.
//! * [`room`][]: targets whose running code has no room for the jump.
//! * [`resolvable`][]: symbols left to the core that it will not find.
//!
//! A stop is one typed value ([`Stop`]) whose [`Kind`] gives `splice-create`'s exit code
//! and the report's `kind`.

pub mod code;
pub mod data;
pub mod files;
pub mod layout;
pub mod macros;
pub mod resolvable;
pub mod room;
pub mod tables;
pub mod types;

use serde::Serialize;

/// Why `splice-create` made no pack, when it is not a failure of the tool itself: the
/// exit code and the report's `kind` say which ([`Stop::exit_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The fix is one splice cannot make live (the message names what and why).
    Refused,
    /// The fix changes no compiled code of this kernel.
    NoFunctionalChange,
    /// A replacement is not the code an ordinary build makes ([`crate::equiv`]).
    GeneratorBug,
}

/// A stop of kind `kind`; the error chain it came from is its message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Stop {
    pub kind: Kind,
    pub message: String,
}

impl Stop {
    /// `splice-create`'s exit code: 3 refused, 4 no functional change, 1 a tool error (a
    /// generator bug is one).
    pub fn exit_code(kind: Option<Kind>) -> u8 {
        match kind {
            Some(Kind::Refused) => 3,
            Some(Kind::NoFunctionalChange) => 4,
            Some(Kind::GeneratorBug) | None => 1,
        }
    }

    /// The kind of `e`, if it is a stop rather than a failure of the tool.
    pub fn kind_of(e: &anyhow::Error) -> Option<Kind> {
        e.downcast_ref::<Stop>().map(|s| s.kind)
    }
}

/// `e` as a stop of kind `kind`.
pub(crate) fn stop(kind: Kind) -> impl FnOnce(anyhow::Error) -> anyhow::Error {
    move |e| {
        anyhow::Error::new(Stop {
            kind,
            message: format!("{e:#}"),
        })
    }
}
