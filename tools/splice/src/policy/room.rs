// SPDX-License-Identifier: GPL-2.0

//! Room for the jump: the core redirects a target with a 5-byte jump written after the
//! entry (`endbr64` and the ftrace call) of the running kernel's code, and refuses at
//! `check` a function whose code ends sooner (`cannot_redirect: ... has no room for a jump
//! after its entry`). The pre object cannot tell: it is compiled with function sections, so
//! a tail call in it is a 5-byte `jmp` to another section where the kernel's own build has
//! a 2-byte one (`simple_strtoul`: `endbr64; jmp simple_strtoull`, 2 bytes after the entry;
//! `__free_pages` of the test configuration, 4). The tree's `vmlinux` can: its functions are the
//! running kernel's, so the generator refuses such a target before it makes a pack. The same
//! holds when a jump label or static call site of the running kernel lies in those 5 bytes
//! (Debian's `power_supply_dev_release()`: 4 bytes, then a jump label's 2-byte nop), which
//! the kernel may rewrite later and the core never writes over.

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// The length of the jump the core writes.
pub const JMP_LEN: usize = 5;

/// The length of the entry of a function whose code starts with `code`: `endbr64`, then
/// the ftrace call (`call __fentry__` as linked, a 5-byte nop once the kernel booted).
pub fn entry_len(code: &[u8]) -> usize {
    let mut at = 0;
    if code.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        at = 4;
    }
    match code.get(at..at + 5) {
        Some([0xe8, ..]) | Some([0x0f, 0x1f, 0x44, 0x00, 0x00]) => at + 5,
        _ => at,
    }
}

/// The addresses of the run-time sites of `vmlinux` the kernel rewrites after boot, which
/// the core never writes a jump over: jump labels (`__jump_table`: `s32 code`, relative to
/// the entry, in 16-byte entries) and static calls (`static_call_sites`: `s32 addr`, in
/// 8-byte entries). The linker puts both tables into other output sections, between
/// `__start_NAME` and `__stop_NAME`.
pub fn run_time_sites(vmlinux: &object::File) -> std::collections::BTreeSet<u64> {
    let mut out = std::collections::BTreeSet::new();
    let address = |name: &str| {
        vmlinux
            .symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
    };
    for (table, entry) in [("__jump_table", 16u64), ("static_call_sites", 8)] {
        let (Some(start), Some(stop)) = (
            address(&format!("__start_{table}")),
            address(&format!("__stop_{table}")),
        ) else {
            continue;
        };
        let Some(data) = vmlinux.sections().find_map(|sec| {
            let off = start.checked_sub(sec.address())?;
            let len = stop.checked_sub(start)?;
            if off.checked_add(len)? > sec.size() {
                return None;
            }
            let data = sec.data().ok()?;
            data.get(usize::try_from(off).ok()?..usize::try_from(off + len).ok()?)
        }) else {
            continue;
        };
        for (i, e) in data.chunks_exact(entry as usize).enumerate() {
            let rel = i64::from(i32::from_le_bytes([e[0], e[1], e[2], e[3]]));
            out.insert((start + i as u64 * entry).wrapping_add_signed(rel));
        }
    }
    out
}

/// For each of `names` that is a function of `vmlinux` with fewer than [`JMP_LEN`] bytes of
/// code after its entry, before its end or the first run-time site of `sites` (a jump label
/// the kernel may turn on later: [`run_time_sites`]), wherever it is defined (every function
/// of that name is too short), the name and the largest such length.
pub fn too_short<'a>(
    vmlinux: &object::File,
    sites: &std::collections::BTreeSet<u64>,
    names: &'a [String],
) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    for name in names {
        let mut room: Option<usize> = None;
        for sym in vmlinux.symbols().filter(|s| {
            s.kind() == SymbolKind::Text && s.size() > 0 && s.name() == Ok(name.as_str())
        }) {
            let code = sym
                .section_index()
                .and_then(|i| vmlinux.section_by_index(i).ok())
                .and_then(|sec| {
                    let data = sec.data().ok()?;
                    let start = usize::try_from(sym.address().checked_sub(sec.address())?).ok()?;
                    let size = usize::try_from(sym.size()).ok()?;
                    data.get(start..start.checked_add(size)?)
                });
            // Code that cannot be read (not in the file) is the core's to judge.
            let Some(code) = code else {
                room = Some(usize::MAX);
                break;
            };
            let entry = entry_len(code).min(code.len());
            let start = sym.address() + entry as u64;
            let before_site = sites
                .range(start..sym.address() + code.len() as u64)
                .next()
                .map_or(code.len(), |&site| (site - sym.address()) as usize);
            let after = before_site - entry;
            room = Some(room.map_or(after, |r| r.max(after)));
        }
        if let Some(r) = room.filter(|&r| r < JMP_LEN) {
            out.push((name.as_str(), r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_is_endbr_and_the_ftrace_call() {
        let free_pages = [
            0xf3, 0x0f, 0x1e, 0xfa, 0xe8, 1, 2, 3, 4, 0x31, 0xd2, 0xeb, 0x82,
        ];
        assert_eq!(entry_len(&free_pages), 9);
        assert_eq!(
            entry_len(&[0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0, 0, 0xc3]),
            9
        );
        assert_eq!(entry_len(&[0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xc0, 0xc3]), 4);
        assert_eq!(entry_len(&[0x31, 0xc0, 0xc3]), 0);
        assert_eq!(entry_len(&[0xf3, 0x0f]), 0);
    }

    #[test]
    #[ignore = "needs a built kernel tree (KERNEL_TREE)"]
    fn the_trees_tiny_functions_are_found() {
        let data = std::fs::read(crate::tests::kernel_tree().join("vmlinux")).unwrap();
        let f = object::File::parse(&*data).unwrap();
        let names = ["simple_strtoul".to_owned(), "do_exit".to_owned()];
        // A wrapper that tail-calls its neighbour with a 2-byte jmp; do_exit is long.
        let short = too_short(&f, &run_time_sites(&f), &names);
        assert_eq!(short.len(), 1, "{short:?}");
        assert_eq!(short[0].0, "simple_strtoul");
        assert!(short[0].1 < JMP_LEN);
    }
}
