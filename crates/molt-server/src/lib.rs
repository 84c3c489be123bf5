//! Molt's inbound interfaces. For now: the HTTP API under `/api/v1`, its
//! OpenAPI document, and health endpoints. Handlers only translate HTTP to
//! calls on the application services (`molt-catalog`); no rule lives here.

mod auth;
mod error;
mod health;
mod openapi;
mod request_id;
mod songs;

use axum::Router;
use molt_catalog::Catalog;
use molt_core::Config;
use molt_store::Database;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use auth::Caller;
pub use error::ApiError;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Arc<dyn Database>,
    pub catalog: Catalog,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: Arc<dyn Database>, config: Config) -> AppState {
        let catalog = Catalog::new(db.clone(), &config);
        AppState { db, catalog, config: Arc::new(config) }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = songs::routes(&state);
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .nest("/api/v1", api)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(request_id::layers(TraceLayer::new_for_http().make_span_with(request_id::span)))
        .with_state(state)
}

/// Serve until `shutdown` resolves, then let in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
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
