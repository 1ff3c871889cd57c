//! Making bytes safe to show: control and bidi characters escaped, non-UTF-8 kept visible.

/// Escapes control characters and Unicode bidi overrides in `s`, so a path or
/// value can't rewrite the terminal or reorder what the reader sees.
pub fn sanitize(s: &str) -> String {
    // Printable ASCII (hosts, paths, most values) needs nothing.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// UTF-8 text as is (sanitized); invalid bytes as `\xNN`.
pub fn escape_lossy(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return sanitize(s);
    }
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(&sanitize(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(sanitize("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(sanitize("x\u{202E}y"), "x\\u{202e}y");
        assert_eq!(escape_lossy(b"ok\xff"), "ok\\xff");
        assert_eq!(escape_lossy(b"s3.amazonaws.com"), "s3.amazonaws.com");
        assert_eq!(escape_lossy(b"tab\there"), "tab\\there");
        assert_eq!(escape_lossy("ж\u{202E}".as_bytes()), "ж\\u{202e}");
        assert_eq!(sanitize("~ !"), "~ !");
        assert_eq!(sanitize("del\x7f"), "del\\u{7f}");
    }
}
