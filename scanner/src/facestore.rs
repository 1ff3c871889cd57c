//! Folder-level biometric findings, made after the walk from the list of
//! files: face-image stores (kind `face_image_store`, one finding per
//! folder) and face-recognition model files known by name (kind
//! `biometric_model`, whatever their size).
//!
//! A folder is a face store when
//! * most of its images (at least `min_images`, a share of `min_share`) have
//!   aligned-face crop sizes (112×112, 96×112, 160×160, CelebA 178×218, LFW
//!   250×250, …; 224×224 only with other evidence), or
//! * it holds a face-dataset manifest (LFW `pairs.txt`, CelebA
//!   `identity_CelebA.txt`, WIDER FACE, VGGFace2, InsightFace `train.rec`), or
//! * its subfolders follow the LFW layout (`Name_Surname/Name_Surname_0001.jpg`)
//!   or the VGGFace2 one (`n000002/`).
//!
//! Image sizes come from the headers (the first 64 KiB at most), never from a
//! decode. A folder inside a store is part of it: only the outermost store
//! is reported, its `count` being every image below it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use rayon::prelude::*;
use shekara_detectors::biometric::images::dimensions;
use shekara_detectors::biometric::{face_context, model_by_name};
use shekara_detectors::{Confidence, Kind, Ruleset, Severity};
use shekara_signatures::FaceStoreHints;

use crate::evidence::FingerprintKey;
use crate::model::{Evidence, Finding, Location};
use crate::walk::Entry;

/// Rule id of face stores.
pub const RULE_STORE: &str = "biometric.face_store";

/// Extensions of image files whose headers are read.
const IMAGE_EXT: [&str; 6] = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".jpe"];

/// Header bytes read per image.
const HEADER: u64 = 64 * 1024;

/// An image below some folder: (root, folder, file name, size if read).
struct Image {
    root: usize,
    dir: String,
    name: String,
    size: Option<(u32, u32)>,
}

/// What the folder findings need from the scanner.
pub struct Context<'a> {
    /// The fingerprint key.
    pub key: &'a FingerprintKey,
    /// Whether raw values are shown.
    pub reveal: bool,
    /// (root, path) of files that already have a `biometric_model` finding.
    pub models_found: BTreeSet<(usize, String)>,
}

/// All folder-level findings for the walked `files`.
pub fn folder_findings(files: &[Entry], cx: &Context<'_>) -> Vec<Finding> {
    let rules = Ruleset::builtin();
    let mut out = model_files(files, rules, cx);
    out.extend(face_stores(files, &rules.biometric.face_store, rules, cx));
    out
}

fn rel_str(e: &Entry) -> String {
    String::from_utf8_lossy(&e.rel).into_owned()
}

fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

fn severity(rules: &Ruleset, id: &str) -> Severity {
    rules.rule(id).map_or(Severity::Critical, |r| r.severity)
}

/// Where and what a folder-level finding is.
struct Spec<'a> {
    root: usize,
    path: &'a str,
    kind: Kind,
    rule: &'static str,
    severity: Severity,
    confidence: Confidence,
    count: u64,
}

fn finding(cx: &Context<'_>, s: Spec<'_>, attributes: shekara_detectors::Attributes) -> Finding {
    Finding {
        kind: s.kind,
        rule: s.rule.into(),
        severity: s.severity,
        confidence: s.confidence,
        location: Location::at(s.path.to_string(), s.root),
        count: s.count,
        evidence: Evidence {
            masked: crate::text::escape_lossy(s.path.as_bytes()).into(),
            fingerprint: cx.key.fingerprint_shared(s.path.as_bytes()),
            raw: cx.reveal.then(|| s.path.to_string().into()),
        },
        attributes,
        breach_notification: None,
    }
}

