//! The Historian's knowledge base.
//!
//! Documents (Markdown or text, with a small front matter naming the entity
//! they are about) are checked ([`document`]), cut into passages ([`chunk`]),
//! normalised and segmented ([`text`]), embedded with the local model, and
//! stored through [`molt_store::KnowledgeStore`]. Search fuses three rankings
//! of documents with reciprocal-rank fusion: nearest passages by embedding,
//! Khmer-aware keyword overlap, and name/alias matches.

pub mod chunk;
pub mod document;
pub mod historian;
pub mod knowledge;
pub mod search;
pub mod starter;
pub mod text;

pub use knowledge::{Added, KbError, KnowledgeBase};
pub use search::{DocumentHit, Snapshot};
