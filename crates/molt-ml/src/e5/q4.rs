//! `y = x Wᵀ + b` straight from 4-bit weights, for the few rows of one short text.
//!
//! A query has 5–30 tokens, so each weight is used only T times: reading 85 MB of f32 weights
//! per query (the candle path) costs more than the arithmetic. Here the weights stay 4-bit
//! (13 MB for all 12 layers, which fits the L3 cache), in one layout ([`GroupBlock`]) that
//! serves two kinds of kernel:
//!
//! * f32 activations (`Portable`, `Avx2`): each group of [`ROWS`] output rows is dequantised
//!   once into a small f32 buffer that stays in L1 while every token row is multiplied with it;
//! * int8 activations (the `Int8*` kernels, [`super::int8`]): the token rows are quantised to
//!   int8 and multiplied with the 4-bit blocks by integer dot products, as llama.cpp does.

use super::file::{Q4_BLOCK, Q4_BLOCK_BYTES};
use super::int8;

/// Output rows dequantised and computed together: each loaded x vector feeds this many FMAs.
const ROWS: usize = 4;
/// Token rows per tile. 4 × 2 accumulators, 4 weight vectors and one x vector fit the 16
/// AVX2 registers; with 3 token rows (17 registers) LLVM spilled accumulators to the stack in
/// the inner loop and the kernel was twice as slow.
const TOKENS: usize = 2;

/// Rows interleaved in one [`GroupBlock`]: the integer kernels compute this many output rows
/// at once, one row per 32-bit lane (one 512-bit register, or two 256-bit ones).
pub(crate) const GROUP: usize = 16;

/// Block `b` (32 input values) of [`GROUP`] consecutive rows, interleaved for the integer
/// kernels: `nibbles[k][4 r + j]` is byte `4 k + j` of row `r`'s block in the file, which holds
/// value `4 k + j` in its low nibble and value `16 + 4 k + j` in its high one. So one vector
/// load of `nibbles[k]`, masked (or shifted by 4 and masked), holds in 32-bit lane `r` the four
/// values of row `r` that one `vpdpbusd` lane multiplies with four activations: a block's dot
/// products for all rows end in one register, with no horizontal sums.
///
/// 320 bytes (5 cache lines) for 16 × 32 values: 20 bytes per block against the file's 18,
/// as the scales are widened to f32 so that every kernel loads them without converting.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub(crate) struct GroupBlock {
    /// Row `r`'s scale (the file's f16, widened).
    pub scales: [f32; GROUP],
    pub nibbles: [[u8; 4 * GROUP]; 4],
}

impl GroupBlock {
    /// Rows past a matrix's end: scale 0, so they compute 0 and need no separate code.
    const EMPTY: GroupBlock = GroupBlock { scales: [0.0; GROUP], nibbles: [[0; 4 * GROUP]; 4] };

    /// Row `r`'s scale and 16 nibble bytes, in the file's order.
    pub fn row(&self, r: usize) -> (f32, [u8; 16]) {
        let mut q = [0u8; 16];
        for (chunk, k) in q.chunks_exact_mut(4).zip(&self.nibbles) {
            chunk.copy_from_slice(&k[4 * r..][..4]);
        }
        (self.scales[r], q)
    }

    fn set_row(&mut self, r: usize, file_block: &[u8]) {
        self.scales[r] = half::f16::from_le_bytes([file_block[0], file_block[1]]).to_f32();
        for (k, chunk) in self.nibbles.iter_mut().zip(file_block[2..].chunks_exact(4)) {
            k[4 * r..][..4].copy_from_slice(chunk);
        }
    }
}

/// A 4-bit matrix, `rows × cols`, in the file's blocks of 32 values (f16 scale, nibble − 8),
/// stored as [`GroupBlock`]s: group `g`'s blocks, in column order, at
/// `groups[g * blocks_per_row..]`, so a kernel reads one group's weights front to back.
pub(crate) struct Q4Matrix {
    rows: usize,
    cols: usize,
    groups: Vec<GroupBlock>,
}

