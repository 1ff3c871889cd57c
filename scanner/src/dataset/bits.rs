//! Byte-class bitmasks over 64-byte blocks, for the CSV and JSON readers.
//!
//! A reader asks for the positions of a few chosen bytes (quote, delimiter,
//! line ends; or a JSON lexer's structural bytes) once per 64-byte block and
//! then walks the set bits with `trailing_zeros`, so its work is per token,
//! not per byte. With SSE2 each class costs one compare per 16 bytes
//! (through `safe_arch`'s safe wrappers); elsewhere a portable loop gives the
//! same masks.
//!
//! Bit `i` of a mask stands for byte `i` of the block. A block shorter than
//! 64 bytes (the end of the input) is padded with zero bytes, which no class
//! contains.

/// Bytes per block.
pub const BLOCK: usize = 64;

/// The 64 bytes at `base` (zero-padded past the end of `bytes`).
#[inline]
pub fn block(bytes: &[u8], base: usize) -> [u8; BLOCK] {
    match bytes.get(base..base + BLOCK) {
        Some(b) => {
            let mut out = [0u8; BLOCK];
            out.copy_from_slice(b);
            out
        }
        None => {
            let mut out = [0u8; BLOCK];
            let rest = bytes.get(base..).unwrap_or(&[]);
            out[..rest.len()].copy_from_slice(rest);
            out
        }
    }
}

/// `f` of the 64 bytes at `base`: borrowed from `bytes` when they are all
/// there, else a zero-padded copy ([`block`]).
#[inline(always)]
pub fn with_block<R>(bytes: &[u8], base: usize, f: impl FnOnce(&[u8; BLOCK]) -> R) -> R {
    match bytes.get(base..base + BLOCK).map(<&[u8; BLOCK]>::try_from) {
        Some(Ok(full)) => f(full),
        _ => f(&block(bytes, base)),
    }
}

/// One mask per needle: bit `i` of `out[k]` is set when `block[i] == needles[k]`.
#[inline]
pub fn eq_masks<const N: usize>(block: &[u8; BLOCK], needles: [u8; N]) -> [u64; N] {
    let mut out = [0u64; N];
    for (k, lanes) in lanes(block).iter().enumerate() {
        for (m, &n) in out.iter_mut().zip(needles.iter()) {
            *m |= u64::from(lanes.eq(n)) << (16 * k);
        }
    }
    out
}

/// The JSON lexer's classes: `[string stops, token starts]`, where string
/// stops are `"` `\` and `\n`, and token starts are `"` `{` `}` `[` `]` `-`
/// the ASCII digits and, when `newline` is set, `\n`.
#[inline]
pub fn json_masks(block: &[u8; BLOCK], newline: bool) -> [u64; 2] {
    let mut out = [0u64; 2];
    for (k, lanes) in lanes(block).iter().enumerate() {
        let quote = lanes.eq(b'"');
        let nl = lanes.eq(b'\n');
        let stops = quote | lanes.eq(b'\\') | nl;
        // `[`/`{` and `]`/`}` differ from each other only in bit 0x20.
        let folded = lanes.or(0x20);
        let tokens = quote
            | folded.eq(b'{')
            | folded.eq(b'}')
            | lanes.eq(b'-')
            | lanes.digits()
            | if newline { nl } else { 0 };
        out[0] |= u64::from(stops) << (16 * k);
        out[1] |= u64::from(tokens) << (16 * k);
    }
    out
}

/// The structural JSON lexer's classes, in this order: `"`, `\\`, `\n`,
/// brackets (`{` `}` `[` `]`) and scalar starts (`-` and the ASCII digits).
#[inline]
pub fn json_struct_masks(block: &[u8; BLOCK]) -> [u64; 5] {
    let mut out = [0u64; 5];
    for (k, lanes) in lanes(block).iter().enumerate() {
        let folded = lanes.or(0x20);
        let classes = [
            lanes.eq(b'"'),
            lanes.eq(b'\\'),
            lanes.eq(b'\n'),
            folded.eq(b'{') | folded.eq(b'}'),
            lanes.eq(b'-') | lanes.digits(),
        ];
        for (o, c) in out.iter_mut().zip(classes) {
            *o |= u64::from(c) << (16 * k);
        }
    }
    out
}

/// The bytes escaped by a backslash: bit `i` is set when byte `i` follows a
/// backslash that is not itself escaped, reading left to right as a string
/// lexer does (of two backslashes the first escapes the second; of three,
/// the third escapes the byte after it). `carry` is true when byte 0 is
/// escaped by the previous block's last byte, and is set for the next block.
/// Backslashes are rare in JSON: the work is per backslash.
#[inline]
pub fn escaped(mut backslashes: u64, carry: &mut bool) -> u64 {
    let mut out = u64::from(*carry);
    // An escaped backslash escapes nothing.
    backslashes &= !out;
    *carry = false;
    while backslashes != 0 {
        let at = backslashes.trailing_zeros();
        if at == 63 {
            *carry = true;
            break;
        }
        let next = 1u64 << (at + 1);
        out |= next;
        backslashes &= !(next | (next >> 1));
    }
    out
}

/// Bit `i` set when an odd number of bits `0..=i` of `x` are set.
#[inline]
pub fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Sixteen bytes, compared a class at a time into a 16-bit mask.
#[derive(Clone, Copy)]
struct Lanes(
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))] safe_arch::m128i,
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))] [u8; 16],
);

