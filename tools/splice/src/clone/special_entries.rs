// SPDX-License-Identifier: GPL-2.0

//! Special-section entries of the carried code (alternatives and their replacements, the
//! exception table, ORC, ...), copied with it.

use anyhow::{bail, Result};
use object::elf;

use super::{Carrier, Class, Dest, Kept};
use crate::elf::Sec;
use crate::special::{
    self, Table, ALTINSTRUCTIONS, ALTINSTR_REPLACEMENT, ORC_ENTRY_SIZE, ORC_UNWIND, ORC_UNWIND_IP,
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
        // Alternatives first: they decide the carried parts of .altinstr_replacement.
        let spans = merge_spans(self.wanted_replacements()?);
        let (alt, alt_out) = self.copy_replacements(&spans)?;
        let mut walk = TableWalk {
            alt,
            orc: self.post.sections_named(ORC_UNWIND).collect(),
            orc_out: None,
        };
        let mut outs: Vec<OutSpecial> = Vec::new();
        for table in special::TABLES {
            outs.extend(self.copy_table(table, &mut walk)?);
        }
        outs.extend(walk.orc_out);
        Ok((outs, alt_out))
    }

    /// The parts of .altinstr_replacement that the alternatives of the carried code replace
    /// it with: (post section, start, len), replacementlen bytes (byte 13 of the entry).
    fn wanted_replacements(&self) -> Result<Vec<(usize, u64, u64)>> {
        let post = self.post;
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
        Ok(wanted)
    }

    /// Copies the parts `spans` of .altinstr_replacement one after another into one section,
    /// with their relocations, and says where each went; no section when there are none.
    fn copy_replacements(
        &mut self,
        spans: &[(usize, u64, u64)],
    ) -> Result<(AltPieces, Option<OutSpecial>)> {
        let mut alt = AltPieces::default();
        if spans.is_empty() {
            return Ok((alt, None));
        }
        let post = self.post;
        let mut data = Vec::new();
        let mut flags = u64::from(elf::SHF_ALLOC | elf::SHF_EXECINSTR);
        let mut align = 1;
        for &(s, start, len) in spans {
            let sec = &post.sections[s];
            flags = sec.flags;
            align = align.max(sec.align);
            let Some(b) = sec.data.get(start as usize..(start + len) as usize) else {
                bail!(
                    "{}: {ALTINSTR_REPLACEMENT}: replacement out of bounds",
                    post.path
                );
            };
            alt.pieces.push((s, start, len, data.len() as u64));
            data.extend_from_slice(b);
        }
        let mut relocs = Vec::new();
        for &(s, start, len, out) in &alt.pieces {
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
        let out = OutSpecial {
            name: ALTINSTR_REPLACEMENT.to_owned(),
            flags,
            align,
            entsize: 0,
            data,
            relocs,
            entries: alt.pieces.len(),
            link: None,
            copied: Vec::new(),
        };
        Ok((alt, Some(out)))
    }

    /// Copies the entries of `table` that point into the carried code (or the carried
    /// replacements), each with its relocations, and with an entry of .orc_unwind_ip the
    /// parallel .orc_unwind entry. One output section per linked section for an
    /// `SHF_LINK_ORDER` table, else one.
    fn copy_table(&mut self, table: &Table, walk: &mut TableWalk<'_>) -> Result<Vec<OutSpecial>> {
        let post = self.post;
        let link_order = u64::from(elf::SHF_LINK_ORDER);
        // Output sections of this table, by linked section (`None`: not link-ordered).
        let mut groups: Vec<OutSpecial> = Vec::new();
        for (ti, t) in post.sections_named(table.name).enumerate() {
            let entry_size = self.layout.entry_size(table, t, &post.path)?;
            let n = t.size / entry_size;
            for i in 0..n {
                let at = i * entry_size;
                let key = self.pointee(t, at + table.key);
                if !self.in_carried_code(key, &walk.alt) {
                    continue;
                }
                let link = match key {
                    Some((sec, _)) if t.flags & link_order != 0 => Some(sec),
                    _ => None,
                };
                let out = group_for(&mut groups, t, link);
                self.copy_entry(t, i, entry_size, out, &walk.alt)?;
                if table.name == ORC_UNWIND_IP {
                    walk.copy_orc(ti, i, &post.path)?;
                }
            }
        }
        Ok(groups)
    }

    /// Appends entry `i` of table section `t` (`size` bytes) to `out`, with its relocations.
    fn copy_entry(
        &mut self,
        t: &Sec,
        i: u64,
        size: u64,
        out: &mut OutSpecial,
        alt: &AltPieces,
    ) -> Result<()> {
        let at = i * size;
        let out_off = out.data.len() as u64;
        let Some(bytes) = t.data.get(at as usize..(at + size) as usize) else {
            bail!("{}: {}: entry {i} out of bounds", self.post.path, t.name);
        };
        out.data.extend_from_slice(bytes);
        out.entries += 1;
        out.copied.push((t.index, at, size, out_off));
        self.copy_relocs(&t.name, t, (at, size), out_off, alt, &mut out.relocs)
    }
}

