//! `molt serve`: the API on the embedded default store.

use super::open_store;
use crate::cli::ServeArgs;
use crate::output::{CliError, CliResult};
use molt_core::Config;
use molt_search::ViewCounter;
use molt_server::AppState;
use std::sync::Arc;

pub async fn run(mut config: Config, args: ServeArgs) -> CliResult {
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(&config.server.listen).await.map_err(|e| {
        CliError::new("listen_failed", format!("cannot listen on {}: {e}", config.server.listen))
    })?;
    let address = listener.local_addr().map_err(|e| CliError::new("listen_failed", e.to_string()))?;
    tracing::info!(%address, data_dir = %config.data_dir.display(), "molt serving");
    // The one stdout line: scripts and tests read the bound address from it.
    println!("molt listening on http://{address}");
    let workers = if args.no_workers {
        None
    } else {
        let runner = super::process::runner(&config, &store)?;
        Some(super::process::spawn_workers(runner, config.pipeline.workers))
    };
    let search = super::search::service(&config, &store, super::search::Notice::Log)?;
    super::search::spawn_indexer(search.clone());
    let views = Arc::new(ViewCounter::new(Arc::new(store.clone())));
    let flusher = super::search::spawn_view_flusher(views.clone());
    let state = AppState::new(Arc::new(store.clone()), Arc::new(store), config)
        .with_search(search)
        .with_views(views.clone());
    let swept = state.catalog.sweep_stale_uploads(std::time::Duration::from_secs(3600));
    if swept > 0 {
        tracing::info!(files = swept, "removed staging files left by an interrupted upload");
    }
    molt_server::serve(listener, state, molt_server::shutdown_signal())
        .await
        .map_err(|e| CliError::new("server_failed", e.to_string()))?;
    if let Some((stop, handle)) = workers {
        let _ = stop.send(true);
        let _ = handle.await;
    }
    flusher.abort();
    super::search::flush_views(views).await;
    tracing::info!("molt stopped");
    Ok(())
}