#[inline]
fn lanes(block: &[u8; BLOCK]) -> [Lanes; 4] {
    let mut out = [Lanes::new([0; 16]); 4];
    for (o, chunk) in out.iter_mut().zip(block.chunks_exact(16)) {
        let mut b = [0u8; 16];
        b.copy_from_slice(chunk);
        *o = Lanes::new(b);
    }
    out
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl Lanes {
    #[inline]
    fn new(b: [u8; 16]) -> Lanes {
        Lanes(safe_arch::m128i::from(b))
    }

    #[inline]
    fn eq(self, n: u8) -> u16 {
        use safe_arch::{cmp_eq_mask_i8_m128i, move_mask_i8_m128i, set_splat_i8_m128i};
        let hit = cmp_eq_mask_i8_m128i(self.0, set_splat_i8_m128i(n as i8));
        move_mask_i8_m128i(hit) as u16
    }

    #[inline]
    fn or(self, n: u8) -> Lanes {
        Lanes(safe_arch::bitor_m128i(
            self.0,
            safe_arch::set_splat_i8_m128i(n as i8),
        ))
    }

    #[inline]
    fn digits(self) -> u16 {
        use safe_arch::{
            cmp_eq_mask_i8_m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i,
            sub_i8_m128i,
        };
        // As in the detectors' digit scanner: subtract '0', then a byte is a
        // digit when min(byte, 9) == byte (unsigned).
        let t = sub_i8_m128i(self.0, set_splat_i8_m128i(b'0' as i8));
        let hit = cmp_eq_mask_i8_m128i(min_u8_m128i(t, set_splat_i8_m128i(9)), t);
        move_mask_i8_m128i(hit) as u16
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
impl Lanes {
    #[inline]
    fn new(b: [u8; 16]) -> Lanes {
        Lanes(b)
    }

    #[inline]
    fn eq(self, n: u8) -> u16 {
        self.bits(|b| b == n)
    }

    #[inline]
    fn or(self, n: u8) -> Lanes {
        Lanes(self.0.map(|b| b | n))
    }

    #[inline]
    fn digits(self) -> u16 {
        self.bits(|b| b.is_ascii_digit())
    }

    #[inline]
    fn bits(self, f: impl Fn(u8) -> bool) -> u16 {
        let mut m = 0u16;
        for (i, &b) in self.0.iter().enumerate() {
            m |= u16::from(f(b)) << i;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(block: &[u8; BLOCK], f: impl Fn(u8) -> bool) -> u64 {
        let mut m = 0u64;
        for (i, &b) in block.iter().enumerate() {
            m |= u64::from(f(b)) << i;
        }
        m
    }

    fn interesting() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'"'),
            Just(b'\\'),
            Just(b'\n'),
            Just(b','),
            Just(b'{'),
            Just(b']'),
            Just(b'['),
            Just(b'}'),
            Just(b'-'),
            Just(b'0'),
            Just(b'9'),
            Just(b'/'),
            Just(b':'),
            any::<u8>(),
        ]
    }

    proptest! {
        #[test]
        fn masks_agree_with_bytewise(
            bytes in proptest::collection::vec(interesting(), 0..150),
            base in 0usize..160,
        ) {
            let b = block(&bytes, base);
            let expect: Vec<u8> = (0..BLOCK).map(|i| bytes.get(base + i).copied().unwrap_or(0)).collect();
            prop_assert_eq!(&b[..], &expect[..]);
            let [q, c, nl] = eq_masks(&b, [b'"', b',', b'\n']);
            prop_assert_eq!(q, naive(&b, |x| x == b'"'));
            prop_assert_eq!(c, naive(&b, |x| x == b','));
            prop_assert_eq!(nl, naive(&b, |x| x == b'\n'));
            for newline in [false, true] {
                let [stops, tokens] = json_masks(&b, newline);
                prop_assert_eq!(stops, naive(&b, |x| matches!(x, b'"' | b'\\' | b'\n')));
                prop_assert_eq!(tokens, naive(&b, |x| {
                    matches!(x, b'"' | b'{' | b'}' | b'[' | b']' | b'-' | b'0'..=b'9')
                        || (newline && x == b'\n')
                }));
            }
        }

        #[test]
        fn struct_masks_agree_with_bytewise(
            bytes in proptest::collection::vec(interesting(), 0..150),
            base in 0usize..160,
        ) {
            let b = block(&bytes, base);
            let [q, bs, nl, br, d] = json_struct_masks(&b);
            prop_assert_eq!(q, naive(&b, |x| x == b'"'));
            prop_assert_eq!(bs, naive(&b, |x| x == b'\\'));
            prop_assert_eq!(nl, naive(&b, |x| x == b'\n'));
            prop_assert_eq!(br, naive(&b, |x| matches!(x, b'{' | b'}' | b'[' | b']')));
            prop_assert_eq!(d, naive(&b, |x| x == b'-' || x.is_ascii_digit()));
        }

        /// Block by block with the carry, as a string lexer reads them.
        #[test]
        fn escapes_agree_with_bytewise(
            bytes in proptest::collection::vec(prop_oneof![
                Just(b'\\'), Just(b'\\'), Just(b'"'), Just(b'a')
            ], 0..300),
        ) {
            let mut expect = vec![false; bytes.len()];
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    expect[i + 1] = true;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            let mut carry = false;
            for base in (0..bytes.len()).step_by(BLOCK) {
                let [_, bs, ..] = json_struct_masks(&block(&bytes, base));
                let got = escaped(bs, &mut carry);
                for (j, want) in expect.iter().skip(base).take(BLOCK).enumerate() {
                    prop_assert_eq!((got >> j) & 1 == 1, *want, "byte {}", base + j);
                }
            }
        }

        #[test]
        fn prefix_xor_is_a_running_parity(x in any::<u64>()) {
            let p = prefix_xor(x);
            for i in 0..64 {
                let parity = (x & (u64::MAX >> (63 - i))).count_ones() % 2;
                prop_assert_eq!((p >> i) & 1, u64::from(parity));
            }
        }
    }
}
