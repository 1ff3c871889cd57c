//! Parquet: decoded column by column with the `parquet` crate's low-level
//! column readers (no Arrow).
//!
//! Pass 1 observes every string (`BYTE_ARRAY`, `FIXED_LEN_BYTE_ARRAY`) and
//! `INT64` value of every column, in every row group, whatever the encoding
//! (plain, dictionary) or codec (snappy, zstd, gzip, none); columns that turn
//! out to hold IDs are reported as aggregates. Pass 2 scans the values of
//! the other string and `INT64` columns as text (one value per line, row by
//! row) so free text, URLs and stray IINs in them are found individually,
//! with `column` and `row` attributes. The footer (schema, key-value
//! metadata such as pandas' or Spark's) is scanned as text; its column
//! statistics (min/max values, copies of cells) are not counted again. Other
//! physical types (booleans, `INT32`, floats) cannot hold a 12-digit ID and
//! are not read.
//!
//! A file that does not decode is recorded in coverage (`corrupt`) and its
//! raw bytes are scanned instead.

use std::panic::{catch_unwind, AssertUnwindSafe};

use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::ColumnDescriptor;

use super::{At, Column, Columns, Format};
use crate::driver::{Outcome, Place, Scanner};
use crate::model::{Finding, Reason};

/// Values decoded per call.
const BATCH: usize = 8192;

/// Scans a Parquet file (always `Some`: a file that does not decode is
/// scanned raw, with a coverage record).
pub fn scan_parquet(scanner: &Scanner, place: &Place, bytes: &[u8]) -> Option<Outcome> {
    let decoded = catch_unwind(AssertUnwindSafe(|| decode(scanner, place, bytes)));
    let err = match decoded {
        Ok(Ok(outcome)) => return Some(outcome),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "the decoder stopped on malformed data".to_string(),
    };
    let mut o = scanner.scan_plain(place, bytes);
    o.not_scanned.push(scanner.not_scanned(
        place,
        Reason::Corrupt,
        &format!("not decodable as Parquet ({err}); its raw bytes were scanned instead"),
        Some(bytes.len() as u64),
    ));
    o.complete = false;
    Some(o)
}

fn decode(scanner: &Scanner, place: &Place, bytes: &[u8]) -> Result<Outcome, ParquetError> {
    // The footer's magic first, read in place by the crate itself: a file
    // that only starts like Parquet fails here with the reader's own error,
    // before the whole of it is copied for the reader (the benchmark
    // corpus's 78 such binaries: ≈ 1.2k fresh pages).
    if let Some(at) = bytes.len().checked_sub(parquet::file::FOOTER_SIZE) {
        parquet::file::metadata::FooterTail::try_from(&bytes[at..])?;
    }
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut cols = Columns::new(Format::Parquet);
    for (i, d) in schema.columns().iter().enumerate() {
        cols.cols.push(Column::new(&d.path().string(), Some(i)));
    }
    let descrs = schema.columns();
    each_chunk(&reader, descrs, |c, chunk, base, v, row| {
        cols.cols[c].observe(
            v,
            At::Row {
                row: base + row,
                chunk_offset: chunk,
            },
        );
    })?;
    let mut outcome = scanner.empty_outcome(place, bytes);
    outcome.findings = cols.findings(scanner, place, bytes);
    let ids: Vec<bool> = cols.cols.iter().map(Column::is_id).collect();
    outcome
        .findings
        .extend(text_columns(scanner, place, &reader, &cols, &ids)?);
    outcome
        .findings
        .extend(footer(scanner, place, bytes, &reader));
    super::sort_findings(&mut outcome.findings);
    Ok(outcome)
}

/// Calls `f(column, chunk_offset, first_row_of_group, value, row_in_group)`
/// for every value of every readable column.
fn each_chunk(
    reader: &SerializedFileReader<bytes::Bytes>,
    descrs: &[std::sync::Arc<ColumnDescriptor>],
    mut f: impl FnMut(usize, u64, u64, &[u8], u64),
) -> Result<(), ParquetError> {
    let mut base = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g)?;
        for (c, d) in descrs.iter().enumerate() {
            let chunk = group.metadata().column(c).byte_range().0;
            let col = group.get_column_reader(c)?;
            each_value(col, d, &mut |v, row| f(c, chunk, base, v, row))?;
        }
        base += u64::try_from(group.metadata().num_rows()).unwrap_or(0);
    }
    Ok(())
}

/// Calls `f(value as text, row)` for each non-null string or INT64 value.
fn each_value(
    col: ColumnReader,
    d: &ColumnDescriptor,
    f: &mut dyn FnMut(&[u8], u64),
) -> Result<(), ParquetError> {
    let levels = (d.max_def_level(), d.max_rep_level());
    match col {
        ColumnReader::ByteArrayColumnReader(r) => read_all(r, levels, |v, row| f(v.data(), row)),
        ColumnReader::FixedLenByteArrayColumnReader(r) => {
            read_all(r, levels, |v, row| f(v.data(), row))
        }
        ColumnReader::Int64ColumnReader(r) => read_all(r, levels, |v, row| {
            let mut buf = itoa_buf();
            f(decimal(*v, &mut buf), row)
        }),
        _ => Ok(()),
    }
}

