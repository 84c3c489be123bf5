//! The fast engine: binary quantisation, then exact re-scoring.

use std::collections::BinaryHeap;

use crate::codec::validate;
use crate::flat::{self, BLOCK};
use crate::kernel::Isa;
use crate::rows::{swap_remove_row, Placed, Rows};
use crate::topk::TopK;
use crate::{Hit, IndexError, VectorIndex};

/// Candidates re-scored per result wanted, unless set otherwise. Chosen from
/// the measurements in docs/BENCHMARKS.md ("Vector index"): of the factors
/// measured (2, 5, 10, 20, 40), the smallest whose recall@10 against the exact
/// scan is ≥ 0.99 on embedding-like data at both 20k and 100k vectors (1.000
/// and 0.997; ×10 gave 0.9815 at 100k). Top-10 at 100k: 0.38 ms p50.
pub const DEFAULT_OVERSAMPLE: usize = 20;

/// The candidate pool is sized as if `k` were at least this. Near neighbours
/// can come in tight groups of almost equal cosines (a chorus and its
/// variants), and for k = 1 a pool of `oversample` candidates is too shallow to
/// find the best of a group by its bits. Measured on the embedding-like
/// generator at 100k vectors, oversample 20: recall@1 0.93 without, 1.00 with.
const POOL_MIN_K: usize = 10;

/// Below this many changes since the last centring the centre is not checked
/// (a centre of a handful of vectors says little about the rest anyway).
const MIN_CENTRING_CHANGES: usize = 64;

/// The centre is recomputed when the squared distance between it and the mean
/// of the vectors held exceeds this share of their total variance (the mean
/// squared distance of a vector from the mean): a drift of 3 % of the spread.
/// A stationary stream stops triggering it after a few thousand vectors.
const CENTRE_DRIFT: f64 = 1e-3;

/// Approximate nearest neighbours by binary quantisation with re-scoring.
///
/// Each vector is also kept as one sign bit per dimension (`dim / 64` words,
/// 48 bytes for 384 dimensions). A search ranks all codes by Hamming distance
/// to the query's code (XOR and popcount: 32× less memory to read than the
/// `f32` scan), keeps the best `max(k, 10) × oversample` candidates (by
/// distance, then id), and re-scores only those exactly with the `f32`
/// vectors. Scores returned are exact cosines; what can be missed is a true
/// neighbour whose code ranked below the candidates. That happens mostly deep
/// in a plateau of near-equal cosines (large k on a small collection, or a
/// filter that removed the near neighbours), where the one missed scores within
/// a few thousandths of the one returned in its place.
///
/// Centring. Sentence embeddings share a large common component (unrelated
/// e5 sentences have cosines of 0.75–0.85), so on most dimensions almost every
/// vector has the same sign and the bit says nothing. The index therefore
/// takes signs of `vector − mean`, with the mean of the vectors it holds. A
/// running sum tracks the mean; when it has drifted from the centre in use
/// (by more than 3 % of their spread), the centre is moved and every code
/// re-derived, O(n · dim). That is checked only once the changes since the
/// last centring reach an eighth of the vectors held then, so re-centring
/// costs O(dim) amortised per insert or removal.
///
/// Memory: the `f32` vector, its code and the id maps, ≈ `4 × dim + dim / 8 +
/// 25` bytes a vector.
///
/// A query of the wrong dimension or with a non-finite value finds nothing.
pub struct BinaryIndex {
    rows: Rows,
    /// 64-bit words of sign bits a vector.
    words: usize,
    /// Row-major codes, `words` a row, in the same rows as `rows`.
    codes: Vec<u64>,
    /// Subtracted before taking signs (zeros when not centring).
    centre: Vec<f32>,
    /// The running sum of the vectors held, for the mean, and of their squared
    /// norms, for the variance.
    sum: Vec<f64>,
    sum_squares: f64,
    centring: bool,
    /// Vectors held when the centre was last computed, and changes since.
    centred_len: usize,
    changes: usize,
    oversample: usize,
    isa: Isa,
}