impl Q4Matrix {
    /// The matrix whose rows are those of `parts` in order (each `rows_i × cols`, file bytes).
    pub fn from_parts(cols: usize, parts: &[&[u8]]) -> Q4Matrix {
        assert!(cols.is_multiple_of(Q4_BLOCK), "{cols} columns are not whole blocks");
        let blocks: Vec<&[u8]> = parts.iter().flat_map(|p| p.chunks_exact(Q4_BLOCK_BYTES)).collect();
        let per_row = cols / Q4_BLOCK;
        assert!(blocks.len().is_multiple_of(per_row), "not whole rows");
        let rows = blocks.len() / per_row;
        let mut groups = vec![GroupBlock::EMPTY; rows.div_ceil(GROUP) * per_row];
        for (i, block) in blocks.iter().enumerate() {
            let (row, b) = (i / per_row, i % per_row);
            groups[row / GROUP * per_row + b].set_row(row % GROUP, block);
        }
        Q4Matrix { rows, cols, groups }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Groups of [`GROUP`] rows; the last one may be padded with zero rows.
    pub fn groups(&self) -> usize {
        self.rows.div_ceil(GROUP)
    }

    /// The blocks of group `g` (rows `GROUP g..`), in column order.
    pub fn group(&self, g: usize) -> &[GroupBlock] {
        let per_row = self.cols / Q4_BLOCK;
        &self.groups[g * per_row..][..per_row]
    }

    /// Rows `first..first + ROWS` as f32 (`first` a multiple of [`ROWS`]; rows past the
    /// matrix's end are zero), each value `(nibble − 8) × scale`, into `out` (`ROWS × cols`).
    /// Every weight passes through here once per call, so this is as hot as the products.
    fn dequantise_rows(&self, kernel: Kernel, first: usize, out: &mut [f32]) {
        assert!(first.is_multiple_of(ROWS) && out.len() == ROWS * self.cols, "whole groups of rows");
        let blocks = self.group(first / GROUP);
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: callers pass Avx2 only after `or_portable`, so the CPU has AVX2 and FMA.
            Kernel::Avx2 => unsafe { avx2::dequantise_rows(blocks, first % GROUP, out) },
            _ => {
                for (i, row) in out.chunks_exact_mut(self.cols).enumerate() {
                    for (block, o) in blocks.iter().zip(row.chunks_exact_mut(Q4_BLOCK)) {
                        let (d, q) = block.row(first % GROUP + i);
                        dequantise_portable(d, &q, o);
                    }
                }
            }
        }
    }
}

fn dequantise_portable(d: f32, q: &[u8; 16], out: &mut [f32]) {
    let (low, high) = out.split_at_mut(Q4_BLOCK / 2);
    for ((&q, l), h) in q.iter().zip(low).zip(high) {
        *l = ((q & 0x0F) as i32 - 8) as f32 * d;
        *h = ((q >> 4) as i32 - 8) as f32 * d;
    }
}

/// Which arithmetic and instructions the 4-bit path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// f32 activations, plain Rust (auto-vectorised for the build's baseline); correct on
    /// every target.
    Portable,
    /// f32 activations, AVX2 and FMA.
    Avx2,
    /// int8 activations (blocks of 32, one f32 scale each) times the 4-bit weights by integer
    /// dot products, plain Rust.
    Int8Portable,
    /// int8 activations, AVX2 (`vpmaddubsw` + `vpmaddwd`).
    Int8Avx2,
    /// int8 activations, AVX-512 VNNI (`vpdpbusd` on 512-bit vectors; needs AVX512-BW too).
    Int8Vnni,
}

impl Kernel {
    /// Every kernel, supported by this CPU or not.
    pub const ALL: [Kernel; 5] =
        [Kernel::Portable, Kernel::Avx2, Kernel::Int8Portable, Kernel::Int8Avx2, Kernel::Int8Vnni];

    /// The kernel `embed` uses: the fastest this CPU runs. Without AVX2 that is the f32
    /// `Portable` kernel: plain Rust vectorises f32 products better than int8 ones.
    pub fn detect() -> Kernel {
        [Kernel::Int8Vnni, Kernel::Int8Avx2]
            .into_iter()
            .find(|k| k.is_supported())
            .unwrap_or(Kernel::Portable)
    }

    /// Whether the activations are quantised to int8 (else they stay f32).
    pub fn is_int8(self) -> bool {
        matches!(self, Kernel::Int8Portable | Kernel::Int8Avx2 | Kernel::Int8Vnni)
    }

    /// Whether this CPU has the instructions the kernel uses (checked at run time).
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable | Kernel::Int8Portable => true,
            Kernel::Avx2 | Kernel::Int8Avx2 => cpu::has_avx2(),
            Kernel::Int8Vnni => cpu::has_vnni(),
        }
    }

    /// This kernel if the CPU runs it, else the portable one of the same arithmetic: a SIMD
    /// kernel must never reach a CPU without its instructions, whatever a caller asks for.
    pub fn or_portable(self) -> Kernel {
        match self {
            k if k.is_supported() => k,
            k if k.is_int8() => Kernel::Int8Portable,
            _ => Kernel::Portable,
        }
    }

    /// Whether the f32 code around the linear layers (GELU, attention) may use AVX2 and FMA.
    pub(crate) fn has_avx2(self) -> bool {
        !matches!(self.or_portable(), Kernel::Portable | Kernel::Int8Portable)
    }
}

