//! `y = x Wᵀ + b` by integer dot products: int8 activations times the 4-bit weights, as
//! llama.cpp multiplies `Q4_0` by `Q8_0`.
//!
//! Why: on the f32 path every 4-bit weight is dequantised and each product is one lane of an
//! f32 FMA, 8 per AVX2 instruction. Quantising each token's activations to int8 (blocks of
//! 32, one f32 scale each, see [`Q8Block`]) lets one `vpdpbusd` do 64 multiply-adds of
//! unsigned nibbles by int8 values (512-bit), exact in i32; the two scales are applied once
//! per block.
//!
//! The weights' layout ([`GroupBlock`]) puts one output row in each 32-bit lane, so eight
//! `vpdpbusd` (one per four of a block's 32 values) leave a block's dot products for all 16
//! rows of a group in one register, converted and scaled by one instruction each: 512
//! multiply-adds for 12 instructions, where reducing each row's block on its own takes four
//! for 32.
//!
//! Each group's blocks are unpacked once per tile of up to [`MAX_TOKENS`] token rows
//! ([`tiles`]); the group's weights (4–15 KB) stay in L1 across its tiles.
//!
//! 512-bit or 256-bit: Zen 4 splits each 512-bit `vpdpbusd` into two 256-bit halves, yet the
//! 512-bit kernel measured 1.2–1.4× faster than the same loops on 256-bit vectors (half the
//! instructions to decode and retire for the same multiply-adds), so VNNI uses 512 bits.
//!
//! Accuracy: rounding the activations to 8 bits per block costs far less than the 4-bit
//! weights already do; the embedding tests require cosine ≥ 0.999 against candle's f32.

use super::file::Q4_BLOCK;
use super::q4::{GroupBlock, Kernel, Q4Matrix, GROUP};

/// Most token rows per tile, for every kernel: `out` buffers have this many rows.
const MAX_TOKENS: usize = 8;

/// 32 activations as `q × scale`, with `scale = max |x| / 127` and `q` rounded to nearest.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Q8Block {
    q: [i8; Q4_BLOCK],
    scale: f32,
    /// −8 × Σ q. The kernels multiply the weights' unsigned nibbles (0..=15, the operand
    /// `vpdpbusd` and `vpmaddubsw` take unsigned) and start each block's sum here, which makes
    /// it Σ (nibble − 8) × q.
    offset: i32,
}

impl Q8Block {
    fn new(x: &[f32; Q4_BLOCK]) -> Q8Block {
        // max |x| compared as bit patterns: for non-negative floats their order is the
        // integers' order, and an integer max vectorises where `f32::max` (NaN rules) does not.
        let bits = x.iter().map(|v| v.to_bits() & 0x7FFF_FFFF).max().unwrap_or(0);
        let max = f32::from_bits(bits);
        let inverse = if max > 0.0 { 127.0 / max } else { 0.0 };
        let mut q = [0i8; Q4_BLOCK];
        for (q, v) in q.iter_mut().zip(x) {
            *q = round(v * inverse).clamp(-127, 127) as i8;
        }
        let sum: i32 = q.iter().map(|&v| i32::from(v)).sum();
        Q8Block { q, scale: max / 127.0, offset: -8 * sum }
    }

    /// `q[4 k..4 k + 4]` as one little-endian word: what one 32-bit lane multiplies with a
    /// row's four nibbles.
    #[inline(always)]
    fn word(&self, k: usize) -> i32 {
        let q = &self.q[4 * k..][..4];
        i32::from_le_bytes([q[0] as u8, q[1] as u8, q[2] as u8, q[3] as u8])
    }
}

/// `v` rounded to the nearest integer, ties to even (as `vcvtps2dq` rounds), for |v| < 2²²:
/// adding 1.5 × 2²³ leaves the rounded integer in the low mantissa bits.
fn round(v: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    (v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32
}

/// Each row of `x` (whole blocks of 32) as [`Q8Block`]s; the same values with or without AVX2.
fn quantise(x: &[f32]) -> Vec<Q8Block> {
    let mut out = vec![Q8Block::default(); x.len() / Q4_BLOCK];
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = x86::Avx2::new() {
        avx2.quantise(x, &mut out);
        return out;
    }
    for (x, o) in x.chunks_exact(Q4_BLOCK).zip(&mut out) {
        *o = Q8Block::new(x.try_into().expect("32 values"));
    }
    out
}

/// `y = x Wᵀ + bias` with `kernel`, an int8 kernel (see `q4::linear`); one the CPU lacks
/// runs as `Int8Portable`.
pub(crate) fn linear(kernel: Kernel, x: &[f32], w: &Q4Matrix, bias: &[f32], y: &mut [f32]) {
    let x = quantise(x);
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Int8Vnni => {
            if let Some(k) = x86::Vnni::new() {
                return tiles(k, w, &x, bias, y);
            }
        }
        Kernel::Int8Avx2 => {
            if let Some(k) = x86::Avx2::new() {
                return tiles(k, w, &x, bias, y);
            }
        }
        _ => {}
    }
    tiles(Portable, w, &x, bias, y)
}

