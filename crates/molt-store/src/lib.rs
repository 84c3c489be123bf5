//! Molt's store: the repository traits and the SQLite implementation.
//!
//! Architecture invariant: this is the only crate (with its future dialect
//! siblings) that contains SQL. Everything else speaks [`Database`].

pub mod archive;
pub mod backup;
pub mod error;
pub mod migrations;
pub mod repo;
pub mod reports;
pub mod retention;
pub mod sqlite;

pub use archive::ArchiveStore;
pub use error::{StoreError, StoreResult};
pub use repo::ReportStore;
pub use repo::{
    AlertStore, CacheEntry, Database, KnowledgeStore, LiveJob, LoggedQuery, NewQueryLog, NewToken, OpsStore,
    PipelineStore, PopularSong, QueryEvent, QueryLogEntry, QueryLogStore, Readiness, RunBrief, ScheduleStore,
    SearchStore, SongProgress, SongViews, StageFailure, StageStart, StageSuccess, ViewStore,
};
pub use retention::{PruneCounts, RetentionCutoffs, RetentionStore};
pub use sqlite::{SchemaChange, SqliteStore, StoreOptions};
