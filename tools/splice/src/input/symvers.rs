// SPDX-License-Identifier: GPL-2.0

//! `Module.symvers`: the symbols the kernel exports to modules; and, with livepatch, the
//! vmlinux symbols the module loader can resolve by name (`System.map`).

use std::collections::HashMap;
use std::path::Path;

use object::SymbolKind;

use anyhow::{bail, Context, Result};

/// Exported symbols and their namespaces.
#[derive(Clone, Debug, Default)]
pub struct Symvers {
    /// Symbol name → namespace (empty if none).
    pub symbols: HashMap<String, String>,
    /// vmlinux symbol name → how many symbols have it (`System.map`), when the kernel
    /// resolves livepatch relocations (`SHF_RELA_LIVEPATCH`) as it loads a module: only
    /// with `CONFIG_LIVEPATCH`, which [`Symvers::with_load_time_names`] is given.
    pub vmlinux_names: Option<HashMap<String, u32>>,
    /// The static symbols vmlinux has more than one of, by the source file that defines
    /// each and its name: the position livepatch's relocations name it by
    /// (`.klp.sym.vmlinux.NAME,POS`, the POS-th of that name in kallsyms, which, as
    /// `System.map`, orders them by address). `None` for a name one file defines twice.
    /// Given by [`Symvers::with_local_positions`].
    pub vmlinux_positions: HashMap<(String, String), Option<u32>>,
}

/// The prefix of the symbols the module loader resolves through kallsyms (livepatch's
/// `.klp.sym.OBJECT.NAME,POS` format; `include/linux/livepatch.h`).
pub const KLP_SYM_PREFIX: &str = ".klp.sym.";

