//! `GET /api/v1/songs/{id}/status`: "where is my song?". The answer and who
//! may see it are `molt_search::status`'s; this reads the id and the caller.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use molt_search::status::{self, SongStatusAnswer, StatusError};
use molt_search::Tier;

/// A song's status, stage, progress ("2 of 4 stages done"), its job (attempt,
/// jobs ahead in the queue), why it failed, and an ETA that says how it was
/// derived (`eta.basis`: `history`, `defaults` or `mixed`). Staff see every
/// song; everyone else sees published songs only: any other song is 404.
/// The id may be written with Khmer digits.
#[utoipa::path(get, path = "/api/v1/songs/{id}/status",
    params(("id" = String, Path, description = "song id (ASCII or Khmer digits)")),
    responses((status = 200, body = SongStatusAnswer), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn song_status(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<SongStatusAnswer>, ApiError> {
    let id = status::parse_song_id(&id).ok_or_else(|| {
        ApiError::bad_request("invalid_song_id", format!("`{id}` is not a song id: expected a whole number"))
    })?;
    let tier = Tier::of_role(caller.role);
    let store = state.pipeline.clone();
    let answer = tokio::task::spawn_blocking(move || status::song_status(store.as_ref(), tier, id))
        .await
        .map_err(|e| ApiError::internal("the status task failed", e))?;
    match answer {
        Ok(answer) => Ok(Json(answer)),
        Err(StatusError::NotFound(_)) => Err(ApiError::not_found("song")),
        Err(StatusError::Store(e)) => Err(e.into()),
    }
}
