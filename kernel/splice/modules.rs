// SPDX-License-Identifier: GPL-2.0

//! Packs that patch modules when they load (`splice-create --on-load`).
//!
//! Applied, such a pack redirects the targets of the modules loaded then and keeps the others
//! waiting ([`registry::Entry::waiting`]); it keeps no target module pinned. When a module
//! comes (`MODULE_STATE_COMING`, from `modules.c`, before its init runs), the targets waiting
//! for it are run-pre matched against its code and redirected: nothing runs that code yet, so
//! no stop is needed. A module whose code does not match refuses to load, with the cause in
//! the kernel log and in the pack's `abort_cause`, as livepatch refuses; nothing armed in it by
//! other packs stays. When it goes, its targets wait for it again. Both take
//! [`registry::ACTIONS`]: they are actions of the packs, one at a time with the others; a
//! module no applied pack waits for takes nothing but a look at the registry, unless an action
//! of such a pack runs, which it waits for (that action may have found the module absent).

use crate::patch::Armed;
use crate::registry::{self, ACTIONS};
use crate::stage::Stage;
use kernel::bindings;
use kernel::prelude::*;
use kernel::str::CString;

extern "C" {
    /// `kernel/splice/modules.c`.
    fn splice_modules_init() -> core::ffi::c_int;
}

/// Registers the module notifier. Called once, from the core's init.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, after the registry is ready; the notifier it registers calls the
    // functions below.
    kernel::error::to_result(unsafe { splice_modules_init() })
}

/// Whether `e`, applied, has targets waiting for module `name`.
fn waits_for(e: &registry::Entry, name: &CStr) -> bool {
    if e.life.stage() != Stage::Applied || e.waiting.is_empty() {
        return false;
    }
    let pack = e.pack();
    let waits = pack.targets().enumerate().any(|(i, t)| {
        e.waiting.contains(&i)
            && pack
                .function(t.function)
                .and_then(|f| pack.object(f.object))
                .is_some_and(|o| o.module.to_bytes() == name.to_bytes())
    });
    waits
}

/// The applied packs with targets waiting for module `name`, in the order they were applied: a
/// pack applied over another's replacement in that module is matched after that one is armed.
fn waiting_for(name: &CStr) -> Result<KVec<u64>> {
    let reg = registry::lock();
    let mut packs = KVec::new();
    for e in reg.packs.iter().filter(|e| waits_for(e, name)) {
        packs.push((e.applied_seq, e.id), GFP_KERNEL)?;
    }
    packs.sort_unstable();
    let mut ids = KVec::with_capacity(packs.len(), GFP_KERNEL)?;
    for (_, id) in packs {
        ids.push(id, GFP_KERNEL)?;
    }
    Ok(ids)
}

/// Redirects the targets waiting for module `name`, which is being loaded; an error refuses
/// the module. All or nothing: a refused module is freed without going (the loader tells only
/// the notifiers before the one that refused), so what was armed in it before the refusal is
/// given back here, and those targets wait for the module again.
///
/// An action of a pack that patches modules on load may be under way, and may have found this
/// module absent (its targets then wait) without being recorded yet: this waits for it, and
/// then sees what it recorded. (Such a pack's hooks must therefore not load modules.)
fn coming(name: &CStr) -> Result {
    if waiting_for(name)?.is_empty() && !on_load_acting() {
        return Ok(());
    }
    let _one = ACTIONS.lock();
    let mut armed_here = KVec::new();
    let result = arm_waiting(name, &mut armed_here);
    if result.is_err() {
        disarm(&armed_here);
    }
    result
}

/// Whether an action of a pack that patches modules on load runs.
fn on_load_acting() -> bool {
    let reg = registry::lock();
    let acting = reg
        .packs
        .iter()
        .any(|e| e.acting && e.pack().patches_on_load());
    acting
}

