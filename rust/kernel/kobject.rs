// SPDX-License-Identifier: GPL-2.0

//! Kernel objects as sysfs directories.
//!
//! A [`Dir`] is a directory in sysfs backed by a dynamically allocated `struct kobject` that
//! carries a value of a type implementing [`Operations`]. The type lists the files of the
//! directory as [`Attribute`]s and answers reads ([`Operations::show`]) and writes
//! ([`Operations::store`]) of them.
//!
//! The kobject owns the value: it is dropped when the last reference to the kobject goes away,
//! which is after the directory has been removed and every open file of it has been released.
//!
//! This module does not support uevents, namespaces, binary attributes or attribute groups.
//!
//! C headers: [`include/linux/kobject.h`](srctree/include/linux/kobject.h) and
//! [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h)
//!
//! # Examples
//!
//! ```
//! use core::fmt::Write;
//! use kernel::kobject::{Attribute, Dir, Mode, Operations, Page};
//! use kernel::prelude::*;
//! use kernel::sync::atomic::{Atomic, Relaxed};
//!
//! #[derive(Clone, Copy)]
//! enum File {
//!     Answer,
//!     Counter,
//! }
//!
//! struct Example {
//!     counter: Atomic<u32>,
//! }
//!
//! impl Operations for Example {
//!     type Id = File;
//!     const ATTRIBUTES: &'static [Attribute<File>] = &[
//!         Attribute::new(c"answer", Mode::READ_ONLY, File::Answer),
//!         Attribute::new(c"counter", Mode::ROOT_READ_WRITE, File::Counter),
//!     ];
//!
//!     fn show(&self, file: File, page: &mut Page<'_>) -> Result {
//!         match file {
//!             File::Answer => writeln!(page, "42")?,
//!             File::Counter => writeln!(page, "{}", self.counter.load(Relaxed))?,
//!         }
//!         Ok(())
//!     }
//!
//!     fn store(&self, file: File, input: &[u8]) -> Result {
//!         match file {
//!             File::Counter if input.trim_ascii() == b"inc" => {
//!                 self.counter.fetch_add(1, Relaxed);
//!                 Ok(())
//!             }
//!             _ => Err(EINVAL),
//!         }
//!     }
//! }
//!
//! let dir = Dir::new_in_kernel(c"rust_kobject_doctest", Example { counter: Atomic::new(0) })?;
//! assert!(dir.has_file(c"answer"));
//! assert!(dir.has_file(c"counter"));
//! assert!(!dir.has_file(c"missing"));
//! assert_eq!(dir.data().counter.load(Relaxed), 0);
//!
//! // A child directory: /sys/kernel/rust_kobject_doctest/child/.
//! let child = Dir::new_child(&dir, c"child", Example { counter: Atomic::new(7) })?;
//! assert!(child.has_file(c"counter"));
//! assert!(dir.has_file(c"child"));
//!
//! // Dropping a directory removes it from sysfs.
//! drop(child);
//! assert!(!dir.has_file(c"child"));
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    error::{from_result, to_result},
    prelude::*,
    str::Formatter,
    types::Opaque,
};
use core::{fmt, marker::PhantomData, ptr::NonNull};

/// The permissions of a sysfs file.
///
/// Only modes that sysfs accepts can be constructed: no file is writable by group or others.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mode(u16);

impl Mode {
    /// Readable by everybody (`0444`).
    pub const READ_ONLY: Mode = Mode(0o444);
    /// Readable by root only (`0400`).
    pub const ROOT_READ_ONLY: Mode = Mode(0o400);
    /// Readable and writable by root only (`0600`).
    pub const ROOT_READ_WRITE: Mode = Mode(0o600);
    /// Writable by root only (`0200`).
    pub const ROOT_WRITE_ONLY: Mode = Mode(0o200);

    /// The mode as the C side sees it.
    pub const fn as_raw(self) -> u16 {
        self.0
    }
}

/// A file in the sysfs directories of a type implementing [`Operations`].
///
/// `I` identifies the file to [`Operations::show`] and [`Operations::store`].
///
/// # Invariants
///
/// `raw.name` points to a NUL-terminated string that lives forever, and `raw.mode` is a valid
/// sysfs file mode.
#[repr(C)]
pub struct Attribute<I> {
    raw: bindings::attribute,
    id: I,
}

// SAFETY: An `Attribute` is never changed after it is made; the only pointer it holds refers to
// a `'static` string. Sharing it is as safe as sharing its `id`.
unsafe impl<I: Sync> Sync for Attribute<I> {}

impl<I> Attribute<I> {
    /// Makes a file named `name` with permissions `mode`, known to the callbacks as `id`.
    pub const fn new(name: &'static CStr, mode: Mode, id: I) -> Self {
        // SAFETY: All-zero is a valid `struct attribute` (null pointers and zero integers).
        let mut raw: bindings::attribute = unsafe { core::mem::zeroed() };
        // `CStrExt::as_char_ptr` is not a `const fn`; `cast` gives the same pointer.
        #[allow(clippy::disallowed_methods)]
        let name_ptr = name.as_ptr().cast();
        raw.name = name_ptr;
        raw.mode = mode.as_raw();
        // INVARIANT: `name` is `'static` and NUL-terminated, `Mode` only holds valid modes.
        Self { raw, id }
    }
}

