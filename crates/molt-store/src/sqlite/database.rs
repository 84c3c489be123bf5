//! `Database` for SQLite: reads go to the pool, writes to the writer thread,
//! both off the async runtime.

use super::{catalog, lyrics, review, tokens, SqliteStore};
use crate::error::StoreResult;
use crate::migrations;
use crate::repo::{Database, NewToken, Readiness};
use async_trait::async_trait;
use molt_core::catalog::{Event, LyricsVersion, NewLyrics, NewSong, Song, SongQuery, TokenInfo};
use molt_core::{SongStatus, Stage};

#[async_trait]
impl Database for SqliteStore {
    async fn readiness(&self) -> StoreResult<Readiness> {
        self.blocking(|s| {
            s.read(|conn| {
                let status = migrations::status(conn)?;
                Ok(Readiness {
                    pending_migrations: status.iter().filter(|m| m.applied_at.is_none()).count(),
                    schema_version: status
                        .iter()
                        .rev()
                        .find(|m| m.applied_at.is_some())
                        .map(|m| m.version.clone()),
                })
            })
        })
        .await
    }

    async fn create_song(&self, song: NewSong, actor: &str) -> StoreResult<Song> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| catalog::create_song(conn, &song, &actor))).await
    }

    async fn find_song_by_audio(&self, sha256: &str) -> StoreResult<Option<Song>> {
        let sha256 = sha256.to_string();
        self.blocking(move |s| s.read(|conn| catalog::find_song_by_audio(conn, &sha256))).await
    }

    async fn get_song(&self, id: i64) -> StoreResult<Option<Song>> {
        self.blocking(move |s| s.read(|conn| catalog::get_song(conn, id))).await
    }

    async fn list_songs(&self, query: SongQuery) -> StoreResult<Vec<Song>> {
        self.blocking(move |s| s.read(|conn| catalog::list_songs(conn, &query))).await
    }

    async fn set_song_status(
        &self,
        id: i64,
        to: SongStatus,
        actor: &str,
        reason: Option<String>,
    ) -> StoreResult<Song> {
        let actor = actor.to_string();
        self.blocking(move |s| {
            s.write(move |conn| catalog::set_song_status(conn, id, to, &actor, reason.as_deref()))
        })
        .await
    }

    async fn song_events(&self, song_id: i64) -> StoreResult<Vec<Event>> {
        self.blocking(move |s| s.read(|conn| catalog::song_events(conn, song_id))).await
    }

    async fn publish_song(&self, id: i64, actor: &str, rights_override: Option<String>) -> StoreResult<Song> {
        let actor = actor.to_string();
        self.blocking(move |s| {
            s.write(move |conn| review::publish(conn, id, &actor, rights_override.as_deref()))
        })
        .await
    }

    async fn reject_song(
        &self,
        id: i64,
        actor: &str,
        reason: String,
        stage: Option<Stage>,
    ) -> StoreResult<Song> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| review::reject(conn, id, &actor, &reason, stage))).await
    }

    async fn set_song_rights(&self, id: i64, rights: &'static str, actor: &str) -> StoreResult<Song> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| review::set_rights(conn, id, rights, &actor))).await
    }

    async fn add_lyrics(&self, song_id: i64, new: NewLyrics, actor: &str) -> StoreResult<LyricsVersion> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| lyrics::add(conn, song_id, &new, &actor))).await
    }

    async fn lyrics(&self, song_id: i64, version: Option<u32>) -> StoreResult<Option<LyricsVersion>> {
        self.blocking(move |s| s.read(|conn| lyrics::get(conn, song_id, version))).await
    }

    async fn lyrics_versions(&self, song_id: i64) -> StoreResult<Vec<LyricsVersion>> {
        self.blocking(move |s| s.read(|conn| lyrics::list(conn, song_id))).await
    }

    async fn create_token(&self, token: NewToken, actor: &str) -> StoreResult<TokenInfo> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| tokens::create(conn, &token, &actor))).await
    }

    async fn authenticate_token(&self, sha256: &str) -> StoreResult<Option<TokenInfo>> {
        let sha256 = sha256.to_string();
        self.blocking(move |s| {
            let found = s.read(|conn| tokens::find_active(conn, &sha256))?;
            if let Some(token) = found.as_ref().filter(|t| tokens::touch_is_due(t)) {
                let id = token.id;
                s.write(move |conn| tokens::touch(conn, id))?;
            }
            Ok(found)
        })
        .await
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        self.blocking(|s| s.read(tokens::list)).await
    }

    async fn revoke_token(&self, id: i64, actor: &str) -> StoreResult<TokenInfo> {
        let actor = actor.to_string();
        self.blocking(move |s| s.write(move |conn| tokens::revoke(conn, id, &actor))).await
    }
}
