//! Unpacking: archives, compressed streams and container images, decoded in
//! memory or streaming, never extracted to disk.
//!
//! Every input goes through one dispatch point, [`Unpacker::member`]: its
//! first bytes are sniffed by magic ([`sniff`]); an archive or compressed
//! stream is opened and each of its members goes through the same point,
//! one level deeper; anything else is a leaf, scanned by the engine
//! ([`Unpacker::leaf`], where the dataset and binary readers plug in).
//!
//! Members up to [`Limits::max_buffer`] bytes are read into memory (so that
//! a nested zip can seek and whole-file detectors see them); larger ones
//! stream. Per top-level input a [`Budget`] counts decompressed bytes and
//! entries; the limits ([`Limits`]) and every failure are recorded in
//! coverage with a reason, never silently.
//!
//! Members are scanned in archive order, one at a time, so a report lists
//! them in the same order on every run.

mod compress;
mod image;
mod tar;
mod zip;

use std::io::{self, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::driver::{Outcome, Place, Scanner};
use crate::model::Reason;

pub use image::{is_oci_layout_dir, IMAGE_MARKERS};

pub(crate) use compress::HashingRead;

/// Limits on what unpacking may cost, per top-level input (a file, a blob).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Archives nested deeper than this are not opened (`archive_depth`).
    pub max_depth: u32,
    /// Total bytes decompressed from one top-level input (`archive_limit`).
    pub max_decompressed: u64,
    /// Largest expansion of one compressed member or stream, output/input
    /// (`compression_ratio`); only checked past [`RATIO_FLOOR`] bytes of output.
    pub max_ratio: u64,
    /// Members opened in one top-level input, all levels (`archive_limit`).
    pub max_entries: u64,
    /// Members up to this size are read into memory; larger ones stream.
    pub max_buffer: u64,
}

/// Output below which the compression ratio is not checked (small files of
/// zeros compress very well and are no threat).
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 8,
            max_decompressed: 64 << 30,
            max_ratio: 250,
            max_entries: 1_000_000,
            max_buffer: 32 << 20,
        }
    }
}

/// An archive or compressed-stream format, recognised by its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PKZIP (also .jar, .whl, .npz, .docx, .xlsx …).
    Zip,
    /// POSIX, GNU or v7 tar.
    Tar,
    /// gzip (RFC 1952), multi-member.
    Gzip,
    /// Zstandard.
    Zstd,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
}

impl Format {
    /// Whether this format is a compressed stream (one member, no names).
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Format::Gzip | Format::Zstd | Format::Bzip2 | Format::Xz
        )
    }

    /// The usual file-name suffixes of this format, and what replaces them
    /// in the name of the content.
    fn suffixes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Format::Gzip => &[(".tgz", ".tar"), (".gz", ""), (".gzip", "")],
            Format::Zstd => &[(".tzst", ".tar"), (".zst", ""), (".zstd", "")],
            Format::Bzip2 => &[(".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", "")],
            Format::Xz => &[(".txz", ".tar"), (".xz", "")],
            Format::Zip | Format::Tar => &[],
        }
    }
}

/// Bytes of an input's head that [`sniff`] needs to see (a tar header).
pub const SNIFF_LEN: usize = 512;

/// The archive format of an input whose first bytes are `head`, if any.
///
/// Magic numbers only, never the file name: a `.csv` that is really a gzip
/// stream is opened, a `.zip` that is really text is scanned as text.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        return Some(Format::Gzip);
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(Format::Zstd);
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some(Format::Xz);
    }
    if is_bzip2(head) {
        return Some(Format::Bzip2);
    }
    if is_tar(head) {
        return Some(Format::Tar);
    }
    None
}

fn is_bzip2(head: &[u8]) -> bool {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == BLOCK || head[4..10] == END)
}

/// A tar header: `ustar` magic, or (v7) a header whose checksum adds up.
fn is_tar(head: &[u8]) -> bool {
    let Some(h) = head.get(..512) else {
        return false;
    };
    if &h[257..262] == b"ustar" {
        return true;
    }
    if h[0] == 0 {
        return false;
    }
    let Some(stored) = octal(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u64
            }
        })
        .sum();
    sum == stored
}

fn octal(field: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return None;
    }
    u64::from_str_radix(s, 8).ok()
}

