//! Renderers: JSON, streamed JSON Lines, and text for people.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Mutex;

use serde_json::json;
use shekara_scanner::model::NotScanned;
use shekara_scanner::text::sanitize;
use shekara_scanner::{Finding, Outcome, Report, Severity, Sink};

/// Writes the report as one JSON document (compact: reports of data lakes
/// hold hundreds of thousands of findings; `jq .` pretty-prints).
///
/// The findings are serialized in parallel, a chunk at a time, and written
/// in order as they come (see [`findings`]); the document is byte for
/// byte what `serde_json::to_writer` would write (a test checks it).
pub fn json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    json_with(report, out, rayon::current_num_threads(), CHUNK)
}

/// [`json`] with `workers` serializing `chunk` findings at a time.
fn json_with(report: &Report, out: &mut dyn Write, workers: usize, chunk: usize) -> io::Result<()> {
    let field = |out: &mut dyn Write, name: &str, v: &dyn erased::Value| -> io::Result<()> {
        write!(out, "\"{name}\":")?;
        v.write_json(out)
    };
    out.write_all(b"{")?;
    field(out, "schema", &report.schema)?;
    out.write_all(b",")?;
    field(out, "tool", &report.tool)?;
    out.write_all(b",")?;
    field(out, "scan", &report.scan)?;
    out.write_all(b",\"findings\":[")?;
    findings(&report.findings, out, workers, chunk)?;
    out.write_all(b"],")?;
    field(out, "coverage", &report.coverage)?;
    out.write_all(b",")?;
    // Object-store sweeps: where the stores are, and whether the scan was cut short.
    if !report.stores.is_empty() {
        field(out, "stores", &report.stores)?;
        out.write_all(b",")?;
    }
    if report.partial {
        field(out, "partial", &true)?;
        out.write_all(b",")?;
    }
    field(out, "summary", &report.summary)?;
    // Evidence layer (issue #5).
    out.write_all(b",")?;
    field(out, "verdicts", &report.verdicts)?;
    out.write_all(b",")?;
    field(out, "suppressions", &report.suppressions)?;
    out.write_all(b"}\n")
}

