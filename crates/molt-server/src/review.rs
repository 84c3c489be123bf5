//! Human review over HTTP: the queue, approve (with the rights gate), reject,
//! and rights changes. Editing lyrics is `POST /songs/{id}/lyrics`. Role rules
//! live in `molt_catalog::review`; these handlers only translate.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use molt_catalog::review::{self, ReviewError};
use molt_core::catalog::Song;
use molt_core::Stage;
use serde::Deserialize;

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        let status = match &e {
            ReviewError::NotFound(_) => StatusCode::NOT_FOUND,
            ReviewError::Forbidden(_) => StatusCode::FORBIDDEN,
            ReviewError::Conflict(_) => StatusCode::CONFLICT,
            ReviewError::Invalid(_) => StatusCode::BAD_REQUEST,
            ReviewError::Store(_) => return ApiError::internal("the review failed", e),
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    json.map(|Json(v)| v).map_err(|e| ApiError::bad_request("invalid_body", e.body_text()))
}

/// Songs waiting for a person (NEEDS_HUMAN_REVIEW first, then REVIEW), with
/// each stage's quality, the critic's findings and flags.
#[utoipa::path(get, path = "/api/v1/review", responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn review_queue(State(state): State<AppState>) -> Result<Json<Vec<review::ReviewItem>>, ApiError> {
    Ok(Json(review::queue(state.db.as_ref(), state.pipeline.as_ref()).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Why a protected or unknown-rights work may be published anyway (operator or admin).
    pub override_rights: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/songs/{id}/approve", params(("id" = i64, Path, description = "song id")),
    request_body(content = ApproveBody, content_type = "application/json"),
    responses((status = 200, body = Song), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    json: Result<Json<ApproveBody>, JsonRejection>,
) -> Result<Json<Song>, ApiError> {
    let ApproveBody { override_rights } = body(json)?;
    let song = review::approve(state.db.as_ref(), id, &caller.actor, caller.role, override_rights.as_deref())
        .await?;
    Ok(Json(song))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    pub reason: String,
    /// Send the song back to this stage (transcribe, context, critique, art); absent: FAILED.
    pub to_stage: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/songs/{id}/reject", params(("id" = i64, Path, description = "song id")),
    request_body(content = RejectBody, content_type = "application/json"),
    responses((status = 200, body = Song), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    json: Result<Json<RejectBody>, JsonRejection>,
) -> Result<Json<Song>, ApiError> {
    let RejectBody { reason, to_stage } = body(json)?;
    let stage = to_stage
        .map(|s| s.parse::<Stage>())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_stage", e))?;
    Ok(Json(review::reject(state.db.as_ref(), id, &caller.actor, caller.role, &reason, stage).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsBody {
    /// unknown, family_held, protected, public_domain or licensed.
    pub rights: String,
}

#[utoipa::path(put, path = "/api/v1/songs/{id}/rights", params(("id" = i64, Path, description = "song id")),
    request_body(content = RightsBody, content_type = "application/json"),
    responses((status = 200, body = Song), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_rights(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<i64>,
    json: Result<Json<RightsBody>, JsonRejection>,
) -> Result<Json<Song>, ApiError> {
    let RightsBody { rights } = body(json)?;
    Ok(Json(review::set_rights(state.db.as_ref(), id, &caller.actor, caller.role, &rights).await?))
}