/// The name of a compressed stream's content: its own name without the
/// format's suffix (`users.csv.gz` → `users.csv`, `a.tgz` → `a.tar`).
fn stream_content_name(name: &str, format: Format) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    for (suffix, replacement) in format.suffixes() {
        if lower.len() > suffix.len() && lower.ends_with(suffix) {
            return format!("{}{replacement}", &base[..base.len() - suffix.len()]);
        }
    }
    format!("{base}~")
}

/// Counts what unpacking one top-level input has cost, against its limits.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    decompressed: AtomicU64,
    entries: AtomicU64,
    /// The limit that stopped a read, for the caller to report.
    tripped: Mutex<Option<(Reason, String)>>,
    /// A member expanded past the ratio limit: the input is treated as a
    /// bomb and nothing more of it is opened.
    bomb: AtomicBool,
}

impl Budget {
    pub(crate) fn new(limits: Limits) -> Budget {
        Budget {
            limits,
            decompressed: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            tripped: Mutex::new(None),
            bomb: AtomicBool::new(false),
        }
    }

    /// Counts one more member; false once the entry limit is passed.
    fn entry(&self) -> bool {
        self.entries.fetch_add(1, Ordering::Relaxed) < self.limits.max_entries
    }

    fn trip(&self, reason: Reason, detail: String) -> io::Error {
        if reason == Reason::CompressionRatio {
            self.bomb.store(true, Ordering::Relaxed);
        }
        let mut t = self.tripped.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_none() {
            *t = Some((reason, detail.clone()));
        }
        io::Error::other(LimitHit(reason, detail))
    }

    /// Counts `n` more decompressed bytes.
    fn spend(&self, n: u64) -> io::Result<()> {
        let total = self.decompressed.fetch_add(n, Ordering::Relaxed) + n;
        if total > self.limits.max_decompressed {
            return Err(self.trip(
                Reason::ArchiveLimit,
                format!(
                    "more than {} bytes decompressed from this input (--max-decompressed)",
                    self.limits.max_decompressed
                ),
            ));
        }
        Ok(())
    }

    /// Whether the total budget is spent (nothing more should be opened).
    fn exhausted(&self) -> bool {
        self.bomb.load(Ordering::Relaxed)
            || self.decompressed.load(Ordering::Relaxed) > self.limits.max_decompressed
            || self.entries.load(Ordering::Relaxed) > self.limits.max_entries
    }
}

/// The error a guarded reader returns when a limit is hit.
#[derive(Debug)]
struct LimitHit(Reason, String);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl std::error::Error for LimitHit {}

/// The reason and detail of an error from a guarded read: the limit it hit,
/// a method without a decoder (the zip crate opens entries lazily, so an
/// unsupported method shows on the first read), else a decoding problem.
fn classify(err: &io::Error) -> (Reason, String) {
    if let Some(hit) = err.get_ref().and_then(|e| e.downcast_ref::<LimitHit>()) {
        return (hit.0, hit.1.clone());
    }
    if err.kind() == io::ErrorKind::Unsupported {
        return (Reason::UnsupportedFormat, err.to_string());
    }
    (Reason::CorruptArchive, err.to_string())
}

/// Where a member's bytes are: in memory, or in a stream of known or unknown size.
pub(crate) enum Src<'a> {
    /// All of it, in memory.
    Bytes(&'a [u8]),
    /// A stream, read once.
    Stream(&'a mut dyn Read),
}

/// Unpacks one top-level input, collecting every member's outcome in order.
pub(crate) struct Unpacker<'s> {
    pub(crate) scanner: &'s Scanner,
    pub(crate) budget: std::sync::Arc<Budget>,
    /// The stream-scanning buffer (one member streams at a time).
    buf: &'s mut Vec<u8>,
    /// BLAKE3 and name of each in-memory archive being unpacked, outermost
    /// first (the quine guard).
    ancestors: Vec<(blake3::Hash, String)>,
    /// The top-level file, when it is one: a member as large as it is
    /// compared with it by hash (computed on the first such member only).
    top: Option<TopFile>,
    pub(crate) out: Outcome,
}

/// The top-level file of an unpacking, for the quine guard: a zip whose
/// member is the zip itself is caught one level down, not two.
struct TopFile {
    file: std::fs::File,
    size: u64,
    name: String,
    /// BLAKE3 of the file, once computed (None inside: unreadable).
    hash: Option<Option<blake3::Hash>>,
}

