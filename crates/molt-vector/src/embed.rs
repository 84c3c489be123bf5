//! The contract of a sentence-embedding model.

/// What a text is, for models (like e5) trained with different prefixes for
/// the two sides of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Something searched for ("query: " in e5).
    Query,
    /// Something stored and searched in ("passage: " in e5).
    Passage,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model file is missing, unreadable or not in the expected format.
    #[error("embedding model: {0}")]
    Model(String),
    /// The text cannot be embedded (e.g. empty after normalisation).
    #[error("cannot embed: {0}")]
    Input(String),
    /// The computation failed.
    #[error("embedding failed: {0}")]
    Compute(String),
}

/// A sentence-embedding model.
pub trait Embedder: Send + Sync {
    /// The model and its preprocessing, e.g. `multilingual-e5-small-q4`. It is
    /// stored with every vector, so vectors from another model are never mixed in.
    fn model_id(&self) -> &str;
    /// The length of every vector.
    fn dim(&self) -> usize;
    /// One unit-length (L2-normalised) vector per text, in order. Deterministic:
    /// the same text and role give the same vector, whatever the batch.
    fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EmbedError>;
}
