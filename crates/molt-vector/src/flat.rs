//! The exact engine: a scan of every vector.

use crate::codec::validate;
use crate::kernel::Isa;
use crate::rows::Rows;
use crate::topk::TopK;
use crate::{Hit, IndexError, VectorIndex};

/// Rows scored per call of the kernel: big enough to amortise the call, small
/// enough that the scores stay in L1.
pub(crate) const BLOCK: usize = 256;

/// Exact nearest neighbours by scanning all vectors with a SIMD dot product.
///
/// Memory: `4 × dim` bytes a vector plus ≈ 25 bytes for the id maps. Search
/// cost is one pass over all of that memory, so it grows linearly and, past
/// the CPU's caches, is bound by memory bandwidth.
///
/// A query of the wrong dimension or with a non-finite value finds nothing.
pub struct FlatIndex {
    rows: Rows,
    isa: Isa,
}

impl FlatIndex {
    /// An empty index of `dim`-dimensional vectors. Panics if `dim` is 0.
    pub fn new(dim: usize) -> FlatIndex {
        assert!(dim > 0, "a vector index needs at least one dimension");
        FlatIndex { rows: Rows::new(dim), isa: Isa::detect() }
    }

    /// The same index with the portable (baseline target) loops, for measuring
    /// what runtime CPU-feature dispatch gains.
    #[doc(hidden)]
    pub fn with_portable_kernels(mut self) -> FlatIndex {
        self.isa = Isa::Portable;
        self
    }

    /// Makes room for `additional` more vectors, e.g. before loading the store.
    pub fn reserve(&mut self, additional: usize) {
        self.rows.reserve(additional);
    }

    /// Heap bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.rows.heap_bytes()
    }
}

impl VectorIndex for FlatIndex {
    fn dim(&self) -> usize {
        self.rows.dim()
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn insert(&mut self, id: i64, vector: &[f32]) -> Result<(), IndexError> {
        validate(vector, self.rows.dim())?;
        self.rows.upsert(id, vector);
        Ok(())
    }

    fn remove(&mut self, id: i64) -> bool {
        self.rows.remove(id).is_some()
    }

    fn search_where(&self, query: &[f32], k: usize, keep: &dyn Fn(i64) -> bool) -> Vec<Hit> {
        if k == 0 || validate(query, self.rows.dim()).is_err() {
            return Vec::new();
        }
        scan(&self.rows, self.isa, query, k, keep)
    }
}

/// The exact top `k` of `rows` for `query` among the ids `keep` accepts.
pub(crate) fn scan(rows: &Rows, isa: Isa, query: &[f32], k: usize, keep: &dyn Fn(i64) -> bool) -> Vec<Hit> {
    let mut top = TopK::new(k);
    let mut scores = [0.0f32; BLOCK];
    for (b, block) in rows.data().chunks(BLOCK * query.len()).enumerate() {
        let scores = &mut scores[..block.len() / query.len()];
        isa.dot_rows(block, query, scores);
        for (i, &score) in scores.iter().enumerate() {
            // The score first: the filter may be a lookup, and few rows get this far.
            if top.admits(score) {
                let id = rows.id(b * BLOCK + i);
                if keep(id) {
                    top.push(Hit { id, score });
                }
            }
        }
    }
    top.into_sorted()
}
