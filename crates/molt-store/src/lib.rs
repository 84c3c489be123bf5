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
    CacheEntry, Database, KnowledgeStore, LiveJob, LoggedQuery, NewQueryLog, NewToken, PipelineStore,
    PopularSong, QueryEvent, QueryLogEntry, QueryLogStore, Readiness, RunBrief, SearchStore, SongProgress,
    SongViews, StageFailure, StageStart, StageSuccess, ViewStore,
};
pub use sqlite::{SchemaChange, SqliteStore, StoreOptions};
