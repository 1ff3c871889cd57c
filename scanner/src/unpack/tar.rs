//! tar: members read in archive order from any stream, never seeking.

use std::io::Read;

use super::{classify, Unpacker};
use crate::driver::Place;
use crate::model::Reason;

impl Unpacker<'_> {
    /// Opens a tar stream and dispatches each regular file, in archive order.
    ///
    /// A tar read this way is never analysed as a container image (that
    /// needs its index first: a file, or a member in memory): when it holds
    /// an image's marker file, coverage says what was not verified.
    pub(crate) fn tar(&mut self, place: &Place, reader: &mut dyn Read, depth: u32) {
        let mut markers = [false; 3];
        self.tar_entries(place, reader, depth, &mut markers);
        // As image::Index::of decides: manifest.json, or index.json with oci-layout.
        let [manifest, index, layout] = markers;
        let holds = if manifest {
            "manifest.json"
        } else if index && layout {
            "index.json and oci-layout"
        } else {
            return;
        };
        let detail = format!(
            "a container image (it holds {holds}) read as a stream: its layers were scanned as archive members, but blob digests were not verified and whiteouts not resolved (no layer or hidden_by_layer attributes); scan the image tarball itself for those"
        );
        self.gap(place, Reason::ImageStreamed, detail);
    }

    fn tar_entries(
        &mut self,
        place: &Place,
        reader: &mut dyn Read,
        depth: u32,
        markers: &mut [bool; 3],
    ) {
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.gap(place, Reason::CorruptArchive, e.to_string()),
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let (reason, detail) = classify(&e);
                    return self.gap(place, reason, detail);
                }
            };
            if !is_content(entry.header().entry_type()) {
                continue;
            }
            if !self.count_entry(place) {
                return;
            }
            let name = entry_name(&entry.path_bytes());
            if let Some(i) = super::IMAGE_MARKERS.iter().position(|m| *m == name) {
                markers[i] = true;
            }
            let size = entry.size();
            self.buffered(&place.member(name), &mut entry, Some(size), depth + 1);
            if self.budget.exhausted() {
                return;
            }
        }
    }

    /// Counts one member against the entry limit; records the limit once hit.
    pub(crate) fn count_entry(&mut self, place: &Place) -> bool {
        if self.budget.entry() {
            return true;
        }
        let detail = format!(
            "more than {} members in this input (--max-entries); the rest was not scanned",
            self.budget.limits.max_entries
        );
        self.gap(place, Reason::ArchiveLimit, detail);
        false
    }
}

/// Whether a tar entry holds file content (not a directory, link or device).
pub(crate) fn is_content(t: tar::EntryType) -> bool {
    t.is_file() || t.is_contiguous() || t.is_gnu_sparse()
}

/// A member path as reported: `/`-separated, without a leading `./` or `/`.
pub(crate) fn entry_name(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut t: &str = &s;
    loop {
        if let Some(r) = t.strip_prefix("./") {
            t = r;
        } else if let Some(r) = t.strip_prefix('/') {
            t = r;
        } else {
            break;
        }
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_leading_dot_slash() {
        assert_eq!(entry_name(b"./data/a.csv"), "data/a.csv");
        assert_eq!(entry_name(b"/etc/x"), "etc/x");
        assert_eq!(entry_name(b"a"), "a");
    }
}