impl BinaryIndex {
    /// An empty, centring index with [`DEFAULT_OVERSAMPLE`]. Panics if `dim` is 0.
    pub fn new(dim: usize) -> BinaryIndex {
        assert!(dim > 0, "a vector index needs at least one dimension");
        BinaryIndex {
            rows: Rows::new(dim),
            words: dim.div_ceil(64),
            codes: Vec::new(),
            centre: vec![0.0; dim],
            sum: vec![0.0; dim],
            sum_squares: 0.0,
            centring: true,
            centred_len: 0,
            changes: 0,
            oversample: DEFAULT_OVERSAMPLE,
            isa: Isa::detect(),
        }
    }

    /// Re-scores `max(k, 10) × oversample` candidates: more is slower and finds
    /// more of the true neighbours.
    pub fn with_oversample(mut self, oversample: usize) -> BinaryIndex {
        self.oversample = oversample.max(1);
        self
    }

    /// Takes signs of the raw vectors instead of `vector − mean`: measured
    /// worse on embeddings; kept for the comparison.
    pub fn without_centring(mut self) -> BinaryIndex {
        self.centring = false;
        self.centre.fill(0.0);
        self.recode();
        self
    }

    /// The same index with the portable (baseline target) loops, for measuring
    /// what runtime CPU-feature dispatch gains.
    #[doc(hidden)]
    pub fn with_portable_kernels(mut self) -> BinaryIndex {
        self.isa = Isa::Portable;
        self
    }

    /// Makes room for `additional` more vectors, e.g. before loading the store.
    pub fn reserve(&mut self, additional: usize) {
        self.rows.reserve(additional);
        self.codes.reserve(additional * self.words);
    }

    pub fn oversample(&self) -> usize {
        self.oversample
    }

    /// Heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.rows.heap_bytes()
            + self.codes.capacity() * size_of::<u64>()
            + self.centre.capacity() * size_of::<f32>()
            + self.sum.capacity() * size_of::<f64>()
    }

    /// Writes the sign bits of `vector − centre` into `code` (`words` long).
    fn encode_into(&self, vector: &[f32], code: &mut [u64]) {
        // Bit j of word w is dimension 64·w + j. Built a word at a time, without
        // branches: this runs for every vector at every re-centring.
        for ((word, xs), cs) in code.iter_mut().zip(vector.chunks(64)).zip(self.centre.chunks(64)) {
            *word = xs.iter().zip(cs).enumerate().fold(0, |w, (j, (x, c))| w | u64::from(x - c > 0.0) << j);
        }
    }

    fn code_of(&self, vector: &[f32]) -> Vec<u64> {
        let mut code = vec![0; self.words];
        self.encode_into(vector, &mut code);
        code
    }

    fn add_to_sum(&mut self, vector: &[f32], sign: f64) {
        for (s, &x) in self.sum.iter_mut().zip(vector) {
            *s += sign * f64::from(x);
            self.sum_squares += sign * f64::from(x) * f64::from(x);
        }
    }

    /// Moves the centre when enough has changed and the mean has drifted.
    fn note_change(&mut self) {
        self.changes += 1;
        let due = self.changes >= (self.centred_len / 8).max(MIN_CENTRING_CHANGES);
        if self.centring && due && self.centre_drifted() {
            self.recentre();
        }
    }

    /// Whether the mean of the vectors held is further from the centre than
    /// `CENTRE_DRIFT` allows.
    fn centre_drifted(&self) -> bool {
        let n = self.rows.len() as f64;
        if n == 0.0 {
            return false;
        }
        let (mut drift, mut mean_squared) = (0.0, 0.0);
        for (s, &c) in self.sum.iter().zip(&self.centre) {
            let mean = s / n;
            drift += (mean - f64::from(c)).powi(2);
            mean_squared += mean * mean;
        }
        let variance = (self.sum_squares / n - mean_squared).max(0.0);
        drift > CENTRE_DRIFT * variance
    }

    fn recentre(&mut self) {
        let n = self.rows.len().max(1) as f64;
        for (c, s) in self.centre.iter_mut().zip(&self.sum) {
            *c = (s / n) as f32;
        }
        self.centred_len = self.rows.len();
        self.changes = 0;
        self.recode();
    }

    /// Re-derives every code from its vector and the current centre.
    fn recode(&mut self) {
        let mut codes = std::mem::take(&mut self.codes);
        for (row, code) in codes.chunks_exact_mut(self.words).enumerate() {
            self.encode_into(self.rows.row(row), code);
        }
        self.codes = codes;
    }

    /// The rows of the best `n` codes for `query` among the ids `keep` accepts,
    /// in no order.
    fn candidates(&self, query: &[f32], n: usize, keep: &dyn Fn(i64) -> bool) -> Vec<usize> {
        let query_code = self.code_of(query);
        // Keys pack (distance, id, row) so that one integer compare orders them by
        // distance, then id: equal codes at the cut are chosen by id, not by row,
        // so the answer depends on what the index holds, not on its history. The
        // max-heap's top is the worst candidate kept.
        let key = |d: u32, row: usize| {
            let id = (self.rows.id(row) as u64 ^ (1 << 63)) as u128; // signed → unsigned order
            (u128::from(d) << 96) | (id << 32) | row as u128
        };
        let mut heap: BinaryHeap<u128> = BinaryHeap::with_capacity(n + 1);
        // The distance of the worst candidate once the pool is full: most rows
        // are further and are skipped on one compare, before any key or filter.
        let mut cutoff = u32::MAX;
        let mut distances = [0u32; BLOCK];
        for (b, block) in self.codes.chunks(BLOCK * self.words).enumerate() {
            let distances = &mut distances[..block.len() / self.words];
            self.isa.hamming_rows(block, &query_code, distances);
            for (i, &d) in distances.iter().enumerate() {
                if d > cutoff {
                    continue;
                }
                let row = b * BLOCK + i;
                let key = key(d, row);
                if heap.len() < n {
                    if keep(self.rows.id(row)) {
                        heap.push(key);
                    }
                } else if let Some(mut worst) = heap.peek_mut() {
                    if key < *worst && keep(self.rows.id(row)) {
                        *worst = key;
                    }
                }
                if heap.len() == n {
                    cutoff = heap.peek().map_or(u32::MAX, |worst| (worst >> 96) as u32);
                }
            }
        }
        heap.into_iter().map(|key| (key & u128::from(u32::MAX)) as usize).collect()
    }
}