impl TopFile {
    /// Whether `len` bytes hashing to `hash` are this file's bytes.
    fn is(&mut self, len: u64, hash: &blake3::Hash) -> bool {
        if len != self.size {
            return false;
        }
        let (file, size) = (&self.file, self.size);
        let mine = self.hash.get_or_insert_with(|| {
            let mut h = blake3::Hasher::new();
            let mut r = io::BufReader::with_capacity(64 << 10, compress::At::new(file, 0, size));
            io::copy(&mut r, &mut h).ok().map(|_| h.finalize())
        });
        mine.as_ref() == Some(hash)
    }
}

impl<'s> Unpacker<'s> {
    pub(crate) fn new(scanner: &'s Scanner, buf: &'s mut Vec<u8>) -> Unpacker<'s> {
        Unpacker {
            budget: std::sync::Arc::new(Budget::new(scanner.config().limits.clone())),
            scanner,
            buf,
            ancestors: Vec::new(),
            top: None,
            out: Outcome {
                complete: true,
                ..Outcome::default()
            },
        }
    }

    fn limits(&self) -> &Limits {
        &self.budget.limits
    }

    /// Records that `place` was not (completely) scanned.
    pub(crate) fn gap(&mut self, place: &Place, reason: Reason, detail: String) {
        self.out
            .not_scanned
            .push(crate::driver::not_scanned(place, reason, &detail, None));
    }

    /// Adds a scanned leaf's outcome.
    fn absorb(&mut self, o: Outcome) {
        self.out.findings.extend(o.findings);
        self.out.not_scanned.extend(o.not_scanned);
        self.out.files.extend(o.files);
        self.out.bytes += o.bytes;
    }

    /// The one dispatch point: sniffs a member and opens it, or scans it as a leaf.
    pub(crate) fn member(&mut self, place: &Place, src: Src<'_>, depth: u32) {
        match src {
            Src::Bytes(bytes) => match sniff(bytes) {
                None => self.leaf(place, Src::Bytes(bytes)),
                Some(f) => self.open_bytes(place, f, bytes, depth),
            },
            Src::Stream(reader) => {
                let mut head = Vec::with_capacity(SNIFF_LEN);
                if let Err(e) = reader.take(SNIFF_LEN as u64).read_to_end(&mut head) {
                    let (reason, detail) = classify(&e);
                    return self.gap(place, reason, detail);
                }
                let mut chained = Cursor::new(&head[..]).chain(reader);
                match sniff(&head) {
                    None => self.leaf(place, Src::Stream(&mut chained)),
                    Some(f) => self.open_stream(place, f, &mut chained, depth),
                }
            }
        }
    }

    /// Scans an input that is not an archive. The dataset and binary readers
    /// plug in here, before the engine's plain scan.
    fn leaf(&mut self, place: &Place, src: Src<'_>) {
        let o = match src {
            Src::Bytes(bytes) => self.scanner.scan_plain_bytes(place, bytes),
            Src::Stream(reader) => {
                let o = self
                    .scanner
                    .scan_plain_stream(place, reader, u64::MAX, self.buf);
                self.reclassify(place, o)
            }
        };
        self.absorb(o);
    }

    /// A stream leaf that failed part-way failed because of a limit or a
    /// decoding error, not a disk read error: say which.
    fn reclassify(&self, place: &Place, mut o: Outcome) -> Outcome {
        let tripped = self
            .budget
            .tripped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for n in &mut o.not_scanned {
            if n.reason == Reason::ReadError && n.inner == place.inner {
                match &tripped {
                    Some((reason, detail)) => {
                        n.reason = *reason;
                        n.detail = detail.clone();
                    }
                    None => n.reason = Reason::CorruptArchive,
                }
            }
        }
        o
    }

    /// Whether an archive at `depth` may be opened; records why not.
    fn may_open(&mut self, place: &Place, format: Format, depth: u32) -> bool {
        if depth >= self.limits().max_depth {
            let detail = format!(
                "{format:?} nested {} levels deep (--max-depth {})",
                depth + 1,
                self.limits().max_depth
            );
            self.gap(place, Reason::ArchiveDepth, detail);
            return false;
        }
        if self.budget.exhausted() {
            return false;
        }
        true
    }

    fn open_bytes(&mut self, place: &Place, format: Format, bytes: &[u8], depth: u32) {
        if !self.may_open(place, format, depth) {
            return;
        }
        let hash = blake3::hash(bytes);
        if let Some(outer) = self.enclosing_copy(bytes.len() as u64, &hash) {
            let detail = format!(
                "byte-identical to the enclosing archive {outer} (a quine: it contains itself); its content was scanned there, the loop is not followed"
            );
            return self.gap(place, Reason::ArchiveLoop, detail);
        }
        self.ancestors.push((hash, place.detector_path()));
        match format {
            Format::Zip => {
                if !self.zip_seekable(place, Cursor::new(bytes), depth) {
                    self.leaf(place, Src::Bytes(bytes));
                }
            }
            Format::Tar => {
                if !self.image_in_bytes(place, bytes, depth) {
                    self.tar(place, &mut Cursor::new(bytes), depth);
                }
            }
            _ => self.stream(place, format, &mut Cursor::new(bytes), depth),
        }
        self.ancestors.pop();
    }

    /// The name of an enclosing archive (the top-level file included) whose
    /// bytes are the `len` bytes hashing to `hash`, if any.
    fn enclosing_copy(&mut self, len: u64, hash: &blake3::Hash) -> Option<String> {
        if let Some((_, name)) = self.ancestors.iter().find(|(h, _)| h == hash) {
            return Some(format!("'{name}'"));
        }
        let top = self.top.as_mut()?;
        top.is(len, hash)
            .then(|| format!("'{}' (the file itself)", top.name))
    }

    pub(crate) fn open_stream(
        &mut self,
        place: &Place,
        format: Format,
        reader: &mut dyn Read,
        depth: u32,
    ) {
        if !self.may_open(place, format, depth) {
            return;
        }
        match format {
            Format::Zip => self.zip_stream(place, reader, depth),
            Format::Tar => self.tar(place, reader, depth),
            _ => self.stream(place, format, reader, depth),
        }
    }

    /// A compressed stream: decoded through the budget; a tar inside is
    /// opened in place (`a.tar.gz` lists its members directly), anything else
    /// becomes one member named after the stream without its suffix.
    fn stream(&mut self, place: &Place, format: Format, raw: &mut dyn Read, depth: u32) {
        let budget = self.budget.clone();
        let mut decoded = match compress::decoder(format, raw, &budget) {
            Ok(d) => d,
            Err(e) => return self.gap(place, Reason::CorruptArchive, e.to_string()),
        };
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = (&mut decoded).take(SNIFF_LEN as u64).read_to_end(&mut head) {
            let (reason, detail) = classify(&e);
            return self.gap(place, reason, detail);
        }
        let mut chained = Cursor::new(&head[..]).chain(decoded);
        if sniff(&head) == Some(Format::Tar) {
            return self.tar(place, &mut chained, depth + 1);
        }
        let name = stream_content_name(&place.detector_path(), format);
        let inner = place.member(name);
        self.buffered(&inner, &mut chained, None, depth + 1);
    }

    /// Reads a member into memory when it is small enough, else streams it.
    fn buffered(&mut self, place: &Place, reader: &mut dyn Read, size: Option<u64>, depth: u32) {
        let cap = self.limits().max_buffer;
        if size.is_some_and(|s| s > cap) {
            return self.member(place, Src::Stream(reader), depth);
        }
        let mut bytes = Vec::new();
        match reader.take(cap + 1).read_to_end(&mut bytes) {
            Ok(n) if (n as u64) <= cap => self.member(place, Src::Bytes(&bytes), depth),
            Ok(_) => {
                let mut chained = Cursor::new(&bytes[..]).chain(reader);
                self.member(place, Src::Stream(&mut chained), depth)
            }
            Err(e) => {
                let (reason, detail) = classify(&e);
                // What decoded before the error is still scanned.
                if !bytes.is_empty() {
                    self.member(place, Src::Bytes(&bytes), depth);
                }
                self.gap(place, reason, detail);
            }
        }
    }
}