/// Sorts the parts `spans` of .altinstr_replacement and merges those of a section that
/// overlap or touch, so that shared bytes are copied once.
fn merge_spans(mut spans: Vec<(usize, u64, u64)>) -> Vec<(usize, u64, u64)> {
    spans.sort();
    let mut merged: Vec<(usize, u64, u64)> = Vec::new();
    for (s, start, len) in spans {
        match merged.last_mut() {
            Some((ls, lstart, llen)) if *ls == s && start <= *lstart + *llen => {
                *llen = (*llen).max(start + len - *lstart);
            }
            _ => merged.push((s, start, len)),
        }
    }
    merged
}

/// The output section in `groups` for entries of table section `t` linked to `link`, added
/// (empty, with the attributes of `t`) if there is none yet.
fn group_for<'g>(
    groups: &'g mut Vec<OutSpecial>,
    t: &Sec,
    link: Option<usize>,
) -> &'g mut OutSpecial {
    let gi = match groups.iter().position(|g| g.link == link) {
        Some(gi) => gi,
        None => {
            groups.push(OutSpecial::empty(t, link));
            groups.len() - 1
        }
    };
    &mut groups[gi]
}

impl OutSpecial {
    /// An output section with no entries yet, with the name and attributes of `t`.
    fn empty(t: &Sec, link: Option<usize>) -> OutSpecial {
        OutSpecial {
            name: t.name.clone(),
            flags: t.flags,
            align: t.align,
            entsize: t.entsize,
            data: Vec::new(),
            relocs: Vec::new(),
            entries: 0,
            link,
            copied: Vec::new(),
        }
    }
}

/// What the copy of the entry tables carries from one table to the next.
struct TableWalk<'p> {
    /// The carried parts of .altinstr_replacement, which entries may point into.
    alt: AltPieces,
    /// The .orc_unwind sections of the post object, parallel to its .orc_unwind_ip ones.
    orc: Vec<&'p Sec>,
    /// The copied .orc_unwind entries, parallel to the copied .orc_unwind_ip ones.
    orc_out: Option<OutSpecial>,
}

impl TableWalk<'_> {
    /// Copies the .orc_unwind entry parallel to entry `i` of the `ti`th .orc_unwind_ip
    /// section of object `path`.
    fn copy_orc(&mut self, ti: usize, i: u64, path: &str) -> Result<()> {
        let Some(u) = self.orc.get(ti) else {
            bail!("{path}: {ORC_UNWIND_IP} without {ORC_UNWIND}");
        };
        let start = (i * ORC_ENTRY_SIZE) as usize;
        let Some(e) = u.data.get(start..start + ORC_ENTRY_SIZE as usize) else {
            bail!("{path}: {ORC_UNWIND}: entry {i} out of bounds");
        };
        let uo = self
            .orc_out
            .get_or_insert_with(|| OutSpecial::empty(u, None));
        uo.data.extend_from_slice(e);
        uo.entries += 1;
        Ok(())
    }
}
