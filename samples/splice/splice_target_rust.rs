// SPDX-License-Identifier: GPL-2.0

//! Target code for splice packs, in a Rust module.
//!
//! `/sys/kernel/splice_target_rust/value` shows what [`compute`] makes of 21, a function of this
//! module's crate; `parsed` shows the last number written to it as the kernel crate's
//! `ParseInt` read it (`010` is octal there); `enabled` a flag written as the kernel crate's
//! `kstrtobool_bytes()` reads it. The catalogue's Rust cases replace a function of each crate
//! while the module is loaded.

use core::fmt::Write;
use kernel::kobject::{Attribute, Dir, Mode, Operations, Page};
use kernel::prelude::*;
use kernel::str::{parse_int::ParseInt, BStr};
use kernel::sync::atomic::{Atomic, Relaxed};

module! {
    type: SpliceTargetRust,
    name: "splice_target_rust",
    authors: ["splice developers"],
    description: "Target code for splice packs, in a Rust module",
    license: "GPL",
}

/// The value `value` shows: twice `x`.
#[inline(never)]
fn compute(x: u32) -> u32 {
    x * 2
}

#[derive(Clone, Copy)]
enum File {
    Value,
    Parsed,
    Enabled,
}

struct Target {
    parsed: Atomic<u32>,
    enabled: Atomic<u32>,
}

impl Operations for Target {
    type Id = File;
    const ATTRIBUTES: &'static [Attribute<File>] = &[
        Attribute::new(c"value", Mode::READ_ONLY, File::Value),
        Attribute::new(c"parsed", Mode::ROOT_READ_WRITE, File::Parsed),
        Attribute::new(c"enabled", Mode::ROOT_READ_WRITE, File::Enabled),
    ];

    fn show(&self, file: File, page: &mut Page<'_>) -> Result {
        match file {
            File::Value => writeln!(page, "{}", compute(core::hint::black_box(21)))?,
            File::Parsed => writeln!(page, "{}", self.parsed.load(Relaxed))?,
            File::Enabled => writeln!(page, "{}", self.enabled.load(Relaxed))?,
        }
        Ok(())
    }

    fn store(&self, file: File, input: &[u8]) -> Result {
        match file {
            File::Parsed => {
                let n = u32::from_str(BStr::from_bytes(input.trim_ascii()))?;
                self.parsed.store(n, Relaxed);
                Ok(())
            }
            File::Enabled => {
                let on = kernel::str::kstrtobool_bytes(input)?;
                self.enabled.store(u32::from(on), Relaxed);
                Ok(())
            }
            File::Value => Err(EINVAL),
        }
    }
}

struct SpliceTargetRust {
    _dir: Dir<Target>,
}

impl kernel::Module for SpliceTargetRust {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new_in_kernel(
            c"splice_target_rust",
            Target {
                parsed: Atomic::new(0),
                enabled: Atomic::new(0),
            },
        )?;
        Ok(SpliceTargetRust { _dir: dir })
    }
}