impl VectorIndex for BinaryIndex {
    fn dim(&self) -> usize {
        self.rows.dim()
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn insert(&mut self, id: i64, vector: &[f32]) -> Result<(), IndexError> {
        validate(vector, self.rows.dim())?;
        assert!(self.rows.len() < u32::MAX as usize, "row numbers are packed into 32 bits");
        if let Some(row) = self.rows.find(id) {
            let old = self.rows.row(row).to_vec();
            self.add_to_sum(&old, -1.0);
        }
        self.add_to_sum(vector, 1.0);
        let code = self.code_of(vector);
        match self.rows.upsert(id, vector) {
            Placed::New(_) => self.codes.extend_from_slice(&code),
            Placed::Replaced(row) => {
                self.codes[row * self.words..(row + 1) * self.words].copy_from_slice(&code)
            }
        }
        self.note_change();
        Ok(())
    }

    fn remove(&mut self, id: i64) -> bool {
        let Some(row) = self.rows.find(id) else {
            return false;
        };
        let old = self.rows.row(row).to_vec();
        self.add_to_sum(&old, -1.0);
        self.rows.remove(id);
        swap_remove_row(&mut self.codes, self.words, row);
        self.note_change();
        true
    }

    fn search_where(&self, query: &[f32], k: usize, keep: &dyn Fn(i64) -> bool) -> Vec<Hit> {
        if k == 0 || validate(query, self.rows.dim()).is_err() {
            return Vec::new();
        }
        let wanted = k.max(POOL_MIN_K).saturating_mul(self.oversample);
        if wanted >= self.rows.len() {
            // Re-scoring everything: the exact scan is that, minus the codes.
            return flat::scan(&self.rows, self.isa, query, k, keep);
        }
        let mut top = TopK::new(k);
        for row in self.candidates(query, wanted, keep) {
            let score = self.isa.dot(self.rows.row(row), query);
            top.push(Hit { id: self.rows.id(row), score });
        }
        top.into_sorted()
    }
}
