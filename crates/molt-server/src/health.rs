//! Liveness and readiness for load balancers and the operator.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/ready", get(ready))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    status: &'static str,
    version: &'static str,
}

/// The process is alive.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ready {
    status: &'static str,
    store: &'static str,
    schema_version: Option<String>,
    pending_migrations: usize,
}

/// The store answers and its schema is current.
#[utoipa::path(get, path = "/ready", responses((status = 200, body = Ready), (status = 503, body = Ready)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Ready>) {
    match state.db.readiness().await {
        Ok(r) if r.pending_migrations == 0 => (
            StatusCode::OK,
            Json(Ready {
                status: "ready",
                store: "ok",
                schema_version: r.schema_version,
                pending_migrations: 0,
            }),
        ),
        Ok(r) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Ready {
                status: "not_ready",
                store: "ok",
                schema_version: r.schema_version,
                pending_migrations: r.pending_migrations,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Ready {
                    status: "not_ready",
                    store: "unreachable",
                    schema_version: None,
                    pending_migrations: 0,
                }),
            )
        }
    }
}
