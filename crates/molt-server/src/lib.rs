//! Molt's inbound interfaces. For now: the HTTP API under `/api/v1`, its
//! OpenAPI document, and health endpoints. Handlers only translate HTTP to
//! calls on the application services (`molt-catalog`); no rule lives here.

mod auth;
mod error;
mod health;
mod lyrics;
mod metrics;
mod openapi;
mod ops;
mod request_id;
mod review;
mod search;
mod songs;
mod status;

use axum::Router;
use molt_catalog::Catalog;
use molt_core::Config;
use molt_store::{Database, PipelineStore};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::Caller;
pub use error::ApiError;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<dyn Database>,
    /// The pipeline's records (stage outputs, for the review queue).
    pub pipeline: Arc<dyn PipelineStore>,
    pub catalog: Catalog,
    pub config: Arc<Config>,
    /// Song search (`/api/v1/search`); without it that route answers 503.
    pub search: Option<Arc<molt_search::SearchService>>,
    /// Where learners' and fans' song views are counted (None: not counted).
    pub views: Option<Arc<molt_search::ViewCounter>>,
    /// The health monitor (`/api/v1/status`); without it that route answers 503.
    pub monitor: Option<Arc<molt_ops::monitor::Monitor>>,
    /// What KPIs and reports are computed from (`/api/v1/kpis`).
    /// Without it that route answers 503.
    pub reports: Option<Arc<dyn molt_store::ReportStore>>,
    /// Prometheus metrics (`/metrics`, and the request timing behind it).
    pub metrics: Option<Arc<molt_ops::metrics::Metrics>>,
}

impl AppState {
    pub fn new(db: Arc<dyn Database>, pipeline: Arc<dyn PipelineStore>, config: Config) -> AppState {
        let catalog = Catalog::new(db.clone(), &config);
        AppState {
            db,
            pipeline,
            catalog,
            config: Arc::new(config),
            search: None,
            views: None,
            monitor: None,
            metrics: None,
            reports: None,
        }
    }

    /// The same state, with song search.
    pub fn with_search(mut self, search: Arc<molt_search::SearchService>) -> AppState {
        self.search = Some(search);
        self
    }

    /// The same state, serving the status reports of `monitor`.
    pub fn with_monitor(mut self, monitor: Arc<molt_ops::monitor::Monitor>) -> AppState {
        self.monitor = Some(monitor);
        self
    }

    /// The same state, exposing `metrics` at `/metrics` and timing every request into it.
    pub fn with_metrics(mut self, metrics: Arc<molt_ops::metrics::Metrics>) -> AppState {
        self.metrics = Some(metrics);
        self
    }

    /// The same state, computing KPIs from `reports`.
    pub fn with_reports(mut self, reports: Arc<dyn molt_store::ReportStore>) -> AppState {
        self.reports = Some(reports);
        self
    }

    /// The same state, counting song views in `views`.
    pub fn with_views(mut self, views: Arc<molt_search::ViewCounter>) -> AppState {
        self.views = Some(views);
        self
    }

    /// Counts a view of a song a caller just read: learners and fans only
    /// (staff reads are work, not interest), published songs only.
    pub(crate) fn count_view(&self, caller: &auth::Caller, song_id: i64) {
        if let Some(views) = &self.views {
            if !caller.role.allows(molt_core::Permission::SongReadAll) {
                views.record(song_id);
            }
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = songs::routes(&state);
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .nest("/api/v1", api)
        .route(
            "/metrics",
            songs::guarded(molt_core::Permission::OpsRead, axum::routing::get(metrics::metrics)),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(request_id::layers(
            TraceLayer::new_for_http()
                .make_span_with(request_id::span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        ))
        .with_state(state)
}

/// Serve until `shutdown` resolves, then let in-flight requests finish for at
/// most `server.shutdown_grace_secs`, so a hung client cannot block a deploy.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
    };
    // With the peer's address, which keys the rate limits of anonymous callers.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period; stopping anyway");
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupt received; shutting down"),
        _ = term => tracing::info!("SIGTERM received; shutting down"),
    }
}
