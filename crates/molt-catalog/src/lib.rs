//! The catalogue's application services. The CLI and the HTTP API both call
//! these, so every business rule (validation, content addressing, duplicate
//! detection, token handling) lives here and not in a handler.

pub mod archive;
mod ingest;
pub mod lyrics;
pub mod review;
mod tokens;

pub use archive::{ArchiveError, ArchiveReport, Archiver};
pub use ingest::{Catalog, IngestError, StagedAudio};
pub use tokens::{hash_token, issue_token, IssuedToken};