fn model_files(files: &[Entry], rules: &Ruleset, cx: &Context<'_>) -> Vec<Finding> {
    files
        .iter()
        .filter_map(|e| {
            let rel = rel_str(e);
            if cx.models_found.contains(&(e.root, rel.clone())) {
                return None;
            }
            let m = model_by_name(rules, &rel)?;
            let mut a = shekara_detectors::Attributes::new();
            a.insert("family", m.family);
            a.insert("task", m.task);
            a.insert("matched", m.matched);
            // The walk `stat`s files only when asked; a model file named
            // here is one of few, so its size is looked up now.
            let size = e
                .size
                .or_else(|| std::fs::metadata(&e.path).ok().map(|m| m.len()));
            a.insert(
                "size",
                size.map_or_else(|| "unknown".into(), |n| n.to_string()),
            );
            let sev = severity(rules, m.rule);
            Some(finding(
                cx,
                Spec {
                    root: e.root,
                    path: &rel,
                    kind: Kind::BiometricModel,
                    rule: m.rule,
                    severity: sev,
                    confidence: m.confidence,
                    count: 1,
                },
                a,
            ))
        })
        .collect()
}

/// Reads the first bytes of an image and returns its size.
fn image_size(e: &Entry) -> Option<(u32, u32)> {
    use std::os::unix::fs::OpenOptionsExt;
    // As the driver opens files: never block on a FIFO swapped in after the walk.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&e.path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::with_capacity(4096);
    f.take(HEADER).read_to_end(&mut buf).ok()?;
    dimensions(&buf).map(|(_, w, h)| (w, h))
}

fn is_image(rel: &str) -> bool {
    let r = rel.to_ascii_lowercase();
    IMAGE_EXT.iter().any(|e| r.ends_with(e))
}

/// Whether `name` matches a manifest pattern (exact, or one `*`).
fn matches_pattern(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((pre, suf)) => {
            name.len() >= pre.len() + suf.len() && name.starts_with(pre) && name.ends_with(suf)
        }
        None => name == pattern,
    }
}

/// Evidence gathered for one folder.
#[derive(Default)]
struct Folder {
    reasons: Vec<String>,
    datasets: BTreeSet<String>,
    strong: bool,
}