/// Scans a top-level input that is in memory (a blob, an object) and is an archive.
pub(crate) fn scan_bytes(
    scanner: &Scanner,
    place: &Place,
    bytes: &[u8],
    buf: &mut Vec<u8>,
) -> Outcome {
    let mut u = Unpacker::new(scanner, buf);
    u.member(place, Src::Bytes(bytes), 0);
    finish(
        u,
        place,
        scanner
            .config()
            .hash_files
            .then(|| crate::sha256_hex(bytes)),
        bytes.len() as u64,
    )
}

/// Scans a top-level stream (stdin, a download) whose head sniffed as `format`.
pub(crate) fn scan_stream(
    scanner: &Scanner,
    place: &Place,
    format: Format,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
) -> Outcome {
    let hash = scanner.config().hash_files;
    let mut hashing = HashingRead::new(reader, hash);
    let mut u = Unpacker::new(scanner, buf);
    u.open_stream(place, format, &mut hashing, 0);
    // Read to the end so that the digest covers the whole input.
    let _ = io::copy(&mut hashing, &mut io::sink());
    let (digest, size) = hashing.finish();
    finish(u, place, digest, size)
}

/// Scans a top-level file that is an archive or an image.
pub(crate) fn scan_file(
    scanner: &Scanner,
    place: &Place,
    file: &std::fs::File,
    size: u64,
    format: Format,
    buf: &mut Vec<u8>,
) -> Outcome {
    let mut u = Unpacker::new(scanner, buf);
    u.top = file.try_clone().ok().map(|file| TopFile {
        file,
        size,
        name: place.detector_path(),
        hash: None,
    });
    match format {
        Format::Zip => {
            let reader = io::BufReader::with_capacity(64 << 10, file);
            u.zip_seekable(place, reader, 0);
        }
        Format::Tar => {
            if !u.image_in_file(place, file, size) {
                let mut r =
                    io::BufReader::with_capacity(256 << 10, compress::At::new(file, 0, size));
                u.tar(place, &mut r, 0);
            }
        }
        _ => {
            let mut r = io::BufReader::with_capacity(256 << 10, compress::At::new(file, 0, size));
            u.stream(place, format, &mut r, 0);
        }
    }
    let digest = scanner
        .config()
        .hash_files
        .then(|| compress::sha256_of(file, size))
        .flatten();
    finish(u, place, digest, size)
}

