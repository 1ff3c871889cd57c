//! CSV/TSV: header-aware, ID columns aggregated (see [`super`]).
//!
//! The first record is the header unless one of its cells is a valid
//! 12-digit IIN/BIN (then columns are named `#1`, `#2`, …). The delimiter is
//! a tab for `.tsv`/`.tab`, else whichever of `,` `;` `|` `\t` occurs most in
//! the first line. Records may have any number of fields; quoted fields may
//! span lines.

use memchr::memmem;

use super::{At, Column, Columns, Format};
use crate::driver::{Outcome, Place, Scanner};

/// Scans a CSV/TSV input: `None` when it does not parse as CSV (the caller
/// then scans it as plain bytes, so nothing is lost).
pub fn scan_csv(scanner: &Scanner, place: &Place, bytes: &[u8], format: Format) -> Option<Outcome> {
    let cols = columns(bytes, format)?;
    Some(super::merge_text(scanner, place, bytes, &cols))
}

/// The columns of a CSV input, with every cell observed.
pub fn columns(bytes: &[u8], format: Format) -> Option<Columns> {
    let delimiter = if format == Format::Tsv {
        b'\t'
    } else {
        guess_delimiter(bytes)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut cols = Columns::new(format);
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    while reader.read_byte_record(&mut record).ok()? {
        let start = record.position().map_or(0, |p| p.byte());
        if first {
            first = false;
            if header_of(&record, &mut cols) {
                continue;
            }
        }
        observe_record(&record, start, bytes, delimiter, &mut cols);
    }
    Some(cols)
}

/// Names the columns from the first record; false when it is data, not a header.
fn header_of(record: &csv::ByteRecord, cols: &mut Columns) -> bool {
    let is_data = record.iter().any(|f| {
        let f = f.trim_ascii();
        f.len() == 12 && shekara_detectors::iin::classify(f).is_ok()
    });
    if is_data {
        return false;
    }
    for (i, f) in record.iter().enumerate() {
        let name = String::from_utf8_lossy(f.trim_ascii());
        cols.cols.push(Column::new(&name, Some(i)));
    }
    true
}

/// Observes each cell of a record that starts at byte `start`.
fn observe_record(
    record: &csv::ByteRecord,
    start: u64,
    bytes: &[u8],
    delimiter: u8,
    cols: &mut Columns,
) {
    // A lower bound of the current field's start in the raw bytes: a raw
    // field is never shorter than its decoded value.
    let mut cursor = start as usize;
    for (i, field) in record.iter().enumerate() {
        while cols.cols.len() <= i {
            let n = cols.cols.len();
            cols.cols.push(Column::new(&format!("#{}", n + 1), Some(n)));
        }
        let value = field.trim_ascii();
        let at = if looks_numeric(value) {
            find(bytes, cursor, value).map_or(At::Byte(cursor as u64), |p| {
                cursor = p + value.len();
                At::Byte(p as u64)
            })
        } else {
            cursor += field.len();
            At::Byte(cursor as u64)
        };
        cols.cols[i].observe(value, at);
        cursor += usize::from(bytes.get(cursor) == Some(&delimiter));
    }
}

fn looks_numeric(v: &[u8]) -> bool {
    (9..=14).contains(&v.len()) && v.first().is_some_and(u8::is_ascii_digit)
}

/// The first occurrence of `value` at or after `from`, within the next 64 KiB.
///
/// `value` starts with a digit, so when it stands right after `from` and a
/// few blanks or quotes (the usual case: `from` is the field's start) no
/// earlier occurrence is possible and no substring search is needed.
fn find(bytes: &[u8], from: usize, value: &[u8]) -> Option<usize> {
    let lead = bytes.get(from..)?.iter().take(8);
    let skip = lead
        .take_while(|b| matches!(b, b' ' | b'\t' | b'"'))
        .count();
    let at = from + skip;
    if value.first().is_some_and(u8::is_ascii_digit)
        && bytes.get(at..at + value.len()) == Some(value)
    {
        return Some(at);
    }
    let end = from.saturating_add(64 << 10).min(bytes.len());
    let hay = bytes.get(from..end)?;
    memmem::find(hay, value).map(|p| from + p)
}

/// The most frequent of `,` `;` `|` `\t` in the first line (`,` on a tie or none).
fn guess_delimiter(bytes: &[u8]) -> u8 {
    let line_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let line = &bytes[..line_end.min(64 << 10)];
    let mut best = (0usize, b',');
    for d in [b',', b';', b'|', b'\t'] {
        let n = bytecount::count(line, d);
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_fast_path_agrees_with_substring_search() {
        let data = b"a, \"850314319331\",x 850314319331;\t\t921130474626 9211304746260";
        for from in 0..data.len() {
            for v in [
                &b"850314319331"[..],
                b"921130474626",
                b"9211304746260",
                b"12",
            ] {
                let slow = memmem::find(&data[from..], v).map(|p| from + p);
                assert_eq!(find(data, from, v), slow, "from {from}");
            }
        }
    }

    #[test]
    fn header_and_cells() {
        let data = b"name;iin\n\"A; B\";850314319331\nC;50101300018\nD;\n";
        let cols = columns(data, Format::Csv).unwrap();
        assert_eq!(cols.cols.len(), 2);
        assert_eq!(cols.cols[1].name, "iin");
        assert!(cols.cols[1].is_id());
        let offs = cols.counted_offsets();
        let at = memmem::find(data, b"850314319331").unwrap() as u64;
        assert_eq!(offs.into_iter().collect::<Vec<_>>(), vec![at]);
    }

    #[test]
    fn no_header_when_the_first_row_is_data() {
        let data = b"850314319331,x\n921130474626,y\n850314319331,z\n";
        let cols = columns(data, Format::Csv).unwrap();
        assert_eq!(cols.cols[0].name, "#1");
        assert!(cols.cols[0].is_id());
        assert_eq!(cols.counted_offsets().len(), 3);
    }

    #[test]
    fn delimiters() {
        assert_eq!(guess_delimiter(b"a;b;c,d\n1,2"), b';');
        assert_eq!(guess_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(guess_delimiter(b"abc"), b',');
    }
}
