// SPDX-License-Identifier: GPL-2.0

//! Special-section entries of the carried code (alternatives and their replacements, the
//! exception table, ORC, ...), copied with it.

use anyhow::{bail, Result};
use object::elf;

use super::{Carrier, Class, Dest, Kept};
use crate::elf::Sec;
use crate::special::{
    self, ALTINSTRUCTIONS, ALTINSTR_REPLACEMENT, ORC_ENTRY_SIZE, ORC_UNWIND, ORC_UNWIND_IP,
};

/// A special section as written to `repl.o`.
#[derive(Clone, Debug)]
pub struct OutSpecial {
    pub name: String,
    pub flags: u64,
    pub align: u64,
    pub entsize: u64,
    pub data: Vec<u8>,
    pub relocs: Vec<Kept>,
    pub entries: usize,
    /// For `SHF_LINK_ORDER` tables: the carried post section the entries belong to (one
    /// output section per text section, as the linker wants).
    pub link: Option<usize>,
    /// The copied entries: (post section, offset, size, offset here).
    pub copied: Vec<(usize, u64, u64, u64)>,
}

/// The carried parts of `.altinstr_replacement`: (post section, start, len, out offset).
#[derive(Default)]
struct AltPieces {
    pieces: Vec<(usize, u64, u64, u64)>,
}

impl AltPieces {
    fn map(&self, sec: usize, off: i64) -> Option<i64> {
        self.pieces.iter().find_map(|&(s, start, len, out)| {
            (s == sec && off >= start as i64 && off <= (start + len) as i64)
                .then(|| out as i64 + off - start as i64)
        })
    }
}