/// Reads a column chunk to the end, calling `f` with each non-null value and its row.
fn read_all<T: DataType>(
    mut r: ColumnReaderImpl<T>,
    (max_def, max_rep): (i16, i16),
    mut f: impl FnMut(&T::T, u64),
) -> Result<(), ParquetError> {
    let (mut defs, mut reps, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    let mut row = 0u64;
    loop {
        defs.clear();
        reps.clear();
        vals.clear();
        let (records, values, levels) =
            r.read_records(BATCH, Some(&mut defs), Some(&mut reps), &mut vals)?;
        if records == 0 && values == 0 && levels == 0 {
            return Ok(());
        }
        let mut vals_it = vals.iter();
        if max_def == 0 && max_rep == 0 {
            for (k, v) in vals_it.enumerate() {
                f(v, row + k as u64);
            }
        } else {
            let mut cur = row;
            for j in 0..levels {
                // A new row: every level without repetition, else where the
                // repetition level is 0.
                if j > 0 && (max_rep == 0 || reps.get(j) == Some(&0)) {
                    cur += 1;
                }
                if max_def == 0 || defs.get(j) == Some(&max_def) {
                    if let Some(v) = vals_it.next() {
                        f(v, cur);
                    }
                }
            }
        }
        row += records as u64;
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// The decimal digits of `v` (negative numbers as `-`: never an ID).
fn decimal(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    if v < 0 {
        return b"-";
    }
    let mut n = v as u64;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Findings of the engine over the values of non-ID columns, one value per line.
fn text_columns(
    scanner: &Scanner,
    place: &Place,
    reader: &SerializedFileReader<bytes::Bytes>,
    cols: &Columns,
    ids: &[bool],
) -> Result<Vec<Finding>, ParquetError> {
    let mut out = Vec::new();
    let descrs = reader.metadata().file_metadata().schema_descr_ptr();
    let mut base = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g)?;
        for (c, d) in descrs.columns().iter().enumerate() {
            if ids.get(c) != Some(&false) {
                continue;
            }
            let chunk = group.metadata().column(c).byte_range().0;
            let mut text = Vec::new();
            let mut rows = Vec::new();
            each_value(group.get_column_reader(c)?, d, &mut |v, row| {
                text.extend(
                    v.iter()
                        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
                );
                text.push(b'\n');
                rows.push(base + row);
            })?;
            for mut f in scanner.scan_plain(place, &text).findings {
                let line = f.location.line.map_or(1, std::num::NonZeroU64::get);
                let row = rows.get(line.saturating_sub(1) as usize).copied();
                locate_cell(&mut f, &cols.cols[c].name, row, chunk);
                out.push(f);
            }
        }
        base += u64::try_from(group.metadata().num_rows()).unwrap_or(0);
    }
    Ok(out)
}

fn locate_cell(f: &mut Finding, column: &str, row: Option<u64>, chunk: u64) {
    f.attributes.insert("column", column.to_string());
    f.attributes.insert("dataset", "parquet");
    if let Some(row) = row {
        f.attributes.insert("row", row.to_string());
    }
    f.location.line = None;
    f.location.column = None;
    f.location.byte_offset = chunk;
}

/// Findings of the engine in the footer's free text: `created_by` and the
/// key-value metadata (pandas, Spark and Arrow schemas, user keys), one
/// entry per line, located at the footer's offset. The footer's column
/// statistics (min/max) are copies of column values, already counted.
fn footer(
    scanner: &Scanner,
    place: &Place,
    bytes: &[u8],
    reader: &SerializedFileReader<bytes::Bytes>,
) -> Vec<Finding> {
    let meta = reader.metadata().file_metadata();
    let mut text = String::new();
    if let Some(by) = meta.created_by() {
        text.push_str(by);
        text.push('\n');
    }
    for kv in meta.key_value_metadata().into_iter().flatten() {
        text.push_str(&kv.key);
        text.push('=');
        text.push_str(kv.value.as_deref().unwrap_or(""));
        text.push('\n');
    }
    let n = bytes.len();
    let len = bytes
        .get(n.saturating_sub(8)..n.saturating_sub(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_le_bytes(b) as usize);
    let start = n.saturating_sub(8).saturating_sub(len) as u64;
    let mut found = scanner.scan_plain(place, text.as_bytes()).findings;
    for f in &mut found {
        f.location.byte_offset = start;
        f.location.line = None;
        f.location.column = None;
        f.attributes.insert("dataset", "parquet");
        f.attributes.insert("part", "metadata");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let mut b = itoa_buf();
        assert_eq!(decimal(0, &mut b), b"0");
        let mut b = itoa_buf();
        assert_eq!(decimal(50101300018, &mut b), b"50101300018");
        let mut b = itoa_buf();
        assert_eq!(decimal(i64::MAX, &mut b), b"9223372036854775807");
        let mut b = itoa_buf();
        assert_eq!(decimal(-5, &mut b), b"-");
    }
}
