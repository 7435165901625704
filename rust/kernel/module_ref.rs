// SPDX-License-Identifier: GPL-2.0

//! References to loaded modules.
//!
//! A [`ModuleRef`] keeps a module from being unloaded (`try_module_get()`), and
//! [`text_owner`] tells which module's code an address lies in.
//!
//! C header: [`include/linux/module.h`](srctree/include/linux/module.h).

use crate::{bindings, prelude::*, str::CStr, sync::rcu};
use core::ptr::NonNull;

/// A reference to a loaded module that keeps it from being unloaded.
///
/// ```
/// use kernel::{kallsyms, module_ref::ModuleRef};
///
/// // vmlinux is not a module.
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// assert!(ModuleRef::of_address(addr).is_none());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `ptr` points to a module on which this object holds one reference, taken with
/// `try_module_get()`.
pub struct ModuleRef {
    ptr: NonNull<bindings::module>,
}

impl ModuleRef {
    /// Takes a reference to the module whose code or data contains `addr`.
    ///
    /// `None` if no module contains `addr` (vmlinux, for example) or the module is being
    /// unloaded.
    pub fn of_address(addr: usize) -> Option<Self> {
        let _rcu = rcu::read_lock();
        // SAFETY: The RCU read lock is held, as `__module_address()` requires.
        let m = NonNull::new(unsafe { bindings::__module_address(addr as crate::ffi::c_ulong) })?;
        // SAFETY: The module stays allocated while the RCU read lock is held; `try_module_get`
        // refuses a module that is being unloaded.
        unsafe { Self::get(m.as_ptr()) }
    }

    /// Takes a reference to the loaded module called `name`.
    ///
    /// `None` if no module of that name is live: none is loaded, or it is still being loaded
    /// (its init has not finished) or is being unloaded.
    ///
    /// ```
    /// use kernel::module_ref::ModuleRef;
    ///
    /// assert!(ModuleRef::by_name(c"no_such_module_here").is_none());
    /// ```
    pub fn by_name(name: &CStr) -> Option<Self> {
        let _rcu = rcu::read_lock();
        // SAFETY: The RCU read lock is held, under which `find_module()` may walk the module
        // list without `module_mutex`; `name` is NUL-terminated.
        let m = NonNull::new(unsafe { bindings::find_module(name.as_char_ptr()) })?;
        // SAFETY: The module stays allocated while the RCU read lock is held.
        if unsafe { (*m.as_ptr()).state } != bindings::module_state_MODULE_STATE_LIVE {
            return None;
        }
        // SAFETY: As above; `try_module_get` refuses a module that started going away since.
        unsafe { Self::get(m.as_ptr()) }
    }

    /// Whether the module called `name` is being loaded: its code is in place and its init
    /// runs (`MODULE_STATE_COMING`), so the module notifiers have run or are running.
    ///
    /// ```
    /// use kernel::module_ref::ModuleRef;
    ///
    /// assert!(!ModuleRef::is_loading(c"no_such_module_here"));
    /// ```
    pub fn is_loading(name: &CStr) -> bool {
        let _rcu = rcu::read_lock();
        // SAFETY: The RCU read lock is held, under which `find_module()` may walk the module
        // list without `module_mutex`; `name` is NUL-terminated.
        let Some(m) = NonNull::new(unsafe { bindings::find_module(name.as_char_ptr()) }) else {
            return false;
        };
        // SAFETY: The module stays allocated while the RCU read lock is held.
        unsafe { (*m.as_ptr()).state == bindings::module_state_MODULE_STATE_COMING }
    }

    /// Takes another reference to `module`.
    ///
    /// `None` if the module is being unloaded.
    ///
    /// # Safety
    ///
    /// `module` points to a module that stays allocated for the duration of the call, such as
    /// one the caller holds a reference to, or `THIS_MODULE` of running module code.
    pub unsafe fn get(module: *mut bindings::module) -> Option<Self> {
        let ptr = NonNull::new(module)?;
        // SAFETY: By the safety requirements `module` is a valid module.
        if unsafe { bindings::try_module_get(module) } {
            // INVARIANT: The reference was just taken.
            Some(Self { ptr })
        } else {
            None
        }
    }