/// The text of a file being read, at most one page long.
///
/// Writing past the end of the page fails with [`fmt::Error`], which converts to `EINVAL`
/// through `?`.
pub struct Page<'a>(Formatter<'a>);

impl Page<'_> {
    /// How many bytes have been written so far.
    pub fn len(&self) -> usize {
        self.0.bytes_written()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(s)
    }
}

/// What the files of a sysfs directory show and accept.
pub trait Operations: Send + Sync + Sized {
    /// Identifies a file to [`Operations::show`] and [`Operations::store`].
    type Id: Copy + Sync + 'static;

    /// The files of every directory of this type.
    const ATTRIBUTES: &'static [Attribute<Self::Id>];

    /// Writes the contents of file `file` into `page`.
    fn show(&self, file: Self::Id, page: &mut Page<'_>) -> Result;

    /// Handles a write of `input` to file `file`.
    ///
    /// Only called for files whose mode allows writing. The whole write is accepted when this
    /// returns `Ok`.
    fn store(&self, file: Self::Id, input: &[u8]) -> Result {
        let _ = (file, input);
        Err(EINVAL)
    }
}

/// The allocation behind a [`Dir`]: the kobject and the value it carries.
#[repr(C)]
struct Inner<T> {
    kobj: Opaque<bindings::kobject>,
    data: T,
}

/// The C callbacks and kobject type for directories carrying a `T`.
struct Vtable<T>(PhantomData<T>);

impl<T: Operations> Vtable<T> {
    const SYSFS_OPS: bindings::sysfs_ops = bindings::sysfs_ops {
        show: Some(Self::show),
        store: Some(Self::store),
    };

    const KTYPE: bindings::kobj_type = {
        // SAFETY: All-zero is a valid `struct kobj_type`: every member is an optional callback
        // or a nullable pointer.
        let mut ktype: bindings::kobj_type = unsafe { core::mem::zeroed() };
        ktype.release = Some(Self::release);
        ktype.sysfs_ops = &Self::SYSFS_OPS;
        ktype
    };

    /// # Safety
    ///
    /// `kobj` must be the kobject of a live `Inner<T>`.
    unsafe fn data<'a>(kobj: *mut bindings::kobject) -> &'a T {
        // SAFETY: By the safety requirements `kobj` is the `kobj` field of an `Inner<T>`, which
        // lives as long as the kobject is referenced (our caller holds a reference).
        unsafe { &(*crate::container_of!(Opaque::cast_from(kobj), Inner<T>, kobj)).data }
    }

    /// # Safety
    ///
    /// `attr` must have been registered by [`Dir::create`] for a `Dir<T>`.
    unsafe fn id(attr: *mut bindings::attribute) -> T::Id {
        // SAFETY: `Dir::create` registers only the `raw` field of elements of `T::ATTRIBUTES`,
        // which are `'static`.
        unsafe { (*crate::container_of!(attr, Attribute<T::Id>, raw)).id }
    }

    /// # Safety
    ///
    /// Called by sysfs for a file of a kobject of type `Self::KTYPE`; `buf` is one page.
    unsafe extern "C" fn show(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: The kobject has type `Self::KTYPE`, so it is embedded in an `Inner<T>`, and
        // sysfs holds an active reference to the file while calling us.
        let data = unsafe { Self::data(kobj) };
        // SAFETY: The file was created by `Dir::create` for a `Dir<T>`.
        let id = unsafe { Self::id(attr) };
        // SAFETY: sysfs hands `show` a buffer of `PAGE_SIZE` bytes that nobody else uses
        // during the call.
        let page =
            unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), crate::page::PAGE_SIZE) };
        let mut page = Page(Formatter::new(page));
        from_result(|| {
            data.show(id, &mut page)?;
            isize::try_from(page.len()).map_err(|_| EINVAL)
        })
    }

    /// # Safety
    ///
    /// Called by sysfs for a file of a kobject of type `Self::KTYPE`; `buf` holds `count`
    /// bytes.
    unsafe extern "C" fn store(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: As in `show`.
        let data = unsafe { Self::data(kobj) };
        // SAFETY: As in `show`.
        let id = unsafe { Self::id(attr) };
        // SAFETY: sysfs passes `count` readable bytes at `buf` that stay put during the call.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        from_result(|| {
            data.store(id, input)?;
            isize::try_from(count).map_err(|_| EINVAL)
        })
    }

    /// # Safety
    ///
    /// Called by the kobject core once the last reference to a kobject of type `Self::KTYPE`
    /// is gone.
    unsafe extern "C" fn release(kobj: *mut bindings::kobject) {
        // SAFETY: The kobject is embedded in an `Inner<T>` that `Dir::create` allocated with
        // `KBox`; nobody refers to it any more.
        drop(unsafe {
            KBox::from_raw(crate::container_of!(Opaque::cast_from(kobj), Inner<T>, kobj).cast_mut())
        });
    }
}

