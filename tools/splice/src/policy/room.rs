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
//!
//! Such a function still gets its jump when two bytes after its entry are free for a short
//! one (`jmp rel8`) and its prefix (`__pfx_NAME`, the `nop`s `CALL_PADDING` puts before every
//! function) is within its reach: the core writes the jump at the start of the prefix and the
//! short jump to it after the entry. Only functions with less room than that, or no such
//! prefix, are refused.

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// The length of the jump the core writes.
pub const JMP_LEN: usize = 5;
/// The length of the short jump to the prefix, where there is no room for the jump.
pub const HOP_LEN: usize = 2;

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

/// The bytes of the function symbol `sym` of `vmlinux`, if the file holds them.
fn code_of<'d>(vmlinux: &object::File<'d>, sym: &object::Symbol<'d, '_>) -> Option<&'d [u8]> {
    let sec = vmlinux.section_by_index(sym.section_index()?).ok()?;
    let data = sec.data().ok()?;
    let start = usize::try_from(sym.address().checked_sub(sec.address())?).ok()?;
    let size = usize::try_from(sym.size()).ok()?;
    data.get(start..start.checked_add(size)?)
}

/// Whether the function `name` at `addr` has a prefix (`__pfx_NAME`, ending at `addr`) of at
/// least [`JMP_LEN`] `nop`s whose start a short jump at `hop_at` reaches: where the core puts
/// the jump of a function too short for one after its entry.
fn prefix_reached(vmlinux: &object::File, name: &str, addr: u64, hop_at: u64) -> bool {
    let prefix = format!("__pfx_{name}");
    vmlinux.symbols().any(|p| {
        p.name() == Ok(prefix.as_str())
            && p.address() + p.size() == addr
            && p.size() >= JMP_LEN as u64
            && hop_at + HOP_LEN as u64 - p.address() <= 128
            && code_of(vmlinux, &p).is_some_and(|c| c.iter().all(|&b| b == 0x90))
    })
}

/// For each of `names` that is a function of `vmlinux` with fewer than [`JMP_LEN`] bytes of
/// code after its entry, before its end or the first run-time site of `sites` (a jump label
/// the kernel may turn on later: [`run_time_sites`]), and no room for the short jump to its
/// prefix either ([`prefix_reached`]), wherever it is defined (every function of that name
/// is too short), the name and the largest such length.
pub fn too_short<'a>(
    vmlinux: &object::File,
    sites: &std::collections::BTreeSet<u64>,
    names: &'a [String],
) -> Vec<(&'a str, usize)> {
    let mut out = Vec::new();
    for name in names {
        let mut room: Option<usize> = None;
        let mut fits = false;
        for sym in vmlinux.symbols().filter(|s| {
            s.kind() == SymbolKind::Text && s.size() > 0 && s.name() == Ok(name.as_str())
        }) {
            // Code that cannot be read (not in the file) is the core's to judge.
            let Some(code) = code_of(vmlinux, &sym) else {
                fits = true;
                break;
            };
            let entry = entry_len(code).min(code.len());
            let start = sym.address() + entry as u64;
            let before_site = sites
                .range(start..sym.address() + code.len() as u64)
                .next()
                .map_or(code.len(), |&site| (site - sym.address()) as usize);
            let after = before_site - entry;
            fits |= after >= JMP_LEN
                || after >= HOP_LEN && prefix_reached(vmlinux, name, sym.address(), start);
            room = Some(room.map_or(after, |r| r.max(after)));
        }
        if let Some(r) = room.filter(|_| !fits) {
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

    /// An object with `.text` holding `code` and the function symbols `(name, offset, size)`.
    fn text_object(code: &[u8], syms: &[(&str, u64, u64)]) -> Vec<u8> {
        use object::write;
        let mut obj = write::Object::new(
            object::BinaryFormat::Elf,
            object::Architecture::X86_64,
            object::Endianness::Little,
        );
        let text = obj.section_id(write::StandardSection::Text);
        obj.append_section_data(text, code, 16);
        for &(name, value, size) in syms {
            obj.add_symbol(write::Symbol {
                name: name.as_bytes().to_vec(),
                value,
                size,
                kind: SymbolKind::Text,
                scope: object::SymbolScope::Linkage,
                weak: false,
                section: write::SymbolSection::Section(text),
                flags: object::SymbolFlags::None,
            });
        }
        obj.write().unwrap()
    }

    /// A function with two bytes after its entry gets its jump in its prefix of `nop`s; one
    /// without a prefix, with a prefix that is not all `nop`s, or with one byte, does not.
    #[test]
    fn a_prefix_of_nops_makes_room() {
        const ENDBR: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
        let mut code = Vec::new();
        let mut syms = Vec::new();
        // __pfx_a (16 nops); a: endbr64; jmp rel8 (a tail call).
        syms.push(("__pfx_a", 0, 16));
        code.extend([0x90; 16]);
        syms.push(("a", 16, 6));
        code.extend(ENDBR);
        code.extend([0xeb, 0x10]);
        // b: the same without a prefix.
        syms.push(("b", code.len() as u64, 6));
        code.extend(ENDBR);
        code.extend([0xeb, 0x10]);
        // __pfx_c with an int3 in it; c as a.
        syms.push(("__pfx_c", code.len() as u64, 16));
        code.extend([0x90; 15]);
        code.push(0xcc);
        syms.push(("c", code.len() as u64, 6));
        code.extend(ENDBR);
        code.extend([0xeb, 0x10]);
        // __pfx_d; d: endbr64; ret (one byte).
        syms.push(("__pfx_d", code.len() as u64, 16));
        code.extend([0x90; 16]);
        syms.push(("d", code.len() as u64, 5));
        code.extend(ENDBR);
        code.push(0xc3);
        let data = text_object(&code, &syms);
        let f = object::File::parse(&*data).unwrap();
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let short = too_short(&f, &Default::default(), &names);
        assert_eq!(short, [("b", 2), ("c", 2), ("d", 1)]);
        // A run-time site right after a's entry leaves it no room at all.
        let sites = [20u64].into_iter().collect();
        assert_eq!(too_short(&f, &sites, &names[..1]), [("a", 0)]);
    }

    #[test]
    #[ignore = "needs a built kernel tree (KERNEL_TREE)"]
    fn the_trees_tiny_functions_get_a_hop() {
        let data = std::fs::read(crate::tests::kernel_tree().join("vmlinux")).unwrap();
        let f = object::File::parse(&*data).unwrap();
        let names = ["simple_strtoul".to_owned(), "do_exit".to_owned()];
        // A wrapper that tail-calls its neighbour with a 2-byte jmp, and has a prefix (the
        // configurations splice builds have CALL_PADDING); do_exit is long.
        let short = too_short(&f, &run_time_sites(&f), &names);
        assert!(short.is_empty(), "{short:?}");
        let sym = f
            .symbols()
            .find(|s| s.name() == Ok("simple_strtoul"))
            .unwrap();
        let code = code_of(&f, &sym).unwrap();
        assert!(code.len() - entry_len(code) < JMP_LEN);
    }
}
