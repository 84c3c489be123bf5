//! The inner loops: dot products over rows of `f32` and Hamming distances over
//! rows of sign bits.
//!
//! Each loop is written once, in portable Rust shaped so that LLVM vectorises
//! it (independent accumulators over fixed-size chunks), and compiled twice on
//! x86-64: for the baseline target (SSE2, no `popcnt`) and, inlined into a
//! `#[target_feature]` wrapper, for AVX2 + `popcnt`. The CPU is asked once, when
//! an index is made ([`Isa::detect`]). The two versions do the same
//! arithmetic in the same order (no fused multiply-add), so scores are
//! bit-identical whichever runs.

/// How many `f32` accumulators a dot product keeps: two 256-bit (or four
/// 128-bit) registers. Measured on 384 dimensions (rows in L2, ns a row):
/// 16 with a sequential final sum 32 (AVX2) / 64 (SSE2); 32 lanes 42 / 64;
/// 32 lanes with a pairwise final sum 86 / 102, because LLVM then vectorises
/// only two lanes at a time; hand-written AVX2 intrinsics 29, not worth the
/// `unsafe`. Past the caches all of them wait on memory (≈ 17–27 GB/s here).
const LANES: usize = 16;

/// Which compiled version of the loops to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// The baseline target: whatever the compiler may assume everywhere.
    Portable,
    /// x86-64 with AVX2 and `popcnt`, checked at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best version this CPU runs.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("popcnt") {
            return Isa::Avx2;
        }
        Isa::Portable
    }

    /// `out[r]` = the dot product of `query` with row `r` of `rows` (row-major,
    /// `query.len()` values a row).
    pub fn dot_rows(self, rows: &[f32], query: &[f32], out: &mut [f32]) {
        match self {
            Isa::Portable => dot_rows(rows, query, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only made by `detect`, after the CPU said it has
            // AVX2 and popcnt.
            Isa::Avx2 => unsafe { x86::dot_rows_avx2(rows, query, out) },
        }
    }

    /// The dot product of `a` and `b` (same length).
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let mut out = [0.0];
        self.dot_rows(a, b, &mut out);
        out[0]
    }

    /// `out[r]` = the Hamming distance between `query` and row `r` of `codes`
    /// (row-major, `query.len()` words a row).
    pub fn hamming_rows(self, codes: &[u64], query: &[u64], out: &mut [u32]) {
        match self {
            Isa::Portable => hamming_rows(codes, query, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as in `dot_rows`.
            Isa::Avx2 => unsafe { x86::hamming_rows_avx2(codes, query, out) },
        }
    }
}

#[inline(always)]
fn dot_rows(rows: &[f32], query: &[f32], out: &mut [f32]) {
    debug_assert_eq!(rows.len(), query.len() * out.len());
    if query.is_empty() {
        out.fill(0.0);
        return;
    }
    for (row, score) in rows.chunks_exact(query.len()).zip(out.iter_mut()) {
        *score = dot(row, query);
    }
}

/// A dot product with `LANES` independent partial sums. A plain `zip().sum()`
/// is one serial chain of adds, which LLVM may not reorder (float addition is
/// not associative), so it would not vectorise. Each lane's sum and the final
/// sum run in a fixed order, so every compiled version gives the same bits.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    // Sequential on purpose: a pairwise tree here makes LLVM split the main
    // loop into 2-lane vectors (see LANES).
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn hamming_rows(codes: &[u64], query: &[u64], out: &mut [u32]) {
    debug_assert_eq!(codes.len(), query.len() * out.len());
    match query.len() {
        // 384 dimensions (e5-small, MiniLM): the loop over words unrolls fully.
        6 => hamming_rows_fixed::<6>(codes, query, out),
        // 768 (e5-base, BERT-base).
        12 => hamming_rows_fixed::<12>(codes, query, out),
        0 => out.fill(0),
        words => {
            for (row, d) in codes.chunks_exact(words).zip(out.iter_mut()) {
                *d = row.iter().zip(query).map(|(a, b)| (a ^ b).count_ones()).sum();
            }
        }
    }
}

#[inline(always)]
fn hamming_rows_fixed<const W: usize>(codes: &[u64], query: &[u64], out: &mut [u32]) {
    let query: &[u64; W] = query.try_into().expect("query has W words");
    for (row, d) in codes.chunks_exact(W).zip(out.iter_mut()) {
        let row: &[u64; W] = row.try_into().expect("chunks_exact gives W words");
        *d = (0..W).map(|i| (row[i] ^ query[i]).count_ones()).sum();
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The same loops, compiled with AVX2 and popcnt enabled.

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn dot_rows_avx2(rows: &[f32], query: &[f32], out: &mut [f32]) {
        super::dot_rows(rows, query, out)
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn hamming_rows_avx2(codes: &[u64], query: &[u64], out: &mut [u32]) {
        super::hamming_rows(codes, query, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_isas() -> Vec<Isa> {
        let mut isas = vec![Isa::Portable];
        if Isa::detect() != Isa::Portable {
            isas.push(Isa::detect());
        }
        isas
    }

    /// Deterministic pseudo-random values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    #[test]
    fn dot_matches_f64_reference_for_every_length() {
        for dim in [0, 1, 7, 31, 32, 33, 64, 100, 384, 385] {
            let (a, b) = (values(dim, 1), values(dim, 2));
            let want: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            for isa in all_isas() {
                let got = isa.dot(&a, &b);
                assert!((f64::from(got) - want).abs() < 1e-4, "{isa:?} dim {dim}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn every_isa_gives_bit_identical_scores() {
        let dim = 384;
        let rows = values(dim * 50, 3);
        let query = values(dim, 4);
        let mut want = vec![0.0; 50];
        Isa::Portable.dot_rows(&rows, &query, &mut want);
        for isa in all_isas() {
            let mut got = vec![0.0; 50];
            isa.dot_rows(&rows, &query, &mut got);
            assert_eq!(got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), {
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            });
        }
    }

    #[test]
    fn hamming_counts_differing_bits_for_every_width() {
        for words in [1, 2, 5, 6, 7, 12] {
            let query: Vec<u64> = (0..words as u64).map(|i| i.wrapping_mul(0x0123_4567_89AB_CDEF)).collect();
            let mut codes = query.clone(); // distance 0
            codes.extend(query.iter().map(|w| !w)); // distance 64 × words
            codes.extend(query.iter().enumerate().map(|(i, w)| if i == 0 { w ^ 0b1011 } else { *w }));
            for isa in all_isas() {
                let mut out = vec![u32::MAX; 3];
                isa.hamming_rows(&codes, &query, &mut out);
                assert_eq!(out, vec![0, 64 * words as u32, 3], "{isa:?}, {words} words");
            }
        }
    }
}
