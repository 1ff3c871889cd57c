//! After the scan: suppressions, then verdicts.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use base64::Engine as _;

use crate::model::{Finding, Report};
use crate::policy::Policy;
use crate::{suppress, verdict, Config, Input};

/// Inline suppressions settled before the report was put together (cached
/// with the findings by `--cache`), by index into the report's findings.
#[derive(Debug, Default)]
pub(crate) struct KnownInline {
    /// Per finding: whether its inline suppression is already settled.
    settled: Vec<bool>,
    /// The settled findings that are suppressed, and why.
    found: Vec<(usize, String)>,
}

impl KnownInline {
    /// Records the next `len` findings, starting at `base`: settled by
    /// `inline` (indices among them) when it is known.
    pub(crate) fn add(&mut self, base: usize, len: usize, inline: Option<crate::cache::Inline>) {
        self.settled.resize(base, false);
        let known = inline.is_some();
        self.settled.resize(base + len, known);
        for (i, why) in inline.into_iter().flatten() {
            if i < len {
                self.found.push((base + i, why));
            }
        }
    }

    /// A finding was inserted at `at`: one with no inline ignore to read.
    pub(crate) fn insert(&mut self, at: usize) {
        if at <= self.settled.len() {
            self.settled.insert(at, true);
        }
        for (i, _) in &mut self.found {
            if *i >= at {
                *i += 1;
            }
        }
    }

    /// The findings were reordered: new position `n` holds old `order[n]`.
    pub(crate) fn reorder(&mut self, order: &[usize]) {
        let mut new_of = vec![0; order.len()];
        for (n, &old) in order.iter().enumerate() {
            new_of[old] = n;
        }
        self.settled = order
            .iter()
            .map(|&old| self.settled.get(old).copied().unwrap_or(false))
            .collect();
        for (i, _) in &mut self.found {
            *i = new_of.get(*i).copied().unwrap_or(*i);
        }
    }

    fn is_settled(&self, i: usize) -> bool {
        self.settled.get(i).copied().unwrap_or(false)
    }
}

/// Fills in `report.suppressions` and `report.verdicts`.
pub(crate) fn finish(report: &mut Report, config: &Config, known: KnownInline) {
    let mut s = Vec::new();
    if config.inline_ignores {
        s.extend(suppress::inline_unless(
            &report.findings,
            |i| known.is_settled(i),
            |f| file_of(config, f),
        ));
        s.extend(known.found.iter().map(|(i, why)| suppress::Suppression {
            finding: *i,
            by: "inline".into(),
            reason: Some(why.clone()),
            expires: None,
        }));
    }
    if let Some(b) = &config.baseline {
        s.extend(suppress::baseline(&report.findings, b, &suppress::today()));
    }
    // One entry per finding: an inline comment wins over the baseline.
    s.sort_by_key(|x| x.finding);
    s.dedup_by_key(|x| x.finding);
    report.suppressions = s;
    let builtin;
    let policy = match &config.policy {
        Some(p) => p,
        None => {
            builtin = Policy::builtin();
            &builtin
        }
    };
    report.verdicts = verdict::compute(report, policy, time::OffsetDateTime::now_utc());
}

/// The file on disk a finding is in, when it can be read back.
pub(crate) fn file_of(config: &Config, f: &Finding) -> Option<PathBuf> {
    let Input::Path(root) = config.inputs.get(f.location.root)? else {
        return None;
    };
    // An object-store root (`s3://bucket/prefix`): its objects are not on
    // this disk, and opening the URL as a path would only fail.
    if is_url(root) {
        return None;
    }
    if !root.is_dir() {
        return Some(root.clone());
    }
    let rel: Vec<u8> = match f.location.path_base64() {
        Some(b) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .ok()?,
        None => f.location.path.as_bytes().to_vec(),
    };
    Some(root.join(std::ffi::OsStr::from_bytes(&rel)))
}

/// Whether `root` is a URL (`scheme://…`) rather than a path.
fn is_url(root: &std::path::Path) -> bool {
    let b = root.as_os_str().as_bytes();
    memchr::memmem::find(b, b"://").is_some_and(|i| {
        i > 0
            && b[0].is_ascii_alphabetic()
            && b[..i]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(root: usize, path: &str) -> Finding {
        let mut f = Finding::sample(shekara_detectors::Kind::Iin, path);
        f.location.root = root;
        f
    }

    #[test]
    fn findings_under_an_object_store_root_have_no_file_on_disk() {
        let dir = std::env::temp_dir();
        let config = Config::new(vec![
            Input::Path("s3://bucket/prefix".into()),
            Input::Path(dir.clone()),
            Input::Path("odd://name".into()),
        ]);
        assert_eq!(file_of(&config, &at(0, "data/x.csv")), None);
        assert_eq!(file_of(&config, &at(1, "x.csv")), Some(dir.join("x.csv")));
        assert_eq!(file_of(&config, &at(2, "x.csv")), None);
        assert!(!is_url(std::path::Path::new("dir/a://b")));
        assert!(!is_url(std::path::Path::new("://x")));
        assert!(is_url(std::path::Path::new("gs://b")));
    }
}
