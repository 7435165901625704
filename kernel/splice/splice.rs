// SPDX-License-Identifier: GPL-2.0

//! splice: rebootless updates of kernel code.
//!
//! splice replaces functions of the running kernel with fixed versions carried by splice packs
//! (kernel modules made by `splice-create`). The administrator drives it through
//! `/sys/kernel/splice/`. See `Documentation/splice/` for the design and the ABI.

// The pack parser and the stage machine are used by the KUnit tests; the registry that uses
// them at run time comes with pack loading.
#[cfg_attr(not(CONFIG_SPLICE_KUNIT_TEST), allow(dead_code))]
mod pack;
#[cfg_attr(not(CONFIG_SPLICE_KUNIT_TEST), allow(dead_code))]
mod stage;

use core::fmt::Write;
use kernel::kobject::{Attribute, Dir, Mode, Operations, Page};
use kernel::prelude::*;

/// The version of the splice core, shown in `/sys/kernel/splice/version`.
const VERSION: &str = "0.1.0";

/// The files of `/sys/kernel/splice/`.
#[derive(Clone, Copy)]
enum RootFile {
    Version,
}

/// What `/sys/kernel/splice/` carries.
struct Root;

impl Operations for Root {
    type Id = RootFile;
    const ATTRIBUTES: &'static [Attribute<RootFile>] = &[Attribute::new(
        c"version",
        Mode::READ_ONLY,
        RootFile::Version,
    )];

    fn show(&self, file: RootFile, page: &mut Page<'_>) -> Result {
        match file {
            RootFile::Version => writeln!(page, "{VERSION}")?,
        }
        Ok(())
    }
}

module! {
    type: Splice,
    name: "splice",
    authors: ["The splice developers"],
    description: "Rebootless updates of kernel code",
    license: "GPL",
}

/// The splice core: owns `/sys/kernel/splice/`.
struct Splice {
    _root: Dir<Root>,
}

impl kernel::Module for Splice {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let root = Dir::new_in_kernel(c"splice", Root)?;
        pr_info!("splice {VERSION}: /sys/kernel/splice ready\n");
        Ok(Splice { _root: root })
    }
}