impl Symvers {
    /// Reads `Module.symvers` (`crc\tsymbol\tmodule\texport_type\tnamespace` lines).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses the text of a `Module.symvers`; `name` is used in messages.
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let mut symbols = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() < 4 || f[1].is_empty() {
                bail!("{name}:{}: not a Module.symvers line: {line:?}", n + 1);
            }
            let ns = f.get(4).copied().unwrap_or("").trim();
            // EXPORT_SYMBOL_FOR_MODULES(): only the modules named may import it (modpost
            // refuses the namespace to any other); for a pack it is not exported, and the
            // core resolves it as it does unexported symbols.
            if ns.starts_with("module:") {
                continue;
            }
            symbols.insert(f[1].to_owned(), ns.to_owned());
        }
        Ok(Self {
            symbols,
            vmlinux_names: None,
            vmlinux_positions: HashMap::new(),
        })
    }

    /// Adds the names of `System.map` (`address type name` lines), so that special-section
    /// entries may refer to unexported vmlinux symbols through livepatch relocations. Only
    /// for a kernel with `CONFIG_LIVEPATCH`: without it the module loader ignores them.
    pub fn with_load_time_names(mut self, system_map: &str) -> Self {
        self.vmlinux_names = Some(system_map_names(system_map));
        self
    }

    /// The name under which the module loader resolves the unexported vmlinux symbol `sym`
    /// as it loads the pack (`.klp.sym.vmlinux.SYM,0`: kallsyms, which must find exactly
    /// one), or why it cannot.
    pub fn load_time_symbol(&self, sym: &str) -> std::result::Result<String, String> {
        let Some(names) = &self.vmlinux_names else {
            return Err(
                "the kernel has no CONFIG_LIVEPATCH, whose relocations would let the module loader resolve it".into(),
            );
        };
        match names.get(sym).copied().unwrap_or(0) {
            1 => Ok(format!("{KLP_SYM_PREFIX}vmlinux.{sym},0")),
            0 => Err("vmlinux has no symbol of that name (System.map)".into()),
            n => Err(format!(
                "vmlinux has {n} symbols of that name, so the module loader cannot tell which"
            )),
        }
    }

    /// Adds the positions of the static symbols vmlinux has more than one of
    /// ([`Symvers::vmlinux_positions`]): `symbols` are vmlinux's symbol table in order, as
    /// (kind, name, address, local), where each object's static symbols follow the
    /// `STT_FILE` symbol of its source (kind [`SymbolKind::File`]); positions count the
    /// addresses of `System.map` (with [`Symvers::with_load_time_names`]). A symbol of a
    /// name whose `System.map` entries are not all of one type (kallsyms may leave some
    /// kinds out, and would count otherwise) gets none.
    pub fn with_local_positions<'a>(
        mut self,
        system_map: &str,
        symbols: impl Iterator<Item = (SymbolKind, &'a str, u64, bool)>,
    ) -> Self {
        let Some(names) = &self.vmlinux_names else {
            return self;
        };
        // Name -> addresses in System.map order (by address), and whether one type letter.
        let mut map: HashMap<&str, (Vec<u64>, Option<char>, bool)> = HashMap::new();
        for line in system_map.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(ty), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if names.get(name).copied().unwrap_or(0) < 2 {
                continue;
            }
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            let ty = ty.chars().next();
            let e = map.entry(name).or_insert((Vec::new(), ty, true));
            e.0.push(addr);
            e.2 &= e.1 == ty;
        }
        let mut file = String::new();
        for (kind, name, addr, local) in symbols {
            if kind == SymbolKind::File {
                file = name.to_owned();
                continue;
            }
            let Some((addrs, _, one_type)) = map.get(name) else {
                continue;
            };
            if !local || file.is_empty() {
                continue;
            }
            let pos = addrs
                .iter()
                .position(|&a| a == addr)
                .filter(|_| *one_type)
                .and_then(|i| u32::try_from(i + 1).ok());
            self.vmlinux_positions
                .entry((file.clone(), name.to_owned()))
                .and_modify(|p| *p = None)
                .or_insert(pos);
        }
        self
    }

    /// The name under which the module loader resolves `sym`, a static symbol that the
    /// source `file` defines in vmlinux, as it loads the pack: by name if vmlinux has one of
    /// that name ([`Symvers::load_time_symbol`]), else by its position among those of that
    /// name (`.klp.sym.vmlinux.SYM,POS`); or why it cannot.
    pub fn load_time_local(
        &self,
        sym: &str,
        file: Option<&str>,
    ) -> std::result::Result<String, String> {
        match self.load_time_symbol(sym) {
            Ok(k) => Ok(k),
            Err(why)
                if self
                    .vmlinux_names
                    .as_ref()
                    .and_then(|n| n.get(sym))
                    .copied()
                    .unwrap_or(0)
                    < 2 =>
            {
                Err(why)
            }
            Err(why) => {
                let Some(file) = file else {
                    return Err(format!("{why}, and the object names no source file"));
                };
                match self.vmlinux_positions.get(&(file.to_owned(), sym.to_owned())) {
                    Some(Some(pos)) => Ok(format!("{KLP_SYM_PREFIX}vmlinux.{sym},{pos}")),
                    Some(None) => Err(format!(
                        "{why}: {file} defines it more than once, or kallsyms may count its kind otherwise"
                    )),
                    None => Err(format!("{why}, and none of them is {file}'s (vmlinux's symbol table)")),
                }
            }
        }
    }

    /// Whether modules can link against `sym`. The ftrace entry and the x86 thunks are
    /// always exported by an x86-64 kernel with the mitigations on.
    pub fn is_exported(&self, sym: &str) -> bool {
        self.symbols.contains_key(sym)
            || sym == "__fentry__"
            || sym == "__x86_return_thunk"
            || sym.starts_with("__x86_indirect_thunk_")
    }

    /// The namespace `sym` is exported in, if any.
    pub fn namespace(&self, sym: &str) -> Option<&str> {
        self.symbols
            .get(sym)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// How many vmlinux symbols have each name (`System.map`: `address type name` lines).
pub fn system_map_names(system_map: &str) -> HashMap<String, u32> {
    let mut names: HashMap<String, u32> = HashMap::new();
    for line in system_map.lines() {
        if let Some(name) = line.split_whitespace().nth(2) {
            *names.entry(name.to_owned()).or_default() += 1;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A static symbol three objects define: each by its position in address order, as
    /// kallsyms counts; one a file defines twice, and one whose entries are of two types
    /// (kallsyms may leave one out), by none.
    #[test]
    fn static_symbols_vmlinux_repeats_are_named_by_position() {
        let map = "ffff0010 d desc.1\nffff0020 d desc.1\nffff0030 d desc.1\n\
                   ffff0040 d twice\nffff0050 d twice\nffff0060 d mixed\nffff0070 r mixed\n\
                   ffff0080 d only\n";
        use SymbolKind::{Data, File};
        let syms = [
            (File, "b.c", 0, true),
            (Data, "desc.1", 0xffff0030, true),
            (Data, "mixed", 0xffff0060, true),
            (File, "a.c", 0, true),
            (Data, "desc.1", 0xffff0010, true),
            (Data, "twice", 0xffff0040, true),
            (Data, "twice", 0xffff0050, true),
            (Data, "only", 0xffff0080, true),
            (File, "c.c", 0, true),
            (Data, "desc.1", 0xffff0020, true),
        ];
        let s = Symvers::default()
            .with_load_time_names(map)
            .with_local_positions(map, syms.into_iter());
        let at = |sym: &str, file: &str| s.load_time_local(sym, Some(file));
        assert_eq!(
            at("desc.1", "a.c").as_deref(),
            Ok(".klp.sym.vmlinux.desc.1,1")
        );
        assert_eq!(
            at("desc.1", "c.c").as_deref(),
            Ok(".klp.sym.vmlinux.desc.1,2")
        );
        assert_eq!(
            at("desc.1", "b.c").as_deref(),
            Ok(".klp.sym.vmlinux.desc.1,3")
        );
        assert_eq!(at("only", "a.c").as_deref(), Ok(".klp.sym.vmlinux.only,0"));
        assert!(at("twice", "a.c").unwrap_err().contains("more than once"));
        assert!(at("mixed", "b.c").is_err());
        assert!(at("desc.1", "d.c")
            .unwrap_err()
            .contains("none of them is d.c's"));
    }

    #[test]
    fn parses_lines() {
        let s = Symvers::parse(
            "t",
            "0x00000000\tseq_printf\tvmlinux\tEXPORT_SYMBOL\t\n0x1\tmm_alloc\tvmlinux\tEXPORT_SYMBOL\tEXPORTED_FOR_KUNIT_TESTING\n",
        )
        .unwrap();
        assert!(s.is_exported("seq_printf"));
        assert!(s.is_exported("__fentry__"));
        assert!(s.is_exported("__x86_indirect_thunk_rax"));
        assert!(!s.is_exported("secret"));
        assert_eq!(s.namespace("seq_printf"), None);
        assert_eq!(s.namespace("mm_alloc"), Some("EXPORTED_FOR_KUNIT_TESTING"));
        assert!(Symvers::parse("t", "garbage\n").is_err());
        let s = Symvers::parse(
            "t",
            "0x0\tget_task_policy\tvmlinux\tEXPORT_SYMBOL_GPL\tmodule:kvm\n",
        )
        .unwrap();
        assert!(!s.is_exported("get_task_policy"));
    }

    #[test]
    fn load_time_names_need_livepatch_and_one_symbol() {
        let s = Symvers::parse("t", "").unwrap();
        assert!(s
            .load_time_symbol("__tracepoint_x")
            .unwrap_err()
            .contains("CONFIG_LIVEPATCH"));
        let s = s.with_load_time_names(
            "ffffffff81000000 D __tracepoint_x\nffffffff81000010 d key\nffffffff81000020 d key\n",
        );
        assert_eq!(
            s.load_time_symbol("__tracepoint_x").unwrap(),
            ".klp.sym.vmlinux.__tracepoint_x,0"
        );
        assert!(s.load_time_symbol("key").unwrap_err().contains("2 symbols"));
        assert!(s
            .load_time_symbol("nothing")
            .unwrap_err()
            .contains("no symbol"));
    }

    #[test]
    #[ignore = "needs a built kernel tree (KERNEL_TREE)"]
    fn reads_the_tree_symvers() {
        let s = Symvers::read(&crate::tests::kernel_tree().join("Module.symvers")).unwrap();
        assert!(s.symbols.len() > 100);
        assert!(s.is_exported("seq_printf"));
        assert!(s.symbols.contains_key("__x86_return_thunk"));
    }
}
