//! Vectors: what an embedding model promises ([`Embedder`]) and how vectors are
//! searched ([`VectorIndex`]). Pure Rust and no I/O: the store keeps the vectors,
//! `molt-ml` makes them, and an index is rebuilt from the store at start.

mod embed;
mod index;

pub use embed::{EmbedError, Embedder, Role};
pub use index::{Hit, IndexError, VectorIndex};
