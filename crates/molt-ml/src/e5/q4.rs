//! `y = x Wᵀ + b` straight from 4-bit weights, for the few rows of one short text.
//!
//! A query has 5–30 tokens, so each weight is used only T times: reading 85 MB of f32 weights
//! per query (the candle path) costs more than the arithmetic. Here the weights stay 4-bit
//! (13 MB for all 12 layers, which fits the L3 cache) and each group of [`ROWS`] output rows
//! is dequantised once into a small f32 buffer that stays in L1 while every token row is
//! multiplied with it.

use super::file::{Q4_BLOCK, Q4_BLOCK_BYTES};

/// Output rows dequantised and computed together: each loaded x vector feeds this many FMAs.
const ROWS: usize = 4;
/// Token rows per tile. 4 × 2 accumulators, 4 weight vectors and one x vector fit the 16
/// AVX2 registers; with 3 token rows (17 registers) LLVM spilled accumulators to the stack in
/// the inner loop and the kernel was twice as slow.
const TOKENS: usize = 2;

/// A 4-bit matrix, `rows × cols`, in the file's blocks of 32 values split into two arrays:
/// the scales widened to f32 (so the kernel reads them without converting) and the nibbles,
/// 16 bytes per block in the file's order. 20 bytes per block instead of the file's 18.
pub(crate) struct Q4Matrix {
    rows: usize,
    cols: usize,
    scales: Vec<f32>,
    nibbles: Vec<[u8; 16]>,
}

impl Q4Matrix {
    /// The matrix whose rows are those of `parts` in order (each `rows_i × cols`, file bytes).
    pub fn from_parts(cols: usize, parts: &[&[u8]]) -> Q4Matrix {
        assert!(cols.is_multiple_of(Q4_BLOCK), "{cols} columns are not whole blocks");
        let blocks: Vec<&[u8]> = parts.iter().flat_map(|p| p.chunks_exact(Q4_BLOCK_BYTES)).collect();
        let per_row = cols / Q4_BLOCK;
        assert!(blocks.len().is_multiple_of(per_row), "not whole rows");
        Q4Matrix {
            rows: blocks.len() / per_row,
            cols,
            scales: blocks.iter().map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            nibbles: blocks.iter().map(|b| b[2..].try_into().expect("16 bytes")).collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Rows `first..first + out.len() / cols` as f32, each value `(nibble − 8) × scale`.
    /// Every weight passes through here once per call, so this is as hot as the products.
    fn dequantise_rows(&self, kernel: Kernel, first: usize, out: &mut [f32]) {
        let start = first * self.cols / Q4_BLOCK;
        let blocks = out.len() / Q4_BLOCK;
        let (scales, nibbles) = (&self.scales[start..start + blocks], &self.nibbles[start..start + blocks]);
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: callers pass Avx2 only after `or_portable`; the slices have equal lengths.
            Kernel::Avx2 => unsafe { avx2::dequantise(scales, nibbles, out) },
            _ => Self::dequantise_portable(scales, nibbles, out),
        }
    }

    fn dequantise_portable(scales: &[f32], nibbles: &[[u8; 16]], out: &mut [f32]) {
        let blocks = scales.iter().zip(nibbles);
        for ((&d, q), o) in blocks.zip(out.chunks_exact_mut(Q4_BLOCK)) {
            let (low, high) = o.split_at_mut(Q4_BLOCK / 2);
            for ((&q, l), h) in q.iter().zip(low).zip(high) {
                *l = ((q & 0x0F) as i32 - 8) as f32 * d;
                *h = ((q >> 4) as i32 - 8) as f32 * d;
            }
        }
    }
}

/// Which instructions the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust (auto-vectorised for the build's baseline); correct on every target.
    Portable,
    /// AVX2 and FMA, when the CPU has them (checked at run time).
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Kernel::Avx2;
        }
        Kernel::Portable
    }

    /// This kernel if the CPU runs it, else the portable one: `Avx2` must never reach a CPU
    /// without AVX2, whatever a caller asks for.
    pub fn or_portable(self) -> Kernel {
        match self {
            Kernel::Avx2 if Kernel::detect() == Kernel::Avx2 => Kernel::Avx2,
            _ => Kernel::Portable,
        }
    }
}

