// SPDX-License-Identifier: GPL-2.0

//! The jump sites of applied packs, which kprobes keep off.
//!
//! A kprobe put on a jump would write `int3` over its first byte and run, out of line, the copy
//! of the instruction it found there; one registered on the original bytes before the jump was
//! written would run a copy of an instruction that is gone. So the switch holds kprobes off
//! ([`KprobesHeld`]) while it checks the sites (no kprobe registered on them, armed or not),
//! writes and records them; `__register_kprobe()` asks [`splice_text_reserved`] under the same
//! `kprobe_mutex` and refuses a reserved address with `-EBUSY`.
//!
//! Other kprobes cannot reach a jump: the 5 bytes before a jump site are the function's ftrace
//! call site or `endbr` (which kprobes probe through ftrace, or move past), or the end of
//! another function (an optimized kprobe's jump stays inside its function). The jump of a
//! function too short for one after its entry is at the start of its prefix, after another
//! function's end, and its 2-byte hop after the entry is reserved with it.

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::text_patching::KprobesHeld;

kernel::sync::global_lock! {
    // SAFETY: Initialized in the module initializer, before the first use; `splice_text_reserved`
    // does not use it before (`READY`).
    unsafe(uninit) static RESERVED: Mutex<KVec<(usize, usize)>> = KVec::new();
}

/// Whether [`RESERVED`] is initialized: kprobes may be registered before splice starts.
static READY: AtomicBool = AtomicBool::new(false);

/// Initializes the table. Called once, from the module initializer.
pub(crate) fn init() {
    // SAFETY: Called once, before anything else uses the lock.
    unsafe { RESERVED.init() };
    READY.store(true, Ordering::Release);
}

/// Whether `start..=end` overlaps one of `ranges` (each `start..end`).
fn overlaps(ranges: &[(usize, usize)], start: usize, end: usize) -> bool {
    ranges.iter().any(|&(s, e)| start < e && s <= end)
}

/// Records `sites` (each `start..end`) as jump sites. All or none: on failure nothing is
/// recorded. `_held` keeps kprobes out meanwhile.
pub(crate) fn reserve(_held: &KprobesHeld, sites: &[(usize, usize)]) -> Result {
    let mut table = RESERVED.lock();
    table.reserve(sites.len(), GFP_KERNEL)?;
    for &site in sites {
        table.push_within_capacity(site).map_err(|_| ENOMEM)?;
    }
    Ok(())
}

/// Forgets one record of each of `sites` (a site stays reserved while another pack applied on
/// it keeps its own record).
pub(crate) fn release(_held: &KprobesHeld, sites: &[(usize, usize)]) {
    let mut table = RESERVED.lock();
    for site in sites {
        if let Some(i) = table.iter().position(|r| r == site) {
            // In range: `i` was just found.
            let _ = table.remove(i);
        }
    }
}

/// Whether `start..=end` overlaps the jump at a target of an applied pack. Called by
/// `__register_kprobe()` with `kprobe_mutex` held (`include/linux/splice_pack.h`).
#[no_mangle]
pub(crate) extern "C" fn splice_text_reserved(start: *mut c_void, end: *mut c_void) -> bool {
    if !READY.load(Ordering::Acquire) {
        return false;
    }
    overlaps(&RESERVED.lock(), start as usize, end as usize)
}

#[cfg(CONFIG_SPLICE_KUNIT_TEST)]
#[kernel::macros::kunit_tests(splice_reserved)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_on_any_byte_of_a_jump_overlaps_it() {
        let jumps = [(0x1000, 0x1005), (0x2000, 0x2005)];
        for a in 0x1000..0x1005 {
            assert!(overlaps(&jumps, a, a));
        }
        assert!(!overlaps(&jumps, 0xfff, 0xfff));
        assert!(!overlaps(&jumps, 0x1005, 0x1005));
        // A range that covers a jump from before it.
        assert!(overlaps(&jumps, 0x1ff0, 0x2000));
        assert!(!overlaps(&[], 0x1000, 0x1000));
    }

    #[test]
    fn reserved_sites_are_refused_until_released() -> Result {
        let site = (0x10usize, 0x15usize);
        let asks = |a: usize| splice_text_reserved(a as *mut c_void, a as *mut c_void);
        let held = KprobesHeld::new();
        assert!(!asks(0x12));
        reserve(&held, &[site, site])?;
        assert!(asks(0x12));
        // Two packs on one site: it stays reserved until both went.
        release(&held, &[site]);
        assert!(asks(0x12));
        release(&held, &[site]);
        assert!(!asks(0x12));
        Ok(())
    }
}
