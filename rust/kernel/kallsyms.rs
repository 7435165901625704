// SPDX-License-Identifier: GPL-2.0

//! Kernel symbol lookup (kallsyms).
//!
//! Finds the addresses of symbols of the running kernel, including `static` ones and several
//! symbols that share a name, in vmlinux and in loaded modules.
//!
//! C headers: [`include/linux/kallsyms.h`](srctree/include/linux/kallsyms.h),
//! [`include/linux/module.h`](srctree/include/linux/module.h).

use crate::{bindings, ffi::c_void, prelude::*};
use core::ops::ControlFlow;

/// The address of the first symbol named `name` in vmlinux or a loaded module.
///
/// ```
/// use kernel::kallsyms;
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// assert_eq!(kallsyms::size_offset(addr).map(|(_, offset)| offset), Some(0));
/// assert_eq!(kallsyms::lookup_name(c"no such symbol, surely"), None);
/// # Ok::<(), Error>(())
/// ```
pub fn lookup_name(name: &CStr) -> Option<usize> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let addr = unsafe { bindings::kallsyms_lookup_name(name.as_char_ptr()) };
    (addr != 0).then_some(addr as usize)
}

/// The size of the symbol that contains `addr`, and the offset of `addr` in it.
pub fn size_offset(addr: usize) -> Option<(usize, usize)> {
    let mut size: crate::ffi::c_ulong = 0;
    let mut offset: crate::ffi::c_ulong = 0;
    // SAFETY: The two out pointers are valid for writes; any address may be asked about.
    let found = unsafe {
        bindings::kallsyms_lookup_size_offset(addr as crate::ffi::c_ulong, &mut size, &mut offset)
    };
    (found != 0).then_some((size as usize, offset as usize))
}

/// The name of the symbol that contains `addr`, in vmlinux or a loaded module.
///
/// ```
/// use kernel::kallsyms;
///
/// let addr = kallsyms::lookup_name(c"schedule").ok_or(ENOENT)?;
/// assert_eq!(kallsyms::name_of(addr + 1)?.as_slice(), b"schedule");
/// assert_eq!(kallsyms::name_of(0).err(), Some(ENOENT));
/// # Ok::<(), Error>(())
/// ```
pub fn name_of(addr: usize) -> Result<KVec<u8>> {
    let mut name = KVec::from_elem(0u8, bindings::KSYM_NAME_LEN as usize, GFP_KERNEL)?;
    // SAFETY: `name` holds `KSYM_NAME_LEN` bytes, the most `lookup_symbol_name()` writes (the
    // name and its NUL); any address may be asked about.
    let r = unsafe {
        bindings::lookup_symbol_name(addr as crate::ffi::c_ulong, name.as_mut_ptr().cast())
    };
    if r != 0 {
        return Err(ENOENT);
    }
    let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(len);
    Ok(name)
}

/// Calls `f` with the address of every vmlinux symbol named `name`, until `f` breaks.
///
/// `static` functions of different files may share a name; each is a separate call.
///
/// ```
/// use core::ops::ControlFlow;
/// use kernel::kallsyms;
///
/// let mut n = 0;
/// kallsyms::for_each_vmlinux_match(c"schedule", |_| {
///     n += 1;
///     ControlFlow::Continue(())
/// });
/// assert_eq!(n, 1);
/// ```
pub fn for_each_vmlinux_match<F: FnMut(usize) -> ControlFlow<()>>(name: &CStr, mut f: F) {
    /// # Safety
    ///
    /// `data` is the closure the enclosing function passed with this callback.
    unsafe extern "C" fn trampoline<F: FnMut(usize) -> ControlFlow<()>>(
        data: *mut c_void,
        addr: crate::ffi::c_ulong,
    ) -> crate::ffi::c_int {
        // SAFETY: `data` is the `&mut F` passed below, live for the whole iteration.
        let f = unsafe { &mut *data.cast::<F>() };
        match f(addr) {
            ControlFlow::Continue(()) => 0,
            ControlFlow::Break(()) => 1,
        }
    }
    // SAFETY: `trampoline::<F>` matches the callback type and only uses `data` as the `F` it
    // was given; `name` is NUL-terminated and both outlive the call.
    unsafe {
        bindings::kallsyms_on_each_match_symbol(
            Some(trampoline::<F>),
            name.as_char_ptr(),
            (&raw mut f).cast(),
        )
    };
}

/// Calls `f` with the name and address of every symbol of the loaded module `module`, until `f`
/// breaks. Does nothing if no such module is loaded. Takes `module_mutex`, so it may sleep.
pub fn for_each_module_symbol<F: FnMut(&CStr, usize) -> ControlFlow<()>>(module: &CStr, mut f: F) {
    /// # Safety
    ///
    /// `data` is the closure the enclosing function passed with this callback.
    unsafe extern "C" fn trampoline<F: FnMut(&CStr, usize) -> ControlFlow<()>>(
        data: *mut c_void,
        name: *const crate::ffi::c_char,
        addr: crate::ffi::c_ulong,
    ) -> crate::ffi::c_int {
        // SAFETY: `data` is the `&mut F` passed below, live for the whole iteration.
        let f = unsafe { &mut *data.cast::<F>() };
        // SAFETY: kallsyms passes the NUL-terminated name of a symbol of a live module, valid
        // while `module_mutex` is held, that is, during this call.
        let name = unsafe { CStr::from_char_ptr(name) };
        match f(name, addr) {
            ControlFlow::Continue(()) => 0,
            ControlFlow::Break(()) => 1,
        }
    }
    // SAFETY: As in `for_each_vmlinux_match`.
    unsafe {
        bindings::module_kallsyms_on_each_symbol(
            module.as_char_ptr(),
            Some(trampoline::<F>),
            (&raw mut f).cast(),
        )
    };
}
