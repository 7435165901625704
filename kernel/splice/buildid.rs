// SPDX-License-Identifier: GPL-2.0

//! The GNU build-id of the running vmlinux, read from its notes.

use kernel::bindings;

extern "C" {
    static __start_notes: u8;
    static __stop_notes: u8;
}

/// The running kernel's build-id (`BUILD_ID_SIZE_MAX` bytes, zero-padded), if its notes have
/// one.
pub(crate) fn running() -> Option<[u8; 20]> {
    let mut id = [0u8; 20];
    let start = &raw const __start_notes;
    let size = (&raw const __stop_notes as usize).saturating_sub(start as usize);
    // SAFETY: The linker places `__start_notes` and `__stop_notes` around the kernel's note
    // section, which stays mapped; `id` has room for `BUILD_ID_SIZE_MAX` bytes.
    let ret = unsafe { bindings::build_id_parse_buf(start.cast(), id.as_mut_ptr(), size as u32) };
    (ret >= 0).then_some(id)
}

/// Whether `pack_id`, the build-id a pack records, is not the running kernel's. A pack that
/// records none is not compared.
pub(crate) fn differs(pack_id: &[u8]) -> bool {
    if pack_id.is_empty() {
        return false;
    }
    match running() {
        Some(id) => id.get(..pack_id.len()) != Some(pack_id),
        None => true,
    }
}
