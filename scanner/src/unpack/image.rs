//! Container images: `docker save` tarballs (Docker ≥ 25 OCI-in-tar, and the
//! older `<id>/layer.tar` layout) and OCI image layout directories.
//!
//! The image's blobs are indexed first (a tar's headers are read by seeking
//! past the data, so the manifest may come after the layers), then:
//! 1. every blob that is not a layer (manifests, the config with its env,
//!    labels and entrypoint, `repositories` …) is scanned as a member, in
//!    store order, its digest checked when its name is one;
//! 2. every layer is streamed in manifest order (gzip, zstd or plain tar),
//!    its SHA-256 computed on the way and checked against its digest;
//! 3. findings in a layer get `layer: M`, and `hidden_by_layer: N` when a
//!    later layer deletes the file by a whiteout (`.wh.name`, or
//!    `.wh..wh..opq` on a parent directory), or `overwritten_by_layer: N`
//!    when a later layer ships the same path again: the bytes still ship.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::compress::{decoder, At, HashingRead};
use super::tar::{entry_name, is_content};
use super::{classify, sniff, Format, Src, Unpacker, SNIFF_LEN};
use crate::driver::Place;
use crate::model::Reason;

/// The files whose presence makes a tar or a directory an image.
pub const IMAGE_MARKERS: [&str; 3] = ["manifest.json", "index.json", "oci-layout"];

/// Tars with more entries than this at the top are not treated as images.
const MAX_INDEX: usize = 100_000;

/// Whether a directory is an OCI image layout (`oci-layout` and `index.json`).
pub fn is_oci_layout_dir(dir: &Path) -> bool {
    dir.join("oci-layout").is_file() && dir.join("index.json").is_file()
}

/// Where an image's blobs are.
enum Store<'a> {
    /// A tar file, indexed: name → (data offset, size).
    TarFile(&'a File, Index),
    /// A tar in memory, indexed.
    TarBytes(&'a [u8], Index),
    /// An OCI layout directory and the files below it (relative names).
    Dir(PathBuf, Vec<String>),
}

#[derive(Default)]
struct Index {
    order: Vec<String>,
    at: HashMap<String, (u64, u64)>,
}

impl Index {
    /// Reads a tar's headers, seeking past the data. None when it is not an image.
    fn of<R: Read + io::Seek>(reader: R) -> Option<Index> {
        let mut archive = tar::Archive::new(reader);
        let mut index = Index::default();
        for entry in archive.entries_with_seek().ok()? {
            let entry = entry.ok()?;
            if !is_content(entry.header().entry_type()) {
                continue;
            }
            if index.order.len() >= MAX_INDEX {
                return None;
            }
            let name = entry_name(&entry.path_bytes());
            index
                .at
                .insert(name.clone(), (entry.raw_file_position(), entry.size()));
            index.order.push(name);
        }
        let has = |n: &str| index.at.contains_key(n);
        (has("manifest.json") || (has("index.json") && has("oci-layout"))).then_some(index)
    }
}

impl Store<'_> {
    fn names(&self) -> Vec<String> {
        match self {
            Store::TarFile(_, i) | Store::TarBytes(_, i) => i.order.clone(),
            Store::Dir(_, names) => names.clone(),
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Store::TarFile(_, i) | Store::TarBytes(_, i) => i.at.contains_key(name),
            Store::Dir(root, _) => root.join(name).is_file(),
        }
    }

    fn open(&self, name: &str) -> io::Result<(Box<dyn Read + '_>, u64)> {
        let missing = || io::Error::new(io::ErrorKind::NotFound, format!("no blob '{name}'"));
        match self {
            Store::TarFile(file, i) => {
                let &(pos, size) = i.at.get(name).ok_or_else(missing)?;
                let r = io::BufReader::with_capacity(256 << 10, At::new(file, pos, size));
                Ok((Box::new(r), size))
            }
            Store::TarBytes(bytes, i) => {
                let &(pos, size) = i.at.get(name).ok_or_else(missing)?;
                let slice = usize::try_from(pos)
                    .ok()
                    .zip(usize::try_from(pos + size).ok())
                    .and_then(|(a, b)| bytes.get(a..b))
                    .ok_or_else(missing)?;
                Ok((Box::new(slice), size))
            }
            Store::Dir(root, _) => {
                let path = root.join(name);
                let file = File::open(&path)?;
                let size = file.metadata()?.len();
                Ok((
                    Box::new(io::BufReader::with_capacity(256 << 10, file)),
                    size,
                ))
            }
        }
    }

    /// A small blob, whole (manifests, configs).
    fn read(&self, name: &str, cap: u64) -> io::Result<Vec<u8>> {
        let (r, size) = self.open(name)?;
        if size > cap {
            return Err(io::Error::other(format!(
                "{name}: {size} bytes is too large for metadata"
            )));
        }
        let mut v = Vec::new();
        r.take(cap).read_to_end(&mut v)?;
        Ok(v)
    }
}