/// Writes `all` the findings, comma-separated.
///
/// `workers` tasks on rayon's pool each take the next chunk of `chunk`
/// findings and serialize it into a free buffer; this thread writes the
/// chunks in order as they come and hands their buffers back. No chunk
/// waits for a slower one of its batch (as when the chunks went in
/// batches, a join each), and the serialized text in memory is at most
/// `2 × workers` chunks, buffers faulted in once and reused (the 1 GiB
/// corpus's 80k findings at 2 threads: four 256 KB buffers where the
/// batches had eight of 1 MB).
fn findings(
    all: &shekara_scanner::Findings,
    out: &mut dyn Write,
    workers: usize,
    chunk: usize,
) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc;
    let chunk = chunk.max(1);
    let chunks = all.len().div_ceil(chunk);
    if chunks == 0 {
        return Ok(());
    }
    // On one of the pool's own threads (a caller that runs this on the
    // pool), waiting here for the workers could leave them no thread.
    if workers <= 1 && chunks <= 1 || rayon::current_thread_index().is_some() {
        let (mut buf, mut memo) = (Vec::new(), shekara_scanner::json::Written::default());
        for (i, f) in all.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            shekara_scanner::json::write_finding_with(&mut buf, f, &mut memo);
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        return out.write_all(&buf);
    }
    let range = |i: usize| all.range(i * chunk..(i + 1) * chunk);
    let workers = workers.min(chunks).max(1);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..2 * workers {
        let _ = free_tx.send(Vec::new());
    }
    let free_rx = Mutex::new(free_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Vec<u8>)>();
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    rayon::in_place_scope(|s| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (free_rx, next, stop, range) = (&free_rx, &next, &stop, &range);
            s.spawn(move |_| {
                let mut memo = shekara_scanner::json::Written::default();
                loop {
                    // A buffer first, then a chunk: the chunks in flight
                    // are always the next ones to write, each with a buffer.
                    let buf = free_rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some(mut buf) = buf else { return };
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= chunks || stop.load(Ordering::Relaxed) {
                        return;
                    }
                    buf.clear();
                    for (j, f) in range(i).enumerate() {
                        if i > 0 || j > 0 {
                            buf.push(b',');
                        }
                        shekara_scanner::json::write_finding_with(&mut buf, f, &mut memo);
                    }
                    if done_tx.send((i, buf)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Chunks that came before their turn, by index.
        let mut early: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
        let (mut turn, mut free_tx) = (0, Some(free_tx));
        for (i, buf) in done_rx {
            early.insert(i, buf);
            while let Some(buf) = early.remove(&turn) {
                if let Err(e) = out.write_all(&buf) {
                    // Stop the workers: no more buffers (a worker waiting
                    // for one wakes to a closed channel), no more chunks.
                    stop.store(true, Ordering::Relaxed);
                    drop(free_tx.take());
                    return Err(e);
                }
                turn += 1;
                if let Some(tx) = &free_tx {
                    let _ = tx.send(buf);
                }
            }
        }
        Ok(())
    })
}

/// Findings one worker serializes at a time.
const CHUNK: usize = 512;

/// Serializing one field value without naming its type.
mod erased {
    use std::io::{self, Write};

    pub trait Value {
        fn write_json(&self, out: &mut dyn Write) -> io::Result<()>;
    }

    impl<T: serde::Serialize> Value for T {
        fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
            serde_json::to_writer(out, self).map_err(io::Error::other)
        }
    }
}

/// Streams JSON Lines in the report's order while the scan runs: files finish
/// in any order, lines leave in path order.
pub struct JsonLines {
    state: Mutex<Ordered>,
}

struct Ordered {
    next: usize,
    pending: BTreeMap<usize, Vec<u8>>,
    out: Box<dyn Write + Send>,
    error: Option<io::Error>,
}

impl JsonLines {
    /// Streams to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> JsonLines {
        JsonLines {
            state: Mutex::new(Ordered {
                next: 0,
                pending: BTreeMap::new(),
                out,
                error: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ordered> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the closing summary line and flushes.
    ///
    /// # Errors
    /// The first write error of the whole stream.
    pub fn finish(&self, report: &Report) -> io::Result<()> {
        let mut s = self.lock();
        let mut coverage = serde_json::to_value(&report.coverage)?;
        if let Some(o) = coverage.as_object_mut() {
            o.remove("not_scanned");
            o.insert(
                "not_scanned_count".into(),
                report.coverage.not_scanned.len().into(),
            );
        }
        let mut line = json!({
            "type": "summary", "schema": report.schema, "tool": report.tool,
            "scan": report.scan, "coverage": coverage, "summary": report.summary,
            "verdicts": report.verdicts, "suppressions": report.suppressions,
        });
        if let Some(o) = line.as_object_mut() {
            if !report.stores.is_empty() {
                o.insert("stores".into(), serde_json::to_value(&report.stores)?);
            }
            if report.partial {
                o.insert("partial".into(), true.into());
            }
        }
        let s = &mut *s;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        serde_json::to_writer(&mut s.out, &line)?;
        s.out.write_all(b"\n")?;
        s.out.flush()
    }

    fn write_now(s: &mut Ordered, bytes: &[u8]) {
        if s.error.is_none() {
            if let Err(e) = s.out.write_all(bytes) {
                s.error = Some(e);
            }
        }
    }
}

fn record(kind: &str, value: &impl serde::Serialize) -> Vec<u8> {
    let mut v = serde_json::to_value(value).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("type".into(), kind.into());
    }
    let mut line = serde_json::to_vec(&v).unwrap_or_default();
    line.push(b'\n');
    line
}

impl Sink for JsonLines {
    fn skipped(&self, item: &NotScanned) {
        let mut s = self.lock();
        Self::write_now(&mut s, &record("not_scanned", item));
    }

    fn file(&self, index: usize, outcome: &Outcome) {
        let mut bytes = Vec::new();
        for f in &outcome.findings {
            bytes.extend(record("finding", f));
        }
        for p in &outcome.not_scanned {
            bytes.extend(record("not_scanned", p));
        }
        let mut s = self.lock();
        if index == usize::MAX {
            Self::write_now(&mut s, &bytes);
            return;
        }
        s.pending.insert(index, bytes);
        loop {
            let next = s.next;
            let Some(b) = s.pending.remove(&next) else {
                break;
            };
            Self::write_now(&mut s, &b);
            s.next += 1;
        }
    }
}

/// ANSI styling, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;37;41",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, &format!("{:<8}", s.as_str()))
    }
}

/// The notification deadlines (biometric first), as banner lines.
fn deadlines(report: &Report, style: Style) -> Vec<String> {
    report
        .summary
        .breach_notification
        .iter()
        .map(|b| {
            let window = match (b.business_days, b.window.as_str()) {
                (true, "P1D") => "1 business day".to_string(),
                (true, w) => format!("{w} in business days"),
                (false, w) => w.to_string(),
            };
            let (line, code) = match (&b.deadline, &b.detected) {
                (Some(deadline), Some(detected)) => (
                    format!(
                        "BIOMETRIC DATA: {} finding(s) · if this has left the country, notify by {deadline} ({window} from detection at {detected}; {})",
                        b.findings, b.basis
                    ),
                    "1;37;41",
                ),
                _ => (
                    format!(
                        "Personal data: {} finding(s) · a breach is notified within {window} of its detection ({})",
                        b.findings, b.basis
                    ),
                    "1;33",
                ),
            };
            style.paint(code, &line)
        })
        .collect()
}

/// Writes the notification deadlines, findings grouped by file, what was
/// not scanned, a summary line, and the deadlines again.
pub fn text(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let banner = deadlines(report, style);
    // The biometric deadline (first, when there is one) opens the output too.
    let biometric = report
        .summary
        .breach_notification
        .first()
        .is_some_and(|b| b.deadline.is_some());
    if let (true, Some(line)) = (biometric, banner.first()) {
        writeln!(out, "{line}\n")?;
    }
    let mut current: Option<(usize, &str, &[String])> = None;
    for f in &report.findings {
        let here = (f.location.root, &*f.location.path, f.location.inner());
        if current != Some(here) {
            if current.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", style.paint("1;35", &file_label(report, f)))?;
            current = Some(here);
        }
        writeln!(out, "{}", finding_line(f, style))?;
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
    }
    not_scanned(report, style, out)?;
    verdicts(report, style, out)?;
    writeln!(out, "{}", summary_line(report))?;
    for line in &banner {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Verdict lines (evidence layer, issue #5).
fn verdicts(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    use shekara_scanner::verdict::Residency;
    if report.verdicts.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", style.paint("1", "Residency verdicts:"))?;
    for v in &report.verdicts {
        let code = match v.verdict {
            Residency::Violation => "1;37;41",
            Residency::Incomplete => "1;33",
            Residency::EgressOnly => "33",
            Residency::InCountry => "32",
            Residency::Clean => "1;32",
        };
        let name = v.verdict.as_str().to_ascii_uppercase();
        writeln!(
            out,
            "  {}  {}",
            style.paint(code, &format!("{name:<11}")),
            sanitize(&v.label)
        )?;
        for r in &v.reasons {
            writeln!(out, "               {}", sanitize(&r.message))?;
        }
        if let Some(b) = &v.breach {
            writeln!(
                out,
                "               breach notification ({} data, {}) due by {}",
                b.class, b.window, b.deadline
            )?;
        }
    }
    if !report.suppressions.is_empty() {
        writeln!(
            out,
            "  {} finding(s) suppressed (inline shekara:ignore or baseline)",
            report.suppressions.len()
        )?;
    }
    writeln!(out)
}

fn file_label(report: &Report, f: &Finding) -> String {
    let mut label = sanitize(&f.location.path);
    if report.scan.roots.len() > 1 {
        let root = report
            .scan
            .roots
            .get(f.location.root)
            .map_or("", String::as_str);
        label = format!("{}: {label}", sanitize(root));
    }
    for inner in f.location.inner() {
        label.push_str(" ▸ ");
        label.push_str(&sanitize(inner));
    }
    label
}

fn finding_line(f: &Finding, style: Style) -> String {
    let pos = match (f.location.line, f.location.column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        _ => format!("@{}", f.location.byte_offset),
    };
    let shown = f.evidence.raw.as_deref().unwrap_or(&f.evidence.masked);
    let mut line = format!(
        "  {pos:>9}  {}  {:<17}  {}",
        style.severity(f.severity),
        f.kind.as_str(),
        style.paint("1", &sanitize(shown)),
    );
    let a = &f.attributes;
    if let (Some(p), Some(c)) = (a.get("provider"), a.get("country")) {
        let region = a
            .get("region")
            .filter(|r| *r != "unknown")
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        line.push_str(&format!("  {}{region} → {c}", sanitize(p)));
    }
    for key in ["format", "dim", "libraries", "family", "count"] {
        if let Some(v) = a.get(key) {
            line.push_str(&format!("  {key}={}", sanitize(v)));
        }
    }
    if let Some(b) = &f.breach_notification {
        line.push_str(&style.paint("1;31", &format!("  notify by {}", b.deadline)));
    }
    line.push_str(&style.paint(
        "2",
        &format!("  [{} · {} confidence]", f.rule, f.confidence),
    ));
    // --history (#6): which commit brought it in.
    if let (Some(c), Some(d)) = (f.location.commit(), f.location.author_date()) {
        let short = c.get(..12).unwrap_or(c);
        line.push_str(&style.paint("2", &format!("  commit {short} ({})", sanitize(d))));
    }
    line
}

fn not_scanned(report: &Report, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let list = &report.coverage.not_scanned;
    if list.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.paint("1", &format!("Not scanned ({}):", list.len()))
    )?;
    for n in list {
        let reason = serde_json::to_value(n.reason)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {}  {}",
            sanitize(&n.path),
            style.paint("33", &reason),
            sanitize(&n.detail)
        )?;
    }
    writeln!(out)
}

fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let kinds = if kinds.is_empty() {
        String::new()
    } else {
        format!(" ({})", kinds.join(", "))
    };
    let c = &report.coverage;
    format!(
        "{} findings{kinds} in {} files · {} files, {} scanned · {} not scanned{}",
        s.findings,
        s.files_with_findings,
        c.files_scanned,
        human_bytes(c.bytes_scanned),
        c.not_scanned.len(),
        match (c.complete, report.partial) {
            (true, _) => "",
            (false, false) => " · coverage INCOMPLETE",
            (false, true) => " · coverage INCOMPLETE · PARTIAL: stopped before the end",
        },
    )
}

/// `1.5 MiB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shekara_scanner::{Config, FingerprintKey, Input, NoSink, Progress, Scanner};

    /// The report of a folder holding `files` (name, text), and what
    /// `serde_json` writes for it.
    fn scanned(tag: &str, files: &[(&str, String)]) -> (Report, Vec<u8>) {
        let dir = std::env::temp_dir().join(format!("shekara-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut c = Config::new(vec![Input::Path(dir.clone())]);
        c.key = Some(FingerprintKey::from_secret("k", "test"));
        let report = Scanner::new(c)
            .unwrap()
            .run(&NoSink, &Progress::default())
            .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        let mut reference = serde_json::to_vec(&report).unwrap();
        reference.push(b'\n');
        (report, reference)
    }

    #[test]
    fn a_report_without_findings_is_exactly_serde_json() {
        let (report, reference) = scanned("json0", &[("a.txt", "nothing here\n".into())]);
        assert!(report.findings.is_empty());
        for workers in [1, 2] {
            let mut ours = Vec::new();
            json_with(&report, &mut ours, workers, CHUNK).unwrap();
            assert!(ours == reference, "{workers} workers");
        }
    }

    #[test]
    fn parallel_json_is_exactly_serde_json() {
        let line = "ИИН 850314319331 https://b.s3.eu-west-1.amazonaws.com/x\n";
        // Files of many, one and some lines: the report holds their lists
        // one after another, and chunks cross from one to the next.
        let files =
            [("a.txt", 5000), ("b.txt", 1), ("c.txt", 1700)].map(|(n, k)| (n, line.repeat(k)));
        let (report, reference) = scanned("json", &files);
        assert!(report.findings.len() > 4096, "more than one chunk");
        assert_eq!(report.findings.parts().len(), 3, "one list per file");
        // Chunks within a list and across lists, more and fewer than the
        // workers' buffers; one worker; the writer on one thread.
        for (workers, chunk) in [
            (2, CHUNK),
            (2, 4096),
            (3, 3000),
            (2, 1000),
            (1, 700),
            (1, 1 << 20),
        ] {
            let mut ours = Vec::new();
            json_with(&report, &mut ours, workers, chunk).unwrap();
            assert!(
                ours == reference,
                "the parallel writer differs from serde_json ({workers} workers, chunk {chunk})"
            );
        }
        // A write that fails part way: its error, with the workers stopped
        // (no hang), whichever chunk it falls in.
        struct FailsAfter(usize);
        impl Write for FailsAfter {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                if b.len() > self.0 {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for k in 0..24 {
            let at = 10 + k * (reference.len() - 20) / 23;
            let err = json_with(&report, &mut FailsAfter(at), 2 + k % 2, 300).unwrap_err();
            assert_eq!(err.to_string(), "disk full");
        }
    }
}
