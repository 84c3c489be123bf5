//! `/api/v1/songs/{id}/lyrics`: export in any format, import a new version.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use molt_catalog::lyrics::{self, LyricsError};
use molt_core::catalog::LyricsVersion;
use molt_core::{Permission, SongStatus};
use serde::Deserialize;

impl From<LyricsError> for ApiError {
    fn from(e: LyricsError) -> Self {
        let status = match &e {
            LyricsError::NoLyrics(_) | LyricsError::NoVersion { .. } => StatusCode::NOT_FOUND,
            LyricsError::Format(_) => StatusCode::BAD_REQUEST,
            LyricsError::Parse(_) => StatusCode::UNPROCESSABLE_ENTITY,
            LyricsError::Store(inner) => return inner.clone().into(),
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportParams {
    /// lrc, elrc, srt, vtt, ttml, txt or json (default lrc).
    format: Option<String>,
    /// A given version (default: the newest).
    version: Option<u32>,
}

/// A song's lyrics in a lyrics or subtitle format, for premium and staff callers
/// (anonymous and free callers get snippets in search). Unpublished songs are visible to staff only.
#[utoipa::path(get, path = "/api/v1/songs/{id}/lyrics", params(("id" = i64, Path, description = "song id"), ExportParams),
    responses((status = 200, description = "the document", content_type = "text/plain"),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn export_lyrics(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let song = state.db.get_song(id).await?.ok_or_else(|| ApiError::not_found("song"))?;
    if song.status != SongStatus::Published && !caller.role.allows(Permission::SongReadAll) {
        return Err(ApiError::not_found("song"));
    }
    // Full and synced lyrics are for premium learners and staff; others get snippets in search.
    caller.check(Permission::LyricsFull)?;
    let format = lyrics::parse_format(params.format.as_deref().unwrap_or("lrc"))?;
    let document = lyrics::export(state.db.as_ref(), id, params.version, format).await?;
    state.count_view(&caller, id);
    Ok(([(header::CONTENT_TYPE, lyrics::content_type(format))], document))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportParams {
    /// lrc, srt or txt.
    format: String,
}

/// Add lyrics (the request body, an LRC, SRT or plain-text document) as a new version.
#[utoipa::path(post, path = "/api/v1/songs/{id}/lyrics", params(("id" = i64, Path, description = "song id"), ImportParams),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 201, body = LyricsVersion), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_lyrics(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<LyricsVersion>), ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let format = lyrics::parse_format(&params.format)?;
    let version = lyrics::import(state.db.as_ref(), id, &body, format, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(version)))
}