/// Arms, in order, the applied packs waiting for module `name`, and records each in the
/// registry; `armed_here` gets each pack whose jumps were written.
fn arm_waiting(name: &CStr, armed_here: &mut KVec<(u64, Armed)>) -> Result {
    for id in waiting_for(name)?.iter().copied() {
        let t0 = kernel::time::Instant::<kernel::time::Monotonic>::now();
        let (m, waiting) = {
            let reg = registry::lock();
            let Some(m) = reg.matching(id)? else {
                continue;
            };
            let mut w = KVec::new();
            if let Some(e) = reg.get(id) {
                w.extend_from_slice(&e.waiting, GFP_KERNEL)?;
            }
            (m, w)
        };
        armed_here.reserve(1, GFP_KERNEL)?;
        let done = crate::patch::arm(&m, name, &waiting)
            .and_then(|armed| crate::patch::write_armed(&armed).map(|()| armed));
        let done = match done {
            Ok(armed) => {
                // Room was made above: this does not fail.
                armed_here
                    .push_within_capacity((id, armed))
                    .map_err(|_| ENOMEM)?;
                Ok(())
            }
            Err(cause) => Err(cause),
        };
        let mut reg = registry::lock();
        let refuse = reg.refuse_mismatched_modules;
        let Some(e) = reg.get_mut(id) else {
            continue;
        };
        match done {
            Ok(()) => {
                let Some((_, armed)) = armed_here.last() else {
                    return Err(EINVAL);
                };
                // Room first: once the jumps are recorded, nothing here fails.
                e.targets.reserve(armed.targets.len(), GFP_KERNEL)?;
                e.timings.load_ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(0);
                e.waiting.retain(|i| !armed.indices.contains(i));
                e.targets.extend_from_slice(&armed.targets, GFP_KERNEL)?;
                pr_info!(
                    "{:?}: {} targets of module {name:?} redirected as it loads\n",
                    e.name(),
                    armed.targets.len()
                );
            }
            Err(cause) if !refuse => {
                e.life.note(cause);
                pr_warn!(
                    "{:?}: module {name:?} loads unpatched: {} (refuse_mismatched_modules is 0); its targets still wait\n",
                    e.name(),
                    cause.name()
                );
            }
            Err(cause) => {
                e.life.note(cause);
                pr_err!(
                    "{:?}: module {name:?} refused: {} (its code is not the code the pack was made for; the kernel log above says where)\n",
                    e.name(),
                    cause.name()
                );
                return Err(cause.errno());
            }
        }
    }
    Ok(())
}

/// Gives back what [`arm_waiting`] armed in a module that is refused: its targets wait for it
/// again (in the room they left: nothing is allocated), their sites are released for kprobes.
/// Nothing is written: the module's code is freed.
fn disarm(armed_here: &[(u64, Armed)]) {
    let mut reg = registry::lock();
    for (id, armed) in armed_here {
        if let Some(e) = reg.get_mut(*id) {
            e.targets.retain(|t| !armed.indices.contains(&t.target));
            for &i in armed.indices.iter() {
                if !e.waiting.contains(&i) && e.waiting.push_within_capacity(i).is_err() {
                    pr_crit!(
                        "{:?}: target {i} no longer waits for its module\n",
                        e.name()
                    );
                }
            }
            pr_info!(
                "{:?}: {} targets wait again: their module was refused\n",
                e.name(),
                armed.indices.len()
            );
        }
        crate::patch::release_sites(&armed.targets);
    }
}

/// Module `module` goes: its targets wait for it again. Nothing is written: its code goes.
fn going(module: *mut bindings::module, name: &CStr) -> Result {
    let any = {
        let reg = registry::lock();
        reg.packs
            .iter()
            .any(|e| e.life.stage() == Stage::Applied && e.pack().patches_on_load())
    };
    if !any {
        return Ok(());
    }
    // SAFETY: The module stays allocated while its notifiers run.
    let (start, end) = unsafe { kernel::module_ref::text_of(module) };
    let _one = ACTIONS.lock();
    let mut reg = registry::lock();
    for e in reg.packs.iter_mut() {
        if e.life.stage() != Stage::Applied || !e.pack().patches_on_load() {
            continue;
        }
        let mut gone = KVec::new();
        let mut i = 0;
        while i < e.targets.len() {
            if (start..end).contains(&e.targets[i].addr) {
                let t = e.targets.remove(i).map_err(|_| EINVAL)?;
                e.waiting.push(t.target, GFP_KERNEL)?;
                gone.push(t, GFP_KERNEL)?;
            } else {
                i += 1;
            }
        }
        if !gone.is_empty() {
            crate::patch::release_sites(&gone);
            pr_info!(
                "{:?}: module {name:?} goes; {} targets wait for it again\n",
                e.name(),
                gone.len()
            );
        }
    }
    Ok(())
}

/// The module's name, copied: the module is between loaded and live.
fn name_of(module: *mut bindings::module) -> Result<CString> {
    // SAFETY: The loader passes the module its notifiers are for, which stays allocated
    // while they run; the name does not change.
    let name = unsafe { kernel::module_ref::name_of(module) };
    Ok(CString::try_from(name)?)
}

/// `MODULE_STATE_COMING` (`modules.c`): 0, or the error that refuses the module.
#[no_mangle]
pub(crate) extern "C" fn splice_module_coming(module: *mut bindings::module) -> core::ffi::c_int {
    match name_of(module).and_then(|n| coming(&n)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `MODULE_STATE_GOING` (`modules.c`).
#[no_mangle]
pub(crate) extern "C" fn splice_module_going(module: *mut bindings::module) {
    let name = match name_of(module) {
        Ok(name) => name,
        Err(e) => {
            pr_err!("a module goes, its name could not be copied ({e:?}): the targets of its packs were not updated\n");
            return;
        }
    };
    if let Err(e) = going(module, &name) {
        pr_err!("module {name:?} goes: the targets of its packs could not be updated ({e:?})\n");
    }
}