/// What the CPU has, for [`Kernel::is_supported`] and the integer kernels' proofs of it.
pub(crate) mod cpu {
    #[cfg(target_arch = "x86_64")]
    pub fn has_avx2() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// `vpdpbusd` on 512-bit vectors, and the byte shifts and masks around it.
    #[cfg(target_arch = "x86_64")]
    pub fn has_vnni() -> bool {
        has_avx2()
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn has_avx2() -> bool {
        false
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub fn has_vnni() -> bool {
        false
    }
}

/// `y = x Wᵀ + bias` for `x` of `t × w.cols()` and `y` of `t × w.rows()`, both row-major.
pub(crate) fn linear(kernel: Kernel, x: &[f32], w: &Q4Matrix, bias: &[f32], y: &mut [f32]) {
    let (cols, rows) = (w.cols(), w.rows());
    let t = x.len() / cols;
    assert!(x.len() == t * cols && y.len() == t * rows && bias.len() == rows, "shapes");
    let kernel = kernel.or_portable();
    if kernel.is_int8() {
        return int8::linear(kernel, x, w, bias, y);
    }
    // Rows past the matrix's end are zero: a last partial group costs a little arithmetic
    // but needs no separate code.
    let mut group = vec![0f32; ROWS * cols];
    for first in (0..rows).step_by(ROWS) {
        let n = ROWS.min(rows - first);
        w.dequantise_rows(kernel, first, &mut group);
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

    use super::{GroupBlock, ROWS, TOKENS};

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

    /// Rows `r0..r0 + 4` of a group (`blocks`, r0 a multiple of 4) as f32, into `out` (4 rows
    /// of 32 values per block). The four rows' words sit side by side in each `nibbles[k]`,
    /// so four 16-byte loads and a 4 × 4 transpose of words give each row's 16 bytes in the
    /// file's order: a load per row, as in the file, where gathering a row's four words
    /// one by one made this 30 % slower.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dequantise_rows(blocks: &[GroupBlock], r0: usize, out: &mut [f32]) {
        let cols = out.len() / ROWS;
        for (b, block) in blocks.iter().enumerate() {
            // SAFETY: 16 bytes at `nibbles[k][4 r0..]`.
            let k: [__m128i; 4] = std::array::from_fn(|k| unsafe {
                _mm_loadu_si128(block.nibbles[k][4 * r0..][..16].as_ptr().cast())
            });
            let (low, high) = (_mm_unpacklo_epi32(k[0], k[1]), _mm_unpacklo_epi32(k[2], k[3]));
            let (low2, high2) = (_mm_unpackhi_epi32(k[0], k[1]), _mm_unpackhi_epi32(k[2], k[3]));
            let rows = [
                _mm_unpacklo_epi64(low, high),
                _mm_unpackhi_epi64(low, high),
                _mm_unpacklo_epi64(low2, high2),
                _mm_unpackhi_epi64(low2, high2),
            ];
            for (i, q) in rows.into_iter().enumerate() {
                dequantise_block(block.scales[r0 + i], q, &mut out[i * cols + 32 * b..][..32]);
            }
        }
    }

    /// `(nibble − 8) × scale` per value, exactly as the scalar code: the product of a small
    /// integer and an f16 scale is exact in f32, and so is the FMA.
    #[target_feature(enable = "avx2,fma")]
    fn dequantise_block(d: f32, q: __m128i, out: &mut [f32]) {
        assert!(out.len() >= 32);
        let mask = _mm_set1_epi8(0x0F);
        let (low, high) = (_mm_and_si128(q, mask), _mm_and_si128(_mm_srli_epi16(q, 4), mask));
        let (scale, offset) = (_mm256_set1_ps(d), _mm256_set1_ps(-8.0 * d));
        let halves = [low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)];
        for (j, h) in halves.into_iter().enumerate() {
            let v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(h));
            // SAFETY: 8 values at `out[8 j..]`, j < 4, and `out` holds 32 (asserted).
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(8 * j), _mm256_fmadd_ps(v, scale, offset)) };
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
pub(super) mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [−1, 1).
    pub fn values(seed: u64, n: usize) -> Vec<f32> {
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
    pub fn q4_bytes(seed: u64, rows: usize, cols: usize) -> Vec<u8> {
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
        let mut expected = vec![0f32; 8 * 64];
        super::super::file::dequantise_q4(&whole, &mut expected[..5 * 64]);
        for kernel in [Kernel::Portable, Kernel::Avx2.or_portable()] {
            let mut from_parts = vec![f32::NAN; 8 * 64];
            for (first, rows) in [0, ROWS].into_iter().zip(from_parts.chunks_exact_mut(ROWS * 64)) {
                stacked.dequantise_rows(kernel, first, rows);
            }
            // Rows 5–7 lie past the end: zero (`-0.0` from (0 − 8) × 0 compares equal).
            assert_eq!(from_parts, expected, "{kernel:?}");
        }
    }

    #[test]
    fn simd_kernels_are_only_used_where_the_cpu_has_them() {
        for kernel in Kernel::ALL {
            let runs = kernel.or_portable();
            assert!(runs.is_supported() && runs.is_int8() == kernel.is_int8(), "{kernel:?} → {runs:?}");
            assert_eq!(runs == kernel, kernel.is_supported(), "{kernel:?}");
        }
        assert!(Kernel::detect().is_supported());
        assert_eq!(Kernel::detect().is_int8(), Kernel::Int8Avx2.is_supported());
        assert_eq!(Kernel::Portable.or_portable(), Kernel::Portable);
    }
}
