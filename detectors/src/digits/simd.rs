//! Digit masks of 64-byte blocks, one implementation per instruction set.
//!
//! Every kernel gives the same digit mask of a block; the scans in the
//! parent module are generic over the kernel and compiled once per
//! instruction set. The wide kernels (AVX2, AVX-512BW) are chosen at run
//! time, once per call of a scan, through `pulp`'s CPU tokens: a token
//! exists only when the CPU has the features, and `vectorize` compiles the
//! scan with them enabled, so no `unsafe` is written here.

use super::digit_bytes;

/// The per-block mask a scan needs.
pub(super) trait Masks: Copy {
    /// Bit `i` is set when `block[i]` is an ASCII digit.
    fn digits(self, block: &[u8; 64]) -> u64;

    /// Whether `chunk` holds a byte of [`super::RARE_BYTES`] (`0x00`,
    /// `0x7F`, `0xFF`). The narrow kernels ask `memchr`; the wide ones test for a
    /// zero in `min(b, (b + 1) & 0x7F)`, which is zero for exactly those
    /// three bytes: three operations a vector instead of `memchr3`'s five.
    #[inline(always)]
    fn any_rare(self, chunk: &[u8; 256]) -> bool {
        let [a, b, c] = super::RARE_BYTES;
        memchr::memchr3(a, b, c, chunk).is_some()
    }
}

/// The digit mask of a block of at most 64 bytes (missing bytes: non-digits).
#[inline(always)]
pub(super) fn padded<M: Masks>(m: M, block: &[u8]) -> u64 {
    match <&[u8; 64]>::try_from(block) {
        Ok(full) => m.digits(full),
        Err(_) => {
            let mut buf = [0u8; 64];
            let n = block.len().min(64);
            buf[..n].copy_from_slice(&block[..n]);
            m.digits(&buf)
        }
    }
}

/// Eight bytes at a time in general-purpose registers: every target.
#[derive(Clone, Copy, Debug)]
pub(super) struct Swar;

impl Masks for Swar {
    #[inline(always)]
    fn digits(self, block: &[u8; 64]) -> u64 {
        let mut m = 0u64;
        for (k, chunk) in block.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let d = digit_bytes(u64::from_le_bytes(b));
            // Gather the eight high bits into one byte.
            m |= ((d >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
        }
        m
    }
}

/// SSE2 (every x86-64), through `safe_arch`'s safe wrappers.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[derive(Clone, Copy, Debug)]
pub(super) struct Sse2;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl Masks for Sse2 {
    #[inline(always)]
    fn digits(self, block: &[u8; 64]) -> u64 {
        use safe_arch::{
            cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
            set_splat_i8_m128i, sub_i8_m128i,
        };
        // Subtract '0', then a byte is a digit when min(byte, 9) == byte
        // (unsigned), and movemask packs the bits.
        let zero = set_splat_i8_m128i(b'0' as i8);
        let nine = set_splat_i8_m128i(9);
        let lane = |k: usize| {
            let bytes: &[u8; 16] = block[16 * k..16 * k + 16].try_into().unwrap_or(&[0; 16]);
            let t = sub_i8_m128i(load_unaligned_m128i(bytes), zero);
            let digits = cmp_eq_mask_i8_m128i(min_u8_m128i(t, nine), t);
            u64::from(move_mask_i8_m128i(digits) as u16)
        };
        lane(0) | lane(1) << 16 | lane(2) << 32 | lane(3) << 48
    }
}

/// AVX2 (x86-64-v3): two 32-byte halves per block.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(pub(super) pulp::x86::V3);

#[cfg(target_arch = "x86_64")]
impl Masks for Avx2 {
    #[inline(always)]
    fn digits(self, block: &[u8; 64]) -> u64 {
        let (avx, avx2) = (self.0.avx, self.0.avx2);
        // '0'..='9' + 0x50 are -128..=-119 as signed bytes, and no other byte is.
        let (shift, below) = (avx._mm256_set1_epi8(0x50), avx._mm256_set1_epi8(-118));
        let half = |k: usize| {
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&block[32 * k..32 * k + 32]);
            let x: std::arch::x86_64::__m256i = pulp::bytemuck::cast(bytes);
            let digit = avx2._mm256_cmpgt_epi8(below, avx2._mm256_add_epi8(x, shift));
            avx2._mm256_movemask_epi8(digit) as u32
        };
        u64::from(half(0)) | u64::from(half(1)) << 32
    }

    #[inline(always)]
    fn any_rare(self, chunk: &[u8; 256]) -> bool {
        let (avx, avx2) = (self.0.avx, self.0.avx2);
        let (one, low7) = (avx._mm256_set1_epi8(1), avx._mm256_set1_epi8(0x7F));
        let mut least = avx._mm256_set1_epi8(-1);
        for part in chunk.chunks_exact(32) {
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(part);
            let x: std::arch::x86_64::__m256i = pulp::bytemuck::cast(bytes);
            let t = avx2._mm256_and_si256(avx2._mm256_add_epi8(x, one), low7);
            least = avx2._mm256_min_epu8(least, avx2._mm256_min_epu8(x, t));
        }
        let zero = avx2._mm256_cmpeq_epi8(least, avx._mm256_setzero_si256());
        avx2._mm256_movemask_epi8(zero) != 0
    }
}

/// AVX-512BW (x86-64-v4): one 64-byte vector per block, tests straight to
/// mask registers.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(pub(super) pulp::x86::V4);

