// SPDX-License-Identifier: GPL-2.0

//! Type layout changes, from the compiled types: the DWARF of the pre and post objects.
//!
//! The source check ([`super::layout`]) compares the text of the `struct`/`union` definitions
//! a patch touches; it cannot see a layout the text does not spell out: an array whose size
//! a macro or an enumerator sets, an anonymous `struct` known only by its `typedef`, an
//! attribute (`__packed`, `__aligned(N)`) from a macro. The compiler's own description of
//! every type a unit uses has them all: each complete `struct`, `union` and `typedef`'d
//! anonymous aggregate the unit has before and after the patch is compared by its size, its
//! alignment and each member's name, offset, bit field and type. A type only one side has
//! (new, or no longer used) is not a change of existing instances. An enumerator that
//! changes value is a change of code, not of layout: the objects whose code it changes are
//! compiled, and an array it sizes changes the size of what holds the array.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use gimli::{AttributeValue, EndianSlice, LittleEndian, UnitOffset};

use crate::elf::Obj;

/// What a type is, as far as its instances are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeLayout {
    pub size: u64,
    pub align: Option<u64>,
    /// `name@bit offset:bit size type`, in order.
    pub members: Vec<String>,
}

type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// The debug sections of `o` with their relocations applied (a relocatable object leaves
/// references to `.debug_str` and the like to the linker).
fn relocated(o: &Obj, name: &str) -> Result<Vec<u8>> {
    let Some(sec) = o.section_by_name(name) else {
        return Ok(Vec::new());
    };
    let mut data = sec.data.clone();
    for r in &sec.relocs {
        let value = (o.symbols[r.sym].value as i64).wrapping_add(r.addend) as u64;
        let width = match r.rtype {
            object::elf::R_X86_64_64 => 8,
            object::elf::R_X86_64_32 | object::elf::R_X86_64_32S => 4,
            _ => continue,
        };
        let at = r.offset as usize;
        let Some(place) = data.get_mut(at..at + width) else {
            bail!("{}: {name}: relocation at {at:#x} out of bounds", o.path);
        };
        place.copy_from_slice(&value.to_le_bytes()[..width]);
    }
    Ok(data)
}

/// The layouts of the complete aggregate types of `o`, by `struct NAME`, `union NAME` or
/// `typedef NAME` (an anonymous aggregate named by a `typedef`). Empty without DWARF.
pub fn layouts(o: &Obj) -> Result<BTreeMap<String, TypeLayout>> {
    let names = [
        ".debug_info",
        ".debug_abbrev",
        ".debug_str",
        ".debug_line_str",
        ".debug_str_offsets",
        ".debug_line",
    ];
    let mut data: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for n in names {
        data.insert(n, relocated(o, n)?);
    }
    let get = |n: &str| Slice::new(data.get(n).map_or(&[][..], |v| &v[..]), LittleEndian);
    let dwarf = gimli::Dwarf {
        debug_info: gimli::DebugInfo::from(get(".debug_info")),
        debug_abbrev: gimli::DebugAbbrev::from(get(".debug_abbrev")),
        debug_str: gimli::DebugStr::from(get(".debug_str")),
        debug_line_str: gimli::DebugLineStr::from(get(".debug_line_str")),
        debug_str_offsets: gimli::DebugStrOffsets::from(get(".debug_str_offsets")),
        debug_line: gimli::DebugLine::from(get(".debug_line")),
        ..Default::default()
    };
    let mut out = BTreeMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next()? {
        let unit = dwarf.unit(header)?;
        let mut entries = unit.entries();
        while let Some((_, e)) = entries.next_dfs()? {
            let key = match e.tag() {
                gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
                    let Some(name) = name_of(&dwarf, &unit, e)? else {
                        continue;
                    };
                    format!("{} {name}", tag_word(e.tag()))
                }
                gimli::DW_TAG_typedef => {
                    let Some(name) = name_of(&dwarf, &unit, e)? else {
                        continue;
                    };
                    let Some(target) = type_ref(e)? else { continue };
                    let t = unit.entry(target)?;
                    let anonymous = matches!(
                        t.tag(),
                        gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
                    ) && name_of(&dwarf, &unit, &t)?.is_none();
                    if !anonymous {
                        continue;
                    }
                    let key = format!("typedef {name}");
                    if let Some(l) = aggregate(&dwarf, &unit, target)? {
                        out.insert(key, l);
                    }
                    continue;
                }
                _ => continue,
            };
            if let Some(l) = aggregate(&dwarf, &unit, e.offset())? {
                out.insert(key, l);
            }
        }
    }
    Ok(out)
}

type Unit<'a> = gimli::Unit<Slice<'a>>;
type Dwarf<'a> = gimli::Dwarf<Slice<'a>>;
type Entry<'a, 'u> = gimli::DebuggingInformationEntry<'a, 'u, Slice<'a>>;

fn tag_word(tag: gimli::DwTag) -> &'static str {
    match tag {
        gimli::DW_TAG_union_type => "union",
        gimli::DW_TAG_enumeration_type => "enum",
        _ => "struct",
    }
}

fn name_of(dwarf: &Dwarf, unit: &Unit, e: &Entry) -> Result<Option<String>> {
    match e.attr_value(gimli::DW_AT_name)? {
        Some(v) => Ok(Some(
            dwarf.attr_string(unit, v)?.to_string_lossy().into_owned(),
        )),
        None => Ok(None),
    }
}

fn type_ref(e: &Entry) -> Result<Option<UnitOffset>> {
    Ok(match e.attr_value(gimli::DW_AT_type)? {
        Some(AttributeValue::UnitRef(o)) => Some(o),
        _ => None,
    })
}