fn face_stores(
    files: &[Entry],
    hints: &FaceStoreHints,
    rules: &Ruleset,
    cx: &Context<'_>,
) -> Vec<Finding> {
    let images: Vec<Image> = files
        .par_iter()
        .filter(|e| is_image(&rel_str(e)))
        .map(|e| {
            let rel = rel_str(e);
            let (dir, name) = split(&rel);
            Image {
                root: e.root,
                dir: dir.to_string(),
                name: name.to_string(),
                size: image_size(e),
            }
        })
        .collect();
    let mut folders: BTreeMap<(usize, String), Folder> = BTreeMap::new();
    by_sizes(&images, hints, &mut folders);
    by_layout(&images, &mut folders);
    by_manifest(files, hints, &mut folders);
    let stores = outermost(folders);
    let sev = severity(rules, RULE_STORE);
    stores
        .into_iter()
        .map(|((root, dir), f)| {
            let count = images
                .iter()
                .filter(|i| i.root == root && under(&i.dir, &dir))
                .count() as u64;
            let conf = if f.reasons.len() >= 2 || (f.strong && face_context(&dir)) {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let mut a = shekara_detectors::Attributes::new();
            a.insert("count", count.to_string());
            a.insert("reasons", f.reasons.join("; "));
            if !f.datasets.is_empty() {
                let d: Vec<&str> = f.datasets.iter().map(String::as_str).collect();
                a.insert("dataset", d.join(","));
            }
            let path = if dir.is_empty() { "." } else { dir.as_str() };
            finding(
                cx,
                Spec {
                    root,
                    path,
                    kind: Kind::FaceImageStore,
                    rule: RULE_STORE,
                    severity: sev,
                    confidence: conf,
                    count: count.max(1),
                },
                a,
            )
        })
        .collect()
}

/// Whether folder `dir` is `ancestor` or below it.
fn under(dir: &str, ancestor: &str) -> bool {
    ancestor.is_empty()
        || dir == ancestor
        || (dir.starts_with(ancestor) && dir.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

fn by_sizes(
    images: &[Image],
    hints: &FaceStoreHints,
    folders: &mut BTreeMap<(usize, String), Folder>,
) {
    type Sizes = Vec<Option<(u32, u32)>>;
    let mut per_dir: BTreeMap<(usize, &str), Sizes> = BTreeMap::new();
    for i in images {
        per_dir.entry((i.root, &i.dir)).or_default().push(i.size);
    }
    let is_in = |list: &[[u32; 2]], s: (u32, u32)| list.iter().any(|c| (c[0], c[1]) == s);
    for ((root, dir), sizes) in per_dir {
        if sizes.len() < hints.min_images {
            continue;
        }
        let n = sizes.len() as f64;
        let strong = sizes
            .iter()
            .flatten()
            .filter(|s| is_in(&hints.crop_sizes, **s))
            .count();
        let weak = sizes
            .iter()
            .flatten()
            .filter(|s| is_in(&hints.weak_crop_sizes, **s))
            .count();
        let mut common: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for s in sizes.iter().flatten() {
            *common.entry(*s).or_default() += 1;
        }
        let top = common.iter().max_by_key(|(_, c)| **c).map(|(s, _)| *s);
        if strong as f64 / n >= hints.min_share {
            let f = folders.entry((root, dir.to_string())).or_default();
            let (w, h) = top.unwrap_or((0, 0));
            f.reasons.push(format!(
                "{strong}/{} images of face-crop sizes (mostly {w}x{h})",
                sizes.len()
            ));
            f.strong = true;
        } else if weak as f64 / n >= hints.min_share && face_context(dir) {
            let f = folders.entry((root, dir.to_string())).or_default();
            f.reasons.push(format!(
                "{weak}/{} images of 224x224 in a face-named folder",
                sizes.len()
            ));
            f.strong = true;
        }
    }
}

/// LFW (`Name/Name_0001.jpg`) and VGGFace2 (`n000002/…`) identity folders:
/// the parent of at least three such folders is a store.
fn by_layout(images: &[Image], folders: &mut BTreeMap<(usize, String), Folder>) {
    let mut lfw: BTreeMap<(usize, &str), BTreeSet<&str>> = BTreeMap::new();
    let mut vgg: BTreeMap<(usize, &str), BTreeSet<&str>> = BTreeMap::new();
    for i in images {
        let (parent, person) = split(&i.dir);
        if person.is_empty() {
            continue;
        }
        let stem = i.name.rsplit_once('.').map_or(i.name.as_str(), |(s, _)| s);
        let lfw_name = stem
            .strip_prefix(person)
            .and_then(|r| r.strip_prefix('_'))
            .is_some_and(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()));
        if lfw_name {
            lfw.entry((i.root, parent)).or_default().insert(person);
        }
        let p = person.as_bytes();
        if p.len() == 7 && p[0] == b'n' && p[1..].iter().all(u8::is_ascii_digit) {
            vgg.entry((i.root, parent)).or_default().insert(person);
        }
    }
    for (map, dataset) in [(lfw, "LFW"), (vgg, "VGGFace2")] {
        for ((root, parent), people) in map {
            if people.len() >= 3 {
                let f = folders.entry((root, parent.to_string())).or_default();
                f.reasons.push(format!(
                    "{} identity folders in the {dataset} layout",
                    people.len()
                ));
                f.datasets.insert(dataset.to_string());
            }
        }
    }
}

fn by_manifest(
    files: &[Entry],
    hints: &FaceStoreHints,
    folders: &mut BTreeMap<(usize, String), Folder>,
) {
    for e in files {
        let rel = rel_str(e);
        let (dir, name) = split(&rel);
        if let Some(m) = hints
            .manifests
            .iter()
            .find(|m| matches_pattern(&m.pattern, name))
        {
            let f = folders.entry((e.root, dir.to_string())).or_default();
            f.reasons.push(format!("{} manifest {name}", m.dataset));
            f.datasets.insert(m.dataset.clone());
        }
    }
}

/// Keeps the outermost folders, merging what their inner folders showed.
fn outermost(folders: BTreeMap<(usize, String), Folder>) -> BTreeMap<(usize, String), Folder> {
    let mut out: BTreeMap<(usize, String), Folder> = BTreeMap::new();
    // Sorted by path, an ancestor comes before its descendants.
    for ((root, dir), f) in folders {
        let outer = out
            .keys()
            .find(|(r, d)| *r == root && under(&dir, d))
            .cloned();
        match outer {
            Some(k) => {
                if let Some(o) = out.get_mut(&k) {
                    o.reasons
                        .extend(f.reasons.into_iter().map(|r| format!("{dir}: {r}")));
                    o.datasets.extend(f.datasets);
                    o.strong |= f.strong;
                }
            }
            None => {
                out.insert((root, dir), f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shekara_fixtures::biometric as b;

    fn write(root: &std::path::Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn entries(root: &std::path::Path) -> Vec<Entry> {
        let mut v = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    // As a walk without `stat` lists them: sizes looked up when needed.
                    v.push(Entry {
                        root: 0,
                        path: p,
                        rel: rel.into_bytes(),
                        size: None,
                        stamp: None,
                    });
                }
            }
        }
        v.sort_by(|a, b| a.rel.cmp(&b.rel));
        v
    }

    fn run(root: &std::path::Path) -> Vec<Finding> {
        let key = FingerprintKey::from_secret("t", "test");
        let cx = Context {
            key: &key,
            reveal: false,
            models_found: BTreeSet::new(),
        };
        folder_findings(&entries(root), &cx)
    }

    #[test]
    fn a_face_store_beside_a_photo_folder_is_one_finding() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..12 {
            write(
                dir.path(),
                &format!("crops/{i:04}.jpg"),
                &b::jpeg(112, 112, None),
            );
            write(
                dir.path(),
                &format!("holiday/IMG_{i:04}.jpg"),
                &b::jpeg(640, 480, None),
            );
        }
        let found = run(dir.path());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(&*found[0].location.path, "crops");
        assert_eq!(found[0].count, 12);
        assert_eq!(found[0].kind, Kind::FaceImageStore);
    }

    #[test]
    fn lfw_layout_and_manifest_make_one_store_with_every_image() {
        let dir = tempfile::tempdir().unwrap();
        for person in [
            "Aigerim_Sadykova",
            "Daniyar_Ospanov",
            "Ruslan_Akhmetov",
            "Zhanna_Bekova",
        ] {
            for k in 1..=3 {
                write(
                    dir.path(),
                    &format!("lfw/{person}/{person}_{k:04}.jpg"),
                    &b::jpeg(250, 250, None),
                );
            }
        }
        write(dir.path(), "lfw/pairs.txt", b"10\t300\n");
        let found = run(dir.path());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(&*found[0].location.path, "lfw");
        assert_eq!(found[0].count, 12);
        assert_eq!(found[0].confidence, Confidence::High);
        assert_eq!(&found[0].attributes["dataset"], "LFW");
    }

    #[test]
    fn manifests_alone_and_224_crops_need_context() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "celeba/Anno/identity_CelebA.txt",
            b"000001.jpg 2880\n",
        );
        for i in 0..8 {
            write(dir.path(), &format!("thumbs/{i}.png"), &b::png(224, 224));
            write(
                dir.path(),
                &format!("face_crops/{i}.png"),
                &b::png(224, 224),
            );
        }
        let found = run(dir.path());
        let paths: Vec<&str> = found.iter().map(|f| &*f.location.path).collect();
        assert_eq!(paths, ["celeba/Anno", "face_crops"]);
    }

    #[test]
    fn model_files_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "models/dlib_face_recognition_resnet_model_v1.dat.bz2",
            b"x",
        );
        write(dir.path(), "models/arcface_r100.pth", b"weights");
        write(dir.path(), "models/resnet50.pth", b"x");
        write(dir.path(), "docs/arcface.md", b"x");
        let found = run(dir.path());
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (&*f.location.path, &f.attributes["family"]))
            .collect();
        assert_eq!(
            got,
            [
                ("models/arcface_r100.pth", "arcface"),
                (
                    "models/dlib_face_recognition_resnet_model_v1.dat.bz2",
                    "dlib"
                )
            ]
        );
        // Listed without sizes (a walk that did not `stat`): looked up.
        assert_eq!(&found[0].attributes["size"], "7");
        assert_eq!(&found[1].attributes["size"], "1");
    }
}
