//! Compiled binaries: ELF, PE and Mach-O (including fat/universal Mach-O),
//! parsed with the `object` crate.
//!
//! The whole file is scanned once by the engine, as bytes (so nothing is
//! missed: data sections, string tables, anything outside sections), and
//! each finding is then placed in the section that holds it: its
//! `location.inner` gets `section:<name>` (e.g. `section:.rodata`,
//! `section:__cstring`), preceded by `arch:<name>` (e.g. `arch:x86_64`)
//! inside a fat Mach-O. `byte_offset` stays the offset in the whole file;
//! `line` and `column` are left out (binaries have no lines). A finding
//! outside every section (headers, a stripped file's tail) keeps the file's
//! own location. One scan, one finding per match: nothing is counted twice.
//!
//! Stripped binaries keep their section headers, so they are placed the same
//! way; a file whose headers do not parse is scanned as plain bytes.

use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::{Architecture, FileKind, Object, ObjectSection};

use crate::driver::{Outcome, Place, Scanner};
use crate::model::Finding;

/// Whether the first bytes are those of an ELF, PE (`MZ`) or Mach-O file.
pub fn is_binary_magic(head: &[u8]) -> bool {
    const MAGICS: [&[u8]; 8] = [
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"\xca\xfe\xba\xbf",
    ];
    MAGICS.iter().any(|m| head.starts_with(m))
}

/// A named file range: a section, or a fat Mach-O's arch slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// `section:<name>` or `arch:<name>`.
    pub label: String,
    /// Start offset in the whole file.
    pub start: u64,
    /// End offset (exclusive).
    pub end: u64,
    /// Sections of an arch slice (empty for a section).
    pub sections: Vec<Region>,
}

/// The sections of a binary, or of each arch of a fat Mach-O; `None` when
/// `bytes` is not a binary `object` can parse.
pub fn regions(bytes: &[u8]) -> Option<Vec<Region>> {
    match FileKind::parse(bytes).ok()? {
        FileKind::MachOFat32 => fat(bytes, MachOFatFile32::parse(bytes).ok()?.arches()),
        FileKind::MachOFat64 => fat(bytes, MachOFatFile64::parse(bytes).ok()?.arches()),
        _ => sections(bytes, 0),
    }
}

fn fat<A: FatArch>(bytes: &[u8], arches: &[A]) -> Option<Vec<Region>> {
    let mut out = Vec::new();
    for a in arches {
        let (start, size) = a.file_range();
        let Ok(slice) = a.data(bytes) else { continue };
        out.push(Region {
            label: format!("arch:{}", arch_name(a.architecture())),
            start,
            end: start.saturating_add(size),
            sections: sections(slice, start).unwrap_or_default(),
        });
    }
    Some(out)
}

/// The sections with file contents of the binary in `bytes`, whose first
/// byte is at `base` in the whole file.
fn sections(bytes: &[u8], base: u64) -> Option<Vec<Region>> {
    let file = object::File::parse(bytes).ok()?;
    let mut out = Vec::new();
    for s in file.sections() {
        let Some((start, size)) = s.file_range() else {
            continue;
        };
        let name = s.name().unwrap_or("?");
        if size == 0 || name.is_empty() {
            continue;
        }
        out.push(Region {
            label: format!("section:{name}"),
            start: base.saturating_add(start),
            end: base.saturating_add(start).saturating_add(size),
            sections: Vec::new(),
        });
    }
    Some(out)
}

/// The conventional name of an architecture (`x86_64`, `arm64`, …).
fn arch_name(a: Architecture) -> String {
    match a {
        Architecture::X86_64 => "x86_64".into(),
        Architecture::Aarch64 => "arm64".into(),
        Architecture::I386 => "i386".into(),
        Architecture::Arm => "arm".into(),
        Architecture::PowerPc => "ppc".into(),
        Architecture::PowerPc64 => "ppc64".into(),
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// Scans a binary: the engine over all its bytes, each finding placed in its
/// section (and arch). `None` when it does not parse as a binary.
pub fn scan_binary(scanner: &Scanner, place: &Place, bytes: &[u8]) -> Option<Outcome> {
    let regions = regions(bytes)?;
    let mut outcome = scanner.scan_plain(place, bytes);
    for f in &mut outcome.findings {
        place_in(f, &regions, place.inner.len());
    }
    crate::dataset::sort_findings(&mut outcome.findings);
    Some(outcome)
}

fn place_in(f: &mut Finding, regions: &[Region], depth: usize) {
    f.location.line = None;
    f.location.column = None;
    if f.location.inner().len() != depth {
        return; // a member of something inside: already placed
    }
    let off = f.location.byte_offset;
    let mut level = regions;
    while let Some(r) = level.iter().find(|r| r.start <= off && off < r.end) {
        f.location.inner_mut().push(r.label.clone());
        level = &r.sections;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic() {
        assert!(is_binary_magic(b"\x7fELF\x02\x01"));
        assert!(is_binary_magic(b"\xca\xfe\xba\xbe\0\0\0\x02"));
        assert!(!is_binary_magic(b"PAR1"));
        assert!(!is_binary_magic(b"hello"));
    }

    #[test]
    fn not_a_binary() {
        assert!(regions(b"\x7fELF but not really").is_none());
        assert!(regions(b"MZ nothing").is_none());
    }
}
