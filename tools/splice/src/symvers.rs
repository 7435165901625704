// SPDX-License-Identifier: GPL-2.0

//! `Module.symvers`: the symbols the kernel exports to modules.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Exported symbols and their namespaces.
#[derive(Clone, Debug, Default)]
pub struct Symvers {
    /// Symbol name → namespace (empty if none).
    pub symbols: HashMap<String, String>,
}

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
            symbols.insert(f[1].to_owned(), ns.to_owned());
        }
        Ok(Self { symbols })
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn reads_the_tree_symvers() {
        let p = Path::new("/work/main/build/linux-7.2.12/Module.symvers");
        if !p.exists() {
            eprintln!("skipped: {} does not exist", p.display());
            return;
        }
        let s = Symvers::read(p).unwrap();
        assert!(s.symbols.len() > 100);
        assert!(s.is_exported("seq_printf"));
        assert!(s.symbols.contains_key("__x86_return_thunk"));
    }
}