/// A sysfs directory carrying a `T`.
///
/// Dropping a `Dir` removes the directory; the `T` is dropped once no file of it is open.
///
/// # Invariants
///
/// `inner` points to a live `Inner<T>` whose kobject was initialised with `Vtable::<T>::KTYPE`,
/// was added to sysfs, and holds a reference owned by this `Dir`.
pub struct Dir<T: Operations> {
    inner: NonNull<Inner<T>>,
}

// SAFETY: A `Dir` only gives out `&T` and removes the directory on drop, both of which may
// happen on any thread when `T` is `Send + Sync` (as `Operations` requires).
unsafe impl<T: Operations> Send for Dir<T> {}

// SAFETY: `&Dir` only gives out `&T`, and `T` is `Sync`.
unsafe impl<T: Operations> Sync for Dir<T> {}

impl<T: Operations> Dir<T> {
    /// Makes `/sys/kernel/<name>/`.
    pub fn new_in_kernel(name: &CStr, data: T) -> Result<Self> {
        // SAFETY: `kernel_kobj` is set up by `ksysfs_init` (a core initcall) and never changes
        // afterwards; reading the pointer has no side effect.
        let parent = unsafe { bindings::kernel_kobj };
        if parent.is_null() {
            return Err(ENOENT);
        }
        // SAFETY: `kernel_kobj` is never released.
        unsafe { Self::create(parent, name, data) }
    }

    /// Makes `<parent>/<name>/`.
    pub fn new_child<U: Operations>(parent: &Dir<U>, name: &CStr, data: T) -> Result<Self> {
        // SAFETY: By the type invariant of `Dir`, `parent` holds a reference to its kobject for
        // the whole call; `kobject_add` takes its own reference for the child.
        unsafe { Self::create(parent.kobj(), name, data) }
    }

    /// # Safety
    ///
    /// `parent` must point to a kobject in sysfs that stays referenced during the call.
    unsafe fn create(parent: *mut bindings::kobject, name: &CStr, data: T) -> Result<Self> {
        let inner = KBox::new(
            Inner {
                kobj: Opaque::zeroed(),
                data,
            },
            GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is valid; taking the address of a field does not read it.
        let kobj = Opaque::cast_into(unsafe { &raw const (*inner).kobj });
        // SAFETY: `kobj` is zeroed and not yet initialised; `KTYPE` is `'static` (promoted).
        unsafe { bindings::kobject_init(kobj, &Vtable::<T>::KTYPE) };
        // From here on `release` frees `inner`: every error path drops the reference.
        // SAFETY: `kobj` is initialised, `parent` is live by the safety requirements, and the
        // format string consumes exactly one NUL-terminated string argument.
        let ret =
            unsafe { bindings::kobject_add(kobj, parent, c"%s".as_char_ptr(), name.as_char_ptr()) };
        if let Err(e) = to_result(ret) {
            // SAFETY: We own the only reference; dropping it calls `release`.
            unsafe { bindings::kobject_put(kobj) };
            return Err(e);
        }
        // INVARIANT: The kobject is initialised with our ktype, added, and we own a reference.
        let dir = Self {
            // SAFETY: `inner` is non-null (it came from a `KBox`).
            inner: unsafe { NonNull::new_unchecked(inner) },
        };
        for attr in T::ATTRIBUTES {
            // SAFETY: `kobj` is in sysfs; `attr.raw` is `'static` and valid by the invariants
            // of `Attribute`. On failure, dropping `dir` removes what was made.
            to_result(unsafe {
                bindings::sysfs_create_file_ns(kobj, &attr.raw, core::ptr::null())
            })?;
        }
        Ok(dir)
    }

    fn kobj(&self) -> *mut bindings::kobject {
        // SAFETY: By the type invariants `inner` is live.
        Opaque::cast_into(unsafe { &raw const (*self.inner.as_ptr()).kobj })
    }

    /// The value this directory carries.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariants `inner` is live while `self` is.
        unsafe { &(*self.inner.as_ptr()).data }
    }

    /// Whether the directory holds a file (or subdirectory) named `name`.
    pub fn has_file(&self, name: &CStr) -> bool {
        // SAFETY: The kobject is in sysfs, so `sd` is its live kernfs node.
        let node = unsafe {
            bindings::kernfs_find_and_get_ns(
                (*self.kobj()).sd,
                name.as_char_ptr(),
                core::ptr::null(),
            )
        };
        if node.is_null() {
            return false;
        }
        // SAFETY: `kernfs_find_and_get_ns` returned a reference that we drop here.
        unsafe { bindings::kernfs_put(node) };
        true
    }
}

impl<T: Operations> Drop for Dir<T> {
    fn drop(&mut self) {
        let kobj = self.kobj();
        // SAFETY: By the type invariants the kobject is in sysfs and we own a reference.
        // `kobject_del` waits for running `show`/`store` calls and removes the files;
        // `kobject_put` drops our reference, after which `release` may free `inner`.
        unsafe {
            bindings::kobject_del(kobj);
            bindings::kobject_put(kobj);
        }
    }
}
