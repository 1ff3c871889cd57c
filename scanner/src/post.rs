//! After the scan: suppressions, then verdicts.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use base64::Engine as _;

use crate::model::{Finding, Report};
use crate::policy::Policy;
use crate::{suppress, verdict, Config, Input};

/// Fills in `report.suppressions` and `report.verdicts`.
pub(crate) fn finish(report: &mut Report, config: &Config) {
    let mut s = Vec::new();
    if config.inline_ignores {
        s.extend(suppress::inline(&report.findings, |f| file_of(config, f)));
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
    if !root.is_dir() {
        return Some(root.clone());
    }
    let rel: Vec<u8> = match &f.location.path_base64 {
        Some(b) => base64::engine::general_purpose::STANDARD.decode(b).ok()?,
        None => f.location.path.as_bytes().to_vec(),
    };
    Some(root.join(std::ffi::OsStr::from_bytes(&rel)))
}
