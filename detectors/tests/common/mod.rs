//! Helpers shared by the integration tests.

use shekara_detectors::{Engine, Haystack, RawFinding, OVERLAP};

/// Scans in windows owning `size` bytes each, with [`OVERLAP`] context on
/// both sides, as the scanner cuts a file.
pub fn scan_windows(engine: &Engine, bytes: &[u8], path: &str, size: usize) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + size).min(bytes.len());
        let from = start.saturating_sub(OVERLAP);
        let to = (end + OVERLAP).min(bytes.len());
        let hay = Haystack {
            bytes: &bytes[from..to],
            owned: start - from..end - from,
            base: from as u64,
            path,
        };
        engine.scan(&hay, &mut out);
        start = end;
    }
    out
}
