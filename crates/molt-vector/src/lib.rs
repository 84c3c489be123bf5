//! Vectors: what an embedding model promises ([`Embedder`]) and how vectors are
//! searched ([`VectorIndex`]). Pure Rust and no I/O: the store keeps the vectors,
//! `molt-ml` makes them, and an index is rebuilt from the store at start.
//!
//! # Engines
//!
//! All engines hold unit vectors under `i64` ids and score by the dot product
//! (the cosine). Two live here, in memory:
//!
//! - [`FlatIndex`]: exact. Every vector is scored, with a dot product that the
//!   compiler vectorises (AVX2 when the CPU has it, chosen at run time). Its
//!   cost is one pass over `4 × dim` bytes a vector, which for 100k × 384
//!   (150 MB) is bound by memory bandwidth: ≈ 6 ms a query here.
//! - [`BinaryIndex`]: binary quantisation with re-scoring. One sign bit a
//!   dimension (of the vector minus the mean vector), ranked by Hamming
//!   distance, then the best `max(k, 10) × oversample` candidates scored
//!   exactly. It reads 32× less memory per query (≈ 0.4 ms at 100k) and
//!   returns exact scores; it can miss a neighbour whose bits ranked it too
//!   low (recall@10 is measured: 0.997 at 100k with the default oversample).
//!
//! Both are `Send + Sync`; searches take `&self`, so one index can serve many
//! threads behind an `RwLock` or be swapped whole behind an `Arc`.
//!
//! [`default_index`] says which one Molt uses, and why. sqlite-vec (a `vec0`
//! table in the store's SQLite file) was measured beside them, 55 ms a top-10
//! at 100k, and is kept out of the query path: see docs/BENCHMARKS.md, "Vector
//! index: top-10 nearest neighbours", and `examples/vector_bench.rs`, which
//! measures all of them. A server-side engine (pgvector) can implement
//! [`VectorIndex`] in its own crate.
//!
//! # Storage
//!
//! The store keeps vectors as little-endian `f32` BLOBs ([`encode`],
//! [`decode`]); an index is built by decoding them and calling
//! [`VectorIndex::insert`]. Nothing here normalises implicitly: embedders
//! return unit vectors, and [`normalize`] is there for vectors from elsewhere.

mod binary;
mod codec;
mod embed;
mod flat;
mod index;
mod kernel;
mod lazy;
mod rows;
mod topk;

pub use binary::{BinaryIndex, DEFAULT_OVERSAMPLE};
pub use codec::{decode, encode, normalize, validate};
pub use embed::{EmbedError, Embedder, Role};
pub use flat::FlatIndex;
pub use index::{Hit, IndexError, VectorIndex};
pub use lazy::LazyEmbedder;

/// The reciprocal-rank-fusion constant (Cormack et al., 2009): the `k` in
/// `1 / (k + rank)`. Hybrid searches (the knowledge base, song search) fuse
/// their vector and keyword rankings with it.
pub const RRF_K: f64 = 60.0;

/// The reciprocal-rank-fusion term of a result at `rank` (0 = first) in one
/// ranking: `1 / (RRF_K + rank + 1)`. A result's fused score is the sum over
/// the rankings it appears in.
pub fn rrf_term(rank: usize) -> f64 {
    1.0 / (RRF_K + rank as f64 + 1.0)
}

/// The engine Molt searches with: a [`BinaryIndex`] with
/// [`DEFAULT_OVERSAMPLE`].
///
/// Why (docs/BENCHMARKS.md, "Vector index: top-10 nearest neighbours"): it is
/// the fastest engine measured whose recall@10 against the exact scan is
/// ≥ 0.99, with exact scores for what it returns. Panics if `dim` is 0.
pub fn default_index(dim: usize) -> Box<dyn VectorIndex> {
    Box::new(BinaryIndex::new(dim))
}