/// One unit of work of a scan: a file, or an OCI image layout directory
/// (scanned as one artefact, in place of the files below it).
#[derive(Debug)]
pub enum Job<'a> {
    /// A file.
    File(&'a crate::walk::Entry),
    /// An OCI image layout directory.
    ImageDir(ImageDir),
}

/// An OCI image layout directory found by the walk.
#[derive(Debug)]
pub struct ImageDir {
    /// Index of its root.
    pub root: usize,
    /// Its path below the root (`.` for the root itself).
    pub rel: Vec<u8>,
    /// Its path on disk.
    pub dir: std::path::PathBuf,
    /// The files below it, relative to it, in walk order.
    pub names: Vec<String>,
}

/// The work for a walk's files: OCI layout directories (a directory with
/// `oci-layout` and `index.json`) become one job each, at the place of
/// their `oci-layout` file; the files below them are not scanned apart.
pub fn jobs(files: &[crate::walk::Entry]) -> Vec<Job<'_>> {
    let mut dirs: Vec<(usize, Vec<u8>)> = Vec::new();
    for e in files {
        let Some(dir_rel) = layout_marker(&e.rel) else {
            continue;
        };
        if e.path.parent().is_some_and(is_oci_layout_dir) {
            dirs.push((e.root, dir_rel.to_vec()));
        }
    }
    if dirs.is_empty() {
        return files.iter().map(Job::File).collect();
    }
    let under = |e: &crate::walk::Entry| {
        dirs.iter().find(|(root, d)| {
            *root == e.root
                && (d.is_empty() || (e.rel.starts_with(d) && e.rel.get(d.len()) == Some(&b'/')))
        })
    };
    let mut out = Vec::new();
    for e in files {
        let Some((root, d)) = under(e) else {
            out.push(Job::File(e));
            continue;
        };
        if layout_marker(&e.rel) != Some(d.as_slice()) {
            continue;
        }
        let skip = if d.is_empty() { 0 } else { d.len() + 1 };
        let names = files
            .iter()
            .filter(|f| under(f).is_some_and(|(r, dd)| r == root && dd == d))
            .map(|f| String::from_utf8_lossy(&f.rel[skip..]).into_owned())
            .collect();
        out.push(Job::ImageDir(ImageDir {
            root: *root,
            rel: if d.is_empty() {
                b".".to_vec()
            } else {
                d.clone()
            },
            dir: e.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            names,
        }));
    }
    out
}

/// For a path ending in `oci-layout`, the directory part (empty at the top).
fn layout_marker(rel: &[u8]) -> Option<&[u8]> {
    if rel == b"oci-layout" {
        return Some(b"");
    }
    rel.strip_suffix(b"/oci-layout")
}

