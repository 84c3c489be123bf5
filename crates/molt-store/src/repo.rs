//! The repository interface every store implements. Callers hold an
//! `Arc<dyn Database>` and never see SQL, so PostgreSQL can be added as its own
//! crate without touching them (atuin's pattern).

use crate::error::StoreResult;
use async_trait::async_trait;
use molt_core::catalog::{Event, NewSong, Song, SongQuery, TokenInfo};
use molt_core::{Role, SongStatus};
use serde::Serialize;

/// What `/ready` needs to know.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub pending_migrations: usize,
    pub schema_version: Option<String>,
}

/// A token to store: only its hash and a recognisable prefix.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub sha256: String,
}

#[async_trait]
pub trait Database: Send + Sync {
    /// The store answers and its schema is current.
    async fn readiness(&self) -> StoreResult<Readiness>;

    /// Create a PENDING song with its audio asset and artist, recording an event.
    /// The same audio twice is `StoreError::DuplicateAudio`.
    async fn create_song(&self, song: NewSong, actor: &str) -> StoreResult<Song>;
    async fn find_song_by_audio(&self, sha256: &str) -> StoreResult<Option<Song>>;
    async fn get_song(&self, id: i64) -> StoreResult<Option<Song>>;
    async fn list_songs(&self, query: SongQuery) -> StoreResult<Vec<Song>>;
    /// The one way a song's status changes: checked against the lifecycle and recorded as an event.
    async fn set_song_status(
        &self,
        id: i64,
        to: SongStatus,
        actor: &str,
        reason: Option<String>,
    ) -> StoreResult<Song>;
    async fn song_events(&self, song_id: i64) -> StoreResult<Vec<Event>>;

    async fn create_token(&self, token: NewToken, actor: &str) -> StoreResult<TokenInfo>;
    /// An active (not revoked) token by the hash of its secret; marks it used.
    async fn authenticate_token(&self, sha256: &str) -> StoreResult<Option<TokenInfo>>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    async fn revoke_token(&self, id: i64, actor: &str) -> StoreResult<TokenInfo>;
}