fn udata(e: &Entry, at: gimli::DwAt) -> Result<Option<u64>> {
    Ok(e.attr_value(at)?.and_then(|v| v.udata_value()))
}

/// Calls `f` with each child of the entry at `off` that has tag `tag`.
fn for_each_child(
    unit: &Unit,
    off: UnitOffset,
    tag: gimli::DwTag,
    mut f: impl FnMut(&Entry) -> Result<()>,
) -> Result<()> {
    let mut tree = unit.entries_tree(Some(off))?;
    let root = tree.root()?;
    let mut children = root.children();
    while let Some(c) = children.next()? {
        if c.entry().tag() == tag {
            f(c.entry())?;
        }
    }
    Ok(())
}

/// The layout of the aggregate at `off`; `None` for a declaration (incomplete type).
fn aggregate(dwarf: &Dwarf, unit: &Unit, off: UnitOffset) -> Result<Option<TypeLayout>> {
    let e = unit.entry(off)?;
    if e.attr_value(gimli::DW_AT_declaration)?.is_some() {
        return Ok(None);
    }
    let size = udata(&e, gimli::DW_AT_byte_size)?.unwrap_or(0);
    let align = udata(&e, gimli::DW_AT_alignment)?;
    let mut members = Vec::new();
    for_each_child(unit, off, gimli::DW_TAG_member, |m| {
        let name = name_of(dwarf, unit, m)?.unwrap_or_default();
        let bits = match udata(m, gimli::DW_AT_data_bit_offset)? {
            Some(b) => b,
            None => udata(m, gimli::DW_AT_data_member_location)?.unwrap_or(0) * 8,
        };
        let width = udata(m, gimli::DW_AT_bit_size)?.unwrap_or(0);
        let ty = match type_ref(m)? {
            Some(t) => describe(dwarf, unit, t, 0)?,
            None => "?".into(),
        };
        members.push(format!("{name}@{bits}:{width} {ty}"));
        Ok(())
    })?;
    Ok(Some(TypeLayout {
        size,
        align,
        members,
    }))
}

/// A type as a string: named types by name, anonymous aggregates by their members, arrays
/// with their bounds (so that a member of a changed type or size reads differently).
fn describe(dwarf: &Dwarf, unit: &Unit, off: UnitOffset, depth: u32) -> Result<String> {
    if depth > 16 {
        return Ok("…".into());
    }
    let e = unit.entry(off)?;
    let inner = |d: &Entry| -> Result<String> {
        match type_ref(d)? {
            Some(t) => describe(dwarf, unit, t, depth + 1),
            None => Ok("void".into()),
        }
    };
    Ok(match e.tag() {
        gimli::DW_TAG_base_type | gimli::DW_TAG_typedef => {
            name_of(dwarf, unit, &e)?.unwrap_or_default()
        }
        gimli::DW_TAG_pointer_type => format!("*{}", inner(&e)?),
        gimli::DW_TAG_const_type => format!("const {}", inner(&e)?),
        gimli::DW_TAG_volatile_type => format!("volatile {}", inner(&e)?),
        gimli::DW_TAG_subroutine_type => "fn".into(),
        gimli::DW_TAG_array_type => {
            let mut dims = String::new();
            for_each_child(unit, off, gimli::DW_TAG_subrange_type, |s| {
                let n = match (
                    udata(s, gimli::DW_AT_count)?,
                    udata(s, gimli::DW_AT_upper_bound)?,
                ) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(u)) => (u + 1).to_string(),
                    _ => String::new(),
                };
                dims.push_str(&format!("[{n}]"));
                Ok(())
            })?;
            format!("{}{dims}", inner(&e)?)
        }
        tag @ (gimli::DW_TAG_structure_type
        | gimli::DW_TAG_union_type
        | gimli::DW_TAG_enumeration_type) => match name_of(dwarf, unit, &e)? {
            Some(n) => format!("{} {n}", tag_word(tag)),
            None if tag == gimli::DW_TAG_enumeration_type => {
                format!("enum:{}", udata(&e, gimli::DW_AT_byte_size)?.unwrap_or(0))
            }
            None => {
                let l = aggregate(dwarf, unit, off)?
                    .ok_or_else(|| anyhow!("an anonymous declaration"))?;
                format!("{}{{{}:{}}}", tag_word(tag), l.size, l.members.join(", "))
            }
        },
        _ => format!("{:?}", e.tag()),
    })
}

/// Refuses a patch that changes the layout of a type the unit has before and after it: its
/// instances in the running kernel keep the old one.
pub fn refuse_layout_changes(pre: &Obj, post: &Obj) -> Result<()> {
    let (a, b) = (layouts(pre)?, layouts(post)?);
    for (name, old) in &a {
        let Some(new) = b.get(name) else { continue };
        if old == new {
            continue;
        }
        let what = if old.size != new.size {
            format!("its size changes from {} to {} bytes", old.size, new.size)
        } else if old.align != new.align {
            format!(
                "its alignment changes from {} to {}",
                old.align.map_or("default".into(), |a| a.to_string()),
                new.align.map_or("default".into(), |a| a.to_string())
            )
        } else {
            let first = old
                .members
                .iter()
                .zip(&new.members)
                .find(|(x, y)| x != y)
                .map(|(x, y)| format!("member {x} becomes {y}"))
                .unwrap_or_else(|| {
                    format!(
                        "it has {} members instead of {}",
                        new.members.len(),
                        old.members.len()
                    )
                });
            first
        };
        bail!(
            "{}: {name} changes layout ({what}, as the compiler lays it out): the instances the \
             running kernel already has keep the old layout, which the fixed code would misread. \
             Keep the layout (use spare fields, or shadow data: include/linux/splice_pack.h)",
            post.path
        );
    }
    Ok(())
}