/// A micro-kernel: the products of one group's blocks with a few token rows.
trait Tile {
    /// Token rows per tile (≤ [`MAX_TOKENS`]): as many as the registers hold.
    const TOKENS: usize;

    /// `out[t][r]` = Σ over blocks b of dot(row r's block b, token t's block b) × both
    /// scales, for `w` the blocks of one group and `x` the blocks of `N` token rows (each
    /// `w.len()` blocks long).
    fn tile<const N: usize>(&self, w: &[GroupBlock], x: &[Q8Block], out: &mut [[f32; GROUP]; MAX_TOKENS]);
}

/// The tiling every kernel shares: for each group of rows, the token rows in tiles of at most
/// `K::TOKENS`; then the bias.
fn tiles<K: Tile>(kernel: K, w: &Q4Matrix, x: &[Q8Block], bias: &[f32], y: &mut [f32]) {
    let (rows, blocks) = (w.rows(), w.cols() / Q4_BLOCK);
    let t = x.len() / blocks;
    let per_tile = tile_size(t, K::TOKENS);
    let mut out = [[0f32; GROUP]; MAX_TOKENS];
    for g in 0..w.groups() {
        let first = g * GROUP;
        let n_rows = GROUP.min(rows - first);
        for t0 in (0..t).step_by(per_tile) {
            let n = per_tile.min(t - t0);
            tile_of(&kernel, n, w.group(g), &x[t0 * blocks..(t0 + n) * blocks], &mut out);
            for (i, dots) in out[..n].iter().enumerate() {
                let y = &mut y[(t0 + i) * rows + first..][..n_rows];
                for ((y, d), b) in y.iter_mut().zip(dots).zip(&bias[first..]) {
                    *y = d + b;
                }
            }
        }
    }
}

/// Token rows per tile: `t` in the fewest tiles of at most `max`, as even as possible. 12 rows
/// with 8 per tile make 6 + 6, not 8 + 4: the same unpacking of weights, but each tile has
/// enough independent sums in flight to hide `vpdpbusd`'s latency.
fn tile_size(t: usize, max: usize) -> usize {
    t.div_ceil(t.div_ceil(max).max(1)).max(1)
}

/// [`Tile::tile`] for `n` token rows: one monomorphised loop per count keeps the
/// accumulators in registers.
fn tile_of<K: Tile>(k: &K, n: usize, w: &[GroupBlock], x: &[Q8Block], out: &mut [[f32; GROUP]; MAX_TOKENS]) {
    match n {
        1 => k.tile::<1>(w, x, out),
        2 => k.tile::<2>(w, x, out),
        3 => k.tile::<3>(w, x, out),
        4 => k.tile::<4>(w, x, out),
        5 => k.tile::<5>(w, x, out),
        6 => k.tile::<6>(w, x, out),
        7 => k.tile::<7>(w, x, out),
        8 => k.tile::<8>(w, x, out),
        _ => unreachable!("{n} token rows in a tile"),
    }
}

/// Plain Rust, row by row: the reference for the SIMD kernels and the int8 path on CPUs
/// without them. It is slow (about half the f32 portable kernel's speed on the x86_64
/// baseline), so [`Kernel::detect`] falls back to the f32 `Portable` kernel instead.
struct Portable;

impl Tile for Portable {
    const TOKENS: usize = 4;

    fn tile<const N: usize>(&self, w: &[GroupBlock], x: &[Q8Block], out: &mut [[f32; GROUP]; MAX_TOKENS]) {
        for (o, xs) in out.iter_mut().zip(x.chunks_exact(w.len())).take(N) {
            *o = [0.0; GROUP];
            for (wb, xb) in w.iter().zip(xs) {
                for (r, o) in o.iter_mut().enumerate() {
                    let (scale, nibbles) = wb.row(r);
                    *o += block_dot(&nibbles, xb) as f32 * (scale * xb.scale);
                }
            }
        }
    }
}