/// One image's layers, in order, and where its config is.
#[derive(Debug, Default)]
struct Plan {
    /// Layer blob names, base first, with the SHA-256 each must have.
    layers: Vec<(String, Option<String>)>,
}

/// What a layer held, for the whiteout pass.
#[derive(Default)]
struct LayerInfo {
    findings: std::ops::Range<usize>,
    deleted: HashSet<String>,
    opaque: HashSet<String>,
    files: HashSet<String>,
}

/// The hex digest a blob name carries (`blobs/sha256/<hex>`, `<hex>.json`).
fn digest_in_name(name: &str) -> Option<String> {
    let hexish = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(h) = name.strip_prefix("blobs/sha256/") {
        return hexish(h).then(|| h.to_ascii_lowercase());
    }
    let stem = name.strip_suffix(".json")?;
    hexish(stem).then(|| stem.to_ascii_lowercase())
}

fn blob_name(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    Some(format!("blobs/{alg}/{hex}"))
}

fn sha256_of_digest(digest: &str) -> Option<String> {
    digest
        .strip_prefix("sha256:")
        .map(|h| h.to_ascii_lowercase())
}

impl Unpacker<'_> {
    /// Scans a tar file as an image if it is one; false otherwise.
    pub(crate) fn image_in_file(&mut self, place: &Place, file: &File, size: u64) -> bool {
        let mut reader = io::BufReader::with_capacity(64 << 10, file);
        if io::Seek::rewind(&mut reader).is_err() || size < 1024 {
            return false;
        }
        let Some(index) = Index::of(reader) else {
            return false;
        };
        self.image(place, &Store::TarFile(file, index));
        true
    }

    /// Scans an in-memory tar as an image if it is one; false otherwise.
    pub(crate) fn image_in_bytes(&mut self, place: &Place, bytes: &[u8], _depth: u32) -> bool {
        let Some(index) = Index::of(Cursor::new(bytes)) else {
            return false;
        };
        self.image(place, &Store::TarBytes(bytes, index));
        true
    }

    /// Scans an OCI image layout directory; `names` are its files, relative.
    pub(crate) fn image_dir(&mut self, place: &Place, dir: &Path, names: Vec<String>) {
        self.image(place, &Store::Dir(dir.to_path_buf(), names));
    }

    fn image(&mut self, place: &Place, store: &Store<'_>) {
        let plans = self.plans(place, store);
        let mut seen = HashSet::new();
        let layers: Vec<(String, Option<String>)> = plans
            .into_iter()
            .flat_map(|p| p.layers)
            .filter(|(name, _)| seen.insert(name.clone()))
            .collect();
        for name in store.names() {
            if !seen.contains(&name) {
                self.blob(place, store, &name);
            }
        }
        let mut infos = Vec::new();
        for (name, expected) in &layers {
            if !store.has(name) {
                self.gap(
                    &place.member(name.clone()),
                    Reason::CorruptArchive,
                    "a layer the manifest lists is missing from the image".into(),
                );
                infos.push(LayerInfo::default());
                continue;
            }
            infos.push(self.layer(place, store, name, expected.as_deref()));
            if self.budget.exhausted() {
                break;
            }
        }
        self.mark_layers(place, &infos);
    }

    /// A blob that is not a layer: scanned as a member, its digest checked.
    fn blob(&mut self, place: &Place, store: &Store<'_>, name: &str) {
        let inner = place.member(name.to_string());
        let (reader, size) = match store.open(name) {
            Ok(r) => r,
            Err(e) => return self.gap(&inner, Reason::Unreadable, e.to_string()),
        };
        if !self.count_entry(place) {
            return;
        }
        let expected = digest_in_name(name).filter(|_| name.starts_with("blobs/"));
        let mut hashing = HashingRead::new(reader, expected.is_some());
        self.buffered(&inner, &mut hashing, Some(size), 1);
        self.verify(&inner, hashing, expected.as_deref());
    }

    /// Reads the rest of a blob through its hasher and reports a digest mismatch.
    fn verify<R: Read>(
        &mut self,
        inner: &Place,
        mut hashing: HashingRead<R>,
        expected: Option<&str>,
    ) {
        let Some(expected) = expected else {
            return;
        };
        if let Err(e) = io::copy(&mut hashing, &mut io::sink()) {
            return self.gap(inner, Reason::Unreadable, e.to_string());
        }
        let (digest, _) = hashing.finish();
        if let Some(actual) = digest.filter(|d| d != expected) {
            self.gap(
                inner,
                Reason::DigestMismatch,
                format!("sha256 is {actual}, the image says {expected}: the blob was changed or damaged"),
            );
        }
    }

    /// The images the store's manifests describe.
    fn plans(&mut self, place: &Place, store: &Store<'_>) -> Vec<Plan> {
        let cap = self.budget.limits.max_buffer;
        if store.has("manifest.json") {
            if let Some(plans) = self.docker_plans(place, store, cap) {
                return plans;
            }
        }
        let mut plans = Vec::new();
        match read_json(store, "index.json", cap) {
            Ok(index) => self.oci_plans(place, store, &index, cap, 0, &mut plans),
            Err(e) => self.gap(&place.member("index.json"), Reason::CorruptArchive, e),
        }
        plans
    }

    /// `manifest.json` of `docker save`: `[{Config, Layers}]`.
    fn docker_plans(&mut self, place: &Place, store: &Store<'_>, cap: u64) -> Option<Vec<Plan>> {
        let manifest = match read_json(store, "manifest.json", cap) {
            Ok(v) => v,
            Err(e) => {
                self.gap(&place.member("manifest.json"), Reason::CorruptArchive, e);
                return None;
            }
        };
        let mut plans = Vec::new();
        for image in manifest.as_array()? {
            let config = image["Config"].as_str().unwrap_or_default();
            let diff_ids: Vec<Option<String>> = read_json(store, config, cap)
                .ok()
                .and_then(|c| c["rootfs"]["diff_ids"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(|d| d.as_str().and_then(sha256_of_digest))
                .collect();
            let layers = image["Layers"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .filter_map(Value::as_str)
                        .enumerate()
                        .map(|(i, l)| {
                            let expected =
                                digest_in_name(l).or_else(|| diff_ids.get(i).cloned().flatten());
                            (l.to_string(), expected)
                        })
                        .collect()
                })
                .unwrap_or_default();
            plans.push(Plan { layers });
        }
        Some(plans)
    }

    /// OCI `index.json` → manifests (or nested indexes) → layers.
    fn oci_plans(
        &mut self,
        place: &Place,
        store: &Store<'_>,
        index: &Value,
        cap: u64,
        level: u32,
        plans: &mut Vec<Plan>,
    ) {
        let Some(manifests) = index["manifests"].as_array() else {
            return;
        };
        for m in manifests {
            let Some(name) = m["digest"].as_str().and_then(blob_name) else {
                continue;
            };
            let manifest = match read_json(store, &name, cap) {
                Ok(v) => v,
                Err(e) => {
                    self.gap(&place.member(name), Reason::CorruptArchive, e);
                    continue;
                }
            };
            if manifest["manifests"].is_array() && level < 4 {
                self.oci_plans(place, store, &manifest, cap, level + 1, plans);
                continue;
            }
            let layers = manifest["layers"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .filter_map(|l| l["digest"].as_str())
                        .filter_map(|d| Some((blob_name(d)?, sha256_of_digest(d))))
                        .collect()
                })
                .unwrap_or_default();
            plans.push(Plan { layers });
        }
    }

    /// Streams one layer: digest on the raw bytes, decoder, tar, members.
    fn layer(
        &mut self,
        place: &Place,
        store: &Store<'_>,
        name: &str,
        expected: Option<&str>,
    ) -> LayerInfo {
        let lp = place.member(name.to_string());
        let start = self.out.findings.len();
        let mut info = LayerInfo::default();
        let (reader, _) = match store.open(name) {
            Ok(r) => r,
            Err(e) => {
                self.gap(&lp, Reason::Unreadable, e.to_string());
                return info;
            }
        };
        if !self.count_entry(place) {
            return info;
        }
        let mut hashing = HashingRead::new(reader, expected.is_some());
        self.layer_content(&lp, &mut hashing, &mut info);
        self.verify(&lp, hashing, expected);
        info.findings = start..self.out.findings.len();
        info
    }

    fn layer_content(&mut self, lp: &Place, raw: &mut dyn Read, info: &mut LayerInfo) {
        let budget = self.budget.clone();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        if let Err(e) = raw.take(SNIFF_LEN as u64).read_to_end(&mut head) {
            return self.gap(lp, Reason::Unreadable, e.to_string());
        }
        let mut chained = Cursor::new(&head[..]).chain(raw);
        match sniff(&head) {
            Some(Format::Tar) => self.layer_tar(lp, &mut chained, info),
            Some(f) if f.is_stream() => match decoder(f, &mut chained, &budget) {
                Ok(mut d) => self.layer_tar(lp, &mut d, info),
                Err(e) => self.gap(lp, Reason::CorruptArchive, e.to_string()),
            },
            // Not a tar layer (an artifact blob): scanned like any member.
            _ => self.member(lp, Src::Stream(&mut chained), 1),
        }
    }

    /// A layer's tar: whiteouts noted, files dispatched in order.
    fn layer_tar(&mut self, lp: &Place, reader: &mut dyn Read, info: &mut LayerInfo) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.gap(lp, Reason::CorruptArchive, e.to_string()),
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let (reason, detail) = classify(&e);
                    return self.gap(lp, reason, detail);
                }
            };
            if !is_content(entry.header().entry_type()) {
                continue;
            }
            let path = entry_name(&entry.path_bytes());
            let (dir, base) = match path.rsplit_once('/') {
                Some((d, b)) => (d.to_string(), b),
                None => (String::new(), path.as_str()),
            };
            if base == ".wh..wh..opq" {
                info.opaque.insert(dir);
                continue;
            }
            if let Some(deleted) = base.strip_prefix(".wh.") {
                info.deleted.insert(join(&dir, deleted));
                continue;
            }
            if !self.count_entry(lp) {
                return;
            }
            info.files.insert(path.clone());
            let size = entry.size();
            self.buffered(&lp.member(path), &mut entry, Some(size), 2);
            if self.budget.exhausted() {
                return;
            }
        }
    }

    /// Adds `layer`, and `hidden_by_layer` or `overwritten_by_layer`, to
    /// every finding from a layer.
    fn mark_layers(&mut self, place: &Place, infos: &[LayerInfo]) {
        let at = place.inner.len() + 1;
        for (m, info) in infos.iter().enumerate() {
            for f in &mut self.out.findings[info.findings.clone()] {
                f.attributes.insert("layer", m.to_string());
                let Some(path) = f.location.inner().get(at) else {
                    continue;
                };
                for (n, later) in infos.iter().enumerate().skip(m + 1) {
                    if later.hides(path) {
                        f.attributes.insert("hidden_by_layer", n.to_string());
                        break;
                    }
                    if later.files.contains(path) {
                        f.attributes.insert("overwritten_by_layer", n.to_string());
                        break;
                    }
                }
            }
        }
    }
}

impl LayerInfo {
    /// Whether this layer's whiteouts delete `path` of a lower layer.
    fn hides(&self, path: &str) -> bool {
        if self.deleted.contains(path) {
            return true;
        }
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('/') {
            if self.deleted.contains(parent) || self.opaque.contains(parent) {
                return true;
            }
            p = parent;
        }
        self.opaque.contains("")
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn read_json(store: &Store<'_>, name: &str, cap: u64) -> Result<Value, String> {
    let bytes = store.read(name, cap).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{name} is not valid JSON: {e}"))
}