/// `y = x Wᵀ + bias` for `x` of `t × w.cols()` and `y` of `t × w.rows()`, both row-major.
pub(crate) fn linear(kernel: Kernel, x: &[f32], w: &Q4Matrix, bias: &[f32], y: &mut [f32]) {
    let (cols, rows) = (w.cols(), w.rows());
    let t = x.len() / cols;
    assert!(x.len() == t * cols && y.len() == t * rows && bias.len() == rows, "shapes");
    let kernel = kernel.or_portable();
    // Rows past the matrix's end stay zero: a last partial group costs a little arithmetic
    // but needs no separate code.
    let mut group = vec![0f32; ROWS * cols];
    for first in (0..rows).step_by(ROWS) {
        let n = ROWS.min(rows - first);
        w.dequantise_rows(kernel, first, &mut group[..n * cols]);
        group[n * cols..].fill(0.0);
        for t0 in (0..t).step_by(TOKENS) {
            let tokens = &x[t0 * cols..(t0 + TOKENS).min(t) * cols];
            let dots = tile(kernel, tokens, &group, cols);
            for (i, row) in dots.iter().take(tokens.len() / cols).enumerate() {
                let out = &mut y[(t0 + i) * rows + first..][..n];
                for ((o, d), b) in out.iter_mut().zip(row).zip(&bias[first..]) {
                    *o = d + b;
                }
            }
        }
    }
}

/// The dot products of up to [`TOKENS`] rows of `x` with the [`ROWS`] rows of `w`.
fn tile(kernel: Kernel, x: &[f32], w: &[f32], cols: usize) -> [[f32; ROWS]; TOKENS] {
    let mut out = [[0.0; ROWS]; TOKENS];
    match (kernel, x.len() / cols) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `or_portable` returned Avx2, so the CPU has AVX2 and FMA; lengths checked.
        (Kernel::Avx2, n) => unsafe { avx2::tile(x, w, cols, n, &mut out) },
        (_, n) => portable::tile(x, w, cols, n, &mut out),
    }
    out
}

mod portable {
    use super::{ROWS, TOKENS};

