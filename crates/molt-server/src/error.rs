//! Every error leaves as `{"error":{"code","message"}}` with a fitting status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use molt_catalog::IngestError;
use molt_media::AudioError;
use molt_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }
    /// Internal failures are logged in full but described vaguely to the caller.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("{context}; see the server log"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Locked { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_locked", e.to_string())
            }
            StoreError::NotFound { what, .. } => ApiError::not_found(what),
            StoreError::InvalidState(m) => ApiError::new(StatusCode::CONFLICT, "invalid_state", m),
            other => ApiError::internal("the store failed", other),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        let code = e.code();
        let status = match &e {
            IngestError::Invalid(_) => StatusCode::BAD_REQUEST,
            IngestError::Duplicate { .. } => StatusCode::CONFLICT,
            IngestError::Audio(AudioError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::Audio(AudioError::UnrecognisedFormat { .. } | AudioError::TypeMismatch { .. }) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::Audio(AudioError::Io(_)) => {
                return ApiError::internal("could not read the upload", e)
            }
            IngestError::Audio(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::Store(inner) => return inner.clone().into(),
            IngestError::Io(_) => return ApiError::internal("could not store the upload", e),
        };
        ApiError::new(status, code, e.to_string())
    }
}
