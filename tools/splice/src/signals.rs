// SPDX-License-Identifier: GPL-2.0

//! Holding back the signals that end a command while it is between two steps that must both
//! happen: a crash marker and its removal ([`crate::boot::Marker`]), the kernel's tunables set
//! for one action and put back after it.

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use std::io;

/// `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGPIPE` held back while this lives: they are delivered
/// when it goes. Nested holds put back the mask each found, so the outermost one delivers.
///
/// # Invariants
///
/// `mask` is the signal mask from before this was made, put back when it goes.
pub struct Held {
    mask: SigSet,
}

impl Held {
    /// Holds the signals back.
    pub fn new() -> io::Result<Held> {
        let mut held = SigSet::empty();
        for s in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGPIPE,
        ] {
            held.add(s);
        }
        let mut mask = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut mask))?;
        Ok(Held { mask })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.mask), None);
    }
}
