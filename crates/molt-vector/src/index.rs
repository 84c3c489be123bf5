//! The nearest-neighbour index contract. Vectors are unit length, so the score
//! is the cosine similarity (the dot product), higher is nearer.

/// One result: the caller's id and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IndexError {
    #[error("vector has {got} dimensions, the index {expected}")]
    Dimension { expected: usize, got: usize },
    #[error("vector has a value that is not a finite number")]
    NotFinite,
    /// A vector of length zero has no direction and cannot be normalised.
    #[error("vector has length zero")]
    ZeroLength,
    /// A stored blob is not `4 × dim` bytes of little-endian `f32`.
    #[error("vector blob has {got} bytes, expected {expected} (4 per dimension)")]
    BlobLength { expected: usize, got: usize },
}

/// A nearest-neighbour index over unit vectors keyed by `i64` ids. Engines
/// (an in-memory scan, binary quantisation, sqlite-vec, pgvector) sit behind it.
pub trait VectorIndex: Send + Sync {
    fn dim(&self) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Adds `vector` under `id`, replacing any vector already there.
    fn insert(&mut self, id: i64, vector: &[f32]) -> Result<(), IndexError>;
    /// Removes `id`; false when it was not there.
    fn remove(&mut self, id: i64) -> bool;
    /// The `k` nearest ids, best first, among those `keep` accepts.
    fn search_where(&self, query: &[f32], k: usize, keep: &dyn Fn(i64) -> bool) -> Vec<Hit>;
    /// The `k` nearest ids, best first.
    fn search(&self, query: &[f32], k: usize) -> Vec<Hit> {
        self.search_where(query, k, &|_| true)
    }
}