#[cfg(target_arch = "x86_64")]
impl Masks for Avx512 {
    #[inline(always)]
    fn digits(self, block: &[u8; 64]) -> u64 {
        let (f, bw) = (self.0.avx512f, self.0.avx512bw);
        let x: std::arch::x86_64::__m512i = pulp::bytemuck::cast(*block);
        let t = bw._mm512_sub_epi8(x, f._mm512_set1_epi8(b'0' as i8));
        bw._mm512_cmple_epu8_mask(t, f._mm512_set1_epi8(9))
    }

    #[inline(always)]
    fn any_rare(self, chunk: &[u8; 256]) -> bool {
        let (f, bw) = (self.0.avx512f, self.0.avx512bw);
        let (one, low7) = (f._mm512_set1_epi8(1), f._mm512_set1_epi8(0x7F));
        let mut least = f._mm512_set1_epi8(-1);
        for part in chunk.chunks_exact(64) {
            let mut bytes = [0u8; 64];
            bytes.copy_from_slice(part);
            let x: std::arch::x86_64::__m512i = pulp::bytemuck::cast(bytes);
            let t = f._mm512_and_si512(bw._mm512_add_epi8(x, one), low7);
            least = bw._mm512_min_epu8(least, bw._mm512_min_epu8(x, t));
        }
        bw._mm512_cmpeq_epi8_mask(least, f._mm512_setzero_si512()) != 0
    }
}

/// A scan to run with some kernel: [`dispatch`] picks the kernel and
/// compiles `run` for its instruction set.
pub(super) trait WithMasks {
    /// What the scan returns.
    type Output;
    /// Runs the scan with kernel `m`; implementations are `#[inline(always)]`
    /// so that the whole scan is compiled with `m`'s features.
    fn run<M: Masks>(self, m: M) -> Self::Output;
}

/// An instruction set the digit scans can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Eight bytes at a time in general-purpose registers (every target).
    Swar,
    /// SSE2, 16 bytes per instruction (every x86-64).
    Sse2,
    /// AVX2, 32 bytes per instruction (x86-64-v3, chosen at run time).
    Avx2,
    /// AVX-512BW, 64 bytes per instruction (x86-64-v4, chosen at run time).
    Avx512,
}

impl Isa {
    /// The widest instruction set this CPU offers, as the scans use it.
    pub fn detect() -> Isa {
        Isa::available().last().copied().unwrap_or(Isa::Swar)
    }

    /// Every instruction set the scans can use on this CPU, narrowest first.
    pub fn available() -> Vec<Isa> {
        let mut out = vec![Isa::Swar];
        if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
            out.push(Isa::Sse2);
        }
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V3::is_available() {
                out.push(Isa::Avx2);
            }
            if pulp::x86::V4::is_available() {
                out.push(Isa::Avx512);
            }
        }
        out
    }

    /// The name used in reports and benches (`swar`, `sse2`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Swar => "swar",
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// Runs `w` with the kernel of `isa`, or of the widest set below it that
/// this CPU has.
#[inline(always)]
pub(super) fn dispatch<W: WithMasks>(isa: Isa, w: W) -> W::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if isa >= Isa::Avx512 {
            if let Some(v4) = pulp::x86::V4::try_new() {
                return v4.vectorize(Run(w, Avx512(v4)));
            }
        }
        if isa >= Isa::Avx2 {
            if let Some(v3) = pulp::x86::V3::try_new() {
                return v3.vectorize(Run(w, Avx2(v3)));
            }
        }
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if isa >= Isa::Sse2 {
        return w.run(Sse2);
    }
    let _ = isa;
    w.run(Swar)
}

/// A scan and its kernel, as the nullary function `pulp` compiles with the
/// kernel's features.
#[cfg(target_arch = "x86_64")]
struct Run<W, M>(W, M);

#[cfg(target_arch = "x86_64")]
impl<W: WithMasks, M: Masks> pulp::NullaryFnOnce for Run<W, M> {
    type Output = W::Output;

    #[inline(always)]
    fn call(self) -> W::Output {
        self.0.run(self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Probe([u8; 64]);

    impl WithMasks for Probe {
        type Output = u64;
        #[inline(always)]
        fn run<M: Masks>(self, m: M) -> Self::Output {
            m.digits(&self.0)
        }
    }

    fn naive(block: &[u8; 64]) -> u64 {
        let d = |i: usize| block[i].is_ascii_digit();
        (0..64).fold(0u64, |m, i| m | u64::from(d(i)) << i)
    }

    #[test]
    fn this_cpu_runs_the_wide_kernels_it_has() {
        let isas = Isa::available();
        #[cfg(target_arch = "x86_64")]
        {
            assert!(isas.contains(&Isa::Sse2));
            assert_eq!(
                isas.contains(&Isa::Avx2),
                std::is_x86_feature_detected!("avx2")
            );
            if std::is_x86_feature_detected!("avx512bw") {
                assert!(isas.contains(&Isa::Avx512));
            }
        }
        assert_eq!(Isa::detect(), *isas.last().unwrap_or(&Isa::Swar));
    }

    proptest! {
        /// Every kernel this CPU has gives the naive mask, bytes next to the
        /// digit range included.
        #[test]
        fn kernels_match_naive(bytes in proptest::collection::vec(prop_oneof![
            6 => b'0'..=b'9', 1 => Just(b'/'), 1 => Just(b':'), 1 => any::<u8>()], 64)) {
            let block: [u8; 64] = bytes.try_into().unwrap_or([0; 64]);
            let want = naive(&block);
            for isa in Isa::available() {
                prop_assert_eq!(dispatch(isa, Probe(block)), want, "{:?}", isa);
            }
        }
    }
}
