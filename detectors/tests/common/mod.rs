//! Helpers shared by the integration tests.

use shekara_detectors::{Engine, Haystack, RawFinding};

/// Scans in windows owning `size` bytes each, with `OVERLAP` context on
/// both sides, as the scanner cuts a file.
pub fn scan_windows(engine: &Engine, bytes: &[u8], path: &str, size: usize) -> Vec<RawFinding> {
    let mut out = Vec::new();
    for hay in Haystack::windows(bytes, path, size) {
        engine.scan(&hay, &mut out);
    }
    out
}