/// Σ (nibble − 8) × q over one block: `nibbles` in the file's order (byte i holds value i in
/// its low nibble, value 16 + i in its high one).
fn block_dot(nibbles: &[u8; 16], xb: &Q8Block) -> i32 {
    let (low, high) = xb.q.split_at(16);
    let products = nibbles.iter().zip(low).zip(high);
    let sum: i32 = products
        .map(|((&b, &l), &h)| i32::from(b & 0x0F) * i32::from(l) + i32::from(b >> 4) * i32::from(h))
        .sum();
    sum + xb.offset
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{GroupBlock, Q8Block, Tile, GROUP, MAX_TOKENS, Q4_BLOCK};
    use crate::e5::q4::cpu;

    /// Proof that the CPU has AVX2 and FMA: only [`Avx2::new`] makes one.
    #[derive(Clone, Copy)]
    pub struct Avx2(());

    impl Avx2 {
        pub fn new() -> Option<Avx2> {
            cpu::has_avx2().then_some(Avx2(()))
        }

        /// [`Q8Block::new`] for each block, with AVX2, to the same bits: the max is exact either
        /// way, `vcvtps2dq` rounds to nearest even as `round` does, and no value reaches the
        /// clamp (`|x| × 127 / max` is at most 127 and a few ulps, which rounds to 127).
        pub fn quantise(self, x: &[f32], out: &mut [Q8Block]) {
            // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA.
            unsafe { quantise_avx2(x, out) }
        }
    }

    /// Proof that the CPU has AVX512-VNNI, AVX512-BW (and AVX2, FMA): only [`Vnni::new`] makes
    /// one.
    #[derive(Clone, Copy)]
    pub struct Vnni(());

    impl Vnni {
        pub fn new() -> Option<Vnni> {
            cpu::has_vnni().then_some(Vnni(()))
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn quantise_avx2(x: &[f32], out: &mut [Q8Block]) {
        let sign = _mm256_set1_ps(-0.0);
        for (x, o) in x.chunks_exact(Q4_BLOCK).zip(out) {
            // SAFETY: 8 values at `x[8 i..]`, i < 4, in a chunk of 32.
            let v: [__m256; 4] =
                std::array::from_fn(|i| unsafe { _mm256_loadu_ps(x[8 * i..][..8].as_ptr()) });
            let abs = v.map(|v| _mm256_andnot_ps(sign, v));
            let max = max_lane(_mm256_max_ps(_mm256_max_ps(abs[0], abs[1]), _mm256_max_ps(abs[2], abs[3])));
            let inverse = _mm256_set1_ps(if max > 0.0 { 127.0 / max } else { 0.0 });
            let q = v.map(|v| _mm256_cvtps_epi32(_mm256_mul_ps(v, inverse)));
            let sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            // The packs work within 128-bit halves; the permutation restores the order.
            let bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            let bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            // SAFETY: 32 bytes in `o.q`.
            unsafe { _mm256_storeu_si256(o.q.as_mut_ptr().cast(), bytes) };
            o.scale = max / 127.0;
            o.offset = -8 * sum_lanes(sum);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn max_lane(v: __m256) -> f32 {
        let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)))
    }

    #[target_feature(enable = "avx2,fma")]
    fn sum_lanes(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
        _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)))
    }

    /// The `N` token rows' blocks, one slice per row, `blocks` long each.
    fn token_rows<const N: usize>(x: &[Q8Block], blocks: usize) -> [&[Q8Block]; N] {
        std::array::from_fn(|t| &x[t * blocks..][..blocks])
    }

    impl Tile for Vnni {
        /// 32 vector registers with AVX-512: 8 weight vectors, 8 accumulators and temporaries.
        const TOKENS: usize = 8;

        fn tile<const N: usize>(
            &self,
            w: &[GroupBlock],
            x: &[Q8Block],
            out: &mut [[f32; GROUP]; MAX_TOKENS],
        ) {
            // SAFETY: a `Vnni` exists only where the CPU has these features.
            unsafe { tile_vnni::<N>(w, x, out) }
        }
    }

    /// Block by block: the group's 8 weight vectors (16 rows × 4 values each) unpacked once,
    /// then for each token row eight `vpdpbusd` (the token's four values broadcast to every
    /// lane), converted, scaled by both scales and accumulated.
    #[target_feature(enable = "avx2,fma,avx512f,avx512bw,avx512vnni")]
    fn tile_vnni<const N: usize>(w: &[GroupBlock], x: &[Q8Block], out: &mut [[f32; GROUP]; MAX_TOKENS]) {
        let rows = token_rows::<N>(x, w.len());
        let mask = _mm512_set1_epi8(0x0F);
        let mut acc = [_mm512_setzero_ps(); N];
        for (b, wb) in w.iter().enumerate() {
            let mut ws = [_mm512_setzero_si512(); 8];
            for (k, nibbles) in wb.nibbles.iter().enumerate() {
                // SAFETY: 64 bytes in `nibbles`.
                let p = unsafe { _mm512_loadu_si512(nibbles.as_ptr().cast()) };
                ws[k] = _mm512_and_si512(p, mask);
                ws[k + 4] = _mm512_and_si512(_mm512_srli_epi16(p, 4), mask);
            }
            // SAFETY: 16 values in `scales`.
            let dw = unsafe { _mm512_loadu_ps(wb.scales.as_ptr()) };
            for (acc, row) in acc.iter_mut().zip(&rows) {
                let xb = &row[b];
                let mut dot = _mm512_set1_epi32(xb.offset);
                for (k, w) in ws.iter().enumerate() {
                    dot = _mm512_dpbusd_epi32(dot, *w, _mm512_set1_epi32(xb.word(k)));
                }
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(xb.scale));
                *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, *acc);
            }
        }
        for (o, acc) in out.iter_mut().zip(acc) {
            // SAFETY: 16 places in `o`.
            unsafe { _mm512_storeu_ps(o.as_mut_ptr(), acc) };
        }
    }

    impl Tile for Avx2 {
        /// 8 weight vectors, N accumulators, the i16 sum, the constant 1s and the scales: 16
        /// registers hold 4 token rows.
        const TOKENS: usize = 4;

        fn tile<const N: usize>(
            &self,
            w: &[GroupBlock],
            x: &[Q8Block],
            out: &mut [[f32; GROUP]; MAX_TOKENS],
        ) {
            // SAFETY: an `Avx2` exists only where the CPU has AVX2 and FMA.
            unsafe { tile_avx2::<N>(w, x, out) }
        }
    }

    /// [`tile_vnni`] on 256-bit vectors without VNNI, one half of the group (8 rows) at a
    /// time. `vpmaddubsw` sums pairs of u8 × i8 products into i16 (at most 2 × 15 × 127 = 3810
    /// in size, so the eight sums of a lane reach ≤ 30480 and never saturate), and one
    /// `vpmaddwd` by 1 widens pairs of i16 to the lane's i32.
    #[target_feature(enable = "avx2,fma")]
    fn tile_avx2<const N: usize>(w: &[GroupBlock], x: &[Q8Block], out: &mut [[f32; GROUP]; MAX_TOKENS]) {
        let rows = token_rows::<N>(x, w.len());
        let (mask, ones) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi16(1));
        for half in 0..2 {
            let mut acc = [_mm256_setzero_ps(); N];
            for (b, wb) in w.iter().enumerate() {
                let mut ws = [_mm256_setzero_si256(); 8];
                for (k, nibbles) in wb.nibbles.iter().enumerate() {
                    // SAFETY: 32 bytes at `nibbles[32 half..]`.
                    let p = unsafe { _mm256_loadu_si256(nibbles[32 * half..][..32].as_ptr().cast()) };
                    ws[k] = _mm256_and_si256(p, mask);
                    ws[k + 4] = _mm256_and_si256(_mm256_srli_epi16(p, 4), mask);
                }
                // SAFETY: 8 values at `scales[8 half..]`.
                let dw = unsafe { _mm256_loadu_ps(wb.scales[8 * half..][..8].as_ptr()) };
                for (acc, row) in acc.iter_mut().zip(&rows) {
                    let xb = &row[b];
                    let mut pairs = _mm256_setzero_si256();
                    for (k, w) in ws.iter().enumerate() {
                        let word = _mm256_set1_epi32(xb.word(k));
                        pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(*w, word));
                    }
                    let dot = _mm256_add_epi32(_mm256_madd_epi16(pairs, ones), _mm256_set1_epi32(xb.offset));
                    let scale = _mm256_mul_ps(dw, _mm256_set1_ps(xb.scale));
                    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, *acc);
                }
            }
            for (o, acc) in out.iter_mut().zip(acc) {
                // SAFETY: 8 places at `o[8 half..]`.
                unsafe { _mm256_storeu_ps(o[8 * half..][..8].as_mut_ptr(), acc) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::{dequantise_q4, Q4_BLOCK_BYTES};
    use super::super::q4::tests::{q4_bytes, values};
    use super::*;

    /// The int8 kernels this CPU runs.
    fn kernels() -> Vec<Kernel> {
        Kernel::ALL.into_iter().filter(|k| k.is_int8() && k.is_supported()).collect()
    }

    /// Σ (nibble − 8) × q of one block in the file's layout (18 bytes), in the plainest terms.
    fn reference_dot(block: &[u8], q: &[i8]) -> i32 {
        let value = |i: usize| {
            let byte = block[2 + i % 16];
            i32::from(if i < 16 { byte & 0x0F } else { byte >> 4 }) - 8
        };
        (0..32).map(|i| value(i) * i32::from(q[i])).sum()
    }

    /// `rows × cols` random nibbles with scale 1, and `t × cols` integer activations in
    /// −127..=127 with ±127 in every block, so that quantising them is exact (scale 1) and a
    /// kernel's output is its integer sums, exact in f32 (|sum| < 2²⁴).
    fn integer_case(seed: u64, t: usize, rows: usize, cols: usize) -> (Vec<u8>, Vec<f32>) {
        let one = half::f16::from_f32(1.0).to_le_bytes();
        let nibbles = values(seed, rows * cols / 2);
        let mut bytes = Vec::new();
        for block in nibbles.chunks_exact(16) {
            bytes.extend(one);
            bytes.extend(block.iter().map(|v| ((v + 1.0) * 127.99) as u8));
        }
        let mut x: Vec<f32> = values(seed + 1, t * cols).iter().map(|v| (v * 127.99).trunc()).collect();
        for (i, block) in x.chunks_exact_mut(Q4_BLOCK).enumerate() {
            block[i % Q4_BLOCK] = if i % 2 == 0 { 127.0 } else { -127.0 };
        }
        (bytes, x)
    }

    fn integer_reference(bytes: &[u8], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let t = x.len() / cols;
        let blocks = cols / Q4_BLOCK;
        let mut y = vec![0f32; t * rows];
        for i in 0..t {
            for r in 0..rows {
                let dot: i32 = (0..blocks)
                    .map(|b| {
                        let w = &bytes[(r * blocks + b) * Q4_BLOCK_BYTES..][..Q4_BLOCK_BYTES];
                        let q: Vec<i8> =
                            x[i * cols + b * Q4_BLOCK..][..Q4_BLOCK].iter().map(|&v| v as i8).collect();
                        reference_dot(w, &q)
                    })
                    .sum();
                y[i * rows + r] = dot as f32;
            }
        }
        y
    }

    #[test]
    fn every_integer_kernel_matches_the_scalar_block_dot_exactly() {
        for kernel in kernels() {
            // 1–9 and 17 token rows: single tiles, several, and uneven splits.
            for t in [1, 2, 3, 4, 5, 7, 8, 9, 17] {
                for (rows, cols) in [(16, 32), (13, 64), (48, 384), (5, 1536)] {
                    let (bytes, x) = integer_case((t * 100 + rows) as u64, t, rows, cols);
                    let w = Q4Matrix::from_parts(cols, &[&bytes]);
                    let mut y = vec![f32::NAN; t * rows];
                    linear(kernel, &x, &w, &vec![0.0; rows], &mut y);
                    assert_eq!(
                        y,
                        integer_reference(&bytes, &x, rows, cols),
                        "{kernel:?} t={t} {rows}×{cols}"
                    );
                }
            }
        }
    }

    #[test]
    fn extreme_blocks_neither_overflow_nor_saturate() {
        // All nibbles 15 (+7) or 0 (−8) against all ±127: the largest sums `vpmaddubsw` sees.
        for (nibble, sign) in [(0xFFu8, 1.0f32), (0xFF, -1.0), (0x00, 1.0), (0x00, -1.0), (0xF0, 1.0)] {
            let (rows, cols, t) = (16, 1536, 3);
            let one = half::f16::from_f32(1.0).to_le_bytes();
            let bytes: Vec<u8> =
                (0..rows * cols / Q4_BLOCK).flat_map(|_| one.into_iter().chain([nibble; 16])).collect();
            let x = vec![127.0 * sign; t * cols];
            let w = Q4Matrix::from_parts(cols, &[&bytes]);
            let expected = integer_reference(&bytes, &x, rows, cols);
            for kernel in kernels() {
                let mut y = vec![f32::NAN; t * rows];
                linear(kernel, &x, &w, &vec![0.0; rows], &mut y);
                assert_eq!(y, expected, "{kernel:?} nibbles {nibble:#x} × {}", 127.0 * sign);
            }
        }
    }

    #[test]
    fn the_portable_block_dot_is_the_reference() {
        let (bytes, x) = integer_case(7, 4, 16, 64);
        let w = Q4Matrix::from_parts(64, &[&bytes]);
        let q = quantise(&x);
        for (r, b, i) in (0..16).flat_map(|r| (0..2).flat_map(move |b| (0..4).map(move |i| (r, b, i)))) {
            let (_, nibbles) = w.group(0)[b].row(r);
            let file = &bytes[(r * 2 + b) * Q4_BLOCK_BYTES..][..Q4_BLOCK_BYTES];
            assert_eq!(block_dot(&nibbles, &q[i * 2 + b]), reference_dot(file, &q[i * 2 + b].q));
        }
    }

    #[test]
    fn quantisation_rounds_to_nearest_with_one_scale_per_block() {
        let mut x = values(11, 40 * Q4_BLOCK);
        x[..Q4_BLOCK].fill(0.0); // an empty block
        x[Q4_BLOCK..2 * Q4_BLOCK].iter_mut().for_each(|v| *v *= 1e-30); // a tiny one
        x[2 * Q4_BLOCK..3 * Q4_BLOCK].iter_mut().for_each(|v| *v *= 1e6); // a huge one
                                                                          // Scale 1 (max 127): halves are ties, rounded to even.
        x[3 * Q4_BLOCK..4 * Q4_BLOCK]
            .copy_from_slice(&[[127.0, 2.5, 3.5, -2.5, -0.5, 0.5, 1.49, -126.5]; 4].concat());
        let q = quantise(&x);
        assert_eq!(q[3].q[..8], [127, 2, 4, -2, 0, 0, 1, -126]);
        for (xs, b) in x.chunks_exact(Q4_BLOCK).zip(&q) {
            let max = xs.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(b.scale, max / 127.0);
            assert_eq!(b.offset, -8 * b.q.iter().map(|&v| i32::from(v)).sum::<i32>());
            if max > 0.0 {
                assert_eq!(b.q.iter().map(|v| v.unsigned_abs()).max(), Some(127));
            }
            for (&v, &q) in xs.iter().zip(&b.q) {
                let exact = v / b.scale.max(f32::MIN_POSITIVE);
                assert!((exact - f32::from(q)).abs() <= 0.5 + 1e-4, "{v} → {q} × {}", b.scale);
            }
        }
        // The AVX2 quantiser gives the same bits as the portable one (or is the same code).
        let portable: Vec<Q8Block> =
            x.chunks_exact(Q4_BLOCK).map(|c| Q8Block::new(c.try_into().unwrap())).collect();
        assert_eq!(q, portable);
    }

    /// Random weights and scales of both signs, real activations: each kernel against the
    /// product of the dequantised weights and the dequantised int8 activations, in f64.
    #[test]
    fn kernels_match_the_product_of_the_quantised_values() {
        for kernel in kernels() {
            for t in [1, 3, 6, 11] {
                for (rows, cols) in [(16, 32), (7, 96), (384, 64), (20, 1536)] {
                    let seed = (t * 1000 + rows) as u64;
                    let bytes = q4_bytes(seed, rows, cols);
                    let (x, bias) = (values(seed + 2, t * cols), values(seed + 3, rows));
                    let w = Q4Matrix::from_parts(cols, &[&bytes]);
                    let mut y = vec![f32::NAN; t * rows];
                    linear(kernel, &x, &w, &bias, &mut y);
                    let mut weights = vec![0f32; rows * cols];
                    dequantise_q4(&bytes, &mut weights);
                    let xq: Vec<f32> =
                        quantise(&x).iter().flat_map(|b| b.q.map(|q| f32::from(q) * b.scale)).collect();
                    for (i, y) in y.iter().enumerate() {
                        let (tok, r) = (i / rows, i % rows);
                        let dot: f64 = (0..cols)
                            .map(|c| f64::from(xq[tok * cols + c]) * f64::from(weights[r * cols + c]))
                            .sum();
                        let expected = dot + f64::from(bias[r]);
                        // Only f32 rounding differs: ~1e-7 relative per term, sums of `cols`.
                        assert!(
                            (f64::from(*y) - expected).abs() <= 1e-6 * cols as f64,
                            "{kernel:?} t={t} {rows}×{cols} [{i}]: {y} vs {expected}"
                        );
                    }
                }
            }
        }
    }
}
