// SPDX-License-Identifier: GPL-2.0

//! The input pass: what the generator reads besides the objects. The patch, what Kbuild
//! recorded of the built tree, the post source with the pre line numbers kept, and the
//! kernel's symbols (`Module.symvers`, `System.map`).

pub mod diff;
pub mod kbuild;
pub mod lines;
pub mod rustc;
pub mod symvers;
