//! zip (and .jar, .whl, .npz, .docx, .xlsx …): by the central directory when
//! the bytes can be sought, else by local headers as they stream past.

use std::io::{Read, Seek};

use super::compress::{Guarded, Input};
use super::{Unpacker, RATIO_FLOOR};
use crate::driver::Place;
use crate::model::Reason;

impl Unpacker<'_> {
    /// Opens a seekable zip and dispatches each file entry in directory
    /// order. False when the archive does not open (the caller then scans it raw).
    pub(crate) fn zip_seekable<R: Read + Seek>(
        &mut self,
        place: &Place,
        reader: R,
        depth: u32,
    ) -> bool {
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => {
                self.gap(place, zip_reason(&e), format!("not a readable zip: {e}"));
                return false;
            }
        };
        for i in 0..archive.len() {
            if !self.count_entry(place) {
                break;
            }
            let name = match archive.name_for_index(i) {
                Some(Ok(n)) => n.into_owned(),
                _ => format!("#{i}"),
            };
            let mut file = match archive.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    self.gap(&place.member(name), zip_reason(&e), e.to_string());
                    continue;
                }
            };
            self.zip_entry(place, &mut file, depth);
            if self.budget.exhausted() {
                break;
            }
        }
        true
    }

    /// A zip that can only be read forwards (a large member of a stream).
    pub(crate) fn zip_stream(&mut self, place: &Place, mut reader: &mut dyn Read, depth: u32) {
        loop {
            match zip::read::read_zipfile_from_stream(&mut reader) {
                Ok(Some(mut file)) => {
                    if !self.count_entry(place) {
                        return;
                    }
                    self.zip_entry(place, &mut file, depth);
                    if self.budget.exhausted() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => return self.gap(place, zip_reason(&e), e.to_string()),
            }
        }
    }

    fn zip_entry<R: Read>(
        &mut self,
        place: &Place,
        file: &mut zip::read::ZipFile<'_, R>,
        depth: u32,
    ) {
        if file.is_dir() || file.is_symlink() {
            return;
        }
        let name = match file.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
        };
        let inner = place.member(name);
        let (size, packed) = (file.size(), file.compressed_size());
        let max = self.budget.limits.max_ratio;
        if size > RATIO_FLOOR && size / packed.max(1) > max {
            let detail = format!(
                "declares {size} bytes from {packed} compressed: more than {max} times (--max-ratio): a decompression bomb, the rest of this input is not opened"
            );
            let _ = self.budget.trip(Reason::CompressionRatio, detail.clone());
            return self.gap(&inner, Reason::CompressionRatio, detail);
        }
        let budget = self.budget.clone();
        let mut guarded = Guarded::new(file, &budget, Input::Declared(packed));
        let hint = (size > 0).then_some(size);
        self.buffered(&inner, &mut guarded, hint, depth + 1);
    }
}

/// The coverage reason for a zip error.
fn zip_reason(e: &zip::result::ZipError) -> Reason {
    use zip::result::ZipError;
    match e {
        ZipError::UnsupportedArchive(_)
        | ZipError::CompressionMethodNotSupported(_)
        | ZipError::InvalidPassword => Reason::UnsupportedFormat,
        _ => Reason::CorruptArchive,
    }
}
