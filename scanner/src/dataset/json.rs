//! JSON and JSON Lines: key-aware, values of ID keys aggregated (see [`super`]).
//!
//! A small tolerant lexer walks the bytes once: it tracks strings (with
//! escapes), object keys, and the key each value sits under (an array's
//! elements sit under the array's key). Strings and numbers are observed as
//! cells of the column named by their key. It never fails: malformed JSON
//! still gives the keys it could see, and the whole input is scanned by the
//! engine as text either way.

use std::collections::HashMap;

use super::bits::{json_masks, with_block, BLOCK};
use super::{At, Column, Columns, Format};
use crate::driver::{Outcome, Place, Scanner};

/// Scans a JSON/JSONL input (always `Some`: the lexer is tolerant).
pub fn scan_json(
    scanner: &Scanner,
    place: &Place,
    bytes: &[u8],
    format: Format,
) -> Option<Outcome> {
    let cols = columns(bytes, format);
    Some(super::merge_text(scanner, place, bytes, &cols))
}

/// A container being walked: the key its values sit under.
struct Frame {
    object: bool,
    key: Option<usize>,
}

/// The keys of a JSON input, with every string and number value observed.
///
/// Between tokens and inside strings the lexer jumps from one byte of
/// interest to the next with the bitmasks of [`Cursor`]; it visits the same
/// bytes, in the same states, as a byte-at-a-time loop would (the old one is
/// kept in the tests as an oracle).
pub fn columns(bytes: &[u8], format: Format) -> Columns {
    let mut cols = Columns::new(format);
    let mut keys = KeyCache::default();
    let mut stack: Vec<Frame> = Vec::new();
    // The key of the next value, once `"key":` was seen.
    let mut pending: Option<usize> = None;
    let mut cur = Cursor::new(bytes, format == Format::Jsonl);
    let mut i = 0;
    while let Some(at) = cur.next::<TOKENS>(i) {
        i = at;
        match bytes[i] {
            b'"' => {
                let end = cur.string_end(i + 1);
                let content = &bytes[i + 1..end.saturating_sub(1).max(i + 1)];
                if next_is_colon(bytes, end) {
                    pending = Some(keys.index(&mut cols, content));
                } else {
                    if let Some(k) = current(&stack, pending) {
                        cols.cols[k].observe(content, At::Byte(i as u64 + 1));
                    }
                    pending = None;
                }
                i = end;
            }
            b'{' | b'[' => {
                let key = current(&stack, pending);
                stack.push(Frame {
                    object: bytes[i] == b'{',
                    key,
                });
                pending = None;
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                pending = None;
                i += 1;
            }
            b'\n' => {
                // Only a token start in JSON Lines.
                stack.clear();
                pending = None;
                i += 1;
            }
            _ => {
                // `-` or a digit.
                let end = number_end(bytes, i);
                if let Some(k) = current(&stack, pending) {
                    cols.cols[k].observe(&bytes[i..end], At::Byte(i as u64));
                }
                pending = None;
                i = end;
            }
        }
    }
    cols
}

/// Index of the string-stop masks (`"` `\\` `\n`) in [`Cursor`].
const STOPS: usize = 0;
/// Index of the token-start masks in [`Cursor`] (see [`super::bits::json_masks`]).
const TOKENS: usize = 1;

/// Walks the input block by block, keeping the current block's masks.
struct Cursor<'a> {
    bytes: &'a [u8],
    jsonl: bool,
    /// Start of the block whose masks are loaded (`usize::MAX`: none yet).
    base: usize,
    masks: [u64; 2],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], jsonl: bool) -> Cursor<'a> {
        Cursor {
            bytes,
            jsonl,
            base: usize::MAX,
            masks: [0; 2],
        }
    }

    /// The first position at or after `from` whose byte is in class `W`
    /// ([`STOPS`] or [`TOKENS`]).
    #[inline(always)]
    fn next<const W: usize>(&mut self, from: usize) -> Option<usize> {
        let base = from & !(BLOCK - 1);
        if base == self.base {
            let m = self.masks[W] >> (from - base);
            if m != 0 {
                return Some(from + m.trailing_zeros() as usize);
            }
        }
        self.next_block::<W>(from)
    }

    /// [`Cursor::next`] past the loaded block.
    #[inline(never)]
    fn next_block<const W: usize>(&mut self, mut from: usize) -> Option<usize> {
        while from < self.bytes.len() {
            let base = from & !(BLOCK - 1);
            if base != self.base {
                self.base = base;
                let jsonl = self.jsonl;
                self.masks = with_block(self.bytes, base, |b| json_masks(b, jsonl));
            }
            let m = self.masks[W] >> (from - base);
            if m != 0 {
                return Some(from + m.trailing_zeros() as usize);
            }
            from = base + BLOCK;
        }
        None
    }

    /// The position just past the closing quote of a string whose content
    /// starts at `from`; an unterminated string stops at the line end (before
    /// the `\n`), a `\\` skips the byte after it.
    #[inline(always)]
    fn string_end(&mut self, from: usize) -> usize {
        let mut i = from;
        while let Some(at) = self.next::<STOPS>(i) {
            match self.bytes[at] {
                b'\\' => i = at + 2,
                b'"' => return at + 1,
                _ => return at,
            }
        }
        self.bytes.len()
    }
}

