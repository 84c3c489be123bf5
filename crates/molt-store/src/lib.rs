//! Molt's store: the repository traits and the SQLite implementation.
//!
//! Architecture invariant: this is the only crate (with its future dialect
//! siblings) that contains SQL. Everything else speaks [`Database`].

pub mod backup;
pub mod error;
pub mod migrations;
pub mod repo;
pub mod sqlite;

pub use error::{StoreError, StoreResult};
pub use repo::{
    CacheEntry, Database, KnowledgeStore, LoggedQuery, NewQueryLog, NewToken, PipelineStore, QueryEvent,
    QueryLogEntry, QueryLogStore, Readiness, SearchStore, StageFailure, StageStart, StageSuccess,
};
pub use sqlite::{SchemaChange, SqliteStore, StoreOptions};
