//! Image dimensions from headers (JPEG, PNG, WebP, BMP), never a decode:
//! what the face-store aggregation needs to tell face crops from photos.

use super::be16;

/// An image format recognised by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (SOI `FF D8`).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (RIFF … WEBP).
    Webp,
    /// Windows bitmap.
    Bmp,
}

/// The format and `(width, height)` of the image whose first bytes are `b`;
/// `None` when `b` is not one of the formats or the header is not in `b`.
pub fn dimensions(b: &[u8]) -> Option<(ImageFormat, u32, u32)> {
    match b.get(..4)? {
        [0xFF, 0xD8, 0xFF, _] => jpeg(b).map(|(w, h)| (ImageFormat::Jpeg, w, h)),
        [0x89, b'P', b'N', b'G'] => {
            let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
            let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
            Some((ImageFormat::Png, w, h))
        }
        b"RIFF" if b.get(8..12) == Some(b"WEBP") => webp(b).map(|(w, h)| (ImageFormat::Webp, w, h)),
        [b'B', b'M', _, _] => {
            let w = i32::from_le_bytes(b.get(18..22)?.try_into().ok()?);
            let h = i32::from_le_bytes(b.get(22..26)?.try_into().ok()?);
            Some((ImageFormat::Bmp, w.unsigned_abs(), h.unsigned_abs()))
        }
        _ => None,
    }
}

/// Walks JPEG marker segments to the first frame header (SOF0–SOF15 but
/// DHT, JPG and DAC).
fn jpeg(b: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        let m = *b.get(at + 1)?;
        match m {
            0xFF => at += 1,
            0xD8 | 0x01 | 0xD0..=0xD7 => at += 2,
            0xC0..=0xCF if !matches!(m, 0xC4 | 0xC8 | 0xCC) => {
                let h = be16(b, at + 5)? as u32;
                let w = be16(b, at + 7)? as u32;
                return Some((w, h));
            }
            0xD9 | 0xDA => return None,
            _ => at += 2 + be16(b, at + 2)?,
        }
    }
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    let le24 = |i: usize| -> Option<u32> {
        let s = b.get(i..i + 3)?;
        Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
    };
    match b.get(12..16)? {
        b"VP8 " => {
            let w = u16::from_le_bytes(b.get(26..28)?.try_into().ok()?) & 0x3FFF;
            let h = u16::from_le_bytes(b.get(28..30)?.try_into().ok()?) & 0x3FFF;
            Some((u32::from(w), u32::from(h)))
        }
        b"VP8L" => {
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jpeg_png_bmp_sizes() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0];
        jpeg.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x70, 0x00, 0x60]);
        assert_eq!(dimensions(&jpeg), Some((ImageFormat::Jpeg, 96, 112)));
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(250u32.to_be_bytes());
        png.extend(250u32.to_be_bytes());
        assert_eq!(dimensions(&png), Some((ImageFormat::Png, 250, 250)));
        let mut bmp = vec![b'B', b'M'];
        bmp.extend([0u8; 16]);
        bmp.extend(160i32.to_le_bytes());
        bmp.extend((-160i32).to_le_bytes());
        assert_eq!(dimensions(&bmp), Some((ImageFormat::Bmp, 160, 160)));
        assert_eq!(dimensions(b"GIF89a"), None);
    }
}
