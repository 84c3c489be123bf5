//! An embedder loaded on first use. It lives in `molt-vector`, shared with song
//! search; re-exported here for the knowledge base's callers.

pub use molt_vector::LazyEmbedder;