impl Carrier<'_> {
    /// Where the field at `table[at]` points: (section, offset).
    fn pointee(&self, table: &Sec, at: u64) -> Option<(usize, i64)> {
        let r = table.relocs_in(at, at + 1).first()?;
        let s = &self.post.symbols[r.sym];
        Some((s.section?, (s.value as i64).wrapping_add(r.addend)))
    }

    fn in_carried_code(&self, p: Option<(usize, i64)>, alt: &AltPieces) -> bool {
        match p {
            Some((sec, off)) => {
                (self.carried.contains(&sec) && self.post.sections[sec].is_exec())
                    || alt.map(sec, off).is_some()
            }
            None => false,
        }
    }

    /// Copies relocations of `src[start..start+len]` (`span` is `(start, len)`) to `out` at
    /// `out_off`.
    fn copy_relocs(
        &mut self,
        owner: &str,
        src: &Sec,
        (start, len): (u64, u64),
        out_off: u64,
        alt: &AltPieces,
        out: &mut Vec<Kept>,
    ) -> Result<()> {
        for r in src.relocs_in(start, start + len) {
            self.check_type(owner, r, false)?;
            let dest = match self.classify(owner, r, Some(&src.name))? {
                Class::Keep(dest) => dest,
                Class::Core(c) => bail!(
                    "{}: {owner}: {} entry refers to {}, which the module loader cannot resolve",
                    self.post.path,
                    src.name,
                    c.name
                ),
            };
            let dest = match dest {
                Dest::Sec(ts, off) if self.post.sections[ts].name == ALTINSTR_REPLACEMENT => {
                    match alt.map(ts, off) {
                        Some(o) => Dest::AltRepl(o),
                        None => bail!(
                            "{}: {owner}: {} entry refers to a part of {ALTINSTR_REPLACEMENT} that is not carried",
                            self.post.path,
                            src.name
                        ),
                    }
                }
                d => d,
            };
            out.push(Kept {
                offset: r.offset - start + out_off,
                rtype: r.rtype,
                dest,
            });
        }
        Ok(())
    }

    /// The special sections for the carried code, and the carried alternative replacements.
    pub(super) fn specials(&mut self) -> Result<(Vec<OutSpecial>, Option<OutSpecial>)> {
        let post = self.post;
        // Alternatives first: they decide the carried parts of .altinstr_replacement.
        let mut wanted: Vec<(usize, u64, u64)> = Vec::new();
        for t in post.sections_named(ALTINSTRUCTIONS) {
            for at in (0..t.size).step_by(14) {
                if !self.in_carried_code(self.pointee(t, at), &AltPieces::default()) {
                    continue;
                }
                let len = u64::from(t.data.get(at as usize + 13).copied().unwrap_or(0));
                match self.pointee(t, at + 4) {
                    Some((sec, off)) if off >= 0 && post.sections[sec].name == ALTINSTR_REPLACEMENT => {
                        wanted.push((sec, off as u64, len))
                    }
                    _ => bail!(
                        "{}: {ALTINSTRUCTIONS} entry at {at:#x} has no replacement in {ALTINSTR_REPLACEMENT}",
                        post.path
                    ),
                }
            }
        }
        wanted.sort();
        let mut merged: Vec<(usize, u64, u64)> = Vec::new();
        for (s, start, len) in wanted {
            match merged.last_mut() {
                Some((ls, lstart, llen)) if *ls == s && start <= *lstart + *llen => {
                    *llen = (*llen).max(start + len - *lstart);
                }
                _ => merged.push((s, start, len)),
            }
        }
        let mut alt = AltPieces::default();
        let mut alt_out = None;
        if !merged.is_empty() {
            let mut data = Vec::new();
            let mut flags = u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR);
            let mut align = 1;
            for &(s, start, len) in &merged {
                let sec = &post.sections[s];
                flags = sec.flags;
                align = align.max(sec.align);
                match sec.data.get(start as usize..(start + len) as usize) {
                    Some(b) => {
                        alt.pieces.push((s, start, len, data.len() as u64));
                        data.extend_from_slice(b);
                    }
                    None => bail!(
                        "{}: {ALTINSTR_REPLACEMENT}: replacement out of bounds",
                        post.path
                    ),
                }
            }
            let mut relocs = Vec::new();
            for &(s, start, len, out) in &alt.pieces.clone() {
                let sec = &post.sections[s];
                self.copy_relocs(
                    ALTINSTR_REPLACEMENT,
                    sec,
                    (start, len),
                    out,
                    &alt,
                    &mut relocs,
                )?;
            }
            alt_out = Some(OutSpecial {
                name: ALTINSTR_REPLACEMENT.to_owned(),
                flags,
                align,
                entsize: 0,
                data,
                relocs,
                entries: alt.pieces.len(),
                link: None,
                copied: Vec::new(),
            });
        }

        let mut outs: Vec<OutSpecial> = Vec::new();
        let orc: Vec<&Sec> = post.sections_named(ORC_UNWIND).collect();
        let mut orc_out: Option<OutSpecial> = None;
        let link_order = u64::from(elf::SHF_LINK_ORDER);
        for table in special::TABLES {
            // Output sections of this table, by linked section (`None`: not link-ordered).
            let mut groups: Vec<OutSpecial> = Vec::new();
            for (ti, t) in post.sections_named(table.name).enumerate() {
                let entry_size = self.layout.entry_size(table, t, &post.path)?;
                let n = t.size / entry_size;
                for i in 0..n {
                    let at = i * entry_size;
                    let key = self.pointee(t, at + table.key);
                    if !self.in_carried_code(key, &alt) {
                        continue;
                    }
                    let link = match key {
                        Some((sec, _)) if t.flags & link_order != 0 => Some(sec),
                        _ => None,
                    };
                    let gi = match groups.iter().position(|g| g.link == link) {
                        Some(gi) => gi,
                        None => {
                            groups.push(OutSpecial {
                                name: t.name.clone(),
                                flags: t.flags,
                                align: t.align,
                                entsize: t.entsize,
                                data: Vec::new(),
                                relocs: Vec::new(),
                                entries: 0,
                                link,
                                copied: Vec::new(),
                            });
                            groups.len() - 1
                        }
                    };
                    let o = &mut groups[gi];
                    let out_off = o.data.len() as u64;
                    let Some(bytes) = t.data.get(at as usize..(at + entry_size) as usize) else {
                        bail!("{}: {}: entry {i} out of bounds", post.path, t.name);
                    };
                    o.data.extend_from_slice(bytes);
                    o.entries += 1;
                    o.copied.push((t.index, at, entry_size, out_off));
                    let mut relocs = std::mem::take(&mut o.relocs);
                    self.copy_relocs(&t.name, t, (at, entry_size), out_off, &alt, &mut relocs)?;
                    groups[gi].relocs = relocs;
                    if table.name == ORC_UNWIND_IP {
                        // The parallel .orc_unwind entry.
                        let Some(u) = orc.get(ti) else {
                            bail!("{}: {ORC_UNWIND_IP} without {ORC_UNWIND}", post.path);
                        };
                        let start = (i * ORC_ENTRY_SIZE) as usize;
                        let Some(e) = u.data.get(start..start + ORC_ENTRY_SIZE as usize) else {
                            bail!("{}: {ORC_UNWIND}: entry {i} out of bounds", post.path);
                        };
                        let uo = orc_out.get_or_insert_with(|| OutSpecial {
                            name: ORC_UNWIND.to_owned(),
                            flags: u.flags,
                            align: u.align,
                            entsize: u.entsize,
                            data: Vec::new(),
                            relocs: Vec::new(),
                            entries: 0,
                            link: None,
                            copied: Vec::new(),
                        });
                        uo.data.extend_from_slice(e);
                        uo.entries += 1;
                    }
                }
            }
            outs.extend(groups);
        }
        outs.extend(orc_out);
        Ok((outs, alt_out))
    }
}
