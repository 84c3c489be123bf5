//! `/api/v1/status`: the health monitor's status report (SOP Workflow 2), and
//! `/api/v1/kpis`: the SOP's KPIs against their targets.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use molt_ops::kpi::{KpiReport, KpiSettings, Window};
use molt_ops::monitor::StatusReport;
use serde::Deserialize;

/// The newest status report: the SOP's fields (`timestamp`, `status`,
/// `songs_processing`, `songs_completed_today`, `queue_depth`, `cost_24h`,
/// `alerts`) and the checks behind them. Written by the monitor every 60 s;
/// 503 until the first check.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "operations",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The newest status report", body = StatusReport),
        (status = 401, description = "No or an unknown token"),
        (status = 403, description = "The caller's role may not read operations figures"),
        (status = 503, description = "No status report yet (the monitor has not run)"),
    )
)]
pub async fn system_status(State(state): State<AppState>) -> Result<Json<StatusReport>, ApiError> {
    let Some(monitor) = state.monitor.clone() else {
        return Err(unavailable("the health monitor does not run in this process"));
    };
    let latest = tokio::task::spawn_blocking(move || monitor.latest())
        .await
        .map_err(|e| ApiError::internal("status report not read", e))?;
    latest.map(Json).ok_or_else(|| unavailable("no status report yet: the monitor has not run"))
}

fn unavailable(message: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_status", message)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KpiParams {
    /// `24h` (default), `7d` or `30d`: the window that ends now.
    window: Option<String>,
}

/// The six KPIs over a window, each with its value (none without data), target
/// and status: green, amber (missed by at most 10 % of the target), red, or no_data.
#[utoipa::path(
    get,
    path = "/api/v1/kpis",
    tag = "operations",
    params(KpiParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The KPIs", body = KpiReport),
        (status = 400, description = "An unknown window"),
        (status = 401, description = "No or an unknown token"),
        (status = 403, description = "The caller's role may not read operations figures"),
    )
)]
pub async fn kpis(
    State(state): State<AppState>,
    Query(params): Query<KpiParams>,
) -> Result<Json<KpiReport>, ApiError> {
    let text = params.window.as_deref().unwrap_or("24h");
    let window = Window::parse(text).ok_or_else(|| {
        ApiError::bad_request("invalid_window", format!("unknown window {text:?}: use 24h, 7d or 30d"))
    })?;
    let settings = KpiSettings::from_config(&state.config.monitor);
    let Some(store) = state.reports.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_reports",
            "KPIs are not computed here",
        ));
    };
    let report = tokio::task::spawn_blocking(move || {
        molt_ops::kpi::kpis_now(store.as_ref(), &molt_ops::SystemClock, window, &settings)
    })
    .await
    .map_err(|e| ApiError::internal("KPIs not computed", e))??;
    Ok(Json(report))
}
