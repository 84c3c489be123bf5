//! `GET /metrics` (Prometheus text format) and the middleware that times
//! every request for it.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The exposition (an operator's token: queue, cost and provider figures are staff data).
pub async fn metrics(State(state): State<AppState>) -> Response {
    let Some(metrics) = state.metrics.clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not collected in this process\n")
            .into_response();
    };
    match tokio::task::spawn_blocking(move || metrics.render()).await {
        Ok(text) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics rendering failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Times the request under its route template and method (an unmatched path
/// is "unmatched", a non-standard method "other", so a scan of random URLs or
/// invented methods cannot create series).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(metrics) = state.metrics.clone() else { return next.run(request).await };
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = method_label(request.method()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe_http(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &axum::http::Method) -> &str {
    match method.as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "CONNECT" | "TRACE") => m,
        _ => "other",
    }
}
