// SPDX-License-Identifier: GPL-2.0

//! splice: rebootless updates of kernel code.
//!
//! splice replaces functions of the running kernel with fixed versions carried by splice packs
//! (kernel modules made by `splice-create`). The administrator drives it through
//! `/sys/kernel/splice/`. See `Documentation/splice/` for the design and the ABI.
//!
//! One concern per file: `pack` reads a pack's metadata, `registry` keeps the loaded packs,
//! `sysfs` shows them, `matcher` and `resolve` prove a pack fits the running code, `stackcheck`
//! finds tasks in code about to change, `park` moves those it can out of it, `patch` runs the
//! actions, `modules` patches modules as they load, `reserved` keeps kprobes off the jumps it
//! writes, `hooks` and `shadow` serve patch authors.

mod buildid;
mod hooks;
mod matcher;
mod modules;
mod pack;
mod park;
mod patch;
mod registry;
mod reserved;
mod resolve;
mod shadow;
mod stackcheck;
mod stage;
mod sysfs;

use kernel::kobject::Dir;
use kernel::prelude::*;

module! {
    type: Splice,
    name: "splice",
    authors: ["The splice developers"],
    description: "Rebootless updates of kernel code",
    license: "GPL",
}

/// The splice core. Built in: it never goes away.
struct Splice;

impl kernel::Module for Splice {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        reserved::init();
        let root = Dir::new_in_kernel(c"splice", sysfs::Root)?;
        registry::init(root)?;
        modules::init()?;
        pr_info!("version {}: /sys/kernel/splice ready\n", sysfs::VERSION);
        Ok(Splice)
    }
}
