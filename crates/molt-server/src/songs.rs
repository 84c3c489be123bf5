//! `/api/v1/songs`: list, show and upload songs.

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put, MethodRouter};
use axum::{Extension, Json, Router};
use molt_catalog::StagedAudio;
use molt_core::catalog::{Song, SongQuery};
use molt_core::validate::{check_upload_name, SongInput};
use molt_core::{Permission, SongStatus};
use serde::{Deserialize, Serialize};

/// Most songs one page may hold for staff callers.
const MAX_PAGE: u32 = 200;
/// A metadata field larger than this is refused before it is buffered.
const MAX_TEXT_FIELD_BYTES: usize = 8 * 1024;

pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit =
        usize::try_from(state.config.audio.max_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    Router::new()
        .route(
            "/songs",
            guarded(Permission::SongReadPublished, get(list_songs)).merge(guarded(
                Permission::SongCreate,
                post(create_song).layer(DefaultBodyLimit::max(upload_limit)),
            )),
        )
        .route("/songs/{id}", guarded(Permission::SongReadPublished, get(get_song)))
        .route("/songs/{id}/status", guarded(Permission::SongReadPublished, get(crate::status::song_status)))
        .route(
            "/songs/{id}/lyrics",
            guarded(Permission::SongReadPublished, get(crate::lyrics::export_lyrics))
                .merge(guarded(Permission::LyricsReview, post(crate::lyrics::import_lyrics))),
        )
        .route("/search", guarded(Permission::SongReadPublished, get(crate::search::search)))
        .route("/status", guarded(Permission::OpsRead, get(crate::ops::system_status)))
        .route("/kpis", guarded(Permission::OpsRead, get(crate::ops::kpis)))
        .route("/review", guarded(Permission::LyricsReview, get(crate::review::review_queue)))
        .route("/songs/{id}/approve", guarded(Permission::LyricsReview, post(crate::review::approve)))
        .route("/songs/{id}/reject", guarded(Permission::LyricsReview, post(crate::review::reject)))
        .route("/songs/{id}/rights", guarded(Permission::SongPublish, put(crate::review::set_rights)))
}

/// Attach the permission a route needs; checked before the handler runs.
pub(crate) fn guarded(permission: Permission, method: MethodRouter<AppState>) -> MethodRouter<AppState> {
    method
        .route_layer(axum::middleware::from_fn(move |request, next| auth::require(permission, request, next)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only songs in this status (staff only; others see published songs).
    status: Option<String>,
    /// Return songs with ids above this (from `next_after` of the previous page).
    after: Option<i64>,
    /// Page size.
    limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SongPage {
    songs: Vec<Song>,
    /// Pass as `after` to get the next page; absent on the last page.
    next_after: Option<i64>,
}

/// List songs. Anonymous callers see published songs only, in small pages.
#[utoipa::path(get, path = "/api/v1/songs", params(ListParams),
    responses((status = 200, body = SongPage), (status = 400, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn list_songs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<SongPage>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let staff = caller.role.allows(Permission::SongReadAll);
    let status = match (&params.status, staff) {
        (_, false) => Some(SongStatus::Published),
        (Some(s), true) => Some(s.parse().map_err(|e: String| ApiError::bad_request("invalid_status", e))?),
        (None, true) => None,
    };
    let cap = if staff { MAX_PAGE } else { state.config.server.anonymous_page_limit };
    let limit = params.limit.unwrap_or(50).clamp(1, cap);
    let songs = state.db.list_songs(SongQuery { status, after_id: params.after, limit }).await?;
    let next_after = (songs.len() as u32 == limit).then(|| songs.last().map(|s| s.id)).flatten();
    Ok(Json(SongPage { songs, next_after }))
}

/// One song. Songs that are not published are visible to staff only.
#[utoipa::path(get, path = "/api/v1/songs/{id}", params(("id" = i64, Path, description = "song id")),
    responses((status = 200, body = Song), (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn get_song(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
) -> Result<Json<Song>, ApiError> {
    let song = state.db.get_song(id).await?.ok_or_else(|| ApiError::not_found("song"))?;
    if song.status != SongStatus::Published && !caller.role.allows(Permission::SongReadAll) {
        return Err(ApiError::not_found("song"));
    }
    state.count_view(&caller, song.id);
    Ok(Json(song))
}

/// The multipart form of an upload (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    title: String,
    artist: String,
    title_latin: Option<String>,
    year: Option<String>,
    album: Option<String>,
    composer: Option<String>,
    lyricist: Option<String>,
    isrc: Option<String>,
    language: Option<String>,
    /// The audio file: WAV, MP3, FLAC, Ogg Vorbis or M4A. Its content decides, not its name.
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
}

/// Upload a song: metadata fields and one `audio` file, as multipart/form-data.
#[utoipa::path(post, path = "/api/v1/songs",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Song), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 415, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_song(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Song>), ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError::bad_request("expected_multipart", e.body_text()))?;
    let mut input = SongInput::default();
    let mut audio: Option<StagedAudio> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "audio" {
            if audio.is_some() {
                return Err(ApiError::bad_request("duplicate_field", "send exactly one `audio` file"));
            }
            let name = field.file_name().unwrap_or_default().to_string();
            check_upload_name(&name)?;
            let mut staged = receive_audio(&state, field).await?;
            staged.claim_name(&name);
            audio = Some(staged);
            continue;
        }
        let slot = text_slot(&mut input, &name)
            .ok_or_else(|| ApiError::bad_request("unknown_field", format!("unknown form field `{name}`")))?;
        *slot = Some(receive_text(&name, field).await?);
    }
    let audio = audio.ok_or_else(|| {
        ApiError::bad_request("missing_field", "audio is required: attach the file as `audio`")
    })?;
    let song = state.catalog.add_song(input, audio, &caller.actor).await?;
    Ok((StatusCode::CREATED, Json(song)))
}

fn text_slot<'a>(input: &'a mut SongInput, name: &str) -> Option<&'a mut Option<String>> {
    Some(match name {
        "title" => &mut input.title,
        "title_latin" => &mut input.title_latin,
        "artist" => &mut input.artist,
        "year" => &mut input.year,
        "album" => &mut input.album,
        "composer" => &mut input.composer,
        "lyricist" => &mut input.lyricist,
        "isrc" => &mut input.isrc,
        "language" => &mut input.language,
        _ => return None,
    })
}

async fn receive_text(
    name: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_FIELD_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "field_too_large",
                format!("field `{name}` is over {MAX_TEXT_FIELD_BYTES} bytes"),
            ));
        }
    }
    String::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_utf8",
            format!(
                "field `{name}` is not valid UTF-8 (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

async fn receive_audio(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<StagedAudio, ApiError> {
    let mut staged =
        state.catalog.stage().map_err(|e| ApiError::internal("could not stage the upload", e))?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        staged.write_chunk(&chunk)?;
    }
    Ok(staged)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "audio_too_large" } else { "bad_multipart" };
    ApiError::new(status, code, e.body_text())
}

impl From<molt_core::ValidationError> for ApiError {
    fn from(e: molt_core::ValidationError) -> Self {
        ApiError::bad_request(e.code, e.to_string())
    }
}