/// The key a value here sits under: the pending `"key":`, else (in an
/// array) the array's key.
fn current(stack: &[Frame], pending: Option<usize>) -> Option<usize> {
    pending.or_else(|| stack.last().filter(|f| !f.object).and_then(|f| f.key))
}

/// The column index of each key seen so far, by its raw bytes and by its
/// (lossily decoded) name. Inputs repeat a handful of keys on every line, or
/// hold thousands of distinct ones: a linear search of the column names cost
/// more than the rest of the lexer together. The columns of a JSON input are
/// only ever added here, so `names` knows every one of them.
#[derive(Default)]
struct KeyCache<'a> {
    raw: HashMap<&'a [u8], usize, super::FastHash>,
    names: HashMap<String, usize, super::FastHash>,
}

impl<'a> KeyCache<'a> {
    fn index(&mut self, cols: &mut Columns, raw: &'a [u8]) -> usize {
        if let Some(&i) = self.raw.get(raw) {
            return i;
        }
        let name = String::from_utf8_lossy(raw);
        let i = match self.names.get(name.as_ref()) {
            Some(&i) => i,
            None => {
                cols.cols.push(Column::new(&name, None));
                let i = cols.cols.len() - 1;
                self.names.insert(name.into_owned(), i);
                i
            }
        };
        self.raw.insert(raw, i);
        i
    }
}

fn next_is_colon(bytes: &[u8], from: usize) -> bool {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().find(|b| !b.is_ascii_whitespace()))
        == Some(&b':')
}