    /// The module's `struct module`.
    pub fn as_ptr(&self) -> *mut bindings::module {
        self.ptr.as_ptr()
    }

    /// The start and end of the module's core text (`MOD_TEXT`).
    pub fn text(&self) -> (usize, usize) {
        // SAFETY: By the type invariants the module is loaded, and its memory layout does not
        // change while it is.
        let mem = unsafe { &(*self.ptr.as_ptr()).mem[bindings::mod_mem_type_MOD_TEXT as usize] };
        let start = mem.base as usize;
        (start, start + mem.size as usize)
    }

    /// Marks the module, and so the kernel, as one that changed the kernel's code while it
    /// runs (`TAINT_LIVEPATCH`, `K` in `/proc/sys/kernel/tainted` and in oops reports, as the
    /// module loader marks a livepatch module). Taints are never cleared.
    ///
    /// ```
    /// use kernel::module_ref::ModuleRef;
    ///
    /// // A module reference is needed to taint anything: none for a module not loaded.
    /// assert!(ModuleRef::by_name(c"no_such_module_here").map(|m| m.taint_livepatch()).is_none());
    /// ```
    pub fn taint_livepatch(&self) {
        let flag = bindings::TAINT_LIVEPATCH;
        // SAFETY: By the type invariants the module is loaded; its `taints` word is changed
        // only by atomic bit operations (`add_taint_module()`'s `set_bit()`), as here.
        let taints = unsafe {
            core::sync::atomic::AtomicUsize::from_ptr(&raw mut (*self.ptr.as_ptr()).taints)
        };
        taints.fetch_or(1 << flag, core::sync::atomic::Ordering::Relaxed);
        // SAFETY: `add_taint()` may be called from any context that may print; a lockdep
        // state that stays valid is what a code change of a module leaves.
        unsafe { bindings::add_taint(flag, bindings::lockdep_ok_LOCKDEP_STILL_OK) };
    }

    /// The module's name.
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariants the module is loaded.
        unsafe { name_of(self.ptr.as_ptr()) }
    }
}

/// The start and end of the core text (`MOD_TEXT`) of `module`, without taking a reference.
///
/// # Safety
///
/// `module` points to a module that stays allocated for the duration of the call, such as
/// the module a module notifier is called for.
pub unsafe fn text_of(module: *mut bindings::module) -> (usize, usize) {
    // SAFETY: By the safety requirements the module is allocated; its memory layout does not
    // change while it is.
    let mem = unsafe { &(*module).mem[bindings::mod_mem_type_MOD_TEXT as usize] };
    let start = mem.base as usize;
    (start, start + mem.size as usize)
}

/// The name of `module`, without taking a reference.
///
/// # Safety
///
/// `module` points to a module that stays loaded for `'a`, such as `THIS_MODULE` of a module
/// that unregisters what borrows the name before it is unloaded.
pub unsafe fn name_of<'a>(module: *mut bindings::module) -> &'a CStr {
    // SAFETY: By the safety requirements the module is loaded for `'a`; `name` is a
    // NUL-terminated array that is never changed after load.
    unsafe { CStr::from_char_ptr((*module).name.as_ptr()) }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariants this object holds one reference, given back here.
        unsafe { bindings::module_put(self.ptr.as_ptr()) };
    }
}

// SAFETY: A module reference may be given back from any task.
unsafe impl Send for ModuleRef {}

// SAFETY: `&ModuleRef` only reads the module's name.
unsafe impl Sync for ModuleRef {}

/// The `struct module` whose code contains `addr`, as an address that identifies it, without
/// taking a reference; `None` for addresses outside module code.
///
/// The result may only be compared with other module addresses: the module may go away as
/// soon as this returns, unless the caller is that module's code.
///
/// ```
/// use kernel::{kallsyms, module_ref};
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// assert_eq!(module_ref::text_owner(addr), None);
/// # Ok::<(), Error>(())
/// ```
pub fn text_owner(addr: usize) -> Option<usize> {
    let _rcu = rcu::read_lock();
    // SAFETY: The RCU read lock is held, as `__module_text_address()` requires.
    let m = unsafe { bindings::__module_text_address(addr as crate::ffi::c_ulong) };
    (!m.is_null()).then_some(m as usize)
}