/// Scans an OCI image layout directory as one artefact.
pub(crate) fn scan_image_dir(scanner: &Scanner, img: &ImageDir, buf: &mut Vec<u8>) -> Outcome {
    let place = Place::file(img.root, img.rel.clone());
    let mut u = Unpacker::new(scanner, buf);
    u.image_dir(&place, &img.dir, img.names.clone());
    finish(u, &place, None, 0)
}

/// Closes an unpacking: the input's own digest, completeness.
fn finish(u: Unpacker<'_>, place: &Place, digest: Option<String>, size: u64) -> Outcome {
    let mut out = u.out;
    if let Some(sha256) = digest {
        let (path, path_base64) = crate::driver::display_path(&place.rel);
        out.files.insert(
            0,
            crate::ScannedFile {
                path,
                path_base64,
                root: place.root,
                inner: place.inner.clone(),
                size,
                sha256,
                etag: None,
                cached: false,
            },
        );
    }
    out.complete = out.not_scanned.is_empty();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_not_name() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(&[0x1f, 0x8b, 0x08, 0]), Some(Format::Gzip));
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Some(Format::Zstd));
        assert_eq!(sniff(b"\xfd7zXZ\x00\x00"), Some(Format::Xz));
        assert_eq!(sniff(b"BZh91AY&SYxx"), Some(Format::Bzip2));
        assert_eq!(sniff(b"BZh is how text may start"), None);
        assert_eq!(sniff(b"PK is not enough"), None);
        let mut tar = vec![0u8; 512];
        tar[..5].copy_from_slice(b"a.txt");
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), Some(Format::Tar));
        assert_eq!(sniff(&[b'x'; 512]), None);
    }

    #[test]
    fn v7_tar_is_recognised_by_its_checksum() {
        let mut h = vec![0u8; 512];
        h[..5].copy_from_slice(b"a.txt");
        let sum: u64 = h.iter().map(|&b| b as u64).sum::<u64>() + 8 * 32;
        let field = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(field.as_bytes());
        assert_eq!(sniff(&h), Some(Format::Tar));
        h[0] = b'b';
        assert_eq!(sniff(&h), None);
    }

    #[test]
    fn a_member_identical_to_an_enclosing_archive_is_not_reopened() {
        // A real quine (a zip that unpacks to itself) is what this guards
        // against; the guard keys on content, so an ancestor planted by hand
        // exercises it the same way.
        let mut config = crate::Config::new(Vec::new());
        config.key = Some(crate::FingerprintKey::from_secret("t", "t"));
        let scanner = Scanner::new(config).unwrap();
        let zip_bytes = {
            let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
            w.start_file("a.txt", ::zip::write::SimpleFileOptions::default())
                .unwrap();
            io::Write::write_all(&mut w, b"850314319331").unwrap();
            w.finish().unwrap().into_inner()
        };
        let mut buf = Vec::new();
        let mut u = Unpacker::new(&scanner, &mut buf);
        u.ancestors.push((blake3::hash(&zip_bytes), "q.zip".into()));
        let place = Place::file(0, b"q.zip".to_vec());
        u.member(&place.member("q.zip"), Src::Bytes(&zip_bytes), 1);
        assert_eq!(u.out.not_scanned.len(), 1);
        assert_eq!(u.out.not_scanned[0].reason, Reason::ArchiveLoop);
        assert!(u.out.findings.is_empty());
        // Without the planted ancestor the same bytes are opened.
        let mut buf = Vec::new();
        let mut u = Unpacker::new(&scanner, &mut buf);
        u.member(&place, Src::Bytes(&zip_bytes), 0);
        assert!(u.out.not_scanned.is_empty());
        assert_eq!(u.out.findings.len(), 1);
    }

    #[test]
    fn stream_names_drop_the_suffix() {
        assert_eq!(
            stream_content_name("users.csv.gz", Format::Gzip),
            "users.csv"
        );
        assert_eq!(stream_content_name("a.tgz", Format::Gzip), "a.tar");
        assert_eq!(stream_content_name("a.txz", Format::Xz), "a.tar");
        assert_eq!(stream_content_name("x.ZST", Format::Zstd), "x");
        assert_eq!(stream_content_name("blob", Format::Gzip), "blob~");
    }
}
