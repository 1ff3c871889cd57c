//! Readers: decoders for compressed streams, guarded by the budget; positional
//! reads of a file range; hashing while reading.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{Budget, Format, RATIO_FLOOR};
use crate::model::Reason;

/// Counts the bytes read through it (the compressed side of a decoder).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where the input size of a guarded reader comes from.
pub(crate) enum Input {
    /// Counted as the decoder reads it.
    Counted(Arc<AtomicU64>),
    /// Declared by the container (a zip entry's compressed size).
    Declared(u64),
}

/// A decoder's output, counted against the budget and the ratio limit.
pub(crate) struct Guarded<'b, R> {
    inner: R,
    budget: &'b Budget,
    input: Input,
    out: u64,
}

impl<'b, R: Read> Guarded<'b, R> {
    pub(crate) fn new(inner: R, budget: &'b Budget, input: Input) -> Guarded<'b, R> {
        Guarded {
            inner,
            budget,
            input,
            out: 0,
        }
    }

    fn check_ratio(&self) -> io::Result<()> {
        let input = match &self.input {
            Input::Counted(c) => c.load(Ordering::Relaxed),
            Input::Declared(n) => *n,
        };
        let max = self.budget.limits.max_ratio;
        if self.out > RATIO_FLOOR && self.out / input.max(1) > max {
            return Err(self.budget.trip(
                Reason::CompressionRatio,
                format!(
                    "expands more than {max} times ({} bytes from {input}; --max-ratio): a decompression bomb, the rest of this input is not opened",
                    self.out
                ),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        self.check_ratio()?;
        self.budget.spend(n as u64)?;
        Ok(n)
    }
}

/// A decoder for a compressed stream, guarded by the budget.
///
/// # Errors
/// When the decoder cannot start (a zstd context).
pub(crate) fn decoder<'a>(
    format: Format,
    raw: &'a mut dyn Read,
    budget: &'a Budget,
) -> io::Result<Guarded<'a, Box<dyn Read + 'a>>> {
    let count = Arc::new(AtomicU64::new(0));
    let counted = Counting {
        inner: raw,
        count: count.clone(),
    };
    let inner: Box<dyn Read + 'a> = match format {
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Format::Zstd => Box::new(zstd::stream::read::Decoder::new(counted)?),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
        Format::Xz => Box::new(lzma_rust2::XzReader::new(counted, true)),
        Format::Zip | Format::Tar => Box::new(counted),
    };
    Ok(Guarded::new(inner, budget, Input::Counted(count)))
}

/// Reads the range `[pos, end)` of a file with positional reads (no shared
/// cursor, so several ranges of one file can be read at once).
pub(crate) struct At<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl<'f> At<'f> {
    pub(crate) fn new(file: &'f File, pos: u64, len: u64) -> At<'f> {
        At {
            file,
            pos,
            end: pos.saturating_add(len),
        }
    }
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A reader that hashes (SHA-256) and counts what passes through it.
pub(crate) struct HashingRead<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashingRead<R> {
    pub(crate) fn new(inner: R, hash: bool) -> HashingRead<R> {
        HashingRead {
            inner,
            hasher: hash.then(Sha256::new),
            count: 0,
        }
    }

    /// The digest (lowercase hex, when hashing) and the bytes read.
    pub(crate) fn finish(self) -> (Option<String>, u64) {
        (self.hasher.map(|h| hex(&h.finalize())), self.count)
    }
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// SHA-256 of the first `size` bytes of a file (None on a read error).
pub(crate) fn sha256_of(file: &File, size: u64) -> Option<String> {
    let mut r = HashingRead::new(
        io::BufReader::with_capacity(1 << 20, At::new(file, 0, size)),
        true,
    );
    io::copy(&mut r, &mut io::sink()).ok()?;
    r.finish().0
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
