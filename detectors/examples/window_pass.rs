//! The engine's window pass alone over a folder, as the scanner feeds it:
//! windows of 256 KiB with `OVERLAP` bytes of context, one file after the
//! other, one thread. For instruction counts of the prefilter and detectors
//! without the rest of the scanner (`valgrind --tool=callgrind`), and to
//! compare two builds' findings: each finding is printed on a line.
//!
//! `cargo run --release -p shekara-detectors --example window_pass -- DIR > findings.txt`

use std::io::Write;
use std::path::{Path, PathBuf};

use shekara_detectors::{Engine, Haystack, Scratch};

const WINDOW: usize = 256 * 1024;

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let t = e.file_type()?;
        if t.is_dir() {
            files(&e.path(), out)?;
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::args().nth(1).ok_or("usage: window_pass DIR")?);
    let mut list = Vec::new();
    files(&root, &mut list)?;
    let engine = Engine::builtin();
    let mut scratch = Scratch::default();
    let mut found = Vec::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut total = 0usize;
    for p in &list {
        let bytes = std::fs::read(p)?;
        let rel = p.strip_prefix(&root)?.to_string_lossy().replace('\\', "/");
        for hay in Haystack::windows(&bytes, &rel, WINDOW) {
            found.clear();
            engine.scan_with(&hay, &mut scratch, &mut found);
            for f in &found {
                total += 1;
                writeln!(
                    out,
                    "{rel}\t{:?}\t{}\t{}\t{:?}\t{}\t{:?}",
                    f.span,
                    f.rule,
                    f.kind.as_str(),
                    f.confidence,
                    String::from_utf8_lossy(&f.value),
                    f.attributes
                )?;
            }
        }
    }
    writeln!(out, "{total} findings in {} files", list.len())?;
    Ok(())
}