fn number_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from + 1;
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::super::digest;
    use super::*;
    use proptest::strategy::Just;

    fn col<'c>(cols: &'c Columns, name: &str) -> &'c Column {
        cols.cols.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn keys_strings_numbers_arrays() {
        let data = br#"{"people": [{"iin": "850314319331", "name": "A \"q\" 921130474626"},
            {"iin": 50101300018, "tags": ["x"]}], "ids": ["850314319331", "921130474626", "921130474626"]}"#;
        let cols = columns(data, Format::Json);
        assert!(col(&cols, "iin").is_id());
        assert!(col(&cols, "ids").is_id());
        assert!(!col(&cols, "name").is_id());
        let counted = cols.counted_offsets();
        assert_eq!(counted.len(), 4);
        let first = memchr::memmem::find(data, b"850314319331").unwrap() as u64;
        assert!(counted.contains(&first));
    }

    /// The byte-at-a-time definition `string_end` must agree with.
    fn string_end_naive(bytes: &[u8], from: usize) -> usize {
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                b'\n' => return i,
                _ => i += 1,
            }
        }
        bytes.len()
    }

    proptest::proptest! {
        #[test]
        fn string_end_agrees_with_bytewise(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b'a'), proptest::num::u8::ANY
            ], 0..64),
            from in 0usize..70,
        ) {
            let from = from.min(bytes.len());
            for jsonl in [false, true] {
                let got = Cursor::new(&bytes, jsonl).string_end(from);
                proptest::prop_assert_eq!(got, string_end_naive(&bytes, from));
            }
        }

        #[test]
        fn lexer_agrees_with_bytewise_on_json(doc in json_doc(3), jsonl in proptest::bool::ANY) {
            let format = if jsonl { Format::Jsonl } else { Format::Json };
            proptest::prop_assert_eq!(
                digest(&columns(&doc, format)),
                digest(&columns_bytewise(&doc, format))
            );
        }

        #[test]
        fn lexer_agrees_with_bytewise_on_garbage(
            bytes in proptest::collection::vec(proptest::prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b'{'), Just(b'}'), Just(b'['),
                Just(b']'), Just(b':'), Just(b','), Just(b'-'), Just(b'8'), Just(b' '),
                Just(b'a'), proptest::num::u8::ANY
            ], 0..300),
            jsonl in proptest::bool::ANY,
        ) {
            let format = if jsonl { Format::Jsonl } else { Format::Json };
            proptest::prop_assert_eq!(
                digest(&columns(&bytes, format)),
                digest(&columns_bytewise(&bytes, format))
            );
        }
    }

    /// JSON texts (and JSON Lines, when lines are joined) of nested objects
    /// and arrays, with ID-like numbers and strings, escapes (`\\\"`), and
    /// sometimes truncated.
    fn json_doc(depth: u32) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("iin".to_string()),
            Just("name".to_string()),
            Just("a\\\"b".to_string()),
            Just("ids".to_string()),
            "[a-z]{1,70}",
        ];
        let scalar = prop_oneof![
            Just("\"850314319331\"".to_string()),
            Just("921130474626".to_string()),
            Just("50101300018".to_string()),
            Just("-1.5e+3".to_string()),
            Just("\"x\\\\\\\"850314319331\"".to_string()),
            Just("\"tab\\t \\\\\"".to_string()),
            Just("true".to_string()),
            Just("null".to_string()),
            "[0-9]{1,14}",
            "\"[ -~]{0,80}\"",
        ];
        let leaf = scalar.boxed();
        let value = leaf.prop_recursive(depth, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec((key.clone(), inner), 0..6).prop_map(|v| {
                    let body: Vec<String> = v
                        .into_iter()
                        .map(|(k, x)| format!("\"{k}\" : {x}"))
                        .collect();
                    format!("{{{}}}", body.join(",\n "))
                }),
            ]
        });
        (
            proptest::collection::vec(value, 1..4),
            0usize..4000,
            proptest::bool::ANY,
        )
            .prop_map(|(docs, cut, truncate)| {
                let mut out = docs.join("\n").into_bytes();
                if truncate {
                    out.truncate(cut.min(out.len()));
                }
                out
            })
    }

    /// The lexer as it was before the bitmask cursor: a byte at a time
    /// between tokens, `memchr3` inside strings. The oracle of the proptests.
    fn columns_bytewise(bytes: &[u8], format: Format) -> Columns {
        let mut cols = Columns::new(format);
        let mut keys = KeyCache::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut pending: Option<usize> = None;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let end = string_end_memchr(bytes, i + 1);
                    let content = &bytes[i + 1..end.saturating_sub(1).max(i + 1)];
                    if next_is_colon(bytes, end) {
                        pending = Some(keys.index(&mut cols, content));
                    } else {
                        if let Some(k) = current(&stack, pending) {
                            cols.cols[k].observe(content, At::Byte(i as u64 + 1));
                        }
                        pending = None;
                    }
                    i = end;
                }
                b'{' | b'[' => {
                    let key = current(&stack, pending);
                    stack.push(Frame {
                        object: bytes[i] == b'{',
                        key,
                    });
                    pending = None;
                    i += 1;
                }
                b'}' | b']' => {
                    stack.pop();
                    pending = None;
                    i += 1;
                }
                b'\n' if format == Format::Jsonl => {
                    stack.clear();
                    pending = None;
                    i += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let end = number_end(bytes, i);
                    if let Some(k) = current(&stack, pending) {
                        cols.cols[k].observe(&bytes[i..end], At::Byte(i as u64));
                    }
                    pending = None;
                    i = end;
                }
                _ => i += 1,
            }
        }
        cols
    }

    fn string_end_memchr(bytes: &[u8], from: usize) -> usize {
        let mut i = from;
        while let Some(p) = bytes
            .get(i..)
            .and_then(|rest| memchr::memchr3(b'"', b'\\', b'\n', rest))
        {
            let at = i + p;
            match bytes[at] {
                b'\\' => i = at + 2,
                b'"' => return at + 1,
                _ => return at,
            }
        }
        bytes.len()
    }

    #[test]
    fn keys_are_looked_up_by_bytes_as_by_name() {
        // Two raw keys that decode to the same lossy name share one column,
        // with or without the byte-keyed cache in front.
        let data = b"{\"a\xff\": 1, \"a\xfe\": 2, \"k\": 3}\n{\"k\": 4, \"a\xff\": 5}";
        let cols = columns(data, Format::Jsonl);
        let names: Vec<&str> = cols.cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a\u{fffd}", "k"]);
        assert_eq!(cols.cols[0].nonempty, 3);
        assert_eq!(cols.cols[1].nonempty, 2);
    }

    #[test]
    fn jsonl_lines_reset_and_garbage_does_not_panic() {
        let data = b"{\"iin\": \"850314319331\"\n{\"x\": 921130474626}\n\"\\\n{]]}}[[\"";
        let cols = columns(data, Format::Jsonl);
        assert!(col(&cols, "iin").is_id());
        assert!(!col(&cols, "x").is_id());
    }
}