    /// Eight lanes per row, summed at the end, so the compiler can vectorise the inner loop.
    pub fn tile(x: &[f32], w: &[f32], cols: usize, n: usize, out: &mut [[f32; ROWS]; TOKENS]) {
        for (t, o) in out.iter_mut().enumerate().take(n) {
            let xt = &x[t * cols..][..cols];
            for (r, o) in o.iter_mut().enumerate() {
                let wr = &w[r * cols..][..cols];
                let mut lanes = [0f32; 8];
                for (xc, wc) in xt.chunks_exact(8).zip(wr.chunks_exact(8)) {
                    for l in 0..8 {
                        lanes[l] += xc[l] * wc[l];
                    }
                }
                *o = lanes.iter().sum();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{ROWS, TOKENS};

    /// # Safety
    /// The CPU must have AVX2 and FMA; `x` holds `n ≤ TOKENS` rows and `w` [`ROWS`] rows of
    /// `cols` values, `cols` a multiple of 8.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile(x: &[f32], w: &[f32], cols: usize, n: usize, out: &mut [[f32; ROWS]; TOKENS]) {
        debug_assert!(x.len() >= n * cols && w.len() >= ROWS * cols && cols.is_multiple_of(8));
        // One monomorphised loop per row count keeps the accumulators in registers.
        match n {
            TOKENS => tile_n::<TOKENS>(x, w, cols, out),
            _ => tile_n::<1>(x, w, cols, out),
        }
    }

    // `acc[t][r]` indexed by both counters reads more plainly than nested zips.
    #[allow(clippy::needless_range_loop)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_n<const N: usize>(x: &[f32], w: &[f32], cols: usize, out: &mut [[f32; ROWS]; TOKENS]) {
        let mut acc = [[_mm256_setzero_ps(); ROWS]; N];
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        for i in (0..cols).step_by(8) {
            // SAFETY (loads): i + 8 ≤ cols, t < N rows of x and r < ROWS rows of w exist.
            let mut wv = [_mm256_setzero_ps(); ROWS];
            for r in 0..ROWS {
                wv[r] = unsafe { _mm256_loadu_ps(wp.add(r * cols + i)) };
            }
            for t in 0..N {
                let xv = unsafe { _mm256_loadu_ps(xp.add(t * cols + i)) };
                for r in 0..ROWS {
                    acc[t][r] = _mm256_fmadd_ps(xv, wv[r], acc[t][r]);
                }
            }
        }
        for (acc, o) in acc.iter().zip(out.iter_mut()) {
            for (a, o) in acc.iter().zip(o.iter_mut()) {
                *o = sum(*a);
            }
        }
    }

    /// `(nibble − 8) × scale` per value, 32 per block, exactly as the scalar code: the
    /// product of a small integer and an f16 scale is exact in f32, and so is the FMA.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `out` holds 32 values per block.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dequantise(scales: &[f32], nibbles: &[[u8; 16]], out: &mut [f32]) {
        debug_assert!(scales.len() == nibbles.len() && out.len() == 32 * scales.len());
        let mask = _mm_set1_epi8(0x0F);
        for (b, (&d, q)) in scales.iter().zip(nibbles).enumerate() {
            // SAFETY: 16 bytes in `q`; 32 values at `out[32 b..]`.
            let q = unsafe { _mm_loadu_si128(q.as_ptr().cast()) };
            let (low, high) = (_mm_and_si128(q, mask), _mm_and_si128(_mm_srli_epi16(q, 4), mask));
            let (scale, offset) = (_mm256_set1_ps(d), _mm256_set1_ps(-8.0 * d));
            let halves = [low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)];
            for (j, h) in halves.into_iter().enumerate() {
                let v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(h));
                unsafe {
                    _mm256_storeu_ps(out.as_mut_ptr().add(32 * b + 8 * j), _mm256_fmadd_ps(v, scale, offset))
                };
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn sum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [−1, 1).
    fn values(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Random 4-bit blocks in the file's layout, scales of either sign.
    fn q4_bytes(seed: u64, rows: usize, cols: usize) -> Vec<u8> {
        let blocks = rows * cols / Q4_BLOCK;
        let scales = values(seed, blocks);
        let nibbles = values(seed + 1, blocks * 16);
        let mut out = Vec::new();
        for (b, d) in scales.iter().enumerate() {
            out.extend(half::f16::from_f32(d * 0.1).to_le_bytes());
            out.extend(nibbles[b * 16..][..16].iter().map(|v| ((v + 1.0) * 127.9) as u8));
        }
        out
    }

    /// The reference: dequantise everything with the file's dequantiser, then multiply in f64.
    fn naive(x: &[f32], bytes: &[u8], rows: usize, cols: usize, bias: &[f32]) -> Vec<f32> {
        let mut w = vec![0f32; rows * cols];
        super::super::file::dequantise_q4(bytes, &mut w);
        let t = x.len() / cols;
        let mut y = vec![0f32; t * rows];
        for i in 0..t {
            for r in 0..rows {
                let dot: f64 = (0..cols).map(|c| x[i * cols + c] as f64 * w[r * cols + c] as f64).sum();
                y[i * rows + r] = (dot + bias[r] as f64) as f32;
            }
        }
        y
    }

    fn check(kernel: Kernel, t: usize, rows: usize, cols: usize, seed: u64) {
        let bytes = q4_bytes(seed, rows, cols);
        let (x, bias) = (values(seed + 2, t * cols), values(seed + 3, rows));
        let w = Q4Matrix::from_parts(cols, &[&bytes]);
        assert_eq!((w.rows(), w.cols()), (rows, cols));
        let mut y = vec![f32::NAN; t * rows];
        linear(kernel, &x, &w, &bias, &mut y);
        let expected = naive(&x, &bytes, rows, cols, &bias);
        for (i, (a, b)) in y.iter().zip(&expected).enumerate() {
            // Terms are below 0.8 in size; f32 sums of `cols` of them drift by ~cols × 1e-7.
            assert!((a - b).abs() <= 1e-6 * cols as f32, "{kernel:?} t={t} {rows}×{cols} [{i}]: {a} vs {b}");
        }
    }

    #[test]
    fn kernels_match_dequantise_then_multiply() {
        let kernels = [Kernel::Portable, Kernel::Avx2];
        for (k, kernel) in kernels.into_iter().enumerate() {
            for t in [1, 2, 3, 4, 5, 7, 17, 64] {
                for (rows, cols) in [(4, 32), (12, 64), (7, 96), (13, 384), (384, 64), (6, 1536)] {
                    check(kernel, t, rows, cols, (k * 1000 + t * 10 + rows) as u64);
                }
            }
        }
    }

    #[test]
    fn parts_are_stacked_in_order() {
        let (a, b) = (q4_bytes(1, 2, 64), q4_bytes(2, 3, 64));
        let stacked = Q4Matrix::from_parts(64, &[&a, &b]);
        let whole = [a.clone(), b.clone()].concat();
        let mut from_parts = vec![0f32; 5 * 64];
        let mut expected = vec![0f32; 5 * 64];
        super::super::file::dequantise_q4(&whole, &mut expected);
        for kernel in [Kernel::Portable, Kernel::Avx2.or_portable()] {
            stacked.dequantise_rows(kernel, 0, &mut from_parts);
            assert_eq!(from_parts, expected, "{kernel:?}");
        }
    }

    #[test]
    fn avx2_is_only_used_where_the_cpu_has_it() {
        assert_eq!(Kernel::Portable.or_portable(), Kernel::Portable);
        assert_eq!(Kernel::Avx2.or_portable(), Kernel::detect());
    }
}
